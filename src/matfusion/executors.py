"""Where the per-cell work runs: in this process (``local``) or as a SLURM job array.

A SLURM task calls the very function the local path calls (a grid cell's
:func:`matfusion.grid._train_cell`, a DFT structure's :func:`matfusion.ecd.dft.compute_cell`),
and that function writes its own result file (a results-store record, a DFT row file). So
what is done is always read from those files, never from the scheduler, and a cell that
finished on any machine counts as done everywhere its files are copied.

The scheduler is asked only about cells that are not done. Submissions go through
``submitit`` (one task per cell, ``max_running`` of them at once); each submission leaves a
small manifest in the jobs folder (default ``.matfusion-jobs/``) naming every task's cell,
job id and log, which is how :func:`task_states` tells a pending, running or failed cell
from one nobody submitted. A task that ended without a result (cancelled, out of time or
memory, a lost node) is "failed" with its log path, and the next submission of the same
command resubmits it.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from matfusion.cluster import Resources

EXECUTORS = ("local", "slurm")
#: The submitit folder (logs, pickles, manifests) when no ``--jobs-dir`` is given.
JOBS_DIR = ".matfusion-jobs"
#: Environment variables every task gets as the submitting shell had them (even where a
#: site's sbatch exports nothing): where the results, data and cache are.
FORWARDED_ENV = ("MATFUSION_RESULTS", "MATFUSION_CACHE", "MATFUSION_DATA_DIR", "PYTHONPATH")
ACTIVE = ("pending", "running")

_SLURM_PENDING = {"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING"}
_SLURM_RUNNING = {"RUNNING", "COMPLETING", "SUSPENDED", "STAGE_OUT", "SIGNALING", "STOPPED"}


@dataclass(frozen=True)
class Task:
    """One cell to run: ``key`` identifies it across submissions (status, resubmission),
    ``label`` is what people read, ``args`` are the positional arguments of the function."""

    key: str
    label: str
    args: tuple[Any, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class TaskState:
    """What the jobs folder and the scheduler say about one task: ``state`` is one of
    ``pending``, ``running``, ``finished`` (returned), ``failed`` or ``unsubmitted``."""

    key: str
    state: str
    job_id: str | None = None
    log: Path | None = None
    reason: str = ""


def jobs_folder(path: str | Path | None = None) -> Path:
    """``path``, else ``./.matfusion-jobs``, made absolute (tasks may start elsewhere)."""
    return Path(path or JOBS_DIR).expanduser().absolute()


def _manifests(folder: Path) -> Path:
    return folder / "manifests"


def _parameters(resources: Resources, cluster: str, name: str) -> dict[str, Any]:
    """submitit parameters: the generic ones, and the SLURM-only ones for ``slurm``."""
    threads = str(resources.cpus)
    setup = [f"export {k}={shlex.quote(os.environ[k])}" for k in FORWARDED_ENV if k in os.environ]
    # a task uses the CPUs it asked for, not every core of the node (torch, BLAS, GPAW)
    setup += [
        f"export OMP_NUM_THREADS=${{OMP_NUM_THREADS:-{threads}}}",
        f"export MATFUSION_NUM_THREADS=${{MATFUSION_NUM_THREADS:-{threads}}}",
    ]
    params: dict[str, Any] = {
        "name": name,
        "timeout_min": resources.time_min,
        "cpus_per_task": resources.cpus,
        "mem_gb": resources.mem_mb / 1024,
        "tasks_per_node": 1,
        "nodes": 1,
        f"{cluster}_setup": setup,
    }
    if resources.gpus:
        params["gpus_per_node"] = resources.gpus
    if cluster == "slurm":
        params["slurm_array_parallelism"] = resources.max_running
        for key in ("partition", "account", "qos"):
            value = getattr(resources, key)
            if value is not None:
                params[f"slurm_{key}"] = value
    return params


def submit(
    fn: Callable[..., Any],
    tasks: Sequence[Task],
    *,
    scope: str,
    resources: Resources,
    folder: Path,
    cluster: str = "slurm",
    name: str = "matfusion",
) -> list[str]:
    """Submit ``fn(*task.args)`` for every task as one job array; returns the job ids.

    ``scope`` names the work the keys belong to (a results store, a DFT CSV), so two
    grids writing different stores never read each other's tasks. ``cluster`` is
    submitit's: ``slurm``, or ``local`` (background processes on this machine, for tests).
    """
    import submitit

    if not tasks:
        return []
    if cluster == "slurm" and shutil.which("sbatch") is None:
        raise RuntimeError("--executor slurm: sbatch not found (run this on a SLURM login node)")
    folder.mkdir(parents=True, exist_ok=True)
    executor = submitit.AutoExecutor(folder=folder, cluster=cluster)
    executor.update_parameters(**_parameters(resources, cluster, name))
    columns = list(zip(*(task.args for task in tasks), strict=True))
    try:
        jobs = executor.map_array(fn, *columns)
    except (submitit.core.utils.FailedJobError, submitit.core.utils.FailedSubmissionError) as err:
        lines = str(err).strip().splitlines() or ["no message"]
        raise RuntimeError(f"sbatch refused the job array: {lines[-1]}") from None
    entries = [
        {
            "key": task.key,
            "label": task.label,
            "job_id": job.job_id,
            "log": str(job.paths.stderr),
            "stdout": str(job.paths.stdout),
            "result": str(job.paths.result_pickle),
        }
        for task, job in zip(tasks, jobs, strict=True)
    ]
    manifest = {
        "scope": scope,
        "cluster": cluster,
        "submitted": datetime.now(UTC).isoformat(),
        "resources": asdict(resources),
        "tasks": entries,
    }
    _write_manifest(folder, manifest, jobs[0].job_id)
    return [job.job_id for job in jobs]


def _write_manifest(folder: Path, manifest: dict[str, Any], first_id: str) -> None:
    from matfusion.io import atomic_write

    where = _manifests(folder)
    where.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    with atomic_write(where / f"{stamp}-{first_id.replace('/', '_')}.json") as handle:
        json.dump(manifest, handle, indent=1)


def _latest_entries(folder: Path, scope: str) -> dict[str, dict[str, Any]]:
    """key -> the task entry of its most recent submission in ``scope`` (with ``cluster``)."""
    latest: dict[str, dict[str, Any]] = {}
    where = _manifests(folder)
    if not where.is_dir():
        return latest
    manifests = []
    for path in where.glob("*.json"):
        try:
            manifests.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError):
            continue  # a manifest being replaced: the next look sees it
    for manifest in sorted(manifests, key=lambda m: m.get("submitted", "")):
        if manifest.get("scope") != scope:
            continue
        for entry in manifest.get("tasks", []):
            latest[entry["key"]] = {**entry, "cluster": manifest.get("cluster", "slurm")}
    return latest


def _slurm_queue() -> dict[str, str]:
    """Job id -> SLURM state of this user's jobs (array tasks one by one); finished jobs
    stay listed for a few minutes (MinJobAge) with their final state."""
    user = getpass.getuser()
    command = ["squeue", "-h", "-r", "-t", "all", "-u", user, "-o", "%i|%T"]
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    except FileNotFoundError:
        raise RuntimeError("squeue not found: ask for the status on a SLURM login node") from None
    except subprocess.CalledProcessError as err:
        raise RuntimeError(f"squeue failed: {err.stderr.strip() or err}") from None
    states = {}
    for line in out.stdout.splitlines():
        job, _, state = line.strip().partition("|")
        if job:
            states[job] = state.split()[0] if state else ""
    return states


def _sacct_states(job_ids: Sequence[str]) -> dict[str, str]:
    """Final states from SLURM accounting, where the site keeps it (else empty)."""
    if not job_ids or shutil.which("sacct") is None:
        return {}
    command = ["sacct", "-n", "-X", "-P", "-o", "JobID,State", "-j", ",".join(job_ids)]
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return {}
    states = {}
    for line in out.stdout.splitlines():
        job, _, state = line.strip().partition("|")
        if job:
            states[job] = state.split()[0] if state else ""
    return states


def _process_alive(pid: str) -> bool:
    """Whether a local (submitit ``local``) job's controller process still runs."""
    try:
        stat = Path(f"/proc/{int(pid)}/stat").read_text()
    except (OSError, ValueError):
        return False
    return stat.rpartition(")")[2].split()[0] not in {"Z", "X"}


