"""Executors without a SLURM cluster: the cluster file, submitit parameters, task states from
the jobs folder (with the queue stood in for), resubmission, and a grid cell run through
submitit's local executor. tests/test_slurm.py runs the same paths on a real SLURM."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import cloudpickle
import pytest

from matfusion import executors
from matfusion.cli import main
from matfusion.cluster import DEFAULTS, Resources, load_cluster
from matfusion.executors import Task, TaskState, submit, task_states, wait_for
from matfusion.grid import cell_key, grid_cells, grid_scope, submit_grid
from matfusion.profiles import get_profile
from matfusion.results import ResultsStore

GRID = ["grid", "--models", "LSTM", "--datasets", "matbench_steels", "--profile", "smoke"]


def test_cluster_file_defaults_sections_and_units(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    builtin = load_cluster().resources("profile.paper")  # no ./matfusion.toml
    assert builtin == Resources() and DEFAULTS["time"] == "04:00:00" and builtin.time_min == 240
    (tmp_path / "matfusion.toml").write_text(
        """
[defaults]
partition = "cpu"
account = "proj"
cpus = 2
mem = 3
time = 90

[profile.paper]
partition = "gpu"
gpus = 1
time = "1-02:30:00"
mem = "500M"
max_running = 8

[dft]
qos = "long"
time = "00:30:00"
"""
    )
    config = load_cluster()  # found in the working directory
    paper = config.resources("profile.paper")
    assert (paper.partition, paper.account, paper.gpus, paper.cpus) == ("gpu", "proj", 1, 2)
    assert (paper.time_min, paper.mem_mb, paper.max_running) == (1590, 500, 8)
    smoke = config.resources("profile.smoke")  # no section: the defaults
    assert (smoke.partition, smoke.time_min, smoke.mem_mb, smoke.gpus) == ("cpu", 90, 3072, 0)
    dft = config.resources("dft")
    assert (dft.qos, dft.time_min, dft.partition) == ("long", 30, "cpu")


@pytest.mark.parametrize(
    "text, needle",
    [
        ("[defaults]\ngpu = 1", "[defaults]: unknown key 'gpu' (known: account, cpus,"),
        ("[profile.papr]\ngpus = 1", "unknown profile section [profile.papr] (profiles: smoke"),
        ("[slurm]\ncpus = 1", "unknown section or key 'slurm'"),
        ("[dft]\ntime = '24h'", "[dft]: time '24h' is not minutes or [D-]HH:MM:SS"),
        ("[defaults]\nmem = 'lots'", "[defaults]: mem 'lots' is not a size such as 16G or 500M"),
        ("[profile.paper]\ncpus = 0", "[profile.paper]: cpus must be a whole number >= 1, got 0"),
        ("[defaults]\npartition = ''", "[defaults]: partition must be a non-empty string"),
        ("[defaults\n", "not valid TOML"),
    ],
)
def test_a_bad_cluster_file_is_one_clear_error(tmp_path, text, needle) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ValueError) as err:
        load_cluster(path)
    assert needle in str(err.value) and str(err.value).startswith(str(path))


def test_grid_cli_names_a_bad_or_missing_cluster_file(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("MATFUSION_RESULTS", str(tmp_path / "results"))
    bad = tmp_path / "c.toml"
    bad.write_text("[defaults]\ngpu = 1\n")
    for where, needle in ((bad, "unknown key 'gpu'"), (tmp_path / "no.toml", "no cluster file")):
        args = [*GRID, "--folds", "0", "--executor", "slurm", "--cluster", str(where)]
        assert main(args) == 2
        err = capsys.readouterr().err
        assert err.startswith("matfusion grid: error: ") and needle in err
        assert len(err.strip().splitlines()) == 1


def test_submitit_parameters_carry_the_resources_and_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("MATFUSION_RESULTS", "/data/my results")
    monkeypatch.delenv("MATFUSION_DATA_DIR", raising=False)
    res = Resources("gpu", "proj", "high", time_min=90, gpus=2, cpus=8, mem_mb=2048, max_running=5)
    params = executors._parameters(res, "slurm", "job")
    assert {k: params[k] for k in ("slurm_partition", "slurm_account", "slurm_qos")} == {
        "slurm_partition": "gpu",
        "slurm_account": "proj",
        "slurm_qos": "high",
    }
    assert (params["timeout_min"], params["cpus_per_task"], params["mem_gb"]) == (90, 8, 2.0)
    assert (params["gpus_per_node"], params["slurm_array_parallelism"]) == (2, 5)
    setup = params["slurm_setup"]
    assert "export MATFUSION_RESULTS='/data/my results'" in setup  # quoted for the shell
    assert "export MATFUSION_NUM_THREADS=${MATFUSION_NUM_THREADS:-8}" in setup
    assert not any("MATFUSION_DATA_DIR" in line for line in setup)
    cpu_only = executors._parameters(Resources(), "slurm", "job")
    assert "gpus_per_node" not in cpu_only and "slurm_partition" not in cpu_only
    local = executors._parameters(res, "local", "job")
    assert "local_setup" in local and not any(k.startswith("slurm_") for k in local)


def _square_or_fail(x: int) -> int:
    """A task; pickled by value (below): the task process cannot import this test module."""
    if x == 1:
        raise ValueError("one is not allowed")
    if x == 2:
        os.kill(os.getpid(), signal.SIGKILL)  # a task killed from outside: no result at all
    return x * x


cloudpickle.register_pickle_by_value(sys.modules[__name__])


def test_local_tasks_end_finished_failed_with_the_error_or_lost(tmp_path) -> None:
    folder = tmp_path / "jobs"
    tasks = [Task(f"k{i}", f"cell {i}", (i,)) for i in range(3)]
    quick = Resources(cpus=1, time_min=5)
    ids = submit(_square_or_fail, tasks, scope="s", resources=quick, folder=folder, cluster="local")
    assert len(ids) == 3 and len(list((folder / "manifests").glob("*.json"))) == 1
    states = wait_for(["k0", "k1", "k2", "k3"], scope="s", folder=folder, poll_s=0.2)
    assert states["k0"].state == "finished"
    assert (states["k1"].state, states["k1"].reason) == ("failed", "ValueError: one is not allowed")
    assert (states["k2"].state, states["k2"].reason) == ("failed", "ended without a result")
    assert states["k2"].log == folder / f"{ids[2]}_0_log.err"
    assert states["k3"].state == "unsubmitted"
    assert task_states(["k0"], scope="another store", folder=folder)["k0"].state == "unsubmitted"


def _manifest(folder: Path, scope: str, entries: list[tuple[str, str]], stamp: str) -> None:
    """A submission as ``submit`` records it: (key, job id) per task, on SLURM."""
    tasks = [
        {"key": key, "label": key, "job_id": job, "log": str(folder / f"{job}_0_log.err"),
         "stdout": "", "result": str(folder / f"{job}_0_result.pkl")}
        for key, job in entries
    ]  # fmt: skip
    (folder / "manifests").mkdir(parents=True, exist_ok=True)
    doc = {"scope": scope, "cluster": "slurm", "submitted": stamp, "tasks": tasks}
    (folder / "manifests" / f"{stamp}.json").write_text(json.dumps(doc))


def test_status_from_the_queue_and_resubmission_of_failed_cells_only(
    tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("MATFUSION_RESULTS", str(tmp_path / "results"))
    store, folder, smoke = ResultsStore(), tmp_path / "jobs", get_profile("smoke")
    cells = grid_cells(["LSTM"], ["matbench_steels"], folds=[0, 1, 2, 3, 4])
    keys = [cell_key(cell, smoke, None) for cell in cells]
    # fold 0 ran out of time in a first submission, then was resubmitted and is running;
    # fold 1 waits; fold 2 was cancelled; fold 3 left the queue without a result; 4 never sent
    _manifest(folder, grid_scope(store), [(keys[0], "7_0")], "2026-01-01T00:00:00")
    later = [(keys[0], "9_0"), (keys[1], "9_1"), (keys[2], "9_2"), (keys[3], "9_3")]
    _manifest(folder, grid_scope(store), later, "2026-01-02T00:00:00")
    queue = {"7_0": "TIMEOUT", "9_0": "RUNNING", "9_1": "PENDING", "9_2": "CANCELLED"}
    monkeypatch.setattr(executors, "_slurm_queue", lambda: queue)
    monkeypatch.setattr(executors, "_sacct_states", lambda ids: {})  # no accounting here
    assert main([*GRID, "--status", "--jobs-dir", str(folder)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "running     LSTM / matbench_steels fold 0  (job 9_0)",
        "pending     LSTM / matbench_steels fold 1  (job 9_1)",
        "failed      LSTM / matbench_steels fold 2  (job 9_2: ended as CANCELLED; "
        f"log {folder}/9_2_0_log.err)",
        "failed      LSTM / matbench_steels fold 3  (job 9_3: ended without a result; "
        f"log {folder}/9_3_0_log.err)",
        "unsubmitted LSTM / matbench_steels fold 4",
        "5 cells: 0 done, 1 pending, 1 running, 2 failed, 1 unsubmitted (profile smoke)",
    ]
    sent = []

    def fake_submit(fn, tasks, **kwargs):
        sent.extend(task.label for task in tasks)
        assert fn.func.__name__ == "_train_cell" and fn.keywords["profile"] == smoke
        assert fn.keywords["store"].root == Path(store.root).resolve()
        return [f"10_{i}" for i in range(len(tasks))]

    monkeypatch.setattr("matfusion.grid.submit", fake_submit)
    out = submit_grid(cells, profile=smoke, store=store, resources=Resources(), folder=folder)
    # the same command resubmits the failed and unsent cells, never a queued or running one
    assert sent == [cells[i].label() for i in (2, 3, 4)]
    assert (out["stored"], out["active"], out["submitted"]) == (0, 2, 3)


def test_a_grid_cell_through_submitit_lands_the_record_a_local_run_makes(
    tmp_path, monkeypatch, capsys
) -> None:
    local, remote = tmp_path / "local", tmp_path / "remote"
    cell = ["--folds", "0", "--epochs", "1", "--quiet"]
    monkeypatch.setenv("MATFUSION_RESULTS", str(local))
    assert main([*GRID, *cell]) == 0
    monkeypatch.setenv("MATFUSION_RESULTS", str(remote))
    cells = grid_cells(["LSTM"], ["matbench_steels"], folds=[0])
    folder = tmp_path / "jobs"
    quick = Resources(cpus=1, time_min=10)
    out = submit_grid(
        cells, profile=get_profile("smoke"), epochs=1, resources=quick, folder=folder,
        cluster="local",
    )  # fmt: skip
    assert out["submitted"] == 1
    monkeypatch.setenv("MATFUSION_RESULTS", str(tmp_path / "elsewhere"))  # the task kept its own
    key = cell_key(cells[0], get_profile("smoke"), 1)
    states = wait_for([key], scope=grid_scope(ResultsStore(remote)), folder=folder, poll_s=0.5)
    assert states[key].state == "finished", Path(states[key].log).read_text()[-2000:]
    [mine] = ResultsStore(local).records("train")
    [theirs] = ResultsStore(remote).records("train")
    assert theirs["config"] == mine["config"]


def test_slurm_without_sbatch_and_wait_without_slurm_are_one_error_line(
    tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("MATFUSION_RESULTS", str(tmp_path / "results"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(executors.shutil, "which", lambda name: None)
    assert main([*GRID, "--folds", "0", "--executor", "slurm"]) == 2
    err = capsys.readouterr().err
    assert err == "matfusion grid: error: --executor slurm: sbatch not found (run this on a " \
        "SLURM login node)\n"  # fmt: skip
    assert main([*GRID, "--folds", "0", "--wait"]) == 2
    assert "--wait: only with --executor slurm" in capsys.readouterr().err


def test_status_lines_and_counts() -> None:
    failed = TaskState("k", "failed", "3_1", Path("/j/3_1_0_log.err"), "ended as TIMEOUT")
    assert executors.describe("cell", failed) == (
        "failed      cell  (job 3_1: ended as TIMEOUT; log /j/3_1_0_log.err)"
    )
    states = [failed, TaskState("a", "done"), TaskState("b", "pending", "3_2")]
    assert executors.summary(states) == (
        "3 cells: 1 done, 1 pending, 0 running, 1 failed, 0 unsubmitted"
    )
