"""Paper-profile runs on a CUDA GPU, most important first, within a time budget.

The ``paper`` profile (full splits, the CrabNet recipe) takes hours to days per cell on the
reference CPUs; on a GPU it takes minutes. This script trains, in this order, as many cells
as fit in ``--budget-minutes``:

1. Figure 3 (paper A): LSTM, DCNN-K1, LDCNN, L-G-DCNN on OQMD_Formation_Enthalpy;
2. Figure 4's fusion rows: L-G-DCNN and L-G-DCNN-V1 on each of the 18 extended sets
   (``matfusion.data``'s order, the rows of ``notebooks/06_extended_benchmarks.py``).

Every cell is ``run_training(model, dataset, profile=get_profile("paper",
conventions="authors"), device="cuda")``: the authors' conventions, one record per cell in the
results store, keyed with ``device: cuda`` (so it never stands in for a CPU run) and carrying
the GPU's name and any SLURM job ids in its provenance. A cell the store already answers
costs nothing. A cell starts only if its estimated time fits in what is left of the budget:
the estimate is the recipe's epoch cap times the training rows over the samples/s measured
on this GPU for that model and batch size (a few timed steps), times an overhead factor
(validation, data loading) that starts at 1.5 and grows to the largest ratio of real to
estimated time seen. A cell that does not fit is skipped and later, cheaper ones are still
tried. It prints samples/s per cell and writes them, with the GPU's name, to
``benchmarks/results/gpu_paper_runs_cuda.json`` (``--out``), where ``matfusion plan`` and the
"Running at scale" page take their GPU rates from. Without a CUDA GPU it says so in one line
and exits 2.

Needs a CUDA build of torch 2.13.0 and the datasets in ``$MATFUSION_CACHE`` (the GPU machine
may have no network: carry the cache). Run::

    .venv/bin/python scripts/gpu_paper_runs.py --budget-minutes 10 [--dry-run] [--bf16]
"""

from __future__ import annotations

import os

# cuBLAS reads its workspace setting when CUDA starts: set it before torch is imported
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

FIGURE3_MODELS = ("LSTM", "DCNN-K1", "LDCNN", "L-G-DCNN")
FIGURE3_DATASET = "OQMD_Formation_Enthalpy"
FIGURE4_MODELS = ("L-G-DCNN", "L-G-DCNN-V1")
#: Where the per-cell summary goes: ``matfusion.compute_plan`` reads ``*cuda*.json`` there.
#: (``--bf16`` writes ``gpu_paper_runs_bf16_cuda.json`` beside it: other rates, other runs.)
DEFAULT_OUT = (
    Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "gpu_paper_runs_cuda.json"
)
#: Start value of the factor from pure training time to a cell's wall time.
START_OVERHEAD = 1.5


@dataclass(frozen=True)
class PlannedCell:
    """One paper-profile cell with the sizes its time depends on."""

    model: str
    dataset: str
    n_train: int
    batch_size: int
    epochs: int

    @property
    def samples(self) -> int:
        """Training samples at the recipe's epoch cap (early stopping can only shorten it)."""
        return self.epochs * self.n_train

    def label(self) -> str:
        return f"{self.model} / {self.dataset}"


def priority_cells() -> list[tuple[str, str]]:
    """(model, dataset) in priority order: Figure 3, then Figure 4's fusion rows."""
    from matfusion.data import DATASETS

    cells = [(m, FIGURE3_DATASET) for m in FIGURE3_MODELS]
    extended = [name for name, info in DATASETS.items() if info.kind == "extended"]
    for dataset in extended:
        for model in FIGURE4_MODELS:
            if (model, dataset) not in cells:
                cells.append((model, dataset))
    return cells


