"""Run a slice of the experiment grid (models x datasets x folds x seeds) resumably.

Each cell is one :func:`matfusion.experiments.run_training` call, so a cell whose record is
already in the results store is skipped, and an interrupted grid resumes where it stopped
(a cell is stored only when it has finished). Progress and an ETA cover the cells that
actually train. :func:`run_grid` trains in this process; :func:`submit_grid` sends the
cells the store lacks to SLURM, one job-array task per cell, each task making the same
:func:`_train_cell` call and writing its own record (:mod:`matfusion.executors`).
A grid runs on one device (``device``: ``cpu`` unless told, or ``cuda``; ``autocast``:
bfloat16), which is part of each cell's run (:func:`matfusion.experiments.run_config`).
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from matfusion.baselines import PEERS, is_peer
from matfusion.cluster import Resources
from matfusion.data import get_dataset
from matfusion.executors import ACTIVE, Task, TaskState, submit, task_states
from matfusion.experiments import run_training, stored_training
from matfusion.models import MODELS
from matfusion.profiles import Profile
from matfusion.registry import unknown_name
from matfusion.results import ResultsStore


@dataclass(frozen=True)
class Cell:
    """One run of the grid. ``train_rows`` overrides the profile's training-set cap (the
    sample-efficiency grid); None keeps the profile's."""

    model: str
    dataset: str
    fold: int | None
    seed: int | None
    train_rows: int | None = None

    def label(self) -> str:
        fold = "" if self.fold is None else f" fold {self.fold}"
        seed = "" if self.seed is None else f" seed {self.seed}"
        rows = "" if self.train_rows is None else f" {self.train_rows:,} rows"
        return f"{self.model} / {self.dataset}{fold}{seed}{rows}"

    def profile(self, profile: Profile) -> Profile:
        """``profile`` with this cell's training-set cap applied."""
        if self.train_rows is None:
            return profile
        return replace(profile, max_train_rows=self.train_rows)


_FOLD_PART = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


def parse_folds(text: str | None) -> list[int] | None:
    """'0-4' or '0,2' -> [0, 1, 2, 3, 4] / [0, 2]; None -> None (every fold of the set).

    A descending range ('3-1'), a repeated fold or anything but fold numbers is an error
    naming ``--folds``, not a silent "all folds" or a duplicate cell. Whether the folds
    exist is :func:`grid_cells`'s check (it knows the datasets)."""
    if text is None:
        return None
    folds: list[int] = []
    for part in text.split(","):
        match = _FOLD_PART.match(part)
        if match is None:
            raise ValueError(
                f"--folds: {part.strip()!r} is not a fold number or a range such as 0-4"
            )
        lo = int(match.group(1))
        hi = int(match.group(2) or lo)
        if hi < lo:
            raise ValueError(f"--folds: range {part.strip()!r} does not ascend (write {hi}-{lo})")
        for fold in range(lo, hi + 1):
            if fold in folds:
                raise ValueError(f"--folds: fold {fold} is listed twice in {text!r}")
            folds.append(fold)
    return folds


def parse_seeds(text: str | None) -> list[int | None]:
    """'0,1,2' -> [0, 1, 2]; None -> [None] (the profile's seed). Seeds are non-negative
    whole numbers, checked before any cell is listed or trained."""
    if text is None:
        return [None]
    seeds: list[int | None] = []
    for part in text.split(","):
        item = part.strip()
        if not item.isdigit():
            raise ValueError(f"--seeds: {item!r} is not a non-negative whole number")
        if int(item) in seeds:
            raise ValueError(f"--seeds: seed {int(item)} is listed twice in {text!r}")
        seeds.append(int(item))
    return seeds


def parse_sizes(text: str | None) -> list[int | None]:
    """'100,300,1000' -> [100, 300, 1000]; None -> [None] (the profile's own cap)."""
    if not text:
        return [None]
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise ValueError(f"training-set sizes must be whole numbers, got {text!r}") from None
    if any(n < 1 for n in sizes):
        raise ValueError(f"training-set sizes must be positive, got {text!r}")
    return sizes


