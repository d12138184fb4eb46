"""Our DFT moduli: the cubic VRH formulas, the stored CSV and its settings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matfusion.ecd.data import vrh_from_tensor
from matfusion.ecd.density import gpaw_available
from matfusion.ecd.dft import (
    DftSettings,
    born_stable,
    compute_cell,
    cubic_vrh,
    load_dft_moduli,
    merge_rows,
    rows_folder,
)


def test_cubic_vrh_agrees_with_the_general_tensor_formula() -> None:
    c11, c12, c44 = 46.2, 11.9, 12.4  # NaCl-like, GPa
    c = np.zeros((6, 6))
    c[:3, :3] = c12
    np.fill_diagonal(c[:3, :3], c11)
    c[3, 3] = c[4, 4] = c[5, 5] = c44
    k, g = cubic_vrh(c11, c12, c44)
    k2, g2 = vrh_from_tensor(c[None])
    assert k == pytest.approx(k2[0]) and g == pytest.approx(g2[0])
    assert k == pytest.approx((c11 + 2 * c12) / 3)


def test_born_stability() -> None:
    assert born_stable(46.2, 11.9, 12.4)
    assert not born_stable(416.6, 70.2, -25.8)  # negative C44
    assert not born_stable(50.0, 60.0, 10.0)  # C11 < C12


def test_settings_reject_unknown_names() -> None:
    assert DftSettings()["ecut_eV"] == 500.0
    assert DftSettings(ecut_eV=350.0)["ecut_eV"] == 350.0
    with pytest.raises(ValueError, match="unknown DFT settings"):
        DftSettings(cutoff=3)


def test_stored_csv_is_consistent() -> None:
    table = load_dft_moduli()
    assert table["id"].is_unique
    assert (table["K_eos_GPa"] > 0).all()
    with_cij = table.dropna(subset=["C11"])
    unstable = with_cij[~with_cij["stable"].astype(bool)]
    assert unstable["G_vrh_GPa"].isna().all()  # no shear modulus for an unstable lattice
    insulators = with_cij[with_cij["stable"].astype(bool)]
    # the E-V and the C_ij bulk moduli are two routes to the same number at the same cutoff:
    # within 10%. Rows stored before the cutoff check covered the E-V scan fitted it at
    # setting_ecut_eV; where their C_ij needed more, the two are not comparable (NaTl2RuF6:
    # 74 GPa at 500 eV, 65 at 800 eV, C_ij 65 at 800 eV).
    ecut_eos = insulators["ecut_eos_eV"].fillna(insulators["setting_ecut_eV"])
    same = insulators[ecut_eos == insulators["ecut_cij_eV"]]
    assert len(same) >= 4
    ratio = same["K_vrh_GPa"] / same["K_eos_GPa"]
    assert ((ratio > 0.9) & (ratio < 1.1)).all()
    new = with_cij[with_cij["ecut_eos_eV"].notna()]  # under the current rule the C_ij
    assert (new["ecut_eos_eV"] == new["ecut_cij_eV"]).all()  # reuse the E-V cutoff
    # Born stability of the cubic crystals we report shear for
    assert (insulators["C11"] > insulators["C12"]).all() and (insulators["C44"] > 0).all()
    assert (insulators["residual_GPa"] <= 2.0).all()  # cutoff checked by the residual stress
    assert {"setting_ecut_eV", "setting_xc", "kpts"} <= set(table.columns)
    # a stored failure is a cell with no usable row (a success forgets it), named by its error
    from matfusion.ecd.dft import load_failures

    failures = load_failures()
    assert not set(failures["id"]) & set(table["id"][table["usable"]])
    assert all(
        e.startswith(f"{i}: ") for i, e in zip(failures["id"], failures["error"], strict=True)
    )


def _row(ident: str, **values) -> dict:
    """A row file's content as a finished task writes it (merge only reads the files)."""
    return {"id": ident, "status": "ok", "row": {"id": ident, **values}}


def _write_rows(path, *docs) -> None:
    import json

    folder = rows_folder(path)
    folder.mkdir(parents=True, exist_ok=True)
    for doc in docs:
        (folder / f"{doc['id']}.json").write_text(json.dumps(doc))


def test_merge_replaces_by_id_in_place_and_is_idempotent(tmp_path) -> None:
    path = tmp_path / "moduli.csv"
    _write_rows(path, _row("b", K_eos_GPa=2.0), _row("a", K_eos_GPa=1.0))
    table = merge_rows(path)
    assert table["id"].tolist() == ["a", "b"]  # new ids in id order, whoever finished first
    # a recomputed row replaces its id in place; a new id is appended; columns are kept
    _write_rows(path, _row("a", K_eos_GPa=3.0))
    _write_rows(path, _row("c", K_eos_GPa=4.0, C11=None, G_vrh_GPa=5.0))
    _write_rows(path, _row("d", K_eos_GPa=6.0, C11=None, G_vrh_GPa=None))
    table = merge_rows(path).set_index("id")
    assert list(table.columns) == ["K_eos_GPa", "C11", "G_vrh_GPa"]
    assert table["K_eos_GPa"].tolist() == [3.0, 2.0, 4.0, 6.0]
    assert table.loc["c", "G_vrh_GPa"] == 5.0 and pd.isna(table.loc["d", "G_vrh_GPa"])
    text, stamp = path.read_text(), path.stat().st_mtime_ns
    merge_rows(path)  # nothing new: the file is not rewritten
    assert path.read_text() == text and path.stat().st_mtime_ns == stamp
    with pytest.raises(FileNotFoundError):
        load_dft_moduli(tmp_path / "none.csv")
    assert merge_rows(tmp_path / "none.csv").empty  # no rows, no CSV: an empty table