def plan(cells: Sequence[tuple[str, str]], recipe: str = "crabnet") -> list[PlannedCell]:
    """Each cell's training rows (the full split, as ``paper`` uses), batch size and epoch
    cap under ``recipe`` (the paper profile's, unless told)."""
    from matfusion.data import dataset_summary
    from matfusion.train import get_recipe

    rule = get_recipe(recipe)
    rows = dataset_summary().set_index("name")["n_train"]
    out = []
    for model, dataset in cells:
        n = int(rows[dataset])
        batch = rule.batch_size(n)
        out.append(PlannedCell(model, dataset, n, batch, rule.epochs(n, batch)))
    return out


def fits(estimate_s: float, remaining_s: float) -> bool:
    """Whether a cell estimated at ``estimate_s`` may start with ``remaining_s`` left."""
    return math.isfinite(estimate_s) and estimate_s <= remaining_s


def measure_samples_per_s(
    model_name: str,
    dataset: str,
    batch_size: int,
    d_model: int = 512,
    steps: int = 8,
    device: str = "cuda",
) -> float:
    """Training samples/s of ``model_name`` on this GPU at ``batch_size``: the paper recipe's
    step (robust L1, Lamb + Lookahead) on real compositions of ``dataset``, after warm-up."""
    import torch

    from matfusion.data import element_table, load_split
    from matfusion.experiments import model_embedding, subsample
    from matfusion.featurize import encode_formulas
    from matfusion.models import build_model, encoding_order, get_conventions
    from matfusion.train import get_recipe, robust_l1

    conventions = get_conventions("authors")
    table = element_table(model_embedding(model_name))
    frame = subsample(load_split(dataset, "train", verbose=False), batch_size, 0)
    encoded = encode_formulas(frame["formula"].tolist(), table, order=encoding_order(conventions))
    el = torch.as_tensor(encoded.elements, device=device)
    fr = torch.as_tensor(encoded.fractions, device=device)
    y = torch.randn(len(frame), device=device)
    torch.manual_seed(0)
    net = build_model(model_name, table.vectors, d_model=d_model, conventions=conventions)
    net.to(device)

    def sync() -> None:
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize()

    recipe = get_recipe("crabnet")
    optimizer = recipe.optimizer(net.parameters(), lr=recipe.default_lr, weight_decay=0.0)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        robust_l1(net(el, fr), y).backward()
        optimizer.step()

    for _ in range(3):
        step()
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return steps * len(frame) / (time.perf_counter() - t0)


