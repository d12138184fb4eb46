"""Chapter 09's Figure 5b: the CECV of one architecture trained on growing training sets.

The paper: "with a fixed model architecture, as the training set size increases, the CECV
of the model converges toward the target region". The curves come from the stored CECV
records of the sample-efficiency runs (:func:`matfusion.experiments.run_cecv`), computed from
a checkpoint when one is on this machine and never by retraining unless asked;
:func:`converges_towards_band` decides the reading with the chapter-04 band distance.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["cecv_by_training_size", "converges_towards_band"]


def cecv_by_training_size(
    records: Sequence[dict[str, Any]],
    *,
    anchor: str = "Si",
    mode: str = "authors",
    retrain: bool = False,
) -> tuple[pd.DataFrame, list[int]]:
    """CECV curves of training ``records`` (one model, one dataset, several sizes) by
    training rows: rows ``n_train``, columns thresholds; and the sizes with no CECV (not
    stored and no checkpoint here, unless ``retrain``)."""
    from matfusion.experiments import run_cecv

    curves, missing = {}, []
    for record in sorted(records, key=lambda r: r["sizes"]["train"]):
        n = int(record["sizes"]["train"])
        found = run_cecv(record, anchor=anchor, mode=mode, retrain=retrain)
        if found is None:
            missing.append(n)
            continue
        curves[n] = pd.Series(found["cecv"], index=[f"{t:.2f}" for t in found["thresholds"]])
    frame = pd.DataFrame(curves).T
    frame.index.name = "n_train"
    return frame, missing


def converges_towards_band(
    curves: pd.DataFrame, lower: Sequence[float], upper: Sequence[float]
) -> dict[str, Any]:
    """Band distance (:func:`matfusion.analysis.cecv.band_distance`) of each size's curve to
    the band between two reference curves; ``holds`` when it never grows with the training
    size and the largest size is closer than the smallest (needs two sizes or more)."""
    from matfusion.analysis.cecv import band_distance

    distance = pd.Series(
        {n: band_distance(curves.loc[n], lower, upper) for n in curves.index}, dtype=float
    ).sort_index()
    steps = np.diff(distance.to_numpy())
    enough = len(distance) >= 2
    holds = bool(enough and (steps <= 1e-12).all() and distance.iloc[-1] < distance.iloc[0])
    return {"distance": distance, "holds": holds if enough else None}
