"""Win counts, pairwise counts and comparison tables on hand-made frames with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matfusion.analysis.compare import (
    format_wins,
    ours_vs_reported,
    pairwise_counts,
    row_winners,
    weak_rows,
    win_counts,
)


def _mae() -> pd.DataFrame:
    # r1: A alone; r2: B and C exactly equal; r3: A and B within 0.5 %; r4: C missing.
    return pd.DataFrame(
        {
            "A": [1.0, 3.0, 1.000, 1.0],
            "B": [2.0, 2.0, 1.005, 2.0],
            "C": [3.0, 2.0, 2.000, np.nan],
        },
        index=["r1", "r2", "r3", "r4"],
    )


def test_exact_ties_are_shared_not_given_to_the_first_column() -> None:
    winners = row_winners(_mae())
    # idxmin would say "B" on r2; a tie is shared. r4 has a missing MAE: no winner.
    assert winners.to_dict() == {"r1": ("A",), "r2": ("B", "C"), "r3": ("A",)}
    counts = win_counts(_mae())
    assert counts.loc["A"].tolist() == [2, 0, 3]
    assert counts.loc["B"].tolist() == [0, 1, 3]
    assert counts.loc["C"].tolist() == [0, 1, 3]


def test_tie_rtol_turns_a_near_equal_row_into_a_shared_win() -> None:
    winners = row_winners(_mae(), tie_rtol=0.01)
    assert winners["r3"] == ("A", "B")
    counts = win_counts(_mae(), tie_rtol=0.01)
    assert counts.loc["A", "outright"] == 1 and counts.loc["A", "shared"] == 1
    assert counts.loc["B", "shared"] == 2
    assert format_wins(counts).to_dict() == {
        "A": "1 + 1 shared",
        "B": "0 + 2 shared",
        "C": "0 + 1 shared",
    }
    assert format_wins(win_counts(_mae())).loc["A"] == "2"
    with pytest.raises(ValueError, match="tie_rtol"):
        row_winners(_mae(), tie_rtol=-0.01)


def test_no_complete_row_gives_zero_counts() -> None:
    mae = pd.DataFrame({"A": [np.nan, 1.0], "B": [1.0, np.nan]}, index=["x", "y"])
    assert row_winners(mae).empty
    counts = win_counts(mae)
    assert counts.to_numpy().sum() == 0 and list(counts.index) == ["A", "B"]


def test_weak_rows_use_the_best_r2_and_ignore_nan() -> None:
    r2 = pd.DataFrame(
        {
            "A": [0.05, 0.05, np.nan, np.nan, -0.2],
            "B": [0.09, 0.50, 0.03, np.nan, np.nan],
        },
        index=["weak", "one good", "nan and weak", "no r2", "negative"],
    )
    # A row is weak only when its *best* model is below min_r2; no R² at all is not weak.
    assert weak_rows(r2, min_r2=0.1) == ["weak", "nan and weak", "negative"]
    assert weak_rows(r2, min_r2=0.0) == ["negative"]


def test_pairwise_counts_ties_and_same_rows_for_reported() -> None:
    mae = _mae()
    table = pairwise_counts(mae, pairs=[("A", "B"), ("B", "C")], tie_rtol=0.01)
    ab = table.loc["a = A vs b = B"]
    # A vs B on all four rows: A lower on r1 and r4, B lower on r2, tie on r3.
    assert (ab["rows"], ab["a better (ours)"], ab["b better (ours)"], ab["tie (ours)"]) == (
        4,
        2,
        1,
        1,
    )
    bc = table.loc["a = B vs b = C"]
    assert (bc["rows"], bc["a better (ours)"], bc["tie (ours)"]) == (3, 2, 1)  # r4: C missing
    # Strict: r3 counts for A.
    strict = pairwise_counts(mae, pairs=[("A", "B")]).iloc[0]
    assert strict["a better (ours)"] == 3 and strict["tie (ours)"] == 0
    # The reported counts run over the same rows, minus rows the reported table lacks.
    reported = pd.DataFrame(
        {"A": [2.0, 1.0, np.nan], "B": [1.0, 1.0, 1.0]}, index=["r1", "r2", "r3"]
    )
    both = pairwise_counts(mae, pairs=[("A", "B")], reported=reported).iloc[0]
    assert both["rows"] == 2  # r1, r2 (r3: reported A missing; r4 not reported)
    assert (both["a better (ours)"], both["b better (ours)"]) == (1, 1)
    assert (both["a better (paper)"], both["b better (paper)"], both["tie (paper)"]) == (0, 1, 1)
    assert both["median a/b (paper)"] == pytest.approx(1.5)
    # Default pairs: every pair of columns, in order.
    assert list(pairwise_counts(mae).index) == [
        "a = A vs b = B",
        "a = A vs b = C",
        "a = B vs b = C",
    ]


def test_ours_vs_reported_labels_differences_units_and_reported_only_columns() -> None:
    ours = pd.DataFrame({"A": [1.1, np.nan], "B": [2.0, 4.0]}, index=["x", "y"])
    reported = pd.DataFrame({"A": [1.0, 1.0], "B": [2.0, 5.0], "F": [0.5, 0.6]}, index=["x", "y"])
    table = ours_vs_reported(
        ours, reported, labels={"A": "paper"}, units=pd.Series({"x": "eV", "y": "GPa"})
    )
    assert list(table.columns) == [
        ("unit", ""),
        ("A", "ours"),
        ("A", "paper"),
        ("A", "difference"),
        ("A", "difference %"),
        ("B", "ours"),
        ("B", "reported"),
        ("B", "difference"),
        ("B", "difference %"),
        ("F", "reported"),
    ]
    assert table.loc["x", ("A", "difference %")] == pytest.approx(10.0)
    assert table.loc["y", ("B", "difference")] == pytest.approx(-1.0)
    assert np.isnan(table.loc["y", ("A", "difference %")])  # ours missing: no difference
    assert table.loc["y", ("unit", "")] == "GPa"
    # A model of ours the paper did not report: reported and difference are NaN, not an error.
    only_ours = ours_vs_reported(ours, reported[["B"]])
    assert only_ours[("A", "reported")].isna().all()


def test_models_below_the_r2_floor_are_named_with_their_r2():
    from matfusion.analysis.compare import models_below_floor

    r2 = pd.Series({"LSTM": -0.02, "DCNN-K1": -0.04, "L-G-DCNN": 0.71, "LDCNN": 0.1})
    weak = models_below_floor(r2, min_r2=0.1)
    assert weak.to_dict() == {"LSTM": -0.02, "DCNN-K1": -0.04}  # 0.1 itself passes
    assert models_below_floor(pd.Series(dtype=float), min_r2=0.1).empty
