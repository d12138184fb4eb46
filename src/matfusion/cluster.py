"""The cluster file (``matfusion.toml``): what a SLURM task of each profile asks for.

Resources differ by profile (a ``smoke`` cell needs a core for a minute, a ``paper`` cell a
GPU for hours) and by site (partition, account, qos), so they live in a small TOML file
beside the work, not in the code::

    [defaults]              # every task; each key optional (defaults in DEFAULTS)
    partition = "gpu"
    account = "my-project"
    time = "04:00:00"       # minutes (an integer) or [D-]HH:MM:SS
    mem = "16G"             # an integer (GB) or a size with M, G or T

    [profile.paper]         # grid cells of one profile: smoke, standard, large, paper
    time = "1-00:00:00"
    gpus = 1

    [dft]                   # the DFT batch (matfusion dft), one structure per task
    cpus = 1

A key or section this module does not know is one clear error, so a typo (``gpu = 1``)
cannot silently submit CPU-only tasks.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The file read from the working directory when no ``--cluster FILE`` is given.
CLUSTER_FILE = "matfusion.toml"

#: Every key and its default (None: leave it to the cluster's own default).
DEFAULTS: dict[str, Any] = {
    "partition": None,
    "account": None,
    "qos": None,
    "time": "04:00:00",
    "gpus": 0,
    "cpus": 4,
    "mem": "16G",
    "max_running": 64,
}

_TIME = re.compile(r"^(?:(\d+)-)?(\d+):(\d{1,2}):(\d{1,2})$")
_MEM = re.compile(r"^(\d+(?:\.\d+)?)\s*([MGT])B?$", re.IGNORECASE)
_MEM_MB = {"M": 1, "G": 1024, "T": 1024 * 1024}


@dataclass(frozen=True)
class Resources:
    """What one task asks SLURM for (``time_min`` minutes, ``mem_mb`` megabytes);
    ``max_running`` caps the tasks of one job array that run at once."""

    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    time_min: int = 240
    gpus: int = 0
    cpus: int = 4
    mem_mb: int = 16 * 1024
    max_running: int = 64


def _minutes(value: Any, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = _TIME.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{where}: time {value!r} is not minutes or [D-]HH:MM:SS")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    total = days * 1440 + hours * 60 + minutes + (1 if seconds else 0)
    if total < 1:
        raise ValueError(f"{where}: time {value!r} is shorter than a minute")
    return total


def _megabytes(value: Any, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value * 1024
    match = _MEM.match(value.strip()) if isinstance(value, str) else None
    if match is None or float(match.group(1)) <= 0:
        raise ValueError(f"{where}: mem {value!r} is not a size such as 16G or 500M")
    return max(1, round(float(match.group(1)) * _MEM_MB[match.group(2).upper()]))


def _count(value: Any, key: str, where: str, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(f"{where}: {key} must be a whole number >= {least}, got {value!r}")
    return value


def _name(value: Any, key: str, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: {key} must be a non-empty string, got {value!r}")
    return value.strip()


def resources_from(settings: dict[str, Any], where: str = "cluster file") -> Resources:
    """Checked :class:`Resources` from ``DEFAULTS`` overridden by ``settings``."""
    unknown = sorted(set(settings) - set(DEFAULTS))
    if unknown:
        raise ValueError(
            f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(DEFAULTS))})"
        )
    merged = {**DEFAULTS, **settings}
    return Resources(
        partition=_name(merged["partition"], "partition", where),
        account=_name(merged["account"], "account", where),
        qos=_name(merged["qos"], "qos", where),
        time_min=_minutes(merged["time"], where),
        gpus=_count(merged["gpus"], "gpus", where, 0),
        cpus=_count(merged["cpus"], "cpus", where, 1),
        mem_mb=_megabytes(merged["mem"], where),
        max_running=_count(merged["max_running"], "max_running", where, 1),
    )


@dataclass(frozen=True)
class ClusterConfig:
    """The parsed cluster file: ``defaults`` and per-section overrides (``profile.<name>``,
    ``dft``), all checked on load."""

    source: str
    defaults: dict[str, Any]
    sections: dict[str, dict[str, Any]]

    def resources(self, section: str) -> Resources:
        """Resources of ``section`` (``profile.paper``, ``dft``): its keys over the defaults."""
        return resources_from(
            {**self.defaults, **self.sections.get(section, {})}, f"{self.source} [{section}]"
        )


def load_cluster(path: str | Path | None = None) -> ClusterConfig:
    """Read ``path``, else ``./matfusion.toml`` if present, else the built-in defaults.

    Every section is checked here, so a bad key anywhere fails before anything is submitted.
    """
    from matfusion.profiles import PROFILES

    if path is None:
        found = Path.cwd() / CLUSTER_FILE
        if not found.is_file():
            return ClusterConfig("built-in defaults", {}, {})
        path = found
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--cluster: no cluster file at {path}")
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{path}: not valid TOML ({err})") from None
    source = str(path)
    unknown = sorted(set(doc) - {"defaults", "profile", "dft"})
    if unknown:
        raise ValueError(
            f"{source}: unknown section or key {unknown[0]!r} "
            "(known: [defaults], [profile.<name>], [dft])"
        )
    tables = {"defaults": doc.get("defaults", {}), "dft": doc.get("dft", {})}
    profiles = doc.get("profile", {})
    if not isinstance(profiles, dict):
        raise ValueError(f"{source}: 'profile' must hold tables such as [profile.paper]")
    for name, table in profiles.items():
        if name not in PROFILES:
            raise ValueError(
                f"{source}: unknown profile section [profile.{name}] "
                f"(profiles: {', '.join(PROFILES)})"
            )
        tables[f"profile.{name}"] = table
    for section, table in tables.items():
        if not isinstance(table, dict):
            raise ValueError(f"{source}: [{section}] must be a table of keys")
        resources_from({**tables["defaults"], **table}, f"{source} [{section}]")
    sections = {k: v for k, v in tables.items() if k != "defaults"}
    return ClusterConfig(source, dict(tables["defaults"]), sections)
