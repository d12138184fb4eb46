"""Training and inference throughput of composition models on the CPU.

Measures samples/s of a full training step (forward + backward + optimiser step, robust L1
loss, Adam) and of inference (``torch.inference_mode``) on random compositions of 2-6
elements, with torch using every core. Run::

    .venv/bin/python benchmarks/model_throughput.py [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from collections.abc import Sequence

import numpy as np
import torch

from matfusion.models import build_model

DEFAULT_MODELS = ("L-G-DCNN", "L-G-DCNN-V1", "LSTM", "DCNN-K1")


def random_compositions(
    n: int, n_elements: int, min_len: int = 2, max_len: int = 6, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` compositions of ``min_len..max_len`` distinct sorted elements, padded at the end."""
    rng = np.random.default_rng(seed)
    elements = np.zeros((n, max_len), dtype=np.int64)
    fractions = np.zeros((n, max_len), dtype=np.float32)
    for i in range(n):
        k = rng.integers(min_len, max_len + 1)
        elements[i, :k] = np.sort(rng.choice(np.arange(1, n_elements + 1), k, replace=False))
        amounts = rng.random(k) + 0.05
        fractions[i, :k] = amounts / amounts.sum()
    return torch.from_numpy(elements), torch.from_numpy(fractions)


def robust_l1(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CrabNet's loss (as in ``matfusion.train``), inlined to benchmark the model alone."""
    return (math.sqrt(2) * (target - pred[:, 0]).abs() * torch.exp(-pred[:, 1]) + pred[:, 1]).mean()


def measure(
    name: str,
    table: np.ndarray,
    *,
    d_model: int,
    batch_size: int,
    steps: int,
    warmup: int,
    bf16: bool = False,
) -> dict[str, float]:
    """Samples/s for training steps and inference batches of one model."""
    torch.manual_seed(0)
    model = build_model(name, table, d_model=d_model)
    n_batches = 8
    elements, fractions = random_compositions(batch_size * n_batches, table.shape[0] - 1)
    targets = torch.randn(batch_size * n_batches)
    batches = [
        (
            elements[i * batch_size : (i + 1) * batch_size],
            fractions[i * batch_size : (i + 1) * batch_size],
            targets[i * batch_size : (i + 1) * batch_size],
        )
        for i in range(n_batches)
    ]
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-4)

    def autocast() -> torch.autocast:
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16)

    def train_step(i: int) -> None:
        e, f, y = batches[i % n_batches]
        optimiser.zero_grad(set_to_none=True)
        with autocast():
            pred = model(e, f)
        robust_l1(pred.float(), y).backward()
        optimiser.step()

    model.train()
    for i in range(warmup):
        train_step(i)
    start = time.perf_counter()
    for i in range(steps):
        train_step(i)
    train_s = time.perf_counter() - start

    model.eval()
    with torch.inference_mode(), autocast():
        for i in range(warmup):
            model(*batches[i % n_batches][:2])
        start = time.perf_counter()
        for i in range(steps):
            model(*batches[i % n_batches][:2])
        infer_s = time.perf_counter() - start
    return {
        "train_samples_per_s": steps * batch_size / train_s,
        "inference_samples_per_s": steps * batch_size / infer_s,
        "train_ms_per_batch": 1000 * train_s / steps,
        "inference_ms_per_batch": 1000 * infer_s / steps,
        "n_parameters": sum(p.numel() for p in model.parameters()),
    }


def main(argv: Sequence[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS))
    parser.add_argument("--d-model", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--bf16", action="store_true", help="bfloat16 autocast (AMX/AVX512-BF16 CPUs)"
    )
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    # A random mat2vec-shaped table: throughput does not depend on the values.
    table = np.random.default_rng(0).normal(size=(104, 200)).astype(np.float32)
    table[0] = 0.0
    rows = {}
    print(
        f"d_model={args.d_model} batch={args.batch_size} threads={torch.get_num_threads()} "
        f"precision={'bf16' if args.bf16 else 'fp32'} "
        f"torch={torch.__version__} cpu={platform.processor() or platform.machine()}"
    )
    print(f"{'model':<14} {'params':>10} {'train/s':>10} {'infer/s':>10} {'train ms':>9}")
    for name in args.models:
        r = measure(
            name,
            table,
            d_model=args.d_model,
            batch_size=args.batch_size,
            steps=args.steps,
            warmup=args.warmup,
            bf16=args.bf16,
        )
        rows[name] = r
        print(
            f"{name:<14} {r['n_parameters']:>10,} {r['train_samples_per_s']:>10.0f} "
            f"{r['inference_samples_per_s']:>10.0f} {r['train_ms_per_batch']:>9.1f}"
        )
    result = {
        "settings": {
            "d_model": args.d_model,
            "batch_size": args.batch_size,
            "steps": args.steps,
            "warmup": args.warmup,
            "threads": torch.get_num_threads(),
            "compositions": "2-6 random elements, padded to 6",
            "optimizer": "Adam",
            "precision": "bf16 autocast" if args.bf16 else "float32",
            "torch": torch.__version__,
            "machine": platform.machine(),
            "processor": platform.processor(),
        },
        "models": rows,
    }
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(result, fh, indent=2)
    return result


if __name__ == "__main__":
    main()
