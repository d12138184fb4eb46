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
    glued |= {"profile_name", "threads_note"}
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
