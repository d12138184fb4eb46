"""The interpretability analyses (paper A, Figures 6-10, 12, S9) on hand-made inputs and tiny
models, and their storage in the results store."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from matfusion import studies
from matfusion.analysis import interpret
from matfusion.analysis.cecv import correlation_matrices
from matfusion.data import element_table, parse_formula
from matfusion.experiments import run_analysis, run_training, stored_training
from matfusion.featurize import encode_formulas
from matfusion.io import dumps_readable
from matfusion.models import MODELS, build_model, encoding_order
from matfusion.train import TargetScaler, predict

FORMULAS = ["SrTiO3", "NaCl", "Fe", "Li2O", "BaTiO3", "KNbO3", "CsPbI3", "Al2SiO5"]


@pytest.fixture(scope="module")
def table():
    return element_table("mat2vec")


@pytest.fixture(scope="module")
def model(table):
    torch.manual_seed(0)
    net = build_model("L-G-DCNN", table.vectors, d_model=16)
    net.eval()
    return net


def test_contributions_average_to_the_prediction(model, table) -> None:
    scaler = TargetScaler(mean=2.0, std=3.0)
    encoded = encode_formulas(FORMULAS, table)
    contributions, predictions = interpret.element_contributions(
        model, scaler, encoded, batch_size=3
    )
    expected, _ = predict(model, scaler, encoded)
    np.testing.assert_allclose(predictions, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.nanmean(contributions, axis=1), expected, rtol=1e-5, atol=1e-5)
    # NaN exactly at the padding.
    assert (np.isnan(contributions) == (encoded.elements == 0)).all()


def test_average_contribution_by_element(table) -> None:
    encoded = encode_formulas(["NaCl", "KCl", "Na2O"], table)
    # Rows are sorted by Z: Na(11) Cl(17) / Cl(17) K(19) / O(8) Na(11).
    contributions = np.array([[1.0, 3.0], [5.0, 7.0], [2.0, 4.0]])
    avg = interpret.average_contribution(encoded, contributions, table.symbols)
    assert avg.loc["Cl", "mean"] == pytest.approx(4.0) and avg.loc["Cl", "count"] == 2
    assert avg.loc["Na", "mean"] == pytest.approx(2.5) and avg.loc["Na", "std"] == 1.5
    assert avg.loc["K", "mean"] == 7.0 and avg.loc["O", "mean"] == 2.0
    assert list(avg.index) == ["O", "Na", "Cl", "K"]  # by atomic number
    with pytest.raises(ValueError, match="NaN"):
        interpret.average_contribution(encoded, np.full((3, 2), np.nan), table.symbols)


def test_binary_formulas_and_points() -> None:
    formulas = interpret.binary_formulas("Si", "O", [0.25, 0.5])
    assert parse_formula(formulas[0]) == pytest.approx({"Si": 0.25, "O": 0.75})
    with pytest.raises(ValueError, match="strictly between"):
        interpret.binary_formulas("Si", "O", [0.0, 0.5])
    frame = pd.DataFrame(
        {"formula": ["SiO2", "Si", "SiC", "Si2O", "AlSiO3"], "target": [5.0, 1.0, 2.0, 3.0, 4.0]}
    )
    points = interpret.binary_points(frame, "Si", "O")
    assert list(points["formula"]) == ["SiO2", "Si2O"]
    assert points["x"].tolist() == pytest.approx([1 / 3, 2 / 3])


def test_binary_sweep_matches_direct_predictions(model, table) -> None:
    scaler = TargetScaler(mean=0.0, std=1.0)
    sweep = interpret.binary_sweep(model, scaler, table, "Si", "O", [0.2, 0.8])
    formulas = ["Si0.2O0.8", "Si0.8O0.2"]
    direct, _ = predict(
        model, scaler, encode_formulas(formulas, table, order=encoding_order(model))
    )
    np.testing.assert_allclose(sweep["prediction"], direct, rtol=1e-5)
    assert (sweep["uncertainty"] > 0).all()


def test_correlation_shift_ranks_pairs_and_skips_binaries(table) -> None:
    rng = np.random.default_rng(0)
    encoded = encode_formulas(["NaClO", "KClO", "NaCl"], table)
    sizes = [3, 3, 2]
    efms_a = [rng.normal(size=(n, 8)) for n in sizes]
    efms_b = [m + rng.normal(scale=0.5, size=m.shape) for m in efms_a]
    pairs = interpret.correlation_shift(efms_a, efms_b, encoded.elements, table.symbols)
    assert list(pairs.columns) == list(interpret.PAIR_COLUMNS)
    # Pairs of the two ternaries only (the binary is skipped): O-Na, O-Cl, Na-Cl, O-K, Cl-K.
    assert set(pairs["pair"]) == {"O-Na", "O-Cl", "Na-Cl", "O-K", "Cl-K"}
    assert pairs.set_index("pair").loc["O-Cl", "compounds"] == 2
    # Against a direct computation for the first compound (elements O, Na, Cl by Z).
    ra, rb = (correlation_matrices(m[None])[0] for m in (efms_a[0], efms_b[0]))
    row = pairs.set_index("pair").loc["Na-Cl"]
    assert row["mean_change"] == pytest.approx(rb[1, 2] - ra[1, 2])
    assert (np.diff(pairs["total_abs_change"]) <= 1e-12).all()  # sorted, largest first
    same = interpret.correlation_shift(efms_a, efms_a, encoded.elements, table.symbols)
    assert np.allclose(same["total_abs_change"], 0)
    with pytest.raises(ValueError, match="same compounds"):
        interpret.correlation_shift(efms_a[:2], efms_b, encoded.elements, table.symbols)


def test_element_vector_correlation_is_ordered_and_symmetric(model, table) -> None:
    corr = interpret.element_vector_correlation(model, table, ["O", "H", "Fe", "Na"])
    assert list(corr.index) == ["H", "O", "Na", "Fe"]
    assert np.allclose(np.diag(corr), 1) and np.allclose(corr, corr.T)
    with pytest.raises(KeyError, match="Xx"):
        interpret.element_vector_correlation(model, table, ["O", "Xx"])


def test_group_contrast_on_a_hand_made_matrix() -> None:
    symbols = ["Li", "Na", "F", "Cl"]  # groups 1, 1, 17, 17
    corr = pd.DataFrame(
        [[1, 0.9, 0.1, 0.2], [0.9, 1, 0.3, 0.0], [0.1, 0.3, 1, 0.8], [0.2, 0.0, 0.8, 1]],
        index=symbols,
        columns=symbols,
    )
    contrast = interpret.group_contrast(corr)
    assert contrast["same_group"] == pytest.approx(0.85)
    assert contrast["different_group"] == pytest.approx(0.15)


def test_electronegative_elements_follow_the_threshold() -> None:
    strong = interpret.electronegative_elements(3.0)
    assert {"N", "O", "F", "Cl"} <= set(strong)
    assert "Br" not in strong  # Pauling 2.96: just below the threshold
    assert "Br" in interpret.electronegative_elements(2.9)
    assert interpret.electronegative_elements(3.5) == ["F"]
    assert not {"He", "Ne", "Ar"} & set(interpret.electronegative_elements(0.0))


def test_neighbour_spread_rewards_maps_that_keep_values_together() -> None:
    rng = np.random.default_rng(1)
    values = np.repeat([0.0, 5.0], 50)
    separated = np.concatenate([rng.normal(0, 0.1, (50, 2)), rng.normal(10, 0.1, (50, 2))])
    mixed = rng.normal(0, 1, (100, 2))
    assert studies.neighbour_spread(separated, values) == 0.0
    assert studies.neighbour_spread(mixed, values) > 1.5


def test_umap_is_seeded() -> None:
    vectors = np.random.default_rng(0).normal(size=(40, 6))
    a = interpret.umap_embedding(vectors, seed=3, n_neighbors=5)
    b = interpret.umap_embedding(vectors, seed=3, n_neighbors=5)
    assert a.shape == (40, 2) and np.array_equal(a, b)
    with pytest.raises(ValueError, match="at least 4"):
        interpret.umap_embedding(vectors[:3])


def test_readable_json_keeps_scalar_arrays_on_one_line() -> None:
    doc = {"a": [1, 2.5, -3e-5], "b": {"c": ["x", "y"], "d": [[1, 2], [3, 4]]}, "e": []}
    text = dumps_readable(doc)
    assert json.loads(text) == doc
    assert '"a": [1, 2.5, -3e-05]' in text and '"c": ["x", "y"]' in text
    assert "[1, 2]" in text


def test_same_as_models_share_architecture_and_runs(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MATFUSION_RESULTS", str(tmp_path / "results"))
    vectors = element_table("mat2vec").vectors
    aliases = {name: spec.same_as for name, spec in MODELS.items() if spec.same_as}
    assert aliases == {
        "L-G-DCNN-2B": "L-G-DCNN",
        "L-G-DCNN-onehot": "Model-1",
        "Model-5": "L-G-DCNN-V2",
        "Model-6": "LDCNN",
    }
    onehot = element_table("onehot").vectors
    for alias, target in aliases.items():
        assert MODELS[alias].embedding == MODELS[target].embedding
        table = onehot if MODELS[alias].embedding == "onehot" else vectors
        a = build_model(alias, table, d_model=8).config
        b = build_model(target, table, d_model=8).config
        assert a["params"] == b["params"] and a["stages"] == b["stages"]
    common = {"profile": "smoke", "fold": 0, "epochs": 1, "progress": False}
    lookup = {k: v for k, v in common.items() if k != "progress"}
    assert stored_training("Model-6", "matbench_steels", **lookup) is None
    record = run_training("Model-6", "matbench_steels", **common)
    assert record["alias"] == "Model-6" and record["config"]["model"] == "LDCNN"
    stored = stored_training("Model-6", "matbench_steels", **lookup)
    assert stored["alias"] == "Model-6" and stored["config"] == record["config"]
    again = run_training("LDCNN", "matbench_steels", **common)
    assert again["cache_hit"] and again["config"] == record["config"]


def test_analyses_are_stored_and_reused(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MATFUSION_RESULTS", str(tmp_path / "results"))
    common = {"profile": "smoke", "fold": 0, "epochs": 1, "progress": False}
    record = run_training("LSTM", "matbench_steels", **common)
    calls = []

    def compute(models):
        model, scaler = models["m"]
        calls.append(type(model).__name__)
        return {"scale": scaler.std}

    first = run_analysis("demo", {"m": record}, {"p": 1}, compute)
    second = run_analysis("demo", {"m": record}, {"p": 1}, compute)
    third = run_analysis("demo", {"m": record}, {"p": 2}, compute)
    assert calls == ["CompositionModel", "CompositionModel"]  # the repeat was a cache hit
    assert second["cache_hit"] and not first["cache_hit"] and not third["cache_hit"]
    assert first["result"]["scale"] > 0
    files = list((tmp_path / "results" / "interpret" / "smoke").glob("*.json"))
    assert len(files) == 2
    frame = studies.parity(record)
    assert len(frame) == record["sizes"]["test"]
    mae = float(np.mean(np.abs(frame["target"] - frame["prediction"])))
    assert mae == pytest.approx(record["metrics"]["test_mae"], rel=1e-3)
