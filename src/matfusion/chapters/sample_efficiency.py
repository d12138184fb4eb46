"""Chapter 09: sample efficiency (paper A's Figure 5a), convergence against wall-clock
time (Figure S12) and the CECV of one architecture against training-set size (Figure 5b),
from runs made here.

:class:`SampleEfficiency` holds the learning-curve runs (one per model and training-set
size) with the constant-prediction floor and gives the chapter's tables, figure and glued
texts (:meth:`SampleEfficiency.facts`: the same keys on every path). :class:`Convergence`
does the same for the time-to-accuracy race. The rules are
:mod:`matfusion.analysis.convergence`'s; the verdicts on the paper's three sentences are
:mod:`matfusion.verdicts`'.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from matfusion.analysis.convergence import (
    TARGET_TIME_RATIO,
    constant_baseline,
    learning_curve_claims,
    loglog_slopes,
    optimiser_steps,
    time_to_accuracy,
    validation_curve,
)
from matfusion.chapters.cells import (
    CONVERGENCE_MODELS,
    SAMPLE_EFFICIENCY_MODELS,
    SAMPLE_EFFICIENCY_SIZES,
)
from matfusion.profiles import Profile

__all__ = [
    "EXERCISES",
    "MIN_R2",
    "Convergence",
    "SampleEfficiency",
    "cecv_by_training_size",
    "converges_towards_band",
    "default_sizes",
    "load",
    "load_convergence",
    "readable_log_axis",
]

#: Below this test R² a run predicts little more than a constant (as chapter 02).
MIN_R2 = 0.1


def default_sizes(profile: Profile) -> list[int]:
    """The profile's training-set sizes: 100 to 10,000 (smoke: 64 and 256)."""
    return [64, 256] if profile.name == "smoke" else list(SAMPLE_EFFICIENCY_SIZES)


def readable_log_axis(ax: Any, which: str = "y") -> None:
    """Plain-number tick labels on a log axis (no 9x10^-2 / 4x10^1 labels), enough of them to
    read a narrow range, all with the same number of decimals."""
    import matplotlib.ticker as mticker

    axis = ax.yaxis if which == "y" else ax.xaxis
    lo, hi = ax.get_ylim() if which == "y" else ax.get_xlim()
    if hi / lo < 3:  # less than half a decade: evenly spaced values
        ticks = mticker.MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
    else:
        subs = (1, 1.5, 2, 3, 4, 5, 6, 8) if hi / lo < 30 else (1, 2, 5)
        ticks = mticker.LogLocator(subs=subs).tick_values(lo, hi)
    ticks = [float(t) for t in ticks if lo <= t <= hi]
    decimals = max(
        (next(d for d in range(8) if abs(round(t, d) - t) <= 1e-9 * abs(t)) for t in ticks),
        default=0,
    )
    axis.set_major_locator(mticker.FixedLocator(ticks))
    axis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:,.{decimals}f}"))
    axis.set_minor_locator(mticker.NullLocator())
    (ax.set_ylim if which == "y" else ax.set_xlim)(lo, hi)


def _sizes_text(sizes: Sequence[int]) -> str:
    return ", ".join(f"{int(n):,}" for n in sizes)


