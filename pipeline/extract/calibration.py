"""Confidence calibration: Platt scaling of the decoder's raw probability, and ECE.

The decoder's raw confidence is a softmax over {no answer} + candidate spans of one window. We
map logit(p) -> sigmoid(a * logit(p) + b) per field, fitted on held-out data (a = 1/temperature,
b a bias). Pure numpy so serving and evaluation share it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1 - EPS)
    return np.log(p / (1 - p))


@dataclass(frozen=True)
class Platt:
    a: float = 1.0
    b: float = 0.0

    def __call__(self, p: float) -> float:
        z = self.a * float(_logit(np.asarray(p))) + self.b
        return float(1.0 / (1.0 + np.exp(-z)))

    def to_dict(self) -> dict[str, float]:
        return {"a": round(self.a, 6), "b": round(self.b, 6)}


def fit_platt(raw: Sequence[float], correct: Sequence[bool], l2: float = 1e-2, iters: int = 200) -> Platt:
    """Damped Newton on the logistic loss from w = 0 (tiny L2 keeps it finite when data are separable)."""
    x = _logit(np.asarray(raw, dtype=np.float64))
    y = np.asarray(correct, dtype=np.float64)
    if len(x) < 5 or y.min() == y.max():
        return Platt()
    feats = np.stack([x, np.ones_like(x)], axis=1)

    def loss(w: np.ndarray) -> float:
        z = feats @ w
        return float(np.sum(np.logaddexp(0, z) - y * z) + 0.5 * l2 * w @ w)

    w = np.zeros(2)
    for _ in range(iters):
        z = np.clip(feats @ w, -50, 50)
        p = 1 / (1 + np.exp(-z))
        grad = feats.T @ (p - y) + l2 * w
        hess = feats.T @ (feats * (p * (1 - p))[:, None]) + l2 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        t, base = 1.0, loss(w)
        while t > 1e-4 and loss(w - t * step) > base:
            t /= 2
        w = w - t * step
        if np.abs(t * step).max() < 1e-8:
            break
    return Platt(float(w[0]), float(w[1]))


def expected_calibration_error(conf: Sequence[float], correct: Sequence[bool], bins: int = 10) -> float:
    """Weighted mean |accuracy - confidence| over equal-width confidence bins."""
    c = np.asarray(conf, dtype=np.float64)
    y = np.asarray(correct, dtype=np.float64)
    if len(c) == 0:
        return 0.0
    idx = np.minimum((c * bins).astype(int), bins - 1)
    err = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            err += m.sum() / len(c) * abs(y[m].mean() - c[m].mean())
    return float(err)