def grid_cells(
    models: Sequence[str],
    datasets: Sequence[str],
    folds: Sequence[int] | None = None,
    seeds: Sequence[int | None] = (None,),
    train_rows: Sequence[int | None] = (None,),
) -> list[Cell]:
    """Every (model, dataset, fold, seed, training-set size); extended sets have no folds,
    Matbench tasks use ``folds`` (default: all five). Names and folds are checked before
    anything is listed or runs: a fold a dataset lacks, a repeated fold, or folds given for
    a set with one fixed split would otherwise fail hours in, or be dropped silently."""
    for model in models:
        if model not in MODELS and not is_peer(model):
            raise unknown_name("model", model, [*MODELS, *PEERS])
    infos = [get_dataset(dataset) for dataset in datasets]
    if folds is not None:
        if not folds:
            raise ValueError("--folds: no fold given (leave --folds out for every fold)")
        if len(set(folds)) != len(folds):
            raise ValueError(f"--folds: a fold is listed twice in {list(folds)}")
        for info in infos:
            if info.n_folds is None:
                raise ValueError(
                    f"--folds: {info.name} has one fixed split and no folds "
                    "(leave --folds out, or list only Matbench tasks)"
                )
            bad = [f for f in folds if f not in info.folds]
            if bad:
                raise ValueError(
                    f"--folds: {info.name} has folds 0-{info.n_folds - 1}, not {bad[0]}"
                )
    cells = []
    for model, info, seed, rows in itertools.product(models, infos, seeds, train_rows):
        dataset_folds = info.folds if folds is None else folds
        cells.extend(Cell(model, info.name, fold, seed, rows) for fold in dataset_folds)
    return cells


def _cell_run(
    cell: Cell,
    profile: Profile,
    epochs: int | None,
    store: ResultsStore | None,
    device: str = "cpu",
    autocast: bool = False,
) -> dict[str, Any]:
    """The arguments ``stored_training`` and ``run_training`` take for ``cell``. A sized cell
    is answered only by a run of that size: a larger profile's run may stand in for the
    profile, never for a point of a learning curve."""
    return {
        "device": device,
        "autocast": autocast,
        "model": cell.model,
        "dataset": cell.dataset,
        "profile": cell.profile(profile),
        "fold": cell.fold,
        "seed": cell.seed,
        "epochs": epochs,
        "store": store,
        "reuse_larger": cell.train_rows is None,
    }


def stored_cell(
    cell: Cell,
    *,
    profile: Profile,
    epochs: int | None = None,
    store: ResultsStore | None = None,
    device: str = "cpu",
    autocast: bool = False,
) -> dict[str, Any] | None:
    """The stored record that answers ``cell``, or None (the lookup ``run_training`` makes)."""
    return stored_training(**_cell_run(cell, profile, epochs, store, device, autocast))


def cells_to_train(
    cells: Sequence[Cell],
    *,
    profile: Profile,
    epochs: int | None = None,
    store: ResultsStore | None = None,
    device: str = "cpu",
    autocast: bool = False,
) -> list[Cell]:
    """The cells without a usable stored record (same lookup as ``run_training``: aliases
    and stored larger profiles count as done)."""
    run = {"profile": profile, "epochs": epochs, "store": store, "device": device}
    return [c for c in cells if stored_cell(c, **run, autocast=autocast) is None]


def _train_cell(
    cell: Cell,
    *,
    profile: Profile,
    epochs: int | None,
    store: ResultsStore | None,
    device: str = "cpu",
    autocast: bool = False,
) -> dict[str, Any]:
    run = _cell_run(cell, profile, epochs, store, device, autocast)
    return run_training(**run, progress=False)