@dataclass
class SampleEfficiency:
    """The learning-curve runs (``table``: one row per run with ``model``, ``n_train``,
    ``test_mae``, ``test_r2``) and the constant-prediction ``floor`` (rows: sizes; columns
    ``constant``, ``test_share_at_constant``, ``test_n``, ``test_mae``, ``test_r2``,
    ``checked_rows``; see :func:`~matfusion.analysis.convergence.constant_baseline`)."""

    table: pd.DataFrame
    floor: pd.DataFrame
    models: list[str]
    sizes: list[int]
    dataset: str
    unit: str
    profile_name: str = "standard"
    epochs: int | None = None
    min_r2: float = MIN_R2
    records: list[dict[str, Any]] = field(default_factory=list)

    def _pivot(self, value: str) -> pd.DataFrame:
        if not len(self.table):
            return pd.DataFrame()
        frame = self.table.pivot_table(index="n_train", columns="model", values=value)
        return frame[[m for m in self.models if m in frame]]

    @cached_property
    def mae(self) -> pd.DataFrame:
        """Test MAE, sizes x models."""
        return self._pivot("test_mae")

    @cached_property
    def r2(self) -> pd.DataFrame:
        return self._pivot("test_r2")

    def curve_table(self) -> pd.DataFrame:
        """Test MAE and R² per size beside the constant prediction."""
        if self.mae.empty:
            return pd.DataFrame({"note": ["no stored runs"]})
        return pd.concat(
            {
                f"test MAE ({self.unit})": self.mae.assign(constant=self.floor["test_mae"]),
                "test R²": self.r2.assign(constant=self.floor["test_r2"]),
            },
            axis=1,
        )

    @cached_property
    def steps(self) -> pd.DataFrame:
        """Per run: model, size, batch size, steps per epoch, epochs run, optimiser steps."""
        columns = ["model", "n_train", "batch_size", "steps_per_epoch", "epochs_run", "steps"]
        rows = [
            {"model": r.get("alias") or r["config"]["model"], "n_train": r["sizes"]["train"]}
            | (optimiser_steps(r) or {})
            for r in self.records
        ]
        return pd.DataFrame(rows).reindex(columns=columns)

    def steps_table(self) -> pd.DataFrame:
        """Optimiser steps, sizes x models (blank: the forest takes none)."""
        if self.steps.empty:
            return pd.DataFrame()
        table = self.steps.pivot_table(
            index="n_train", columns="model", values="steps", aggfunc="first"
        ).reindex(columns=[m for m in self.models if m in set(self.steps["model"])])
        return (
            table.astype("Int64")
            .astype(str)
            .replace("<NA>", "")
            .rename_axis(columns="optimiser steps")
        )

    def plot_curve(self) -> Any:
        """Figure 5a: test MAE against training rows, log-log, with the constant floor."""
        import matplotlib.pyplot as plt
        import matplotlib.ticker as mticker

        fig, ax = plt.subplots(figsize=(6, 4))
        for i, model in enumerate(self.models):
            sub = self.table[self.table["model"] == model] if len(self.table) else self.table
            if len(sub):
                sub = sub.sort_values("n_train")
                ax.plot(sub["n_train"], sub["test_mae"], "o-", color=f"C{i}", label=model)
        if len(self.floor):
            ax.plot(self.floor.index, self.floor["test_mae"], "--", color="grey",
                    label="constant (training median)")  # fmt: skip
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(self.sizes, [f"{n:,}" for n in self.sizes])
        ax.xaxis.set_minor_locator(mticker.NullLocator())
        ax.set_xlabel("training rows")
        ax.set_ylabel(f"test MAE ({self.unit})")
        ax.set_title(
            f"{self.dataset}, {self.profile_name} profile; the paper's grid continues to "
            "~240,000 rows",
            fontsize=10,
        )
        if len(self.table) or len(self.floor):
            readable_log_axis(ax)
            ax.legend(fontsize=8)
        return fig

    @cached_property
    def claims(self) -> pd.DataFrame:
        """The paper's three sentences on Figure 5a, checked on the curve (R² guard)."""
        if self.mae.empty or "L-G-DCNN" not in self.mae.columns:
            return pd.DataFrame(columns=["claim", "verdict", "holds at"])
        return learning_curve_claims(self.mae, r2=self.r2, min_r2=self.min_r2)

    # --- glued texts ----------------------------------------------------------------------

    def floor_facts(self) -> dict[str, str]:
        """The training median, the share of test rows at it, its MAE and R², and how many
        runs' stored test targets the rebuilt rows match."""
        if not len(self.floor):
            none = "not computed (no stored run)"
            return {k: none for k in ("floor_constant", "floor_share", "floor_test_n",
                                      "floor_mae", "floor_r2", "floor_checked")}  # fmt: skip
        floor = self.floor
        checked = int(floor["checked_rows"].sum())
        return {
            "floor_constant": ", ".join(sorted({f"{v:g} {self.unit}" for v in floor["constant"]})),
            "floor_share": ", ".join(sorted({f"{v:.0%}" for v in floor["test_share_at_constant"]})),
            "floor_test_n": f"{int(floor['test_n'].iloc[0]):,}",
            "floor_mae": ", ".join(sorted({f"{v:.4f} {self.unit}" for v in floor["test_mae"]})),
            "floor_r2": ", ".join(sorted({f"{v:.3f}" for v in floor["test_r2"]})),
            "floor_checked": (
                f"match the stored test targets of {checked} of the {len(self.records)} runs"
                if checked
                else "could not be compared with stored predictions (none on this machine)"
            ),
        }

    def slope_facts(self) -> dict[str, str]:
        """Log-log slopes of test MAE against size over the sizes every model has, and the
        optimiser steps per model and size."""
        facts = {"min_r2": f"{self.min_r2:g}"}
        if self.mae.empty:
            facts["slopes"] = facts["slope_sizes"] = "not computed (no stored run)"
        else:
            slopes = loglog_slopes(self.mae)
            used = slopes.attrs["sizes"]
            facts["slope_sizes"] = f"the {len(used)} sizes all {self.mae.shape[1]} models have" + (
                f", {used[0]:,} to {used[-1]:,} rows" if len(used) else ""
            )
            facts["slopes"] = ", ".join(
                f"{m} {v:.3f}" if pd.notna(v) else f"{m} (fewer than two sizes)"
                for m, v in slopes.items()
            )
        counted = self.steps.dropna(subset=["steps"])
        if counted.empty:
            facts["steps"] = "none counted (no stored run trained by epochs)"
            facts["steps_smallest"] = "not counted"
            return facts
        parts = []
        for model, sub in counted.groupby("model", sort=False):
            sub = sub.sort_values("n_train")
            batches = sorted({int(b) for b in sub["batch_size"].dropna()})
            batch = f"batch {batches[0]}" + (f" to {batches[-1]}" if len(batches) > 1 else "")
            parts.append(f"{model} ({batch}) " + ", ".join(f"{int(s):,}" for s in sub["steps"]))
        smallest = counted[counted["n_train"] == counted["n_train"].min()]
        facts["steps"] = (
            f"at {_sizes_text(sorted(counted['n_train'].unique()))} rows: " + "; ".join(parts)
        )
        facts["steps_smallest"] = (
            f"at {int(smallest['n_train'].iloc[0]):,} rows a whole run is "
            + (
                " and ".join(
                    f"{int(r.steps):,} updates for {r.model} ({int(r.steps_per_epoch)} per epoch)"
                    for r in smallest.itertuples()
                )
            )
        )
        return facts

    def _runs(self, test: Any) -> str:
        out = []
        for model in self.mae.columns:
            at = [n for n in self.mae.index if pd.notna(self.mae.loc[n, model]) and test(n, model)]
            if at:
                out.append(
                    f"{model} at {_sizes_text(at)} rows (MAE "
                    + ", ".join(f"{self.mae.loc[n, model]:.4f}" for n in at)
                    + f" {self.unit}, R² "
                    + ", ".join(f"{self.r2.loc[n, model]:.3f}" for n in at)
                    + ")"
                )
        return "; ".join(out) or "none"

    def curve_facts(self) -> dict[str, str]:
        """The runs that learned little (R² below the guard), those no better than the
        constant, and the sizes where MAE and R² order L-G-DCNN and the forest differently."""
        facts = {
            "scope_note": (
                "Smoke-sized runs (two epochs): the curves exercise the code only."
                if self.profile_name == "smoke"
                else f"One seed per cell, {self.profile_name} runs."
            ),
            "epochs": str(self.epochs) if self.epochs else "the recipe's",
        }
        if self.mae.empty:
            none = "not computed (no stored run)"
            facts.update(weak_runs=none, at_floor=none, mae_r2_split=none, size_range=none)
            return facts
        facts["size_range"] = f"{self.mae.index.min():,} to {self.mae.index.max():,} rows"
        facts["weak_runs"] = self._runs(lambda n, m: self.r2.loc[n, m] < self.min_r2)
        floor = self.floor["test_mae"] if len(self.floor) else pd.Series(dtype=float)
        facts["at_floor"] = self._runs(lambda n, m: self.mae.loc[n, m] >= floor.get(n, math.inf))
        pair = ["L-G-DCNN", "RF-Magpie"]
        split = []
        if set(pair) <= set(self.mae.columns):
            split = [
                n
                for n in self.mae.index
                if self.r2.loc[n, pair].min() >= self.min_r2
                and self.mae.loc[n, "L-G-DCNN"] < self.mae.loc[n, "RF-Magpie"]
                and self.r2.loc[n, "L-G-DCNN"] < self.r2.loc[n, "RF-Magpie"]
            ]
        facts["mae_r2_split"] = (
            "; ".join(
                f"at {n:,} rows MAE {self.mae.loc[n, 'L-G-DCNN']:.4f} vs "
                f"{self.mae.loc[n, 'RF-Magpie']:.4f} {self.unit}, R² "
                f"{self.r2.loc[n, 'L-G-DCNN']:.3f} vs {self.r2.loc[n, 'RF-Magpie']:.3f}"
                for n in split
            )
            or "at no size"
        )
        return facts

    def facts(self) -> dict[str, str]:
        """Every text the chapter glues for Figure 5a (the same keys on every path)."""
        return {**self.floor_facts(), **self.slope_facts(), **self.curve_facts()}


