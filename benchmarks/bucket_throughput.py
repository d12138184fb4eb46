"""Length bucketing: L-G-DCNN training samples/s with and without it, against CrabNet at
equal batch size, on the composition lengths of a real dataset.

``benchmarks/peer_throughput.py`` times every model on the same random 2-6 element
compositions padded to 6, where bucketing cannot help. Here the batches are those training
would see on ``--dataset`` (default OQMD_Formation_Enthalpy, the Figure 3 set: 77%
ternaries, longest 7; ``synthetic`` is ``peer_throughput.py``'s compositions, 2-6 elements):
one epoch's first batches from :func:`matfusion.train.epoch_batches`, plain (a random
permutation; each batch trimmed to its longest row, as ``fit`` always did) and bucketed
(``TrainConfig(bucket=True)``). CrabNet gets the plain schedule's rows padded to its
``n_elements``, the longest composition over train, validation and test, as its loader pads
every batch (and as :mod:`matfusion.baselines.crabnet` sets it).

Part 1 times one training step per batch (forward, robust L1, backward, optimiser; the steps
of ``benchmarks/peer_throughput.py``) for the three, *interleaved* round by round, in wall
and process-CPU seconds: on a shared machine the per-round CPU-second rates and their
medians are the numbers to read. ``--bf16`` adds L-G-DCNN bucketed under bfloat16 autocast
(CrabNet stays float32, as it trains). Part 2 (``--fit-rows``) runs
``matfusion.train.fit`` itself for two epochs with and without bucketing, alternating, and
reports its ``samples_per_s``.
Run::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bucket_throughput.py [--threads 1] \\
        [--dataset OQMD_Formation_Enthalpy|mp_e_hull|synthetic] [--rounds 8] [--steps 2] \\
        [--bf16] [--fit-rows 2560]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

HERE = Path(__file__).resolve().parent


def _peer_throughput():
    """``benchmarks/peer_throughput.py`` as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("peer_throughput", HERE / "peer_throughput.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def _encoded(dataset: str):
    """The training split encoded (mat2vec), and CrabNet's ``n_elements`` for the dataset.
    ``synthetic``: ``peer_throughput.py``'s random 2-6 element compositions (lengths
    uniform over 2-6), 25,600 of them, padded to 6."""
    from matfusion.data import element_table, load_split
    from matfusion.featurize import EncodedCompositions, encode_formulas

    if dataset == "synthetic":
        mt = _peer_throughput()._model_throughput()
        elements, fractions = mt.random_compositions(25_600, 103)
        encoded = EncodedCompositions(elements=elements.numpy(), fractions=fractions.numpy())
        return encoded, np.random.default_rng(0).normal(size=25_600), 6

    table = element_table("mat2vec")
    splits = {s: load_split(dataset, s) for s in ("train", "val", "test")}
    train = encode_formulas(splits["train"]["formula"].tolist(), table)
    longest = max(
        int((encode_formulas(frame["formula"].tolist(), table).elements != 0).sum(1).max())
        for frame in splits.values()
    )
    return train, splits["train"]["target"].to_numpy(), longest


def schedules(
    lengths: torch.Tensor, batch_size: int, n_batches: int, seed: int = 0
) -> dict[str, list[tuple[torch.Tensor, int]]]:
    """The first ``n_batches`` batches of one epoch, plain and bucketed: (rows, width)."""
    from matfusion.train import epoch_batches

    out = {}
    for name, bucket in (("plain", False), ("bucketed", True)):
        perm, spans = epoch_batches(
            lengths, batch_size, torch.Generator().manual_seed(seed), bucket
        )
        out[name] = [(perm[a:b], w) for a, b, w in spans[:n_batches]]
    return out


def padding_share(batches: list[tuple[torch.Tensor, int]], lengths: torch.Tensor) -> float:
    """Share of element slots that are padding once each batch is cut to ``width``."""
    slots = sum(len(rows) * width for rows, width in batches)
    return 1.0 - sum(int(lengths[rows].sum()) for rows, _ in batches) / slots


def bf16_step(batches, d_model: int = 512):
    """``peer_throughput.ours_steps``'s L-G-DCNN training step under bfloat16 autocast (as
    ``TrainConfig(autocast=True)`` runs it)."""
    from matfusion.models import build_model
    from matfusion.train import robust_l1

    table = np.random.default_rng(0).normal(size=(104, 200)).astype(np.float32)
    table[0] = 0.0
    torch.manual_seed(0)
    model = build_model("L-G-DCNN", table, d_model=d_model)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-4)

    def train(i: int) -> None:
        e, f, y = batches[i % len(batches)]
        model.train()
        optimiser.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = robust_l1(model(e, f).float(), y)
        loss.backward()
        optimiser.step()

    return train


