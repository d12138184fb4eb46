"""What every peer returns, in a module of its own: the peer modules import it and the
registry imports them lazily, so nothing in :mod:`matfusion.baselines` imports in a cycle."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["PeerResult"]


@dataclass
class PeerResult:
    """What a peer returns: predictions per split (mean, uncertainty or None) and what
    training cost. ``history`` uses the trainer's keys where they apply (epoch, val_mae,
    seconds)."""

    predictions: dict[str, tuple[np.ndarray, np.ndarray | None]]
    history: list[dict[str, Any]]
    best_epoch: int | None
    train_wall_time_s: float
    train_samples_per_s: float | None
    n_parameters: int | None
    settings: dict[str, Any] = field(default_factory=dict)
    inference_s: float | None = None  # seconds spent predicting the three splits
    #: what an ``after_fit`` callback returned (peers keep no weights: an analysis of the
    #: trained model, e.g. CrabNet's EFMs for the CECV, has to run in the same process)
    after_fit: Any = None
