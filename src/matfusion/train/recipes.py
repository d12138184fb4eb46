"""Training recipes, selectable by name (``TrainConfig.recipe``).

A recipe fixes everything about *how* a model is trained that is not the model: default
batch size and epochs, optimiser, learning-rate schedule, weight averaging and early
stopping. Two are registered in :data:`RECIPES`:

``crabnet``
    The recipe of the paper (CrabNet's, reused by the L-G-DCNN authors): Lamb inside
    Lookahead, a triangular cyclic learning rate 1e-4..6e-3 with a half-cycle of 10 epochs,
    stochastic weight averaging at the end of every full cycle from epoch 20 on (an average is
    kept only when it beats the best validation MAE so far), no early stopping. Batch size
    ``2**round(log2(N) - 4)`` clamped to 128..4096; epochs ``round(1e4 / batches_per_epoch)``
    (about ten thousand optimiser steps) but never fewer than 40, so small sets still see two
    full learning-rate cycles.

``fast``
    A cheaper alternative: AdamW (lr 1e-3, weight decay 1e-4) with a one-cycle schedule
    (10 % warm-up, cosine decay), gradient-norm clipping at 1, batch 256, at most 100 epochs,
    early stopping after 15 epochs without a better validation MAE.

``plateau``
    Trains to convergence instead of to a fixed budget: AdamW (lr 1e-3, weight decay 1e-4),
    gradient-norm clipping at 1, batch 256, a linear warm-up over the first 3 epochs, then
    the learning rate is halved whenever the validation MAE has not improved for 4 epochs,
    and training stops after 12 epochs without a better validation MAE (or at the epoch cap,
    300 unless the profile says otherwise). A ``fast`` run's one-cycle schedule anneals to
    zero at its cap, so its best epoch is nearly always one of the last: it cannot say
    whether more epochs would have helped; a plateau run ending at its cap can.

All use the same loss (robust L1), target standardisation and fraction jitter, and all
return the best-by-validation-MAE weights; records say which recipe produced a number.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import CyclicLR, LambdaLR, LRScheduler, OneCycleLR

from matfusion.registry import Registry

from .optim import lamb_lookahead

__all__ = [
    "RECIPES",
    "CrabNetRecipe",
    "FastRecipe",
    "PlateauRecipe",
    "Recipe",
    "WarmupPlateau",
    "get_recipe",
]

Params = Iterable[torch.Tensor] | Iterable[dict[str, Any]]


@dataclass(frozen=True)
class Recipe:
    """Base recipe: defaults plus factories; subclasses override what differs."""

    name: str = "base"
    default_lr: float = 1e-3
    default_weight_decay: float = 0.0
    default_patience: int | None = None
    #: Clip the gradient's global norm to this before each step (None: never).
    grad_clip: float | None = None

    def batch_size(self, n_train: int) -> int:
        raise NotImplementedError

    def epochs(self, n_train: int, batch_size: int) -> int:
        raise NotImplementedError

    def optimizer(self, params: Params, lr: float, weight_decay: float) -> Optimizer:
        raise NotImplementedError

    def scheduler(
        self, optimizer: Optimizer, steps_per_epoch: int, epochs: int, lr: float
    ) -> LRScheduler:
        """Stepped once per batch."""
        raise NotImplementedError

    def swa_due(self, epoch: int) -> bool:
        """Whether to fold the weights into the running average after ``epoch`` (1-based)."""
        return False

    def epoch_end(self, scheduler: LRScheduler, val_mae: float) -> None:
        """Called after each epoch's validation (plateau schedules react to it)."""


@dataclass(frozen=True)
class CrabNetRecipe(Recipe):
    """The paper's recipe (see the module docstring)."""

    name: str = "crabnet"
    default_lr: float = 6e-3  # the top of the cycle; ``lr`` overrides it
    base_lr: float = 1e-4
    half_cycle_epochs: int = 10
    swa_start_half_cycles: int = 2
    target_steps: float = 1e4
    min_epochs: int = 40
    min_batch: int = 2**7
    max_batch: int = 2**12
    lookahead_k: int = 6
    lookahead_alpha: float = 0.5

    def batch_size(self, n_train: int) -> int:
        """CrabNet's rule: about N/16 per batch, clamped to 128..4096 (powers of two)."""
        if n_train < 1:
            raise ValueError("n_train must be positive")
        size = 2 ** round(math.log2(n_train) - 4)
        return int(min(max(size, self.min_batch), self.max_batch))

    def epochs(self, n_train: int, batch_size: int) -> int:
        """About ``target_steps`` optimiser steps, at least ``min_epochs`` epochs."""
        batches = math.ceil(n_train / batch_size)
        return max(self.min_epochs, round(self.target_steps / batches))

    def optimizer(self, params: Params, lr: float, weight_decay: float) -> Optimizer:
        return lamb_lookahead(
            params, lr=lr, weight_decay=weight_decay, k=self.lookahead_k, alpha=self.lookahead_alpha
        )

    def scheduler(
        self, optimizer: Optimizer, steps_per_epoch: int, epochs: int, lr: float
    ) -> LRScheduler:
        """Triangular cycle ``base_lr .. lr``; if ``lr`` is overridden the base keeps the
        paper's 1:60 ratio."""
        base = self.base_lr * lr / self.default_lr
        return CyclicLR(
            optimizer,
            base_lr=base,
            max_lr=lr,
            step_size_up=self.half_cycle_epochs * steps_per_epoch,
            mode="triangular",
            cycle_momentum=False,
        )

    def swa_due(self, epoch: int) -> bool:
        """At the end of every full cycle (the learning-rate minimum), from epoch 20 on."""
        cycle = 2 * self.half_cycle_epochs
        return epoch >= self.swa_start_half_cycles * self.half_cycle_epochs and epoch % cycle == 0


