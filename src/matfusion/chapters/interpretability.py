"""Chapter 05's readings of Figures 6c and 10, as numbers from the stored analyses.

* Figure 6c: the paper reads the EFMs of four perovskites as "SrTiO3 and BaTiO3 have a
  similar EFM ... KNbO3 is comparable ... CsPbI3 is considerably different from its oxide
  counterparts". :func:`perovskite_distances` measures each pair in two spaces (the compound
  embedding and the element-correlation space the CECV clusters in) and
  :func:`perovskite_reading` decides the reading from them.
* Figure 10: red circles mark the Si compounds LSTM predicts badly, which L-G-DCNN predicts
  well after fusion. :func:`fusion_fixes_outliers` finds those compounds in the stored UMAP
  analysis (every Si test compound with both models' predictions) and measures how many
  fusion fixes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["fusion_fixes_outliers", "perovskite_distances", "perovskite_reading", "site_order"]


def site_order(formula: str, elements: Sequence[str]) -> list[int]:
    """Row indices that put an EFM's rows (symbols ``elements``) in the order the formula
    writes its elements: A, B, X for ABX3, so rows of different perovskites compare by site
    rather than by atomic number (K sorts before Nb but Sr after Ti)."""
    from matfusion.data.formulas import parse_formula

    written = list(parse_formula(formula))
    if sorted(written) != sorted(elements):
        raise ValueError(f"{formula} has elements {written}, the EFM rows are {list(elements)}")
    return [list(elements).index(s) for s in written]


def _correlation(efm: np.ndarray) -> np.ndarray:
    from matfusion.analysis.cecv import correlation_matrices

    return correlation_matrices(np.asarray(efm, dtype=float)[None])[0]


def perovskite_distances(
    efms: Mapping[str, np.ndarray], elements: Mapping[str, Sequence[str]]
) -> pd.DataFrame:
    """One row per pair of compounds: ``embedding`` is the cosine distance between their
    compound vectors (EFM averaged over elements, the vector the UMAP maps draw);
    ``correlation`` is the largest entry-wise difference between their element-correlation
    matrices with rows in site order (the CECV's closeness: two compounds share a CECV
    cluster at threshold t when it is below t; signed correlations, the elements in site
    order being comparable)."""
    names = list(efms)
    vectors = {n: np.asarray(efms[n], dtype=float).mean(axis=0) for n in names}
    corrs = {}
    for n in names:
        rows = site_order(n, elements[n])
        corrs[n] = _correlation(np.asarray(efms[n], dtype=float)[rows])
    out = []
    for a, b in combinations(names, 2):
        va, vb = vectors[a], vectors[b]
        cosine = float(va @ vb / (np.linalg.norm(va) * np.linalg.norm(vb)))
        same_shape = corrs[a].shape == corrs[b].shape
        out.append(
            {
                "pair": f"{a} – {b}",
                "a": a,
                "b": b,
                "embedding": 1.0 - cosine,
                "correlation": float(np.abs(corrs[a] - corrs[b]).max()) if same_shape else np.nan,
            }
        )
    return pd.DataFrame(out).set_index("pair")


def perovskite_reading(
    distances: pd.DataFrame,
    *,
    close: tuple[str, str] = ("SrTiO3", "BaTiO3"),
    apart: str = "CsPbI3",
    measure: str = "embedding",
) -> dict[str, Any]:
    """The paper's reading of Figure 6c in one ``measure`` (a column of
    :func:`perovskite_distances`): ``close_holds`` when the ``close`` pair is the nearest of
    all pairs, ``apart_holds`` when ``apart`` is farther from every other compound than any
    two of those are from each other; ``holds`` when both do."""
    d = distances[measure]
    pair_of = {
        frozenset((a, b)): v for a, b, v in zip(distances["a"], distances["b"], d, strict=True)
    }
    close_d = pair_of[frozenset(close)]
    nearest = distances.index[int(np.argmin(d.to_numpy()))]
    with_apart = [v for k, v in pair_of.items() if apart in k]
    without = [v for k, v in pair_of.items() if apart not in k]
    close_holds = bool(close_d <= d.min())
    apart_holds = bool(min(with_apart) > max(without))
    return {
        "measure": measure,
        "close_distance": float(close_d),
        "nearest_pair": nearest,
        "apart_min": float(min(with_apart)),
        "others_max": float(max(without)),
        "close_holds": close_holds,
        "apart_holds": apart_holds,
        "holds": close_holds and apart_holds,
    }


def fusion_fixes_outliers(
    frame: pd.DataFrame, *, before: str = "LSTM", after: str = "L-G-DCNN", factor: float = 3.0
) -> dict[str, Any]:
    """The compounds ``before`` predicts badly (absolute error above ``factor`` times its
    mean absolute error over the set: the paper's red circles) and how ``after`` predicts
    them. ``frame`` has ``target`` and ``<model>_pred`` columns (the stored UMAP analysis).
    ``fixed`` counts outliers whose error under ``after`` is below the same cut-off;
    ``holds`` (the paper: fusion predicts them accurately) when most are fixed and
    ``after``'s mean error on them is below half of ``before``'s."""
    if factor <= 0:
        raise ValueError(f"factor must be positive, got {factor}")
    target = frame["target"].to_numpy(dtype=float)
    err_before = np.abs(frame[f"{before}_pred"].to_numpy(dtype=float) - target)
    err_after = np.abs(frame[f"{after}_pred"].to_numpy(dtype=float) - target)
    cutoff = factor * float(err_before.mean())
    outlier = err_before > cutoff
    n = int(outlier.sum())
    fixed = int((err_after[outlier] <= cutoff).sum())
    mae_before = float(err_before[outlier].mean()) if n else float("nan")
    mae_after = float(err_after[outlier].mean()) if n else float("nan")
    return {
        "n_compounds": len(frame),
        "cutoff": cutoff,
        "outliers": frame.loc[outlier, "formula"].tolist() if "formula" in frame else [],
        "mask": outlier,
        "n_outliers": n,
        "fixed": fixed,
        "mae_before_on_outliers": mae_before,
        "mae_after_on_outliers": mae_after,
        "mae_before_all": float(err_before.mean()),
        "mae_after_all": float(err_after.mean()),
        "new_outliers_after": int((err_after > cutoff).sum()),
        "holds": bool(n > 0 and fixed > n / 2 and mae_after < 0.5 * mae_before),
    }