def load(
    profile: Profile,
    *,
    dataset: str = "OQMD_Bandgap",
    sizes: Sequence[int] | None = None,
    models: Sequence[str] | None = None,
    train_missing: bool = False,
    progress: bool = False,
    show: bool = True,
) -> SampleEfficiency:
    """The learning-curve runs (trained only with ``train_missing``) with their constant
    floor; with ``show``, the page's note on stored and missing runs."""
    from matfusion.data import get_dataset
    from matfusion.experiments import results_table
    from matfusion.grid import collect_records, grid_cells
    from matfusion.notebook import stored_runs

    models = list(models or SAMPLE_EFFICIENCY_MODELS)
    sizes = sorted(int(n) for n in (sizes or default_sizes(profile)))
    cells = grid_cells(models, [dataset], train_rows=sizes)
    if show:
        records, _ = stored_runs(cells, profile, train_missing=train_missing, progress=progress)
    else:
        records, _ = collect_records(cells, profile=profile, train_missing=train_missing)
    table = results_table(records) if records else pd.DataFrame(columns=["model", "n_train"])
    floor = (
        constant_baseline(records)
        if records
        else pd.DataFrame(columns=["test_mae", "test_r2", "checked_rows"])
    )
    return SampleEfficiency(
        table, floor, models, sizes, dataset, get_dataset(dataset).unit,
        profile_name=profile.name, epochs=profile.epochs, records=list(records),
    )  # fmt: skip


