"""Chapter 02's tables and prose numbers on small synthetic inputs, and its exercises."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matfusion.chapters import reference_models as chapter
from matfusion.profiles import get_profile


def _table() -> pd.DataFrame:
    rows = [
        ("d1", "RNN", 1.0, 0.5),
        ("d1", "LSTM", 0.8, 0.6),
        ("d1", "GRU", 0.9, 0.05),
        ("d2", "RNN", 2.0, 0.3),
        ("d2", "LSTM", 2.1, 0.4),
        ("d2", "GRU", 1.5, 0.5),
    ]
    frame = pd.DataFrame(rows, columns=["dataset", "model", "test_mae", "test_r2"])
    return frame.assign(n_train=[100, 100, 100, 300, 300, 300])


def test_metric_matrix_reindexes_models_and_handles_no_runs() -> None:
    mae = chapter.metric_matrix(_table(), ["GRU", "RNN", "DCNN"], "test_mae")
    assert list(mae.columns) == ["GRU", "RNN", "DCNN"]
    assert mae.loc["d2", "GRU"] == 1.5 and np.isnan(mae.loc["d1", "DCNN"])
    empty = chapter.metric_matrix(chapter.run_table([]), ["LSTM"], "test_mae")
    assert empty.empty and list(empty.columns) == ["LSTM"]
    assert chapter.plot_mae_heatmap(empty, "t") is None
    assert chapter.plot_learning_curves([], ["d1"]) is None


def test_weak_runs_and_claims_numbers() -> None:
    r2 = chapter.metric_matrix(_table(), ["RNN", "LSTM", "GRU"], "test_r2")
    assert chapter.weak_runs(r2, 0.1) == [("d1", "GRU")]
    assert chapter.weak_runs(r2, 0.45) == [("d1", "GRU"), ("d2", "RNN"), ("d2", "LSTM")]
    assert chapter.weak_runs(r2, None) == []
    numbers = chapter.claims_numbers(r2, 0.1, get_profile("standard"))
    assert numbers["ref_weak"] == "1 of 6" and numbers["ref_weak_runs"] == "GRU on d1"
    assert numbers["ref_min_r2"] == "0.1"
    assert numbers["ref_scale"] == (
        "These are 6 runs of the standard profile on 2 dataset(s), one seed each."
    )
    off = chapter.claims_numbers(r2, None, get_profile("smoke"))
    assert off["ref_weak_runs"] == "none" and off["ref_min_r2"].startswith("not set")
    assert "smoke-sized" in off["ref_scale"]
    empty = chapter.metric_matrix(chapter.run_table([]), ["LSTM"], "test_r2")
    assert chapter.claims_numbers(empty, 0.1, get_profile("standard"))["ref_weak"] == "0 of 0"


def test_reference_claims_set_weak_runs_aside_and_count_ties() -> None:
    models = ["RNN", "LSTM", "GRU"]
    claims = chapter.reference_claims(_table(), models, 0.1).set_index("claim (paper A)")
    # LSTM beats RNN on d1 (0.8 < 1.0), not on d2 (2.1 > 2.0)
    assert claims.loc["LSTM beats RNN", ["holds on", "datasets"]].tolist() == [1, 2]
    # GRU's run on d1 is weak: only d2 counts, where GRU beats RNN
    assert claims.loc["GRU beats RNN", ["holds on", "datasets"]].tolist() == [1, 1]
    everything = chapter.reference_claims(_table(), models, None).set_index("claim (paper A)")
    assert everything.loc["GRU beats RNN", ["holds on", "datasets"]].tolist() == [2, 2]
    tied = chapter.reference_claims(_table(), models, 0.1, tie_rtol=0.1)
    tied = tied.set_index("claim (paper A)")
    assert tied.loc["LSTM beats RNN", "tied on (within 10%)"] == "d2"


def test_band_gap_comparison_with_and_without_a_run() -> None:
    quoted = pd.Series({"LSTM": 0.1, "DCNN": 0.05})
    table = pd.DataFrame(
        {
            "dataset": ["OQMD_Bandgap", "OQMD_Bandgap"],
            "model": ["LSTM", "DCNN"],
            "test_mae": [0.2, 0.04],
            "n_train": [3000, 3000],
        }  # fmt: skip
    )
    mae = chapter.metric_matrix(table, ["LSTM", "DCNN"], "test_mae")
    comparison, rows = chapter.band_gap_comparison(mae, table, "standard", quoted)
    assert rows == "3,000"
    assert comparison.loc["LSTM", "difference %"] == pytest.approx(100.0)
    assert comparison.loc["DCNN", "difference"] == pytest.approx(-0.01)
    only_paper, rows = chapter.band_gap_comparison(mae.iloc[0:0], table, "standard", quoted)
    assert list(only_paper.columns) == ["paper"] and rows.startswith("none stored")
