"""Claim checks on hand-made MAE tables with known outcomes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matfusion.analysis import (
    ABLATION_CLAIMS,
    REFERENCE_MODEL_CLAIMS,
    OrderingClaim,
    check_claims,
)
from matfusion.paper import reported_ablation


def test_pairwise_claim_counts_and_verdicts() -> None:
    mae = pd.DataFrame({"LSTM": [1.0, 2.0, 3.0], "RNN": [2.0, 1.0, 4.0]}, index=["a", "b", "c"])
    table = check_claims(mae, [OrderingClaim("LSTM beats RNN", "LSTM", ("RNN",))])
    row = table.iloc[0]
    assert (row["holds on"], row["datasets"], row["verdict here"]) == (2, 3, "mixed")
    assert row["where it fails"] == "b"


def test_best_among_and_missing_models_are_skipped() -> None:
    mae = pd.DataFrame(
        {"LDCNN": [1.0, 1.0], "LDPCNN": [2.0, 0.5], "LCNN": [3.0, 3.0]}, index=["x", "y"]
    )
    table = check_claims(mae, REFERENCE_MODEL_CLAIMS).set_index("claim (paper A)")
    # Only the best-among claim has all its models in the table.
    assert list(table.index) == ["LDCNN is the best heuristic fusion"]
    assert table.iloc[0]["holds on"] == 1 and table.iloc[0]["where it fails"] == "y"


def test_ties_do_not_count_as_wins_and_nan_rows_are_dropped() -> None:
    mae = pd.DataFrame({"DCNN": [1.0, np.nan], "DCNN-K1": [1.0, 2.0]}, index=["t", "n"])
    table = check_claims(mae, [OrderingClaim("DCNN beats DCNN-K1", "DCNN", ("DCNN-K1",))])
    row = table.iloc[0]
    assert (row["holds on"], row["datasets"], row["verdict here"]) == (0, 1, "not supported")


def test_claims_about_some_datasets_check_only_those_rows() -> None:
    mae = pd.DataFrame({"A": [1.0, 3.0, 1.0], "B": [2.0, 2.0, 2.0]}, index=["x", "y", "z"])
    claim = OrderingClaim("A beats B on y and z", "A", ("B",), datasets=("y", "z", "absent"))
    row = check_claims(mae, [claim]).iloc[0]
    assert (row["holds on"], row["datasets"], row["where it fails"]) == (1, 2, "y")
    # No row with both MAEs: not checked, never "not supported".
    mae.loc[["y", "z"], "B"] = np.nan
    row = check_claims(mae, [claim]).iloc[0]
    assert row["datasets"] == 0 and row["verdict here"].startswith("not checked")


def test_the_papers_table_2_supports_its_own_ablation_text() -> None:
    # Our encoding of the paper's sentences must agree with the paper's own numbers; a claim
    # written the wrong way round, or on the wrong rows, fails here.
    table = check_claims(reported_ablation(), ABLATION_CLAIMS)
    assert len(table) == len(ABLATION_CLAIMS)
    assert (table["verdict here"] == "supported").all()
    assert table["datasets"].tolist() == [1, 3, 4, 4, 4, 1, 3, 4]
    # Flipping one number breaks exactly the claims that use it.
    broken = reported_ablation()
    broken.loc["OQMD_Formation_Enthalpy", "Model-5"] = 0.05
    verdicts = check_claims(broken, ABLATION_CLAIMS).set_index("claim (paper A)")["verdict here"]
    assert verdicts["self-attention (Model 5) improves OQMD formation enthalpy"] == "not supported"
    assert (verdicts == "supported").sum() == len(ABLATION_CLAIMS) - 1


def test_runs_below_min_r2_make_a_claim_not_testable() -> None:
    claim = OrderingClaim("LSTM beats RNN", "LSTM", ("RNN",))
    mae = pd.DataFrame({"LSTM": [1.0, 1.0, 1.0], "RNN": [2.0, 2.0, 0.5]}, index=["a", "b", "c"])
    r2 = pd.DataFrame({"LSTM": [0.05, 0.5, 0.6], "RNN": [0.05, 0.02, 0.7]}, index=mae.index)
    # Default: unchanged behaviour, no extra column, every dataset counts.
    default = check_claims(mae, [claim])
    assert list(default.columns) == [
        "claim (paper A)",
        "holds on",
        "datasets",
        "verdict here",
        "where it fails",
    ]
    assert (default.iloc[0]["holds on"], default.iloc[0]["datasets"]) == (2, 3)
    # One weak model on a dataset is enough to set that dataset aside.
    row = check_claims(mae, [claim], r2=r2, min_r2=0.1).iloc[0]
    assert (row["holds on"], row["datasets"], row["verdict here"]) == (0, 1, "not supported")
    assert row["not testable (R² < 0.1)"] == "a, b"
    # Every dataset weak: neither supported nor not supported.
    row = check_claims(mae.loc[["a", "b"]], [claim], r2=r2, min_r2=0.1).iloc[0]
    assert (row["holds on"], row["datasets"]) == (0, 0)
    assert row["verdict here"] == "not testable here (R² < 0.1)"
    # All strong: the same verdict as without the R² filter.
    row = check_claims(mae, [claim], r2=r2, min_r2=0.0).iloc[0]
    assert row["verdict here"] == "mixed" and row["not testable (R² < 0)"] == "-"


def test_min_r2_filter_uses_only_the_claims_models_and_datasets() -> None:
    best = OrderingClaim("A is best", "A", best_among=("A", "B"), datasets=("x",))
    mae = pd.DataFrame({"A": [1.0, 1.0], "B": [2.0, 2.0], "C": [9.0, 9.0]}, index=["x", "y"])
    # C is weak everywhere and y is weak for A, but the claim compares A and B on x only.
    r2 = pd.DataFrame({"A": [0.5, 0.0], "B": [0.5, 0.5], "C": [0.0, 0.0]}, index=mae.index)
    row = check_claims(mae, [best], r2=r2, min_r2=0.1).iloc[0]
    assert (row["holds on"], row["datasets"], row["verdict here"]) == (1, 1, "supported")
    assert row["not testable (R² < 0.1)"] == "-"


def test_r2_and_min_r2_come_together() -> None:
    mae = pd.DataFrame({"A": [1.0], "B": [2.0]}, index=["x"])
    with pytest.raises(ValueError, match="both"):
        check_claims(mae, [OrderingClaim("A beats B", "A", ("B",))], r2=mae)


def test_a_difference_within_tie_rtol_is_a_tie_not_a_win() -> None:
    claim = OrderingClaim("A beats B", "A", ("B",))
    # x: A lower by 0.1 % (tie at 1 %); y: A lower by 5 %; z: B lower by 5 %; w: equal.
    mae = pd.DataFrame(
        {"A": [0.1577, 0.95, 1.05, 1.0], "B": [0.1579, 1.0, 1.0, 1.0]}, index=["x", "y", "z", "w"]
    )
    # Default: strict "<", so the 0.1 % difference on x counts as a win; no extra column.
    default = check_claims(mae, [claim]).iloc[0]
    assert default["holds on"] == 2 and "tied on (within 1%)" not in default.index
    row = check_claims(mae, [claim], tie_rtol=0.01).iloc[0]
    assert (row["holds on"], row["datasets"], row["verdict here"]) == (1, 4, "mixed")
    assert row["tied on (within 1%)"] == "x, w"
    assert row["where it fails"] == "z"
    # Only ties: not supported, and said to be ties.
    row = check_claims(mae.loc[["x", "w"]], [claim], tie_rtol=0.01).iloc[0]
    assert row["verdict here"] == "not supported (ties only)"
    assert claim.outcome(mae, tie_rtol=0.01).tolist() == ["tie", "holds", "fails", "tie"]
    with pytest.raises(ValueError, match="tie_rtol"):
        claim.outcome(mae, tie_rtol=-0.1)


def test_best_among_with_a_tied_rival_does_not_hold() -> None:
    claim = OrderingClaim("A is best", "A", best_among=("A", "B", "C"))
    mae = pd.DataFrame({"A": [1.0, 1.0], "B": [1.005, 1.2], "C": [2.0, 2.0]}, index=["t", "w"])
    assert claim.outcome(mae, tie_rtol=0.01).tolist() == ["tie", "holds"]
    assert claim.holds(mae).tolist() == [True, True]  # strict ordering: 1.0 < 1.005


def test_tie_column_comes_before_the_r2_column() -> None:
    mae = pd.DataFrame({"A": [1.0], "B": [2.0]}, index=["x"])
    table = check_claims(
        mae, [OrderingClaim("A beats B", "A", ("B",))], r2=mae, min_r2=0.1, tie_rtol=0.01
    )
    assert list(table.columns[-2:]) == ["tied on (within 1%)", "not testable (R² < 0.1)"]