# --- Figure S12 -----------------------------------------------------------------------------


@dataclass
class Convergence:
    """The time-to-accuracy race: stored L-G-DCNN and CrabNet runs per dataset (``panels``)
    and the datasets where one is missing (``absent``: dataset -> models)."""

    panels: dict[str, dict[str, dict[str, Any]]]
    absent: dict[str, list[str]]
    profile_name: str = "standard"

    @cached_property
    def found(self) -> dict[str, Any]:
        return {
            name: time_to_accuracy(runs["L-G-DCNN"], runs["CrabNet"])
            for name, runs in self.panels.items()
        }

    def plot(self) -> Any:
        """Validation MAE against training wall time, one panel per dataset, CrabNet's best
        as a dotted line and where L-G-DCNN first reaches it."""
        import matplotlib.pyplot as plt

        from matfusion.data import get_dataset

        if not self.panels:
            return None
        fig, axes = plt.subplots(
            1, len(self.panels), figsize=(5.5 * len(self.panels), 4), squeeze=False
        )
        for ax, (name, runs) in zip(axes[0], self.panels.items(), strict=True):
            for i, (model, rec) in enumerate(runs.items()):
                vc = validation_curve(rec["history"])
                ax.plot(vc["seconds"], vc["val_mae"], ".-", color=f"C{i}", label=model)
            found = self.found[name]
            ax.axhline(found.target_mae, ls=":", color="C1", lw=1)
            if found.seconds is not None:
                ax.axvline(found.seconds, ls=":", color="C0", lw=1)
            ax.set_title(f"{name}\n" + textwrap.fill(found.describe(), 50), fontsize=9)
            ax.set_xlabel("training wall time (s)")
            ax.set_ylabel(f"validation MAE ({get_dataset(name).unit})")
            ax.set_yscale("log")
            readable_log_axis(ax)
            ax.legend()
        fig.tight_layout()
        return fig

    def facts(self) -> dict[str, str]:
        """The runs raced and the reading of each race (placeholders where none is stored)."""
        from matfusion.data import get_dataset

        def threads(rec: dict[str, Any]) -> Any:
            return (rec.get("train_settings") or {}).get("num_threads", "?")

        def used(runs: dict[str, dict[str, Any]]) -> str:
            n = {m: rec["sizes"]["train"] for m, rec in runs.items()}
            if len(set(n.values())) == 1:
                return f"{next(iter(n.values())):,} used by both models"
            return " and ".join(f"{v:,} used by {m}" for m, v in n.items())

        absent = "; ".join(
            f"no stored {self.profile_name} run of {', '.join(models)} on {name}"
            for name, models in self.absent.items()
        )
        facts = {
            "target_ratio": f"{TARGET_TIME_RATIO:g}",
            "race_absent": absent or "every race has both runs stored",
            "race_scope": (
                "Smoke-sized runs (two epochs), so this exercises the code only."
                if self.profile_name == "smoke"
                else "Wall-clock times are from this shared CPU."
            ),
        }
        if not self.panels:
            facts["race_runs"] = facts["race_readings"] = "none (no race has both runs stored)"
            return facts
        facts["race_runs"] = "; ".join(
            f"{name} ({get_dataset(name).property}, {get_dataset(name).unit}): "
            f"{runs['L-G-DCNN']['full_sizes']['train']:,} training rows, {used(runs)} (torch "
            f"threads: L-G-DCNN {threads(runs['L-G-DCNN'])}, CrabNet "
            f"{threads(runs['CrabNet'])}; {runs['L-G-DCNN']['config']['profile']} profile)"
            for name, runs in self.panels.items()
        )
        facts["race_readings"] = " ".join(
            f"{name} ({get_dataset(name).property}): "
            + found.verdict(unit=get_dataset(name).unit).replace("*", "").replace("`", "")
            for name, found in self.found.items()
        )
        return facts


