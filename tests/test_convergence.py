"""Time to reach a peer's best validation MAE (chapter 09 and benchmarks/peer_throughput.py)."""

import pytest

from matfusion.analysis.convergence import time_to_accuracy, validation_curve


def _history(maes, seconds=10.0, swa=None):
    rows = []
    for i, mae in enumerate(maes):
        row = {"epoch": i + 1, "seconds": seconds, "val_mae": mae}
        if swa is not None:
            row["swa_val_mae"] = swa[i]
        rows.append(row)
    return rows


def test_curve_is_cumulative_and_takes_the_lower_of_swa_and_plain():
    curve = validation_curve(_history([0.5, 0.4, 0.45], seconds=2.0, swa=[None, 0.3, 0.6]))
    assert curve["seconds"].tolist() == [2.0, 4.0, 6.0]
    assert curve["val_mae"].tolist() == pytest.approx([0.5, 0.3, 0.45])


def test_reached_on_the_first_epoch_at_or_below_the_target():
    reference = {"history": _history([0.9, 0.6, 0.5, 0.55], seconds=30.0)}
    run = {"history": _history([0.8, 0.5, 0.4], seconds=10.0)}
    found = time_to_accuracy(run, reference)
    assert found.target_mae == 0.5
    assert found.reference_seconds == 90.0  # the reference's third epoch
    assert (found.seconds, found.epoch) == (20.0, 2)
    assert found.ratio == pytest.approx(20 / 90)
    assert "x0.22" in found.describe()


def test_final_weight_average_counts_only_after_all_training():
    # CrabNet swaps in its weight average after the last epoch: a lower final MAE becomes
    # the target, reached at the total training time, not at any epoch.
    reference = {
        "history": _history([0.9, 0.6], seconds=30.0),
        "metrics": {"val_mae": 0.45},
        "train_wall_time_s": 75.0,
    }
    run = {"history": _history([0.5, 0.46, 0.44], seconds=10.0)}
    found = time_to_accuracy(run, reference)
    assert found.target_mae == 0.45
    assert found.reference_seconds == 75.0
    assert found.epoch == 3


def test_never_reached():
    reference = {"history": _history([0.3])}
    found = time_to_accuracy({"history": _history([0.5, 0.4])}, reference)
    assert found.seconds is None and found.ratio is None
    assert found.best_mae == 0.4
    assert "never reaches" in found.describe()


def test_a_run_without_history_is_an_error():
    with pytest.raises(ValueError, match="no per-epoch history"):
        validation_curve([])


def _curve(rows):
    import pandas as pd

    return pd.DataFrame(rows, columns=["n", "L-G-DCNN", "CrabNet", "RF-Magpie"]).set_index("n")


def test_learning_curve_claims_read_the_three_sentences():
    from matfusion.analysis.convergence import learning_curve_claims

    # ours beats RF up to 3,000 rows but not at 10,000; CrabNet falls faster
    curve = _curve(
        [
            (100, 0.150, 0.151, 0.169),
            (300, 0.146, 0.145, 0.163),
            (1000, 0.134, 0.140, 0.135),
            (3000, 0.109, 0.110, 0.127),
            (10000, 0.105, 0.090, 0.102),
        ]
    )
    out = learning_curve_claims(curve)
    assert out["verdict"].tolist() == ["mixed", "mixed", "not supported"]
    held = out["holds at"].tolist()
    assert "2 of 3 sizes" in held[0]
    assert "4 of 5 sizes" in held[1] and "every size" not in held[1]
    assert "-0.087 vs -0.114" in held[2]
    # steeper than CrabNet, best everywhere from 10^3, beats RF from 300 on
    better = _curve([(100, 0.20, 0.19, 0.18), (300, 0.15, 0.17, 0.16), (1000, 0.10, 0.15, 0.14)])
    out = learning_curve_claims(better)
    assert out["verdict"].tolist() == ["supported", "supported", "supported"]
    assert "from 300" in out.loc[1, "holds at"]


def test_learning_curve_claims_without_peers():
    import numpy as np

    from matfusion.analysis.convergence import learning_curve_claims

    curve = _curve([(100, 0.2, np.nan, np.nan), (300, 0.1, np.nan, np.nan)])
    out = learning_curve_claims(curve)
    assert out.loc[0, "verdict"] == "no runs"  # no size of 10^3 or more
    assert out.loc[1, "verdict"] == "no runs" and out.loc[2, "verdict"] == "no runs"
