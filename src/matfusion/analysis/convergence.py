"""Validation MAE against wall-clock time, and time to reach a peer's best (Figure S12).

One place for the rule, so the book's chapter and ``benchmarks/peer_throughput.py`` report
the same number: a run's curve is its per-epoch validation MAE (or the stochastic weight
average's, when that epoch scored one and it is lower) against cumulative training seconds;
the peer's target is the best point of its curve or its final stored validation MAE, which
for CrabNet is the weight average swapped in after the last epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


def validation_curve(history: list[dict[str, Any]]) -> pd.DataFrame:
    """Columns epoch, seconds (cumulative) and val_mae (incl. an SWA average) of a history."""
    if not history:
        raise ValueError("the run has no per-epoch history to draw a curve from")
    frame = pd.DataFrame(history)
    missing = {"epoch", "seconds", "val_mae"} - set(frame.columns)
    if missing:
        raise ValueError(f"history lacks {sorted(missing)}")
    val = frame["val_mae"].astype(float)
    if "swa_val_mae" in frame:
        val = pd.concat([val, frame["swa_val_mae"].astype(float)], axis=1).min(axis=1)
    return pd.DataFrame(
        {
            "epoch": frame["epoch"].astype(int),
            "seconds": frame["seconds"].astype(float).cumsum(),
            "val_mae": val,
        }
    )


@dataclass(frozen=True)
class TimeToAccuracy:
    """How long a run took to reach a reference run's best validation MAE."""

    target_mae: float  # the reference's best validation MAE
    reference_seconds: float  # when the reference first reached it
    best_mae: float  # the run's own best validation MAE
    seconds: float | None  # when the run first reached the target; None: never
    epoch: int | None

    @property
    def ratio(self) -> float | None:
        """The run's time over the reference's; below 1 means faster."""
        return None if self.seconds is None else self.seconds / self.reference_seconds

    def describe(self, run: str = "L-G-DCNN", reference: str = "CrabNet") -> str:
        """One sentence for a figure title or a log line."""
        if self.seconds is None:
            return (
                f"{run} never reaches {reference}'s best validation MAE "
                f"(best {self.best_mae:.4g} vs {self.target_mae:.4g})"
            )
        return (
            f"{run} reaches {reference}'s best validation MAE {self.target_mae:.4g} after "
            f"{self.seconds:.0f} s ({reference}: {self.reference_seconds:.0f} s, "
            f"x{self.ratio:.2f})"
        )


def time_to_accuracy(run: dict[str, Any], reference: dict[str, Any]) -> TimeToAccuracy:
    """Time for ``run`` to reach ``reference``'s best validation MAE, from two stored records."""
    ref = validation_curve(reference["history"])
    candidates = list(zip(ref["seconds"], ref["val_mae"], strict=True))
    final = (reference.get("metrics") or {}).get("val_mae")
    if final is not None:
        # The final model (CrabNet's weight average) exists only after all training.
        total = reference.get("train_wall_time_s") or float(ref["seconds"].iloc[-1])
        candidates.append((float(total), float(final)))
    target = min(mae for _, mae in candidates)
    reference_seconds = min(s for s, mae in candidates if mae <= target)
    ours = validation_curve(run["history"])
    reached = ours[ours["val_mae"] <= target]
    first = reached.iloc[0] if len(reached) else None
    return TimeToAccuracy(
        target_mae=float(target),
        reference_seconds=float(reference_seconds),
        best_mae=float(ours["val_mae"].min()),
        seconds=None if first is None else float(first["seconds"]),
        epoch=None if first is None else int(first["epoch"]),
    )


def learning_curve_claims(
    curve: pd.DataFrame, model: str = "L-G-DCNN", *, tie: float = 0.02
) -> pd.DataFrame:
    """Paper A's three sentences on Figure 5a, checked on a learning curve of ours.

    ``curve``: test MAE, one row per training-set size, one column per model (NaN where a
    model has no run at that size). The paper prints no numbers for Figure 5a, only these
    sentences: the model has the lowest error at every size from 10^3 up; it beats the Magpie
    random forest once the training set reaches 10^2-10^3 rows; its MAE falls more steeply
    than CrabNet's (log-log slope over the sizes both have; within ``tie`` it is a tie).
    """
    rows = []
    large = curve.loc[curve.index >= 1000].dropna(how="all")
    best = large.idxmin(axis=1)
    rows.append(
        {
            "claim": f"{model} has the lowest test MAE at every size from 10^3 rows",
            "holds at": f"{int((best == model).sum())} of {len(best)} sizes",
            "verdict": _verdict(len(best), int((best == model).sum())),
        }
    )
    if "RF-Magpie" in curve:
        pair = curve[[model, "RF-Magpie"]].dropna()
        wins = pair[model] < pair["RF-Magpie"]
        beaten_from = next((int(n) for n in pair.index if wins.loc[n:].all()), None)
        if not len(wins):
            verdict = "no runs"
        elif beaten_from is not None and beaten_from <= 1000:
            verdict = "supported"
        else:
            verdict = "mixed" if wins.any() else "not supported"
        rows.append(
            {
                "claim": f"{model} beats the random forest once training reaches 10^2-10^3 rows",
                "holds at": f"{int(wins.sum())} of {len(wins)} sizes"
                + (f"; at every size from {beaten_from:,}" if beaten_from else ""),
                "verdict": verdict,
            }
        )
    if "CrabNet" in curve:
        pair = curve[[model, "CrabNet"]].dropna()
        if len(pair) >= 2:
            logn = np.log10(pair.index.to_numpy(dtype=float))
            ours, theirs = (float(np.polyfit(logn, np.log10(pair[m]), 1)[0]) for m in pair)
            verdict = (
                "tie"
                if abs(ours - theirs) < tie
                else ("supported" if ours < theirs else "not supported")
            )
            held = f"slopes {ours:.3f} vs {theirs:.3f} over {len(pair)} sizes"
        else:
            verdict, held = "no runs", "fewer than two common sizes"
        rows.append(
            {
                "claim": f"{model}'s MAE falls more steeply with data than CrabNet's",
                "holds at": held,
                "verdict": verdict,
            }
        )
    return pd.DataFrame(rows)


def _verdict(total: int, held: int) -> str:
    if total == 0:
        return "no runs"
    return "supported" if held == total else ("mixed" if held else "not supported")