def run_cells(
    planned: Sequence[PlannedCell],
    budget_s: float,
    *,
    stored: Callable[[PlannedCell], dict[str, Any] | None],
    speed: Callable[[PlannedCell], float],
    train: Callable[[PlannedCell], dict[str, Any]],
    clock: Callable[[], float] = time.perf_counter,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Go through ``planned`` in order: a stored cell is reported, a cell whose estimate
    (``samples / speed * overhead``) fits in the budget left is trained, any other is
    skipped. The overhead factor grows to the largest ratio of real to estimated pure
    training time seen. Returns one summary row per cell."""
    started = clock()
    overhead = START_OVERHEAD
    rows: list[dict[str, Any]] = []
    for cell in planned:
        row: dict[str, Any] = {"model": cell.model, "dataset": cell.dataset}
        record = stored(cell)
        if record is not None:
            row.update(status="stored", train_samples_per_s=record.get("train_samples_per_s"))
            log(f"[stored ] {cell.label()}")
            rows.append(row)
            continue
        sps = speed(cell)  # may time a few steps: counted in the budget
        remaining = budget_s - (clock() - started)
        pure = cell.samples / sps if sps > 0 else math.inf
        estimate = pure * overhead
        row.update(estimate_s=estimate, measured_samples_per_s=sps)
        if not fits(estimate, remaining):
            row["status"] = "skipped"
            log(
                f"[skipped] {cell.label()}: estimated {estimate / 60:.1f} min "
                f"({cell.epochs} epochs x {cell.n_train:,} rows at {sps:,.0f}/s), "
                f"{max(remaining, 0) / 60:.1f} min left"
            )
            rows.append(row)
            continue
        log(
            f"[train  ] {cell.label()}: {cell.n_train:,} rows, batch {cell.batch_size}, up to "
            f"{cell.epochs} epochs, estimated {estimate / 60:.1f} min"
        )
        t0 = clock()
        record = train(cell)
        wall = clock() - t0
        overhead = max(overhead, wall / pure) if pure > 0 else overhead
        row.update(
            status="trained",
            wall_s=wall,
            epochs_run=record.get("epochs_run"),
            train_samples_per_s=record.get("train_samples_per_s"),
            test_mae=(record.get("metrics") or {}).get("test_mae"),
        )
        log(
            f"[done   ] {cell.label()}: {wall / 60:.1f} min, {row['epochs_run']} epochs, "
            f"train {row['train_samples_per_s'] or float('nan'):,.0f} samples/s, "
            f"test MAE {row['test_mae']:.4g}"
        )
        rows.append(row)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-minutes", type=float, required=True)
    parser.add_argument("--dry-run", action="store_true", help="list the cells and stop")
    parser.add_argument("--bf16", action="store_true", help="bfloat16 autocast (own records)")
    parser.add_argument(
        "--out",
        help="per-cell summary with the GPU's name (JSON; default: "
        "benchmarks/results/gpu_paper_runs[_bf16]_cuda.json, where matfusion.compute_plan "
        "reads GPU rates)",
    )
    args = parser.parse_args(argv)
    if args.budget_minutes <= 0:
        print("gpu_paper_runs: error: --budget-minutes must be positive", file=sys.stderr)
        return 2

    from matfusion.experiments import run_training, stored_training
    from matfusion.profiles import get_profile
    from matfusion.train import cuda_available, no_cuda_message

    if not (args.dry_run or cuda_available()):
        why = no_cuda_message().split(": ", 1)[1].split(";")[0]
        print(f"gpu_paper_runs: error: {why}; nothing run", file=sys.stderr)
        return 2
    profile = get_profile("paper", conventions="authors")
    planned = plan(priority_cells(), recipe=profile.recipe)
    run = {"profile": profile, "device": "cuda", "autocast": args.bf16}

    def stored(cell: PlannedCell) -> dict[str, Any] | None:
        return stored_training(cell.model, cell.dataset, **run)

    if args.dry_run:
        for cell in planned:
            state = "stored  " if stored(cell) is not None else "to train"
            print(
                f"{state}  {cell.label()}: {cell.n_train:,} rows, batch {cell.batch_size}, "
                f"up to {cell.epochs} epochs"
            )
        return 0

    import torch

    print(f"[gpu_paper_runs] {torch.cuda.get_device_name(0)}, budget {args.budget_minutes} min")
    speeds: dict[tuple[str, int], float] = {}

    def speed(cell: PlannedCell) -> float:
        key = (cell.model, cell.batch_size)
        if key not in speeds:
            speeds[key] = measure_samples_per_s(
                cell.model, cell.dataset, cell.batch_size, d_model=profile.d_model
            )
        return speeds[key]

    def train(cell: PlannedCell) -> dict[str, Any]:
        return run_training(cell.model, cell.dataset, **run, progress=False)

    rows = run_cells(planned, args.budget_minutes * 60, stored=stored, speed=speed, train=train)
    counts = {s: sum(r["status"] == s for r in rows) for s in ("trained", "stored", "skipped")}
    print(f"[gpu_paper_runs] {counts['trained']} trained, {counts['stored']} stored, "
          f"{counts['skipped']} skipped")  # fmt: skip
    if args.out is None:
        args.out = (
            DEFAULT_OUT.with_name("gpu_paper_runs_bf16_cuda.json") if args.bf16 else DEFAULT_OUT
        )
    if args.out:
        settings = {
            "device": "cuda",
            "gpu": torch.cuda.get_device_name(0),
            "torch": torch.__version__,
            "d_model": profile.d_model,
            "bf16": args.bf16,
            "budget_minutes": args.budget_minutes,
        }
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"settings": settings, "cells": rows}, indent=1) + "\n")
        print(f"[gpu_paper_runs] written: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
