"""Validation MAE against wall-clock time, and time to reach a peer's best (Figure S12);
learning curves of test MAE against training-set size (Figure 5a).

One place for the rule, so the book's chapter and ``benchmarks/peer_throughput.py`` report
the same number: a run's curve is its per-epoch validation MAE (or the stochastic weight
average's, when that epoch scored one and it is lower) against cumulative training seconds;
the peer's target is the best point of its curve or its final stored validation MAE, which
for CrabNet is the weight average swapped in after the last epoch.

For the learning curve: log-log slopes (:func:`loglog_slopes`), the MAE of a constant
predictor on the runs' own test rows (:func:`constant_baseline`), the optimiser steps a run
took (:func:`optimiser_steps`) and the paper's three sentences (:func:`learning_curve_claims`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: The time-to-accuracy target of the peer comparison: L-G-DCNN should reach CrabNet's best
#: validation MAE in at most half CrabNet's time (``benchmarks/peer_throughput.py``).
TARGET_TIME_RATIO = 0.5


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

    def verdict(
        self,
        run: str = "L-G-DCNN",
        reference: str = "CrabNet",
        *,
        unit: str = "",
        target_ratio: float = TARGET_TIME_RATIO,
    ) -> str:
        """A sentence for the text under a figure: reached or not, the time ratio against
        the reference, and whether it meets ``target_ratio`` (the run's time at most that
        fraction of the reference's)."""
        u = f" {unit}" if unit else ""
        goal = f"the target of at most {target_ratio:g}x {reference}'s time"
        if self.seconds is None:
            return (
                f"{run} never reaches {reference}'s best validation MAE "
                f"({self.target_mae:.4g}{u}, reached by {reference} after "
                f"{self.reference_seconds:,.0f} s): its own best is {self.best_mae:.4g}{u}, "
                f"so it does not converge faster here and {goal} is not met."
            )
        ratio = self.ratio
        speed = "faster" if ratio < 1 else ("as fast" if ratio == 1 else "slower")
        met = "met" if ratio <= target_ratio else "not met"
        return (
            f"{run} reaches {reference}'s best validation MAE ({self.target_mae:.4g}{u}) "
            f"after {self.seconds:,.0f} s (epoch {self.epoch}) against {reference}'s "
            f"{self.reference_seconds:,.0f} s: {ratio:.2f}x its time, {speed}; {goal} is {met}."
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


def common_sizes(curve: pd.DataFrame, models: Sequence[str] | None = None) -> pd.Index:
    """The training-set sizes (index of ``curve``) at which every one of ``models`` (None:
    every column) has a test MAE."""
    models = list(curve.columns if models is None else models)
    return curve[models].dropna().index


def loglog_slopes(curve: pd.DataFrame, models: Sequence[str] | None = None) -> pd.Series:
    """Least-squares slope of log10(test MAE) against log10(training rows), one per model.

    ``curve``: test MAE, one row per training-set size (the index), one column per model.
    Every slope is fitted over the same sizes, those at which *all* of ``models`` (None:
    every column) have an MAE (:func:`common_sizes`), so the slopes compare like with like;
    the sizes used are in ``result.attrs["sizes"]``. Fewer than two such sizes: NaN slopes.
    A more negative slope means the MAE falls faster with data.
    """
    models = list(curve.columns if models is None else models)
    sizes = common_sizes(curve, models)
    slopes = pd.Series(np.nan, index=pd.Index(models, name=curve.columns.name), dtype=float)
    if len(sizes) >= 2:
        logn = np.log10(np.asarray(sizes, dtype=float))
        for model in models:
            mae = curve.loc[sizes, model].to_numpy(dtype=float)
            slopes[model] = float(np.polyfit(logn, np.log10(mae), 1)[0])
    slopes.attrs["sizes"] = [int(n) for n in sizes]
    return slopes


def optimiser_steps(record: dict[str, Any]) -> dict[str, Any] | None:
    """Batch size, optimiser steps per epoch, epochs run and their product for one run.

    Our trainers store ``steps_per_epoch`` in ``train_settings``; for a peer that stores only
    its batch size (CrabNet, whose batch size grows with the training set) steps per epoch
    are ``ceil(n_train / batch_size)`` (its data loader keeps the last partial batch). None
    for a run without epochs or without a batch size (the random forest).
    """
    settings = record.get("train_settings") or {}
    epochs = int(record.get("epochs_run") or 0)
    batch = settings.get("batch_size")
    per_epoch = settings.get("steps_per_epoch")
    if per_epoch is None and batch:
        n_train = settings.get("n_train") or (record.get("sizes") or {}).get("train")
        per_epoch = math.ceil(int(n_train) / int(batch)) if n_train else None
    if not epochs or per_epoch is None:
        return None
    best = record.get("best_epoch")
    return {
        "batch_size": int(batch) if batch else None,
        "steps_per_epoch": int(per_epoch),
        "epochs_run": epochs,
        "steps": int(per_epoch) * epochs,
        "best_epoch": int(best) if best is not None else None,
    }


def constant_predictor(
    train_target: Iterable[float], test_target: Iterable[float], *, statistic: str = "median"
) -> dict[str, float]:
    """Test MAE and R² of predicting one constant, the ``statistic`` ("median" or "mean") of
    the training targets, for every test row: the floor a model must beat to have learned
    anything (the median minimises the MAE of a constant). ``test_share_at_constant``: the
    share of test targets exactly equal to the constant."""
    train = np.asarray(list(train_target), dtype=float)
    test = np.asarray(list(test_target), dtype=float)
    if statistic not in ("median", "mean"):
        raise ValueError(f"statistic must be 'median' or 'mean', got {statistic!r}")
    if not len(train) or not len(test):
        raise ValueError("a constant predictor needs training and test targets")
    constant = float(np.median(train) if statistic == "median" else np.mean(train))
    err = test - constant
    ss_tot = float(np.sum((test - test.mean()) ** 2))
    return {
        "constant": constant,
        "test_mae": float(np.mean(np.abs(err))),
        "test_r2": 1.0 - float(np.sum(err**2)) / ss_tot if ss_tot > 0 else float("nan"),
        "test_n": int(len(test)),
        "test_share_at_constant": float(np.mean(test == constant)),
    }


def constant_baseline(
    records: Sequence[dict[str, Any]], *, statistic: str = "median"
) -> pd.DataFrame:
    """:func:`constant_predictor` on the very rows the runs in ``records`` trained and were
    scored on, one row per training-set size (index ``n_train``).

    Per-row predictions live outside the repository (the user cache), so the rows are
    rebuilt from the dataset with the rule every run uses: the split loaded by
    :func:`matfusion.data.load_split`, then :func:`matfusion.experiments.subsample` to the
    record's ``max_train_rows`` / ``max_eval_rows`` with its seed. The test row count must
    equal the record's ``test_n``; where a record's stored test predictions are on this
    machine their targets are compared too (column ``checked_rows``: how many records).
    """
    from matfusion.data import load_split
    from matfusion.experiments import subsample

    splits: dict[tuple[str, str, int | None], pd.DataFrame] = {}

    def split(dataset: str, name: str, fold: int | None) -> pd.DataFrame:
        key = (dataset, name, fold)
        if key not in splits:
            splits[key] = load_split(dataset, name, fold=fold, verbose=False)
        return splits[key]

    rows: dict[tuple, dict[str, Any]] = {}
    for rec in records:
        cfg = rec["config"]
        key = (
            cfg["dataset"],
            cfg.get("fold"),
            cfg["seed"],
            cfg.get("max_train_rows"),
            cfg.get("max_eval_rows"),
        )
        if key not in rows:
            dataset, fold, seed, max_train, max_eval = key
            train = subsample(split(dataset, "train", fold), max_train, seed)
            test = subsample(split(dataset, "test", fold), max_eval, seed)
            rows[key] = {
                "n_train": len(train),
                **constant_predictor(train["target"], test["target"], statistic=statistic),
                "checked_rows": 0,
                "_test": test["target"].to_numpy(dtype=float),
            }
        row = rows[key]
        test_n = (rec.get("metrics") or {}).get("test_n")
        if test_n is not None and int(test_n) != row["test_n"]:
            raise ValueError(
                f"{cfg['model']} on {cfg['dataset']} was scored on {test_n} test rows, the "
                f"subsampling rule gives {row['test_n']}"
            )
        path = rec.get("test_predictions")
        if path and Path(path).is_file():
            stored = pd.read_csv(path, usecols=["target"])["target"].to_numpy(dtype=float)
            if len(stored) != len(row["_test"]) or not np.allclose(stored, row["_test"]):
                raise ValueError(
                    f"{cfg['model']} on {cfg['dataset']}: stored test targets differ from "
                    "the rebuilt test rows"
                )
            row["checked_rows"] += 1
    frame = pd.DataFrame([{k: v for k, v in r.items() if k != "_test"} for r in rows.values()])
    if frame.empty:
        return pd.DataFrame(
            columns=["constant", "test_mae", "test_r2", "test_n", "test_share_at_constant"]
            + ["checked_rows"]
        )
    frame = frame.groupby("n_train").first().sort_index()
    frame.attrs["statistic"] = statistic
    return frame


def learning_curve_claims(
    curve: pd.DataFrame,
    model: str = "L-G-DCNN",
    *,
    tie: float = 0.02,
    r2: pd.DataFrame | None = None,
    min_r2: float | None = None,
) -> pd.DataFrame:
    """Paper A's three sentences on Figure 5a, checked on a learning curve of ours.

    ``curve``: test MAE, one row per training-set size, one column per model (NaN where a
    model has no run at that size). The paper prints no numbers for Figure 5a, only these
    sentences: the model has the lowest error at every size from 10^3 up; it beats the Magpie
    random forest once the training set reaches 10^2-10^3 rows; its MAE falls more steeply
    than CrabNet's (:func:`loglog_slopes` over the sizes both have; within ``tie`` it is a
    tie).

    With ``r2`` (test R², same layout as ``curve``) and ``min_r2``, a size at which any model
    a sentence compares has an R² below ``min_r2`` is set aside for that sentence, as
    :func:`matfusion.analysis.claims.check_claims` does for datasets: such a run predicts
    little more than a constant, so its MAE ordering is no evidence either way. Set-aside
    sizes count neither for nor against, are listed in an extra column, and a sentence with
    no size left (two, for the slope) is "not testable here". Without them (the default)
    every size counts.
    """
    if (r2 is None) != (min_r2 is None):
        raise ValueError("give both r2 and min_r2, or neither")
    aside_label = f"set aside (R² < {min_r2:g})" if min_r2 is not None else ""
    untestable = f"not testable here (R² < {min_r2:g})" if min_r2 is not None else ""

    def weak_sizes(sizes: pd.Index, compared: Sequence[str]) -> list[int]:
        if r2 is None or min_r2 is None:
            return []
        sub = r2.reindex(index=sizes, columns=list(compared))
        # a model with a MAE but no R² cannot vouch for itself either
        weak = (sub < min_r2).any(axis=1) | sub.isna().any(axis=1)
        return [int(n) for n in sizes[weak.to_numpy()]]

    def aside(sizes: list[int]) -> dict[str, str]:
        if r2 is None:
            return {}
        return {aside_label: ", ".join(f"{n:,}" for n in sizes) or "-"}

    rows = []
    large = curve.loc[curve.index >= 1000].dropna(how="all")
    weak: list[int] = []
    if r2 is not None:
        weak = [n for n in large.index if weak_sizes(pd.Index([n]), large.loc[n].dropna().index)]
        large = large.drop(index=weak)
    best = large.idxmin(axis=1)
    held = int((best == model).sum())
    rows.append(
        {
            "claim": f"{model} has the lowest test MAE at every size from 10^3 rows",
            "holds at": f"{held} of {len(best)} sizes",
            "verdict": untestable if not len(best) and weak else _verdict(len(best), held),
            **aside(weak),
        }
    )
    if "RF-Magpie" in curve:
        pair = curve[[model, "RF-Magpie"]].dropna()
        weak = weak_sizes(pair.index, [model, "RF-Magpie"])
        pair = pair.drop(index=weak)
        wins = pair[model] < pair["RF-Magpie"]
        beaten_from = next((int(n) for n in pair.index if wins.loc[n:].all()), None)
        if not len(wins):
            verdict = untestable if weak else "no runs"
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
                **aside(weak),
            }
        )
    if "CrabNet" in curve:
        pair = curve[[model, "CrabNet"]].dropna()
        weak = weak_sizes(pair.index, [model, "CrabNet"])
        pair = pair.drop(index=weak)
        if len(pair) >= 2:
            slopes = loglog_slopes(pair, [model, "CrabNet"])
            ours, theirs = float(slopes[model]), float(slopes["CrabNet"])
            verdict = (
                "tie"
                if abs(ours - theirs) < tie
                else ("supported" if ours < theirs else "not supported")
            )
            held_at = f"slopes {ours:.3f} vs {theirs:.3f} over {len(pair)} sizes"
        else:
            verdict = untestable if weak else "no runs"
            held_at = "fewer than two common sizes" + (" left" if weak else "")
        rows.append(
            {
                "claim": f"{model}'s MAE falls more steeply with data than CrabNet's",
                "holds at": held_at,
                "verdict": verdict,
                **aside(weak),
            }
        )
    return pd.DataFrame(rows)


def _verdict(total: int, held: int) -> str:
    if total == 0:
        return "no runs"
    return "supported" if held == total else ("mixed" if held else "not supported")


def ended_at_cap(record: dict[str, Any]) -> bool | None:
    """Whether a training run ran into its epoch cap still improving: it ran every allowed
    epoch and its best validation epoch was one of the last two. None for a run without
    epochs (the forest) or without the settings to tell.

    Such a run is undertrained by its own evidence: more epochs would likely have helped.
    """
    settings = record.get("train_settings") or {}
    cap = settings.get("epochs")
    run = record.get("epochs_run")
    best = record.get("best_epoch")
    if not cap or run is None or best is None:
        return None
    return bool(run >= cap and best >= cap - 1)


def cap_share(records: Iterable[dict[str, Any]]) -> tuple[int, int]:
    """``(runs that ended at their cap, runs with epochs)`` among ``records``."""
    flags = [f for f in (ended_at_cap(r) for r in records) if f is not None]
    return sum(flags), len(flags)
