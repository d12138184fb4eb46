"""Model checkpoints: weights + architecture (name, config) + target scaler + metadata.

Only plain containers, numbers, strings and tensors are stored, so loading uses
``torch.load(weights_only=True)`` (no arbitrary pickle code runs). The model is rebuilt by
a caller-supplied ``build_fn(name, config)`` because building needs things a checkpoint
should not duplicate (e.g. the element-embedding table).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from matfusion.io import atomic_write, json_default

from .trainer import TargetScaler

__all__ = ["CheckpointError", "load_checkpoint", "save_checkpoint"]

_FORMAT = "matfusion-checkpoint"
_VERSION = 1


class CheckpointError(RuntimeError):
    """A checkpoint file exists but cannot be used (corrupt, wrong format, wrong model)."""


def _plain(obj: Any) -> Any:
    """Round-trip through JSON: numpy scalars become numbers, so weights_only loading works."""
    return json.loads(json.dumps(obj, default=json_default))


def save_checkpoint(
    path: str | os.PathLike[str],
    model: nn.Module,
    scaler: TargetScaler,
    meta: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically (temp file in the same folder, then ``os.replace``), so
    an interrupted save never leaves a half-written file under ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": _FORMAT,
        "version": _VERSION,
        "name": str(getattr(model, "name", type(model).__name__)),
        "config": _plain(getattr(model, "config", {})),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "scaler": scaler.to_dict(),
        "meta": _plain(meta or {}),
    }
    with atomic_write(path, binary=True) as fh:
        torch.save(payload, fh)
    return path


def load_checkpoint(
    path: str | os.PathLike[str],
    build_fn: Callable[[str, dict[str, Any]], nn.Module],
    map_location: str | torch.device = "cpu",
) -> tuple[nn.Module, TargetScaler, dict[str, Any]]:
    """Rebuild the model with ``build_fn(name, config)``, load its weights (strictly) and
    return ``(model in eval mode, scaler, meta)``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise CheckpointError(f"{path} is not a matfusion checkpoint")
    if payload.get("version") != _VERSION:
        raise CheckpointError(f"{path}: unsupported checkpoint version {payload.get('version')}")
    model = build_fn(payload["name"], payload["config"])
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise CheckpointError(
            f"{path}: weights do not fit the rebuilt model {payload['name']!r}: {exc}"
        ) from exc
    model.to(map_location)
    model.eval()
    return model, TargetScaler.from_dict(payload["scaler"]), payload["meta"]
