"""Chapter 08: paper A's Table 1, the ten Matbench composition tasks, with CrabNet and a
Magpie random forest run here on the same (``matbench_cv``) folds as our models.

:class:`Matbench` holds the stored runs (one row per model, task and fold) beside Table 1
and gives the chapter's tables, its figure and the texts it glues into its prose
(:meth:`Matbench.facts`: the same keys on every path, runs stored or not). Counts of best
models are over tasks with all five folds of every model stored; the verdicts on the
paper's Table 1 claims are :mod:`matfusion.verdicts`' (fold-paired intervals).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from matfusion.chapters.cells import MATBENCH_MODELS
from matfusion.profiles import Profile

__all__ = [
    "EXERCISES",
    "FAMILY",
    "PAPER_COLUMN",
    "TABLE_MODELS",
    "Matbench",
    "load",
    "reported_table1",
]

#: Table 1's models that we run.
TABLE_MODELS: list[str] = list(MATBENCH_MODELS)
#: Table 1's column of each model it has (CrabNet's is the leaderboard's entry).
PAPER_COLUMN = {"L-G-DCNN": "L-G-DCNN", "L-G-DCNN-V1": "L-G-DCNN-V1", "CrabNet": "CrabNet"}
#: The paper's own models.
FAMILY = ("L-G-DCNN", "L-G-DCNN-V1")


def reported_table1() -> pd.DataFrame:
    """Table 1 (rows: tasks; the paper's models, the leaderboard's CrabNet and Finder, the
    task size and its label)."""
    from matfusion.paper import reported

    return reported("matbench_mae").set_index("task")


def default_tasks(profile: Profile, paper: pd.DataFrame | None = None) -> list[str]:
    """All ten tasks (smoke: matbench_steels)."""
    if profile.name == "smoke":
        return ["matbench_steels"]
    return list((reported_table1() if paper is None else paper).index)


def default_folds(profile: Profile) -> list[int]:
    """Folds 0-4 (smoke: 0 and 1)."""
    return [0, 1] if profile.name == "smoke" else list(range(5))


@dataclass
class Matbench:
    """Our stored runs (``table``: one row per run with ``dataset``, ``model``, ``fold``,
    ``test_mae``) beside Table 1 (``paper``); ``summary`` is
    :func:`~matfusion.data.dataset_summary` indexed by name (sizes and units)."""

    table: pd.DataFrame
    tasks: list[str]
    folds: list[int]
    models: list[str]
    paper: pd.DataFrame
    summary: pd.DataFrame
    profile_name: str = "standard"
    max_train_rows: int | None = None
    max_eval_rows: int | None = None
    records: list[dict[str, Any]] = field(default_factory=list)
    missing: list[Any] = field(default_factory=list)

    def label(self, task: str) -> str:
        return str(self.paper.loc[task, "paper_label"])

    # --- sizes ----------------------------------------------------------------------------

    @cached_property
    def in_folds(self) -> pd.Series:
        """Rows of one ``matbench_cv`` fold (train + val + test) per task."""
        return self.summary.loc[self.tasks, ["n_train", "n_val", "n_test"]].sum(axis=1)

    def sizes_table(self) -> pd.DataFrame:
        """Per task: the paper's size, ``matbench_cv``'s rows, the full and used training and
        test rows (largest over stored folds), the share kept and the test share."""
        full = self.summary.loc[self.tasks, ["n_train", "n_test"]]
        sizes = pd.DataFrame(
            {
                "paper's task size": self.paper.loc[self.tasks, "size"],
                "matbench_cv rows": self.in_folds,
                "full n_train": full["n_train"],
                "n_train used": np.nan,
                "full n_test": full["n_test"],
                "n_test used": np.nan,
            }
        )
        for rec in self.records:
            row = rec["config"]["dataset"]
            for split in ("train", "test"):
                used = sizes.loc[row, f"n_{split} used"]
                stored = rec["full_sizes"][split]
                sizes.loc[row, f"full n_{split}"] = (
                    max(sizes.loc[row, f"full n_{split}"], stored) if pd.notna(used) else stored
                )
                sizes.loc[row, f"n_{split} used"] = np.fmax(used, rec["sizes"][split])
        sizes["train kept %"] = (100 * sizes["n_train used"] / sizes["full n_train"]).round(1)
        sizes["test share %"] = (100 * full["n_test"] / self.in_folds).round(1)
        integer = [c for c in sizes.columns if c.startswith(("full", "n_", "paper", "matbench"))]
        return sizes.astype({c: "Int64" for c in integer})

    @cached_property
    def cut(self) -> list[str]:
        """Tasks whose training split is larger than the profile's cap."""
        if not self.max_train_rows:
            return []
        full = self.sizes_table()["full n_train"]
        return [t for t in self.tasks if full[t] > self.max_train_rows]

    def size_facts(self) -> dict[str, str]:
        """The caps, which tasks are subsampled, and which lost rows to ``matbench_cv``'s
        merging of duplicate compositions."""
        merged = (100 * self.in_folds / self.paper.loc[self.tasks, "size"]).round(1)
        merged_tasks = [t for t in self.tasks if merged[t] < 99.5]
        n = len(self.tasks)
        return {
            "train_cap": f"{self.max_train_rows:,}" if self.max_train_rows else "all",
            "eval_cap": f"{self.max_eval_rows:,}" if self.max_eval_rows else "all",
            "subsampled": (
                f"{len(self.cut)} of the {n} tasks are subsampled "
                f"({', '.join(self.label(t) for t in self.cut)}): their MAEs are for a smaller "
                "training set than the paper's and should be higher; the others train on their "
                "full folds"
                if self.cut
                else "No task here is larger than that: every fold is used in full, as in the paper"
            ),
            "merged": (
                f"{len(merged_tasks)} of the {n} tasks have fewer rows than the paper's task "
                "size ("
                + ", ".join(f"{self.label(t)} {merged[t]:.0f} %" for t in merged_tasks)
                + " of the paper's rows)"
                if merged_tasks
                else f"none of the {n} tasks has fewer rows than the paper's task size"
            ),
        }

    # --- Table 1 --------------------------------------------------------------------------

    @cached_property
    def fold_stats(self) -> dict[str, pd.DataFrame]:
        """Per model: mean, std and count of the test MAE over stored folds (rows: tasks)."""
        if len(self.table):
            stats = self.table.groupby(["dataset", "model"])["test_mae"].agg(
                ["mean", "std", "count"]
            )
        else:
            stats = pd.DataFrame(columns=["mean", "std", "count"])
        out = {}
        for model in self.models:
            if model in stats.index.get_level_values(-1):
                sub = stats.xs(model, level="model").reindex(self.tasks)
            else:
                sub = pd.DataFrame(np.nan, index=self.tasks, columns=["mean", "std", "count"])
            sub["count"] = sub["count"].fillna(0).astype(int)
            out[model] = sub
        return out

    def table1(self) -> pd.DataFrame:
        """Ours (mean, std, folds) beside Table 1, diff % where all five folds are stored."""
        out: dict[tuple[str, str], pd.Series] = {
            ("task", "unit"): self.summary.loc[self.tasks, "unit"]
        }
        for model in self.models:
            sub = self.fold_stats[model]
            out[(model, "ours")] = sub["mean"]
            out[(model, "± std")] = sub["std"]
            out[(model, "folds")] = sub["count"]
            if model in PAPER_COLUMN:
                theirs = self.paper.loc[self.tasks, PAPER_COLUMN[model]]
                out[(model, "leaderboard" if model == "CrabNet" else "paper")] = theirs
                out[(model, "diff %")] = (100 * (sub["mean"] - theirs) / theirs).where(
                    sub["count"] == 5
                )
        out[("Finder", "leaderboard")] = self.paper.loc[self.tasks, "Finder"]
        table = pd.DataFrame(out)
        table.index = [f"{self.label(t)} ({t})" for t in self.tasks]
        return table

    def table1_styled(self) -> Any:
        table = self.table1()
        numbers = [c for c in table.columns if c[0] != "task"]
        return table.style.format("{:.4g}", subset=numbers, na_rep="–").format(
            "{:+.1f}", subset=[c for c in table.columns if c[1] == "diff %"], na_rep="–"
        )

    def plot_folds(self) -> Any:
        """One panel per task with runs: a bar per model (mean over folds) and its folds as
        points, the paper's L-G-DCNN and the leaderboard's CrabNet as dashed lines."""
        import matplotlib.pyplot as plt

        shown = [t for t in self.tasks if len(self.table) and (self.table["dataset"] == t).any()]
        if not shown:
            return None
        n_cols = min(3, len(shown))
        n_rows = -(-len(shown) // n_cols)
        fig, axes = plt.subplots(
            n_rows, n_cols, figsize=(3.4 * n_cols, 3.3 * n_rows), squeeze=False
        )
        for ax in axes.flat[len(shown) :]:
            ax.set_axis_off()
        for ax, task in zip(axes.flat, shown, strict=False):
            sub = self.table[self.table["dataset"] == task]
            for i, model in enumerate(self.models):
                values = sub.loc[sub["model"] == model, "test_mae"]
                if len(values):
                    ax.bar(i, values.mean(), color=f"C{i}", alpha=0.5)
                    ax.plot([i] * len(values), values, "k.", ms=5)
            ax.axhline(self.paper.loc[task, "L-G-DCNN"], ls="--", color="C0", lw=1,
                       label="paper L-G-DCNN")  # fmt: skip
            ax.axhline(self.paper.loc[task, "CrabNet"], ls="--", color="C2", lw=1,
                       label="leaderboard CrabNet")  # fmt: skip
            ax.set_xticks(range(len(self.models)), self.models, rotation=45, ha="right",
                          fontsize=8)  # fmt: skip
            ax.set_title(self.label(task), fontsize=9)
            ax.set_ylabel(f"test MAE ({self.summary.loc[task, 'unit']})")
        handles, labels = axes[0][0].get_legend_handles_labels()
        spare = axes.flat[len(shown) :]
        if len(spare):
            spare[0].legend(handles, labels, loc="center", fontsize=9)
        else:
            fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0), ncol=2)
        fig.tight_layout()
        return fig

    # --- convergence ----------------------------------------------------------------------

    @cached_property
    def convergence(self) -> pd.DataFrame:
        """Per task and model (not the forest): folds, median n_val, steps per epoch, median
        epochs run, folds still improving at the last epoch, median optimiser steps."""
        rows = []
        for rec in self.records:
            cfg = rec["config"]
            if cfg["model"] == "RF-Magpie":
                continue
            rows.append(
                {
                    "task": cfg["dataset"],
                    "model": rec.get("alias") or cfg["model"],
                    "epochs run": rec.get("epochs_run"),
                    "n_val": rec["sizes"]["val"],
                    "steps per epoch": (rec.get("train_settings") or {}).get("steps_per_epoch"),
                    "still improving": rec.get("best_epoch") is not None
                    and rec.get("best_epoch") == rec.get("epochs_run"),
                }
            )
        if not rows:
            return pd.DataFrame()
        frame = (
            pd.DataFrame(rows)
            .groupby(["task", "model"], sort=False)
            .agg(
                folds=("epochs run", "size"),
                median_n_val=("n_val", "median"),
                steps_per_epoch=("steps per epoch", "median"),
                median_epochs_run=("epochs run", "median"),
                still_improving=("still improving", "sum"),
            )
        )
        frame["median_steps"] = frame["steps_per_epoch"] * frame["median_epochs_run"]
        return frame

    def convergence_styled(self) -> Any:
        if self.convergence.empty:
            return pd.DataFrame({"note": ["no stored runs with epochs"]})
        return self.convergence.style.format("{:.0f}", na_rep="–")

    # --- wins -----------------------------------------------------------------------------

    @cached_property
    def means(self) -> pd.DataFrame:
        """Mean test MAE over stored folds, tasks x models."""
        return pd.DataFrame({m: self.fold_stats[m]["mean"] for m in self.models})

    @cached_property
    def complete_tasks(self) -> list[str]:
        """Tasks with all five folds of every model stored."""
        return [
            t for t in self.tasks if all(self.fold_stats[m]["count"][t] == 5 for m in self.models)
        ]

    @property
    def shared(self) -> list[str]:
        """The models both tables have."""
        return [m for m in PAPER_COLUMN if m in self.models]

    def best(self) -> dict[str, pd.Series]:
        """The best model per complete task: ours (all, shared models) and the paper's
        (with Finder, shared models)."""
        done = self.complete_tasks
        paper = self.paper.loc[done, [*PAPER_COLUMN, "Finder"]].astype(float)
        return {
            "ours": self.means.loc[done].idxmin(axis=1),
            "paper": paper.idxmin(axis=1),
            "ours shared": self.means.loc[done, self.shared].idxmin(axis=1),
            "paper shared": paper[self.shared].idxmin(axis=1),
        }

    def wins_table(self) -> pd.DataFrame:
        """How many complete tasks each model has the lowest mean MAE on."""
        best = self.best()
        wins = pd.DataFrame(
            {
                f"ours, all {len(self.models)} models": best["ours"].value_counts(),
                "paper, with Finder (leaderboard)": best["paper"].value_counts(),
                f"ours, the {len(self.shared)} models both have": best[
                    "ours shared"
                ].value_counts(),
                f"paper, the same {len(self.shared)}": best["paper shared"].value_counts(),
            }
        )
        return wins.reindex(self.models + ["Finder"]).fillna(0).astype(int)

    # --- glued texts ----------------------------------------------------------------------

    def verdict_facts(self) -> dict[str, str]:
        """The texts of "What our runs say" (placeholders where no task is complete)."""
        done, n = self.complete_tasks, len(self.complete_tasks)
        facts = {
            "scope_note": (
                "These are smoke-sized runs (two epochs, width 64, folds 0-1 only): they "
                "exercise the code and say nothing about the claims."
                if self.profile_name == "smoke"
                else f"Counted on the stored {self.profile_name} runs."
            ),
            "n_complete": f"{n} task{'' if n == 1 else 's'}",
            "n_shared": str(len(self.shared)),
        }
        if not n:
            none = "not counted (no task has all five folds of every model stored)"
            for key in ("family_shared", "family_paper_shared", "family_all", "family_paper"):
                facts[key] = none
            facts["forest_wins"] = facts["pairs"] = facts["paper_pair"] = none
        else:
            best = self.best()
            facts["family_shared"] = str(int(best["ours shared"].isin(FAMILY).sum()))
            facts["family_paper_shared"] = str(int(best["paper shared"].isin(FAMILY).sum()))
            facts["family_all"] = str(int(best["ours"].isin(FAMILY).sum()))
            facts["family_paper"] = str(int(best["paper"].isin(FAMILY).sum()))
            facts["forest_wins"] = (
                str(int((best["ours"] == "RF-Magpie").sum()))
                if "RF-Magpie" in self.models
                else "not run here"
            )
            done_means = self.means.loc[done]
            pairs = [
                (a, b)
                for a, b in (
                    ("L-G-DCNN", "CrabNet"),
                    ("L-G-DCNN", "RF-Magpie"),
                    ("L-G-DCNN-V1", "L-G-DCNN"),
                )  # fmt: skip
                if a in self.models and b in self.models
            ]
            facts["pairs"] = (
                "; ".join(
                    f"{a} beats {b} on {int((done_means[a] < done_means[b]).sum())} of {n}"
                    for a, b in pairs
                )
                or "no pair of the chapter's models is on this page"
            )
            beats = self.paper.loc[done, "L-G-DCNN"] < self.paper.loc[done, "CrabNet"]
            facts["paper_pair"] = f"{int(beats.sum())} of {n}"
        facts["caveats"] = self.caveats()
        facts["missing_cells"] = self.missing_text()
        return facts

    def caveats(self) -> str:
        """Few optimiser steps on the small tasks, subsampled tasks, unofficial folds."""
        parts = []
        conv = self.convergence
        if not conv.empty and "L-G-DCNN" in conv.index.get_level_values(1):
            steps = conv.xs("L-G-DCNN", level="model")["median_steps"].dropna()
            short = steps[steps < 0.5 * steps.max()].reindex(self.complete_tasks).dropna()
            if len(short):
                parts.append(
                    "the smallest tasks get few optimiser steps (L-G-DCNN's median: "
                    + ", ".join(f"{self.label(t)} {s:.0f}" for t, s in short.sort_values().items())
                    + f", against {steps.max():.0f} on the largest), so the deep models are "
                    "undertrained there"
                )
        if self.cut:
            parts.append(
                f"{len(self.cut)} of the tasks are subsampled to {self.max_train_rows:,} "
                "training rows"
            )
        parts.append("no fold is Matbench's official one (see the sizes above)")
        return "; ".join(parts)

    def missing_text(self) -> str:
        """The cells without a stored record, grouped by task and model."""
        if not self.missing:
            return "none"
        gaps = pd.DataFrame(
            [(c.dataset, c.model, c.fold) for c in self.missing], columns=["task", "model", "fold"]
        )
        grouped = gaps.groupby(["task", "model"], sort=False)["fold"].agg(
            lambda f: ", ".join(map(str, f))
        )
        return "; ".join(f"{m} on {t} (folds {f})" for (t, m), f in grouped.items())

    def facts(self) -> dict[str, str]:
        """Every text the chapter glues (the same keys on every path)."""
        return {**self.size_facts(), **self.verdict_facts()}


