"""Lamb inside Lookahead: the optimiser of the CrabNet recipe.

``Lamb`` comes from ``torch_optimizer`` (its update matches the one CrabNet uses: no
debiasing, weight norm clamped to 10). ``torch_optimizer.Lookahead`` is *not* used: it never
calls ``torch.optim.Optimizer.__init__``, so with torch 2.x its ``state_dict()`` raises
``AttributeError`` (missing hook dicts) and it lacks the step hooks that LR schedulers and the
profiler expect. The small :class:`Lookahead` below is a proper ``Optimizer`` that shares its
parameter groups with the inner optimiser, so a scheduler that sets ``group["lr"]`` drives both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.optim import Optimizer
from torch_optimizer import Lamb

__all__ = ["Lamb", "Lookahead", "lamb_lookahead"]


class Lookahead(Optimizer):
    """Lookahead (Zhang et al. 2019): ``k`` fast steps, then move the slow weights a fraction
    ``alpha`` toward the fast ones and restart from there. It damps the noise of an aggressive
    inner optimiser (here Lamb at a cyclic learning rate up to 6e-3).
    """

    def __init__(self, base: Optimizer, k: int = 6, alpha: float = 0.5) -> None:
        if k < 1:
            raise ValueError(f"Lookahead k must be >= 1, got {k}")
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"Lookahead alpha must be in (0, 1], got {alpha}")
        self.base = base
        self.k = int(k)
        self.alpha = float(alpha)
        self._fast_steps = 0
        # Passing the inner optimiser's group dicts makes them *shared* (add_param_group keeps
        # the dict objects), so changes to group["lr"] reach the inner optimiser.
        super().__init__(base.param_groups, dict(base.defaults))
        for p in self._params():
            self.state[p]["slow"] = p.detach().clone()

    def _params(self) -> list[torch.Tensor]:
        return [p for group in self.param_groups for p in group["params"]]

    def step(self, closure: Callable[[], float] | None = None) -> Any:  # type: ignore[override]
        loss = self.base.step(closure)
        self._fast_steps += 1
        if self._fast_steps % self.k == 0:
            params = self._params()
            slow = [self.state[p]["slow"] for p in params]
            with torch.no_grad():
                torch._foreach_lerp_(slow, params, self.alpha)
                torch._foreach_copy_(params, slow)
        return loss

    def state_dict(self) -> dict[str, Any]:  # type: ignore[override]
        return {
            "base": self.base.state_dict(),
            "slow": [self.state[p]["slow"].clone() for p in self._params()],
            "fast_steps": self._fast_steps,
            "k": self.k,
            "alpha": self.alpha,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:  # type: ignore[override]
        self.base.load_state_dict(state_dict["base"])
        # The inner load replaces its group dicts: share them again.
        self.param_groups = self.base.param_groups
        params = self._params()
        if len(params) != len(state_dict["slow"]):
            raise ValueError("Lookahead state has a different number of parameters")
        for p, slow in zip(params, state_dict["slow"], strict=True):
            self.state[p]["slow"] = slow.detach().clone().to(p.device)
        self._fast_steps = int(state_dict["fast_steps"])
        self.k = int(state_dict["k"])
        self.alpha = float(state_dict["alpha"])


def lamb_lookahead(
    params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    k: int = 6,
    alpha: float = 0.5,
) -> Lookahead:
    """The CrabNet optimiser: ``Lookahead(Lamb(params), k=6, alpha=0.5)``."""
    return Lookahead(Lamb(params, lr=lr, weight_decay=weight_decay), k=k, alpha=alpha)
