"""Stored analyses of trained runs: the data behind paper A's interpretability figures.

Each function takes training records (from :func:`matfusion.experiments.run_training`),
computes one analysis from the trained models through :mod:`matfusion.analysis.interpret`
and keeps the result in the results store (experiment ``interpret``). The book then redraws
Figures 6-10, 12 and S9 from committed records; the checkpoints, which are not committed,
are only needed (or retrained) when an analysis is new.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from matfusion.analysis import interpret
from matfusion.analysis.cecv import anchor_mask
from matfusion.data import element_table, load_split
from matfusion.experiments import load_encoded, run_analysis, run_conventions
from matfusion.featurize import EncodedCompositions, encode_formulas
from matfusion.models import encoding_order
from matfusion.train import predict

Record = dict[str, Any]


def _round(values: Any, digits: int = 5) -> list:
    """Floats rounded for storage (analysis records are committed; 5 significant digits
    are far below the models' errors)."""
    arr = np.asarray(values, dtype=float)
    return [float(f"{v:.{digits}g}") if np.isfinite(v) else None for v in arr.ravel()]


def _table(record: Record) -> Any:
    return element_table(record["config"]["embedding"])


def _encode(record: Record, formulas: list[str]) -> EncodedCompositions:
    """``formulas`` encoded as the run's model reads them (its table and element order)."""
    return encode_formulas(
        formulas, _table(record), order=encoding_order(run_conventions(record["config"]))
    )


def _test_split(record: Record):
    """The test split exactly as the run evaluated it (same subsample, same seed)."""
    cfg = record["config"]
    return load_encoded(
        cfg["dataset"],
        "test",
        fold=cfg["fold"],
        max_rows=cfg["max_eval_rows"],
        seed=cfg["seed"],
        embedding=cfg["embedding"],
        order=encoding_order(run_conventions(cfg)),
    )


def parity(record: Record, *, progress: bool = False) -> pd.DataFrame:
    """Test-set targets, predictions and predicted uncertainties of one run (Figure 6a,b)."""

    def compute(models):
        model, scaler = models["model"]
        split = _test_split(record)
        mean, std = predict(model, scaler, split.encoded)
        return {
            "target": _round(split.frame["target"]),
            "prediction": _round(mean),
            "uncertainty": _round(std),
        }

    stored = run_analysis("parity", {"model": record}, {}, compute, progress=progress)
    return pd.DataFrame(stored["result"])


def efm_maps(
    records: dict[str, Record], formulas: list[str], *, progress: bool = False
) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, list[str]]]:
    """EFMs (elements x features, default layer) of ``formulas`` under each model
    (Figure 6c). Returns ``({label: {formula: matrix}}, {formula: element symbols})``."""

    def compute(models):
        out: dict[str, Any] = {"efm": {}, "elements": {}}
        for label, (model, _scaler) in models.items():
            table = _table(records[label])
            encoded = _encode(records[label], formulas)
            efms = model.efm(encoded.elements, encoded.fractions)
            out["efm"][label] = {
                f: np.asarray(_round(m, 4)).reshape(m.shape).tolist()
                for f, m in zip(formulas, efms, strict=True)
            }
            out["elements"] = {
                f: [table.symbols[z - 1] for z in row if z]
                for f, row in zip(formulas, encoded.elements, strict=True)
            }
        return out

    stored = run_analysis(
        "efm_maps", records, {"formulas": list(formulas)}, compute, progress=progress
    )["result"]
    efms = {
        label: {f: np.asarray(m, dtype=float) for f, m in maps.items()}
        for label, maps in stored["efm"].items()
    }
    return efms, stored["elements"]


def binary_sweeps(
    records: dict[str, Record], a: str, b: str, *, n_points: int = 49, progress: bool = False
) -> dict[str, pd.DataFrame]:
    """Prediction and uncertainty of each model along ``A_x B_(1-x)`` (Figure 8)."""
    xs = np.linspace(0.02, 0.98, n_points)

    def compute(models):
        out = {}
        for label, (model, scaler) in models.items():
            sweep = interpret.binary_sweep(model, scaler, _table(records[label]), a, b, xs)
            out[label] = {
                "x": _round(sweep["x"]),
                "prediction": _round(sweep["prediction"]),
                "uncertainty": _round(sweep["uncertainty"]),
            }
        return out

    params = {"a": a, "b": b, "n_points": n_points}
    stored = run_analysis("binary_sweep", records, params, compute, progress=progress)
    return {label: pd.DataFrame(v) for label, v in stored["result"].items()}