def load(
    profile: Profile,
    *,
    tasks: Sequence[str] | None = None,
    folds: Sequence[int] | None = None,
    models: Sequence[str] | None = None,
    train_missing: bool = False,
    progress: bool = False,
    show: bool = True,
) -> Matbench:
    """The chapter's runs (trained only with ``train_missing``) as a :class:`Matbench`; with
    ``show``, the page's note on stored and missing runs."""
    from matfusion.chapters.extended_benchmarks import run_table
    from matfusion.data import dataset_summary
    from matfusion.grid import collect_records, grid_cells
    from matfusion.notebook import stored_runs

    paper = reported_table1()
    models = list(models or TABLE_MODELS)
    tasks = list(tasks or default_tasks(profile, paper))
    folds = list(folds if folds is not None else default_folds(profile))
    cells = [c for t in tasks for c in grid_cells(models, [t], folds=folds)]
    if show:
        records, missing = stored_runs(
            cells, profile, train_missing=train_missing, progress=progress
        )
    else:
        records, missing = collect_records(cells, profile=profile, train_missing=train_missing)
    table = run_table(records)
    if len(table):
        table["fold"] = [r["config"]["fold"] for r in records]
    return Matbench(
        table, tasks, folds, models, paper, dataset_summary().set_index("name"),
        profile_name=profile.name, max_train_rows=profile.max_train_rows,
        max_eval_rows=profile.max_eval_rows, records=list(records), missing=list(missing),
    )  # fmt: skip


