"""Where a number came from: code version, package versions, hardware, time.

Cheap to call (a couple of ``git`` queries, cached static facts) so every results record
can carry it.
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


def _hardware() -> dict[str, Any]:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    hw: dict[str, Any] = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "torch_threads": None,
        "gpu": None,
    }
    torch = sys.modules.get("torch")  # report torch state only if torch is in use
    if torch is not None:
        hw["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            hw["gpu"] = torch.cuda.get_device_name(torch.cuda.current_device())
    return hw


def collect(repo: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Provenance of a run: git commit and dirty flag, package versions, hardware, python,
    UTC timestamp. ``repo`` defaults to matfusion's checkout."""
    static = _static()
    commit = git_commit(repo)
    return {
        "git_commit": commit,
        "git_dirty": git_dirty(repo) if commit is not None else None,
        "packages": dict(static["packages"]),
        "hardware": _hardware(),
        "python": static["python"],
        "platform": static["platform"],
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
    }
