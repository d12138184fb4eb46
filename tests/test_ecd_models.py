"""The five paper-B models: registry, forward shapes at several grids, and that training learns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from matfusion.ecd.fitting import EcdInputs, fit_predict
from matfusion.ecd.models import (
    CNN3D,
    ECD_MODELS,
    CNN2DProjected,
    CNNMagpie,
    FusionNet,
    build_ecd_model,
    get_ecd_model,
)
from matfusion.ecd.settings import ecd_profile
from matfusion.ecd.tables import loeo_summary, loeo_win_counts
from matfusion.train.metrics import regression_metrics


def test_registry_names_the_papers_five_models() -> None:
    assert list(ECD_MODELS) == [
        "RF+Magpie",
        "CNN+Magpie",
        "3D-CNN+ECD",
        "2D-CNN+ECD",
        "Fusion(Magpie+ECD)",
    ]
    with pytest.raises(KeyError, match="2D-CNN"):
        get_ecd_model("2D-CNN")
    rf = build_ecd_model("RF+Magpie", grid=16)
    assert rf.n_estimators == 50


@pytest.mark.parametrize("grid", [16, 32, 60])
def test_density_models_accept_any_grid(grid: int) -> None:
    x = torch.rand(2, grid, grid, grid)
    assert CNN3D(grid)(x).shape == (2,)
    net = CNN2DProjected(grid, width=64)
    assert net(x).shape == (2,)
    assert net.penultimate(x).shape == (2, 32)


def test_paper_sizes_at_60_cubed() -> None:
    net = CNN2DProjected(60, width=4096)
    widths = [m.out_features for m in net.head if isinstance(m, torch.nn.Linear)]
    assert widths == [4096, 4096, 128, 128, 128, 32, 1]
    assert net.head[0].in_features == 384
    assert len([m for m in CNN3D(60).head if isinstance(m, torch.nn.Linear)]) == 7


def test_magpie_cnn_and_fusion_shapes_and_frozen_parts() -> None:
    m = CNNMagpie()
    assert m(torch.rand(3, 132)).shape == (3,)
    with pytest.raises(ValueError, match="144"):
        CNNMagpie(150)
    fusion = FusionNet(m, CNN2DProjected(16, width=32))
    out = fusion(torch.rand(3, 132), torch.rand(3, 16, 16, 16))
    assert out.shape == (3,)
    trainable = [n for n, p in fusion.named_parameters() if p.requires_grad]
    assert trainable and all(n.startswith("head.") for n in trainable)


def _toy_inputs(signal: str, n: int = 64, grid: int = 8) -> EcdInputs:
    """A learnable toy: the target is linear in a latent shared by the Magpie features, or
    in the density's scale (``signal``), so each kind of model can beat the mean prediction."""
    rng = np.random.default_rng(0)
    t = rng.normal(size=n)
    weights = rng.normal(size=132)
    magpie = (t[:, None] * weights + 0.3 * rng.normal(size=(n, 132))).astype(np.float32)
    scale = rng.uniform(0.5, 2.0, size=n)
    density = (rng.gamma(2.0, 1.0, size=(n, grid, grid, grid)) * scale[:, None, None, None]).astype(
        np.float32
    )
    y = 100 + (30 * t if signal == "magpie" else 40 * scale)
    frame = pd.DataFrame(
        {
            "mp_id": [f"t-{i}" for i in range(n)],
            "formula": "X",
            "bulk_modulus": y,
            "shear_modulus": y / 2,
        }
    )
    prof = ecd_profile(
        "smoke", grid=grid, epochs=30, patience=30, width=32, batch_size=16, val_fraction=0.2
    )
    return EcdInputs(frame, magpie, density, [], prof, "toy")


@pytest.mark.parametrize(("name", "signal"), [("CNN+Magpie", "magpie"), ("3D-CNN+ECD", "density")])
def test_training_beats_predicting_the_mean(name: str, signal: str, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MATFUSION_CACHE", str(tmp_path))
    torch.set_num_threads(1)
    inputs = _toy_inputs(signal)
    train, test = np.arange(48), np.arange(48, 64)
    pred, info = fit_predict(name, inputs, "bulk", train, test, seed=0)
    y = inputs.frame["bulk_modulus"].to_numpy()
    baseline = np.abs(y[test] - y[train].mean()).mean()
    assert regression_metrics(y[test], pred)["mae"] < 0.8 * baseline
    history = info["history"]
    assert history[-1]["train_mae_z"] < history[0]["train_mae_z"]


def test_metrics_and_loeo_win_counts() -> None:
    m = regression_metrics(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]))
    assert m["rmse"] == pytest.approx(np.sqrt(1 / 3)) and m["r2"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="non-finite"):
        regression_metrics(np.array([1.0, np.nan]), np.array([1.0, 2.0]))
    table = pd.DataFrame(
        {
            "element": ["Cl", "Cl", "Tl", "Tl", "Xe", "Xe"],
            "target": "bulk",
            "model": ["A", "B", "A", "B", "A", "B"],
            "R2": [0.5, 0.7, 0.9, 0.1, np.nan, np.nan],
            "RMSE": [3.0, 2.0, 1.0, 4.0, 5.0, 6.0],
        }
    )
    # R2: highest wins, a case without a finite R2 (one-material test set) is left out
    assert loeo_win_counts(table).to_dict() == {"A": 1, "B": 1}
    # RMSE: lowest wins, every case counts
    assert loeo_win_counts(table, "RMSE").to_dict() == {"A": 2, "B": 1}
    # a model that never wins is listed with 0
    assert loeo_win_counts(table[table["element"] == "Cl"]).to_dict() == {"A": 0, "B": 1}
    # per repeat: a case is a win only where every repeat has the same winner
    by_repeat = pd.DataFrame(
        {
            "element": ["Cl"] * 4 + ["Tl"] * 4,
            "target": "bulk",
            "model": ["A", "B"] * 4,
            "repeat": [0, 0, 1, 1] * 2,
            "R2": [0.5, 0.7, 0.4, 0.6, 0.9, 0.1, 0.2, 0.3],
        }
    )
    assert loeo_win_counts(by_repeat).to_dict() == {"A": 0, "B": 1}  # Tl: repeats disagree