# --- exercises ------------------------------------------------------------------------------


def _stored(profile: Profile, **kwargs: Any) -> Matbench:
    page = load(profile, show=False, **kwargs)
    if not len(page.table):
        raise ValueError("no Matbench run of these tasks is stored")
    return page


def _answer_two_folds(profile: Profile) -> str:
    five = _stored(profile)
    two = _stored(profile, folds=[0, 1])
    if not five.complete_tasks:
        raise ValueError("no task has all five folds of every model stored")
    done = five.complete_tasks
    shift = 100 * (two.means.loc[done] / five.means.loc[done] - 1)
    changed = [
        five.label(t) for t in done if two.means.loc[t].idxmin() != five.means.loc[t].idxmin()
    ]
    return (
        f"Over {len(done)} tasks, the mean MAE of folds 0-1 differs from the five-fold mean by "
        f"a median of {shift.abs().stack().median():.1f} % (largest {shift.abs().max().max():.1f} %, "
        f"{shift.abs().max().idxmax()} on {five.label(shift.abs().max(axis=1).idxmax())}). The "
        f"best model changes on {len(changed)} of {len(done)} tasks"
        + (f" ({', '.join(changed)})" if changed else "")
        + ". Two folds are not enough to rank models whose means differ by a few percent."
    )


