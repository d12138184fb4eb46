"""Tests of matfusion.data: wheel integrity, registry, formula validation, element tables,
shared files. Real-data tests use the default cache (fetched once); integrity tests use tmp
caches so they never touch it."""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from matfusion.config import repo_root
from matfusion.data import (
    DATASETS,
    SHARED_FILES,
    SHARED_SHA256,
    DataIntegrityError,
    DataValidationError,
    FormulaError,
    MissingDataError,
    canonical_composition,
    crabnet_data_root,
    crabnet_wheel,
    dataset_summary,
    element_table,
    get_dataset,
    list_datasets,
    load_split,
    parse_formula,
    shared_path,
    split_path,
    split_sha256,
    validate_frame,
)
from matfusion.data import shared as shared_mod
from matfusion.data.crabnet_wheel import (
    CRABNET_SHA256,
    ENV_CRABNET_WHEEL,
    cached_wheel_path,
    ensure_wheel,
)

# A local copy of the wheel: the verified download kept in the user cache by the first
# crabnet_data_root() call (scripts/setup.sh makes that call before the tests run).
ensure_wheel()
_WHEEL_CANDIDATES = [
    os.environ.get(ENV_CRABNET_WHEEL, ""),
    str(cached_wheel_path()),
]
LOCAL_WHEEL = next((Path(p) for p in _WHEEL_CANDIDATES if p and Path(p).is_file()), None)


def _paper_csv(name: str) -> Path:
    for base in (
        repo_root() / "src" / "matfusion" / "paper_numbers",
        repo_root().parent / "shared" / "paper",
    ):
        if (base / name).is_file():
            return base / name
    pytest.skip(f"{name} not available")


def _csv_rows(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for _ in fh) - 1


# --------------------------------------------------------------------------- wheel integrity


def test_corrupted_wheel_raises_and_leaves_cache_empty(tmp_path, monkeypatch):
    bad = tmp_path / "crabnet-2.0.8-py3-none-any.whl"
    if LOCAL_WHEEL is not None:
        shutil.copyfile(LOCAL_WHEEL, bad)
        with open(bad, "r+b") as fh:  # flip one byte in the middle
            fh.seek(1_000_000)
            byte = fh.read(1)
            fh.seek(1_000_000)
            fh.write(bytes([byte[0] ^ 0xFF]))
    else:
        bad.write_bytes(b"PK\x03\x04 not really a wheel")
    actual = hashlib.sha256(bad.read_bytes()).hexdigest()
    cache = tmp_path / "cache"
    monkeypatch.setenv("MATFUSION_CACHE", str(cache))
    monkeypatch.setenv(ENV_CRABNET_WHEEL, str(bad))

    with pytest.raises(DataIntegrityError) as info:
        crabnet_data_root()
    message = str(info.value)
    assert CRABNET_SHA256 in message and actual in message
    assert not (cache / "crabnet-2.0.8").exists()
    assert [p.name for p in cache.iterdir()] == []  # temp folder cleaned up too