def _fake_moduli(structure, label, settings=None, progress=False, gpaw_log=None):
    """compute_moduli's stand-in: a row in no time (a metal: no C_ij)."""
    return {"id": label, "formula": structure.composition.reduced_formula,
            "K_eos_GPa": 1.0, "G_vrh_GPa": None, "seconds": 0.0}  # fmt: skip


def _compute_in_child(path, ident) -> None:
    from pymatgen.core import Lattice, Structure

    import matfusion.ecd.dft as dft

    nacl = Structure(Lattice.cubic(4.0), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    assert dft.compute_cell(ident, nacl, path=path, compute=_fake_moduli) == "ok"


def test_cells_computed_at_once_in_two_processes_merge_into_one_csv(tmp_path) -> None:
    # what SLURM tasks do: each writes only its own row file, no lock; one merge has both
    import multiprocessing

    path = tmp_path / "moduli.csv"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_compute_in_child, args=(path, i)) for i in ("x1", "x2")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    assert sorted(f.name for f in rows_folder(path).glob("*.json")) == ["x1.json", "x2.json"]
    assert not path.exists()  # the tasks never touch the CSV
    assert merge_rows(path)["id"].tolist() == ["x1", "x2"]


def test_a_cell_writes_its_row_file_and_its_gpaw_log_beside_it(tmp_path) -> None:
    from pymatgen.core import Lattice, Structure

    seen = {}

    def fake(structure, label, settings=None, progress=False, gpaw_log=None):
        seen["log"] = gpaw_log
        return _fake_moduli(structure, label)

    al = Structure(Lattice.cubic(2.86), ["Al"], [[0, 0, 0]])
    path = tmp_path / "m.csv"
    assert compute_cell("mp-134", al, path=path, compute=fake) == "ok"
    assert rows_folder(path) == tmp_path / ".m.csv.rows"
    assert seen["log"] == rows_folder(path) / "mp-134.gpaw.txt"
    import json

    doc = json.loads((rows_folder(path) / "mp-134.json").read_text())
    assert doc["status"] == "ok" and doc["row"]["formula"] == "Al"


def test_row_files_from_another_machine_are_merged_and_skipped(tmp_path, monkeypatch) -> None:
    # row folders copied together from several machines: the next batch merges them first,
    # so their cells count as stored and are not computed again
    import matfusion.ecd.dft as dft

    calls = []

    def fake(structure, label, settings=None, progress=False, gpaw_log=None):
        calls.append(label)
        return _fake_moduli(structure, label)

    monkeypatch.setattr(dft, "compute_moduli", fake)
    path = tmp_path / "m.csv"
    _write_rows(path, _row("mp-22862", formula="NaCl", K_eos_GPa=24.0, G_vrh_GPa=None))
    out = dft.run_batch(("NaCl", "Al"), 0, path=path, progress=False)
    assert calls == ["mp-134"]
    assert out.set_index("id").loc["mp-22862", "K_eos_GPa"] == 24.0


needs_gpaw = pytest.mark.skipif(not gpaw_available(), reason="GPAW (the dft extra) not installed")


@needs_gpaw
def test_moduli_name_a_missing_setup_before_any_scf() -> None:
    from pymatgen.core import Lattice, Structure

    from matfusion.ecd.density import DensityError
    from matfusion.ecd.dft import compute_moduli

    tc = Structure(Lattice.cubic(3.9), ["V", "Tc"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    with pytest.raises(DensityError, match="VTc: GPAW has no PBE PAW setup for Tc"):
        compute_moduli(tc, label="VTc")


@needs_gpaw
def test_batch_leaves_out_external_cells_gpaw_cannot_compute(tmp_path, monkeypatch, capsys):
    import matfusion.ecd.dft as dft
    from matfusion.ecd.data import load_external_set

    def fake_moduli(structure, label, settings=None, progress=False, gpaw_log=None):
        return {"id": label, "formula": structure.composition.reduced_formula,
                "K_eos_GPa": 1.0, "G_vrh_GPa": None, "seconds": 0.0}  # fmt: skip

    monkeypatch.setattr(dft, "compute_moduli", fake_moduli)
    external = load_external_set(verbose=False)
    with_tc = external[external["formula"].str.contains("Tc")]
    assert len(with_tc) >= 1  # the WBM set has a Tc compound: the case this guards
    out = dft.run_batch((), len(external), path=tmp_path / "m.csv", progress=False)
    assert "GPAW has no PAW setup for" in capsys.readouterr().out
    assert not set(with_tc["mp_id"]) & set(out["id"])
    magnetic = sum(dft.spin_risk(f) for f in external["formula"])
    # every other non-magnetic cell is computed: nothing else silently dropped
    assert len(out) == len(external) - magnetic - len(with_tc)


@needs_gpaw
def test_rock_salt_elastic_constants_at_cheap_settings_match_the_stored_run(
    capsys, tmp_path
) -> None:
    """The whole C_ij route (E-V fit, residual check, +/- strains, signs, VRH) on NaCl.

    Cheap settings (350 eV, fewer k-points and volumes: ~30 s) must land within 5% of the
    stored 500 eV run, which itself matches the MP moduli (chapter 12).
    """
    from pymatgen.core import Lattice, Structure

    from matfusion.ecd.dft import compute_moduli

    nacl = Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(5.69), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]]
    )
    cheap = DftSettings(ecut_eV=350.0, kpt_density_insulator=2.0, eos_points=5)
    gpaw_log = tmp_path / "nacl.gpaw.txt"
    row = compute_moduli(nacl, label="NaCl", settings=cheap, progress=True, gpaw_log=gpaw_log)
    stored = load_dft_moduli().set_index("formula").loc["NaCl"]
    assert not row["metal"] and row["stable"] and row["pbe_gap_eV"] > 3
    for key in ("C11", "C12", "C44", "K_eos_GPa", "G_vrh_GPa"):
        assert row[key] == pytest.approx(stored[key], rel=0.05), key
    assert row["K_vrh_GPa"] == pytest.approx(row["K_eos_GPa"], rel=0.1)
    assert row["residual_GPa"] <= cheap["cij_max_residual_GPa"]
    assert row["setting_ecut_eV"] == 350.0 and row["setting_eos_points"] == 5
    # the bar counts every SCF: probe, 5 volumes, residual check, 4 strained cells
    assert "11/11" in capsys.readouterr().err
    # GPAW's own output, for watching a slow SCF: every run, in order, in the one file
    assert gpaw_log.read_text().count("SCF iterations") == 11


