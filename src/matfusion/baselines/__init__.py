"""Peer models run here on our splits: CrabNet (the ``crabnet==2.0.8`` package), Roost (the
``aviary-models==1.2.1`` package) and a random forest on Magpie features.

They are registered in :data:`PEERS` so that :func:`matfusion.experiments.run_training`,
``matfusion grid`` and the notebooks treat them like the L-G-DCNN family: one run, one record
with the same schema. See ``registry.py`` for the contract every peer fulfils.
"""

from __future__ import annotations

from .registry import PEERS, PeerSpec, get_peer, is_peer, list_peers
from .result import PeerResult

__all__ = ["PEERS", "PeerResult", "PeerSpec", "get_peer", "is_peer", "list_peers"]