def _result(path: Path) -> tuple[str, str] | None:
    """submitit's outcome file: ("success", "") or ("error", the error's last line)."""
    import pickle

    try:
        with open(path, "rb") as handle:
            outcome, value = pickle.load(handle)
    except FileNotFoundError:
        return None
    except Exception as err:  # noqa: BLE001 - an unreadable outcome is a failure to report
        return "error", f"unreadable result file {path.name} ({err})"
    if outcome == "success":
        return "success", ""
    lines = [line for line in str(value).strip().splitlines() if line.strip()]
    return "error", lines[-1].strip() if lines else "the task raised an error"


def task_states(keys: Sequence[str], *, scope: str, folder: Path) -> dict[str, TaskState]:
    """The state of each key's latest submitted task (``unsubmitted`` if none).

    The scheduler is read before the result files: a task that ends in between has its
    result file by then, so it reads as finished, never as lost."""
    entries = _latest_entries(folder, scope)
    mine = {key: entries[key] for key in keys if key in entries}
    queue: dict[str, str] = {}
    if any(e["cluster"] == "slurm" for e in mine.values()):
        queue = _slurm_queue()
    states: dict[str, TaskState] = {}
    lost: list[str] = []
    for key in keys:
        entry = mine.get(key)
        if entry is None:
            states[key] = TaskState(key, "unsubmitted")
            continue
        job_id, log = entry["job_id"], Path(entry["log"])
        if entry["cluster"] == "slurm":
            queued = queue.get(job_id, "")
            active = queued in _SLURM_PENDING | _SLURM_RUNNING
        else:
            queued = "RUNNING" if _process_alive(job_id) else ""
            active = bool(queued)
        outcome = _result(Path(entry["result"]))
        if outcome is not None:
            state, reason = ("finished", "") if outcome[0] == "success" else ("failed", outcome[1])
            states[key] = TaskState(key, state, job_id, log, reason)
        elif active:
            state = "pending" if queued in _SLURM_PENDING else "running"
            states[key] = TaskState(key, state, job_id, log)
        else:
            why = f"ended as {queued}" if queued else ""
            states[key] = TaskState(key, "failed", job_id, log, why)
            if not queued and entry["cluster"] == "slurm":
                lost.append(key)
    if lost:  # gone from the queue: ask accounting why, where the site keeps it
        final = _sacct_states([states[k].job_id or "" for k in lost])
        for key in lost:
            state = final.get(states[key].job_id or "")
            why = f"ended as {state}" if state else "ended without a result"
            states[key] = TaskState(key, "failed", states[key].job_id, states[key].log, why)
    for key, state in states.items():
        if state.state == "failed" and not state.reason:
            states[key] = TaskState(
                key, "failed", state.job_id, state.log, "ended without a result"
            )
    return states