def test_magnetic_rows_count_only_when_spin_polarised() -> None:
    from matfusion.ecd.dft import INITIAL_MOMENT_MUB, annotate, initial_magmoms

    assert initial_magmoms(["Fe", "Cu", "Au", "Fe"]) == [
        INITIAL_MOMENT_MUB,
        0,
        0,
        INITIAL_MOMENT_MUB,
    ]
    old = pd.DataFrame(
        {
            "formula": ["Fe2CuAu", "NaCl"],
            "C11": [None, 46.0],
            "C12": [None, 12.0],
            "C44": [None, 12.0],
            "G_vrh_GPa": [None, 14.0],
        }  # fmt: skip
    )
    flagged = annotate(old)  # rows stored before spin polarisation existed
    assert flagged["spin_polarized"].tolist() == [False, False]
    assert flagged["ecut_eos_eV"].isna().all()  # nor the E-V cutoff check
    assert flagged["usable"].tolist() == [False, True]
    redone = annotate(old.assign(spin_polarized=[True, None]))
    assert redone["usable"].tolist() == [True, True]


def test_magnetic_batch_takes_only_magnetic_cells_and_redoes_non_spin_rows(
    tmp_path, monkeypatch
) -> None:
    import matfusion.ecd.dft as dft
    from matfusion.ecd.data import load_external_set

    calls = []

    def fake_moduli(structure, label, settings=None, progress=False, gpaw_log=None):
        formula = structure.composition.reduced_formula
        calls.append(formula)
        return {"id": label, "formula": formula, "K_eos_GPa": 1.0, "C11": None, "C12": None,
                "C44": None, "G_vrh_GPa": None, "seconds": 0.0,
                "spin_polarized": dft.spin_risk(formula)}  # fmt: skip

    monkeypatch.setattr(dft, "compute_moduli", fake_moduli)
    path = tmp_path / "m.csv"
    external = load_external_set(verbose=False)
    fe = external[external["formula"] == "Fe2CuAu"]["mp_id"].iloc[0]
    # stored before: Fe2CuAu without spin polarisation
    pd.DataFrame([{"id": fe, "formula": "Fe2CuAu", "K_eos_GPa": 187.6, "C11": None, "C12": None,
                   "C44": None, "G_vrh_GPa": None, "spin_polarized": False}]).to_csv(
        path, index=False)  # fmt: skip
    out = dft.run_batch((), len(external), path=path, progress=False, magnetic=True)
    assert calls and all(dft.spin_risk(f) for f in calls)  # no non-magnetic cell computed
    assert "Fe2CuAu" in calls  # the non-spin row is redone ...
    assert out.set_index("id").loc[fe, "usable"]  # ... and now counts
    n_magnetic = sum(dft.spin_risk(f) for f in external["formula"])
    assert len(calls) == n_magnetic and out["usable"].all()
    calls.clear()
    dft.run_batch((), len(external), path=path, progress=False, magnetic=True)
    assert calls == []  # resumable: nothing left to do
    assert "usable" not in pd.read_csv(path).columns  # derived on load, not stored


class _BirchMurnaghanCalculator:
    """Stand-in for GPAW: energies on a Birch-Murnaghan curve (E0 = -5 eV, K0 = 100 GPa,
    K' = 4) with its minimum at ``v_min``, so the E-V logic is tested in milliseconds."""

    def __init__(self, v_min: float, k0_gpa: float = 100.0) -> None:
        from types import SimpleNamespace

        self.v_min = v_min
        self.k0_gpa = k0_gpa
        self.wfs = SimpleNamespace(kd=SimpleNamespace(N_c=[4, 4, 4]))

    def get_potential_energy(self, atoms) -> float:
        from ase.eos import birchmurnaghan
        from ase.units import GPa

        k0 = self.k0_gpa * GPa
        return float(birchmurnaghan(atoms.get_volume(), -5.0, k0, 4.0, self.v_min))

    def get_property(self, name, atoms, allow_calculation=True):
        return self.get_potential_energy(atoms)

    def get_magnetic_moment(self, atoms=None) -> float:
        return 0.0

    def get_stress(self, atoms):  # at the minimum: no residual stress
        return np.zeros(6)