def dataset_binary_points(dataset: str, a: str, b: str) -> pd.DataFrame:
    """Every row of ``dataset`` (all splits) made of exactly A and B: the DFT reference."""
    frames = [load_split(dataset, s, verbose=False).assign(split=s) for s in ("train", "val")]
    frames.append(load_split(dataset, "test", verbose=False).assign(split="test"))
    frame = pd.concat(frames, ignore_index=True)
    # Cheap pre-filter on the text before parsing each formula with pymatgen.
    candidates = frame[frame["formula"].str.contains(a) & frame["formula"].str.contains(b)]
    points = interpret.binary_points(candidates, a, b)
    return points.sort_values("x").reset_index(drop=True)


def average_contributions(
    records: dict[str, Record], *, split: str = "test", progress: bool = False
) -> pd.DataFrame:
    """Average per-element contribution (target units) of each model over the compounds of
    ``split`` (the run's subsample for the test split), one column per model (Figure 9)."""

    def compute(models):
        out = {}
        for label, (model, scaler) in models.items():
            rec = records[label]
            cfg = rec["config"]
            data = (
                _test_split(rec)
                if split == "test"
                else load_encoded(
                    cfg["dataset"], split, fold=cfg["fold"], max_rows=None, seed=cfg["seed"],
                    embedding=cfg["embedding"], order=encoding_order(run_conventions(cfg)),
                )
            )  # fmt: skip
            table = _table(rec)
            contributions, _ = interpret.element_contributions(model, scaler, data.encoded)
            avg = interpret.average_contribution(data.encoded, contributions, table.symbols)
            out[label] = {
                "element": list(avg.index),
                "mean": _round(avg["mean"]),
                "count": avg["count"].astype(int).tolist(),
            }
        return out

    stored = run_analysis(
        "average_contribution", records, {"split": split}, compute, progress=progress
    )["result"]
    columns = {
        label: pd.Series(v["mean"], index=v["element"], dtype=float) for label, v in stored.items()
    }
    frame = pd.DataFrame(columns)
    first = next(iter(stored.values()))
    frame["compounds"] = pd.Series(first["count"], index=first["element"])
    return frame


def anchor_compounds(dataset: str, anchor: str, *, split: str = "test") -> pd.DataFrame:
    """The rows of the full ``split`` whose compound contains ``anchor`` (CECV's set)."""
    frame = load_split(dataset, split, verbose=False)
    encoded = encode_formulas(frame["formula"].tolist())
    return frame[anchor_mask(encoded.elements, anchor)].reset_index(drop=True)


def efm_umaps(
    records: dict[str, Record],
    *,
    anchor: str = "Si",
    max_compounds: int | None = None,
    seed: int = 0,
    progress: bool = False,
) -> pd.DataFrame:
    """UMAP of the compound EFM vectors (mean over elements) of the ``anchor`` compounds of
    the test split, per model, with the DFT value and each model's prediction
    (Figures 10 and S3). Columns: ``formula, target, <label>_x, <label>_y, <label>_pred``."""
    dataset = {rec["config"]["dataset"] for rec in records.values()}
    if len(dataset) != 1:
        raise ValueError(f"the maps compare models of one dataset, got {sorted(dataset)}")
    dataset = dataset.pop()

    def compute(models):
        frame = anchor_compounds(dataset, anchor)
        if max_compounds is not None and len(frame) > max_compounds:
            keep = np.sort(
                np.random.default_rng(seed).choice(len(frame), max_compounds, replace=False)
            )
            frame = frame.iloc[keep].reset_index(drop=True)
        out: dict[str, Any] = {
            "formula": frame["formula"].tolist(),
            "target": _round(frame["target"]),
        }
        for label, (model, scaler) in models.items():
            encoded = _encode(records[label], frame["formula"].tolist())
            vectors = interpret.compound_vectors(model, encoded)
            xy = interpret.umap_embedding(vectors, seed=seed)
            mean, _std = predict(model, scaler, encoded)
            out[f"{label}_x"] = _round(xy[:, 0])
            out[f"{label}_y"] = _round(xy[:, 1])
            out[f"{label}_pred"] = _round(mean)
        return out

    params = {"anchor": anchor, "max_compounds": max_compounds, "seed": seed}
    stored = run_analysis("efm_umap", records, params, compute, progress=progress)
    return pd.DataFrame(stored["result"])


