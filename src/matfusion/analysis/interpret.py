"""What a trained composition model learned: the analyses behind paper A's Figures 6-10, 12
and S9.

Every function takes a trained :class:`~matfusion.models.CompositionModel` (and its target
scaler where values are needed) and returns plain numpy/pandas objects, so a chapter can
store them in the results store and redraw the figures without the checkpoint.

* :func:`element_contributions` splits each prediction into one value per element, in
  target units, such that the prediction is their mean (the output head averages per-element
  values and gates them, so the split is exact, not an attribution heuristic);
* :func:`average_contribution` averages those per element over a set of compounds (Figure 9);
* :func:`binary_sweep` predicts along A_x B_(1-x) (Figure 8);
* :func:`compound_vectors` + :func:`umap_embedding` give the EFM maps of Figure 10 / S3;
* :func:`correlation_shift` ranks the element pairs whose EFM correlation changes most
  between two models (Figure 12);
* :func:`element_vector_correlation` correlates the learned vectors of single elements
  (Figure S9).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from matfusion.analysis.cecv import correlation_matrices
from matfusion.featurize import EncodedCompositions, encode_formulas, pad_batch

if TYPE_CHECKING:
    from matfusion.data.elements import ElementTable
    from matfusion.models import CompositionModel
    from matfusion.train import TargetScaler


def _batches(encoded: EncodedCompositions, batch_size: int):
    """Torch batches of ``encoded`` in order, each trimmed to its longest composition."""
    import torch

    for start in range(0, len(encoded), batch_size):
        e, f = pad_batch(
            encoded.elements[start : start + batch_size],
            encoded.fractions[start : start + batch_size],
        )
        yield (
            torch.as_tensor(np.ascontiguousarray(e), dtype=torch.long),
            torch.as_tensor(np.ascontiguousarray(f), dtype=torch.get_default_dtype()),
        )


def element_contributions(
    model: CompositionModel,
    scaler: TargetScaler,
    encoded: EncodedCompositions,
    *,
    batch_size: int = 1024,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-element contributions ``(N, L)`` in target units (NaN at padding) and the
    predictions ``(N,)``.

    The head predicts ``gate * mean_i(v_i) * std + mean``; element i's contribution is
    ``gate * v_i * std + mean``, so a compound's prediction is the mean of its elements'
    contributions. Contributions are what the element adds *in this compound*.
    """
    import torch

    layer = model.default_efm_layer
    model.eval()
    rows: list[np.ndarray] = []
    preds: list[np.ndarray] = []
    width = encoded.elements.shape[1]
    with torch.inference_mode():
        for e, f in _batches(encoded, batch_size):
            feats = model.features(e, f, [layer])
            mask = feats["mask"]
            per_element = model.head.linear(feats[layer]).masked_fill(~mask[..., None], 0.0)
            gate = torch.sigmoid(per_element[..., 2].sum(1) / mask.sum(1))
            value = gate[:, None] * per_element[..., 0] * scaler.std + scaler.mean
            value = value.masked_fill(~mask, float("nan")).double().numpy()
            out = np.full((value.shape[0], width), np.nan)
            out[:, : value.shape[1]] = value
            rows.append(out)
            preds.append(feats["output"][:, 0].double().numpy() * scaler.std + scaler.mean)
    return np.concatenate(rows), np.concatenate(preds)


def average_contribution(
    encoded: EncodedCompositions, contributions: np.ndarray, symbols: Sequence[str]
) -> pd.DataFrame:
    """Mean contribution of each element over the compounds that contain it.

    ``symbols[z - 1]`` names atomic number z (the element-table convention). Returns one row
    per element present: ``mean``, ``std`` and ``count`` (number of compounds).
    """
    mask = encoded.elements != 0
    z = encoded.elements[mask]
    values = contributions[mask]
    if np.isnan(values).any():
        raise ValueError("contributions are NaN at a real element")
    n = int(encoded.elements.max()) + 1
    count = np.bincount(z, minlength=n)
    total = np.bincount(z, weights=values, minlength=n)
    square = np.bincount(z, weights=values * values, minlength=n)
    present = np.flatnonzero(count)
    mean = total[present] / count[present]
    var = np.maximum(square[present] / count[present] - mean**2, 0.0)
    return pd.DataFrame(
        {"mean": mean, "std": np.sqrt(var), "count": count[present]},
        index=pd.Index([symbols[i - 1] for i in present], name="element"),
    )


