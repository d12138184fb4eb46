"""The registry of peer models and the contract they fulfil.

A peer is a function ``fit_predict(train, val, test, settings, progress) -> PeerResult`` over
``formula``/``target`` frames (the same subsampled splits our models see) plus a function that
turns a run profile into the peer's training settings. The settings go into the run's
configuration, so they key the results store: change one and the run is new.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from matfusion.profiles import Profile
from matfusion.registry import Registry

from .result import PeerResult

__all__ = ["PEERS", "PeerResult", "PeerSpec", "get_peer", "is_peer", "list_peers"]


FitPredict = Callable[[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any], bool], PeerResult]


@dataclass(frozen=True)
class PeerSpec:
    """A registered peer. ``runner`` is ``"module:function"`` (imported on first use, so that
    listing peers needs neither torch-heavy CrabNet nor matminer); ``features`` names the
    input representation and fills the record's ``embedding`` field."""

    name: str
    description: str
    features: str
    runner: str
    settings_for: Callable[[Profile, int, int | None], dict[str, Any]]
    group: str = "peer"

    def fit_predict(self) -> FitPredict:
        module, _, function = self.runner.partition(":")
        return getattr(importlib.import_module(module), function)


def _crabnet_settings(profile: Profile, seed: int, epochs: int | None) -> dict[str, Any]:
    from .crabnet import crabnet_settings

    return crabnet_settings(profile, seed=seed, epochs=epochs)


def _rf_settings(profile: Profile, seed: int, epochs: int | None) -> dict[str, Any]:
    from .rf_magpie import rf_settings

    return rf_settings(profile, seed=seed)


def _roost_settings(profile: Profile, seed: int, epochs: int | None) -> dict[str, Any]:
    from .roost import roost_settings

    return roost_settings(profile, seed=seed, epochs=epochs)


_SPECS = [
    PeerSpec(
        "CrabNet",
        "CrabNet 2.0.8 (Wang et al. 2021): transformer over mat2vec element embeddings, "
        "its own Lamb + Lookahead + SWA recipe; run here through its fit/predict API.",
        "mat2vec",
        "matfusion.baselines.crabnet:fit_predict",
        _crabnet_settings,
    ),
    PeerSpec(
        "RF-Magpie",
        "Random forest (scikit-learn) on matminer's 132 Magpie composition features.",
        "magpie",
        "matfusion.baselines.rf_magpie:fit_predict",
        _rf_settings,
    ),
    PeerSpec(
        "Roost",
        "Roost (Goodall & Lee 2020), aviary-models 1.2.1: message passing over a dense "
        "weighted graph of the composition's elements, matscholar200 embeddings; run here "
        "through aviary's model.",
        "matscholar200",
        "matfusion.baselines.roost:fit_predict",
        _roost_settings,
    ),
]

#: Every registered peer, by name.
PEERS: Registry[PeerSpec] = Registry.named("peer", _SPECS)


def list_peers() -> list[str]:
    """Registered peer names."""
    return PEERS.names()


def is_peer(name: str) -> bool:
    """Whether ``name`` is a registered peer (not one of our composition models)."""
    return name in PEERS


def get_peer(name: str) -> PeerSpec:
    """The spec of ``name``; an unknown name is one line with close matches."""
    return PEERS[name]
