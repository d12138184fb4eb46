"""Verdicts from intervals: is model A's test MAE lower than model B's, beyond chance?

A claim such as "L-G-DCNN beats LSTM on OQMD formation enthalpy" is a statement about a
difference of two MAEs measured on one finite test set after one (or a few) training runs.
Two sources of chance move that difference: which compounds happen to be in the test set,
and the seed of each run. This module quantifies both and turns them into one word:

* **paired bootstrap over test compounds**: resample the compounds with replacement and
  recompute ``MAE_a - MAE_b`` on the same resample for both models (paired: a hard compound
  is hard for both); with several seeds, each compound's error is first averaged over the
  seeds of each model;
* **spread over seeds**: the difference computed per seed (seed ``i`` of A against seed
  ``i`` of B, on the same split), its mean and its range;
* **verdict**: ``holds`` when the bootstrap interval lies entirely on the claimed side of 0
  and every seed's difference (at least two) has the claimed sign; ``fails`` when the same
  is true of the opposite side; ``inconclusive`` otherwise. One seed never decides: the
  bootstrap alone cannot see how much a retrained model would move, and on 2,000 compounds
  a 1 % gap between two strongly correlated models can exclude zero and still flip with the
  next seed. A deterministic model (the forest) has one run; each seed of its rival is then
  paired with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

__all__ = ["MaeComparison", "compare_mae", "compare_mae_runs", "paired_bootstrap", "verdict"]

Verdict = Literal["holds", "fails", "inconclusive"]


@dataclass(frozen=True)
class MaeComparison:
    """``MAE_a - MAE_b`` (negative: A is better) with what decided its verdict."""

    difference: float
    low: float
    high: float
    relative: float
    seed_differences: tuple[float, ...]
    n_compounds: int
    n_seeds: int
    confidence: float
    verdict: Verdict

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def evidence(self, unit: str = "") -> str:
        """One line for a table: the difference, its interval and the seeds behind it."""
        u = f" {unit}" if unit else ""
        seeds = f", {self.n_seeds} seeds" if self.n_seeds > 1 else ", 1 seed"
        return (
            f"{self.difference:+.3g}{u} ({self.relative:+.1%}); "
            f"{self.confidence:.0%} CI [{self.low:+.3g}, {self.high:+.3g}]{u}; "
            f"{self.n_compounds} test compounds{seeds}"
        )


def _as_runs(values: np.ndarray | Sequence[np.ndarray], n: int | None = None) -> np.ndarray:
    """Predictions as a (seeds, compounds) float array."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or (n is not None and arr.shape[1] != n):
        raise ValueError(f"predictions must be (seeds, {n}) or ({n},), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("predictions contain non-finite values")
    return arr


def paired_bootstrap(
    errors_a: np.ndarray,
    errors_b: np.ndarray,
    *,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """``mean(errors_a - errors_b)`` and its percentile interval from resampling compounds.

    ``errors_*`` are per-compound absolute errors of the two models on the same compounds.
    Vectorised: one (n_boot, n) index draw, no Python loop per resample.
    """
    a = np.asarray(errors_a, dtype=float)
    b = np.asarray(errors_b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 2:
        raise ValueError(
            f"need two equal 1-D error arrays of 2+ compounds, got {a.shape}, {b.shape}"
        )
    diff = a - b
    low, high = _bootstrap_interval([diff], n_boot=n_boot, confidence=confidence, seed=seed)
    return float(diff.mean()), low, high


def _bootstrap_interval(
    strata: Sequence[np.ndarray], *, n_boot: int, confidence: float, seed: int
) -> tuple[float, float]:
    """Percentile interval of the mean over ``strata`` of each stratum's mean, resampling
    rows with replacement within each stratum (one stratum: the plain paired bootstrap).
    Vectorised in chunks of resamples, so memory stays bounded for large test sets."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    rng = np.random.default_rng(seed)
    means = np.zeros(n_boot)
    for diff in strata:
        chunk = max(1, 2_000_000 // len(diff))
        for start in range(0, n_boot, chunk):
            stop = min(n_boot, start + chunk)
            idx = rng.integers(0, len(diff), size=(stop - start, len(diff)))
            means[start:stop] += diff[idx].mean(axis=1)
    means /= len(strata)
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)


def verdict(low: float, high: float, seed_differences: Sequence[float]) -> Verdict:
    """``holds`` if the interval is below 0 (A better) and two or more seed differences all
    are; ``fails`` if the interval is above 0 and they all are; else ``inconclusive``."""
    seeds = np.asarray(seed_differences, dtype=float)
    if len(seeds) < 2:
        return "inconclusive"
    if high < 0 and (seeds < 0).all():
        return "holds"
    if low > 0 and (seeds > 0).all():
        return "fails"
    return "inconclusive"


def compare_mae(
    target: np.ndarray,
    predictions_a: np.ndarray | Sequence[np.ndarray],
    predictions_b: np.ndarray | Sequence[np.ndarray],
    *,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> MaeComparison:
    """Compare A's test MAE with B's on the same compounds (the claim: A is lower).

    ``predictions_*``: one run's predictions ``(n,)`` or several seeds' ``(seeds, n)``, in
    the order of ``target``. Seeds are paired by position; a single run (a deterministic
    model) is paired with each seed of the other.
    """
    y = np.asarray(target, dtype=float)
    if y.ndim != 1 or not np.isfinite(y).all():
        raise ValueError("target must be a finite 1-D array")
    runs_a = _as_runs(predictions_a, len(y))
    runs_b = _as_runs(predictions_b, len(y))
    err_a = np.abs(runs_a - y)
    err_b = np.abs(runs_b - y)
    diff, low, high = paired_bootstrap(
        err_a.mean(axis=0), err_b.mean(axis=0), n_boot=n_boot, confidence=confidence, seed=seed
    )
    mae_a, mae_b = err_a.mean(axis=1), err_b.mean(axis=1)
    if len(mae_a) == 1 or len(mae_b) == 1:  # one deterministic run against every seed
        seed_diffs = tuple(float(d) for d in (mae_a[:, None] - mae_b[None, :]).ravel())
    else:  # seed i against seed i
        pairs = min(len(mae_a), len(mae_b))
        seed_diffs = tuple(float(d) for d in mae_a[:pairs] - mae_b[:pairs])
    base = float(err_b.mean())
    return MaeComparison(
        difference=diff,
        low=low,
        high=high,
        relative=diff / base if base > 0 else float("nan"),
        seed_differences=seed_diffs,
        n_compounds=len(y),
        n_seeds=len(seed_diffs),
        confidence=confidence,
        verdict=verdict(low, high, seed_diffs),
    )


def compare_mae_runs(
    runs: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
    *,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> MaeComparison:
    """Compare A's test MAE with B's over runs whose test sets differ: seeds that subsample
    their own test rows, or cross-validation folds. ``runs`` holds one
    ``(target, prediction_a, prediction_b)`` per seed or fold, A and B on the same rows.

    The difference is the mean over runs of each run's ``MAE_a - MAE_b`` (every run weighs
    the same); the interval resamples compounds within each run (a stratified paired
    bootstrap); the runs' own differences are the seed spread the verdict needs.
    """
    if not runs:
        raise ValueError("no runs to compare")
    diffs, bases = [], []
    for i, (target, a, b) in enumerate(runs):
        y = np.asarray(target, dtype=float)
        pa, pb = _as_runs(a, len(y))[0], _as_runs(b, len(y))[0]
        if len(y) < 2 or not np.isfinite(y).all():
            raise ValueError(f"run {i}: need 2+ finite targets")
        diffs.append(np.abs(pa - y) - np.abs(pb - y))
        bases.append(float(np.abs(pb - y).mean()))
    low, high = _bootstrap_interval(diffs, n_boot=n_boot, confidence=confidence, seed=seed)
    seed_diffs = tuple(float(d.mean()) for d in diffs)
    difference = float(np.mean(seed_diffs))
    base = float(np.mean(bases))
    return MaeComparison(
        difference=difference,
        low=low,
        high=high,
        relative=difference / base if base > 0 else float("nan"),
        seed_differences=seed_diffs,
        n_compounds=int(sum(len(d) for d in diffs)),
        n_seeds=len(diffs),
        confidence=confidence,
        verdict=verdict(low, high, seed_diffs),
    )