def test_missing_local_wheel_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("MATFUSION_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv(ENV_CRABNET_WHEEL, str(tmp_path / "nope.whl"))
    with pytest.raises(MissingDataError, match="nope.whl"):
        crabnet_data_root()


@pytest.mark.skipif(LOCAL_WHEEL is None, reason="no local copy of the crabnet wheel")
def test_local_wheel_extracts_once_and_repairs_a_bad_marker(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("MATFUSION_CACHE", str(cache))
    monkeypatch.setenv(ENV_CRABNET_WHEEL, str(LOCAL_WHEEL))

    root = crabnet_data_root()
    assert root == cache / "crabnet-2.0.8" / "crabnet" / "data"
    assert (root / "benchmark_data" / "OQMD_Bandgap" / "train.csv").is_file()
    assert (root / "element_properties" / "mat2vec.csv").is_file()
    top = {p.name for p in (cache / "crabnet-2.0.8" / "crabnet").iterdir()}
    assert top == {"data"}  # only crabnet/data/** is extracted
    marker = cache / "crabnet-2.0.8" / ".matfusion-extracted.json"
    meta = json.loads(marker.read_text())
    assert meta["sha256"] == CRABNET_SHA256 and meta["files"] == 301

    # Second call: marker check only, no hashing of the wheel.
    def boom(*_a, **_k):
        raise AssertionError("wheel re-hashed")

    monkeypatch.setattr(crabnet_wheel, "sha256_file", boom)
    assert crabnet_data_root() == root
    monkeypatch.undo()
    monkeypatch.setenv("MATFUSION_CACHE", str(cache))
    monkeypatch.setenv(ENV_CRABNET_WHEEL, str(LOCAL_WHEEL))

    # A marker naming another hash means "not ours": the folder is rebuilt.
    marker.write_text(json.dumps({"sha256": "0" * 64}))
    (root / "element_properties" / "mat2vec.csv").unlink()
    assert crabnet_data_root() == root
    assert (root / "element_properties" / "mat2vec.csv").is_file()
    assert json.loads(marker.read_text())["sha256"] == CRABNET_SHA256
    assert sorted(p.name for p in cache.iterdir()) == ["crabnet-2.0.8"]


# --------------------------------------------------------------------------- registry


def test_registry_has_18_extended_and_10_matbench_matching_the_paper_tables():
    extended = list_datasets("extended")
    matbench = list_datasets("matbench")
    assert len(extended) == 18 and len(matbench) == 10 and len(DATASETS) == 28
    paper_ext = pd.read_csv(_paper_csv("extended_benchmarks_mae.csv"))
    assert set(extended) == set(paper_ext["dataset"])
    paper_mb = pd.read_csv(_paper_csv("matbench_mae.csv"))
    assert dict(zip(paper_mb["task"], paper_mb["crabnet_cv_dir"], strict=True)) == {
        n: DATASETS[n].folder for n in matbench
    }
    for info in DATASETS.values():
        assert info.property and info.unit and info.source
    assert get_dataset("matbench_log_gvrh").folder == "elasticity_log10(G_VRH)"
    assert get_dataset("matbench_log_gvrh").unit == "log10(GPa)"
    assert get_dataset("matbench_perovskites").folder == "castelli"
    assert get_dataset("matbench_steels").unit == "MPa"
    assert get_dataset("OQMD_Volume_per_atom").unit == "A^3/atom"
    assert get_dataset("aflow__agl_thermal_expansion_300K").unit == "1/K"


def test_unknown_dataset_suggests_close_names():
    with pytest.raises(KeyError, match="OQMD_Bandgap"):
        get_dataset("OQMD_Bandgp")
    with pytest.raises(KeyError, match="matbench_steels"):
        get_dataset("matbench_steel")


def test_each_matbench_task_has_five_folds_and_fold_rules():
    for name in list_datasets("matbench"):
        info = get_dataset(name)
        assert info.n_folds == 5 and info.folds == [0, 1, 2, 3, 4]
        for fold in info.folds:
            for split in ("train", "val", "test"):
                assert split_path(name, split, fold).is_file()
        with pytest.raises(ValueError, match="fold"):
            split_path(name, "train")
        with pytest.raises(ValueError, match="fold"):
            split_path(name, "train", 5)
    assert get_dataset("mp_e_hull").folds == [None]
    assert split_path("matbench_steels", "val", np.int64(2)).name == "val2.csv"
    with pytest.raises(ValueError, match="fold must be None"):
        split_path("mp_e_hull", "train", 0)
    with pytest.raises(ValueError, match="split"):
        split_path("mp_e_hull", "training")


def test_row_counts_match_the_csv_files():
    cases = [
        ("mp_bulk_modulus", "test", None),
        ("matbench_steels", "train", 0),
        ("aflow__ael_debye_temperature", "val", None),
        ("matbench_jdft2d", "test", 3),
    ]
    for name, split, fold in cases:
        path = split_path(name, split, fold)
        df = load_split(name, split, fold)
        assert list(df.columns) == ["formula", "target"]
        assert df["target"].dtype == np.float64
        assert len(df) == _csv_rows(path)
        raw = pd.read_csv(path)
        np.testing.assert_array_equal(df["target"].to_numpy(), raw["target"].to_numpy())
    assert len(load_split("mp_bulk_modulus", "test")) == 947
    assert len(load_split("matbench_steels", "train", 0)) == 225


def test_dataset_summary_counts_rows_without_parsing():
    summary = dataset_summary().set_index("name")
    assert len(summary) == 28
    assert {"kind", "property", "unit", "n_train", "n_val", "n_test", "n_folds"} <= set(
        summary.columns
    )
    assert summary.loc["OQMD_Bandgap", "n_train"] == 239125
    assert summary.loc["mp_bulk_modulus", "n_test"] == 947
    assert summary.loc["matbench_steels", ["n_train", "n_val", "n_test"]].tolist() == [
        225,
        24,
        63,
    ]
    assert summary.loc["matbench_steels", "n_folds"] == 5
    assert pd.isna(summary.loc["mp_e_hull", "n_folds"])


def test_split_sha256_is_the_hash_of_the_raw_bytes():
    path = split_path("matbench_steels", "test", 1)
    digest = split_sha256("matbench_steels", "test", 1)
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest != split_sha256("matbench_steels", "test", 2)


# --------------------------------------------------------------------------- formulas


def test_parse_formula_values():
    assert parse_formula("Fe2O3") == {"Fe": 2.0, "O": 3.0}
    assert parse_formula(" Ag(AuF4)2 ") == {"Ag": 1.0, "Au": 2.0, "F": 8.0}
    steel = parse_formula("Fe0.620C0.000953Ni0.192")
    assert steel == {"Fe": 0.62, "C": 0.000953, "Ni": 0.192}


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("Xx2O3", "unknown element 'Xx'"),
        ("Na0Cl", "positive"),
        ("Fe0.0O", "positive"),
        ("Na-1Cl", "positive"),
        ("", "empty"),
        ("   ", "empty"),
        ("Na((Cl", "malformed"),
        ("nacl", "malformed"),
        ("Fe1e999O", "not finite"),
        (float("nan"), "missing"),
        (None, "missing"),
        (3, "string"),
    ],
)
def test_parse_formula_errors(text, pattern):
    with pytest.raises(FormulaError, match=pattern):
        parse_formula(text)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("Fe1e-300O3", r"amount of Fe \(1e-300\) is below pymatgen's tolerance 1e-08"),
        ("Fe0.000000001O3", r"amount of Fe \(1e-09\) is below pymatgen's tolerance"),
        ("(Fe1e-300O)3", r"amount of Fe \(3e-300\)"),
        ("Fe0.000002O3", r"amount of Fe \(2e-06\) is 6.7e-07 of the formula's total 3"),
    ],
)
def test_vanishing_amounts_are_rejected_not_dropped(text, pattern):
    """pymatgen would silently turn these into O3; each names the element and amount."""
    with pytest.raises(FormulaError, match=pattern):
        parse_formula(text)


