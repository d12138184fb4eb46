"""Training: loss, optimisers, recipes, the fit/predict loop, metrics and checkpoints."""

from __future__ import annotations

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .device import (
    DEVICES,
    cuda_available,
    deterministic_mode,
    no_cuda_message,
    resolve_device,
)
from .loss import robust_l1
from .metrics import regression_metrics
from .optim import Lookahead, lamb_lookahead
from .recipes import RECIPES, CrabNetRecipe, FastRecipe, Recipe, get_recipe
from .trainer import (
    BUCKET_BATCHES,
    FitResult,
    TargetScaler,
    TrainConfig,
    configure_threads,
    epoch_batches,
    fit,
    predict,
    set_seed,
    usable_cores,
)

__all__ = [
    "BUCKET_BATCHES",
    "DEVICES",
    "RECIPES",
    "CheckpointError",
    "CrabNetRecipe",
    "FastRecipe",
    "FitResult",
    "Lookahead",
    "Recipe",
    "TargetScaler",
    "TrainConfig",
    "configure_threads",
    "cuda_available",
    "deterministic_mode",
    "epoch_batches",
    "fit",
    "get_recipe",
    "lamb_lookahead",
    "load_checkpoint",
    "no_cuda_message",
    "predict",
    "regression_metrics",
    "resolve_device",
    "robust_l1",
    "save_checkpoint",
    "set_seed",
    "usable_cores",
]
