"""L-G-DCNN against CrabNet on this CPU: samples/s at equal batch size, and time to accuracy.

Part 1 (measured when the script runs): samples/s of a full training step and of inference
for L-G-DCNN, L-G-DCNN-V1 and CrabNet's network (``crabnet.kingcrab.SubCrab`` with its real
optimiser, Lamb inside Lookahead inside SWA, and its cyclic learning rate) on the *same*
random compositions of 2-6 elements at one batch size, with 1 and 2 torch threads,
interleaved and in wall and CPU seconds (see :func:`equal_batch_throughput`). Our models use
Adam as in ``benchmarks/model_throughput.py`` (the optimiser is a small share of a step).

Part 2 (read from the results store, no training): time to reach CrabNet's best validation
MAE, from the per-epoch histories of the ``standard`` runs of L-G-DCNN and CrabNet on the
same subsampled splits (``matfusion grid --models L-G-DCNN,CrabNet --datasets ...``). Both
ran with one thread on this shared machine; the seconds include each trainer's validation
pass every epoch. Run::

    .venv/bin/python benchmarks/peer_throughput.py [--threads 1 2] [--out PATH]

The issue's targets: L-G-DCNN training >= 2x CrabNet's samples/s at equal batch size, and
CrabNet's best validation MAE reached in <= 0.5x CrabNet's wall time.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
TIME_TO_ACCURACY_SETS = ("aflow__ael_bulk_modulus_vrh", "aflow__Egap")


def _model_throughput():
    """``benchmarks/model_throughput.py`` as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("model_throughput", HERE / "model_throughput.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


Step = Callable[[int], None]


def _batches(batch_size: int, n_batches: int = 8):
    """The same random compositions (and targets) for every model."""
    mt = _model_throughput()
    elements, fractions = mt.random_compositions(batch_size * n_batches, 103)
    targets = torch.randn(batch_size * n_batches)
    return [
        (
            elements[i * batch_size : (i + 1) * batch_size],
            fractions[i * batch_size : (i + 1) * batch_size],
            targets[i * batch_size : (i + 1) * batch_size],
        )
        for i in range(n_batches)
    ]


def ours_steps(name: str, batches, d_model: int = 512) -> tuple[Step, Step, int]:
    """Training step (forward, robust L1, backward, Adam) and inference batch
    (``torch.inference_mode``, as ``matfusion.train.predict``) of one of our models."""
    from matfusion.models import build_model

    mt = _model_throughput()
    table = np.random.default_rng(0).normal(size=(104, 200)).astype(np.float32)
    table[0] = 0.0
    torch.manual_seed(0)
    model = build_model(name, table, d_model=d_model)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-4)

    def train(i: int) -> None:
        e, f, y = batches[i % len(batches)]
        model.train()
        optimiser.zero_grad(set_to_none=True)
        mt.robust_l1(model(e, f), y).backward()
        optimiser.step()

    def infer(i: int) -> None:
        e, f, _ = batches[i % len(batches)]
        model.eval()
        with torch.inference_mode():
            model(e, f)

    return train, infer, sum(p.numel() for p in model.parameters())


def crabnet_steps(batches, d_model: int = 512) -> tuple[Step, Step, int]:
    """CrabNet's SubCrab with its real step: forward, RobustL1, backward, SWA(Lookahead(Lamb)),
    CyclicLR; inference under ``torch.no_grad`` as CrabNet's ``predict``."""
    from matfusion.baselines.crabnet import import_crabnet

    import_crabnet()  # applies the optimiser-hook patch (see matfusion.baselines.crabnet)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from crabnet.kingcrab import SubCrab
        from crabnet.utils.optim import SWA
        from crabnet.utils.utils import Lamb, Lookahead, RobustL1

        torch.manual_seed(0)
        model = SubCrab(compute_device=torch.device("cpu"), d_model=d_model)
    optimiser = SWA(Lookahead(base_optimizer=Lamb(params=model.parameters())))
    scheduler = torch.optim.lr_scheduler.CyclicLR(
        optimiser, base_lr=1e-4, max_lr=6e-3, cycle_momentum=False, step_size_up=10
    )

    def train(i: int) -> None:
        src, frac, y = batches[i % len(batches)]
        model.train()
        output = model(src, frac)
        prediction, uncertainty = output.chunk(2, dim=-1)
        RobustL1(prediction.view(-1), uncertainty.view(-1), y).backward()
        optimiser.step()
        optimiser.zero_grad()
        scheduler.step()

    def infer(i: int) -> None:
        src, frac, _ = batches[i % len(batches)]
        model.eval()
        with torch.no_grad():
            model(src, frac)

    return train, infer, sum(p.numel() for p in model.parameters())