def test_min_fraction_threshold_keeps_real_dopants():
    from matfusion.data.formulas import MIN_FRACTION

    assert MIN_FRACTION == 1e-6
    assert parse_formula("Fe0.001O3") == {"Fe": 0.001, "O": 3.0}
    assert parse_formula("Fe0.000004O3") == {"Fe": 4e-6, "O": 3.0}  # 1.3e-6 of the total
    zs, fr = canonical_composition("Fe0.001O3")
    assert zs == (8, 26) and fr == pytest.approx((3 / 3.001, 0.001 / 3.001), rel=1e-12)


def test_dropped_amount_found_without_pymatgens_private_parser(monkeypatch):
    """If pymatgen's private parser goes away, the written symbols are compared instead."""
    import matfusion.data.formulas as formulas

    monkeypatch.setattr(formulas, "_raw_amounts", lambda text: None)
    with pytest.raises(FormulaError, match="amount of Fe is below pymatgen's tolerance"):
        parse_formula("Fe1e-300O3")
    assert parse_formula("D2O") == {"H": 2.0, "O": 1.0}  # isotope symbol is not "lost"


def test_canonical_composition_sorted_by_z_and_normalised():
    zs, fr = canonical_composition("O3Fe2")
    assert zs == (8, 26)
    assert fr == pytest.approx((0.6, 0.4))
    zs, fr = canonical_composition("Ag(AuF4)2")
    assert zs == (9, 47, 79)
    assert math.fsum(fr) == pytest.approx(1.0, abs=1e-15)
    assert fr == pytest.approx((8 / 11, 1 / 11, 2 / 11))


