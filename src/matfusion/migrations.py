"""Migrations: rewrite stored records to the current record versions without retraining.

A record's key is the hash of its config, so a change in how a config is built (a new
identity, a new recorded setting) would orphan every stored result. A migration maps an
old config to the new one when the run it describes is unchanged, and moves the record to
its new key; the results in the file are kept as they are. ``matfusion migrate`` applies
every step in order and is idempotent.

Steps:

* **ECD v1 -> v2** (experiments ``ecd_*``): the dataset identity ``data_sha256`` was the hash
  of the moduli's full-precision text, whose last bits depend on the BLAS kernel that ran
  ``np.linalg.inv`` (see :mod:`matfusion.ecd.data`). It is now built from the source files'
  sha256s, the filter and the table's mp ids. :data:`ECD_DATASET_IDS` maps the old hashes
  measured under each OpenBLAS kernel to the new identity of the same table.
* **ECD v2 -> v3**: the density models' configs name their CNN variant
  (:data:`matfusion.ecd.models.ECD_VARIANTS`); every run stored before had ``matfusion-v1``.
* **paper A conventions**: a run of one of our models records the conventions it was built
  with (:mod:`matfusion.models.conventions`); every run stored before had ``matfusion-v1``.
  The analyses that name their training runs by key (``cecv``'s ``train_key``,
  ``interpret``'s ``train_keys``) follow them to their new keys.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matfusion.results import CorruptRecordError, ResultsStore, canonical_json, key_for

__all__ = ["ECD_DATASET_IDS", "MigrationReport", "migrate_config", "migrate_store"]

#: Old ECD table hashes (moduli text, by OpenBLAS kernel) -> the inputs-only identity.
#: Measured with ``OPENBLAS_CORETYPE`` = SkylakeX, Haswell (= Zen) and Sandybridge on the
#: same machine; the two tables are the ``standard`` set (516 materials) and the provider
#: comparison's (501: without Tc, which GPAW has no setup for).
ECD_DATASET_IDS: dict[str, str] = {
    "2a2caca900ad366f": "adfe564ceee4166f",  # 516, SkylakeX
    "71482be2bffcc2ce": "adfe564ceee4166f",  # 516, Haswell / Zen
    "4f07815a8f325e37": "adfe564ceee4166f",  # 516, Sandybridge
    "726c6d7595501702": "38831883baf29f32",  # 501, SkylakeX
    "b39e4aae7f5b7d38": "38831883baf29f32",  # 501, Haswell / Zen
    "419c1d5571af8f84": "38831883baf29f32",  # 501, Sandybridge
}

ECD_EXPERIMENTS = ("ecd_cv", "ecd_loeo", "ecd_external", "ecd_density_diff")


class MigrationError(ValueError):
    """A record cannot be migrated (its run must be recomputed)."""


def _ecd_v1_to_v2(config: dict[str, Any]) -> dict[str, Any]:
    old = config["data_sha256"]
    try:
        new = ECD_DATASET_IDS[old]
    except KeyError:
        raise MigrationError(
            f"ECD table {old} is not one of the tables with a known new identity"
        ) from None
    return {**config, "data_sha256": new, "record_version": 2}


def _paper_a_conventions(config: dict[str, Any]) -> dict[str, Any] | None:
    """A paper-A run of our own models without recorded conventions: matfusion-v1."""
    from matfusion.baselines import is_peer
    from matfusion.models import get_conventions

    if config.get("experiment") != "train" or "conventions" in config:
        return None
    if is_peer(config.get("model", "")):
        return None
    return {**config, "conventions": get_conventions("matfusion-v1").to_dict()}


def _follow_train_keys(config: dict[str, Any], moved: dict[str, str]) -> dict[str, Any] | None:
    """An analysis whose training runs moved names them by their new keys."""
    if config.get("experiment") == "cecv" and config.get("train_key") in moved:
        return {**config, "train_key": moved[config["train_key"]]}
    keys = config.get("train_keys")
    if (
        config.get("experiment") == "interpret"
        and isinstance(keys, dict)
        and any(k in moved for k in keys.values())
    ):
        return {**config, "train_keys": {n: moved.get(k, k) for n, k in keys.items()}}
    return None


@dataclass(frozen=True)
class _Step:
    experiments: tuple[str, ...]
    from_version: int
    apply: Callable[[dict[str, Any]], dict[str, Any]]


#: Paper B's models whose input is a density (they have a CNN variant).
_ECD_DENSITY_MODELS = ("3D-CNN+ECD", "2D-CNN+ECD", "Fusion(Magpie+ECD)")


def _ecd_v2_to_v3(config: dict[str, Any]) -> dict[str, Any]:
    """Density models record their CNN variant; every stored one used ``matfusion-v1``."""
    out = {**config, "record_version": 3}
    if config.get("model") in _ECD_DENSITY_MODELS:
        out["train"] = {**config["train"], "variant": "matfusion-v1"}
    return out


_STEPS: tuple[_Step, ...] = (
    _Step(ECD_EXPERIMENTS, 1, _ecd_v1_to_v2),
    _Step(ECD_EXPERIMENTS, 2, _ecd_v2_to_v3),
)


def migrate_config(
    config: dict[str, Any], moved_train_keys: dict[str, str] | None = None
) -> dict[str, Any]:
    """``config`` after every step that applies to it (the same dict if none does);
    ``moved_train_keys`` maps old to new keys of training runs that analyses name."""
    for step in _STEPS:
        if (
            config.get("experiment") in step.experiments
            and config.get("record_version") == step.from_version
        ):
            config = step.apply(config)
    config = _paper_a_conventions(config) or config
    return _follow_train_keys(config, moved_train_keys or {}) or config


@dataclass
class MigrationReport:
    """What :func:`migrate_store` did (or would do, for a dry run)."""

    migrated: list[tuple[Path, Path]] = field(default_factory=list)
    current: int = 0
    failed: list[tuple[Path, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.migrated)} records migrated, {self.current} already current, "
            f"{len(self.failed)} could not be migrated (recompute them)"
        )


def migrate_store(store: ResultsStore | None = None, *, dry_run: bool = False) -> MigrationReport:
    """Move every record of ``store`` whose config has a migration to its new key.

    The record's contents are kept; only ``config`` and ``key`` change. A record already at
    the target key with a different body is an error (nothing is overwritten).
    """
    store = store or ResultsStore()
    report = MigrationReport()
    paths = sorted(store.root.glob("*/**/[!.]*.json"))
    # training runs first, so the analyses that name them can follow their new keys
    moved: dict[str, str] = {}
    for path in paths:
        if path.relative_to(store.root).parts[0] == "train":
            with contextlib.suppress(CorruptRecordError, MigrationError):
                doc = store._read(path)
                moved[key_for(doc["config"])] = key_for(migrate_config(doc["config"]))
    moved = {old: new for old, new in moved.items() if old != new}
    for path in sorted(paths, key=lambda p: p.relative_to(store.root).parts[0] != "train"):
        try:
            doc = store._read(path)
        except CorruptRecordError as err:
            report.failed.append((path, str(err)))
            continue
        try:
            config = migrate_config(doc["config"], moved)
        except MigrationError as err:
            report.failed.append((path, str(err)))
            continue
        if canonical_json(config) == canonical_json(doc["config"]):
            report.current += 1
            continue
        target = store.path_for(config)
        if target.exists():
            existing = store._read(target)
            body = {k: v for k, v in doc.items() if k not in ("key", "config")}
            kept = {k: v for k, v in existing.items() if k not in ("key", "config")}
            if json.dumps(body, sort_keys=True) != json.dumps(kept, sort_keys=True):
                report.failed.append((path, f"{target} already holds another run"))
                continue
        report.migrated.append((path, target))
        if dry_run:
            continue
        record = {k: v for k, v in doc.items() if k not in ("key", "config")}
        store.put(config, record, overwrite=True)
        if target != path:
            path.unlink()
    return report
