"""End to end: the CLI trains, caches, predicts and reports bad input on a tiny dataset."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from matfusion.cli import main
from matfusion.data import load_split, parse_formula
from matfusion.experiments import (
    load_test_predictions,
    run_cecv,
    run_config,
    run_training,
    stored_test_values,
    stored_training,
)
from matfusion.profiles import get_profile
from matfusion.results import ResultsStore

TINY = ["--dataset", "matbench_steels", "--fold", "0", "--profile", "smoke", "--quiet"]


@pytest.fixture()
def store_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MATFUSION_RESULTS", str(tmp_path / "results"))
    return tmp_path / "results"


def test_train_then_cache_hit_then_predict(store_dir, capsys) -> None:
    assert main(["train", "--model", "LSTM", *TINY, "--epochs", "2"]) == 0
    first = capsys.readouterr().out
    assert "(trained;" in first
    mae = re.search(r"test MAE (\S+)", first).group(1)
    records = list(store_dir.glob("train/smoke/*.json"))
    assert len(records) == 1
    record = json.loads(records[0].read_text())
    assert record["config"]["model"] == "LSTM" and record["config"]["train"]["epochs"] == 2
    assert len(record["history"]) == 2
    assert record["data_sha256"]["train"] and record["provenance"]["packages"]["torch"]
    assert {"test_mae", "test_rmse", "test_r2", "val_mae"} <= set(record["metrics"])

    assert main(["train", "--model", "LSTM", *TINY, "--epochs", "2"]) == 0
    second = capsys.readouterr().out
    assert "cache hit" in second and f"test MAE {mae}" in second
    assert len(list(store_dir.glob("train/smoke/*.json"))) == 1

    checkpoint = re.search(r"checkpoint: (\S+)", first).group(1)
    assert main(["predict", "--checkpoint", checkpoint, "Fe0.7Cr0.2Ni0.1", "Qq2O", "Fe("]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    value = float(lines[0].split("\t")[1])
    assert value == value  # finite number printed for the good formula
    assert "unknown element 'Qq'" in lines[1]
    assert "error" in lines[2]


def test_predict_all_bad_formulas_exits_nonzero_and_cecv_counts(
    store_dir, tmp_path, capsys
) -> None:
    main(["train", "--model", "DCNN-K1", *TINY, "--epochs", "1"])
    checkpoint = re.search(r"checkpoint: (\S+)", capsys.readouterr().out).group(1)
    assert main(["predict", "--checkpoint", checkpoint, "Zz"]) == 1
    capsys.readouterr()

    out = tmp_path / "cecv.json"
    args = ["cecv", "--checkpoint", checkpoint, "--anchor", "Fe", "--fold", "0", "--out", str(out)]
    assert main([*args, "--thresholds", "0.05,0.2,0.4"]) == 0
    doc = json.loads(out.read_text())
    test = load_split("matbench_steels", "test", fold=0)
    sizes = [len(parse_formula(f)) for f in test["formula"] if "Fe" in parse_formula(f)]
    expected = {str(n): sizes.count(n) for n in sorted(set(sizes)) if n >= 3}
    assert doc["compounds_per_element_count"] == expected
    counts = doc["cecv"]
    assert counts == sorted(counts, reverse=True) and 1 <= counts[-1] <= sum(expected.values())
    assert doc["layer"] == "dcnn_k1"


def test_bad_names_are_clear_errors(store_dir, capsys) -> None:
    assert main(["train", "--model", "LG-DCNN", *TINY]) == 2
    assert "L-G-DCNN" in capsys.readouterr().err  # suggests the close match
    assert main(["train", "--model", "LSTM", "--dataset", "aflow_egap", "--profile", "smoke"]) == 2
    assert "aflow__Egap" in capsys.readouterr().err
    assert main(["predict", "--checkpoint", "/nonexistent.pt", "NaCl"]) == 2
    assert "not found" in capsys.readouterr().err


def test_datasets_lists_all_28(capsys) -> None:
    assert main(["datasets", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 28
    bulk = next(r for r in rows if r["name"] == "aflow__ael_bulk_modulus_vrh")
    assert (bulk["n_train"], bulk["n_val"], bulk["n_test"]) == (3428, 732, 736)


def _paper_like_standard():
    """The paper profile with standard's conventions: only the size differs."""
    return get_profile("paper", conventions=get_profile("standard").conventions)


