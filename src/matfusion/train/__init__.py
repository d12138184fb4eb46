"""Training: loss, optimisers, recipes, the fit/predict loop, metrics and checkpoints."""

from __future__ import annotations

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .loss import robust_l1
from .metrics import regression_metrics
from .optim import Lookahead, lamb_lookahead
from .recipes import RECIPES, CrabNetRecipe, FastRecipe, Recipe, get_recipe
from .trainer import (
    FitResult,
    TargetScaler,
    TrainConfig,
    configure_threads,
    fit,
    predict,
    set_seed,
    usable_cores,
)

__all__ = [
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
    "fit",
    "get_recipe",
    "lamb_lookahead",
    "load_checkpoint",
    "predict",
    "regression_metrics",
    "robust_l1",
    "save_checkpoint",
    "set_seed",
    "usable_cores",
]
