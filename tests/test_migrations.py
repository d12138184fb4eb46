"""Record migrations keep results and move them to the current identity."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from matfusion.ecd.data import contains_any, dataset_sha256, load_ecd_dataset
from matfusion.ecd.fitting import RECORD_VERSION as ECD_RECORD_VERSION
from matfusion.migrations import ECD_DATASET_IDS, migrate_config, migrate_store
from matfusion.results import ResultsStore, key_for


def _ecd_config(data: str, fold: int = 0) -> dict:
    return {
        "experiment": "ecd_cv",
        "record_version": 1,
        "profile": "standard",
        "model": "RF+Magpie",
        "target": "bulk",
        "fold": fold,
        "data_sha256": data,
        "n_materials": 516,
    }


def test_ecd_record_moves_to_its_new_key_with_its_results(tmp_path):
    store = ResultsStore(tmp_path)
    old = _ecd_config("71482be2bffcc2ce")  # the Haswell kernel's hash of the 516-set
    old_path = store.put(old, {"metrics": {"r2": 0.8838791300500664}, "predictions": [1, 2]})
    report = migrate_store(store)
    assert len(report.migrated) == 1 and not report.failed
    assert not old_path.exists()
    new = {**old, "data_sha256": "adfe564ceee4166f", "record_version": ECD_RECORD_VERSION}
    stored = store.get(new)
    assert stored["metrics"]["r2"] == 0.8838791300500664 and stored["predictions"] == [1, 2]
    assert stored["key"] == key_for(new)
    # idempotent: a second pass finds it current
    again = migrate_store(store)
    assert again.current == 1 and not again.migrated


def test_every_kernel_hash_of_one_table_maps_to_one_identity():
    assert len(set(ECD_DATASET_IDS.values())) == 2
    assert migrate_config(_ecd_config("4f07815a8f325e37")) == migrate_config(
        _ecd_config("2a2caca900ad366f")
    )


def test_unknown_table_is_reported_and_left_in_place(tmp_path):
    store = ResultsStore(tmp_path)
    path = store.put(_ecd_config("0123456789abcdef"), {"metrics": {}})
    report = migrate_store(store, dry_run=False)
    assert path.exists() and len(report.failed) == 1
    assert "0123456789abcdef" in report.failed[0][1]


def test_dry_run_changes_nothing(tmp_path):
    store = ResultsStore(tmp_path)
    path = store.put(_ecd_config("2a2caca900ad366f"), {"metrics": {}})
    report = migrate_store(store, dry_run=True)
    assert len(report.migrated) == 1 and path.exists()


def test_a_different_run_at_the_target_key_is_not_overwritten(tmp_path):
    store = ResultsStore(tmp_path)
    store.put(migrate_config(_ecd_config("2a2caca900ad366f")), {"metrics": {"r2": 0.1}})
    path = store.put(_ecd_config("2a2caca900ad366f"), {"metrics": {"r2": 0.9}})
    report = migrate_store(store)
    assert path.exists() and "another run" in report.failed[0][1]
    assert store.get(migrate_config(_ecd_config("2a2caca900ad366f")))["metrics"]["r2"] == 0.1


def test_committed_store_is_fully_migrated():
    report = migrate_store(ResultsStore(), dry_run=True)
    assert not report.migrated and not report.failed, report.summary()


@pytest.mark.slow
def test_new_identities_are_what_the_inputs_give():
    """The mapping's targets are the identities the code computes from the input files."""
    full = load_ecd_dataset(verbose=False)
    without_tc = full[~contains_any(full, ["Tc"])].reset_index(drop=True)
    assert dataset_sha256(full) == "adfe564ceee4166f"
    assert dataset_sha256(without_tc) == "38831883baf29f32"


@pytest.mark.slow
@pytest.mark.parametrize("kernel", ["Haswell", "Sandybridge"])
def test_dataset_identity_does_not_depend_on_the_blas_kernel(kernel):
    code = (
        "from matfusion.ecd.data import dataset_sha256, load_ecd_dataset;"
        "print(dataset_sha256(load_ecd_dataset(verbose=False, use_cache=False)))"
    )
    env = {**os.environ, "OPENBLAS_CORETYPE": kernel}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split()[-1] == "adfe564ceee4166f"


def test_migrate_command_moves_and_reports(tmp_path, capsys):
    from matfusion.cli import main

    store = ResultsStore(tmp_path)
    store.put(_ecd_config("2a2caca900ad366f"), {"metrics": {}})
    store.put(_ecd_config("0123456789abcdef", fold=1), {"metrics": {}})
    assert main(["migrate", "--results", str(tmp_path), "--dry-run"]) == 1
    out = capsys.readouterr()
    assert "would move ecd_cv/standard/" in out.out and "1 records migrated" in out.out
    assert "0123456789abcdef" in out.err
    assert main(["migrate", "--results", str(tmp_path)]) == 1
    assert store.get(migrate_config(_ecd_config("2a2caca900ad366f"))) is not None


def test_density_models_get_the_variant_they_were_trained_with():
    density = {**_ecd_config("2a2caca900ad366f"), "model": "2D-CNN+ECD", "train": {"width": 1024}}
    forest = {**_ecd_config("2a2caca900ad366f"), "train": {"width": 1024}}
    assert migrate_config(density)["train"] == {"width": 1024, "variant": "matfusion-v1"}
    assert migrate_config(forest)["train"] == {"width": 1024}
    assert migrate_config(density)["record_version"] == ECD_RECORD_VERSION == 3
