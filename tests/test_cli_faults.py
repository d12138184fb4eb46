"""User-facing faults: one stderr line, exit code 2 (130 for Ctrl-C), nothing lost."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from matfusion import experiments
from matfusion.cli import main
from matfusion.config import checkpoints_dir
from matfusion.experiments import run_config, run_training, standin_config, stored_training
from matfusion.grid import grid_cells, parse_folds, parse_seeds
from matfusion.io import sha256_file
from matfusion.profiles import get_profile
from matfusion.results import CorruptRecordError, ResultsStore

TINY = ["--dataset", "matbench_steels", "--fold", "0", "--profile", "smoke", "--quiet"]
SMOKE_1 = run_config("LSTM", "matbench_steels", profile=get_profile("smoke"), fold=0, epochs=1)
BULK = "aflow__ael_bulk_modulus_vrh"


@pytest.fixture()
def store_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MATFUSION_RESULTS", str(tmp_path / "results"))
    return tmp_path / "results"


def one_error_line(capsys, *needles: str) -> str:
    """stderr is exactly one line (no traceback) holding every needle."""
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err
    return err


def side_files(key: str) -> set[Path]:
    return set(checkpoints_dir().glob(f"train-{key}-*"))


# 1. two identical trainings at once -------------------------------------------------------


def test_two_identical_trains_run_once_and_keep_the_first_files(store_dir, tmp_path) -> None:
    """Both processes wait on the lock this test holds; on release one trains, the other is
    answered by its record, and the record describes the files on disk byte for byte."""
    store = ResultsStore(store_dir)
    key = store.key_for(SMOKE_1)
    before = side_files(key)
    env = {**os.environ, "MATFUSION_RESULTS": str(store_dir), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "matfusion.cli", "train", "--model", "LSTM", *TINY]
    procs = []
    with store.lock(SMOKE_1) as lock_path:
        for i in range(2):
            err = (tmp_path / f"err{i}").open("w")
            out = (tmp_path / f"out{i}").open("w")
            procs.append(subprocess.Popen([*cmd, "--epochs", "1"], env=env, stdout=out, stderr=err))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            texts = [(tmp_path / f"err{i}").read_text() for i in range(2)]
            if all("waiting for another process training the same config" in t for t in texts):
                break
            assert all(p.poll() is None for p in procs), texts
            time.sleep(0.2)
        else:
            pytest.fail(f"the processes did not wait on the lock: {texts}")
        assert store.get(SMOKE_1) is None
    assert [p.wait(timeout=90) for p in procs] == [0, 0]
    outs = [(tmp_path / f"out{i}").read_text() for i in range(2)]
    assert sorted("(trained;" in o for o in outs) == [False, True], outs
    assert sum("cache hit" in o for o in outs) == 1
    for i in range(2):
        assert (tmp_path / f"err{i}").read_text().count("waiting for") == 1

    assert len(list(store_dir.glob("train/smoke/*.json"))) == 1
    assert not lock_path.exists()
    record = store.get(SMOKE_1)
    new = side_files(key) - before
    assert new == {Path(record["checkpoint"]), Path(record["test_predictions"])}
    assert sha256_file(record["checkpoint"]) == record["checkpoint_sha256"]
    assert sha256_file(record["test_predictions"]) == record["test_predictions_sha256"]


def test_force_retrains_under_the_lock(tmp_path, monkeypatch) -> None:
    store = ResultsStore(tmp_path)
    store.put(SMOKE_1, {"metrics": {"test_mae": 1.0}})
    held = []

    def fake_train(config, prof, store, **kwargs):
        lock = store.path_for(config).with_name(f".{store.path_for(config).name}.lock")
        fd = os.open(lock, os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held.append(True)
        finally:
            os.close(fd)
        store.put(config, {"metrics": {"test_mae": 2.0}}, overwrite=kwargs["force"])
        return {"metrics": {"test_mae": 2.0}, "cache_hit": False}

    monkeypatch.setattr(experiments, "_train_model", fake_train)
    args = {"profile": "smoke", "fold": 0, "epochs": 1, "store": store, "progress": False}
    assert run_training("LSTM", "matbench_steels", **args)["cache_hit"]  # no lock needed
    assert held == []
    assert run_training("LSTM", "matbench_steels", force=True, **args)["metrics"]["test_mae"] == 2
    assert held == [True]
    assert store.get(SMOKE_1)["metrics"]["test_mae"] == 2.0


# 2. corrupt records -----------------------------------------------------------------------


def test_corrupt_smoke_record_does_not_stop_a_standard_dry_run(store_dir, capsys) -> None:
    store = ResultsStore(store_dir)
    path = store.put(SMOKE_1, {"metrics": {"test_mae": 1.0}})
    path.write_text('{"config": {"experiment": "tr')  # truncated
    args = ["grid", "--models", "LSTM", "--datasets", "matbench_steels", "--folds", "0"]
    assert main([*args, "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # the standard lookup never opened the smoke folder
    assert captured.out.splitlines()[-1] == "1 cells: 0 stored, 1 to train (profile standard)"


def test_corrupt_record_is_an_error_with_its_repair_and_force_replaces_it(
    store_dir, capsys
) -> None:
    assert main(["train", "--model", "LSTM", *TINY, "--epochs", "1"]) == 0
    capsys.readouterr()
    store = ResultsStore(store_dir)
    first = store.get(SMOKE_1)
    path = store.path_for(SMOKE_1)
    path.write_text(path.read_text()[:100])

    assert main(["train", "--model", "LSTM", *TINY, "--epochs", "1"]) == 2
    one_error_line(capsys, "matfusion train: error: corrupt results record", str(path), "--force")
    with pytest.raises(CorruptRecordError, match="delete the file"):
        store.get(SMOKE_1)

    assert main(["train", "--model", "LSTM", *TINY, "--epochs", "1", "--force"]) == 0
    assert "(trained;" in capsys.readouterr().out
    record = store.get(SMOKE_1)
    assert record["checkpoint"] != first["checkpoint"]
    assert sha256_file(record["checkpoint"]) == record["checkpoint_sha256"]
    assert Path(first["checkpoint"]).is_file()  # the corrupt record no longer named it

    # A forced rerun over a sound record removes the files only the replaced record named.
    assert main(["train", "--model", "LSTM", *TINY, "--epochs", "1", "--force"]) == 0
    latest = store.get(SMOKE_1)
    assert not Path(record["checkpoint"]).exists()
    assert not Path(record["test_predictions"]).exists()
    assert Path(latest["checkpoint"]).is_file() and Path(latest["test_predictions"]).is_file()


# 3. grid --folds --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("folds", "datasets", "needle"),
    [
        ("3-1", "matbench_steels", "range '3-1' does not ascend"),
        ("9", "matbench_steels", "matbench_steels has folds 0-4, not 9"),
        ("0,0", "matbench_steels", "fold 0 is listed twice"),
        ("0-2,1", "matbench_steels", "fold 1 is listed twice"),
        ("x", "matbench_steels", "'x' is not a fold number"),
        ("0", "matbench_steels,aflow__Egap", "aflow__Egap has one fixed split and no folds"),
    ],
)
def test_bad_folds_are_one_line_errors(store_dir, capsys, folds, datasets, needle) -> None:
    args = ["grid", "--models", "LSTM", "--datasets", datasets, "--folds", folds, "--dry-run"]
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing listed before the error
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert captured.err.startswith("matfusion grid: error: --folds:") and needle in captured.err


def test_folds_parse_and_check_in_the_library() -> None:
    assert parse_folds("0-2,4") == [0, 1, 2, 4] and parse_folds("3-3") == [3]
    assert parse_folds(None) is None
    with pytest.raises(ValueError, match="no fold given"):
        grid_cells(["LSTM"], ["matbench_steels"], folds=[])
    cells = grid_cells(["LSTM"], ["matbench_steels", "aflow__Egap"])
    assert [c.fold for c in cells] == [0, 1, 2, 3, 4, None]


# 4. a larger profile stands in only for the same seed, width, ... ---------------------------


def test_paper_run_stands_in_only_for_its_own_seed_and_width(store_dir, capsys) -> None:
    store = ResultsStore(store_dir)
    same = get_profile("standard").conventions  # other conventions are another model
    paper = get_profile("paper", conventions=same)
    store.put(run_config("L-G-DCNN", BULK, profile=paper), {"metrics": {"test_mae": 7.0}})
    wide = get_profile("paper", d_model=256, conventions=same)
    store.put(run_config("L-G-DCNN", BULK, profile=wide, seed=1), {"metrics": {"test_mae": 8.0}})

    found = stored_training("L-G-DCNN", BULK, profile="standard", store=store)
    assert found["metrics"]["test_mae"] == 7.0 and found["reused_for_profile"] == "standard"
    assert stored_training("L-G-DCNN", BULK, profile="standard", seed=1, store=store) is None
    assert stored_training("L-G-DCNN", BULK, profile="standard", seed=0, store=store)

    args = ["grid", "--models", "L-G-DCNN", "--datasets", BULK, "--seeds", "0,1", "--dry-run"]
    assert main(args) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"stored    L-G-DCNN / {BULK} seed 0",
        f"to train  L-G-DCNN / {BULK} seed 1",
        "2 cells: 1 stored, 1 to train (profile standard)",
    ]


def test_standin_config_changes_only_the_size() -> None:
    standard = run_config("L-G-DCNN", BULK, profile=get_profile("standard"), seed=3)
    paper = get_profile("paper", conventions=get_profile("standard").conventions)
    want = standin_config(standard, paper)
    assert want == run_config("L-G-DCNN", BULK, profile=paper, seed=3)
    changed = {k for k in standard if standard[k] != want[k]}
    assert changed == {"profile", "max_train_rows", "max_eval_rows", "train"}
    train_changed = {k for k in standard["train"] if standard["train"][k] != want["train"][k]}
    assert train_changed == {"recipe", "epochs"}
    # peers: the epoch budget differs, the forest's trees or CrabNet's width do not
    for peer in ("CrabNet", "RF-Magpie"):
        cfg = run_config(peer, "matbench_steels", profile=get_profile("standard"), fold=0)
        paper = run_config(peer, "matbench_steels", profile=get_profile("paper"), fold=0)
        assert standin_config(cfg, get_profile("paper")) == paper


# 5. seeds, thresholds, Ctrl-C -------------------------------------------------------------


def test_negative_seeds_are_refused_up_front(store_dir, capsys) -> None:
    assert main(["train", "--model", "LSTM", *TINY, "--seed", "-5"]) == 2
    one_error_line(capsys, "matfusion train: error: --seed: -5 is not a non-negative")
    for seeds, needle in [("1,-5", "'-5'"), ("a", "'a'"), ("0,0", "seed 0 is listed twice")]:
        args = ["grid", "--models", "LSTM", "--datasets", "matbench_steels", "--seeds", seeds]
        assert main([*args, "--dry-run"]) == 2
        one_error_line(capsys, "matfusion grid: error: --seeds:", needle)
    assert parse_seeds("0, 2") == [0, 2] and parse_seeds(None) == [None]
    with pytest.raises(ValueError, match="non-negative"):
        run_training("LSTM", "matbench_steels", profile="smoke", fold=0, seed=-5)
    assert not list(store_dir.glob("train/*/*.json"))


@pytest.mark.parametrize(
    ("thresholds", "needle"),
    [
        ("a,b", "--thresholds: 'a' is not a number"),
        ("0.1,,0.2", "--thresholds: '' is not a number"),
        ("0.1,-0.2", "--thresholds: -0.2 is outside [0, 2]"),
        ("3", "--thresholds: 3 is outside [0, 2]"),
        ("nan", "--thresholds: nan is outside [0, 2]"),
    ],
)
def test_bad_thresholds_name_the_option(tmp_path, capsys, thresholds, needle) -> None:
    missing = str(tmp_path / "none.pt")  # checked before the checkpoint is even opened
    assert main(["cecv", "--checkpoint", missing, "--thresholds", thresholds]) == 2
    one_error_line(capsys, f"matfusion cecv: error: {needle}")


def test_ctrl_c_is_one_line_and_exit_130(store_dir, monkeypatch, capsys) -> None:
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(experiments, "run_training", interrupted)
    assert main(["train", "--model", "LSTM", *TINY]) == 130
    assert capsys.readouterr().err == "matfusion train: interrupted\n"
    monkeypatch.setattr("matfusion.grid.run_grid", interrupted)
    assert (
        main(["grid", "--models", "LSTM", "--datasets", "matbench_steels", "--folds", "0"]) == 130
    )
    assert capsys.readouterr().err == "matfusion grid: interrupted\n"


def test_waiting_lock_is_released_and_removed(tmp_path, capsys) -> None:
    """A config's lock file is gone after use, so the committed results folder stays clean."""
    store = ResultsStore(tmp_path)
    with store.lock(SMOKE_1) as path:
        assert path.is_file() and path.name.startswith(".")
    assert not path.exists()
    with store.lock(SMOKE_1, waiting="never printed"):
        pass
    assert capsys.readouterr().err == ""
    assert [p.name for p in path.parent.iterdir()] == []
