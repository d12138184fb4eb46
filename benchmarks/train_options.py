"""Do length bucketing and bf16 autocast keep the accuracy? And what does bf16 cost on a CPU?

Part 1 fits L-G-DCNN on a small real split (default: 2,048 training rows of
OQMD_Formation_Enthalpy, 512 validation, 2,048 test; width 128; the ``fast`` recipe for 30
epochs; one thread) several ways with the same seeds: plain (what every stored run did),
``bucket=True``, ``autocast=True`` (bfloat16), and plain and bucketed again with another
batch order (same data and initial weights), and reports the test MAE per seed, so a
difference can be read against what the batch order alone changes. Part 2 times training steps of
L-G-DCNN at the paper's width (512, batch 256) in float32 and under bfloat16 autocast,
interleaved, in process-CPU seconds. Run::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/train_options.py [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
#: TrainConfig flags per variant; ``reshuffled`` variants keep the data and the initial
#: weights but draw another batch order (``TrainConfig.seed`` + 1000): their spread is what
#: the batch order alone does to the MAE, the yardstick for ``bucket``.
VARIANTS: dict[str, dict[str, Any]] = {
    "plain": {},
    "bucket": {"bucket": True},
    "bf16": {"autocast": True},
    "plain-reshuffled": {"seed_offset": 1000},
    "bucket-reshuffled": {"bucket": True, "seed_offset": 1000},
}


def accuracy(
    dataset: str,
    n_train: int,
    n_eval: int,
    d_model: int,
    epochs: int,
    seeds: Sequence[int],
    variants: Sequence[str] = tuple(VARIANTS),
) -> dict[str, Any]:
    """Part 1: test MAE of each variant for each seed (same splits, same initial weights)."""
    from matfusion.data import element_table
    from matfusion.experiments import load_encoded
    from matfusion.models import build_model
    from matfusion.train import TrainConfig, fit, predict, regression_metrics, set_seed

    runs: dict[str, dict[int, dict[str, float]]] = {v: {} for v in variants}
    for seed in seeds:
        splits = {
            s: load_encoded(dataset, s, fold=None, max_rows=n, seed=seed)
            for s, n in (("train", n_train), ("val", n_eval), ("test", n_train))
        }
        for variant in variants:
            flags = dict(VARIANTS[variant])
            order_seed = seed + flags.pop("seed_offset", 0)
            set_seed(seed)
            net = build_model("L-G-DCNN", element_table("mat2vec").vectors, d_model=d_model)
            cfg = TrainConfig(recipe="fast", epochs=epochs, seed=order_seed, num_threads=1, **flags)
            result = fit(
                net,
                splits["train"].encoded,
                splits["train"].frame["target"].to_numpy(),
                splits["val"].encoded,
                splits["val"].frame["target"].to_numpy(),
                cfg,
                progress=False,
            )
            mean, _ = predict(result.model, result.scaler, splits["test"].encoded)
            mae = regression_metrics(splits["test"].frame["target"].to_numpy(), mean)["mae"]
            runs[variant][seed] = {
                "test_mae": mae,
                "best_val_mae": result.best_val_mae,
                "best_epoch": result.best_epoch,
                "train_samples_per_s": result.samples_per_s,
                "padding_share": result.settings["padding_share"],
            }
            print(
                f"seed {seed} {variant:<17} test MAE {mae:.4f}  val {result.best_val_mae:.4f} "
                f"(epoch {result.best_epoch})  {result.samples_per_s:.0f} samples/s"
            )
    summary = {}
    for variant, by_seed in runs.items():
        maes = [r["test_mae"] for r in by_seed.values()]
        summary[variant] = {
            "test_mae_mean": float(np.mean(maes)),
            "test_mae_min": float(min(maes)),
            "test_mae_max": float(max(maes)),
            "median_samples_per_s": statistics.median(
                r["train_samples_per_s"] for r in by_seed.values()
            ),
        }
    for variant, row in summary.items():
        print(
            f"{variant:<17} test MAE mean {row['test_mae_mean']:.4f} (seeds "
            f"{row['test_mae_min']:.4f}-{row['test_mae_max']:.4f})"
        )
    return {
        "dataset": dataset,
        "n_train": n_train,
        "n_eval": n_eval,
        "d_model": d_model,
        "epochs": epochs,
        "seeds": list(seeds),
        "runs": runs,
        "summary": summary,
    }


def bf16_speed(rounds: int, steps: int, batch_size: int = 256) -> dict[str, Any]:
    """Part 2: float32 against bfloat16-autocast training steps of L-G-DCNN (width 512) on
    random 2-6 element compositions, interleaved, one thread, process-CPU seconds."""
    from matfusion.models import build_model
    from matfusion.train import robust_l1

    sys.path.insert(0, str(HERE))
    import model_throughput as mt

    torch.set_num_threads(1)
    table = np.random.default_rng(0).normal(size=(104, 200)).astype(np.float32)
    table[0] = 0.0
    elements, fractions = mt.random_compositions(batch_size, 103)
    y = torch.randn(batch_size)
    steppers = {}
    for name in ("fp32", "bf16"):
        torch.manual_seed(0)
        model = build_model("L-G-DCNN", table, d_model=512)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)

        def step(model=model, optimizer=optimizer, bf16=name == "bf16") -> None:
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = robust_l1(model(elements, fractions).float(), y)
            loss.backward()
            optimizer.step()

        step()
        steppers[name] = step
    rates: dict[str, list[float]] = {name: [] for name in steppers}
    for _ in range(rounds):
        for name, step in steppers.items():
            c0 = time.process_time()
            for _ in range(steps):
                step()
            rates[name].append(steps * batch_size / (time.process_time() - c0))
    out = {name: statistics.median(r) for name, r in rates.items()}
    out["bf16 / fp32"] = out["bf16"] / out["fp32"]
    print(
        f"L-G-DCNN width 512, batch {batch_size}, 1 thread: fp32 {out['fp32']:.0f}, bf16 "
        f"{out['bf16']:.0f} samples/cpu-s (x{out['bf16 / fp32']:.2f}; median of {rounds} rounds)"
    )
    return {"median_samples_per_cpu_s": out, "per_round": rates}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="OQMD_Formation_Enthalpy")
    parser.add_argument("--n-train", type=int, default=2048)
    parser.add_argument("--n-eval", type=int, default=512)
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--speed-rounds", type=int, default=6, help="0: skip part 2")
    parser.add_argument("--out", default=str(HERE / "results" / "train_options_cpu.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    result = {
        "settings": {
            "torch": torch.__version__,
            "cpu_count": os.cpu_count(),
            "load_average_at_start": list(os.getloadavg()),
        },
        "accuracy": accuracy(
            args.dataset,
            args.n_train,
            args.n_eval,
            args.d_model,
            args.epochs,
            args.seeds,
            args.variants,
        ),
    }
    if args.speed_rounds:
        result["bf16_speed"] = bf16_speed(args.speed_rounds, steps=2)
    result["settings"]["load_average_at_end"] = list(os.getloadavg())
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1, default=float) + "\n")
    print(f"written: {args.out}")
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
