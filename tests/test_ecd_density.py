"""Charge densities: electron counts, resampling, the CHGCAR reader and the disk cache."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from matfusion.data import shared_path
from matfusion.data.errors import MissingDataError
from matfusion.ecd.density import (
    ChgcarProvider,
    DensityError,
    compute_densities,
    electron_count,
    free_atom_density,
    get_provider,
    gpaw_available,
    resample,
    structure_hash,
)


def nacl(a: float = 5.69) -> Structure:
    return Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(a), ["Na", "Cl"], [[0, 0, 0], [0.5] * 3]
    )


@pytest.mark.parametrize("grid", [8, 16, 24])
def test_promolecular_nacl_integrates_to_28_electrons(grid: int) -> None:
    result = get_provider("promolecular").compute(nacl(), grid)
    assert result.rho.shape == (grid,) * 3
    assert result.rho.dtype == np.float32 and (result.rho >= 0).all()
    # all-electron: Na 11 + Cl 17 in the primitive cell; tolerance 1e-4 electrons
    assert result.expected_electrons == 28
    assert result.electrons == pytest.approx(28.0, abs=1e-4)
    assert result.volume == pytest.approx(5.69**3 / 4, rel=1e-6)


def test_promolecular_peaks_at_the_nuclei() -> None:
    rho = get_provider("promolecular").compute(nacl(), 16).rho
    # Cl (17 e) sits at the cell centre of the primitive cell, Na (11 e) at the origin
    assert rho.max() == rho[8, 8, 8]
    assert rho[0, 0, 0] > rho[4, 4, 4]


def test_free_atom_table_matches_electron_count() -> None:
    r, rho, source = free_atom_density("Cl", "table")
    assert source == "table"
    assert np.trapezoid(4 * np.pi * r**2 * rho, r) == pytest.approx(17.0, rel=1e-3)
    with pytest.raises(ValueError, match="auto, gpaw or table"):
        free_atom_density("Cl", "bogus")


@pytest.mark.parametrize("grid", [5, 12, 30, 48])
def test_resampling_conserves_electrons(grid: int) -> None:
    rng = np.random.default_rng(0)
    rho = rng.gamma(2.0, 1.0, size=(20, 20, 24))
    rho[3, 4, 5] = 500.0  # a sharp core-like peak
    volume = 41.0
    before = electron_count(rho, volume)
    out = resample(rho, grid)
    assert out.shape == (grid,) * 3
    assert electron_count(out, volume) == pytest.approx(before, rel=1e-5)


def test_resampling_keeps_a_smooth_periodic_field() -> None:
    x = np.arange(32) / 32
    field = 2 + np.sin(2 * np.pi * x)[:, None, None] * np.ones((1, 32, 32))
    out = resample(field, 64)
    expected = 2 + np.sin(2 * np.pi * np.arange(64) / 64)
    assert np.abs(out[:, 0, 0] - expected).max() < 0.01
    with pytest.raises(ValueError, match="3-D"):
        resample(np.ones((4, 4)), 8)


def _chgcar(name: str):
    try:
        return shared_path(f"chgcar/{name}", download=False)
    except MissingDataError:
        pytest.skip(f"{name} not available locally")


def test_chgcar_mg_hcp_valence_count() -> None:
    result = ChgcarProvider().read(_chgcar("Mg_hcp_CHGCAR.gz"))
    assert result.rho.shape == (32, 32, 56)
    assert result.meta["formula"] == "Mg" and not result.meta["all_electron"]
    # two Mg atoms with 2 valence electrons each (VASP's standard Mg PAW)
    assert result.electrons == pytest.approx(4.0, abs=1e-3)
    coarse = ChgcarProvider().read(_chgcar("Mg_hcp_CHGCAR.gz"), grid=12)
    assert coarse.rho.shape == (12, 12, 12)
    assert coarse.electrons == pytest.approx(4.0, abs=1e-3)


def test_chgcar_spin_polarised_uses_total() -> None:
    result = ChgcarProvider().read(_chgcar("Ag4_spin_CHGCAR.gz"), grid=16)
    assert result.meta["spin_polarised"]
    assert result.electrons == pytest.approx(76.0, abs=0.01)  # 4 Ag x 19 valence electrons


def test_chgcar_errors(tmp_path) -> None:
    with pytest.raises(DensityError, match="no such CHGCAR"):
        ChgcarProvider().read(tmp_path / "missing")
    bad = tmp_path / "CHGCAR"
    bad.write_text("not a chgcar\n")
    with pytest.raises(DensityError, match="cannot read"):
        ChgcarProvider().read(bad)
    with pytest.raises(KeyError, match="unknown density provider"):
        get_provider("vasp")


def test_cache_is_keyed_by_structure_and_resumes(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MATFUSION_CACHE", str(tmp_path))
    items = [nacl(5.6), nacl(5.8)]
    assert structure_hash(items[0]) != structure_hash(items[1])
    arr, info = compute_densities(items, "promolecular", 8, progress=False)
    assert arr.shape == (2, 8, 8, 8)
    files = sorted(tmp_path.glob("ecd/densities/promolecular-*/g8/*.npz"))
    assert len(files) == 2
    again, _ = compute_densities(items, "promolecular", 8, progress=False)
    np.testing.assert_array_equal(arr, again)
    assert all(i["electrons"] == pytest.approx(28.0, abs=1e-4) for i in info)


@pytest.mark.skipif(not gpaw_available(), reason="GPAW (the dft extra) is not installed")
def test_gpaw_density_of_a_tiny_cell_integrates_to_its_electrons() -> None:
    # Li bcc... smallest useful Fm-3m cell: fcc Al with one atom (13 electrons), coarse settings
    al = Structure(
        Lattice.cubic(4.04), ["Al"] * 4, [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]]
    )
    provider = get_provider("gpaw", ecut=250.0, kpt_density=1.0)
    result = provider.compute(al, 16)
    assert result.meta["n_atoms_primitive"] == 1
    assert result.expected_electrons == 13
    assert result.meta["native_electrons"] == pytest.approx(13.0, abs=0.05)
    assert result.electrons == pytest.approx(13.0, abs=0.05)


def test_parallel_workers_give_the_same_densities(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MATFUSION_CACHE", str(tmp_path))
    items = [nacl(5.5), nacl(5.7), nacl(5.9)]
    parallel, _ = compute_densities(items, "promolecular", 8, workers=2, progress=False)
    serial = np.stack([get_provider("promolecular").compute(s, 8).rho for s in items])
    np.testing.assert_allclose(parallel, serial, rtol=1e-6)