def _frame(formulas, targets):
    return pd.DataFrame({"formula": formulas, "target": targets})


def test_validate_reject_lists_every_bad_row():
    df = _frame(
        ["NaCl", "Xx2O3", "KBr", "NaCl3", "Fe2O3", "LiF", "Na0Cl"],
        [1.0, 2.0, float("nan"), float("inf"), "abc", 3.0, 1.0],
    )
    with pytest.raises(DataValidationError) as info:
        validate_frame(df, source="toy")
    msg = str(info.value)
    assert msg.startswith("toy: 5 invalid rows:")
    assert "row 1 ('Xx2O3'): unknown element 'Xx'" in msg
    assert "row 2 ('KBr'): target is NaN" in msg
    assert "row 3 ('NaCl3'): target is +inf" in msg
    assert "row 4 ('Fe2O3'): target 'abc' is not a number" in msg
    assert "row 6 ('Na0Cl'): amounts must be positive" in msg
    assert "row 0" not in msg and "row 5" not in msg
    assert info.value.n_bad == 5


def test_validate_reject_caps_the_listing_at_ten():
    df = _frame([f"Xx{i + 1}" for i in range(25)], [1.0] * 25)
    with pytest.raises(DataValidationError) as info:
        validate_frame(df)
    msg = str(info.value)
    assert "25 invalid rows" in msg and "... and 15 more" in msg
    assert "row 9 " in msg and "row 10 " not in msg
    assert len(info.value.problems) == 25


def test_validate_drop_invalid_reports_count(capsys):
    df = _frame(["NaCl", "Xx2O3", "KBr", None], [1.0, 2.0, -np.inf, 4.0])
    out = validate_frame(df, invalid="drop", source="toy")
    assert out["formula"].tolist() == ["NaCl"]
    assert out.index.tolist() == [0]
    assert "toy: dropped 3 invalid rows" in capsys.readouterr().out


def test_validate_duplicates_average(capsys):
    df = _frame(["NaCl", "KBr", " NaCl", "LiF", "NaCl", "KBr"], [1.0, 5.0, 2.0, 0.5, 4.0, 6.0])
    out = validate_frame(df, source="toy")
    assert out["formula"].tolist() == ["NaCl", "KBr", "LiF"]
    assert out["target"].tolist() == pytest.approx([7.0 / 3.0, 5.5, 0.5], abs=1e-15)
    assert "toy: averaged 2 duplicated formulas (5 rows -> 2)" in capsys.readouterr().out


def test_validate_duplicates_drop_keeps_first(capsys):
    df = _frame(["NaCl", "KBr", "NaCl", "NaCl"], [1.0, 5.0, 2.0, 4.0])
    out = validate_frame(df, duplicates="drop", source="toy")
    assert out.to_dict("list") == {"formula": ["NaCl", "KBr"], "target": [1.0, 5.0]}
    assert "toy: dropped 2 duplicate rows" in capsys.readouterr().out


def test_validate_duplicates_reject_names_rows():
    df = _frame(["NaCl", "KBr", "NaCl", "LiF", "NaCl", "KBr"], [1.0] * 6)
    with pytest.raises(DataValidationError) as info:
        validate_frame(df, duplicates="reject", source="toy")
    msg = str(info.value)
    assert "toy: 2 duplicated formulas" in msg
    assert "formula 'NaCl' in rows 0, 2, 4" in msg
    assert "formula 'KBr' in rows 1, 5" in msg


def test_validate_checks_columns_and_policies():
    with pytest.raises(DataValidationError, match="missing column"):
        validate_frame(pd.DataFrame({"formula": ["NaCl"]}))
    with pytest.raises(ValueError, match="duplicates"):
        validate_frame(_frame(["NaCl"], [1.0]), duplicates="mean")  # type: ignore[arg-type]


def test_invalid_csv_reports_row(tmp_path):
    # validate_frame on a user CSV: the row number is the 0-based data row.
    path = tmp_path / "user.csv"
    path.write_text("formula,target\nNaCl,1\nKBr,\nLiF,2\n")
    raw = pd.read_csv(path, keep_default_na=False, na_values={"target": [""]})
    with pytest.raises(DataValidationError, match=r"row 1 \('KBr'\): target is NaN"):
        validate_frame(raw)


