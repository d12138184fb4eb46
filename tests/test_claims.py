"""Claim checks on hand-made MAE tables with known outcomes."""

from __future__ import annotations

import numpy as np
import pandas as pd

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