def test_standard_reuses_a_stored_paper_run(tmp_path) -> None:
    store = ResultsStore(tmp_path)
    other = run_config("LSTM", "matbench_steels", profile=get_profile("paper"), fold=0)
    assert other["conventions"]["name"] != get_profile("standard").conventions
    store.put(other, {"metrics": {"test_mae": 9.0}, "sizes": {"train": 218}})
    # a run under other model conventions is another model: it never stands in
    assert (
        stored_training("LSTM", "matbench_steels", profile="standard", fold=0, store=store) is None
    )
    paper_cfg = run_config("LSTM", "matbench_steels", profile=_paper_like_standard(), fold=0)
    store.put(paper_cfg, {"metrics": {"test_mae": 1.25}, "sizes": {"train": 218}})
    record = run_training(
        "LSTM", "matbench_steels", profile="standard", fold=0, store=store, progress=False
    )
    assert record["metrics"]["test_mae"] == 1.25
    assert record["reused_for_profile"] == "standard" and record["cache_hit"]
    assert len(store.records(experiment="train")) == 2  # nothing new was trained or stored


def test_a_paper_run_does_not_answer_a_resized_or_learning_curve_cell(tmp_path) -> None:
    """A larger profile stands in for the profile as named, not for 100 training rows."""
    from matfusion.grid import cells_to_train, collect_records, grid_cells

    store = ResultsStore(tmp_path)
    paper_cfg = run_config("LSTM", "matbench_steels", profile=_paper_like_standard(), fold=0)
    store.put(paper_cfg, {"metrics": {"test_mae": 1.25}, "sizes": {"train": 218}})
    resized = get_profile("standard", max_train_rows=100)
    assert stored_training("LSTM", "matbench_steels", profile=resized, fold=0, store=store) is None
    assert stored_training("LSTM", "matbench_steels", profile="standard", fold=0, store=store)

    # standard's own cap (3,000 rows) as a learning-curve point: still not the paper run
    cells = grid_cells(["LSTM"], ["matbench_steels"], folds=[0], train_rows=[None, 3000])
    assert [c.train_rows for c in cells] == [None, 3000]
    standard = get_profile("standard")  # the grid functions take a resolved profile
    assert cells_to_train(cells, profile=standard, store=store) == [cells[1]]
    records, missing = collect_records(cells, profile=standard, store=store)
    assert [r["metrics"]["test_mae"] for r in records] == [1.25] and missing == [cells[1]]


