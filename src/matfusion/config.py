"""Where matfusion reads and writes things.

Every path the library touches is resolved here, so a user can redirect the cache, the
shared data folder or the results store with one environment variable each.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variables understood by matfusion.
ENV_CACHE = "MATFUSION_CACHE"
ENV_DATA_DIR = "MATFUSION_DATA_DIR"
ENV_RESULTS = "MATFUSION_RESULTS"


def repo_root() -> Path:
    """The checkout this package was installed from (editable install), else the cwd."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").exists() and (parent / "src" / "matfusion").exists():
            return parent
    return Path.cwd()


def cache_dir() -> Path:
    """User cache for downloaded packages and derived data (never inside the repo)."""
    path = Path(os.environ.get(ENV_CACHE, Path.home() / ".cache" / "matfusion")).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def results_dir() -> Path:
    """The results store: committed metric records with provenance."""
    path = Path(os.environ.get(ENV_RESULTS, repo_root() / "results")).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def checkpoints_dir() -> Path:
    """Model checkpoints (large, not committed)."""
    path = cache_dir() / "checkpoints"
    path.mkdir(parents=True, exist_ok=True)
    return path