def _aluminium_on_a_fake_curve(monkeypatch, v_ratio: float):
    """fcc Al with GPAW replaced by a Birch-Murnaghan curve whose minimum is at v_ratio x the
    input volume (a metal: no C_ij), and that input volume."""
    from pymatgen.core import Lattice, Structure

    import matfusion.ecd.dft as dft

    al = Structure.from_spacegroup("Fm-3m", Lattice.cubic(4.04), ["Al"], [[0, 0, 0]])
    v_in = al.get_primitive_structure().volume
    monkeypatch.setattr(dft, "gpaw_available", lambda: True)
    monkeypatch.setattr(dft, "gpaw_unsupported", lambda structures: [])
    monkeypatch.setattr("ase.dft.bandgap.bandgap", lambda calc, output=None: (0.0, None, None))
    monkeypatch.setattr(
        dft, "_calculator", lambda settings, kd, txt=None: _BirchMurnaghanCalculator(v_ratio * v_in)
    )
    return al, v_in


@pytest.mark.parametrize("v_ratio, extra", [(1.0, 0), (1.10, 3), (0.88, 4), (1.19, 8)])
def test_eos_window_follows_a_minimum_outside_it(monkeypatch, v_ratio, extra) -> None:
    from matfusion.ecd.dft import compute_moduli

    al, v_in = _aluminium_on_a_fake_curve(monkeypatch, v_ratio)
    row = compute_moduli(al, label="Al")
    assert row["eos_extra_points"] == extra  # +/-6% in 2% steps: 1.10 needs 1.08, 1.10, 1.12
    assert row["K_eos_GPa"] == pytest.approx(100.0, rel=1e-3)
    assert row["V0_A3"] == pytest.approx(v_ratio * v_in, rel=1e-4)
    assert row["metal"] and row["C11"] is None
    assert row["residual_GPa"] == 0.0 and row["ecut_eos_eV"] == 500.0  # no cutoff raised


def test_eos_minimum_far_outside_the_window_is_one_clear_error(monkeypatch) -> None:
    from matfusion.ecd.density import DensityError
    from matfusion.ecd.dft import compute_moduli

    al, _ = _aluminium_on_a_fake_curve(monkeypatch, 1.5)
    with pytest.raises(DensityError, match="Al: the E-V minimum lies outside volumes x0.94-x1.30"):
        compute_moduli(al, label="Al")


class _PulayCalculator(_BirchMurnaghanCalculator):
    """Below 800 eV: a 5 GPa residual stress and a curve 10% too stiff (an unconverged basis)."""

    def __init__(self, v_min: float, ecut: float) -> None:
        self.converged = ecut >= 800
        super().__init__(v_min, k0_gpa=100.0 if self.converged else 110.0)

    def get_stress(self, atoms):
        from ase.units import GPa

        return np.array([0, 0, 0, 0, 0, 0] if self.converged else [5, 5, 5, 0, 0, 0]) * GPa


def test_a_large_residual_stress_raises_the_cutoff_and_repeats_the_eos(monkeypatch) -> None:
    import matfusion.ecd.dft as dft

    al, v_in = _aluminium_on_a_fake_curve(monkeypatch, 1.0)
    monkeypatch.setattr(
        dft,
        "_calculator",
        lambda settings, kd, txt=None: _PulayCalculator(v_in, settings["ecut_eV"]),
    )
    row = dft.compute_moduli(al, label="Al")
    assert row["ecut_eos_eV"] == 800.0  # 500 -> 800 eV in one 300 eV step
    assert row["K_eos_GPa"] == pytest.approx(100.0, rel=1e-3)  # the 800 eV curve, not 500's
    assert row["residual_GPa"] == 0.0


def test_batch_goes_on_past_a_failed_cell(tmp_path, monkeypatch, capsys) -> None:
    import matfusion.ecd.dft as dft
    from matfusion.ecd.density import DensityError

    def fake_moduli(structure, label, settings=None, progress=False, gpaw_log=None):
        if structure.composition.reduced_formula == "NaCl":
            raise DensityError(f"{label}: Birch-Murnaghan fit failed")
        return {"id": label, "formula": structure.composition.reduced_formula,
                "K_eos_GPa": 1.0, "G_vrh_GPa": None, "seconds": 0.0}  # fmt: skip

    monkeypatch.setattr(dft, "compute_moduli", fake_moduli)
    out = dft.run_batch(("NaCl", "MgO", "Al"), 0, path=tmp_path / "m.csv", progress=False)
    assert out["formula"].tolist() == ["MgO", "Al"]  # the batch went on
    again = dft.run_batch(
        ("MgO", "Al"), 0, path=tmp_path / "m.csv", progress=False, redo=("mp-134",)
    )
    assert again["formula"].tolist() == ["MgO", "Al"] and len(again) == 2  # Al replaced
    printed = capsys.readouterr().out
    assert "FAILED mp-22862: Birch-Murnaghan fit failed" in printed
    assert "1 cell(s) failed, nothing stored for them: mp-22862" in printed


