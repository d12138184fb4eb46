"""Tests of the results store and provenance."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from matfusion import provenance
from matfusion.results import (
    CorruptRecordError,
    RecordExistsError,
    ResultsStore,
    cached_run,
    canonical_json,
    key_for,
)

CONFIG = {"experiment": "fig4", "dataset": "oqmd", "model": "L-G-DCNN", "seed": 0}
RECORD = {"metrics": {"test_mae": 0.05, "val_mae": 0.04}, "provenance": {"git_commit": None}}


@pytest.fixture
def store(tmp_path):
    return ResultsStore(tmp_path / "results")


def test_key_is_stable_and_order_free():
    shuffled = dict(reversed(list(CONFIG.items())))
    assert key_for(CONFIG) == key_for(shuffled)
    assert len(key_for(CONFIG)) == 16
    assert canonical_json({"b": 1, "a": [1, 2]}) == '{"a":[1,2],"b":1}'
    assert key_for({**CONFIG, "seed": np.int64(0)}) == key_for(CONFIG)
    assert key_for({**CONFIG, "seed": 1}) != key_for(CONFIG)
    assert ResultsStore.key_for(CONFIG) == key_for(CONFIG)


def test_put_get_layout(store):
    assert store.get(CONFIG) is None
    path = store.put(CONFIG, RECORD)
    assert path == store.root / "fig4" / f"{key_for(CONFIG)}.json"
    got = store.get(dict(reversed(list(CONFIG.items()))))
    assert got["metrics"]["test_mae"] == 0.05
    assert got["config"] == CONFIG
    assert got["key"] == key_for(CONFIG)


def test_put_refuses_overwrite(store):
    store.put(CONFIG, RECORD)
    with pytest.raises(RecordExistsError, match="overwrite=True"):
        store.put(CONFIG, {"metrics": {"test_mae": 9.0}})
    assert store.get(CONFIG)["metrics"]["test_mae"] == 0.05
    store.put(CONFIG, {"metrics": {"test_mae": 9.0}}, overwrite=True)
    assert store.get(CONFIG)["metrics"]["test_mae"] == 9.0


def test_config_needs_experiment(store):
    with pytest.raises(KeyError, match="experiment"):
        store.put({"dataset": "x"}, RECORD)
    with pytest.raises(ValueError, match="safe"):
        store.put({"experiment": "../evil"}, RECORD)


def test_corrupt_record_raises(store):
    path = store.put(CONFIG, RECORD)
    path.write_text("{not json")
    with pytest.raises(CorruptRecordError, match=str(path.name)):
        store.get(CONFIG)


@pytest.mark.parametrize("target", ["results.dumps_readable", "os.replace"])
def test_put_is_atomic(store, monkeypatch, target):
    """A crash while the record is serialised (inside the temp-file write) or renamed."""
    import matfusion.results

    def boom(*args, **kwargs):
        raise OSError("simulated crash")

    module, name = target.split(".")
    monkeypatch.setattr({"results": matfusion.results, "os": os}[module], name, boom)
    with pytest.raises(OSError, match="simulated"):
        store.put(CONFIG, RECORD)
    monkeypatch.undo()
    assert store.get(CONFIG) is None
    assert store.records() == []
    folder = store.root / "fig4"
    assert list(folder.iterdir()) == []  # no stray temp file either


def test_records_and_frame(store):
    for seed in range(3):
        for model in ("LSTM", "DCNN"):
            cfg = {**CONFIG, "model": model, "seed": seed}
            store.put(cfg, {"metrics": {"test_mae": 0.1 * seed + (model == "DCNN")}})
    store.put({"experiment": "other", "x": 1}, {"metrics": {"test_mae": 1.0}})
    assert len(store.records()) == 7
    assert len(store.records("fig4")) == 6
    assert len(store.records("fig4", model="LSTM")) == 3
    assert len(store.records(model="LSTM", seed=2)) == 1
    assert store.records(model="nope") == []
    df = store.frame("fig4")
    assert len(df) == 6
    assert {"key", "experiment", "dataset", "model", "seed", "test_mae"} <= set(df.columns)
    lstm = df[df.model == "LSTM"].sort_values("seed")
    np.testing.assert_allclose(lstm.test_mae, [0.0, 0.1, 0.2])


def test_cached_run_hits(store):
    calls = []

    def compute():
        calls.append(1)
        return {"metrics": {"test_mae": 0.5}}

    first = cached_run(store, CONFIG, compute)
    second = cached_run(store, CONFIG, compute)
    assert len(calls) == 1
    assert first["cache_hit"] is False and second["cache_hit"] is True
    assert second["metrics"] == {"test_mae": 0.5}
    assert "provenance" in second
    on_disk = json.loads(store.path_for(CONFIG).read_text())
    assert "cache_hit" not in on_disk


def test_cached_run_force_recomputes_and_replaces(store):
    cached_run(store, CONFIG, lambda: {"metrics": {"test_mae": 0.5}})
    again = cached_run(store, CONFIG, lambda: {"metrics": {"test_mae": 0.25}}, force=True)
    assert again["cache_hit"] is False and again["metrics"] == {"test_mae": 0.25}
    assert store.get(CONFIG)["metrics"] == {"test_mae": 0.25}
    assert not list(store.path_for(CONFIG).parent.glob(".*.lock"))  # the lock file is gone


def test_cached_run_waits_for_the_lock_and_then_reuses_the_record(store):
    """A second process asking for a config being computed waits, then finds the record
    stored meanwhile instead of computing it again."""
    import threading

    calls = []
    result = {}

    def compute():
        calls.append(1)
        return {"metrics": {"test_mae": 0.75}}

    with store.lock(CONFIG):
        waiter = threading.Thread(
            target=lambda: result.update(cached_run(store, CONFIG, compute, waiting="waiting"))
        )
        waiter.start()
        waiter.join(timeout=0.5)
        assert waiter.is_alive()  # blocked on the lock, not computing
        store.put(CONFIG, {"metrics": {"test_mae": 0.5}})  # the holder's record
    waiter.join(timeout=10)
    assert not waiter.is_alive()
    assert calls == [] and result["cache_hit"] is True
    assert result["metrics"] == {"test_mae": 0.5}


def test_provenance(tmp_path):
    assert provenance.git_commit(tmp_path) is None
    info = provenance.collect(tmp_path)
    assert info["git_commit"] is None and info["git_dirty"] is None
    assert set(info["packages"]) >= {"torch", "numpy", "pandas", "pymatgen", "matfusion"}
    assert info["hardware"]["cores"] >= 1
    assert info["python"].count(".") == 2
    json.dumps(info)
    f = tmp_path / "f.bin"
    f.write_bytes(b"abc")
    assert provenance.sha256_file(f) == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_profile_gets_its_own_folder_and_records_finds_both(tmp_path):
    store = ResultsStore(tmp_path)
    smoke = {"experiment": "train", "profile": "smoke", "model": "LSTM"}
    plain = {"experiment": "train", "model": "LSTM"}
    assert store.put(smoke, {"metrics": {"mae": 1.0}}).parent == tmp_path / "train" / "smoke"
    assert store.put(plain, {"metrics": {"mae": 2.0}}).parent == tmp_path / "train"
    assert [r["metrics"]["mae"] for r in store.records("train", model="LSTM")] == [2.0, 1.0]
    assert len(store.records("train", profile="smoke")) == 1
    with pytest.raises(ValueError, match="not a safe folder name"):
        store.path_for({"experiment": "train", "profile": "../escape"})


def test_listings_skip_a_corrupt_record_with_one_warning(store, capsys):
    """A corrupt file stops only the work that needs it: get() of it, not a listing."""
    for seed in range(2):
        store.put({**CONFIG, "seed": seed}, RECORD)
    bad = store.path_for({**CONFIG, "seed": 1})
    bad.write_text('{"config": {"experi')
    assert [r["config"]["seed"] for r in store.records("fig4")] == [0]
    assert len(store.frame()) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1  # warned once, though the store was listed twice
    assert str(bad) in err and "delete the file" in err and "--force" in err
    with pytest.raises(CorruptRecordError, match="--force"):
        store.get({**CONFIG, "seed": 1})
    assert store.get({**CONFIG, "seed": 1}, skip_corrupt=True) is None
    bad.write_text(json.dumps({"config": {**CONFIG, "seed": 2}}))  # valid JSON, wrong key
    with pytest.raises(CorruptRecordError, match="different config"):
        store.get({**CONFIG, "seed": 1})


def test_profile_filter_reads_only_that_profile(tmp_path, capsys):
    store = ResultsStore(tmp_path)
    base = {"experiment": "train", "model": "LSTM"}
    store.put({**base, "profile": "standard"}, {"metrics": {"mae": 1.0}})
    store.put(base, {"profile": "standard", "metrics": {"mae": 2.0}})  # profile-less config
    store.put({**base, "profile": "smoke"}, {"metrics": {"mae": 3.0}}).write_text("{")
    found = store.records("train", profile="standard")
    assert sorted(r["metrics"]["mae"] for r in found) == [1.0, 2.0]
    assert capsys.readouterr().err == ""  # the corrupt smoke file was never opened
    assert len(store.records("train")) == 2
    assert "smoke" in capsys.readouterr().err


def test_lock_makes_a_second_holder_wait(store, capsys):
    import threading
    import time

    entered = threading.Event()

    def second():
        with store.lock(CONFIG, waiting="waiting for the other holder"):
            entered.set()

    with store.lock(CONFIG) as path:
        worker = threading.Thread(target=second)
        worker.start()
        time.sleep(0.3)
        assert not entered.is_set()
    worker.join(timeout=10)
    assert entered.is_set() and not path.exists()
    assert capsys.readouterr().err == "waiting for the other holder\n"


def test_lock_goes_on_unlocked_where_the_file_system_cannot_flock(tmp_path, monkeypatch, capsys):
    import errno
    import fcntl

    from matfusion import results

    def no_flock(fd, op):
        raise OSError(errno.ENOSYS, "Function not implemented")

    monkeypatch.setattr(fcntl, "flock", no_flock)
    monkeypatch.setattr(results, "_warned_no_flock", set())
    store = ResultsStore(tmp_path)
    config = {"experiment": "demo", "x": 1}
    with store.lock(config):
        store.put(config, {"metrics": {}})
    with store.lock(config):
        pass
    assert store.get(config) is not None
    assert capsys.readouterr().err.count("cannot be locked") == 1  # warned once per folder


def test_lookup_log_marks_optional_sections(tmp_path, monkeypatch):
    import json

    from matfusion.results import optional_lookups

    log = tmp_path / "lookups.jsonl"
    monkeypatch.setenv("MATFUSION_LOOKUP_LOG", str(log))
    monkeypatch.setenv("MATFUSION_CHAPTER", "11_demo")
    store = ResultsStore(tmp_path / "store")
    store.put({"experiment": "demo", "x": 1}, {"metrics": {}})
    store.get({"experiment": "demo", "x": 1})
    with optional_lookups():
        store.get({"experiment": "demo", "x": 2})
    first, second = (json.loads(line) for line in log.read_text().splitlines())
    assert first["found"] and first["chapter"] == "11_demo" and "optional" not in first
    assert not second["found"] and second["optional"]
