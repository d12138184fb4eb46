"""Model checkpoints: weights + architecture (name, config) + target scaler + metadata.

Only plain containers, numbers, strings and tensors are stored, so loading uses
``torch.load(weights_only=True)`` (no arbitrary pickle code runs). The model is rebuilt by
a caller-supplied ``build_fn(name, config)`` because building needs things a checkpoint
should not duplicate (e.g. the element-embedding table).
"""

from __future__ import annotations

import json
import os
import re
import zipfile
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


_NOT_A_CHECKPOINT = "is not a matfusion checkpoint (expected a file written by `matfusion train`)"
_FIELDS = ("name", "config", "state_dict", "scaler", "meta")


def _one_line(text: str, limit: int = 160) -> str:
    """First meaningful line of ``text`` (ANSI codes and extra spaces removed), shortened."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _sniff(path: Path) -> str | None:
    """Why ``path`` cannot be a torch checkpoint, judged from its first bytes, or None.

    Catches the usual mistakes (an empty, text or NumPy file, a zip without torch data)
    before ``torch.load``, whose own errors for them are empty or pages long.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
    except OSError as exc:
        return f"cannot read it ({exc.strerror or type(exc).__name__})"
    if not head:
        return "the file is empty (0 bytes)"
    if head.startswith(b"\x93NUMPY"):
        return "it is a NumPy .npy array"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
        except (zipfile.BadZipFile, OSError) as exc:
            return f"it is a damaged zip archive ({_one_line(str(exc))})"
        if not any(n.endswith("/data.pkl") or n == "data.pkl" for n in names):
            kinds = " (a NumPy .npz?)" if any(n.endswith(".npy") for n in names) else ""
            return f"it is a zip archive without torch data{kinds}"
        return None
    if head.startswith(b"\x80"):  # a pickle: torch's legacy format, let torch.load judge
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return f"cannot read it: unrecognised binary content (starts with {head[:8]!r})"
    return f"cannot read it: it is a text file (starts with {_one_line(text, 40)!r})"


def _load_error(exc: Exception) -> str:
    """``torch.load``'s failure in a few words (its weights-only message spans a page)."""
    text = str(exc)
    found = re.search(r"Unsupported global: GLOBAL (\S+)", text)
    if found:
        return (
            f"cannot read it: it stores Python objects ({found.group(1)}) that safe loading "
            "(weights_only=True) refuses"
        )
    return f"cannot read it with torch.load: {type(exc).__name__}: {_one_line(text) or 'no detail'}"


def load_checkpoint(
    path: str | os.PathLike[str],
    build_fn: Callable[[str, dict[str, Any]], nn.Module],
    map_location: str | torch.device = "cpu",
) -> tuple[nn.Module, TargetScaler, dict[str, Any]]:
    """Rebuild the model with ``build_fn(name, config)``, load its weights (strictly) and
    return ``(model in eval mode, scaler, meta)``.

    Anything that is not a checkpoint raises one line,
    ``<path> is not a matfusion checkpoint (expected a file written by `matfusion train`):
    <reason>`` (:class:`FileNotFoundError` when the path does not exist, else
    :class:`CheckpointError`), so the CLI can print it as-is.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} {_NOT_A_CHECKPOINT}: file not found")
    if path.is_dir():
        raise CheckpointError(f"{path} {_NOT_A_CHECKPOINT}: it is a directory")
    reason = _sniff(path)
    if reason is not None:
        raise CheckpointError(f"{path} {_NOT_A_CHECKPOINT}: {reason}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path} {_NOT_A_CHECKPOINT}: {_load_error(exc)}") from exc
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        if (
            isinstance(payload, dict)
            and payload
            and all(isinstance(v, torch.Tensor) for v in payload.values())
        ):
            what = "it holds a bare state_dict (weights without the model's name and scaler)"
        else:
            what = f"a torch file of another kind ({type(payload).__name__} without the format tag)"
        raise CheckpointError(f"{path} {_NOT_A_CHECKPOINT}: {what}")
    if payload.get("version") != _VERSION:
        raise CheckpointError(f"{path}: unsupported checkpoint version {payload.get('version')}")
    missing = [k for k in _FIELDS if k not in payload]
    if missing:
        raise CheckpointError(f"{path} {_NOT_A_CHECKPOINT}: missing fields {missing}")
    model = build_fn(payload["name"], payload["config"])
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise CheckpointError(
            f"{path}: weights do not fit the rebuilt model {payload['name']!r}: "
            f"{_one_line(str(exc), 300)}"
        ) from exc
    model.to(map_location)
    model.eval()
    return model, TargetScaler.from_dict(payload["scaler"]), payload["meta"]