def test_loeo_summary_means_with_the_spread_over_repeats() -> None:
    def record(repeat: int, r2: float) -> dict:
        config = {"element": "Cl", "target": "bulk", "model": "A", "repeat": repeat}
        return {"config": config, "sizes": {"train": 90, "test": 10},
                "metrics": {"r2": r2, "rmse": 2.0 + repeat}}  # fmt: skip

    table = loeo_summary([record(0, 0.5), record(1, 0.7)])
    row = table.iloc[0]
    assert row["R2"] == pytest.approx(0.6) and row["RMSE"] == pytest.approx(2.5)
    assert row["R2 sd"] == pytest.approx(np.std([0.5, 0.7], ddof=1))
    assert row["repeats"] == 2 and row["test_size"] == 10
    per_repeat = loeo_summary([record(0, 0.5), record(1, 0.7)], per_repeat=True)
    assert per_repeat["repeat"].tolist() == [0, 1] and per_repeat["R2"].tolist() == [0.5, 0.7]


def test_cv_records_are_stored_resumed_and_read_only(tmp_path, monkeypatch) -> None:
    from dataclasses import replace

    from matfusion.ecd.experiments import run_cv
    from matfusion.ecd.tables import cv_summary
    from matfusion.results import ResultsStore

    monkeypatch.setenv("MATFUSION_CACHE", str(tmp_path / "cache"))
    torch.set_num_threads(1)
    inputs = _toy_inputs("magpie", n=24)
    inputs.profile = replace(inputs.profile, folds=2, epochs=1, patience=1)
    inputs.frame["elements"] = "Na Cl"
    store = ResultsStore(tmp_path / "results")
    models = ["RF+Magpie", "CNN+Magpie"]
    # nothing stored yet: read-only mode returns nothing and trains nothing
    assert run_cv(models, ["bulk"], inputs, store=store, progress=False, missing="skip") == []
    first = run_cv(models, ["bulk"], inputs, store=store, progress=False)
    assert len(first) == 4 and not any(r["cache_hit"] for r in first)
    files = sorted((tmp_path / "results" / "ecd_cv" / "smoke").glob("*.json"))
    assert len(files) == 4
    again = run_cv(models, ["bulk"], inputs, store=store, progress=False, missing="skip")
    assert all(r["cache_hit"] for r in again)
    assert [r["metrics"] for r in again] == [r["metrics"] for r in first]
    rec = first[0]
    assert rec["config"]["seed"] == 0 and rec["provenance"]["packages"]["torch"]
    assert len(rec["predictions"]["pred"]) == rec["sizes"]["test"] == 12
    table = cv_summary(first)
    assert table.loc[("bulk", "RF+Magpie"), "runs"] == 2


def test_external_predictions_are_stored_per_id(tmp_path, monkeypatch) -> None:
    from dataclasses import replace

    from matfusion.ecd.experiments import run_external
    from matfusion.results import ResultsStore

    monkeypatch.setenv("MATFUSION_CACHE", str(tmp_path / "cache"))
    inputs = _toy_inputs("magpie", n=24)
    inputs.profile = replace(inputs.profile, epochs=1, patience=1)
    external = pd.DataFrame({"mp_id": ["wbm-x", "wbm-y"], "formula": ["NaCl", "MgO"]})
    store = ResultsStore(tmp_path / "results")
    recs = run_external(["RF+Magpie"], ["bulk"], inputs, external, store=store, progress=False)
    assert len(recs) == 1
    preds = recs[0]["predictions"]
    assert preds["id"] == ["wbm-x", "wbm-y"] and len(preds["pred"]) == 2
    assert np.isfinite(preds["pred"]).all()
    again = run_external(
        ["RF+Magpie"], ["bulk"], inputs, external, store=store, progress=False, missing="skip"
    )
    assert again[0]["cache_hit"] and again[0]["predictions"] == preds
