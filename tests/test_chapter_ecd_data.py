"""Chapter 10 (paper B's data): the numbers its prose glues in, the LOEO sets beside the
paper's, and its exercises."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd

from matfusion.chapters import ecd_data as chapter

matplotlib.use("Agg")


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "formula": ["A", "B", "C", "D", "E"],
            "bulk_modulus": [10.0, 300.0, 50.0, 5.0, 120.0],
            "elements": ["Na Cl", "Na F", "K Cl", "Cs", "Na O"],
        }
    )


def test_subsample_is_seeded_ordered_and_leaves_small_sets_alone():
    frame = pd.DataFrame({"x": range(10)})
    assert chapter.subsample(frame, None, 0) is frame
    assert chapter.subsample(frame, 20, 0) is frame
    a, b = chapter.subsample(frame, 4, 1), chapter.subsample(frame, 4, 1)
    assert len(a) == 4 and a["x"].tolist() == b["x"].tolist()
    assert a["x"].is_monotonic_increasing and list(a.index) == [0, 1, 2, 3]


def test_dataset_numbers_mention_the_subsample_only_when_there_is_one():
    full = pd.DataFrame({"x": range(1234)})
    same = chapter.dataset_numbers(full, full, "standard")
    assert same == {"ecd_n_full": "1,234", "ecd_n_page": "1,234", "ecd_subsample": ""}
    part = chapter.dataset_numbers(full, full.head(40), "smoke")
    assert part["ecd_n_page"] == "40" and "smoke profile" in part["ecd_subsample"]
    assert "`" not in part["ecd_subsample"]  # glued as plain text


def test_paper_size_note_names_the_odd_rows_and_what_would_fit():
    odd = pd.DataFrame({"element": ["Li"], "train_size": [2148], "test_size": [222]})
    odd["sum"] = odd["train_size"] + odd["test_size"]
    note = chapter.paper_size_note(odd, 2170)
    assert note["ecd_paper_total"] == "2,170"
    assert note["ecd_paper_odd_rows"] == (
        "Li (2,148 + 222 = 2,370; a train size of 1,948 would fit)"
    )
    assert chapter.paper_size_note(odd.iloc[:0], 2170)["ecd_paper_odd_rows"] == "none"


def test_loeo_beside_paper_adds_the_paper_sizes_where_it_has_them():
    paper = pd.DataFrame(
        {"element": ["Na", "Na", "Cl"], "test_size": [300, 300, 250], "train_size": [1870] * 3}
    )
    table = chapter.loeo_beside_paper(_frame(), 2, paper)
    assert table.loc["Na", "test_size"] == 3 and table.loc["Na", "paper test size"] == 300
    assert table.loc["Cl", "paper test size"] == 250
    assert "O" not in table.index  # one material, below the threshold, not a paper element
    assert "O" in chapter.loeo_beside_paper(_frame(), 1, paper).index


def test_extreme_picks_orders_stiffest_then_softest():
    picks = chapter.extreme_picks(_frame(), 2)
    assert picks["formula"].tolist() == ["B", "E", "D", "A"]


def _moved() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "moved_between_atoms_fraction": [0.01, 0.02, 0.03, 0.04],
            "moved_fraction": [0.2, 0.3, 0.4, 0.5],
            "electronegativity_spread": [0.5, 1.5, 2.5, 3.0],
            "atoms": [1, 2, 2, 2],
            "seconds_gpaw": [1.0, 2.0, 4.0, 6.0],
        }
    )


def test_moved_numbers_and_their_placeholder():
    numbers = chapter.moved_numbers(_moved())
    assert numbers["ecd_moved_n"] == "4" and numbers["ecd_moved_median"] == "2.50 %"
    assert numbers["ecd_moved_all"] == "35.00 %" and numbers["ecd_moved_spearman"] == "+1.00"
    assert numbers["ecd_moved_p10"] == "1.30 %"
    empty = chapter.moved_numbers(None)
    assert set(empty) == set(numbers) and set(empty.values()) == {chapter.NOT_STORED}


def test_ionicity_split_counts_and_medians_each_side():
    split = chapter.ionicity_split(_moved(), 2.0)
    assert (split["ecd_ionic_n"], split["ecd_covalent_n"]) == ("2", "2")
    assert (split["ecd_ionic_median"], split["ecd_covalent_median"]) == ("3.50 %", "1.50 %")
    assert chapter.ionicity_split(_moved(), 5.0)["ecd_ionic_median"] == "no material"
    missing = chapter.ionicity_split(None, 2.0)
    assert missing["ecd_ionic_threshold"] == "2" and missing["ecd_ionic_n"] == chapter.NOT_STORED
    assert chapter._more_ionic_moves_more(_moved(), 2.0)
    assert not chapter._more_ionic_moves_more(_moved(), 5.0)


def test_gpaw_timing_by_atoms_and_empty_without_timings():
    timing = chapter.gpaw_timing(_moved())
    assert timing.loc[2, "materials"] == 3 and timing.loc[2, "median s"] == 4.0
    assert timing.loc[2, "max s"] == 6.0
    assert chapter.gpaw_timing(None).empty
    assert chapter.gpaw_timing(_moved().drop(columns="seconds_gpaw")).empty


def test_plots_draw_one_panel_per_material():
    slices = [{"formula": f, "K": 1.0, "rho": np.random.default_rng(0).random((4, 4, 4))}
              for f in ("A", "B")]  # fmt: skip
    fig = chapter.plot_density_slices(slices, 4)
    assert len([ax for ax in fig.axes if ax.get_title()]) == 2
    fig = chapter.plot_moved(_moved(), 4)
    assert "4 materials" in fig._suptitle.get_text()