def collect_records(
    cells: Sequence[Cell],
    *,
    profile: Profile,
    train_missing: bool = False,
    epochs: int | None = None,
    store: ResultsStore | None = None,
    progress: bool = False,
    device: str = "cpu",
) -> tuple[list[dict[str, Any]], list[Cell]]:
    """Every cell's record, in cell order, and the cells that have none.

    What the book's chapters call: with ``train_missing`` a missing cell is trained (the smoke
    profile); without it the store is only read, so a cell nobody has run is reported as
    missing instead of silently dropped or silently trained for hours. ``device="cuda"``
    reads (or trains) the GPU runs instead of the CPU ones.
    """
    records: list[dict[str, Any]] = []
    missing: list[Cell] = []
    for cell in tqdm(cells, desc="cells", disable=not progress):
        if train_missing:
            record = _train_cell(cell, profile=profile, epochs=epochs, store=store, device=device)
        else:
            record = stored_cell(cell, profile=profile, epochs=epochs, store=store, device=device)
        if record is None:
            missing.append(cell)
        else:
            records.append(record)
    return records, missing


def run_grid(
    cells: Sequence[Cell],
    *,
    profile: Profile,
    epochs: int | None = None,
    store: ResultsStore | None = None,
    progress: bool = True,
    device: str = "cpu",
    autocast: bool = False,
) -> list[dict[str, Any]]:
    """Train every cell not yet in the store; returns all records in cell order."""
    store = store or ResultsStore()
    on = {"device": device, "autocast": autocast}
    todo = cells_to_train(cells, profile=profile, epochs=epochs, store=store, **on)
    print(f"[matfusion grid] {len(cells)} cells, {len(cells) - len(todo)} already stored")
    bar = tqdm(total=len(todo), disable=not progress, desc="grid", unit="run")
    records = []
    started = time.perf_counter()
    for cell in cells:
        bar.set_postfix_str(cell.label())
        record = _train_cell(cell, profile=profile, epochs=epochs, store=store, **on)
        records.append(record)
        if not record.get("cache_hit"):
            bar.update(1)
    bar.close()
    print(f"[matfusion grid] done in {time.perf_counter() - started:.0f} s")
    return records


def cell_key(
    cell: Cell,
    profile: Profile,
    epochs: int | None,
    device: str = "cpu",
    autocast: bool = False,
) -> str:
    """What identifies a cell across submissions: the cell, every setting of the profile
    (a profile changed on the command line keeps its name), the epochs and, off the CPU or
    under autocast, the device (so CPU submissions keep the keys they had)."""
    doc: dict[str, Any] = {"cell": asdict(cell), "profile": asdict(profile), "epochs": epochs}
    if device != "cpu":
        doc["device"] = device
    if autocast:
        doc["autocast"] = True
    return json.dumps(doc, sort_keys=True, default=str)


def grid_scope(store: ResultsStore) -> str:
    """Submissions belong to the store their records go to (two stores never mix)."""
    return f"grid:{Path(store.root).resolve()}"


def grid_status(
    cells: Sequence[Cell],
    *,
    profile: Profile,
    epochs: int | None = None,
    store: ResultsStore | None = None,
    folder: Path,
    device: str = "cpu",
    autocast: bool = False,
) -> list[TaskState]:
    """Each cell as ``done`` (a record answers it), or its latest task's state.

    The tasks are read before the store: a task that finishes in between has stored its
    record by then, so it reads as done, not as finished without one."""
    store = store or ResultsStore()
    on = {"device": device, "autocast": autocast}
    keys = [cell_key(cell, profile, epochs, **on) for cell in cells]
    tasks = task_states(keys, scope=grid_scope(store), folder=folder)
    out = []
    for cell, key in zip(cells, keys, strict=True):
        state = tasks[key]
        if stored_cell(cell, profile=profile, epochs=epochs, store=store, **on) is not None:
            state = TaskState(key, "done", state.job_id, state.log)
        elif state.state == "finished":
            state = TaskState(
                key, "failed", state.job_id, state.log, "finished, but no record in the store"
            )
        out.append(state)
    return out