def equal_batch_throughput(
    threads: Sequence[int], batch_size: int, rounds: int, steps: int, warmup: int
) -> dict[str, Any]:
    """Part 1. On a shared machine wall-clock rates swing with other jobs, so the models are
    measured *interleaved* (each round runs ``steps`` batches of every model in turn) and the
    process CPU time is recorded beside the wall time: with one thread, samples per CPU-second
    is what a quiet machine would give and is the headline number."""
    batches = _batches(batch_size)
    out: dict[str, Any] = {}
    for n in threads:
        torch.set_num_threads(n)
        steps_by_model = {name: ours_steps(name, batches) for name in ("L-G-DCNN", "L-G-DCNN-V1")}
        steps_by_model["CrabNet"] = crabnet_steps(batches)
        timing = {m: {"train": [0.0, 0.0], "infer": [0.0, 0.0]} for m in steps_by_model}
        for train, infer, _ in steps_by_model.values():
            for i in range(warmup):
                train(i)
                infer(i)
        for r in range(rounds):
            for name, (train, infer, _) in steps_by_model.items():
                for kind, fn in (("train", train), ("infer", infer)):
                    w0, c0 = time.perf_counter(), time.process_time()
                    for i in range(steps):
                        fn(r * steps + i)
                    timing[name][kind][0] += time.perf_counter() - w0
                    timing[name][kind][1] += time.process_time() - c0
        samples = rounds * steps * batch_size
        rows = {}
        for name, t in timing.items():
            rows[name] = {
                "train_samples_per_s": samples / t["train"][0],
                "inference_samples_per_s": samples / t["infer"][0],
                "train_samples_per_cpu_s": samples / t["train"][1],
                "inference_samples_per_cpu_s": samples / t["infer"][1],
                "n_parameters": steps_by_model[name][2],
            }
        crab = rows["CrabNet"]
        for name in ("L-G-DCNN", "L-G-DCNN-V1"):
            for key in list(crab):
                if key.endswith("_per_s") or key.endswith("_per_cpu_s"):
                    rows[name][f"{key} / CrabNet"] = rows[name][key] / crab[key]
        out[f"{n}_threads"] = rows
        print(f"threads={n} batch={batch_size} ({rounds} interleaved rounds of {steps} batches)")
        for name, r in rows.items():
            ratio = r.get("train_samples_per_cpu_s / CrabNet")
            print(
                f"  {name:<12} train {r['train_samples_per_s']:6.0f}/s wall "
                f"{r['train_samples_per_cpu_s']:6.0f}/cpu-s  infer "
                f"{r['inference_samples_per_s']:6.0f}/s wall {r['inference_samples_per_cpu_s']:6.0f}"
                "/cpu-s" + (f"  train x{ratio:.2f} CrabNet (cpu-s)" if ratio else "")
            )
    return out


def time_to_accuracy(dataset: str, profile: str = "standard") -> dict[str, Any] | None:
    """Part 2 for one dataset, from stored records (the rule: ``analysis.convergence``)."""
    from matfusion.analysis.convergence import time_to_accuracy as reach
    from matfusion.experiments import run_config
    from matfusion.profiles import get_profile
    from matfusion.results import ResultsStore

    store = ResultsStore()
    prof = get_profile(profile)
    recs = {m: store.get(run_config(m, dataset, profile=prof)) for m in ("L-G-DCNN", "CrabNet")}
    missing = [m for m, r in recs.items() if r is None]
    if missing:
        print(f"{dataset}: no stored {profile} record of {', '.join(missing)}; skipped")
        return {"dataset": dataset, "missing": missing}
    crab, ours = recs["CrabNet"], recs["L-G-DCNN"]
    found = reach(ours, crab)
    result = {
        "dataset": dataset,
        "profile": profile,
        "n_train": crab["sizes"]["train"],
        "crabnet_best_val_mae": found.target_mae,
        "crabnet_seconds_to_best": found.reference_seconds,
        "crabnet_epochs": len(crab["history"]),
        "crabnet_train_samples_per_s": crab["train_samples_per_s"],
        "lgdcnn_best_val_mae": found.best_mae,
        "lgdcnn_seconds_to_crabnet_best": found.seconds,
        "lgdcnn_epoch_reached": found.epoch,
        "lgdcnn_train_samples_per_s": ours["train_samples_per_s"],
        "time_ratio": found.ratio,
        "target_time_ratio": 0.5,
        "threads": {
            "CrabNet": (crab.get("train_settings") or {}).get("num_threads"),
            "L-G-DCNN": (ours.get("train_settings") or {}).get("num_threads"),
        },
    }
    print(f"{dataset}: {found.describe()}")
    return result


def _load_note() -> str:
    """Say whether other jobs shared the CPU: a busy machine makes the ratios noisy."""
    load = os.getloadavg()[0]
    cores = os.cpu_count() or 1
    if load < 0.5 * cores:
        return f"quiet machine: 1-minute load {load:.2f} on {cores} cores at the start"
    return f"shared machine: 1-minute load {load:.2f} on {cores} cores at the start"


def main(argv: Sequence[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=2, help="batches per model per round")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--skip-throughput", action="store_true", help="only part 2")
    parser.add_argument("--out", default=str(HERE / "results" / "peer_throughput_cpu.json"))
    args = parser.parse_args(argv)

    result: dict[str, Any] = {
        "settings": {
            "batch_size": args.batch_size,
            "rounds": args.rounds,
            "steps_per_round": args.steps,
            "warmup": args.warmup,
            "d_model": 512,
            "compositions": "2-6 random elements, padded to 6 (same tensors for every model)",
            "torch": torch.__version__,
            "machine": platform.machine(),
            "cpu_count": os.cpu_count(),
            "load_average_at_start": list(os.getloadavg()),
            "note": _load_note(),
        },
    }
    if not args.skip_throughput:
        result["equal_batch"] = equal_batch_throughput(
            args.threads, args.batch_size, args.rounds, args.steps, args.warmup
        )
    elif Path(args.out).is_file():  # keep the measured part of an earlier run, and its settings
        earlier = json.loads(Path(args.out).read_text())
        result["settings"] = earlier.get("settings", result["settings"])
        result["equal_batch"] = earlier.get("equal_batch")
    result["time_to_accuracy"] = [time_to_accuracy(d) for d in TIME_TO_ACCURACY_SETS]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1, default=float) + "\n")
    print(f"written: {args.out}")
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
