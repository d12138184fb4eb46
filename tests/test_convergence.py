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


def test_learning_curve_claims_set_aside_sizes_below_min_r2():

    from matfusion.analysis.convergence import learning_curve_claims

    # the small-data "wins" of a near-constant predictor must not count
    curve = _curve(
        [
            (100, 0.150, 0.151, 0.169),
            (300, 0.146, 0.145, 0.163),
            (1000, 0.134, 0.140, 0.135),
            (3000, 0.109, 0.110, 0.127),
            (10000, 0.105, 0.090, 0.102),
        ]
    )
    r2 = _curve(
        [
            (100, -0.05, -0.03, 0.33),
            (300, -0.03, -0.03, 0.34),
            (1000, 0.16, 0.06, 0.54),
            (3000, 0.46, 0.49, 0.60),
            (10000, 0.46, 0.66, 0.72),
        ]
    )
    out = learning_curve_claims(curve, r2=r2, min_r2=0.1)
    aside = "set aside (R² < 0.1)"
    assert out[aside].tolist() == ["1,000", "100, 300", "100, 300, 1,000"]
    assert out["holds at"].tolist()[:2] == ["1 of 2 sizes", "2 of 3 sizes"]
    assert "over 2 sizes" in out.loc[2, "holds at"]
    assert out["verdict"].tolist() == ["mixed", "mixed", "not supported"]
    # default: every size counts, and no extra column (backward compatible)
    assert aside not in learning_curve_claims(curve).columns
    # nothing left to compare: not testable rather than "no runs"
    low = r2.copy()
    low[:] = 0.0
    out = learning_curve_claims(curve, r2=low, min_r2=0.1)
    assert out["verdict"].str.startswith("not testable here").all()
    with pytest.raises(ValueError, match="both"):
        learning_curve_claims(curve, r2=r2)
    # a guard every run passes changes nothing
    loose = learning_curve_claims(curve, r2=r2, min_r2=-1.0)
    assert loose["holds at"].tolist() == learning_curve_claims(curve)["holds at"].tolist()


def test_loglog_slopes_use_the_sizes_every_model_has():
    import numpy as np

    from matfusion.analysis.convergence import learning_curve_claims, loglog_slopes

    # MAE = 10 * n^-0.5 for ours, 10 * n^-0.25 for CrabNet; the RF lacks the largest size
    sizes = [100, 1000, 10000]
    curve = _curve([(n, 10 * n**-0.5, 10 * n**-0.25, np.nan if n == 10000 else 1.0) for n in sizes])
    both = loglog_slopes(curve, ["L-G-DCNN", "CrabNet"])
    assert both["L-G-DCNN"] == pytest.approx(-0.5)
    assert both["CrabNet"] == pytest.approx(-0.25)
    assert both.attrs["sizes"] == sizes
    every = loglog_slopes(curve)  # all three: only the two sizes the RF has
    assert every.attrs["sizes"] == [100, 1000]
    assert every["RF-Magpie"] == pytest.approx(0.0)
    # the claim's slopes are the same function's, over the pair's sizes
    held = learning_curve_claims(curve).loc[2, "holds at"]
    assert held == "slopes -0.500 vs -0.250 over 3 sizes"
    one = loglog_slopes(curve.loc[[100]])
    assert one.isna().all() and one.attrs["sizes"] == [100]


def test_optimiser_steps_from_our_settings_and_from_crabnet_batch_size():
    from matfusion.analysis.convergence import optimiser_steps

    ours = {
        "epochs_run": 27,
        "best_epoch": 12,
        "train_settings": {"batch_size": 256, "steps_per_epoch": 1, "n_train": 100},
    }
    assert optimiser_steps(ours) == {
        "batch_size": 256,
        "steps_per_epoch": 1,
        "epochs_run": 27,
        "steps": 27,
        "best_epoch": 12,
    }
    crab = {"epochs_run": 30, "sizes": {"train": 300}, "train_settings": {"batch_size": 128}}
    assert optimiser_steps(crab)["steps_per_epoch"] == 3  # the last partial batch counts
    assert optimiser_steps(crab)["steps"] == 90
    forest = {"epochs_run": 0, "train_settings": {"n_estimators": 300}}
    assert optimiser_steps(forest) is None