def binary_formulas(a: str, b: str, xs: Sequence[float]) -> list[str]:
    """Formulas ``A_x B_(1-x)`` for each x strictly between 0 and 1."""
    xs = np.asarray(xs, dtype=float)
    if ((xs <= 0) | (xs >= 1)).any():
        raise ValueError("x must lie strictly between 0 and 1 (both elements present)")
    return [f"{a}{x:.4f}{b}{1 - x:.4f}" for x in xs]


def binary_sweep(
    model: CompositionModel,
    scaler: TargetScaler,
    table: ElementTable,
    a: str,
    b: str,
    xs: Sequence[float] | None = None,
) -> pd.DataFrame:
    """Prediction and uncertainty along ``A_x B_(1-x)`` (x = fraction of A), Figure 8."""
    from matfusion.train import predict

    xs = np.linspace(0.02, 0.98, 49) if xs is None else np.asarray(xs, dtype=float)
    formulas = binary_formulas(a, b, xs)
    from matfusion.models import encoding_order

    mean, std = predict(
        model, scaler, encode_formulas(formulas, table, order=encoding_order(model))
    )
    return pd.DataFrame({"x": xs, "formula": formulas, "prediction": mean, "uncertainty": std})


def binary_points(frame: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """Rows of a dataset made of exactly the elements A and B, with x = fraction of A
    (the DFT values a sweep is compared with)."""
    from matfusion.data import parse_formula

    rows = []
    for formula, target in zip(frame["formula"], frame["target"], strict=True):
        comp = parse_formula(formula)
        if set(comp) == {a, b}:
            rows.append({"formula": formula, "x": comp[a] / sum(comp.values()), "target": target})
    return pd.DataFrame(rows, columns=["formula", "x", "target"])


def compound_vectors(
    model: CompositionModel, encoded: EncodedCompositions, layer: str | None = None
) -> np.ndarray:
    """One vector per compound: the mean over its elements of the EFM of ``layer``
    (default: the last layer before the head, which the head itself averages)."""
    import torch

    model.eval()
    with torch.inference_mode():
        efms = model.efm(encoded.elements, encoded.fractions, layer)
    return np.stack([m.mean(axis=0) for m in efms])


def umap_embedding(vectors: np.ndarray, *, seed: int = 0, n_neighbors: int = 15) -> np.ndarray:
    """2-D UMAP of ``vectors`` (N, D), seeded (umap-learn then runs single-threaded and is
    reproducible on one machine)."""
    import umap

    n = len(vectors)
    if n < 4:
        raise ValueError(f"UMAP needs at least 4 points, got {n}")
    reducer = umap.UMAP(
        n_components=2, n_neighbors=min(n_neighbors, n - 1), random_state=seed, n_jobs=1
    )
    return reducer.fit_transform(np.asarray(vectors, dtype=np.float32))


#: Columns of :func:`correlation_shift`, in order.
PAIR_COLUMNS = (
    "pair",
    "total_abs_change",
    "mean_abs_change",
    "max_abs_change",
    "mean_change",
    "compounds",
)


def correlation_shift(
    efms_a: Sequence[np.ndarray],
    efms_b: Sequence[np.ndarray],
    elements: np.ndarray,
    symbols: Sequence[str],
) -> pd.DataFrame:
    """Element pairs whose EFM correlation changes most from model A to model B.

    ``efms_a``/``efms_b``: per-compound EFMs of the same compounds (n_i x D each; the models
    may differ in D); ``elements``: the compounds' element indices (N, L) in the EFMs' row
    order. Compounds with fewer than 3 elements are skipped (their correlation after
    standardisation is fixed). Returns one row per unordered element pair: the total, mean
    and max of |r_B - r_A| over the compounds containing the pair, the mean signed change
    and the number of compounds, sorted by the total (a pair that changes in many of the
    compounds outranks one that changes a lot in a single compound).
    """
    if not (len(efms_a) == len(efms_b) == len(elements)):
        raise ValueError("efms_a, efms_b and elements must describe the same compounds")
    sizes = np.array([len(m) for m in efms_a])
    if (sizes != np.array([len(m) for m in efms_b])).any():
        raise ValueError("the two models give different element counts for a compound")
    frames = []
    for n in np.unique(sizes):
        if n < 3:
            continue
        idx = np.flatnonzero(sizes == n)
        ra = correlation_matrices(np.stack([efms_a[i] for i in idx]))
        rb = correlation_matrices(np.stack([efms_b[i] for i in idx]))
        iu, ju = np.triu_indices(n, k=1)
        delta = rb[:, iu, ju] - ra[:, iu, ju]  # (m, pairs)
        z = elements[idx][:, :n]
        frames.append(
            pd.DataFrame(
                {
                    "z_i": z[:, iu].ravel(),
                    "z_j": z[:, ju].ravel(),
                    "change": delta.ravel(),
                    "abs_change": np.abs(delta).ravel(),
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=list(PAIR_COLUMNS))
    pairs = pd.concat(frames, ignore_index=True)
    grouped = pairs.groupby(["z_i", "z_j"]).agg(
        total_abs_change=("abs_change", "sum"),
        mean_abs_change=("abs_change", "mean"),
        max_abs_change=("abs_change", "max"),
        mean_change=("change", "mean"),
        compounds=("change", "size"),
    )
    grouped.index = [f"{symbols[i - 1]}-{symbols[j - 1]}" for i, j in grouped.index]
    grouped.index.name = "pair"
    grouped = grouped.sort_values(["total_abs_change", "mean_abs_change"], ascending=False)
    return grouped.reset_index()[list(PAIR_COLUMNS)]


def element_vector_correlation(
    model: CompositionModel,
    table: ElementTable,
    symbols: Sequence[str],
    *,
    layer: str | None = None,
) -> pd.DataFrame:
    """Pearson correlation between the learned vectors of single elements, ordered by
    atomic number (Figure S9).

    Each element is fed alone (fraction 1), and its EFM row at ``layer`` (default: the last
    layer before the head) is its learned vector, so what the model did to the raw
    embedding is included.
    """
    index = {s: z for z, s in enumerate(table.symbols, start=1)}
    unknown = [s for s in symbols if s not in index or not table.available[index[s]]]
    if unknown:
        raise KeyError(f"elements without an embedding in {table.name!r}: {unknown}")
    order = sorted(symbols, key=lambda s: index[s])
    encoded = encode_formulas(order, table)
    vectors = np.concatenate(
        [m for m in model.efm(encoded.elements, encoded.fractions, layer)], axis=0
    )
    return pd.DataFrame(np.corrcoef(vectors), index=order, columns=order)


def group_contrast(corr: pd.DataFrame) -> dict[str, float]:
    """Mean correlation between elements of the same periodic-table group vs of different
    groups (off-diagonal): a number for "the learned vectors recover the periodic table"."""
    from pymatgen.core import Element

    groups = np.array([Element(s).group for s in corr.index])
    same = groups[:, None] == groups[None, :]
    off = ~np.eye(len(groups), dtype=bool)
    values = corr.to_numpy()
    return {
        "same_group": float(values[same & off].mean()),
        "different_group": float(values[~same].mean()),
        "n_elements": int(len(groups)),
    }


def electronegative_elements(min_pauling: float = 3.0) -> list[str]:
    """Symbols of the elements whose Pauling electronegativity (pymatgen's table) is at least
    ``min_pauling``, in order of atomic number. Elements without a value (He, Ne, Ar) are left
    out. The one rule behind "strongly electronegative" in the Figure 12 check."""
    import warnings

    from pymatgen.core import Element

    with warnings.catch_warnings():
        # pymatgen warns for every element without a Pauling value; those are skipped.
        warnings.simplefilter("ignore", UserWarning)
        values = {el.symbol: el.X for el in Element}
    return [s for s, x in values.items() if x is not None and not np.isnan(x) and x >= min_pauling]
