"""Claim checks on hand-made MAE tables with known outcomes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from matfusion.analysis import REFERENCE_MODEL_CLAIMS, OrderingClaim, check_claims


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