def neighbour_spread(xy: np.ndarray, values: np.ndarray, k: int = 10) -> float:
    """Mean |value - value of a neighbour| over each point's k nearest neighbours in a map:
    small when the map puts compounds with similar values together."""
    from sklearn.neighbors import NearestNeighbors

    xy = np.asarray(xy, dtype=float)
    values = np.asarray(values, dtype=float)
    k = min(k, len(xy) - 1)
    _dist, idx = NearestNeighbors(n_neighbors=k + 1).fit(xy).kneighbors(xy)
    return float(np.mean(np.abs(values[idx[:, 1:]] - values[:, None])))


def worst_compound_pair_shift(
    reference: Record,
    fused: Record,
    *,
    anchor: str = "Si",
    n_worst: int = 56,
    progress: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Element pairs whose EFM correlation changes most from ``reference`` (LSTM) to
    ``fused`` (L-G-DCNN) over the ``n_worst`` anchor compounds (3+ elements) that the
    reference predicts worst (Figure 12). Returns (pairs, the worst compounds)."""
    dataset = reference["config"]["dataset"]

    def compute(models):
        frame = anchor_compounds(dataset, anchor)
        ref_model, ref_scaler = models["reference"]
        fused_model, _ = models["fused"]
        encoded = _encode(reference, frame["formula"].tolist())
        multi = np.flatnonzero(encoded.lengths >= 3)
        mean, _ = predict(ref_model, ref_scaler, encoded.subset(multi))
        error = np.abs(mean - frame["target"].to_numpy()[multi])
        worst = multi[np.argsort(-error)[:n_worst]]
        worst_enc = encoded.subset(worst)
        fused_enc = _encode(fused, frame["formula"].iloc[worst].tolist())
        efm_ref = ref_model.efm(worst_enc.elements, worst_enc.fractions)
        efm_fused = fused_model.efm(fused_enc.elements, fused_enc.fractions)
        pairs = interpret.correlation_shift(
            efm_ref, efm_fused, worst_enc.elements, _table(reference).symbols
        )
        return {
            "pairs": {c: pairs[c].tolist() for c in pairs.columns},
            "worst": {
                "formula": frame["formula"].iloc[worst].tolist(),
                "target": _round(frame["target"].iloc[worst]),
                "reference_error": _round(np.sort(error)[::-1][:n_worst]),
            },
        }

    params = {"anchor": anchor, "n_worst": n_worst}
    stored = run_analysis(
        "pair_shift", {"reference": reference, "fused": fused}, params, compute,
        progress=progress,
    )["result"]  # fmt: skip
    pairs = pd.DataFrame(stored["pairs"])[list(interpret.PAIR_COLUMNS)]
    return pairs, pd.DataFrame(stored["worst"])[["formula", "target", "reference_error"]]


def element_correlations(
    record: Record, *, split: str = "train", progress: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Correlation of the learned single-element vectors, by atomic number, over the elements
    in the run's ``split`` (Figure S9), and the same for the raw input embedding."""
    cfg = record["config"]

    def compute(models):
        model, _ = models["model"]
        table = _table(record)
        frame = load_split(cfg["dataset"], split, fold=cfg["fold"], verbose=False)
        encoded = _encode(record, frame["formula"].tolist())
        present = np.unique(encoded.elements[encoded.elements > 0])
        symbols = [table.symbols[z - 1] for z in present]
        learned = interpret.element_vector_correlation(model, table, symbols)
        raw = np.corrcoef(table.vectors[present])
        return {
            "symbols": symbols,
            "learned": [_round(row, 4) for row in learned.to_numpy()],
            "raw": [_round(row, 4) for row in raw],
        }

    stored = run_analysis(
        "element_correlation", {"model": record}, {"split": split}, compute, progress=progress
    )["result"]
    symbols = stored["symbols"]
    return (
        pd.DataFrame(stored["learned"], index=symbols, columns=symbols),
        pd.DataFrame(stored["raw"], index=symbols, columns=symbols),
    )