def wait_for(
    keys: Sequence[str],
    *,
    scope: str,
    folder: Path,
    poll_s: float = 10.0,
    timeout_s: float | None = None,
) -> dict[str, TaskState]:
    """Poll :func:`task_states` until no task of ``keys`` is pending or running; the
    interval grows from half a second to ``poll_s`` (short tasks end soon after they end,
    long ones do not keep asking the scheduler)."""
    started = time.monotonic()
    delay = 0.5
    while True:
        states = task_states(keys, scope=scope, folder=folder)
        if not any(s.state in ACTIVE for s in states.values()):
            return states
        if timeout_s is not None and time.monotonic() - started > timeout_s:
            raise TimeoutError(f"tasks still queued or running after {timeout_s:.0f} s")
        time.sleep(min(delay, poll_s))
        delay *= 1.5


def describe(label: str, state: TaskState) -> str:
    """One status line: the state, the cell, and for a failed task why and where its log is."""
    line = f"{state.state:<11} {label}"
    if state.job_id and state.state in ACTIVE:
        line += f"  (job {state.job_id})"
    if state.state == "failed":
        job = f"job {state.job_id}: " if state.job_id else ""
        line += f"  ({job}{state.reason}; log {state.log})"
    return line


def summary(states: Sequence[TaskState], what: str = "cells") -> str:
    """'N cells: a done, b pending, ...' over the states in the order people act on them."""
    order = ("done", "pending", "running", "failed", "unsubmitted")
    counts = {name: sum(s.state == name for s in states) for name in order}
    return f"{len(states)} {what}: " + ", ".join(f"{n} {name}" for name, n in counts.items())


def add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    """The options ``grid`` and ``dft`` share: where the cells run and how to follow them."""
    parser.add_argument(
        "--executor",
        default="local",
        choices=EXECUTORS,
        help="local: one after another in this process (default); slurm: one job-array task "
        "per cell not yet done",
    )
    parser.add_argument(
        "--cluster", help="cluster file for --executor slurm (default: ./matfusion.toml)"
    )
    parser.add_argument(
        "--jobs-dir", help=f"submitit folder: logs and submissions (default: ./{JOBS_DIR})"
    )
    parser.add_argument(
        "--status",
        action="store_true",
        help="show each cell as done, pending, running, failed (with its log) or unsubmitted",
    )
    parser.add_argument(
        "--wait", action="store_true", help="with --executor slurm: wait until the tasks end"
    )
