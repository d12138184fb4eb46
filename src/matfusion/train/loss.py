"""Training loss: robust L1 with a learned aleatoric uncertainty (CrabNet's loss)."""

from __future__ import annotations

import math

import torch

__all__ = ["robust_l1"]

_SQRT2 = math.sqrt(2.0)


def robust_l1(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean of ``sqrt(2) * |y - yhat| * exp(-s) + s`` over the batch.

    ``pred[:, 0]`` is the prediction ``yhat`` and ``pred[:, 1]`` the log-uncertainty ``s``
    (both in scaled target units). This is the negative log-likelihood of a Laplace
    distribution (up to a constant), so the model learns to predict large ``s`` where it
    expects large errors instead of being punished for them at full weight: at a fixed error
    ``e`` the loss is smallest at ``s = log(sqrt(2) * e)``.
    """
    if pred.ndim != 2 or pred.shape[1] != 2:
        raise ValueError(f"pred must have shape (B, 2), got {tuple(pred.shape)}")
    target = target.reshape(-1)
    if target.shape[0] != pred.shape[0]:
        raise ValueError(f"pred has {pred.shape[0]} rows but target has {target.shape[0]}")
    mean, log_std = pred[:, 0], pred[:, 1]
    loss = _SQRT2 * (target - mean).abs() * torch.exp(-log_std) + log_std
    return loss.mean()