def test_a_failed_cell_is_skipped_by_later_batches_until_redone(tmp_path, monkeypatch, capsys):
    # a cell that failed (a spin-polarised E-V window that never closes) costs its hour once:
    # it is stored with its error, the next batch (or a second process) skips it, and
    # --redo retries it
    import matfusion.ecd.dft as dft
    from matfusion.ecd.density import DensityError

    calls = []
    broken = {"NaCl"}

    def fake_moduli(structure, label, settings=None, progress=False, gpaw_log=None):
        formula = structure.composition.reduced_formula
        calls.append(formula)
        if formula in broken:
            raise DensityError(f"{label}: the E-V minimum lies outside volumes x0.94-x1.18")
        return {"id": label, "formula": formula, "K_eos_GPa": 1.0, "G_vrh_GPa": None,
                "seconds": 0.0}  # fmt: skip

    monkeypatch.setattr(dft, "compute_moduli", fake_moduli)
    path = tmp_path / "m.csv"
    dft.run_batch(("NaCl", "Al"), 0, path=path, progress=False)
    failures = dft.load_failures(path)
    assert failures["id"].tolist() == ["mp-22862"] and failures["formula"].tolist() == ["NaCl"]
    assert failures["error"].iloc[0].startswith("mp-22862: the E-V minimum lies outside")
    assert dft.failures_path(path).name == "m_failures.csv"
    capsys.readouterr()
    out = dft.run_batch(("NaCl", "MgO"), 0, path=path, progress=False)
    assert calls == ["NaCl", "Al", "MgO"]  # NaCl not tried again
    printed = capsys.readouterr().out
    assert "mp-22862: failed before, left out (--redo mp-22862 retries)" in printed
    assert "mp-22862" not in set(out["id"])
    broken.clear()  # fixed: a redo computes it, stores it and drops the note
    out = dft.run_batch(("NaCl",), 0, path=path, progress=False, redo=("mp-22862",))
    assert calls[-1] == "NaCl" and "mp-22862" in set(out["id"])
    assert dft.load_failures(path).empty  # the failure is forgotten once the cell is stored
    assert dft.load_failures(tmp_path / "none.csv").empty


@needs_gpaw
def test_an_scf_that_does_not_converge_is_one_clear_error_naming_the_stage(monkeypatch) -> None:
    # GPAW's own ConvergenceError would end a whole batch; it must become the DensityError
    # the batch notes and goes on past
    from gpaw import KohnShamConvergenceError

    import matfusion.ecd.dft as dft
    from matfusion.ecd.density import DensityError

    al, v_in = _aluminium_on_a_fake_curve(monkeypatch, 1.0)

    class Stubborn(_BirchMurnaghanCalculator):
        error = KohnShamConvergenceError("Did not converge!")

        def get_potential_energy(self, atoms) -> float:
            if atoms.get_volume() > 1.03 * v_in:  # x1.04, the sixth volume of the window, on
                raise self.error
            return super().get_potential_energy(atoms)

    monkeypatch.setattr(dft, "_calculator", lambda settings, kd, txt=None: Stubborn(v_in))
    with pytest.raises(DensityError, match=r"Al: the SCF did not converge \(E-V 6\)"):
        dft.compute_moduli(al, label="Al", progress=True)
    Stubborn.error = KohnShamConvergenceError()  # what GPAW raises at its iteration limit
    with pytest.raises(DensityError, match=r"\(E-V 6\): GPAW stopped at its iteration limit$"):
        dft.compute_moduli(al, label="Al")