def test_grid_trains_learning_curve_cells_of_their_own_size(store_dir, capsys) -> None:
    args = ["grid", "--models", "LSTM", "--datasets", "matbench_steels", "--folds", "0"]
    sized = [*args, "--train-rows", "40,80", "--profile", "smoke", "--epochs", "1"]
    assert main([*sized, "--quiet"]) == 0
    records = [json.loads(p.read_text()) for p in store_dir.glob("train/smoke/*.json")]
    assert sorted(r["sizes"]["train"] for r in records) == [40, 80]
    assert sorted(r["config"]["max_train_rows"] for r in records) == [40, 80]
    capsys.readouterr()
    assert main([*sized, "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "stored    LSTM / matbench_steels fold 0 40 rows",
        "stored    LSTM / matbench_steels fold 0 80 rows",
        "2 cells: 2 stored, 0 to train (profile smoke)",
    ]
    assert main([*args, "--train-rows", "40,ten", "--dry-run"]) == 2
    assert "whole numbers" in capsys.readouterr().err


def test_record_metrics_match_its_stored_predictions(tmp_path) -> None:
    store = ResultsStore(tmp_path)
    record = run_training(
        "DCNN-K1",
        "matbench_steels",
        profile="smoke",
        fold=0,
        epochs=1,
        store=store,
        progress=False,
        keep_checkpoint=False,
    )
    preds = load_test_predictions(record)
    assert len(preds) == record["sizes"]["test"]
    mae = (preds["target"] - preds["prediction"]).abs().mean()
    assert record["metrics"]["test_mae"] == pytest.approx(mae, rel=1e-6)
    assert (preds["uncertainty"] > 0).all()
    assert record["train_settings"]["epochs_run"] == 1
    assert record["checkpoint"] is None
    # the record itself carries the test values: no user cache needed for intervals
    target, prediction = stored_test_values(store.get(record["config"]))
    assert len(target) == len(prediction) == record["sizes"]["test"]
    assert np.abs(target - prediction).mean() == pytest.approx(mae, rel=1e-4)
    Path(record["test_predictions"]).unlink()  # another machine: only the record is there
    assert np.array_equal(stored_test_values(store.get(record["config"]))[1], prediction)


def test_cecv_is_stored_and_a_missing_checkpoint_is_rebuilt(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MATFUSION_RESULTS", str(tmp_path))
    store = ResultsStore(tmp_path)
    record = run_training(
        "LSTM",
        "matbench_steels",
        profile="smoke",
        fold=0,
        epochs=1,
        store=store,
        progress=False,
    )
    first = run_cecv(record, anchor="Fe", store=store)
    assert not first["cache_hit"] and first["layer_used"] == "lstm"
    assert run_cecv(record, anchor="Fe", store=store)["cache_hit"]

    # A committed record on a machine without its checkpoint: retrained to the same weights.
    Path(record["checkpoint"]).unlink()
    # a chapter outside smoke never retrains for an analysis: it gets None and says so
    assert run_cecv(record, anchor="Fe", mode="signed", store=store, retrain=False) is None
    assert len(store.records("cecv")) == 1
    again = run_cecv(record, anchor="Fe", mode="signed", store=store)
    assert not again["cache_hit"] and Path(store.records("train")[0]["checkpoint"]).is_file()
    retrained = store.records("train")[0]
    assert retrained["metrics"]["test_mae"] == pytest.approx(record["metrics"]["test_mae"])
    assert again["compounds_per_element_count"] == first["compounds_per_element_count"]


def test_grid_lists_cells_and_resumes(store_dir, capsys) -> None:
    args = ["grid", "--models", "LSTM,DCNN-K1", "--datasets", "matbench_steels", "--folds", "0,2"]
    assert main([*args, "--profile", "smoke", "--dry-run"]) == 0
    cells = capsys.readouterr().out.strip().splitlines()
    assert cells == [
        "to train  LSTM / matbench_steels fold 0",
        "to train  LSTM / matbench_steels fold 2",
        "to train  DCNN-K1 / matbench_steels fold 0",
        "to train  DCNN-K1 / matbench_steels fold 2",
        "4 cells: 0 stored, 4 to train (profile smoke)",
    ]
    small = ["--models", "LSTM", "--datasets", "matbench_steels", "--folds", "0-1"]
    assert main(["grid", *small, "--profile", "smoke", "--epochs", "1", "--quiet"]) == 0
    assert "0 already stored" in capsys.readouterr().out
    assert len(list(store_dir.glob("train/smoke/*.json"))) == 2
    assert main(["grid", *small, "--profile", "smoke", "--epochs", "1", "--quiet"]) == 0
    assert "2 already stored" in capsys.readouterr().out
    assert main(["grid", *small, "--profile", "smoke", "--epochs", "1", "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == [
        "stored    LSTM / matbench_steels fold 0",
        "stored    LSTM / matbench_steels fold 1",
    ]
    assert main(["grid", "--models", "Nope", "--datasets", "matbench_steels"]) == 2
