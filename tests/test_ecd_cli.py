"""``matfusion density`` and ``matfusion ecd``: output files, printed counts, and one clear error
for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from matfusion.cli import main
from matfusion.data import shared_path
from matfusion.data.errors import MissingDataError
from matfusion.ecd.models import ECD_MODELS


@pytest.fixture()
def nacl_files(tmp_path):
    s = Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(5.69), ["Na", "Cl"], [[0, 0, 0], [0.5] * 3]
    )
    cif = tmp_path / "NaCl.cif"
    s.to(filename=str(cif))
    poscar = tmp_path / "POSCAR"
    s.to(filename=str(poscar), fmt="poscar")
    js = tmp_path / "nacl.json"
    js.write_text(json.dumps(s.as_dict()))
    return {"cif": cif, "poscar": poscar, "json": js}


@pytest.mark.parametrize("kind", ["cif", "poscar", "json"])
def test_density_writes_grid_and_prints_count(nacl_files, kind, tmp_path, capsys) -> None:
    out = tmp_path / f"{kind}.npy"
    assert main(["density", str(nacl_files[kind]), "--grid", "12", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "grid 12x12x12" in text and "integrated electrons 28.0000" in text
    rho = np.load(out)
    assert rho.shape == (12, 12, 12)
    assert rho.mean() * 5.69**3 / 4 == pytest.approx(28.0, abs=1e-3)


def test_density_of_a_chgcar(tmp_path, capsys) -> None:
    try:
        path = shared_path("chgcar/Mg_hcp_CHGCAR.gz", download=False)
    except MissingDataError:
        pytest.skip("Mg CHGCAR not available locally")
    out = tmp_path / "mg.npy"
    assert (
        main(["density", str(path), "--provider", "chgcar", "--grid", "10", "--out", str(out)]) == 0
    )
    text = capsys.readouterr().out
    assert "integrated electrons 4.0000 (valence" in text
    assert np.load(out).shape == (10, 10, 10)


@pytest.mark.parametrize(
    ("content", "provider", "message"),
    [
        (None, "promolecular", "no such structure file"),
        ("garbage\n", "promolecular", "cannot read"),
        ("garbage\n", "chgcar", "cannot read"),
    ],
)
def test_density_bad_input_is_one_clear_error(tmp_path, capsys, content, provider, message) -> None:
    path = tmp_path / "input.cif"
    if content is not None:
        path.write_text(content)
    code = main(["density", str(path), "--provider", provider, "--out", str(tmp_path / "x.npy")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("matfusion density: error:") and message in err
    assert "Traceback" not in err
    assert not (tmp_path / "x.npy").exists()


def test_density_rejects_a_tiny_grid(nacl_files, tmp_path, capsys) -> None:
    assert (
        main(["density", str(nacl_files["cif"]), "--grid", "1", "--out", str(tmp_path / "y.npy")])
        == 2
    )
    assert "at least 2" in capsys.readouterr().err


def test_sweep_cli_names_an_unknown_model_before_any_run(tmp_path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "matfusion.cli", "ecd", "compare-loeo", "--profile", "smoke",
         "--models", "RF+Magpie,2D-CNN"],
        capture_output=True, text=True, env={**os.environ, "MATFUSION_RESULTS": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "matfusion ecd: error: unknown ECD model '2D-CNN'; did you mean '2D-CNN+ECD' or "
        "'3D-CNN+ECD'? (valid: RF+Magpie, CNN+Magpie, 3D-CNN+ECD, 2D-CNN+ECD, Fusion(Magpie+ECD))"
    )
    assert not any(tmp_path.iterdir())  # nothing trained or stored


def test_external_sweep_stores_one_run_per_model_and_target(tmp_path) -> None:
    env = {**os.environ, "MATFUSION_RESULTS": str(tmp_path), "MATFUSION_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "matfusion.cli", "ecd", "external", "--profile", "smoke",
         "--quiet"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "external: 10 records (10 new)" in done.stdout
    stored = [json.loads(p.read_text()) for p in (tmp_path / "ecd_external").rglob("*.json")]
    assert sorted((d["config"]["model"], d["config"]["target"]) for d in stored) == sorted(
        (m, t) for m in ECD_MODELS for t in ("bulk", "shear")
    )
    again = subprocess.run(
        [sys.executable, "-m", "matfusion.cli", "ecd", "external", "--profile", "smoke",
         "--quiet"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert "external: 10 records (0 new)" in again.stdout


def test_sweep_models_and_targets_split_the_work(tmp_path) -> None:
    env = {**os.environ, "MATFUSION_RESULTS": str(tmp_path), "MATFUSION_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "matfusion.cli", "ecd", "cv", "--profile", "smoke", "--quiet",
         "--models", "RF+Magpie", "--targets", "shear"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    stored = [json.loads(p.read_text()) for p in (tmp_path / "ecd_cv").rglob("*.json")]
    assert {(d["config"]["model"], d["config"]["target"]) for d in stored} == {
        ("RF+Magpie", "shear")
    }
    assert len(stored) == 2  # smoke: two folds
    bad = subprocess.run(
        [sys.executable, "-m", "matfusion.cli", "ecd", "cv", "--profile", "smoke",
         "--targets", "bulk,hardness"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert bad.returncode == 2 and "--targets must name bulk and/or shear" in bad.stderr