# --------------------------------------------------------------------------- element tables


@pytest.mark.parametrize(("name", "dim"), [("mat2vec", 200), ("onehot", 118)])
def test_element_table_shapes_and_z_mapping(name, dim):
    table = element_table(name)
    assert table.vectors.shape == (119, dim) and table.vectors.dtype == np.float32
    assert table.dim == dim and table.n_elements == 118
    assert not table.vectors[0].any()
    assert table.available.shape == (119,)
    assert not table.available[0] and table.available[1:].all()
    assert table.symbols[7] == "O" and table.symbols[0] == "H" and len(table.symbols) == 118
    raw = pd.read_csv(crabnet_data_root() / "element_properties" / f"{name}.csv", index_col=0)
    np.testing.assert_allclose(table.vectors[8], raw.loc["O"].to_numpy(np.float32))
    np.testing.assert_allclose(table.vectors[26], raw.loc["Fe"].to_numpy(np.float32))
    np.testing.assert_allclose(table.vectors[118], raw.loc["Og"].to_numpy(np.float32))
    assert element_table(name) is table  # cached
    with pytest.raises(ValueError):
        table.vectors[1, 0] = 1.0  # shared, so read-only


def test_onehot_table_is_identity_by_z():
    table = element_table("onehot")
    np.testing.assert_array_equal(table.vectors[1:], np.eye(118, dtype=np.float32))


def test_unknown_element_table():
    with pytest.raises(KeyError, match="mat2vec"):
        element_table("mat2vex")


# --------------------------------------------------------------------------- shared files


def test_shared_registry_is_consistent_with_local_files():
    assert set(SHARED_FILES) == set(SHARED_SHA256)
    base = repo_root().parent / "shared" / "data"
    present = [r for r in SHARED_FILES if (base / r).is_file()]
    if not present:
        pytest.skip("no shared data folder on this machine")
    for rel in present:
        assert hashlib.sha256((base / rel).read_bytes()).hexdigest() == SHARED_SHA256[rel], rel


def test_shared_path_prefers_env_dir(tmp_path, monkeypatch):
    rel = "chgcar/Mg_hcp_CHGCAR.gz"
    (tmp_path / "chgcar").mkdir()
    (tmp_path / rel).write_bytes(b"x")
    monkeypatch.setenv("MATFUSION_DATA_DIR", str(tmp_path))
    assert shared_path(rel) == tmp_path / rel


def test_shared_path_missing_and_unknown(tmp_path, monkeypatch):
    monkeypatch.setenv("MATFUSION_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("MATFUSION_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(shared_mod, "repo_root", lambda: tmp_path / "repo")
    with pytest.raises(MissingDataError, match="no registered source"):
        shared_path("nothing/here.json")
    with pytest.raises(MissingDataError, match="download disabled"):
        shared_path("chgcar/Mg_hcp_CHGCAR.gz", download=False)
    with pytest.raises(MissingDataError, match="baderkit"):
        shared_path("chgcar/Ag4_spin_CHGCAR.gz")


def test_shared_download_is_verified_and_saved_atomically(tmp_path, monkeypatch):
    rel = "elasticity/mp_elastic_tensors_val_clean.json"
    local = repo_root().parent / "shared" / "data" / rel
    if not local.is_file():
        pytest.skip("no shared data folder on this machine")
    monkeypatch.setenv("MATFUSION_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("MATFUSION_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(shared_mod, "repo_root", lambda: tmp_path / "repo")

    def tampered(url, dest):
        dest.write_bytes(b"{}")

    monkeypatch.setattr(shared_mod, "_fetch_url", tampered)
    with pytest.raises(DataIntegrityError, match=SHARED_SHA256[rel]):
        shared_path(rel)
    assert not (tmp_path / "cache" / "shared" / rel).exists()

    seen = []

    def good(url, dest):
        seen.append(url)
        shutil.copyfile(local, dest)

    monkeypatch.setattr(shared_mod, "_fetch_url", good)
    path = shared_path(rel)
    assert path == tmp_path / "cache" / "shared" / rel
    assert seen == [SHARED_FILES[rel]]
    assert path.read_bytes() == local.read_bytes()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp leftovers
    assert shared_path(rel) == path and len(seen) == 1  # cached: no second download