def load_convergence(profile: Profile, datasets: Sequence[str]) -> Convergence:
    """The stored L-G-DCNN and CrabNet runs of the race on ``datasets`` (never trained)."""
    from matfusion.experiments import stored_training

    panels, absent = {}, {}
    for name in datasets:
        runs = {m: stored_training(m, name, profile=profile) for m in CONVERGENCE_MODELS}
        missing = [m for m, r in runs.items() if r is None or not r["history"]]
        if missing:
            absent[name] = missing
        else:
            panels[name] = runs
    return Convergence(panels, absent, profile_name=profile.name)


# --- exercises ------------------------------------------------------------------------------


def _stored(profile: Profile, **kwargs: Any) -> SampleEfficiency:
    page = load(profile, show=False, **kwargs)
    if page.mae.empty:
        raise ValueError("no learning-curve run is stored")
    return page


def _answer_three_sizes(profile: Profile, sizes: Sequence[int] = (100, 1000, 10000)) -> str:
    full = _stored(profile)
    fewer = _stored(profile, sizes=sizes)
    a, b = loglog_slopes(full.mae), loglog_slopes(fewer.mae)
    return (
        f"Log-log slopes over {_sizes_text(a.attrs['sizes'])} rows: "
        + ", ".join(f"{m} {v:.3f}" for m, v in a.items())
        + f"; over {_sizes_text(b.attrs['sizes'])} rows: "
        + ", ".join(f"{m} {v:.3f}" for m, v in b.items())
        + ". A slope is a fit over the sizes given: with three points one noisy run moves it "
        "more, and the order of the slopes is what the paper's third sentence is about."
    )


def _answer_two_models(profile: Profile) -> str:
    page = _stored(profile, models=["L-G-DCNN", "RF-Magpie"])
    if not {"L-G-DCNN", "RF-Magpie"} <= set(page.mae.columns):
        raise ValueError("L-G-DCNN or the forest has no stored learning-curve run")
    rows = []
    for n in page.mae.index:
        lg, rf = page.mae.loc[n, "L-G-DCNN"], page.mae.loc[n, "RF-Magpie"]
        weak = page.r2.loc[n, ["L-G-DCNN", "RF-Magpie"]].min() < page.min_r2
        rows.append(
            f"{n:,} rows: {'L-G-DCNN' if lg < rf else 'forest'} lower ({lg:.4f} vs {rf:.4f}"
            + (f"; R² below {page.min_r2:g}, set aside)" if weak else ")")
        )
    return (
        f"Test MAE ({page.unit}), L-G-DCNN vs the forest: "
        + "; ".join(rows)
        + ". Sizes where either run has R² below the guard count neither way; the crossing "
        "the paper describes is where L-G-DCNN first stays lower at every larger size."
    )