def equal_batch(
    dataset: str,
    batch_size: int,
    rounds: int,
    steps: int,
    warmup: int,
    threads: int,
    bf16: bool = False,
) -> dict[str, Any]:
    """Part 1: interleaved step timings of L-G-DCNN (plain, bucketed; with ``bf16`` also
    bucketed under bfloat16 autocast) and CrabNet (float32, as it trains)."""
    pt = _peer_throughput()
    torch.set_num_threads(threads)
    encoded, y, n_elements = _encoded(dataset)
    elements = torch.as_tensor(encoded.elements)
    fractions = torch.as_tensor(encoded.fractions)
    if elements.shape[1] < n_elements:  # pad to CrabNet's width (longest over all splits)
        extra = n_elements - elements.shape[1]
        elements = torch.nn.functional.pad(elements, (0, extra))
        fractions = torch.nn.functional.pad(fractions, (0, extra))
    positions = torch.arange(1, elements.shape[1] + 1)
    lengths = ((elements != 0).long() * positions).amax(1)
    targets = torch.as_tensor((y - y.mean()) / y.std(), dtype=torch.float32)
    n_batches = rounds * steps + warmup
    plan = schedules(lengths, batch_size, n_batches)

    cut = {  # rows and the width each model's batch is cut to
        "L-G-DCNN plain": plan["plain"],
        "L-G-DCNN bucketed": plan["bucketed"],
        "CrabNet": [(rows, n_elements) for rows, _ in plan["plain"]],
    }
    data = {
        name: [(elements[r, :w], fractions[r, :w], targets[r]) for r, w in schedule]
        for name, schedule in cut.items()
    }
    steps_of = {
        "L-G-DCNN plain": pt.ours_steps("L-G-DCNN", data["L-G-DCNN plain"])[0],
        "L-G-DCNN bucketed": pt.ours_steps("L-G-DCNN", data["L-G-DCNN bucketed"])[0],
        "CrabNet": pt.crabnet_steps(data["CrabNet"])[0],
    }
    ours = ["L-G-DCNN plain", "L-G-DCNN bucketed"]
    if bf16:
        cut["L-G-DCNN bucketed bf16"] = cut["L-G-DCNN bucketed"]
        data["L-G-DCNN bucketed bf16"] = data["L-G-DCNN bucketed"]
        steps_of["L-G-DCNN bucketed bf16"] = bf16_step(data["L-G-DCNN bucketed"])
        ours.append("L-G-DCNN bucketed bf16")
    for step in steps_of.values():  # warm-up: the last batches, never timed
        for i in range(rounds * steps, n_batches):
            step(i)
    per_round: dict[str, list[tuple[float, float, int]]] = {m: [] for m in steps_of}
    for r in range(rounds):
        for name, step in steps_of.items():
            w0, c0, samples = time.perf_counter(), time.process_time(), 0
            for i in range(r * steps, (r + 1) * steps):
                step(i)
                samples += len(data[name][i][2])
            per_round[name].append((time.perf_counter() - w0, time.process_time() - c0, samples))
    rows: dict[str, Any] = {}
    for name, timings in per_round.items():
        wall = sum(t[0] for t in timings)
        cpu = sum(t[1] for t in timings)
        samples = sum(t[2] for t in timings)
        timed = cut[name][: rounds * steps]
        rows[name] = {
            "train_samples_per_s": samples / wall,
            "train_samples_per_cpu_s": samples / cpu,
            "median_round_samples_per_cpu_s": statistics.median(t[2] / t[1] for t in timings),
            "mean_width": float(np.mean([w for _, w in timed])),
            "padding_share": padding_share(timed, lengths),
        }
    crab = rows["CrabNet"]
    ratios = {}
    for name in ours:
        ratios[f"{name} / CrabNet"] = {
            key: rows[name][key] / crab[key]
            for key in (
                "train_samples_per_s",
                "train_samples_per_cpu_s",
                "median_round_samples_per_cpu_s",
            )
        }
    # per-round ratio, then its median: robust to a round slowed by other jobs
    ratios["median of per-round ratios (cpu-s)"] = {
        name: statistics.median(
            (a[2] / a[1]) / (c[2] / c[1])
            for a, c in zip(per_round[name], per_round["CrabNet"], strict=True)
        )
        for name in ours
    }
    print(
        f"{dataset}: batch {batch_size}, {threads} thread(s), {rounds} interleaved rounds of "
        f"{steps} batches, CrabNet n_elements {n_elements}"
    )
    for name, r in rows.items():
        print(
            f"  {name:<22} {r['train_samples_per_s']:7.0f}/s wall {r['train_samples_per_cpu_s']:7.0f}"
            f"/cpu-s (median round {r['median_round_samples_per_cpu_s']:6.0f})  mean width "
            f"{r['mean_width']:.2f}  padding {r['padding_share']:.0%}"
        )
    for name, value in ratios["median of per-round ratios (cpu-s)"].items():
        print(f"  {name} / CrabNet: x{value:.2f} (median of per-round cpu-s ratios)")
    return {
        "dataset": dataset,
        "batch_size": batch_size,
        "threads": threads,
        "rounds": rounds,
        "steps_per_round": steps,
        "crabnet_n_elements": n_elements,
        "rows": rows,
        "ratios": ratios,
        "per_round": per_round,
    }


