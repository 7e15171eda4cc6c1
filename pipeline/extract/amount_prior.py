"""A deterministic prior over total-amount candidates (keywords, largest amount, cash/change lines).

Each amount candidate gets layout/keyword features; a logistic model fitted on the TRAINING receipts
(labels only, no neural model involved, seconds of CPU) turns them into a log-odds prior that is
added to the QA model's span score. The model still ranks the candidates; the prior encodes what a
bookkeeper knows ("the total is next to TOTAL, is usually the largest amount, is not the cash
tendered"). Its weights live in the model card; the evaluation reports results with and without it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from decimal import Decimal

import numpy as np

from pipeline.extract.candidates import line_candidates, parse_amount
from pipeline.extract.windows import DocContext

FEATURES = (
    "bias",
    "kw_same",
    "kw_prev",
    "cash",
    "sub",
    "tax",
    "round",
    "is_max",
    "is_max_noncash",
    "rel_pos",
    "repeat",
    "zero",
    "after_last_kw",
)
TOTAL_KW = re.compile(
    r"\b(TOTAL|JUMLAH|AMOUNT DUE|GRAND|NETT|NET TOTAL|TOTAL DUE|BALANCE DUE|SUMME|MONTANT)\b", re.I
)
CASH_KW = re.compile(
    r"\b(CASH|CHANGE|TENDER(ED)?|PAID|RECEIVED|BAL(ANCE)?|CHG|VISA|MASTER|CARD|KEMBALI|TUNAI)\b", re.I
)
SUB_KW = re.compile(r"\b(SUB\s*-?TOTAL|SUBTOTAL|EXCL|BEFORE)\b", re.I)
TAX_KW = re.compile(r"\b(GST|SST|TAX|VAT|SERVICE|SVC|MWST)\b", re.I)
ROUND_KW = re.compile(r"\bROUND", re.I)
QTY_KW = re.compile(r"\b(QTY|ITEM|PCS|X\s*\d)", re.I)


def candidate_features(ctx: DocContext) -> list[tuple[int, int, int, np.ndarray]]:
    """(line index, char start, char end, feature vector) for every amount candidate of the document."""
    raw: list[tuple[int, int, int, Decimal]] = []
    for i, ref in enumerate(ctx.lines):
        for s, e in line_candidates("amount", ref.text):
            v = parse_amount(ref.text[s:e])
            if v is not None:
                raw.append((i, s, e, v))
    if not raw:
        return []
    n = max(1, len(ctx.lines) - 1)
    cash_lines = {
        i
        for i, ref in enumerate(ctx.lines)
        if CASH_KW.search(ref.text)
        or (i > 0 and CASH_KW.search(ctx.lines[i - 1].text) and not TOTAL_KW.search(ref.text))
    }
    vmax = max(v for *_, v in raw)
    noncash = [v for i, *_, v in raw if i not in cash_lines]
    vmax_nc = max(noncash) if noncash else None
    kw_lines = [
        i for i, ref in enumerate(ctx.lines) if TOTAL_KW.search(ref.text) and not SUB_KW.search(ref.text)
    ]
    last_kw = kw_lines[-1] if kw_lines else -1
    counts: dict[Decimal, int] = {}
    for *_, v in raw:
        counts[v] = counts.get(v, 0) + 1
    out = []
    for i, s, e, v in raw:
        here = ctx.lines[i].text
        prev = ctx.lines[i - 1].text if i > 0 else ""
        both = f"{prev} {here}"
        f = np.array(
            [
                1.0,
                float(bool(TOTAL_KW.search(here)) and not SUB_KW.search(here) and not QTY_KW.search(here)),
                float(bool(TOTAL_KW.search(prev)) and not SUB_KW.search(prev)),
                float(i in cash_lines),
                float(bool(SUB_KW.search(both))),
                float(bool(TAX_KW.search(both))),
                float(bool(ROUND_KW.search(both))),
                float(v == vmax),
                float(vmax_nc is not None and v == vmax_nc),
                i / n,
                math.log1p(counts[v] - 1),
                float(v == 0),
                float(last_kw >= 0 and i in (last_kw, last_kw + 1)),
            ]
        )
        out.append((i, s, e, f))
    return out


def fit_prior(docs: Sequence[tuple[DocContext, str]], l2: float = 1.0, iters: int = 100) -> np.ndarray:
    """Logistic regression (damped Newton) of 'this candidate equals the labelled total'."""
    xs, ys = [], []
    for ctx, label in docs:
        want = parse_amount(label)
        if want is None:
            continue
        for i, s, e, f in candidate_features(ctx):
            xs.append(f)
            ys.append(float(parse_amount(ctx.lines[i].text[s:e]) == want))
    x, y = np.asarray(xs), np.asarray(ys)
    w = np.zeros(x.shape[1])

    def loss(w: np.ndarray) -> float:
        z = x @ w
        return float(np.sum(np.logaddexp(0, z) - y * z) + 0.5 * l2 * w @ w)

    for _ in range(iters):
        p = 1 / (1 + np.exp(-np.clip(x @ w, -50, 50)))
        g = x.T @ (p - y) + l2 * w
        h = x.T @ (x * (p * (1 - p))[:, None]) + l2 * np.eye(len(w))
        step = np.linalg.solve(h, g)
        t, base = 1.0, loss(w)
        while t > 1e-4 and loss(w - t * step) > base:
            t /= 2
        w = w - t * step
        if np.abs(t * step).max() < 1e-7:
            break
    return w


def prior_by_char_span(ctx: DocContext, weights: Sequence[float]) -> dict[tuple[int, int], float]:
    """(doc char start, char end) -> prior log-odds for every amount candidate."""
    w = np.asarray(weights, dtype=np.float64)
    out = {}
    for i, s, e, f in candidate_features(ctx):
        base = ctx.line_starts[i]
        out[(base + s, base + e)] = float(f @ w)
    return out
