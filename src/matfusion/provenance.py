"""Where a number came from: code version, package versions, hardware, time.

Cheap to call (a couple of ``git`` queries, cached static facts) so every results record
can carry it. The hardware section names the device a run trained on, the GPU's name when
that was CUDA, and the SLURM job (array) ids when SLURM ran it: facts about where a run
happened, kept out of its configuration (they do not change what was computed).
"""

from __future__ import annotations

import functools
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from .config import repo_root
from .io import sha256_file

__all__ = ["collect", "git_commit", "git_dirty", "sha256_file"]

_PACKAGES = ("torch", "numpy", "pandas", "pymatgen", "matfusion")


def _git(repo: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(
            # --no-optional-locks: read-only, never refresh the index of the user's checkout
            ["git", "--no-optional-locks", "-C", str(repo), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def git_commit(repo: str | os.PathLike[str] | None = None) -> str | None:
    """HEAD commit of the checkout holding ``repo`` (default: matfusion's); None outside one."""
    return _git(Path(repo) if repo is not None else repo_root(), "rev-parse", "HEAD") or None


def git_dirty(repo: str | os.PathLike[str] | None = None) -> bool | None:
    """Whether tracked files differ from HEAD; None outside a git checkout."""
    out = _git(
        Path(repo) if repo is not None else repo_root(),
        "status",
        "--porcelain",
        "--untracked-files=no",
    )
    return None if out is None else bool(out)


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


@functools.lru_cache(maxsize=1)
def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@functools.lru_cache(maxsize=1)
def _static() -> dict[str, Any]:
    return {
        "packages": {name: _version(name) for name in _PACKAGES},
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


#: SLURM's job identifiers, as recorded (the array ids only exist for array tasks).
_SLURM_VARIABLES = {
    "job_id": "SLURM_JOB_ID",
    "array_job_id": "SLURM_ARRAY_JOB_ID",
    "array_task_id": "SLURM_ARRAY_TASK_ID",
}


def slurm_job() -> dict[str, str] | None:
    """The SLURM job (and array task) running this process, or None outside SLURM."""
    found = {key: os.environ[var] for key, var in _SLURM_VARIABLES.items() if os.environ.get(var)}
    return found or None


def _hardware(device: str | None = None) -> dict[str, Any]:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    hw: dict[str, Any] = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "torch_threads": None,
        "device": device,
        "gpu": None,
        "slurm": slurm_job(),
    }
    torch = sys.modules.get("torch")  # report torch state only if torch is in use
    if torch is not None:
        hw["torch_threads"] = torch.get_num_threads()
        started = torch.cuda.is_initialized()  # asked without starting CUDA (a CPU run stays so)
        if hw["device"] is None:  # not told: CUDA counts as used once this process started it
            hw["device"] = "cuda" if started else "cpu"
        if torch.cuda.is_available():
            hw["gpus_visible"] = torch.cuda.device_count()
            if started or str(hw["device"]).startswith("cuda"):
                index = torch.cuda.current_device()
                props = torch.cuda.get_device_properties(index)
                hw["gpu"] = torch.cuda.get_device_name(index)
                hw["gpu_memory_gib"] = round(props.total_memory / 2**30, 1)
                hw["cuda"] = torch.version.cuda
    return hw


def collect(
    repo: str | os.PathLike[str] | None = None, *, device: str | None = None
) -> dict[str, Any]:
    """Provenance of a run: git commit and dirty flag, package versions, hardware (with the
    ``device`` the run trained on: default ``cuda`` if this process started CUDA, else
    ``cpu``), python, UTC timestamp. ``repo`` defaults to matfusion's checkout."""
    static = _static()
    commit = git_commit(repo)
    return {
        "git_commit": commit,
        "git_dirty": git_dirty(repo) if commit is not None else None,
        "packages": dict(static["packages"]),
        "hardware": _hardware(device),
        "python": static["python"],
        "platform": static["platform"],
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
    }
