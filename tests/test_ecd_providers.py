"""Promolecular against GPAW densities: the paired comparison and what GPAW cannot compute."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from pymatgen.core import Lattice, Structure

from matfusion.ecd.data import load_ecd_dataset, structures
from matfusion.ecd.density import DensityError, get_provider, gpaw_available, gpaw_unsupported
from matfusion.ecd.experiments import run_provider_comparison
from matfusion.ecd.fitting import prepare_inputs
from matfusion.ecd.settings import ecd_profile
from matfusion.ecd.tables import paired_provider_gain
from matfusion.results import ResultsStore

needs_gpaw = pytest.mark.skipif(not gpaw_available(), reason="GPAW (the dft extra) not installed")


@needs_gpaw
def test_the_profiles_list_every_element_gpaw_has_no_setup_for() -> None:
    """The comparison leaves these out without asking GPAW, so the list must be right."""
    lacking = gpaw_unsupported(structures(load_ecd_dataset(verbose=False)))
    for name in ("smoke", "standard", "paper"):
        assert sorted(ecd_profile(name).gpaw_exclude_elements) == lacking


@needs_gpaw
def test_gpaw_names_an_element_without_a_setup_before_any_scf() -> None:
    tc = Structure(Lattice.cubic(3.9), ["Tc"], [[0, 0, 0]])
    nacl = Structure(Lattice.cubic(5.6), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    assert gpaw_unsupported([tc, nacl]) == ["Tc"]
    assert gpaw_unsupported([nacl]) == []
    with pytest.raises(DensityError, match="no PBE PAW setup for Tc"):
        get_provider("gpaw").compute(tc, 8)


def test_prepare_inputs_leaves_out_elements_and_keeps_named_materials(capsys) -> None:
    full = load_ecd_dataset(verbose=False)
    with_cl = int(full["elements"].str.split().map(lambda e: "Cl" in e).sum())
    assert with_cl > 0
    prof = replace(ecd_profile("smoke"), max_materials=None)
    inputs = prepare_inputs(prof, need_density=False, exclude_elements=["Cl"], verbose=False)
    assert len(inputs.frame) == len(full) - with_cl
    assert not inputs.frame["elements"].str.contains(r"\bCl\b").any()
    assert "left out" not in capsys.readouterr().out  # quiet: the caller states it
    prepare_inputs(prof, need_density=False, exclude_elements=["Cl"], verbose=True)
    assert f"left out {with_cl} materials containing Cl" in capsys.readouterr().out
    assert len(inputs.magpie) == len(inputs.frame)

    ids = full["mp_id"].iloc[[5, 1, 9]].tolist()
    picked = prepare_inputs(prof, need_density=False, mp_ids=ids, verbose=False)
    assert sorted(picked.frame["mp_id"]) == sorted(ids)
    with pytest.raises(KeyError, match="not in the ECD dataset"):
        prepare_inputs(prof, need_density=False, mp_ids=["mp-nonexistent"], verbose=False)


def test_comparison_is_paired_and_leaves_out_what_gpaw_cannot_compute(tmp_path) -> None:
    """Same materials for every density source (smoke's defaults: promolecular valence, GPAW
    valence, GPAW all-electron), GPAW's gaps removed from all; Magpie-only models read no
    density, so their rows agree exactly (same stored runs)."""
    prof = replace(
        ecd_profile("smoke"),
        compare_max_materials=8,
        epochs=1,
        patience=1,
        gpaw_exclude_elements=("Cl",),
    )
    store = ResultsStore(tmp_path / "results")
    table, info = run_provider_comparison(
        ["bulk"], prof, models=["RF+Magpie", "CNN+Magpie"], store=store, progress=False
    )
    full = load_ecd_dataset(verbose=False)
    assert info["left_out_elements"] == ["Cl"]
    assert info["left_out_materials"] == int(full["elements"].str.contains(r"\bCl\b").sum())
    sources = ["promolecular-valence", "gpaw-valence", "gpaw-all-electron"]
    assert info["sources"] == sources
    assert info["materials"] == dict.fromkeys(sources, 8)
    assert set(table["provider"]) == {"promolecular", "gpaw"}
    by = table.set_index(["source", "model"])
    for model in ("RF+Magpie", "CNN+Magpie"):
        assert len({by.loc[(s, model), "R2"] for s in sources}) == 1
    assert len(store.records("ecd_cv")) == 2 * 2  # 2 models x 2 folds, shared by sources
    per_fold = info["per_fold"]  # one R2 per source, model and fold, for paired differences
    assert len(per_fold) == 3 * 2 * 2
    paired = per_fold.pivot_table(index=["model", "fold"], columns="source", values="R2")
    assert paired.nunique(axis=1).eq(1).all()  # Magpie models read no density

    # the 8 materials are those with the fewest electrons per primitive cell, Cl left out
    records = store.records("ecd_cv")
    used = {i for r in records for i in r["predictions"]["mp_id"]}
    usable = full[~full["elements"].str.contains(r"\bCl\b")]
    electrons = {
        row.mp_id: sum(site.specie.Z for site in s.get_primitive_structure())
        for row, s in zip(usable.itertuples(), structures(usable), strict=True)
    }
    assert max(electrons[i] for i in used) <= sorted(electrons.values())[7]


def test_loeo_comparison_leaves_out_the_same_elements_for_every_provider(tmp_path) -> None:
    """design="loeo": the elements are chosen once from the shared materials, each run's
    test set is every material with its element, and a Magpie model's run is shared."""
    prof = replace(
        ecd_profile("smoke"), compare_max_materials=20, loeo_max_elements=2, loeo_min_count=99
    )
    store = ResultsStore(tmp_path / "results")
    table, info = run_provider_comparison(
        ["bulk"], prof, design="loeo", models=["RF+Magpie"], store=store, progress=False
    )
    elements = info["elements"]
    assert len(elements) == 2
    # LOEO: the same three sources as CV (the profile's pair and GPAW all-electron)
    three = {"promolecular-valence": 20, "gpaw-valence": 20, "gpaw-all-electron": 20}
    assert info["materials"] == three
    records = store.records("ecd_loeo")
    assert sorted(r["config"]["element"] for r in records) == sorted(elements)  # shared runs
    frame = load_ecd_dataset(verbose=False).set_index("mp_id")
    for rec in records:
        test_ids, element = rec["predictions"]["mp_id"], rec["config"]["element"]
        has = frame.loc[test_ids, "elements"].str.split().map(lambda e, x=element: x in e)
        assert has.all()
        assert rec["sizes"]["train"] + rec["sizes"]["test"] == 20
    assert set(table["provider"]) == {"promolecular", "gpaw"}
    assert set(table["element"]) == set(elements)
    per_run = info["per_fold"]
    assert set(per_run.columns) >= {"element", "provider", "R2", "RMSE"}
    pair = ("promolecular-valence", "gpaw-valence")
    gain = paired_provider_gain(per_run, "element", pair, by="source")
    assert gain.loc[("bulk", "RF+Magpie"), f"RMSE change, {pair[1]} - {pair[0]}"] == 0.0
    assert gain.loc[("bulk", "RF+Magpie"), "runs"] == 2
    # one provider's half alone (one process each) runs on the whole comparison's materials
    half_store = ResultsStore(tmp_path / "half")
    _, half = run_provider_comparison(
        ["bulk"], prof, design="loeo", models=["RF+Magpie"], only=["promolecular"],
        store=half_store, progress=False,
    )  # fmt: skip
    assert half["materials"] == {"promolecular-valence": 20} and half["elements"] == elements
    assert {r["key"] for r in half_store.records("ecd_loeo")} == {r["key"] for r in records}
    with pytest.raises(ValueError, match="outside"):
        run_provider_comparison(["bulk"], prof, only=["chgcar"], store=store, progress=False)
    with pytest.raises(ValueError, match="design must be"):
        run_provider_comparison(["bulk"], prof, design="holdout", store=store, progress=False)
    with pytest.raises(KeyError, match="unknown ECD model"):
        run_provider_comparison(["bulk"], prof, models=["2D-CNN"], store=store, progress=False)


