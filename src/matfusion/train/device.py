"""Which device a run trains on, and what makes a CUDA run repeat.

A run's device is part of its configuration (``TrainConfig.device``), so a GPU run is its own
record and never answers for a CPU one. ``"auto"`` is therefore resolved to ``"cpu"`` or
``"cuda"`` *before* a configuration is built (:func:`resolve_device`): on a machine without a
GPU an ``auto`` run has exactly the key of a plain CPU run.

On CUDA, :func:`deterministic_mode` switches on what PyTorch offers for repeatable runs
(cuDNN deterministic kernels, no autotuning, deterministic algorithms where they exist, with a
warning where they do not, and cuBLAS's fixed workspace); on the CPU it changes nothing.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import torch

__all__ = [
    "CUBLAS_WORKSPACE_CONFIG",
    "DEVICES",
    "cuda_available",
    "deterministic_mode",
    "no_cuda_message",
    "prepare_cuda",
    "resolve_device",
]

#: What ``--device`` accepts; configurations only ever hold ``cpu`` or ``cuda``.
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
#: cuBLAS's deterministic workspace (see PyTorch's "Reproducibility" notes).
CUBLAS_WORKSPACE_CONFIG = ":4096:8"


def cuda_available() -> bool:
    """Whether torch sees a CUDA GPU (a function, so tests can pretend either way)."""
    return bool(torch.cuda.is_available())


def no_cuda_message() -> str:
    """One line saying why ``cuda`` cannot be used here."""
    if torch.version.cuda is None:
        why = f"torch {torch.__version__} is a CPU build"
    else:
        why = f"torch {torch.__version__} (CUDA {torch.version.cuda}) sees no GPU"
    return f"device cuda: no CUDA GPU is available ({why}); use device cpu or auto"


#: Whether cuBLAS's workspace setting is in force in this process (None: not asked yet).
_cublas_in_force: bool | None = None


def prepare_cuda() -> bool:
    """Set ``CUBLAS_WORKSPACE_CONFIG`` (unless the user set it) while it can still act:
    cuBLAS reads it when CUDA first starts in this process. Returns whether it is in force:
    set by the user before the process started, or set here before CUDA started."""
    global _cublas_in_force
    preset = "CUBLAS_WORKSPACE_CONFIG" in os.environ
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE_CONFIG)
    if _cublas_in_force is None:
        _cublas_in_force = preset or not torch.cuda.is_initialized()
    return _cublas_in_force


def resolve_device(name: str | None = "cpu", *, check: bool = True) -> str:
    """``auto``/``cpu``/``cuda`` (case-insensitive; None = cpu) as the ``cpu`` or ``cuda``
    a configuration records. ``auto`` is CUDA when torch sees a GPU, else the CPU. ``cuda``
    without a GPU is a ``ValueError`` unless ``check`` is False (a SLURM submission names the
    device of nodes it does not run on)."""
    device = (name or "cpu").strip().lower()
    if device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {name!r}")
    if device == "auto":
        device = "cuda" if cuda_available() else "cpu"
    elif device == "cuda" and check and not cuda_available():
        raise ValueError(no_cuda_message())
    if device == "cuda":
        prepare_cuda()
    return device


@contextlib.contextmanager
def deterministic_mode(device: torch.device | str) -> Iterator[dict[str, Any]]:
    """Run the body with PyTorch's repeatability settings for ``device`` and yield what was
    in force (a run stores it in its settings); the previous settings come back afterwards.

    CUDA: ``cudnn.deterministic=True``, ``cudnn.benchmark=False``,
    ``torch.use_deterministic_algorithms(True, warn_only=True)`` (an operation without a
    deterministic CUDA kernel warns instead of failing) and ``CUBLAS_WORKSPACE_CONFIG``.
    CPU: nothing changes (the kernels repeat for a fixed thread count)."""
    device = torch.device(device)
    if device.type != "cuda":
        yield {
            "device": device.type,
            "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        }
        return
    in_force = prepare_cuda()
    cudnn = torch.backends.cudnn
    previous = (
        cudnn.deterministic,
        cudnn.benchmark,
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    )
    cudnn.deterministic, cudnn.benchmark = True, False
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield {
            "device": "cuda",
            "cudnn_deterministic": True,
            "cudnn_benchmark": False,
            "deterministic_algorithms": "warn_only",
            "cublas_workspace_config": os.environ.get("CUBLAS_WORKSPACE_CONFIG"),
            "cublas_workspace_in_force": in_force,
        }
    finally:
        cudnn.deterministic, cudnn.benchmark = previous[0], previous[1]
        torch.use_deterministic_algorithms(previous[2], warn_only=previous[3])