def test_constant_predictor_is_the_training_median():
    from matfusion.analysis.convergence import constant_predictor

    # mostly zeros, as OQMD band gaps: the median is 0 and its MAE is the mean target
    out = constant_predictor([0, 0, 0, 1.0, 3.0], [0, 0, 2.0, 0])
    assert out["constant"] == 0.0
    assert out["test_mae"] == pytest.approx(0.5)
    assert out["test_r2"] < 0
    assert out["test_share_at_constant"] == 0.75
    assert constant_predictor([1.0, 3.0], [1.0, 3.0], statistic="mean")["test_mae"] == 1.0
    with pytest.raises(ValueError):
        constant_predictor([1.0], [1.0], statistic="mode")


def test_constant_baseline_rebuilds_the_records_rows(monkeypatch, tmp_path):
    import numpy as np
    import pandas as pd

    import matfusion.data
    from matfusion.analysis.convergence import constant_baseline
    from matfusion.experiments import subsample

    frames = {
        "train": pd.DataFrame(
            {
                "formula": [f"X{i}" for i in range(50)],
                "target": np.r_[np.zeros(40), np.arange(1, 11.0)],
            }
        ),
        "test": pd.DataFrame(
            {
                "formula": [f"Y{i}" for i in range(30)],
                "target": np.r_[np.zeros(25), np.full(5, 2.0)],
            }
        ),
    }
    loads = []

    def fake_load_split(dataset, split, fold=None, **_kw):
        loads.append(split)
        return frames[split]

    monkeypatch.setattr(matfusion.data, "load_split", fake_load_split)
    test_rows = subsample(frames["test"], 20, 0)
    stored = tmp_path / "pred.csv"
    test_rows.assign(prediction=0.0).to_csv(stored, index=False)

    def record(model, n, path=None):
        config = {"model": model, "dataset": "D", "fold": None, "seed": 0,
                  "max_train_rows": n, "max_eval_rows": 20}  # fmt: skip
        return {"config": config, "metrics": {"test_n": 20}, "test_predictions": path}

    recs = [record("A", 10, str(stored)), record("B", 10), record("A", 30)]
    out = constant_baseline(recs)
    assert out.index.tolist() == [10, 30]
    expected = float(
        np.mean(
            np.abs(test_rows["target"] - np.median(subsample(frames["train"], 10, 0)["target"]))
        )
    )
    assert out.loc[10, "test_mae"] == pytest.approx(expected)
    assert out.loc[10, "checked_rows"] == 1 and out.loc[30, "checked_rows"] == 0
    assert loads.count("train") == 1  # each split is read once
    bad = record("C", 10)
    bad["metrics"]["test_n"] = 19
    with pytest.raises(ValueError, match="test rows"):
        constant_baseline([bad])


def test_verdict_sentence_states_ratio_and_target():
    reference = {"history": _history([0.9, 0.6, 0.5], seconds=100.0)}
    fast = time_to_accuracy({"history": _history([0.6, 0.5], seconds=50.0)}, reference)
    text = fast.verdict(unit="eV")
    assert "0.33x" in text and "is met" in text and "0.5 eV" in text
    slow = time_to_accuracy({"history": _history([0.6, 0.5], seconds=100.0)}, reference)
    assert "0.67x" in slow.verdict() and "not met" in slow.verdict()
    never = time_to_accuracy({"history": _history([0.6, 0.55])}, reference)
    assert "never reaches" in never.verdict() and "not met" in never.verdict()


def test_ended_at_cap_counts_runs_still_improving_at_their_last_epochs():
    from matfusion.analysis.convergence import cap_share, ended_at_cap

    def run(cap, ran, best):
        return {"train_settings": {"epochs": cap}, "epochs_run": ran, "best_epoch": best}

    assert ended_at_cap(run(30, 30, 30)) and ended_at_cap(run(30, 30, 29))
    assert not ended_at_cap(run(30, 30, 20))  # plateaued long before the cap
    assert not ended_at_cap(run(300, 92, 80))  # stopped early on its plateau
    forest = {"train_settings": {"n_estimators": 300}, "epochs_run": 0, "best_epoch": None}
    assert ended_at_cap(forest) is None
    assert cap_share([run(30, 30, 30), run(300, 92, 80), forest]) == (1, 2)


def test_missing_runs_note_states_the_share_at_the_cap():
    from matfusion.notebook import missing_runs_note

    runs = [
        {"train_settings": {"epochs": 30}, "epochs_run": 30, "best_epoch": 30},
        {"train_settings": {"epochs": 30}, "epochs_run": 30, "best_epoch": 12},
    ]
    note = missing_runs_note([], "", 2, records=runs)
    assert note.startswith("**2 of 2 runs stored.** 1 of the 2 trained by epochs ended at")
    assert note.endswith("50%.")