def fit_epochs(dataset: str, n_rows: int, batch_size: int, repeats: int, threads: int) -> dict:
    """Part 2: ``fit``'s own samples/s over two epochs of L-G-DCNN (the ``fast`` recipe's
    one-cycle schedule needs more than ten steps), plain and bucketed, alternating (plain,
    bucketed, plain, ...) so both see the same machine."""
    from matfusion.data import element_table, load_split
    from matfusion.experiments import subsample
    from matfusion.featurize import encode_formulas
    from matfusion.models import build_model
    from matfusion.train import TrainConfig, fit

    table = element_table("mat2vec")
    train = subsample(load_split(dataset, "train"), n_rows, 0)
    val = subsample(load_split(dataset, "val"), 256, 0)
    enc_tr = encode_formulas(train["formula"].tolist(), table)
    enc_va = encode_formulas(val["formula"].tolist(), table)
    rates: dict[str, list[float]] = {"plain": [], "bucketed": []}
    padding: dict[str, float] = {}
    for _ in range(repeats):
        for name in ("plain", "bucketed"):
            torch.manual_seed(0)
            model = build_model("L-G-DCNN", table.vectors, d_model=512)
            cfg = TrainConfig(
                recipe="fast",
                epochs=2,
                batch_size=batch_size,
                num_threads=threads,
                bucket=name == "bucketed",
            )
            result = fit(model, enc_tr, train["target"], enc_va, val["target"], cfg, False)
            rates[name].append(result.samples_per_s)
            padding[name] = result.settings["padding_share"]
    out = {
        "dataset": dataset,
        "n_train": n_rows,
        "batch_size": batch_size,
        "threads": threads,
        "samples_per_s": rates,
        "median_samples_per_s": {k: statistics.median(v) for k, v in rates.items()},
        "padding_share": padding,
    }
    med = out["median_samples_per_s"]
    out["bucketed / plain"] = med["bucketed"] / med["plain"]
    print(
        f"fit, 2 epochs of {n_rows} rows x {repeats}: plain {med['plain']:.0f}/s, bucketed "
        f"{med['bucketed']:.0f}/s (x{out['bucketed / plain']:.2f}); padding "
        f"{padding['plain']:.0%} -> {padding['bucketed']:.0%}"
    )
    return out


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="OQMD_Formation_Enthalpy")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--steps", type=int, default=2, help="batches per model per round")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--fit-rows", type=int, default=0, help="part 2 size (0: skip)")
    parser.add_argument("--fit-repeats", type=int, default=2)
    parser.add_argument("--skip-equal-batch", action="store_true", help="only part 2")
    parser.add_argument("--bf16", action="store_true", help="part 1 also under bf16 autocast")
    parser.add_argument("--out", default=str(HERE / "results" / "bucket_throughput_cpu.json"))
    args = parser.parse_args(argv)
    load = os.getloadavg()
    result: dict[str, Any] = {
        "settings": {
            "torch": torch.__version__,
            "machine": platform.machine(),
            "cpu_count": os.cpu_count(),
            "load_average_at_start": list(load),
            "note": (
                f"1-minute load {load[0]:.2f} on {os.cpu_count()} cores at the start: other "
                "jobs share the CPU, so read the CPU-second rates and per-round medians"
            ),
        },
    }
    if not args.skip_equal_batch:
        result["equal_batch"] = equal_batch(
            args.dataset,
            args.batch_size,
            args.rounds,
            args.steps,
            args.warmup,
            args.threads,
            bf16=args.bf16,
        )
    if args.fit_rows:
        result["fit"] = fit_epochs(
            args.dataset, args.fit_rows, args.batch_size, args.fit_repeats, args.threads
        )
    result["settings"]["load_average_at_end"] = list(os.getloadavg())
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1, default=float) + "\n")
    print(f"written: {args.out}")
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
