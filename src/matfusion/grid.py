"""Run a slice of the experiment grid (models x datasets x folds x seeds) resumably.

Each cell is one :func:`matfusion.experiments.run_training` call, so a cell whose record is
already in the results store is skipped, and an interrupted grid resumes where it stopped
(a cell is stored only when it has finished). Progress and an ETA cover the cells that
actually train.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tqdm.auto import tqdm

from matfusion.baselines import is_peer
from matfusion.data import get_dataset
from matfusion.experiments import run_training, stored_training
from matfusion.models import MODELS
from matfusion.profiles import Profile, get_profile
from matfusion.results import ResultsStore


@dataclass(frozen=True)
class Cell:
    model: str
    dataset: str
    fold: int | None
    seed: int | None

    def label(self) -> str:
        fold = "" if self.fold is None else f" fold {self.fold}"
        seed = "" if self.seed is None else f" seed {self.seed}"
        return f"{self.model} / {self.dataset}{fold}{seed}"


def parse_folds(text: str | None) -> list[int] | None:
    """'0-4' or '0,2' -> [0, 1, 2, 3, 4] / [0, 2]; None -> None (every fold of the set)."""
    if not text:
        return None
    folds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        folds.extend(range(int(lo), int(hi or lo) + 1))
    return folds


def grid_cells(
    models: Sequence[str],
    datasets: Sequence[str],
    folds: Sequence[int] | None = None,
    seeds: Sequence[int | None] = (None,),
) -> list[Cell]:
    """Every (model, dataset, fold, seed); extended sets have no folds, Matbench tasks use
    ``folds`` (default: all five). Names are checked before anything runs."""
    for model in models:
        if model not in MODELS and not is_peer(model):
            raise KeyError(f"unknown model {model!r} (neither a registered model nor a peer)")
    cells = []
    for model, dataset, seed in itertools.product(models, datasets, seeds):
        info = get_dataset(dataset)
        dataset_folds = info.folds if info.kind == "extended" else (folds or info.folds)
        cells.extend(Cell(model, info.name, fold, seed) for fold in dataset_folds)
    return cells


def cells_to_train(
    cells: Sequence[Cell],
    *,
    profile: str | Profile = "standard",
    epochs: int | None = None,
    store: ResultsStore | None = None,
) -> list[Cell]:
    """The cells without a usable stored record (same lookup as ``run_training``: aliases
    and stored larger profiles count as done)."""
    return [
        c
        for c in cells
        if stored_training(
            c.model,
            c.dataset,
            profile=profile,
            fold=c.fold,
            seed=c.seed,
            epochs=epochs,
            store=store,
        )
        is None
    ]


def run_grid(
    cells: Sequence[Cell],
    *,
    profile: str | Profile = "standard",
    epochs: int | None = None,
    store: ResultsStore | None = None,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Train every cell not yet in the store; returns all records in cell order."""
    prof = get_profile(profile) if isinstance(profile, str) else profile
    store = store or ResultsStore()
    todo = cells_to_train(cells, profile=prof, epochs=epochs, store=store)
    print(f"[matfusion grid] {len(cells)} cells, {len(cells) - len(todo)} already stored")
    bar = tqdm(total=len(todo), disable=not progress, desc="grid", unit="run")
    records = []
    started = time.perf_counter()
    for cell in cells:
        bar.set_postfix_str(cell.label())
        record = run_training(
            cell.model,
            cell.dataset,
            profile=prof,
            fold=cell.fold,
            seed=cell.seed,
            epochs=epochs,
            store=store,
            progress=False,
        )
        records.append(record)
        if not record.get("cache_hit"):
            bar.update(1)
    bar.close()
    print(f"[matfusion grid] done in {time.perf_counter() - started:.0f} s")
    return records