def submit_grid(
    cells: Sequence[Cell],
    *,
    profile: Profile,
    epochs: int | None = None,
    store: ResultsStore | None = None,
    resources: Resources,
    folder: Path,
    cluster: str = "slurm",
    device: str = "cpu",
    autocast: bool = False,
) -> dict[str, Any]:
    """Submit every cell the store cannot answer and no task is already running or
    queued for (so a failed cell is resubmitted by the same call), as one job array.

    Returns counts (``cells``, ``stored``, ``active``, ``submitted``) and the ``job_ids``."""
    store = store or ResultsStore()
    on = {"device": device, "autocast": autocast}
    todo = cells_to_train(cells, profile=profile, epochs=epochs, store=store, **on)
    keys = {cell: cell_key(cell, profile, epochs, **on) for cell in todo}
    states = task_states(list(keys.values()), scope=grid_scope(store), folder=folder)
    active = [cell for cell in todo if states[keys[cell]].state in ACTIVE]
    fresh = [cell for cell in todo if cell not in active]
    task = _bound_train_cell(profile, epochs, ResultsStore(Path(store.root).resolve()), **on)
    job_ids = submit(
        task,
        [Task(keys[cell], cell.label(), (cell,)) for cell in fresh],
        scope=grid_scope(store),
        resources=resources,
        folder=folder,
        cluster=cluster,
        name=f"matfusion-grid-{profile.name}",
    )
    return {
        "cells": len(cells),
        "stored": len(cells) - len(todo),
        "active": len(active),
        "submitted": len(fresh),
        "job_ids": job_ids,
    }


def _bound_train_cell(
    profile: Profile,
    epochs: int | None,
    store: ResultsStore,
    device: str = "cpu",
    autocast: bool = False,
) -> Any:
    """``_train_cell`` with everything but the cell fixed: what each SLURM task calls."""
    import functools

    return functools.partial(
        _train_cell, profile=profile, epochs=epochs, store=store, device=device, autocast=autocast
    )


def print_grid_status(
    cells: Sequence[Cell],
    *,
    profile: Profile,
    epochs: int | None = None,
    store: ResultsStore | None = None,
    folder: Path,
    device: str = "cpu",
    autocast: bool = False,
) -> list[TaskState]:
    """``matfusion grid --status``: one line per cell, then the counts."""
    from matfusion.executors import describe, summary

    on = {"device": device, "autocast": autocast}
    states = grid_status(cells, profile=profile, epochs=epochs, store=store, folder=folder, **on)
    for cell, state in zip(cells, states, strict=True):
        print(describe(cell.label(), state))
    print(summary(states) + f" (profile {profile.name})")
    return states


def submit_grid_command(
    cells: Sequence[Cell],
    *,
    profile: Profile,
    epochs: int | None = None,
    cluster_file: str | Path | None = None,
    jobs_dir: str | Path | None = None,
    wait: bool = False,
    poll_s: float = 10.0,
    device: str = "cpu",
    autocast: bool = False,
) -> int:
    """``matfusion grid --executor slurm``: submit what is missing, say what was sent and,
    with ``wait``, wait for it and show the status (exit 1 if a cell failed)."""
    from matfusion.cluster import load_cluster
    from matfusion.executors import jobs_folder, wait_for

    resources = load_cluster(cluster_file).resources(f"profile.{profile.name}")
    folder = jobs_folder(jobs_dir)
    store = ResultsStore()
    on = {"device": device, "autocast": autocast}
    sent = submit_grid(
        cells, profile=profile, epochs=epochs, store=store, resources=resources, folder=folder,
        **on,
    )  # fmt: skip
    job = f" as job {sent['job_ids'][0].split('_')[0]}" if sent["job_ids"] else ""
    print(
        f"[matfusion grid] {sent['cells']} cells: {sent['stored']} stored, "
        f"{sent['submitted']} submitted{job}, {sent['active']} already queued or running "
        f"(logs in {folder})"
    )
    if not wait:
        if sent["submitted"] or sent["active"]:
            print("[matfusion grid] follow with the same command and --status")
        return 0
    keys = [cell_key(cell, profile, epochs, **on) for cell in cells]
    wait_for(keys, scope=grid_scope(store), folder=folder, poll_s=poll_s)
    states = print_grid_status(
        cells, profile=profile, epochs=epochs, store=store, folder=folder, **on
    )
    return 1 if any(state.state != "done" for state in states) else 0
