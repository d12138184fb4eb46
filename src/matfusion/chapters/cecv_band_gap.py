"""Chapter 04's peer panels: CrabNet's own CECV beside our models' (paper A, Figures 11b
on the band-gap set and 7b on the formation-enthalpy set).

The peer's CECV comes from :func:`matfusion.experiments.run_peer_cecv` (experiment
``peer_cecv``): CrabNet retrained as its grid run, its encoder's per-element features read
in the same process. The paper reads both panels through the distance to the "target
region", the band between the two reference models (LSTM and DCNN-K1), the same
:func:`matfusion.analysis.cecv.band_distance` the chapter uses for Figure 11a.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from matfusion.profiles import Profile

__all__ = ["peer_cecv_command", "peer_cecv_row", "peer_closer_to_band"]

#: The reference models whose curves bound the paper's target region.
REFERENCES: tuple[str, str] = ("LSTM", "DCNN-K1")


def peer_cecv_command(peer: str, dataset: str, profile: Profile, *, anchor: str = "Si") -> str:
    """The command that computes and stores a peer's CECV (one training of the peer)."""
    return (
        f"matfusion cecv --peer {peer} --dataset {dataset} --profile {profile.name} "
        f"--seed {profile.seed} --anchor {anchor}"
    )


def peer_cecv_row(
    peer: str,
    dataset: str,
    profile: Profile,
    *,
    anchor: str = "Si",
    mode: str = "authors",
    compute: bool = False,
    progress: bool = False,
) -> tuple[pd.Series | None, dict[str, Any] | None]:
    """A peer's CECV curve (index: thresholds as the chapter's table labels them) and its
    record, or ``(None, None)`` when it is not stored and ``compute`` is False. The EFM row
    order is the profile's conventions', the order of the models drawn beside it. The record
    gets ``grid_test_mae``: the stored grid run's test MAE (None if not stored), to set
    beside the retrained run's."""
    from matfusion.experiments import run_peer_cecv, stored_training

    record = run_peer_cecv(
        peer, dataset, profile=profile, anchor=anchor, mode=mode,
        missing="compute" if compute else "skip", progress=progress,
    )  # fmt: skip
    if record is None:
        return None, None
    grid = stored_training(peer, dataset, profile=profile, seed=record["config"]["seed"])
    record = {**record, "grid_test_mae": grid["metrics"]["test_mae"] if grid else None}
    curve = pd.Series(
        record["cecv"], index=[f"{t:.2f}" for t in record["thresholds"]], name=peer, dtype=float
    )
    return curve, record


def peer_closer_to_band(
    table: pd.DataFrame, ours: str, peer: str, references: tuple[str, str] = REFERENCES
) -> dict[str, Any] | None:
    """Which of ``ours`` and ``peer`` lies closer to the band between ``references`` (mean
    log-count distance outside the band; 0 = inside at every threshold). None when a curve
    is missing. ``closer`` names the closer model; a tie (both inside) is ``"tie"``."""
    from matfusion.analysis.cecv import band_distance

    if not {ours, peer, *references} <= set(table.index):
        return None
    a, b = (table.loc[r] for r in references)
    distance = {m: band_distance(table.loc[m], a, b) for m in (ours, peer)}
    tie = distance[ours] == distance[peer]
    closer = "tie" if tie else min(distance, key=distance.__getitem__)
    return {"distance": distance, "closer": closer}
