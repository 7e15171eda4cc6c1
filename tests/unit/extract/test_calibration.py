from __future__ import annotations

import numpy as np

from pipeline.extract.calibration import Platt, expected_calibration_error, fit_platt


def test_ece_of_perfect_and_overconfident_predictions() -> None:
    assert expected_calibration_error([1.0, 1.0, 0.0], [True, True, False]) == 0.0
    assert abs(expected_calibration_error([0.99] * 10, [True] * 5 + [False] * 5) - 0.49) < 1e-9


def test_platt_scaling_fixes_overconfidence() -> None:
    rng = np.random.default_rng(0)
    true_p = rng.uniform(0.05, 0.95, 4000)
    y = rng.uniform(size=4000) < true_p
    logit = np.log(true_p / (1 - true_p))
    raw = 1 / (1 + np.exp(-3 * logit))  # overconfident by a temperature of 3
    cal = fit_platt(raw, y)
    assert abs(cal.a - 1 / 3) < 0.05
    calibrated = [cal(p) for p in raw]
    assert expected_calibration_error(calibrated, y) < expected_calibration_error(raw, y) / 3


def test_degenerate_data_gives_identity() -> None:
    assert fit_platt([0.9, 0.8], [True, True]) == Platt()
    assert abs(Platt()(0.7) - 0.7) < 1e-9
