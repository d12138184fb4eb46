"""CECV: the chemical-environment clustering vector of paper A.

A model is judged by how it groups the chemical environments of compounds. For each compound
with n >= 3 elements, its element feature matrix (EFM, n x D: one learned vector per element)
is turned into an n x n correlation matrix between its elements; compounds with the same n
are clustered greedily at a threshold t; CECV(t) is the total number of clusters. A local
extractor (DCNN-K1, one element at a time) tells many environments apart and gives many
clusters; a global one (LSTM) mixes the elements and gives few (the paper: too much local
detail overestimates CECV, too much global information underestimates it). The paper steers
its fusion designs into the band between those two reference curves.

Conventions (see ``shared/spec/lgdcnn.md``):

* EFM rows come in the order the compounds were encoded: canonical (ascending atomic
  number, ``encode_formulas(order="atomic_number")``), so matrices of one chemical system
  compare entry by entry, or, for models built with the authors' conventions, descending
  fraction (``order="fraction_desc"``), which is how the authors' script compares them;
* each feature column is standardised across the compound's elements before the Pearson
  correlation between elements is taken over the D features; a feature that is constant
  across the elements carries no information and becomes 0, and an element whose
  standardised row is constant gets correlation 0 with the others (1 with itself);
* binaries are skipped: after standardisation their matrix is always [[1, -1], [-1, 1]];
* two matrices are "close" when every entry differs by *less than* t (ties do not join);
* ``mode`` says what is compared: ``"signed"`` the correlations, ``"absolute"`` their
  absolute values, ``"authors"`` absolute values for n = 3 and signed ones for n >= 4 (what
  the authors' script does; the default, so our numbers compare with the paper's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

#: The paper's thresholds.
DEFAULT_THRESHOLDS: tuple[float, ...] = (0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40)

Mode = Literal["signed", "absolute", "authors"]
MODES: tuple[str, ...] = ("signed", "absolute", "authors")


def correlation_matrices(efms: np.ndarray) -> np.ndarray:
    """Element-by-element Pearson correlations for a stack of EFMs of one size.

    ``efms``: (m, n, D) -> (m, n, n). Vectorised over compounds.
    """
    x = np.asarray(efms, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"expected (compounds, elements, features), got shape {x.shape}")
    # Standardise each feature across the compound's elements.
    x = x - x.mean(axis=1, keepdims=True)
    std = x.std(axis=1, keepdims=True)
    x = np.divide(x, std, out=np.zeros_like(x), where=std > 1e-12)
    # Pearson correlation between elements over the features.
    x = x - x.mean(axis=2, keepdims=True)
    norm = np.sqrt((x * x).sum(axis=2, keepdims=True))
    x = np.divide(x, norm, out=np.zeros_like(x), where=norm > 1e-12)
    corr = x @ x.transpose(0, 2, 1)
    n = corr.shape[1]
    corr[:, np.arange(n), np.arange(n)] = 1.0
    return np.clip(corr, -1.0, 1.0)


def _compared(corr: np.ndarray, mode: Mode) -> np.ndarray:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    n = corr.shape[1]
    if mode == "absolute" or (mode == "authors" and n == 3):
        return np.abs(corr)
    return corr


def greedy_clusters(matrices: np.ndarray, threshold: float) -> np.ndarray:
    """Leader clustering of same-shape matrices; returns a cluster label per matrix.

    The first unassigned matrix leads a new cluster; every unassigned matrix whose entries all
    differ from the leader's by less than ``threshold`` joins it. One vectorised comparison
    per cluster, so the cost is (clusters x matrices x entries).
    """
    flat = np.asarray(matrices, dtype=np.float64).reshape(len(matrices), -1)
    labels = np.full(len(flat), -1, dtype=np.int64)
    unassigned = np.ones(len(flat), dtype=bool)
    cluster = 0
    while unassigned.any():
        candidates = np.flatnonzero(unassigned)
        leader = candidates[0]
        close = np.abs(flat[candidates] - flat[leader]).max(axis=1) < threshold
        close[0] = True  # a leader always founds its own cluster, even at t = 0
        members = candidates[close]
        labels[members] = cluster
        unassigned[members] = False
        cluster += 1
    return labels


@dataclass
class CECVResult:
    """CECV over thresholds, with the per-group detail the book prints."""

    thresholds: tuple[float, ...]
    counts: list[int]
    group_sizes: dict[int, int]
    group_counts: dict[int, list[int]] = field(default_factory=dict)
    mode: str = "authors"
    skipped_small: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "thresholds": list(self.thresholds),
            "cecv": self.counts,
            "compounds_per_element_count": {str(k): v for k, v in self.group_sizes.items()},
            "clusters_per_element_count": {str(k): v for k, v in self.group_counts.items()},
            "mode": self.mode,
            "skipped_small": self.skipped_small,
        }


def _check_thresholds(thresholds: Sequence[float]) -> tuple[float, ...]:
    out = tuple(float(t) for t in thresholds)
    if not out or any(t < 0 for t in out):
        raise ValueError(f"thresholds must be non-negative and non-empty, got {out}")
    return out


def cecv_from_correlations(
    groups: dict[int, np.ndarray],
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    mode: Mode = "authors",
    skipped_small: int = 0,
) -> CECVResult:
    """CECV from correlation matrices already grouped by element count n: {n: (m, n, n)}."""
    thresholds = _check_thresholds(thresholds)
    counts = [0] * len(thresholds)
    group_counts: dict[int, list[int]] = {}
    for n in sorted(groups):
        compared = _compared(np.asarray(groups[n]), mode)
        per_t = [int(greedy_clusters(compared, t).max()) + 1 for t in thresholds]
        group_counts[n] = per_t
        counts = [c + k for c, k in zip(counts, per_t, strict=True)]
    return CECVResult(
        thresholds=thresholds,
        counts=counts,
        group_sizes={n: len(groups[n]) for n in sorted(groups)},
        group_counts=group_counts,
        mode=mode,
        skipped_small=skipped_small,
    )


def cecv(
    efms: Sequence[np.ndarray],
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    mode: Mode = "authors",
    min_elements: int = 3,
) -> CECVResult:
    """CECV(t) for a set of compounds given their EFMs (each (n_i, D), canonical order)."""
    if min_elements < 3:
        raise ValueError("min_elements must be >= 3 (binaries carry no correlation signal)")
    _check_thresholds(thresholds)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    dims = {np.asarray(e).shape[-1] for e in efms}
    if len(dims) > 1:
        raise ValueError(f"EFMs have different feature widths: {sorted(dims)}")
    by_size: dict[int, list[np.ndarray]] = {}
    skipped = 0
    for i, efm in enumerate(efms):
        efm = np.asarray(efm)
        if efm.ndim != 2:
            raise ValueError(f"EFM {i} must be 2-D (elements, features), got {efm.shape}")
        if efm.shape[0] < min_elements:
            skipped += 1
            continue
        by_size.setdefault(efm.shape[0], []).append(efm)
    groups = {n: correlation_matrices(np.stack(v)) for n, v in by_size.items()}
    return cecv_from_correlations(groups, thresholds, mode, skipped_small=skipped)


def anchor_mask(elements: np.ndarray, anchor: str | None) -> np.ndarray:
    """Which encoded compounds contain ``anchor`` (an element symbol); all when None."""
    elements = np.asarray(elements)
    if anchor is None:
        return np.ones(len(elements), dtype=bool)
    from pymatgen.core import Element

    try:
        z = Element(anchor).Z
    except ValueError:
        raise ValueError(f"unknown anchor element {anchor!r}") from None
    return (elements == z).any(axis=1)


def model_cecv(
    model,
    encoded,
    *,
    anchor: str | None = "Si",
    layer: str | None = None,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    mode: Mode = "authors",
) -> CECVResult:
    """CECV of a trained composition model over the compounds of ``encoded`` that contain
    ``anchor``, from the EFM of ``layer`` (default: the last layer before the head)."""
    import torch

    keep = np.flatnonzero(anchor_mask(encoded.elements, anchor))
    if len(keep) == 0:
        raise ValueError(f"no compound contains {anchor}")
    subset = encoded.subset(keep)
    model.eval()
    with torch.inference_mode():
        efms = model.efm(subset.elements, subset.fractions, layer)
    return cecv(efms, thresholds, mode)


def band_distance(curve: Sequence[float], ref_a: Sequence[float], ref_b: Sequence[float]) -> float:
    """How far a CECV curve lies outside the band between two reference curves.

    Mean over thresholds of |log c - log clip(c, lower, upper)|: 0 when the curve stays
    inside the band, and log-scaled because counts span orders of magnitude.
    """
    c, a, b = (np.asarray(x, dtype=np.float64) for x in (curve, ref_a, ref_b))
    if not (c.shape == a.shape == b.shape):
        raise ValueError("curves must have one value per threshold")
    if (np.concatenate([c, a, b]) <= 0).any():
        raise ValueError("CECV counts must be positive")
    clipped = np.clip(c, np.minimum(a, b), np.maximum(a, b))
    return float(np.mean(np.abs(np.log(c) - np.log(clipped))))


def cecv_frame(records: Mapping[str, Mapping[str, object]]) -> pd.DataFrame:
    """Stored CECV records by model name -> one row per model, one column per threshold."""
    import pandas as pd

    if not records:
        raise ValueError("no CECV records given")
    thresholds = next(iter(records.values()))["thresholds"]
    frame = pd.DataFrame(
        {model: rec["cecv"] for model, rec in records.items()},
        index=[f"{t:.2f}" for t in thresholds],
    ).T
    frame.index.name = "model"
    return frame
