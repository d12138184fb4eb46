"""Chapter 08's tables and texts on small synthetic fold results, its glue keys on every path,
and its exercises on the stored ``standard`` runs."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from matfusion.chapters import matbench as mb
from matfusion.config import repo_root

TASKS = ["t1", "t2"]
MODELS = ["L-G-DCNN", "L-G-DCNN-V1", "CrabNet", "RF-Magpie"]


def _paper() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "paper_label": ["task one", "task two"],
            "size": [1000, 400],
            "L-G-DCNN": [1.0, 2.0],
            "L-G-DCNN-V1": [1.1, 1.9],
            "CrabNet": [1.2, 2.1],
            "Finder": [0.9, np.nan],
        },
        index=TASKS,
    )


def _summary() -> pd.DataFrame:
    # t2 keeps 300 of the paper's 400 rows (merged duplicates); t1 all 1,000
    return pd.DataFrame(
        {"n_train": [700, 210], "n_val": [100, 30], "n_test": [200, 60], "unit": ["eV", "K"]},
        index=TASKS,
    )


def _page(folds: int = 5, **kwargs) -> mb.Matbench:
    means = {"t1": [1.0, 0.9, 1.2, 1.1], "t2": [2.0, 2.2, 2.1, 1.5]}  # per model in MODELS
    rows = [
        {"dataset": t, "model": m, "fold": f, "test_mae": means[t][i] + 0.01 * (f - 2)}
        for t in TASKS
        for i, m in enumerate(MODELS)
        for f in range(folds)
    ]
    return mb.Matbench(
        pd.DataFrame(rows), TASKS, list(range(5)), MODELS, _paper(), _summary(), **kwargs
    )


def test_table1_means_and_diff_only_with_five_folds() -> None:
    table = _page().table1()
    assert table.loc["task one (t1)", ("L-G-DCNN", "ours")] == pytest.approx(1.0)
    assert table.loc["task one (t1)", ("L-G-DCNN", "folds")] == 5
    assert table.loc["task one (t1)", ("L-G-DCNN-V1", "diff %")] == pytest.approx(
        100 * (0.9 - 1.1) / 1.1
    )
    assert ("CrabNet", "leaderboard") in table.columns
    short = _page(folds=3).table1()
    assert short[("L-G-DCNN", "diff %")].isna().all()


def test_wins_and_verdict_facts() -> None:
    page = _page()
    assert page.complete_tasks == TASKS
    wins = page.wins_table()
    assert wins.loc["L-G-DCNN-V1", "ours, all 4 models"] == 1  # t1
    assert wins.loc["RF-Magpie", "ours, all 4 models"] == 1  # t2
    assert wins.loc["Finder", "paper, with Finder (leaderboard)"] == 1  # t1 (0.9)
    facts = page.facts()
    assert facts["family_all"] == "1" and facts["forest_wins"] == "1"
    assert facts["family_shared"] == "2"  # t2 without the forest: L-G-DCNN 2.0
    assert facts["family_paper"] == "1" and facts["family_paper_shared"] == "2"
    assert facts["pairs"].startswith("L-G-DCNN beats CrabNet on 2 of 2; ")
    assert "L-G-DCNN-V1 beats L-G-DCNN on 1 of 2" in facts["pairs"]
    assert facts["paper_pair"] == "2 of 2"
    assert facts["n_complete"] == "2 tasks"


def test_facts_have_the_same_keys_with_nothing_stored_and_name_missing_cells() -> None:
    full = _page().facts()
    missing = [SimpleNamespace(dataset="t1", model="CrabNet", fold=f) for f in (3, 4)]
    empty = mb.Matbench(
        pd.DataFrame(), TASKS, [0, 1], MODELS, _paper(), _summary(), profile_name="smoke",
        missing=missing,
    )  # fmt: skip
    facts = empty.facts()
    assert facts.keys() == full.keys()
    assert all(isinstance(v, str) and v for v in facts.values())
    assert facts["family_all"].startswith("not counted")
    assert facts["missing_cells"] == "CrabNet on t1 (folds 3, 4)"
    assert full["missing_cells"] == "none"
    assert "smoke-sized" in facts["scope_note"]


def test_size_facts_name_cut_and_merged_tasks() -> None:
    page = _page(max_train_rows=500, max_eval_rows=100)
    facts = page.size_facts()
    assert facts["train_cap"] == "500" and facts["eval_cap"] == "100"
    assert facts["subsampled"].startswith("1 of the 2 tasks are subsampled (task one)")
    assert facts["merged"] == (
        "1 of the 2 tasks have fewer rows than the paper's task size (task two 75 % of the "
        "paper's rows)"
    )
    sizes = page.sizes_table()
    assert sizes.loc["t1", "test share %"] == 20.0
    assert _page().size_facts()["subsampled"].startswith("No task here is larger")


def test_convergence_counts_folds_still_improving() -> None:
    def record(fold: int, best: int) -> dict:
        return {
            "config": {"dataset": "t2", "model": "L-G-DCNN", "fold": fold},
            "epochs_run": 30,
            "best_epoch": best,
            "sizes": {"val": 30, "train": 210, "test": 60},
            "train_settings": {"steps_per_epoch": 2},
        }

    page = _page(records=[record(0, 30), record(1, 12), record(2, 30)])
    row = page.convergence.loc[("t2", "L-G-DCNN")]
    assert row["folds"] == 3 and row["still_improving"] == 2 and row["median_steps"] == 60


def test_every_glue_key_of_the_chapter_is_glued() -> None:
    source = (repo_root() / "notebooks" / "08_matbench.py").read_text()
    used = set(re.findall(r"\{glue:text\}`([^`:]+)", source))
    glued = set(_page().facts()) | {"profile_name"}
    assert used and used <= glued, used - glued
