"""The stored runs load on any x86-64 machine with AVX2.

The main command executes every chapter under ``standard`` from ``results/``. Here it runs
twice, in subprocesses under two OpenBLAS kernels (Haswell: AVX2, the laptops' kernel;
Sandybridge: AVX), each on its own copy of the store with the lookup log on
(``$MATFUSION_LOOKUP_LOG``). Both must look up exactly the same runs, find every one of
them, and write nothing: the book neither retrains nor skips on another machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from matfusion.book import notebook_sources
from matfusion.config import repo_root

KERNELS = ("Haswell", "Sandybridge")

pytestmark = pytest.mark.slow


def _files(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_size for p in sorted(root.rglob("*.json"))}


@pytest.fixture(scope="module")
def standard_runs(tmp_path_factory):
    """Per kernel: the lookup events, and the store's files before and after."""
    repo = repo_root()
    started = {}
    for kernel in KERNELS:
        base = tmp_path_factory.mktemp(f"standard-{kernel}")
        store = base / "results"
        shutil.copytree(repo / "results", store, ignore=shutil.ignore_patterns("smoke", ".*"))
        log = base / "lookups.jsonl"
        env = {
            **os.environ,
            "OPENBLAS_CORETYPE": kernel,
            "MATFUSION_RESULTS": str(store),
            "MATFUSION_LOOKUP_LOG": str(log),
            "MATFUSION_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
        }
        code = (
            "from pathlib import Path; from matfusion.book import execute_notebooks; "
            f"execute_notebooks('standard', executed_dir=Path({str(base / 'executed')!r}))"
        )
        output = open(base / "output.txt", "w")  # noqa: SIM115 - closed after wait below
        proc = subprocess.Popen(
            [sys.executable, "-c", code], env=env, cwd=repo, stdout=output, stderr=output
        )
        started[kernel] = (proc, output, base, store, _files(store))
    runs = {}
    for kernel, (proc, output, base, store, before) in started.items():
        rc = proc.wait(timeout=1800)
        output.close()
        text = (base / "output.txt").read_text()
        assert rc == 0, f"standard chapters failed under {kernel}:\n{text[-3000:]}"
        events = [json.loads(line) for line in (base / "lookups.jsonl").read_text().splitlines()]
        runs[kernel] = {"events": events, "before": before, "after": _files(store)}
    return runs


def _lookups(events: list[dict]) -> Counter:
    return Counter(json.dumps(e, sort_keys=True) for e in events)


def test_every_chapter_looks_up_the_same_runs_under_both_kernels(standard_runs):
    first, second = (_lookups(standard_runs[k]["events"]) for k in KERNELS)
    only_first, only_second = first - second, second - first
    assert not only_first and not only_second, (
        f"lookups differ between kernels: only {KERNELS[0]}: {list(only_first)[:5]}; "
        f"only {KERNELS[1]}: {list(only_second)[:5]}"
    )


def test_every_run_a_chapter_reads_is_stored(standard_runs):
    events = standard_runs[KERNELS[0]]["events"]
    missing = [e for e in events if e["event"] == "missing"]
    assert not missing, f"chapters report missing runs under standard: {missing[:5]}"
    absent = [e for e in events if e["event"] == "get" and not e["found"] and not e.get("optional")]
    assert not absent, f"chapters looked up runs that are not stored: {absent[:5]}"


def test_the_standard_book_writes_nothing(standard_runs):
    for kernel in KERNELS:
        run = standard_runs[kernel]
        assert run["after"] == run["before"], f"the store changed under {kernel}"


def test_every_chapter_that_reads_runs_was_traced(standard_runs):
    chapters = {e["chapter"] for e in standard_runs[KERNELS[0]]["events"]}
    expected = {s.stem for s in notebook_sources()} - {"01_data_overview"}
    assert expected <= chapters, f"no lookups traced for {sorted(expected - chapters)}"
