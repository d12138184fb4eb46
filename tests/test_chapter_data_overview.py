"""Chapter 01's tables and prose numbers on small synthetic inputs, and its exercises."""

from __future__ import annotations

import pandas as pd
import pytest

from matfusion.chapters import data_overview as chapter
from matfusion.profiles import get_profile


def _samples() -> pd.DataFrame:
    # Si = 14, O = 8, Fe = 26, Ge = 32
    rows = [
        ("a", "SiO2", 1.0, (14, 8)),
        ("a", "FeSiO3", 3.0, (26, 14, 8)),
        ("a", "Fe", 5.0, (26,)),
        ("b", "GeO2", 2.0, (32, 8)),
        ("b", "FeGeSiO4", 4.0, (26, 32, 14, 8)),
    ]
    return pd.DataFrame(
        {
            "dataset": [r[0] for r in rows],
            "kind": ["extended", "extended", "extended", "matbench", "matbench"],
            "formula": [r[1] for r in rows],
            "target": [r[2] for r in rows],
            "n_elements": [len(r[3]) for r in rows],
            "elements": [r[3] for r in rows],
        }
    )


def _sizes() -> pd.DataFrame:
    summary = pd.DataFrame(
        {
            "name": ["big", "tiny", "mid"],
            "kind": ["extended", "matbench", "extended"],
            "n_train": [7000, 70, 700],
            "n_val": [1500, 10, 150],
            "n_test": [1500, 20, 150],
        }
    )
    return chapter.size_table(summary)


def test_rows_for_uses_the_parameter_else_the_profile() -> None:
    assert chapter.rows_for(get_profile("smoke"), None) == 300
    assert chapter.rows_for(get_profile("standard"), None) == 5000
    assert chapter.rows_for(get_profile("paper"), None) is None
    assert chapter.rows_for(get_profile("smoke"), 40) == 40
    with pytest.raises(ValueError, match="at least 2"):
        chapter.rows_for(get_profile("smoke"), 1)


def test_size_table_orders_by_total() -> None:
    sizes = _sizes()
    assert list(sizes["name"]) == ["tiny", "mid", "big"]
    assert list(sizes["total"]) == [100, 1000, 10000]


def test_target_stats_and_element_counts() -> None:
    stats = chapter.target_stats(_samples(), {"a": "eV", "b": "K"})
    assert stats.loc["a", "rows_sampled"] == 3
    assert stats.loc["a", "target_mean"] == pytest.approx(3.0)
    assert stats.loc["a", "target_std"] == pytest.approx(2.0)
    assert stats.loc["b", "elements_max"] == 4
    assert stats.loc["b", "unit"] == "K"
    counts = chapter.element_counts(_samples(), ["b", "a"])
    assert list(counts.index) == ["b", "a"]
    assert counts.loc["a"].tolist() == [1, 1, 1, 0]
    assert counts.loc["b"].tolist() == [0, 1, 0, 1]


def test_anchor_table_counts_compounds_cecv_can_use() -> None:
    table = chapter.anchor_table(_samples(), "Si")
    assert table.loc["a", "with Si"] == 2 and table.loc["a", "with Si, 3+ elements"] == 1
    assert table.loc["b", "with Si"] == 1 and table.loc["b", "share with Si"] == 0.5
    numbers = chapter.anchor_numbers(table, "Si")
    assert numbers["anchor_total"] == "3" and numbers["anchor_cecv"] == "2"
    assert numbers["anchor_top"] == "that of a (1 compound)"  # first of a tie
    none = chapter.anchor_numbers(chapter.anchor_table(_samples(), "Au"), "Au")
    assert none["anchor_total"] == "0" and none["anchor_top"].startswith("none")


def test_overview_numbers() -> None:
    numbers = chapter.overview_numbers(_sizes(), _samples())
    assert numbers["n_extended"] == "2" and numbers["n_matbench"] == "1"
    assert numbers["smallest_set"] == "tiny (100 rows)"
    assert numbers["largest_set"] == "big (10,000 rows)"
    assert numbers["size_ratio"] == "100"
    assert numbers["share_binary_ternary"] == "60%"  # SiO2, FeSiO3, GeO2
    assert numbers["share_three_plus"] == "40%"
    assert numbers["most_binary_set"] == "a (67% of its sample)"
    assert numbers["max_elements"] == "4"
