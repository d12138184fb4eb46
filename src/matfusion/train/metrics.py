"""Regression metrics reported in every results record."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["regression_metrics"]


def _as_finite_1d(values: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    bad = ~np.isfinite(arr)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name} has {int(bad.sum())} non-finite value(s) (NaN or inf); first at index {first}"
        )
    return arr


def regression_metrics(y_true: ArrayLike, y_pred: ArrayLike) -> dict[str, float | int]:
    """MAE, RMSE, R^2 and the count, as plain Python numbers (JSON-ready).

    NaN or inf in either input raises ``ValueError`` rather than silently producing a NaN
    score that would then be averaged into a table. ``r2`` is NaN when ``y_true`` is constant
    (R^2 is undefined there).
    """
    yt = _as_finite_1d(y_true, "y_true")
    yp = _as_finite_1d(y_pred, "y_pred")
    if yt.shape != yp.shape:
        raise ValueError(f"y_true has {yt.size} values but y_pred has {yp.size}")
    if yt.size == 0:
        raise ValueError("cannot compute metrics on empty arrays")
    err = yp - yt
    ss_res = float(np.sum(err**2))
    ss_tot = float(np.sum((yt - yt.mean()) ** 2))
    return {
        "mae": float(np.mean(np.abs(err))),
        "rmse": math.sqrt(ss_res / yt.size),
        "r2": 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan"),
        "n": int(yt.size),
    }
