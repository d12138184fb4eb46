"""CrabNet's own CECV (Figures 7b and 11b): EFMs from a hook on its encoder, and the stored
experiment that retrains it and computes the CECV in the same process."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from matfusion.analysis.cecv import anchor_mask, cecv
from matfusion.baselines.crabnet import crabnet_settings
from matfusion.data import load_split
from matfusion.featurize import encode_formulas
from matfusion.profiles import get_profile

#: 3 to 6 elements; training below sees at most 4, so the 5- and 6-element compounds
#: check that the EFMs are not truncated to the training width.
FORMULAS = ["Ca3Al2Si3O12", "LiAlSiO4", "SiO2", "Mg2SiO4", "KNaAlSi3O8", "LiKNaMgSiO4"]


def _tiny_frame() -> pd.DataFrame:
    formulas = ["SrTiO3", "BaTiO3", "KNbO3", "CsPbI3", "Mg2SiO4", "LiAlSiO4", "NaCl", "CaSiO3",
                "Al2SiO5", "K2SiF6", "LiFePO4", "GaAs", "CuInSe2", "MgAl2O4"]  # fmt: skip
    rng = np.random.default_rng(0)
    return pd.DataFrame({"formula": formulas * 3, "target": rng.normal(size=3 * len(formulas))})


@pytest.mark.slow  # a tiny CrabNet fit: ~10-20 s on 2 cores
def test_hook_gives_one_matrix_per_compound_without_padding(tmp_path, monkeypatch) -> None:
    pytest.importorskip("crabnet", reason="crabnet wheel not installed (bash scripts/setup.sh)")
    import torch

    from matfusion.baselines.crabnet import crabnet_efms, fit_predict

    monkeypatch.chdir(tmp_path)
    frame = _tiny_frame()
    settings = {**crabnet_settings(get_profile("smoke"), seed=0, epochs=1), "d_model": 32}
    settings["dim_feedforward"] = 64

    def analyse(net):
        canonical = crabnet_efms(net, FORMULAS, "atomic_number")
        by_amount = crabnet_efms(net, FORMULAS, "fraction_desc")
        # the encoder alone on one unpadded compound, in CrabNet's own element order
        src = torch.tensor([[8, 20, 14, 13]])  # Ca3Al2Si3O12: O 12, Ca 3, Si 3, Al 2
        frac = torch.tensor([[12.0, 3.0, 3.0, 2.0]]) / 20.0
        net.model.eval()
        with torch.no_grad():
            alone = net.model.encoder(src, frac).double().numpy()[0]
        return canonical, by_amount, alone, net.n_elements

    result = fit_predict(frame.iloc[:36], frame.iloc[36:], frame.iloc[36:], settings,
                         progress=False, after_fit=analyse)  # fmt: skip
    canonical, by_amount, alone, n_train_elements = result.after_fit
    assert n_train_elements == 4  # restored after the EFMs were read
    lengths = encode_formulas(FORMULAS).lengths
    assert [e.shape for e in canonical] == [(int(n), 32) for n in lengths]
    assert all(np.abs(e).sum(axis=1).min() > 0 for e in canonical)  # no zero padding row
    # canonical rows are O, Al, Si, Ca; CrabNet's own (by amount) are O, Ca, Si, Al
    np.testing.assert_allclose(canonical[0], alone[[0, 3, 2, 1]], atol=1e-5)
    np.testing.assert_allclose(by_amount[0], alone, atol=1e-5)
    # LiKNaMgSiO4 (6 elements, wider than training): canonical Li, O, Na, Mg, Si, K; by
    # amount O, then the equal amounts in formula order Li, K, Na, Mg, Si
    np.testing.assert_array_equal(canonical[5], by_amount[5][[1, 0, 3, 4, 5, 2]])
    counted = cecv(canonical, (0.05,))
    assert counted.group_sizes == {3: 1, 4: 2, 5: 1, 6: 1} and counted.skipped_small == 1


@pytest.mark.slow  # a tiny CrabNet fit: ~10-20 s on 2 cores
def test_run_peer_cecv_stores_the_cecv_of_the_hooked_matrices(tmp_path, monkeypatch) -> None:
    pytest.importorskip("crabnet", reason="crabnet wheel not installed (bash scripts/setup.sh)")
    import matfusion.baselines.crabnet as crab
    from matfusion.experiments import _reorder, peer_cecv_config, run_peer_cecv
    from matfusion.results import ResultsStore

    monkeypatch.chdir(tmp_path)
    store = ResultsStore(tmp_path / "results")
    tiny = replace(get_profile("smoke"), max_train_rows=48, max_eval_rows=16, d_model=32)
    captured: list[list[np.ndarray]] = []
    original = crab.crabnet_efms

    def spy(net, formulas, order="atomic_number"):
        captured.append(original(net, formulas, order))
        return captured[-1]

    monkeypatch.setattr(crab, "crabnet_efms", spy)
    options = {"profile": tiny, "fold": 0, "anchor": "Si", "store": store}
    assert run_peer_cecv("CrabNet", "matbench_steels", missing="skip", **options) is None
    record = run_peer_cecv("CrabNet", "matbench_steels", order="atomic_number", **options)
    assert record is not None and not record["cache_hit"]
    efms = captured[0]
    test = load_split("matbench_steels", "test", fold=0, verbose=False)
    has_si = anchor_mask(encode_formulas(test["formula"].tolist()).elements, "Si")
    formulas = test["formula"][has_si].tolist()
    assert record["n_split"] == len(test) and record["n_anchor_compounds"] == len(efms) > 20
    assert len(formulas) == len(efms)
    assert {e.shape[1] for e in efms} == {32}
    expected = cecv(efms, record["thresholds"], "authors")
    assert record["cecv"] == expected.counts
    assert record["cecv_by_order"]["atomic_number"] == expected.counts
    canonical = encode_formulas(formulas).elements
    by_amount = encode_formulas(formulas, order="fraction_desc").elements
    other = [_reorder(e, canonical[i], by_amount[i]) for i, e in enumerate(efms)]
    assert record["cecv_by_order"]["fraction_desc"] == cecv(other, record["thresholds"]).counts
    assert record["config"] == peer_cecv_config(
        "CrabNet", "matbench_steels", profile=tiny, fold=0, order="atomic_number"
    )
    assert record["config"]["experiment"] == "peer_cecv"
    assert np.isfinite(record["retrained_metrics"]["test_mae"])
    again = run_peer_cecv("CrabNet", "matbench_steels", order="atomic_number", **options)
    assert again["cache_hit"] and again["cecv"] == record["cecv"] and len(captured) == 1


def test_peer_cecv_config_is_built_from_inputs() -> None:
    from matfusion.experiments import peer_cecv_config, run_config
    from matfusion.results import key_for

    config = peer_cecv_config("CrabNet", "OQMD_Bandgap", profile="standard")
    run = run_config("CrabNet", "OQMD_Bandgap", profile=get_profile("standard"))
    assert config["train_key"] == key_for(run)  # the grid's CrabNet run, same settings
    assert config["train"] == run["train"] and config["seed"] == 0
    assert config["cecv"]["order"] == "atomic_number"  # standard: matfusion-v1, canonical
    assert peer_cecv_config("CrabNet", "OQMD_Bandgap", profile="smoke")["cecv"]["order"] == (
        "fraction_desc"  # smoke: the authors' conventions
    )
    with pytest.raises(ValueError, match="implemented for"):
        peer_cecv_config("Roost", "OQMD_Bandgap", profile="standard")
    with pytest.raises(ValueError, match="mode must be"):
        peer_cecv_config("CrabNet", "OQMD_Bandgap", profile="standard", mode="loose")


def test_cli_cecv_needs_one_source_and_a_peer_needs_a_dataset(capsys) -> None:
    from matfusion.cli import main

    assert main(["cecv"]) == 2
    assert "either --checkpoint" in capsys.readouterr().err
    assert main(["cecv", "--checkpoint", "x.pt", "--peer", "CrabNet"]) == 2
    assert "either --checkpoint" in capsys.readouterr().err
    assert main(["cecv", "--peer", "CrabNet"]) == 2
    assert "--peer needs --dataset" in capsys.readouterr().err
    assert main(["cecv", "--peer", "Roost", "--dataset", "matbench_steels", "--fold", "0"]) == 2
    assert "implemented for" in capsys.readouterr().err
