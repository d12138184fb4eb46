"""User errors of ``matfusion predict`` and ``matfusion density``: one stderr line, exit 2, no
traceback, and nothing computed or written is lost."""

from __future__ import annotations

import json
import os
import tracemalloc

import numpy as np
import pytest
import torch
from pymatgen.core import Lattice, Structure

import matfusion.ecd.cli as ecd_cli
from matfusion.cli import main
from matfusion.data import element_table
from matfusion.ecd.density import PromolecularProvider
from matfusion.models import build_model
from matfusion.predict import formula_problem, predict_formulas
from matfusion.train import TargetScaler, save_checkpoint

NOT_A_CHECKPOINT = "is not a matfusion checkpoint (expected a file written by `matfusion train`): "


def _one_error_line(err: str, command: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"matfusion {command}: error: ")
    assert "Traceback" not in err
    return lines[0]


# --------------------------------------------------------------------------- predict


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A tiny untrained DCNN-K1 checkpoint (mat2vec table), as `matfusion train` writes it."""
    torch.manual_seed(0)
    model = build_model("DCNN-K1", element_table("mat2vec").vectors, d_model=16)
    path = tmp_path_factory.mktemp("ck") / "m.pt"
    meta = {"config": {"model": "DCNN-K1", "embedding": "mat2vec"}}
    return save_checkpoint(path, model, TargetScaler(2.0, 0.5), meta)


def test_predict_errors_name_each_formula_and_its_position(checkpoint, capsys) -> None:
    formulas = ["NaCl", "Qq2O", "Fe2O3", "Fe("]
    assert main(["predict", "--checkpoint", str(checkpoint), *formulas]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4
    assert lines[1] == "Qq2O\terror: formula 2 of 4 ('Qq2O'): unknown element 'Qq'"
    assert lines[3].startswith("Fe(\terror: formula 4 of 4 ('Fe('): malformed formula")
    assert "row 0" not in "\n".join(lines)
    # the good rows keep exactly the predictions they get on their own
    alone = predict_formulas(checkpoint, ["NaCl", "Fe2O3"])
    assert float(lines[0].split("\t")[1]) == pytest.approx(alone[0]["prediction"], rel=1e-5)
    assert float(lines[2].split("\t")[1]) == pytest.approx(alone[1]["prediction"], rel=1e-5)


def test_formula_problem_names_an_element_without_embedding() -> None:
    table = element_table("magpie")  # has no row for californium (Z=98)
    assert not table.available[98]
    assert formula_problem("NaCl", table) is None
    assert formula_problem("CfO2", table) == (
        "element Cf (Z=98) has no embedding in the 'magpie' table"
    )
    assert formula_problem("Xx", table) == "unknown element 'Xx'"  # no "row 0" prefix


@pytest.mark.parametrize(
    ("formula", "named"),
    [("Fe1e-300O3", "amount of Fe (1e-300)"), ("Fe0.000000001O3", "amount of Fe (1e-09)")],
)
def test_predict_rejects_a_vanishing_amount_instead_of_predicting_o3(
    checkpoint, capsys, formula, named
) -> None:
    assert main(["predict", "--checkpoint", str(checkpoint), formula, "Fe0.001O3"]) == 0
    bad, good = capsys.readouterr().out.strip().splitlines()
    assert bad.startswith(f"{formula}\terror: formula 1 of 2 ('{formula}'): {named}")
    assert good.startswith("Fe0.001O3\t") and "error" not in good
    o3 = predict_formulas(checkpoint, ["O3"])[0]["prediction"]
    assert float(good.split("\t")[1]) != o3  # the dopant is seen, not dropped


class _Foreign:
    """Stands for any Python object pickled into a .pt file."""


def _bad_checkpoint(kind: str, tmp_path):
    path = tmp_path / f"{kind}.pt"
    if kind == "text":
        path.write_text("epoch,loss\n1,0.5\n")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "npy":
        path = tmp_path / "weights.npy"
        np.save(path, np.zeros(3))
    elif kind == "npz":
        with open(path, "wb") as fh:
            np.savez(fh, a=np.zeros(3))
    elif kind == "directory":
        path.mkdir()
    elif kind == "state_dict":
        torch.save({"w": torch.zeros(2)}, path)
    elif kind == "python_object":
        torch.save({"x": _Foreign()}, path)
    return path


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("missing", "file not found"),
        ("text", "cannot read it: it is a text file (starts with 'epoch,loss 1,0.5')"),
        ("empty", "the file is empty (0 bytes)"),
        ("npy", "it is a NumPy .npy array"),
        ("npz", "it is a zip archive without torch data (a NumPy .npz?)"),
        ("directory", "it is a directory"),
        ("state_dict", "it holds a bare state_dict"),
        (
            "python_object",
            "cannot read it: it stores Python objects (test_cli_input_errors._Foreign)",
        ),
    ],
)
def test_unreadable_checkpoint_is_one_line(tmp_path, capsys, kind, reason) -> None:
    path = _bad_checkpoint(kind, tmp_path)
    assert main(["predict", "--checkpoint", str(path), "NaCl"]) == 2
    captured = capsys.readouterr()
    line = _one_error_line(captured.err, "predict")
    assert line.startswith(f"matfusion predict: error: {path} {NOT_A_CHECKPOINT}{reason}")
    assert len(line) - len(str(path)) < 240  # a short reason, not torch's page of advice
    assert captured.out == ""


# --------------------------------------------------------------------------- density


def _nacl() -> Structure:
    return Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(5.69), ["Na", "Cl"], [[0, 0, 0], [0.5] * 3]
    )


@pytest.fixture()
def nacl_cif(tmp_path):
    path = tmp_path / "NaCl.cif"
    _nacl().to(filename=str(path))
    return path


def test_density_out_is_written_exactly_as_named(nacl_cif, tmp_path, capsys) -> None:
    out = tmp_path / "res" / "x.dat"
    assert main(["density", str(nacl_cif), "--grid", "8", "--out", str(out)]) == 0
    assert f"written: {out}\n" in capsys.readouterr().out
    assert sorted(p.name for p in out.parent.iterdir()) == ["x.dat"]  # no .npy, no temp file
    rho = np.load(out)
    assert rho.shape == (8, 8, 8)
    assert rho.mean() * 5.69**3 / 4 == pytest.approx(28.0, abs=1e-3)


def test_density_failed_save_keeps_the_old_file(nacl_cif, tmp_path, capsys, monkeypatch) -> None:
    out = tmp_path / "rho.npy"
    np.save(out, np.arange(3.0))

    def disk_full(fh, arr, *args, **kwargs):
        fh.write(b"\x93NUMPY partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ecd_cli.np, "save", disk_full)
    assert main(["density", str(nacl_cif), "--grid", "8", "--out", str(out)]) == 2
    line = _one_error_line(capsys.readouterr().err, "density")
    assert line == f"matfusion density: error: cannot write --out {out}: No space left on device"
    monkeypatch.undo()
    np.testing.assert_array_equal(np.load(out), np.arange(3.0))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["NaCl.cif", "rho.npy"]


def test_density_unwritable_out_fails_before_computing(
    nacl_cif, tmp_path, capsys, monkeypatch
) -> None:
    computed = []
    monkeypatch.setattr(PromolecularProvider, "compute", lambda *a: computed.append(a))
    for out, why in [
        ("/proc/x.npy", "No such file or directory"),
        (str(tmp_path), "is a directory; give a file name"),
        (str(nacl_cif / "x.npy"), f"{nacl_cif} is a file, not a folder"),
    ]:
        assert main(["density", str(nacl_cif), "--grid", "8", "--out", out]) == 2
        line = _one_error_line(capsys.readouterr().err, "density")
        assert why in line and out in line
    assert computed == []


def test_density_permission_error_is_one_line(nacl_cif, tmp_path, capsys, monkeypatch) -> None:
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(ecd_cli.tempfile, "mkstemp", denied)
    out = tmp_path / "locked" / "x.npy"
    assert main(["density", str(nacl_cif), "--grid", "8", "--out", str(out)]) == 2
    line = _one_error_line(capsys.readouterr().err, "density")
    assert line == f"matfusion density: error: cannot write --out {out}: Permission denied"


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores folder permissions")
def test_density_into_a_read_only_folder(nacl_cif, tmp_path, capsys) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert main(["density", str(nacl_cif), "--grid", "8", "--out", str(locked / "x.npy")]) == 2
    assert "Permission denied" in _one_error_line(capsys.readouterr().err, "density")


def test_density_memory_error_is_one_line(nacl_cif, tmp_path, capsys, monkeypatch) -> None:
    def exhausted(self, structure, grid):
        raise MemoryError

    monkeypatch.setattr(PromolecularProvider, "compute", exhausted)
    out = tmp_path / "x.npy"
    assert main(["density", str(nacl_cif), "--grid", "8", "--out", str(out)]) == 2
    line = _one_error_line(capsys.readouterr().err, "density")
    assert "out of memory computing the promolecular density on a 8^3 grid" in line
    assert not out.exists()


def test_density_grid_upper_bound(nacl_cif, tmp_path, capsys) -> None:
    assert ecd_cli.MAX_GRID == 256
    assert main(["density", str(nacl_cif), "--grid", "257", "--out", str(tmp_path / "x")]) == 2
    line = _one_error_line(capsys.readouterr().err, "density")
    assert "--grid must be at most 256 (paper B uses 60), got 257" in line


def test_grid_memory_estimate_bounds_the_measured_peak() -> None:
    # 400 took 6.6 GB in practice: 400^3 x 8 bytes x 14 copies = 7.2 GB
    assert ecd_cli.grid_memory_estimate(400) == 400**3 * 8 * 14
    assert ecd_cli.grid_memory_estimate(60, "chgcar") == 60**3 * 8 * 7
    provider = PromolecularProvider()
    provider.compute(_nacl(), 8)  # warm the free-atom tables
    tracemalloc.start()
    try:
        provider.compute(_nacl(), 64)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    estimate = ecd_cli.grid_memory_estimate(64)
    assert 0.8 * estimate < peak <= estimate


def test_density_refuses_a_grid_larger_than_available_memory(
    nacl_cif, tmp_path, capsys, monkeypatch
) -> None:
    monkeypatch.setattr(ecd_cli, "available_memory", lambda: 50_000_000)
    out = tmp_path / "x.npy"
    assert main(["density", str(nacl_cif), "--grid", "80", "--out", str(out)]) == 2
    line = _one_error_line(capsys.readouterr().err, "density")
    assert line == (
        "matfusion density: error: --grid 80 needs about 0.1 GB for the promolecular density "
        "(80^3 points x 8 bytes x 14 working copies) but only 0.1 GB is available; "
        "use a smaller --grid"
    )
    assert not out.exists()
    # 60^3 x 112 bytes = 24 MB fits
    assert main(["density", str(nacl_cif), "--grid", "60", "--out", str(out)]) == 0
    assert np.load(out).shape == (60, 60, 60)


def test_available_memory_without_psutil_reads_proc_meminfo(monkeypatch) -> None:
    import sys

    with_psutil = ecd_cli.available_memory()
    monkeypatch.setitem(sys.modules, "psutil", None)  # import psutil now fails
    without = ecd_cli.available_memory()
    assert with_psutil is not None and without is not None
    assert without == pytest.approx(with_psutil, rel=0.5)


def _with_extra_site(species: str, frac: list[float]) -> Structure:
    s = _nacl()
    s.append(species, frac, validate_proximity=False)
    return s


def _write(structure: Structure, kind: str, tmp_path):
    if kind == "json":
        path = tmp_path / "s.json"
        path.write_text(json.dumps(structure.as_dict()))
    elif kind == "poscar":
        path = tmp_path / "POSCAR"
        structure.to(filename=str(path), fmt="poscar")
    else:
        path = tmp_path / "s.cif"
        structure.to(filename=str(path))
    return path


@pytest.mark.parametrize("kind", ["poscar", "json"])
def test_duplicated_site_is_rejected(tmp_path, capsys, kind) -> None:
    path = _write(_with_extra_site("Na", [0, 0, 0]), kind, tmp_path)
    out = tmp_path / "x.npy"
    assert main(["density", str(path), "--grid", "8", "--out", str(out)]) == 2
    line = _one_error_line(capsys.readouterr().err, "density")
    assert line == (
        f"matfusion density: error: {path}: atoms overlap: site 0 (Na at 0.000, 0.000, 0.000) "
        "and site 8 (Na at 0.000, 0.000, 0.000) are 0.000 A apart, below the minimum 0.5 A "
        "(a duplicated site or a wrong cell?)"
    )
    assert not out.exists()


@pytest.mark.parametrize("kind", ["poscar", "json", "cif"])
def test_close_pair_across_the_cell_boundary_is_rejected(tmp_path, capsys, kind) -> None:
    # K at x = 0.97 is 0.171 A from the Na at the origin's periodic image (0.03 x 5.69)
    path = _write(_with_extra_site("K", [0.97, 0, 0]), kind, tmp_path)
    assert main(["density", str(path), "--grid", "8", "--out", str(tmp_path / "x.npy")]) == 2
    line = _one_error_line(capsys.readouterr().err, "density")
    assert "atoms overlap: site " in line  # the CIF reader orders sites its own way
    assert "(Na at 0.000, 0.000, 0.000)" in line and "(K at 0.970, 0.000, 0.000)" in line
    assert "are 0.171 A apart" in line


def test_lone_atom_too_close_to_its_own_image(tmp_path, capsys) -> None:
    s = Structure(Lattice([[3, 0, 0], [0, 3, 0], [0, 0, 0.4]]), ["H"], [[0, 0, 0]])
    path = _write(s, "json", tmp_path)
    assert main(["density", str(path), "--grid", "8", "--out", str(tmp_path / "x.npy")]) == 2
    line = _one_error_line(capsys.readouterr().err, "density")
    assert "site 0 (H at 0.000, 0.000, 0.000) and its own periodic image (image (0, 0, " in line
    assert "are 0.400 A apart, below the minimum 0.5 A" in line


def test_pairs_at_the_threshold_pass_and_cif_duplicates_say_why(tmp_path, capsys) -> None:
    s = Structure(Lattice.cubic(8.0), ["H", "H"], [[0, 0, 0], [0.51 / 8, 0, 0]])
    ecd_cli.check_overlaps(s)  # 0.51 A: accepted
    path = _write(_with_extra_site("Na", [0, 0, 0]), "cif", tmp_path)
    assert main(["density", str(path), "--grid", "8", "--out", str(tmp_path / "x.npy")]) == 2
    line = _one_error_line(capsys.readouterr().err, "density")
    assert "cannot read" in line and "occupancies ([2.0]) sum to > 1" in line


# --------------------------------------------------------------------------- registered names


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["train", "--model", "L-G-DCN", "--dataset", "matbench_steels"],
            "unknown model 'L-G-DCN'; did you mean 'L-G-DCNN', 'L-G-DCNN-V2' or 'L-G-DCNN-V1'? "
            "(valid: RNN, LSTM, ",
        ),
        (  # --model takes peers too: one namespace, one suggestion list
            ["train", "--model", "Crabnet", "--dataset", "matbench_steels"],
            "unknown model 'Crabnet'; did you mean 'CrabNet'? (valid: RNN, ",
        ),
        (
            ["grid", "--models", "L-G-DCNN,Roots", "--datasets", "matbench_steels", "--dry-run"],
            "unknown model 'Roots'; did you mean 'Roost'? (valid: RNN, ",
        ),
        (
            ["train", "--model", "L-G-DCNN", "--dataset", "matbench_steel"],
            "unknown dataset 'matbench_steel'; did you mean 'matbench_steels'",
        ),
        (
            ["train", "--model", "L-G-DCNN", "--dataset", "matbench_steels", "--recipe", "fsat"],
            "unknown recipe 'fsat'; did you mean 'fast'? (valid: crabnet, fast, plateau)",
        ),
        (
            ["grid", "--models", "LSTM", "--datasets", "matbench_steels", "--profile", "smok"],
            "unknown profile 'smok'; did you mean 'smoke'? (valid: smoke, standard, large, paper)",
        ),
        (
            ["ecd", "cv", "--profile", "standrd"],
            "unknown ECD profile 'standrd'; did you mean 'standard'? (valid: smoke, standard, "
            "paper)",
        ),
        (
            ["ecd", "compare", "--profile", "smoke", "--models", "RF+Magpie,2D-CNN"],
            "unknown ECD model '2D-CNN'; did you mean '2D-CNN+ECD' or '3D-CNN+ECD'? (valid: "
            "RF+Magpie, CNN+Magpie, 3D-CNN+ECD, 2D-CNN+ECD, Fusion(Magpie+ECD))",
        ),
        (
            ["density", "NaCl.cif", "--provider", "gpw", "--out", "x.npy"],
            "unknown density provider 'gpw'; did you mean 'gpaw'? (valid: promolecular, gpaw, "
            "chgcar)",
        ),
    ],
)
def test_an_unknown_name_is_one_line_with_the_close_matches(
    argv, expected, tmp_path, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("MATFUSION_RESULTS", str(tmp_path / "results"))
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    captured = capsys.readouterr()
    line = _one_error_line(captured.err, argv[0])
    assert line.startswith(f"matfusion {argv[0]}: error: {expected}")
    assert captured.out == ""
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # nothing stored or written
