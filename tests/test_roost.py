"""The Roost peer (aviary-models 1.2.1): settings, a tiny fit, determinism, the store."""

from __future__ import annotations

import numpy as np
import pytest

# aviary-models is a pinned dependency: a missing install fails here rather than skipping.
from matfusion.baselines.roost import (
    DEFAULT_WIDTH,
    SMOKE_WIDTH,
    check_formulas,
    fit_predict,
    roost_settings,
)
from matfusion.data import load_split
from matfusion.profiles import get_profile

#: Narrower still than ``smoke``: these tests train in about a second.
TINY = {
    "elem_fea_len": 16,
    "elem_gate": [16],
    "elem_msg": [16],
    "cry_gate": [16],
    "cry_msg": [16],
    "trunk_hidden": [32],
    "out_hidden": [16, 8],
}


@pytest.fixture(scope="module")
def splits():
    train = load_split("matbench_steels", "train", fold=0).iloc[:64]
    val = load_split("matbench_steels", "val", fold=0)
    test = load_split("matbench_steels", "test", fold=0)
    return train, val, test


@pytest.fixture(scope="module")
def tiny_settings():
    return {**roost_settings(get_profile("smoke"), seed=0, epochs=2), **TINY}


@pytest.fixture(scope="module")
def result(splits, tiny_settings):
    return fit_predict(*splits, tiny_settings, progress=False)


def test_settings_follow_the_profile() -> None:
    standard = roost_settings(get_profile("standard"), seed=3)
    assert standard["peer"] == "Roost" and standard["seed"] == 3
    assert (standard["epochs"], standard["batch_size"]) == (30, 128)
    assert {k: standard[k] for k in DEFAULT_WIDTH} == DEFAULT_WIDTH
    assert standard["elem_embedding"] == "matscholar200" and standard["robust"]
    smoke = roost_settings(get_profile("smoke"), seed=0)
    assert smoke["epochs"] == 2 and smoke["elem_fea_len"] == SMOKE_WIDTH["elem_fea_len"]
    paper = roost_settings(get_profile("paper"), seed=0)
    assert paper["epochs"] == 100 and paper["epochs_requested"] is None
    assert roost_settings(get_profile("standard"), seed=0, epochs=5)["epochs"] == 5
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        roost_settings(get_profile("standard"), seed=0, epochs=0)


def test_fit_predicts_every_row_and_keeps_the_best_epoch(splits, result) -> None:
    for name, frame in zip(("train", "val", "test"), splits, strict=True):
        mean, std = result.predictions[name]
        assert mean.shape == (len(frame),) and np.isfinite(mean).all()
        assert std is not None and std.shape == mean.shape and np.all(std > 0)
    assert [h["epoch"] for h in result.history] == [1, 2]
    assert all({"epoch", "val_mae", "seconds"} <= set(h) for h in result.history)
    maes = [h["val_mae"] for h in result.history]
    assert result.best_epoch == result.history[int(np.argmin(maes))]["epoch"]
    # The restored weights are the best epoch's: its validation MAE is reproduced.
    val_mean = result.predictions["val"][0]
    val_mae = np.abs(val_mean - splits[1]["target"].to_numpy()).mean()
    assert val_mae == pytest.approx(min(maes), rel=1e-6)
    assert result.train_samples_per_s > 0 and result.n_parameters > 0
    assert result.settings["num_threads"] >= 1 and result.settings["n_train"] == 64


def test_same_seed_same_predictions(splits, tiny_settings, result) -> None:
    again = fit_predict(*splits, tiny_settings, progress=False)
    np.testing.assert_array_equal(again.predictions["test"][0], result.predictions["test"][0])


def test_unknown_element_is_an_error_naming_the_formula(splits, tiny_settings) -> None:
    with pytest.raises(ValueError, match="Qq2O"):
        check_formulas(["NaCl", "Qq2O"])
    with pytest.raises(ValueError, match="RfO2"):  # Z = 104: beyond matscholar200 (H-Lr)
        check_formulas(["RfO2"])
    train, val, test = splits
    bad = test.copy()
    bad.iloc[3, bad.columns.get_loc("formula")] = "Qq2O"
    with pytest.raises(ValueError, match="Qq2O"):
        fit_predict(train, val, bad, tiny_settings, progress=False)


def test_run_training_stores_a_roost_record(tmp_path, monkeypatch) -> None:
    from matfusion.experiments import run_training

    monkeypatch.setenv("MATFUSION_RESULTS", str(tmp_path / "results"))
    kwargs = {"profile": "smoke", "fold": 0, "epochs": 1, "progress": False}
    record = run_training("Roost", "matbench_steels", **kwargs)
    assert not record["cache_hit"]
    assert record["config"]["model"] == "Roost" and record["checkpoint"] is None
    assert record["config"]["embedding"] == "matscholar200"
    assert record["config"]["train"]["epochs"] == 1 and record["best_epoch"] == 1
    assert np.isfinite(record["metrics"]["test_mae"])
    again = run_training("Roost", "matbench_steels", **kwargs)
    assert again["cache_hit"] and again["metrics"] == record["metrics"]
