"""Chapter 06's numbers and texts on small synthetic tables, its glue keys on every path, and
its exercises on the stored ``standard`` runs."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from matfusion.chapters import extended_benchmarks as eb
from matfusion.config import repo_root
from matfusion.profiles import get_profile

MODELS = ["L-G-DCNN", "L-G-DCNN-V1", "CrabNet", "Roost", "RF-Magpie"]
ROWS = ["a", "b", "c", eb.TYPO_ROW]


def _paper() -> pd.DataFrame:
    paper = pd.DataFrame(
        {
            "L-G-DCNN": [1.0, 1.0, 2.0, 0.30],
            "L-G-DCNN-V1": [1.1, 1.2, 1.0, 0.32],
            "CrabNet": [1.2, 1.005, 2.0, 0.33],
            "Roost": [1.3, 1.3, 2.0, 0.34],
            "RF": [2.0, 2.0, 3.0, 0.50],
            "Finder": [1.5, 1.5, 2.5, eb.TYPO_PRINTED],
        },
        index=ROWS,
    )
    paper["paper_label"] = [f"label {r}" for r in ROWS]
    return paper


def _table(mae: dict[str, list[float]], r2: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for model, values in mae.items():
        for dataset, value, score in zip(ROWS, values, r2[model], strict=True):
            if not np.isnan(value):
                rows.append({"dataset": dataset, "model": model, "test_mae": value,
                             "test_r2": score})  # fmt: skip
    return pd.DataFrame(rows)


def _page(**kwargs) -> eb.ExtendedBenchmarks:
    mae = {
        "L-G-DCNN": [1.0, 2.0, 1.0, 0.30],
        "L-G-DCNN-V1": [1.5, 1.0, 1.005, 0.31],
        "CrabNet": [2.0, 1.5, 3.0, np.nan],  # the volume row is not complete
        "Roost": [3.0, 3.0, 3.0, 0.40],
        "RF-Magpie": [4.0, 4.0, 0.9, 0.50],
    }
    r2 = {m: [0.9, 0.05, 0.2, 0.9] for m in MODELS}  # row b: best R² 0.05, not informative
    return eb.ExtendedBenchmarks(_table(mae, r2), ROWS, MODELS, _paper(), **kwargs)


def test_complete_rows_ties_and_the_r2_guard() -> None:
    page = _page(tie_rtol=0.01, min_r2=0.1, weak_r2=0.3)
    assert list(page.complete.index) == ["a", "b", "c"]
    assert page.uninformative == ["b"]
    facts = page.facts()
    # row a: L-G-DCNN alone; row b: V1 alone; row c: RF-Magpie alone (0.9 < 1.0 by 10 %)
    assert facts["wins_complete"].startswith("L-G-DCNN 1 (Figure 4: 1 + 1 shared)")
    assert "RF-Magpie 1 (Figure 4: 0)" in facts["wins_complete"]
    assert facts["wins_informative"].startswith("L-G-DCNN 1 (Figure 4: 1)")
    assert facts["uninformative_rows"] == "label b (0.050)"
    assert facts["weak_rows"] == "label c (0.200; best MAE: RF-Magpie)"
    assert facts["strict_fig4"] == "2 of 3" and facts["strict_ours"] == "1 of 3"
    assert facts["rf_last"] == "2 of the 3"  # row c: CrabNet and Roost tie for last
    assert facts["n_complete"] == "3 complete rows"
    # pairwise over every row with both: the volume row counts for L-G-DCNN vs V1
    assert facts["pair_v1"].startswith("L-G-DCNN vs L-G-DCNN-V1: L-G-DCNN lower on 2, ")
    assert "tie on 1 of 4 rows" in facts["pair_v1"]  # row c: 1.0 vs 1.005
    assert "of 3 rows" in facts["pair_crabnet"]
    # Finder's printed volume wins its row; the likely value leaves it to L-G-DCNN
    assert facts["typo_winner_printed"] == "Finder"
    assert facts["typo_winner_likely"] == "L-G-DCNN"


def test_a_wider_tie_shares_the_win() -> None:
    facts = _page(tie_rtol=0.2).facts()
    # row c: RF 0.9, L-G-DCNN 1.0, V1 1.005 all within 20 % of the best
    assert "RF-Magpie 0 + 1 shared" in facts["wins_complete"]
    assert facts["tie_pct"] == "20%"


def test_facts_have_the_same_keys_with_nothing_stored_and_under_smoke() -> None:
    full = _page().facts()
    empty = eb.ExtendedBenchmarks(pd.DataFrame(), ROWS, MODELS, _paper(), profile_name="smoke")
    facts = empty.facts()
    assert facts.keys() == full.keys()
    assert all(isinstance(v, str) and v for v in facts.values())
    assert facts["strict_fig4"] == "not counted (no complete row)"
    assert facts["wins_complete"] == "nothing to count"
    assert "smoke-sized" in facts["scope_note"]
    without = eb.ExtendedBenchmarks(pd.DataFrame(), ROWS, ["CrabNet"], _paper()).facts()
    assert without["pair_v1"] == "L-G-DCNN vs L-G-DCNN-V1: not compared (L-G-DCNN left out)"


def test_every_glue_key_of_the_chapter_is_glued() -> None:
    source = (repo_root() / "notebooks" / "06_extended_benchmarks.py").read_text()
    used = set(re.findall(r"\{glue:text\}`([^`:]+)", source))
    profile = get_profile("standard")
    summary = pd.DataFrame({"n_train": [10]}, index=["a"])
    glued = set(_page().facts()) | set(eb.subsample_facts(summary, profile))
    glued |= {"profile_name", "threads_note", "seed_spread"}
    assert used and used <= glued, used - glued


def test_wins_table_marks_models_outside_a_count() -> None:
    wins = _page().wins_table()
    assert wins.loc["Finder"].iloc[0] == "–"  # Finder is not among our runs
    assert wins.loc["L-G-DCNN"].iloc[0] == "1"
    six = [c for c in wins.columns if "as printed" in c][0]
    assert wins.loc["Finder", six] != "–"


def test_subsample_facts_name_the_cut_sets() -> None:
    summary = pd.DataFrame({"n_train": [500, 5000, 20000]}, index=["s", "m", "l"])
    standard = get_profile("standard")  # 3,000 training rows
    facts = eb.subsample_facts(summary, standard)
    assert facts["train_cap"] == "3,000"
    assert facts["subsample_which"].startswith("2 of the 3 sets shown here are larger")
    assert "(the least: l, 20,000 training rows, 15.0% kept)" in facts["subsample_which"]
    small = eb.subsample_facts(summary.loc[["s"]], standard)["subsample_which"]
    assert small.startswith("None of the 1 sets") and "least" not in small
    paper = get_profile("paper")
    assert eb.subsample_facts(summary, paper)["train_cap"] == "all"


def test_thread_note_and_settings_table() -> None:
    table = pd.DataFrame(
        {"model": ["A", "B", "C"], "dataset": ["x", "x", "y"], "threads": [1, 1, 2]}
    )
    assert eb.thread_note(table) == (
        "2 of 3 runs used 1 thread (torch threads; the forest's n_jobs); the others: C on y (2)."
    )
    assert eb.thread_note(table.assign(threads=[1, 1, None])).endswith("1 record(s) do not say.")
    records = [
        {"config": {"model": "A", "seed": 0}, "train_settings": {"epochs": 30, "batch_size": 256},
         "epochs_run": 12},
        {"config": {"model": "A", "seed": 0}, "train_settings": {"epochs": 30, "batch_size": 128},
         "epochs_run": 30},
    ]  # fmt: skip
    settings = eb.settings_table(records)
    assert settings.loc["A", "batch size"] == "128, 256"
    assert settings.loc["A", "trees"] == "–"


# --- the one-hot column and the "within noise of the best" marks ----------------------------


def _record(dataset: str, model: str, target, prediction, seed: int = 0, **extra) -> dict:
    return {
        "config": {"dataset": dataset, "model": model, "seed": seed},
        "metrics": {"test_mae": float(np.mean(np.abs(np.asarray(prediction) - target)))},
        "test_values": {"target": list(map(float, target)), "prediction": list(prediction)},
        **extra,
    }


def _synthetic(seeds=(0,)) -> tuple[pd.DataFrame, dict]:
    """Row "a": best (errors ~0.5), twin (the best's errors shuffled over the compounds,
    0.5 % larger: equal up to noise), worse (errors ~1.0);
    row "b": one model only; row "c": the best has no stored predictions."""
    rng = np.random.default_rng(1)
    y = rng.normal(size=500)
    records: dict[tuple[str, str], list[dict]] = {}
    for seed in seeds:
        noise = rng.normal(scale=0.5, size=y.size)
        preds = {
            "best": y + noise,
            "twin": y + 1.005 * rng.permutation(noise),  # other errors, the same MAE + 0.5 %
            "worse": y + 2 * noise,
        }
        for model, pred in preds.items():
            records.setdefault(("a", model), []).append(_record("a", model, y, pred, seed))
    records[("b", "best")] = [_record("b", "best", y, y + 0.1)]
    records[("c", "best")] = [  # a record from before `test_values`, cache file elsewhere
        {"config": {"dataset": "c", "model": "best", "seed": 0}, "metrics": {"test_mae": 0.1},
         "test_predictions": "/nonexistent/train-x-test-predictions.csv"}
    ]  # fmt: skip
    records[("c", "worse")] = [_record("c", "worse", y, y + 1.0)]

    def mae(d: str, m: str) -> float:
        runs = records.get((d, m), [])
        return float(np.mean([r["metrics"]["test_mae"] for r in runs])) if runs else np.nan

    grid = pd.DataFrame(
        [[mae(d, m) for m in ("best", "twin", "worse")] for d in "abc"],
        index=list("abc"),
        columns=["best", "twin", "worse"],
    )
    return grid, records


def test_near_best_marks_a_twin_within_noise_and_a_worse_model_distinguishable() -> None:
    grid, records = _synthetic()
    assert grid.loc["a"].idxmin() in ("best", "twin")
    marks = eb.near_best(grid, records, n_boot=500)
    row = marks.loc["a"]
    best = row.index[row["mark"] == "best"]
    assert len(best) == 1 and best[0] == grid.loc["a"].idxmin()
    other = "twin" if best[0] == "best" else "best"
    assert row.loc[other, "mark"] == "within noise"
    assert row.loc[other, "low"] <= 0 <= row.loc[other, "high"]
    assert row.loc["worse", "mark"] == "distinguishable"
    assert row.loc["worse", "low"] > 0 and row.loc["worse", "n_compounds"] == 500
    assert row.loc["worse", "n_seeds"] == 1
    assert marks.loc[("b", "best"), "why"] == "only model stored"
    assert set(marks.loc["c", "mark"]) == {"not compared"}
    assert "of the best not stored" in marks.loc[("c", "worse"), "why"]
    # fixed bootstrap seed: the same intervals on every call
    again = eb.near_best(grid, records, n_boot=500)
    pd.testing.assert_frame_equal(marks, again)
    counts = eb.near_best_counts(marks, ["best", "twin", "worse"])
    assert counts.loc["worse", "best or within noise"] == "0 of 1"
    assert counts.loc["best", "best or within noise"] == "1 of 1"
    assert counts.loc["twin", "best or within noise"] == "1 of 1"


def test_near_best_pools_the_seeds_shared_with_the_best() -> None:
    grid, records = _synthetic(seeds=(0, 1, 2))
    marks = eb.near_best(grid, records, n_boot=200)
    assert marks.loc[("a", "worse"), "n_seeds"] == 3
    assert marks.loc[("a", "worse"), "n_compounds"] == 1500
    assert marks.loc[("a", "worse"), "mark"] == "distinguishable"
    records[("a", "worse")] = [dict(r, config={**r["config"], "seed": 9})
                               for r in records[("a", "worse")]]  # fmt: skip
    unpaired = eb.near_best(grid, records, n_boot=200)
    assert unpaired.loc[("a", "worse"), "why"] == "no seed shared with the best"


def test_onehot_column_is_in_the_cell_list_and_shown_not_counted() -> None:
    from matfusion.chapters.cells import EXTENDED_MODELS, chapter_cell_groups
    from matfusion.experiments import trained_as

    assert "L-G-DCNN-onehot" in EXTENDED_MODELS
    assert eb.EXTRA_MODELS == ["L-G-DCNN-onehot"]
    assert "L-G-DCNN-onehot" not in eb.FIGURE_MODELS
    assert trained_as("L-G-DCNN-onehot") == "Model-1"
    (group,) = chapter_cell_groups(get_profile("standard"))["06_extended_benchmarks"]
    assert "L-G-DCNN-onehot" in group.models
    # Figure 4's stored numbers have no one-hot column: the page says so, never invents one
    assert "L-G-DCNN-onehot" not in eb.figure4_reported().columns

    base = _page()
    table = pd.concat(
        [base.table, pd.DataFrame({"dataset": ["a", "c"], "model": ["L-G-DCNN-onehot"] * 2,
                                   "test_mae": [0.5, 1.2], "test_r2": [0.9, 0.2]})]
    )  # fmt: skip
    page = eb.ExtendedBenchmarks(table, ROWS, MODELS, _paper(), extra=["L-G-DCNN-onehot"])
    assert list(page.mae_shown.columns) == MODELS + ["L-G-DCNN-onehot"]
    assert list(page.mae.columns) == MODELS  # the win counts are over the compared five
    assert page.facts()["wins_complete"] == base.facts()["wins_complete"]
    shown = page.figure4_table().data
    assert ("L-G-DCNN-onehot", "ours") in shown.columns
    html = page.figure4_table().to_html()
    assert "not in our copy" in html
    assert page.near_best_table().index[-1] == "L-G-DCNN-onehot (not in the win counts)"
    # no record has per-compound predictions: every row with two models is unmarked
    assert page.unmarked_rows() == ROWS
    assert page.facts()["near_best_summary"] == "no row could be marked (see below)"


def test_heat_map_marks_the_best_and_the_models_within_noise() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid, records = _synthetic()
    table = pd.DataFrame(
        [{"dataset": d, "model": m, "test_mae": grid.loc[d, m], "test_r2": 0.9}
         for d in grid.index for m in grid.columns if np.isfinite(grid.loc[d, m])]
    )  # fmt: skip
    paper = pd.DataFrame(
        {m: [1.0, 1.0, 1.0] for m in ("L-G-DCNN", "L-G-DCNN-V1", "CrabNet", "Roost", "RF")}
        | {"Finder": [1.0, 1.0, 1.0], "paper_label": ["A", "B", "C"]},
        index=list("abc"),
    )
    flat = [r for runs in records.values() for r in runs]
    page = eb.ExtendedBenchmarks(
        table, list("abc"), ["best", "twin", "worse"], paper, records=flat, n_boot=300
    )
    eb.PAPER_COLUMN.update({m: "L-G-DCNN" for m in ("best", "twin", "worse")})
    try:
        fig = page.plot_heatmaps()
    finally:
        for m in ("best", "twin", "worse"):
            eb.PAPER_COLUMN.pop(m)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert sum(t.startswith(eb.BEST_MARK) for t in texts) == 1  # row b has one model, c none
    assert sum(t.startswith(eb.NEAR_MARK) for t in texts) == 1
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[2].endswith(eb.ROW_UNMARKED) and not labels[0].endswith(eb.ROW_UNMARKED)
    assert any(eb.NEAR_MARK in t.get_text() and "bootstrap" in t.get_text() for t in fig.texts)
    facts = page.near_best_facts()
    assert facts["near_best_summary"].startswith("1 of the 1 row marked has more than one")
    assert facts["near_best_unmarked"].startswith("1 row (C)")
    plt.close(fig)