def test_paired_provider_gain_pairs_runs_and_counts_where_the_second_is_better() -> None:
    rows = []
    # 2D-CNN: GPAW better on Cl (RMSE 10 -> 8) and F (20 -> 18), worse on K (5 -> 7)
    for element, promo, gpaw, r2p, r2g in (
        ("Cl", 10.0, 8.0, 0.5, 0.6),
        ("F", 20.0, 18.0, -9.0, -8.0),
        ("K", 5.0, 7.0, 0.8, 0.7),
    ):
        for provider, rmse, r2 in (("promolecular", promo, r2p), ("gpaw", gpaw, r2g)):
            rows.append(
                {"target": "bulk", "model": "2D-CNN+ECD", "repeat": 0, "element": element,
                 "provider": provider, "R2": r2, "RMSE": rmse}
            )  # fmt: skip
    # a run only one provider has is not paired and so not counted
    rows.append(
        {"target": "bulk", "model": "2D-CNN+ECD", "repeat": 0, "element": "Na",
         "provider": "gpaw", "R2": 0.1, "RMSE": 1.0}
    )  # fmt: skip
    gain = paired_provider_gain(pd.DataFrame(rows), "element").loc[("bulk", "2D-CNN+ECD")]
    assert gain["runs"] == 3
    assert gain["runs gpaw better"] == 2
    assert gain["RMSE change, gpaw - promolecular"] == pytest.approx((-2 - 2 + 2) / 3)
    assert gain["RMSE mean, promolecular"] == pytest.approx(35 / 3)
    assert gain["R2 median, promolecular"] == pytest.approx(0.5)  # not the mean (-2.57)
    assert gain["R2 median, gpaw"] == pytest.approx(0.6)
    only_one = pd.DataFrame(rows[:1])
    assert paired_provider_gain(only_one, "element").empty


