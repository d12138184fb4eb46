"""Peers (CrabNet, RF on Magpie features, Roost): features, fits, and the run_training dispatch."""

from __future__ import annotations

import json

import numpy as np
import pytest

from matfusion.baselines import PEERS, get_peer, is_peer
from matfusion.baselines.crabnet import crabnet_settings
from matfusion.baselines.rf_magpie import (
    MAGPIE_N_FEATURES,
    fit_predict,
    magpie_features,
    magpie_labels,
    rf_settings,
)
from matfusion.cli import main
from matfusion.data import load_split
from matfusion.experiments import run_training, stored_training, trained_model
from matfusion.grid import grid_cells
from matfusion.profiles import get_profile


@pytest.fixture()
def store_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MATFUSION_RESULTS", str(tmp_path / "results"))
    return tmp_path / "results"


def test_registry_names_and_unknown_peer() -> None:
    assert list(PEERS) == ["CrabNet", "RF-Magpie", "Roost"]
    assert is_peer("CrabNet") and not is_peer("L-G-DCNN")
    with pytest.raises(
        KeyError, match=r"^unknown peer 'Crabnet'; did you mean 'CrabNet'\? \(valid"
    ):
        get_peer("Crabnet")


def test_magpie_features_of_known_formulas() -> None:
    x = magpie_features(["NaCl", "Fe2O3", "NaCl"], progress=False)
    labels = magpie_labels()
    assert x.shape == (3, MAGPIE_N_FEATURES) == (3, len(labels))
    assert np.isfinite(x).all()
    np.testing.assert_array_equal(x[0], x[2])  # one formula, one row of features
    number = labels.index("MagpieData mean Number")
    assert x[0, number] == pytest.approx((11 + 17) / 2)  # Na 11, Cl 17, half each
    assert x[1, number] == pytest.approx(0.4 * 26 + 0.6 * 8)  # Fe2O3
    # Second call is answered from the on-disk cache with the same numbers.
    np.testing.assert_array_equal(magpie_features(["Fe2O3"], progress=False)[0], x[1])


def test_magpie_features_reject_unknown_element() -> None:
    with pytest.raises(ValueError, match="Qq2O"):
        magpie_features(["NaCl", "Qq2O"], progress=False, use_cache=False)


def test_random_forest_beats_the_mean_on_a_small_set() -> None:
    train = load_split("matbench_steels", "train", fold=0)
    val = load_split("matbench_steels", "val", fold=0)
    test = load_split("matbench_steels", "test", fold=0)
    settings = {**rf_settings(get_profile("smoke"), seed=0), "n_estimators": 30}
    result = fit_predict(train, val, test, settings, progress=False)
    mean, std = result.predictions["test"]
    y = test["target"].to_numpy()
    assert len(mean) == len(test) and np.all(std >= 0)
    baseline = np.abs(y - train["target"].mean()).mean()
    assert np.abs(y - mean).mean() < 0.8 * baseline
    again = fit_predict(train, val, test, settings, progress=False)
    np.testing.assert_array_equal(again.predictions["test"][0], mean)  # seeded


def test_crabnet_epochs_are_whole_lr_cycles() -> None:
    standard = crabnet_settings(get_profile("standard"), seed=0)
    assert (standard["epochs"], standard["epochs_step"]) == (30, 5)
    assert crabnet_settings(get_profile("paper"), seed=0)["epochs"] is None
    odd = crabnet_settings(get_profile("standard"), seed=0, epochs=25)
    assert odd["epochs"] == 24 and odd["epochs"] % (2 * odd["epochs_step"]) == 0
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        crabnet_settings(get_profile("standard"), seed=0, epochs=0)