def test_dft_command_runs_skips_redoes_and_reports(tmp_path, monkeypatch, capsys) -> None:
    # `matfusion dft` and `matfusion ecd dft` are one command
    import sys

    import matfusion.ecd.dft as dft
    from matfusion.cli import main
    from matfusion.ecd.density import DensityError

    calls = []

    def fake(structure, label, settings=None, progress=False, gpaw_log=None):
        calls.append(label)
        if label == "mp-1265":  # MgO
            raise DensityError(f"{label}: the SCF did not converge (E-V 3)")
        return _fake_moduli(structure, label)

    monkeypatch.setattr(dft, "compute_moduli", fake)
    csv = tmp_path / "m.csv"
    args = ["dft", "--csv", str(csv), "--check", "NaCl,MgO,Al"]
    assert main(args) == 0
    assert calls == ["mp-22862", "mp-1265", "mp-134"]
    assert load_dft_moduli(csv)["id"].tolist() == ["mp-134", "mp-22862"]
    assert dft.load_failures(csv)["id"].tolist() == ["mp-1265"]  # the failed cell
    capsys.readouterr()
    assert main([*args, "--status", "--jobs-dir", str(tmp_path / "jobs")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "done        mp-22862 NaCl"
    assert lines[1].startswith("failed      mp-1265 MgO  (mp-1265: the SCF did not converge")
    assert lines[1].endswith(f"log {tmp_path / '.m.csv.rows' / 'mp-1265.gpaw.txt'})")
    assert lines[-1] == "3 cells: 2 done, 0 pending, 0 running, 1 failed, 0 unsubmitted"
    monkeypatch.setattr(sys, "argv", ["matfusion", "ecd", *args])  # argv None: the shell's
    assert main() == 0 and len(calls) == 3  # the alias: stored rows and failures skipped
    assert main([*args, "--redo", "mp-134"]) == 0  # --redo recomputes a stored row
    assert calls[3:] == ["mp-134"]
    assert main([*args, "--merge"]) == 0 and len(calls) == 4
    assert main([*args, "--wait"]) == 2  # --wait belongs to --executor slurm
    assert "matfusion dft: error: --wait: only with --executor slurm" in capsys.readouterr().err


def _old_row(ident: str, **values):
    """A row stored before the cutoff check covered the E-V scan (settings of the CSV)."""
    settings = {f"setting_{k}": v for k, v in DftSettings.DEFAULTS.items()
                if k != "eos_start_ecut_eV"}  # fmt: skip
    return {"id": ident, "formula": "Al", "n_atoms": 1, "metal": True, "spin_polarized": False,
            "V0_A3": 16.5, "K_eos_GPa": 77.0, "residual_GPa": None, "ecut_cij_eV": None,
            **settings, **values}  # fmt: skip


@pytest.mark.parametrize("ecut, passes", [(500.0, False), (800.0, True)])
def test_cutoff_check_of_an_old_metal_row_is_one_scf_at_its_fitted_volume(
    monkeypatch, ecut, passes
) -> None:
    """The residual the current rule measures after the E-V scan, under the row's settings:
    a basis too small (5 GPa below 800 eV) leaves the row without ``ecut_eos_eV``."""
    import matfusion.ecd.dft as dft

    al, v_in = _aluminium_on_a_fake_curve(monkeypatch, 1.0)
    seen = []

    class Pulay(_PulayCalculator):
        def get_stress(self, atoms):
            seen.append(atoms.get_volume())
            return super().get_stress(atoms)

    def calculator(settings, kd, txt=None):
        seen.append((settings["ecut_eV"], kd))
        return Pulay(v_in, settings["ecut_eV"])

    monkeypatch.setattr(dft, "_calculator", calculator)
    v0 = 1.02 * v_in  # the fitted volume, not the input's
    old = _old_row("x", setting_ecut_eV=ecut, V0_A3=v0, V_input_A3=v_in)
    row = dft.eos_cutoff_check(old, al)
    assert seen[0] == (ecut, 5.0)  # one SCF, the metal k-point density of the row ...
    assert len(seen) == 2 and seen[1] == pytest.approx(v0)  # ... at the fitted volume
    assert row["eos_cutoff_check"] == "one SCF"
    assert row["residual_GPa"] == pytest.approx(0.0 if passes else 5.0)
    assert (row["ecut_eos_eV"] == ecut) if passes else np.isnan(row["ecut_eos_eV"])
    assert row["K_eos_GPa"] == 77.0  # the E-V fit itself is kept as stored


@pytest.mark.parametrize(
    "cij, residual, expected",
    [(500.0, 0.2, (500.0, "C_ij residual")), (500.0, 2.5, (None, "C_ij residual")),
     (800.0, 0.1, (None, "C_ij cutoff raised"))],
)  # fmt: skip
def test_cutoff_check_of_an_insulator_reads_its_stored_residual(cij, residual, expected) -> None:
    from matfusion.ecd.dft import eos_cutoff_check

    row = _old_row("x", metal=False, ecut_cij_eV=cij, residual_GPa=residual)
    out = eos_cutoff_check(row, structure=None)  # no SCF: no structure needed
    ecut, how = expected
    assert out["eos_cutoff_check"] == how and out["eos_check_seconds"] == 0.0
    assert out["ecut_eos_eV"] == ecut if ecut else np.isnan(out["ecut_eos_eV"])


def test_cutoff_checks_write_rows_name_the_redo_and_the_metrics_leave_failures_out(
    tmp_path, monkeypatch, capsys
) -> None:
    import matfusion.ecd.dft as dft

    path = tmp_path / "moduli.csv"
    rows = [_old_row("wbm-1", C11=None, C12=None, C44=None, G_vrh_GPa=None, V_input_A3=16.5),
            _old_row("wbm-2", C11=None, C12=None, C44=None, G_vrh_GPa=None, V_input_A3=16.5),
            _old_row("wbm-3", C11=None, C12=None, C44=None, G_vrh_GPa=None, V_input_A3=16.5,
                     ecut_eos_eV=500.0, residual_GPa=0.3)]  # fmt: skip
    pd.DataFrame(rows).to_csv(path, index=False)
    before = dft.metric_rows(dft.load_dft_moduli(path)).set_index("id")
    assert before["counted"].tolist() == [False, False, True]
    assert "not checked" in before.loc["wbm-1", "reason"]
    monkeypatch.setattr(dft, "_structures_by_id", lambda ids: dict.fromkeys(ids))
    checked = []

    def fake_check(row, structure, log=None):
        checked.append(row["id"])
        residual = 0.4 if row["id"] == "wbm-1" else 3.0
        ecut = 500.0 if residual < 2 else float("nan")
        return {**row, "residual_GPa": residual, "ecut_eos_eV": ecut,
                "eos_cutoff_check": "one SCF", "eos_check_seconds": 1.0}  # fmt: skip

    table = dft.check_eos_cutoffs(path, progress=False, check=fake_check)
    assert checked == ["wbm-1", "wbm-2"]  # the checked row is left alone
    assert "matfusion dft --redo wbm-2" in capsys.readouterr().out
    after = dft.metric_rows(table).set_index("id")
    assert after["counted"].tolist() == [True, False, True]
    assert "residual stress 3.0 GPa" in after.loc["wbm-2", "reason"]
    assert dft.left_out_summary(after[~after["counted"]]) == "cutoff: Al"
    assert table.set_index("id").loc["wbm-3", "residual_GPa"] == 0.3
    # a second run checks nothing again (a failed row waits for --redo) and changes nothing
    text = path.read_text()
    dft.check_eos_cutoffs(path, progress=False, check=fake_check)
    assert checked == ["wbm-1", "wbm-2"] and path.read_text() == text


def test_a_redo_of_a_row_that_failed_its_cutoff_check_starts_one_step_up(
    tmp_path, monkeypatch, capsys
) -> None:
    """The rule would scan at 500 eV again, fail and raise the cutoff: the redo skips that
    scan, and its row still records 500 eV as the setting and 800 eV as the E-V cutoff."""
    import matfusion.ecd.dft as dft

    path = tmp_path / "moduli.csv"
    pd.DataFrame([
        _old_row("failed", eos_cutoff_check="one SCF", ecut_eos_eV=None, residual_GPa=9.9),
        _old_row("passed", eos_cutoff_check="one SCF", ecut_eos_eV=500.0, residual_GPa=0.1),
        _old_row("unchecked"),
    ]).to_csv(path, index=False)  # fmt: skip
    starts = {i: dft.resume_settings(dft._stored_row(i, path), DftSettings())["eos_start_ecut_eV"]
              for i in ("failed", "passed", "unchecked", "new")}  # fmt: skip
    assert starts == {"failed": 800.0, "passed": None, "unchecked": None, "new": None}
    assert "failed: its 500 eV E-V fit failed the cutoff check" in capsys.readouterr().out
    al, v_in = _aluminium_on_a_fake_curve(monkeypatch, 1.0)
    seen = []

    def calculator(settings, kd, txt=None):
        seen.append(settings["ecut_eV"])
        return _PulayCalculator(v_in, settings["ecut_eV"])

    monkeypatch.setattr(dft, "_calculator", calculator)
    assert dft.compute_cell("failed", al, path=path) == "ok"
    row = dft.merge_rows(path).set_index("id").loc["failed"]
    assert seen[0] == 500.0 and set(seen[1:]) == {800.0}  # the probe, then 800 eV only
    assert row["ecut_eos_eV"] == 800.0 and row["setting_ecut_eV"] == 500.0
    assert row["ecut_eos_start_eV"] == 800.0 and row["K_eos_GPa"] == pytest.approx(100.0)
    assert "setting_eos_start_ecut_eV" not in row.index  # per row, not a batch setting


def test_redo_ids_are_computed_whatever_the_batch_size_or_magnetic_filter(tmp_path) -> None:
    """``--redo`` names what to compute again: not only when it is among the ``--external``
    smallest cells still to do, and a magnetic cell without ``--magnetic`` too."""
    import matfusion.ecd.dft as dft
    from matfusion.ecd.data import load_external_set

    external = load_external_set(verbose=False)
    largest = external.assign(n=external["structure_json"].str.len()).sort_values("n")
    big = largest[~largest["formula"].map(dft.spin_risk)]["mp_id"].iloc[-1]
    fe = external[external["formula"] == "Fe2CuAu"]["mp_id"].iloc[0]
    plan = dft.plan_batch((), 0, path=tmp_path / "m.csv", redo=(big, fe))
    assert sorted(c.ident for c in plan if c.status == "todo") == sorted([big, fe])
    plan = dft.plan_batch((), 1, path=tmp_path / "m.csv", redo=(big,))
    todo = [c.ident for c in plan if c.status == "todo"]
    assert big in todo and len(todo) == 2  # the redo does not take the one new cell's slot


def test_spin_check_starts_every_d_metal_ferromagnetic_at_the_fitted_volume(monkeypatch) -> None:
    """One SCF at V0, spin-polarised from INITIAL_MOMENT_MUB on each d metal (Ru, not Mg)."""
    from pymatgen.core import Lattice, Structure

    import matfusion.ecd.dft as dft

    mgru = Structure.from_spacegroup("Pm-3m", Lattice.cubic(3.0), ["Mg", "Ru"],
                                     [[0, 0, 0], [0.5, 0.5, 0.5]])  # fmt: skip
    seen = {}

    class Magnet(_BirchMurnaghanCalculator):
        def get_potential_energy(self, atoms=None):
            seen["moments"] = dict(zip(atoms.get_chemical_symbols(),
                                       atoms.get_initial_magnetic_moments(), strict=True))  # fmt: skip
            seen["volume"] = atoms.get_volume()
            return -5.0

        def get_magnetic_moment(self, atoms=None) -> float:
            return -1.5

    def calculator(settings, kd, txt=None):
        seen["ecut"], seen["kd"] = settings["ecut_eV"], kd
        return Magnet(1.0)

    monkeypatch.setattr(dft, "_calculator", calculator)
    row = _old_row("wbm-x", formula="MgRu", V0_A3=30.0, ecut_eos_eV=800.0)
    out = dft.spin_check(row, mgru)
    assert seen["moments"] == {"Mg": 0.0, "Ru": dft.INITIAL_MOMENT_MUB}
    assert seen["volume"] == pytest.approx(30.0) and (seen["ecut"], seen["kd"]) == (800.0, 5.0)
    assert out["spin_check_magmom_muB"] == -1.5 and out["K_eos_GPa"] == 77.0


def test_spin_checks_run_likeliest_magnets_first_and_leave_magnets_out(
    tmp_path, monkeypatch, capsys
) -> None:
    import matfusion.ecd.dft as dft

    path = tmp_path / "moduli.csv"
    cells = [("wbm-a", "MgRu2", 3), ("wbm-b", "LiTiS2", 4), ("wbm-c", "MgCu2", 3),
             ("wbm-d", "MgAl2", 3), ("wbm-e", "Fe2CuAu", 4), ("mp-1", "Pt", 1)]  # fmt: skip
    pd.DataFrame([_old_row(i, formula=f, n_atoms=n, ecut_eos_eV=500.0, V_input_A3=16.5 * n,
                           V0_A3=16.5 * n, C11=None, C12=None, C44=None, G_vrh_GPa=None)
                  for i, f, n in cells]).to_csv(path, index=False)  # fmt: skip
    monkeypatch.setattr(dft, "_structures_by_id", lambda ids: dict.fromkeys(ids))
    order = []

    def fake(row, structure, log=None):
        order.append(row["formula"])
        moment = 2.0 if row["formula"] == "LiTiS2" else 0.01
        return {**row, "spin_check_magmom_muB": moment, "spin_check_seconds": 1.0}

    table = dft.check_spin(path, progress=False, check=fake)
    # ionic first, then 3d (Cu), then 4d (Ru); no d metal (MgAl2), Cr-Ni (Fe2CuAu) and the
    # MP check rows are not checked
    assert order == ["LiTiS2", "MgCu2", "MgRu2"]
    assert "wbm-b LiTiS2: 2.00 muB per cell from a ferromagnetic start" in capsys.readouterr().out
    rows = dft.metric_rows(table).set_index("id")
    assert rows.loc["wbm-b", "reason"].startswith("spin check: 2.00 muB per cell")
    assert rows.loc[["wbm-a", "wbm-c", "wbm-d"], "counted"].all()
    unpolarised = dft.unpolarised_d_metal_cells(table).set_index("id")
    assert unpolarised.loc["wbm-b", "spin check (muB)"] == 2.0
    dft.check_spin(path, progress=False, check=fake)
    assert len(order) == 3  # checked rows are not checked again


def test_cutoff_check_fails_old_fits_near_the_window_end_and_unconverged_scfs(monkeypatch):
    """An old fit whose minimum sits near an end of the window (the rule would have scanned
    on) fails without an SCF; an SCF GPAW gives up on fails that row, not the batch."""
    from gpaw import ConvergenceError

    import matfusion.ecd.dft as dft

    out = dft.eos_cutoff_check(_old_row("x", V0_A3=1.05, V_input_A3=1.0), structure=None)
    assert out["eos_cutoff_check"] == "E-V minimum near the window's end"
    assert np.isnan(out["ecut_eos_eV"])
    al, v_in = _aluminium_on_a_fake_curve(monkeypatch, 1.0)

    class Stuck(_BirchMurnaghanCalculator):
        def get_stress(self, atoms):
            raise ConvergenceError()

        def get_potential_energy(self, atoms=None):
            raise ConvergenceError()

    monkeypatch.setattr(dft, "_calculator", lambda settings, kd, txt=None: Stuck(v_in))
    out = dft.eos_cutoff_check(_old_row("x", V0_A3=v_in), al)
    assert out["eos_cutoff_check"] == "its SCF did not converge" and np.isnan(out["ecut_eos_eV"])
    table = pd.DataFrame([{**out, "id": "wbm-x", "V_input_A3": v_in, "C11": None, "C12": None,
                           "C44": None, "G_vrh_GPa": None}])  # fmt: skip
    reason = dft.metric_rows(table)["reason"].iloc[0]
    assert reason == ("cutoff: failed its check (its SCF did not converge), the E-V scan needs "
                      "a higher one (--redo)")  # fmt: skip
    spin = dft.spin_check(_old_row("x", formula="Al", V0_A3=v_in), al)
    assert spin["spin_check_error"] and spin["spin_check_magmom_muB"] is None
    flagged = dft.metric_rows(pd.DataFrame([{**spin, "id": "wbm-y", "V_input_A3": v_in,
                                             "ecut_eos_eV": 500.0, "C11": None, "C12": None,
                                             "C44": None, "G_vrh_GPa": None}]))  # fmt: skip
    assert flagged["reason"].iloc[0] == "spin check: the spin-polarised SCF did not converge"


def test_a_redo_keeps_the_spin_check_and_unknown_redo_ids_are_an_error(tmp_path, monkeypatch):
    import matfusion.ecd.dft as dft

    path = tmp_path / "moduli.csv"
    pd.DataFrame([_old_row("x", spin_check_magmom_muB=1.5, spin_check_seconds=9.0)]).to_csv(
        path, index=False
    )
    al, _ = _aluminium_on_a_fake_curve(monkeypatch, 1.0)
    assert dft.compute_cell("x", al, path=path) == "ok"
    row = dft.merge_rows(path).set_index("id").loc["x"]
    assert row["spin_check_magmom_muB"] == 1.5 and row["ecut_eos_eV"] == 500.0
    with pytest.raises(ValueError, match="--redo: wbm-nope not among the batch's cells"):
        dft.plan_batch((), 0, path=path, redo=("wbm-nope",))