def test_density_difference_counts_the_electrons_placed_elsewhere() -> None:
    from matfusion.ecd.density import DensityResult, density_difference

    grid = np.full((4, 4, 4), 0.5)
    shifted = grid.copy()
    shifted[0, 0, 0] += 0.4  # 0.4 e/A^3 moved from one voxel to another
    shifted[1, 1, 1] -= 0.4
    a, b = DensityResult(grid, volume=64.0), DensityResult(shifted, volume=64.0)
    out = density_difference(a, b)
    # one voxel is 1 A^3: 0.4 electrons moved, out of 32
    assert out["moved"] == pytest.approx(0.4)
    assert out["moved_fraction"] == pytest.approx(0.4 / 32)
    assert out["moved_between_atoms"] == pytest.approx(0.4)  # all voxels below 1 e/A^3
    assert density_difference(a, a)["moved"] == 0.0
    with pytest.raises(ValueError, match="different grids"):
        density_difference(a, DensityResult(np.ones((2, 2, 2)), volume=64.0))


def test_per_material_density_differences_are_stored_and_read_back(tmp_path) -> None:
    from matfusion.ecd.experiments import run_density_comparison

    prof = replace(ecd_profile("smoke"), compare_max_materials=3, grid=8)
    store = ResultsStore(tmp_path / "results")
    same = ("promolecular", "promolecular")
    assert run_density_comparison(prof, same, store=store, progress=False, missing="skip") is None
    table = run_density_comparison(prof, same, store=store, progress=False)
    assert len(table) == 3 and (table["moved"] == 0).all()
    assert (table["electronegativity_spread"] >= 0).all()
    assert len(store.records("ecd_density_diff")) == 1
    again = run_density_comparison(prof, same, store=store, progress=False, missing="skip")
    assert again.equals(table)