def _answer_race(profile: Profile, dataset: str = "aflow__Egap") -> str:
    race = load_convergence(profile, [dataset])
    if dataset not in race.panels:
        raise ValueError(f"no stored L-G-DCNN and CrabNet runs with histories on {dataset}")
    found = race.found[dataset]
    ratio = found.ratio
    return (
        found.describe()
        + (
            f" (ratio {ratio:.2f}; the target is at most {TARGET_TIME_RATIO:g})"
            if ratio is not None
            else ""
        )
        + ". One pair of runs on a shared CPU: the ratio depends on the machine's load and on "
        "each model's epoch budget, so it reads as this race's outcome, not a property of the "
        "architectures."
    )


def _exercises() -> tuple[Any, ...]:
    from matfusion.chapters.exercises import Exercise

    return (
        Exercise(
            "Fit the learning curves on three sizes only, 100, 1,000 and 10,000 rows "
            "(`sizes`). How do the log-log slopes move, and does their order change?",
            {"sizes": [100, 1000, 10000]},
            _answer_three_sizes,
            look_at="Test MAE against training-set size (Figure 5a)",
        ),
        Exercise(
            "Keep L-G-DCNN and the random forest only (`models`). At which sizes is "
            "L-G-DCNN lower, and which sizes are set aside by the R² guard?",
            {"models": ["L-G-DCNN", "RF-Magpie"]},
            _answer_two_models,
            look_at="The paper's three sentences on Figure 5a",
        ),
        Exercise(
            "Race L-G-DCNN against CrabNet on the AFLOW band gap alone "
            "(`convergence_datasets`). Does L-G-DCNN reach CrabNet's best validation MAE "
            "in time?",
            {"convergence_datasets": ["aflow__Egap"]},
            _answer_race,
            look_at="Validation MAE against wall-clock time (Figure S12)",
        ),
    )


#: This chapter's exercises (see :mod:`matfusion.chapters.exercises`).
EXERCISES = _exercises()


# --- Figure 5b: CECV against training-set size ---------------------------------------


def cecv_by_training_size(
    records: Sequence[dict[str, Any]],
    *,
    anchor: str = "Si",
    mode: str = "authors",
    retrain: bool = False,
) -> tuple[pd.DataFrame, list[int]]:
    """CECV curves of training ``records`` (one model, one dataset, several sizes) by
    training rows: rows ``n_train``, columns thresholds; and the sizes with no CECV (not
    stored and no checkpoint here, unless ``retrain``)."""
    from matfusion.experiments import run_cecv

    curves, missing = {}, []
    for record in sorted(records, key=lambda r: r["sizes"]["train"]):
        n = int(record["sizes"]["train"])
        found = run_cecv(record, anchor=anchor, mode=mode, retrain=retrain)
        if found is None:
            missing.append(n)
            continue
        curves[n] = pd.Series(found["cecv"], index=[f"{t:.2f}" for t in found["thresholds"]])
    frame = pd.DataFrame(curves).T
    frame.index.name = "n_train"
    return frame, missing


def converges_towards_band(
    curves: pd.DataFrame, lower: Sequence[float], upper: Sequence[float]
) -> dict[str, Any]:
    """Band distance (:func:`matfusion.analysis.cecv.band_distance`) of each size's curve to
    the band between two reference curves; ``holds`` when it never grows with the training
    size and the largest size is closer than the smallest (needs two sizes or more)."""
    from matfusion.analysis.cecv import band_distance

    distance = pd.Series(
        {n: band_distance(curves.loc[n], lower, upper) for n in curves.index}, dtype=float
    ).sort_index()
    steps = np.diff(distance.to_numpy())
    enough = len(distance) >= 2
    holds = bool(enough and (steps <= 1e-12).all() and distance.iloc[-1] < distance.iloc[0])
    return {"distance": distance, "holds": holds if enough else None}