@pytest.mark.slow  # importing crabnet (sklearn, matplotlib) and torch._dynamo: ~10 s on 2 cores
def test_crabnet_adapter_trains_on_a_tiny_set(tmp_path, monkeypatch) -> None:
    pytest.importorskip("crabnet", reason="crabnet wheel not installed (bash scripts/setup.sh)")
    from matfusion.baselines.crabnet import fit_predict as crab_fit_predict

    monkeypatch.chdir(tmp_path)
    train = load_split("matbench_steels", "train", fold=0).iloc[:96]
    val = load_split("matbench_steels", "val", fold=0)
    test = load_split("matbench_steels", "test", fold=0)
    settings = {**crabnet_settings(get_profile("smoke"), seed=0, epochs=1), "d_model": 32}
    settings["dim_feedforward"] = 64
    result = crab_fit_predict(train, val, test, settings, progress=False)
    mean, std = result.predictions["test"]
    assert mean.shape == (len(test),) and np.isfinite(mean).all()
    assert np.all(std > 0)
    assert [h["epoch"] for h in result.history] == [0, 1]  # CrabNet's least: one 2-epoch cycle
    assert result.settings["batch_size"] == 128 and result.train_samples_per_s > 0
    assert list(tmp_path.iterdir()) == []  # CrabNet's loss-curve files stayed in a temp dir
    # A second fit in the same process works (torch hook patch) and the seed reproduces it.
    again = crab_fit_predict(train, val, test, settings, progress=False)
    np.testing.assert_allclose(again.predictions["test"][0], mean, rtol=1e-5)


def test_run_training_dispatches_a_peer_and_caches(store_dir) -> None:
    assert stored_training("RF-Magpie", "matbench_steels", fold=0, profile="smoke") is None
    record = run_training("RF-Magpie", "matbench_steels", fold=0, profile="smoke", progress=False)
    assert not record["cache_hit"]
    files = list(store_dir.glob("train/smoke/*.json"))
    assert len(files) == 1
    stored = json.loads(files[0].read_text())
    assert stored["config"]["model"] == "RF-Magpie" and stored["config"]["embedding"] == "magpie"
    assert stored["config"]["train"]["n_estimators"] == 50
    assert {"test_mae", "test_rmse", "test_r2", "val_mae", "train_mae"} <= set(stored["metrics"])
    assert stored["sizes"]["test"] == len(load_split("matbench_steels", "test", fold=0))
    assert stored["data_sha256"]["train"] and stored["provenance"]["packages"]["torch"]
    assert stored["wall_time_s"] > 0 and stored["checkpoint"] is None
    again = run_training("RF-Magpie", "matbench_steels", fold=0, profile="smoke", progress=False)
    assert again["cache_hit"] and again["metrics"] == stored["metrics"]
    found = stored_training("RF-Magpie", "matbench_steels", fold=0, profile="smoke")
    assert found is not None and found["key"] == stored["key"]
    with pytest.raises(ValueError, match="peer model"):
        trained_model(found)


def test_grid_and_cli_know_the_peers(capsys) -> None:
    cells = grid_cells(["CrabNet", "RF-Magpie"], ["matbench_steels"], folds=[0, 1])
    assert [(c.model, c.fold) for c in cells] == [
        ("CrabNet", 0),
        ("CrabNet", 1),
        ("RF-Magpie", 0),
        ("RF-Magpie", 1),
    ]
    # --models takes our models and the peers: the suggestion and the list cover both
    with pytest.raises(KeyError, match=r"unknown model 'CrabNett'; did you mean 'CrabNet'\?"):
        grid_cells(["CrabNett"], ["matbench_steels"])
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "CrabNet" in out and "RF-Magpie" in out and "peer" in out
    assert "Roost" in out and "aviary-models 1.2.1" in out


def test_peer_config_has_the_model_config_fields() -> None:
    from matfusion.experiments import run_config

    standard = get_profile("standard")
    ours = run_config("L-G-DCNN", "matbench_steels", profile=standard, fold=0)
    crab = run_config("CrabNet", "matbench_steels", profile=standard, fold=0)
    forest = run_config("RF-Magpie", "matbench_steels", profile=standard, fold=0)
    roost = run_config("Roost", "matbench_steels", profile=standard, fold=0)
    # ours add the conventions of paper A's open choices; a peer runs its own code
    assert set(ours) - {"conventions"} == set(crab) == set(forest) == set(roost)
    assert ours["conventions"]["name"] == standard.conventions
    assert roost["embedding"] == "matscholar200" and roost["train"]["epochs"] == 30
    assert crab["train"]["epochs"] == 30 and crab["embedding"] == "mat2vec"
    assert forest["train"]["n_estimators"] == 300 and forest["d_model"] is None
    other_seed = run_config("RF-Magpie", "matbench_steels", profile=standard, fold=0, seed=3)
    assert other_seed["train"]["seed"] == 3  # the seed reaches the forest and keys the run