def _answer_no_forest(profile: Profile) -> str:
    models = [m for m in TABLE_MODELS if m != "RF-Magpie"]
    page = _stored(profile, models=models)
    if not page.complete_tasks:
        raise ValueError("no task has all five folds of every model stored")
    facts = page.verdict_facts()
    best = page.best()["ours"].value_counts()
    return (
        f"Without the forest, L-G-DCNN or V1 has the lowest mean MAE on "
        f"{facts['family_all']} of {len(page.complete_tasks)} tasks (Table 1, with the "
        f"leaderboard's CrabNet: {facts['family_paper_shared']}); per model: "
        + ", ".join(f"{m} {int(best.get(m, 0))}" for m in models)
        + ". The forest's wins go to whichever deep model is next best, so removing a "
        "baseline flatters the others without any model improving."
    )


def _answer_steels(profile: Profile, task: str = "matbench_steels") -> str:
    page = _stored(profile, tasks=[task])
    conv = page.convergence
    if conv.empty:
        raise ValueError(f"no run with epochs is stored for {task}")
    rows = [
        f"{model}: {int(row['folds'])} folds, median {row['median_epochs_run']:.0f} epochs"
        + (
            f" of {row['steps_per_epoch']:.0f} step(s) ({row['median_steps']:.0f} updates)"
            if pd.notna(row["steps_per_epoch"])
            else ""
        )
        + f", {int(row['still_improving'])} still improving at the last epoch"
        for (_, model), row in conv.iterrows()
    ]
    n_val = conv["median_n_val"].median()
    means = page.means.loc[task].dropna()
    return (
        f"{page.label(task)}: "
        + "; ".join(rows)
        + f". The validation split has about {n_val:.0f} rows, so early stopping reads a noisy "
        "score. Mean test MAE over the stored folds: "
        + ", ".join(f"{m} {v:.4g}" for m, v in means.sort_values().items())
        + ". With so few updates the deep models' errors here measure the training budget as "
        "much as the architecture."
    )


def _exercises() -> tuple[Any, ...]:
    from matfusion.chapters.exercises import Exercise

    return (
        Exercise(
            "Keep only folds 0 and 1 (`folds`). How far do the mean MAEs move from the "
            "five-fold means, and does the best model on a task change?",
            {"folds": [0, 1]},
            _answer_two_folds,
            look_at="Table 1: mean ± standard deviation over folds",
        ),
        Exercise(
            "Leave the random forest out (`models`). On how many tasks is L-G-DCNN or V1 now "
            "best, and why is that no evidence for them?",
            {"models": ["L-G-DCNN", "L-G-DCNN-V1", "CrabNet"]},
            _answer_no_forest,
            look_at="Who wins each task",
        ),
        Exercise(
            "Look at the smallest task alone, steels (`tasks`). How many optimiser updates "
            "did each deep model get, and were they still improving?",
            {"tasks": ["matbench_steels"]},
            _answer_steels,
            look_at="Did the runs converge within the epoch budget?",
        ),
    )


#: This chapter's exercises (see :mod:`matfusion.chapters.exercises`).
EXERCISES = _exercises()