@dataclass(frozen=True)
class FastRecipe(Recipe):
    """AdamW + one-cycle + early stopping (see the module docstring)."""

    name: str = "fast"
    default_lr: float = 1e-3
    default_weight_decay: float = 1e-4
    default_patience: int | None = 15
    # Without clipping, AdamW at the one-cycle peak can saturate the output gate of the
    # convolutional models (sigmoid of the logit -> 0): the prediction freezes at the mean
    # and never recovers (seen on OQMD band gap with DCNN, DCNN-K1, LDCNN).
    grad_clip: float | None = 1.0
    default_batch: int = 256
    max_epochs: int = 100
    warmup_fraction: float = 0.1

    def batch_size(self, n_train: int) -> int:
        return self.default_batch

    def epochs(self, n_train: int, batch_size: int) -> int:
        return self.max_epochs

    def optimizer(self, params: Params, lr: float, weight_decay: float) -> Optimizer:
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)

    def scheduler(
        self, optimizer: Optimizer, steps_per_epoch: int, epochs: int, lr: float
    ) -> LRScheduler:
        total = steps_per_epoch * epochs
        pct = self.warmup_fraction
        if abs(pct * total - 1) < 1e-9:  # OneCycleLR divides by pct * total - 1 (10 steps)
            pct = 2.0 / total
        return OneCycleLR(
            optimizer,
            max_lr=lr,
            total_steps=total,
            pct_start=pct,
            anneal_strategy="cos",
            cycle_momentum=False,
        )


class WarmupPlateau(LambdaLR):
    """Per-step linear warm-up, then a factor that :meth:`epoch_end` halves on a plateau.

    One scheduler for both phases so the trainer steps it per batch like the others; the
    plateau decision is made once per epoch from the validation MAE.
    """

    def __init__(
        self, optimizer: Optimizer, warmup_steps: int, factor: float = 0.5, patience: int = 4
    ) -> None:
        self.warmup_steps = max(1, int(warmup_steps))
        self.plateau_factor = factor
        self.plateau_patience = patience
        self.scale = 1.0
        self.best = math.inf
        self.bad_epochs = 0
        super().__init__(optimizer, self._factor)

    def _factor(self, step: int) -> float:
        return min(1.0, (step + 1) / self.warmup_steps) * self.scale

    def epoch_end(self, val_mae: float) -> None:
        if val_mae < self.best:
            self.best, self.bad_epochs = val_mae, 0
            return
        self.bad_epochs += 1
        if self.bad_epochs >= self.plateau_patience:
            self.scale *= self.plateau_factor
            self.bad_epochs = 0


@dataclass(frozen=True)
class PlateauRecipe(FastRecipe):
    """AdamW + warm-up + halve on plateau + early stop (see the module docstring)."""

    name: str = "plateau"
    default_patience: int | None = 12
    max_epochs: int = 300
    warmup_epochs: int = 3
    plateau_patience: int = 4
    plateau_factor: float = 0.5

    def scheduler(
        self, optimizer: Optimizer, steps_per_epoch: int, epochs: int, lr: float
    ) -> LRScheduler:
        return WarmupPlateau(
            optimizer,
            warmup_steps=self.warmup_epochs * steps_per_epoch,
            factor=self.plateau_factor,
            patience=self.plateau_patience,
        )

    def epoch_end(self, scheduler: LRScheduler, val_mae: float) -> None:
        assert isinstance(scheduler, WarmupPlateau)
        scheduler.epoch_end(val_mae)


#: Every recipe, by name.
RECIPES: Registry[Recipe] = Registry.named(
    "recipe", [CrabNetRecipe(), FastRecipe(), PlateauRecipe()]
)


def get_recipe(name: str) -> Recipe:
    """Look a recipe up by name; an unknown name is one line with the close matches."""
    return RECIPES[name]
