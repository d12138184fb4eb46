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

The page itself is :class:`InterpretabilityPage`: one method per section picks the section's
runs, draws its figures with the ``plot_*`` functions here (one per figure, each returning
its matplotlib Figure) and returns a :class:`Section` (figures, the table as shown, the texts
the markdown glues), so the notebook only calls, shows and glues.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from matfusion.profiles import Profile

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "CLAIM_READINGS",
    "CONTRIBUTION_MODELS",
    "EXERCISES",
    "OUTLIER_KEYS",
    "PENDING",
    "PEROVSKITES",
    "RUN_COLUMNS",
    "SPREAD_KEYS",
    "SWEEP_MODELS",
    "UMAP_MODELS",
    "InterpretabilityPage",
    "Section",
    "contrast_table",
    "contribution_texts",
    "delta_summary",
    "delta_table",
    "efm_similarity",
    "electronegative_pairs",
    "figure6c_claim",
    "figure8_claim",
    "figure8_reading",
    "figure9_claim",
    "figure10_claim",
    "figure12_claim",
    "fusion_fixes_outliers",
    "glue_texts",
    "interpret_data",
    "neighbour_spreads",
    "outlier_texts",
    "perovskite_distances",
    "perovskite_reading",
    "perovskite_readings",
    "perovskite_summary",
    "plot_circled_outliers",
    "plot_contribution_tables",
    "plot_element_correlations",
    "plot_other_oxide_lines",
    "plot_parity_figure",
    "plot_top_pairs",
    "plot_umap_pair",
    "rmse_table",
    "runs_for_section",
    "section_runs",
    "site_order",
    "sweep_rows",
    "training_rows_text",
    "umap_coordinates",
    "umap_texts",
]


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


# --- the chapter's tables and readings -----------------------------------------------------

#: Shown where a number's runs are not stored (every glued name gets a value on every path).
PENDING = "not stored yet"


def glue_texts(texts: Mapping[str, Any]) -> None:
    """Glue every ``name: value`` of ``texts`` for the chapter's markdown (not displayed)."""
    from myst_nb import glue

    for name, value in texts.items():
        glue(name, value, display=False)


def runs_for_section(
    runs: Mapping[tuple[str, str], dict[str, Any]],
    pairs: Mapping[str, tuple[str, str]],
    analyses: Sequence[tuple[str, Sequence[str]]],
    *,
    train_missing: bool,
) -> dict[str, dict[str, Any]] | None:
    """:func:`section_runs`, showing its one-line note on the page when a run is missing."""
    from matfusion.notebook import show_markdown

    chosen, note = section_runs(runs, pairs, analyses, train_missing=train_missing)
    if note:
        show_markdown(note)
    return chosen


def section_runs(
    runs: Mapping[tuple[str, str], dict[str, Any]],
    pairs: Mapping[str, tuple[str, str]],
    analyses: Sequence[tuple[str, Sequence[str]]],
    *,
    train_missing: bool,
) -> tuple[dict[str, dict[str, Any]] | None, str | None]:
    """The runs a figure needs, by label, or ``(None, note)`` when one is not stored, or
    when a stored analysis it reads (kind, labels) is missing and computing it would retrain
    a model (no checkpoint on this machine). ``runs`` maps (model, dataset) to records."""
    from matfusion.notebook import analysis_within_reach, retrain_command

    lacking = [f"{m} / {d}" for m, d in pairs.values() if (m, d) not in runs]
    if lacking:
        return None, f"Left out: it needs {', '.join(lacking)}, not stored (see the note above)."
    chosen = {label: runs[pair] for label, pair in pairs.items()}
    for kind, labels in analyses:
        used = [chosen[label] for label in labels]
        if not train_missing and not analysis_within_reach(used, "interpret", kind=kind):
            return None, (
                f"Left out: its `{kind}` analysis is not stored and the checkpoints it needs are "
                "not on this machine; "
                + "; ".join(f"`{retrain_command(r)}`" for r in used)
                + " brings them back, and this page then computes it."
            )
    return chosen, None


def rmse_table(
    frames: Mapping[str, pd.DataFrame],
    records: Mapping[str, dict[str, Any]],
    reported: pd.Series,
    *,
    ours_label: str,
) -> pd.DataFrame:
    """Parity RMSE per label (frames with ``target`` and ``prediction``) beside the paper's,
    with the runs' training rows and test compounds."""
    from matfusion.notebook import with_difference

    rmse = pd.Series(
        {
            k: float(np.sqrt(np.mean((f["target"] - f["prediction"]) ** 2)))
            for k, f in frames.items()
        },
        dtype=float,
    )
    table = with_difference(rmse, reported, ours_label=ours_label)
    table["n_train"] = pd.Series({k: r["sizes"]["train"] for k, r in records.items()}, dtype=float)
    table["test compounds"] = pd.Series({k: len(f) for k, f in frames.items()}, dtype=float)
    return table


def training_rows_text(records: Mapping[str, dict[str, Any]], full_train: Mapping[str, int]) -> str:
    """'3,000 rows (band gap; the OQMD_Bandgap training split has 240,000) and ...'."""
    if not records:
        return PENDING
    return " and ".join(
        f"{r['sizes']['train']:,} rows ({label}; the {r['config']['dataset']} training split "
        f"has {full_train[r['config']['dataset']]:,})"
        for label, r in records.items()
    )


def efm_similarity(efms: Mapping[str, Mapping[str, np.ndarray]], compounds: Sequence[str]) -> str:
    """'SrTiO3 0.12, ...': the correlation between two models' EFMs of each compound."""
    first, second = (efms[k] for k in list(efms)[:2])
    return ", ".join(
        f"{c} {np.corrcoef(np.ravel(first[c]), np.ravel(second[c]))[0, 1]:.2f}" for c in compounds
    )


def perovskite_readings(
    efms: Mapping[str, Mapping[str, np.ndarray]], elements: Mapping[str, Sequence[str]]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Figure 6c per model and space: the :func:`perovskite_reading` rows, and the pair
    distances (columns: (model, space))."""
    rows, tables = [], {}
    for label, efm_set in efms.items():
        tables[label] = perovskite_distances(efm_set, elements)
        for measure in ("embedding", "correlation"):
            rows.append({"model": label, **perovskite_reading(tables[label], measure=measure)})
    distances = pd.concat({k: v[["embedding", "correlation"]] for k, v in tables.items()}, axis=1)
    return pd.DataFrame(rows).set_index(["model", "measure"]), distances


def perovskite_summary(readings: pd.DataFrame, part: str) -> str:
    """One line per (model, space) of a Figure 6c reading, ``part`` 'close' or 'apart':
    'holds in the embedding space (0.0006), not in the correlation space (0.31)' per model."""
    value = {"close": "close_distance", "apart": "apart_min"}[part]
    out = []
    for model in readings.index.get_level_values(0).unique():
        bits = []
        for measure, row in readings.loc[model].iterrows():
            word = "holds" if row[f"{part}_holds"] else "does not hold"
            extra = f", oxides at most {row['others_max']:.3g} apart" if part == "apart" else ""
            bits.append(f"{word} in the {measure} space ({row[value]:.3g}{extra})")
        out.append(f"{model}: " + "; ".join(bits))
    return "; ".join(out)


def sweep_rows(
    sweeps: Mapping[str, pd.DataFrame], points: pd.DataFrame, system: str
) -> list[dict[str, Any]]:
    """Per model of one oxide line: mean predicted uncertainty, DFT points, mean bias and
    MAE against the dataset's DFT values (interpolated along the line); NaN without points."""
    rows = []
    for label, sweep in sweeps.items():
        near = np.interp(points["x"], sweep["x"], sweep["prediction"]) if len(points) else []
        diff = np.asarray(near) - points["target"].to_numpy() if len(points) else np.array([])
        rows.append(
            {
                "system": system,
                "model": label,
                "mean uncertainty": float(sweep["uncertainty"].mean()),
                "DFT points": len(points),
                "mean (prediction - DFT)": float(diff.mean()) if len(diff) else np.nan,
                "MAE vs DFT": float(np.abs(diff).mean()) if len(diff) else np.nan,
            }
        )
    return rows


def figure8_reading(line: pd.DataFrame) -> dict[str, Any]:
    """The paper's three readings of Figure 8 on one line (rows by model: LSTM, DCNN-K1,
    DCNN, L-G-DCNN; columns of :func:`sweep_rows`): ``uncertainty`` (L-G-DCNN's mean
    uncertainty below both references'), ``bias`` (LSTM below DFT, DCNN-K1 above) and
    ``closer`` (DCNN and L-G-DCNN nearer DFT than either reference); each a (holds, detail)
    pair, holds None without DFT points."""
    unc = line["mean uncertainty"]
    ref_unc = float(unc[["LSTM", "DCNN-K1"]].min())
    out: dict[str, Any] = {
        "uncertainty": (
            bool(unc["L-G-DCNN"] < ref_unc),
            f"mean predicted uncertainty L-G-DCNN {unc['L-G-DCNN']:.3f}, lower reference "
            f"{ref_unc:.3f}",
        )
    }
    if not int(line["DFT points"].iloc[0]):
        out["bias"] = out["closer"] = (None, "no DFT value on the line")
        return out
    bias, mae = line["mean (prediction - DFT)"], line["MAE vs DFT"]
    out["bias"] = (
        bool(bias["LSTM"] < 0 < bias["DCNN-K1"]),
        f"mean prediction minus DFT: LSTM {bias['LSTM']:+.3f}, DCNN-K1 {bias['DCNN-K1']:+.3f}",
    )
    out["closer"] = (
        bool(max(mae["DCNN"], mae["L-G-DCNN"]) < mae[["LSTM", "DCNN-K1"]].min()),
        "MAE at the DFT points: " + ", ".join(f"{m} {v:.3f}" for m, v in mae.items()),
    )
    return out


def delta_table(contributions: pd.DataFrame, fused: str = "L-G-DCNN") -> dict[str, pd.Series]:
    """|Δk| = |fused − model| of the average element contributions, k = 1, 2, 3 for
    DCNN-K1, DCNN and LSTM (Figure 9)."""
    return {
        f"Δ{k} = {fused} − {m}": (contributions[fused] - contributions[m]).abs()
        for k, m in enumerate(["DCNN-K1", "DCNN", "LSTM"], start=1)
    }


def delta_summary(deltas: Mapping[str, pd.Series]) -> pd.DataFrame:
    """Mean and max |Δ| per difference and the element of the max."""
    return pd.DataFrame(
        {
            "mean |Δ|": {k: float(v.mean()) for k, v in deltas.items()},
            "max |Δ|": {k: float(v.max()) for k, v in deltas.items()},
            "element of max": {k: v.idxmax() for k, v in deltas.items()},
        }
    )


def neighbour_spreads(maps: pd.DataFrame, models: Sequence[str], *, seed: int = 0) -> pd.Series:
    """The neighbour spread of the DFT values on each model's map, and, for scale, the same
    on the first model's map with the values shuffled (no structure at all)."""
    from matfusion import studies

    coords = {m: maps[[f"{m}_x", f"{m}_y"]].to_numpy() for m in models}
    spread = pd.Series(
        {m: studies.neighbour_spread(coords[m], maps["target"]) for m in models}, dtype=float
    )
    shuffled = np.random.default_rng(seed).permutation(maps["target"].to_numpy())
    spread["shuffled values (no structure)"] = studies.neighbour_spread(
        coords[models[1] if len(models) > 1 else models[0]], shuffled
    )
    return spread


def electronegative_pairs(
    pairs: pd.DataFrame, anchor: str, min_pauling: float, top: int = 10
) -> dict[str, Any]:
    """How many of the ``top`` pairs involve an element (besides ``anchor``) with Pauling
    electronegativity at least ``min_pauling``; ``holds`` (the paper: most) when over half."""
    from matfusion.analysis.interpret import electronegative_elements

    strong = electronegative_elements(min_pauling)
    head = pairs.head(top)["pair"].str.split("-")
    flags = [any(e in strong for e in pair if e != anchor) for pair in head]
    return {
        "count": int(sum(flags)),
        "top": len(flags),
        "elements": strong,
        "holds": bool(flags) and sum(flags) > len(flags) / 2,
    }


#: Figure 6c's compounds (the chapter's default) and the models of Figures 8, 9 and 10/S3,
#: which the page draws and the deciders read.
PEROVSKITES: tuple[str, ...] = ("SrTiO3", "BaTiO3", "KNbO3", "CsPbI3")
SWEEP_MODELS: tuple[str, ...] = ("LSTM", "DCNN-K1", "DCNN", "L-G-DCNN")
CONTRIBUTION_MODELS: tuple[str, ...] = ("DCNN-K1", "DCNN", "LSTM", "L-G-DCNN")
UMAP_MODELS: tuple[str, ...] = ("RNN", "LSTM", "L-G-DCNN")


# --- the chapter's figures (one function per figure, each returns its Figure) ---------------


def plot_parity_figure(
    frame: pd.DataFrame, *, dataset: str, unit: str, model: str = "L-G-DCNN"
) -> Figure:
    """Figure 6a,b: ``model``'s test predictions of ``dataset`` against DFT (``frame`` has
    ``target``, ``prediction``, ``uncertainty``), coloured by the predicted uncertainty, with
    the two distributions on the side axes."""
    from matfusion.analysis.plots import plot_parity

    grid = plot_parity(
        frame["target"], frame["prediction"], frame["uncertainty"], unit=unit,
        title=f"{model}, {dataset} test ({len(frame):,} compounds)",
    )  # fmt: skip
    return grid.figure


def plot_other_oxide_lines(
    sweeps: Mapping[str, pd.DataFrame], *, unit: str, model: str = "L-G-DCNN"
) -> Figure:
    """Figure 8's companion: ``model``'s prediction ± predicted uncertainty along the other
    oxide lines, one line per partner A of A_x O_(1-x) (``sweeps`` by A, frames with ``x``,
    ``prediction``, ``uncertainty``)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for partner, sweep in sweeps.items():
        ax.plot(sweep["x"], sweep["prediction"], label=f"{partner}$_x$O$_{{1-x}}$")
        ax.fill_between(sweep["x"], sweep["prediction"] - sweep["uncertainty"],
                        sweep["prediction"] + sweep["uncertainty"], alpha=0.15)  # fmt: skip
    ax.set_xlabel("x (fraction of the metal)")
    ax.set_ylabel(f"{model} band gap ({unit})")
    ax.set_title(f"Other oxide lines, {model}")
    ax.legend(fontsize=8)
    return fig


def plot_contribution_tables(
    contributions: pd.DataFrame,
    deltas: Mapping[str, pd.Series],
    *,
    unit: str,
    fused: str = "L-G-DCNN",
) -> Figure:
    """Figure 9 on four periodic tables: ``fused``'s average element contributions (columns
    of ``contributions`` by model, rows by element) and the three |Δ| of
    :func:`delta_table`, the latter on one shared colour scale from 0."""
    import matplotlib.pyplot as plt

    from matfusion.analysis.plots import plot_periodic_table

    if len(deltas) != 3:
        raise ValueError(f"Figure 9 has three differences, got {len(deltas)}")
    fig, axes = plt.subplots(2, 2, figsize=(15, 8))
    plot_periodic_table(contributions[fused], ax=axes[0, 0], cmap="viridis",
                        title=f"{fused}: average contribution", label=unit)  # fmt: skip
    shared_range = (0.0, max(float(v.max()) for v in deltas.values()))
    for ax, (label, values) in zip(axes.ravel()[1:], deltas.items(), strict=True):
        plot_periodic_table(values, ax=ax, title=f"|{label}|", label=unit,
                            value_range=shared_range)  # fmt: skip
    fig.tight_layout()
    return fig


def umap_coordinates(maps: pd.DataFrame, models: Sequence[str]) -> dict[str, np.ndarray]:
    """Each model's 2-D map (n x 2) from the stored UMAP frame's ``<model>_x, <model>_y``."""
    return {m: maps[[f"{m}_x", f"{m}_y"]].to_numpy() for m in models}


def plot_umap_pair(maps: pd.DataFrame, pair: Sequence[str], *, unit: str) -> Figure:
    """Figure S3 (RNN, LSTM) or 10 (LSTM, L-G-DCNN): each model's map of the anchor
    compounds twice, coloured by its prediction and by the DFT value, on one colour scale."""
    from matfusion.analysis.plots import plot_embedding_panels

    colours = {}
    for m in pair:
        colours[f"{m} | predicted"] = maps[f"{m}_pred"].to_numpy()
        colours[f"{m} | DFT"] = maps["target"].to_numpy()
    return plot_embedding_panels(umap_coordinates(maps, pair), colours, label=f"band gap ({unit})")


def plot_circled_outliers(
    maps: pd.DataFrame,
    mask: np.ndarray,
    cutoff: float,
    *,
    unit: str,
    before: str = "LSTM",
    after: str = "L-G-DCNN",
) -> Figure:
    """Figure 10's red circles: the maps of ``before`` and ``after`` coloured by their
    predictions, with the compounds of ``mask`` (``before``'s error above ``cutoff``,
    :func:`fusion_fixes_outliers`) circled on both."""
    import matplotlib.pyplot as plt

    coords = umap_coordinates(maps, [before, after])
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.8))
    for ax, m in zip(axes, [before, after], strict=True):
        points = ax.scatter(coords[m][:, 0], coords[m][:, 1], c=maps[f"{m}_pred"], s=4,
                            cmap="viridis")  # fmt: skip
        ax.scatter(coords[m][mask, 0], coords[m][mask, 1], s=40,
                   facecolors="none", edgecolors="#D55E00", linewidths=0.8,
                   label=f"{before} error > {cutoff:.2f} {unit}")  # fmt: skip
        ax.set_title(f"{m} | predicted")
        ax.set_xlabel("UMAP 1 (arbitrary units)")
        ax.set_ylabel("UMAP 2 (arbitrary units)")
    fig.colorbar(points, ax=axes, label=f"predicted band gap ({unit})")
    axes[0].legend(fontsize=7, loc="best")
    return fig


def plot_top_pairs(
    pairs: pd.DataFrame,
    *,
    n_compounds: int,
    anchor: str,
    top: int = 15,
    reference: str = "LSTM",
    fused: str = "L-G-DCNN",
) -> Figure:
    """Figure 12: the ``top`` element pairs (``pair``, ``total_abs_change``, ranked) whose
    EFM correlation changes most from ``reference`` to ``fused``, summed over the
    ``n_compounds`` worst-predicted ``anchor`` compounds; the largest on top."""
    import matplotlib.pyplot as plt

    shown = pairs.head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.barh(shown["pair"], shown["total_abs_change"], color="C0")
    ax.set_xlabel(f"summed |Δ correlation| over the compounds, {reference} → {fused}")
    ax.set_title(f"Top element pairs over the {n_compounds} worst {reference} {anchor} compounds")
    return fig


def plot_element_correlations(
    learned: pd.DataFrame, raw: pd.DataFrame, *, model: str = "L-G-DCNN (formation enthalpy)"
) -> Figure:
    """Figure S9: the correlation matrices of the learned single-element vectors and of the
    input embedding (mat2vec), side by side, elements by atomic number."""
    import matplotlib.pyplot as plt

    from matfusion.analysis.plots import plot_correlation_matrix

    fig, axes = plt.subplots(1, 2, figsize=(14, 6))
    plot_correlation_matrix(learned, ax=axes[0], title=model)
    plot_correlation_matrix(raw, ax=axes[1], title="input embedding (mat2vec)")
    fig.tight_layout()
    return fig


# --- the chapter's texts and tables from the figures' data ----------------------------------


def contribution_texts(
    contributions: pd.DataFrame,
    deltas: Mapping[str, pd.Series],
    test_mae: Mapping[str, float],
    models: Sequence[str] = CONTRIBUTION_MODELS,
) -> dict[str, str]:
    """Figure 9's glued numbers: the test MAE of each of ``models``, the number of elements
    averaged over (rows of ``contributions``) and the mean |Δ| of each difference."""
    return {
        "fig9_mae": ", ".join(f"{m} {test_mae[m]:.1f}" for m in models),
        "fig9_elements": str(len(contributions)),
        "fig9_means": ", ".join(f"{v.mean():.2f}" for v in deltas.values()),
    }


#: The glued names of the neighbour spreads, in the order of :data:`UMAP_MODELS` and the
#: shuffled baseline last.
SPREAD_KEYS: tuple[str, ...] = ("spread_rnn", "spread_lstm", "spread_lgdcnn", "spread_none")


def umap_texts(maps: pd.DataFrame, spread: pd.Series, models: Sequence[str]) -> dict[str, str]:
    """Figures 10 and S3's glued numbers: the compound count and each model's neighbour
    spread (:func:`neighbour_spreads`), the shuffled baseline last."""
    values = [f"{spread[k]:.3f}" for k in [*models, spread.index[-1]]]
    return {"umap_compounds": f"{len(maps):,}", **dict(zip(SPREAD_KEYS, values, strict=True))}


#: The glued names of Figure 10's circled compounds (:func:`outlier_texts`).
OUTLIER_KEYS: tuple[str, ...] = ("out_n", "out_total", "out_cutoff", "out_fixed", "out_after",
                                 "out_before", "out_after_all", "out_before_all")  # fmt: skip


def outlier_texts(fixes: Mapping[str, Any]) -> dict[str, str]:
    """The glued numbers of :func:`fusion_fixes_outliers`."""
    return {
        "out_n": str(fixes["n_outliers"]),
        "out_total": f"{fixes['n_compounds']:,}",
        "out_cutoff": f"{fixes['cutoff']:.2f}",
        "out_fixed": str(fixes["fixed"]),
        "out_after": f"{fixes['mae_after_on_outliers']:.2f}",
        "out_before": f"{fixes['mae_before_on_outliers']:.2f}",
        "out_after_all": f"{fixes['mae_after_all']:.3f}",
        "out_before_all": f"{fixes['mae_before_all']:.3f}",
    }


def contrast_table(learned: pd.DataFrame, raw: pd.DataFrame) -> pd.DataFrame:
    """Figure S9's number: mean correlation between elements of the same group and of
    different groups, and their difference, for the learned vectors and the input."""
    from matfusion.analysis.interpret import group_contrast

    contrast = pd.DataFrame(
        {"L-G-DCNN": group_contrast(learned), "mat2vec input": group_contrast(raw)}
    ).T
    contrast["same - different"] = contrast["same_group"] - contrast["different_group"]
    return contrast


# --- the page: one method per section --------------------------------------------------------

#: The columns of the closing table of runs.
RUN_COLUMNS: list[str] = ["dataset", "model", "n_train", "epochs_run", "test_mae", "test_r2",
                          "source"]  # fmt: skip


@dataclass
class Section:
    """What one section of the page shows: its figures (already drawn, in order), its table
    as displayed (None where its runs are missing) and the texts its markdown glues (every
    name on every path, :data:`PENDING` where the runs are missing). ``frame`` carries data a
    later section reads (the UMAP maps)."""

    texts: dict[str, str]
    table: Any = None
    figures: list[Figure] = field(default_factory=list)
    frame: pd.DataFrame | None = None


@dataclass
class InterpretabilityPage:
    """Chapter 05: the stored runs (``runs``: (model, dataset) -> record) and the section
    datasets; each section method picks its runs, notes on the page what is missing, draws
    its figures and returns a :class:`Section`."""

    runs: dict[tuple[str, str], dict[str, Any]]
    band_gap_dataset: str
    enthalpy_dataset: str
    shear_dataset: str
    train_missing: bool

    @classmethod
    def load(
        cls,
        profile: Profile,
        *,
        band_gap_dataset: str,
        enthalpy_dataset: str,
        shear_dataset: str,
        train_missing: bool,
    ) -> InterpretabilityPage:
        """The runs of :data:`~matfusion.chapters.cells.INTERPRETABILITY_MODELS` on the
        three datasets, trained only with ``train_missing``, after showing how many are
        stored and the command for the missing ones."""
        from matfusion.chapters.cells import INTERPRETABILITY_MODELS
        from matfusion.grid import grid_cells
        from matfusion.notebook import stored_runs

        section_models = {
            band_gap_dataset: list(INTERPRETABILITY_MODELS["band_gap"]),
            enthalpy_dataset: list(INTERPRETABILITY_MODELS["enthalpy"]),
            shear_dataset: list(INTERPRETABILITY_MODELS["shear"]),
        }
        cells = [c for d, ms in section_models.items() for c in grid_cells(ms, [d])]
        records, missing = stored_runs(cells, profile, train_missing=train_missing)
        present = [c for c in cells if c not in missing]
        runs = {(c.model, c.dataset): rec for c, rec in zip(present, records, strict=True)}
        return cls(runs, band_gap_dataset, enthalpy_dataset, shear_dataset, train_missing)

    def _section_runs(
        self, pairs: Mapping[str, tuple[str, str]], analyses: Sequence[tuple[str, Sequence[str]]]
    ) -> dict[str, dict[str, Any]] | None:
        return runs_for_section(self.runs, pairs, analyses, train_missing=self.train_missing)

    def _unit(self, dataset: str) -> str:
        from matfusion.data import get_dataset

        return get_dataset(dataset).unit

    def parity(self, profile_name: str) -> Section:
        """Figure 6a,b: L-G-DCNN's parity plots on band gap and formation enthalpy, and the
        RMSE table beside the paper's (shown with the paper's numbers even without runs)."""
        from matfusion import studies
        from matfusion.data import dataset_summary, get_dataset
        from matfusion.paper import reported_floats

        runs = self._section_runs(
            {"band gap": ("L-G-DCNN", self.band_gap_dataset),
             "formation enthalpy": ("L-G-DCNN", self.enthalpy_dataset)},
            [("parity", ["band gap"]), ("parity", ["formation enthalpy"])],
        ) or {}  # fmt: skip
        frames = {label: studies.parity(record) for label, record in runs.items()}
        figures = []
        for label, frame in frames.items():
            data = get_dataset(runs[label]["config"]["dataset"])
            figures.append(plot_parity_figure(frame, dataset=data.name, unit=data.unit))
        reported = pd.Series(
            {
                "band gap": reported_floats("OQMD band gap parity RMSE L-G-DCNN")[0],
                "formation enthalpy": reported_floats(
                    "OQMD formation enthalpy parity RMSE L-G-DCNN"
                )[0],
            }
        )
        rmse = rmse_table(frames, runs, reported, ours_label=f"RMSE ours ({profile_name})")
        full_train = dataset_summary().set_index("name")["n_train"]
        floats = {c: "{:.4g}" for c in rmse.select_dtypes("float").columns}
        table = rmse.style.format(floats, na_rep="–").format(
            "{:+.0f} %", subset=["difference %"], na_rep="–"
        )
        return Section({"parity_rows": training_rows_text(runs, full_train)}, table, figures)

    def efm_maps(self, perovskites: Sequence[str]) -> Section:
        """Figure 6c: the EFMs of ``perovskites`` under both L-G-DCNN models, the similarity
        of the two models' EFMs and the paper's reading in two spaces (the table: the pair
        distances)."""
        from matfusion import studies
        from matfusion.analysis.plots import plot_efm_heatmaps

        runs = self._section_runs(
            {"L-G-DCNN (band gap)": ("L-G-DCNN", self.band_gap_dataset),
             "L-G-DCNN (formation enthalpy)": ("L-G-DCNN", self.enthalpy_dataset)},
            [("efm_maps", ["L-G-DCNN (band gap)", "L-G-DCNN (formation enthalpy)"])],
        )  # fmt: skip
        texts = {"efm_similarity": PENDING, "fig6c_close": PENDING, "fig6c_apart": PENDING}
        if not runs:
            return Section(texts)
        efms, elements = studies.efm_maps(runs, list(perovskites))
        figure = plot_efm_heatmaps(efms, elements)
        texts["efm_similarity"] = efm_similarity(efms, perovskites)
        distances = None
        if set(perovskites) >= {"SrTiO3", "BaTiO3", "CsPbI3"}:
            readings, distances = perovskite_readings(efms, elements)
            texts["fig6c_close"] = perovskite_summary(readings, "close")
            texts["fig6c_apart"] = perovskite_summary(readings, "apart")
        table = distances.round(3) if distances is not None else None
        return Section(texts, table, [figure])

    def sweeps(self, oxide_partners: Sequence[str]) -> Section:
        """Figure 8 along the first partner's oxide line (the four models), L-G-DCNN along
        the others, and the table of mean uncertainty, bias and MAE against DFT per line."""
        from matfusion import studies
        from matfusion.analysis.plots import plot_binary_sweeps

        unit = self._unit(self.band_gap_dataset)
        models = list(SWEEP_MODELS)
        runs = self._section_runs(
            {m: (m, self.band_gap_dataset) for m in models},
            [("binary_sweep", models), ("binary_sweep", ["L-G-DCNN"])],
        )
        first_line = f"{oxide_partners[0]}-O"
        figures, rows, others = [], [], {}
        for k, partner in enumerate(oxide_partners if runs else []):
            chosen = runs if k == 0 else {"L-G-DCNN": runs["L-G-DCNN"]}
            sweeps = studies.binary_sweeps(chosen, partner, "O")
            points = studies.dataset_binary_points(self.band_gap_dataset, partner, "O")
            rows += sweep_rows(sweeps, points, f"{partner}-O")
            if k == 0:
                figures.append(plot_binary_sweeps(sweeps, points, a=partner, b="O", unit=unit))
            else:
                others[partner] = sweeps["L-G-DCNN"]
        if others:
            figures.append(plot_other_oxide_lines(others, unit=unit))
        table = pd.DataFrame(rows).set_index(["system", "model"]) if runs else None
        reading = (
            figure8_reading(table.loc[first_line])
            if table is not None
            else dict.fromkeys(["uncertainty", "bias", "closer"], (None, PENDING))
        )
        texts = {"fig8_line": first_line, **{f"fig8_{k}": v[1] for k, v in reading.items()}}
        shown = (
            table.style.format("{:.3f}", na_rep="–").format("{:d}", subset=["DFT points"])
            if table is not None
            else None
        )
        return Section(texts, shown, figures)

    def contributions(self) -> Section:
        """Figure 9: L-G-DCNN's average element contributions on the shear modulus and the
        three |Δ| to the other models on periodic tables (the table: mean and max |Δ|)."""
        from matfusion import studies
        from matfusion.experiments import results_table

        unit = self._unit(self.shear_dataset)
        models = list(CONTRIBUTION_MODELS)
        runs = self._section_runs(
            {m: (m, self.shear_dataset) for m in models}, [("average_contribution", models)]
        )
        texts = {"shear_dataset": self.shear_dataset, "shear_unit": unit,
                 "fig9_mae": PENDING, "fig9_elements": PENDING, "fig9_means": PENDING}  # fmt: skip
        if not runs:
            return Section(texts)
        contributions = studies.average_contributions(runs)
        deltas = delta_table(contributions)
        figure = plot_contribution_tables(contributions, deltas, unit=unit)
        test_mae = results_table(list(runs.values())).set_index("model")["test_mae"]
        texts.update(contribution_texts(contributions, deltas, test_mae, models))
        return Section(texts, delta_summary(deltas).round(2), [figure])

    def umaps(self, anchor: str, max_compounds: int | None) -> Section:
        """Figures S3 and 10: UMAP maps of the ``anchor`` compounds under RNN, LSTM and
        L-G-DCNN, and their neighbour spreads (the table); ``frame``: the maps."""
        from matfusion import studies

        unit = self._unit(self.band_gap_dataset)
        models = list(UMAP_MODELS)
        runs = self._section_runs(
            {m: (m, self.band_gap_dataset) for m in models}, [("efm_umap", models)]
        )
        texts = {"band_gap_dataset": self.band_gap_dataset, "anchor": anchor,
                 "umap_compounds": PENDING, **dict.fromkeys(SPREAD_KEYS, PENDING)}  # fmt: skip
        if not runs:
            return Section(texts)
        maps = studies.efm_umaps(runs, anchor=anchor, max_compounds=max_compounds)
        figures = [plot_umap_pair(maps, pair, unit=unit) for pair in (models[:2], models[1:])]
        spread = neighbour_spreads(maps, models)
        texts.update(umap_texts(maps, spread, models))
        table = spread.round(3).rename(f"neighbour spread ({unit})").to_frame()
        return Section(texts, table, figures, frame=maps)

    def outliers(self, maps: pd.DataFrame | None) -> Section:
        """Figure 10's circled compounds on the UMAP ``maps`` (None: not stored): LSTM's
        error above 3 times its mean, and how L-G-DCNN predicts them."""
        unit = self._unit(self.band_gap_dataset)
        texts = {"unit": unit, **dict.fromkeys(OUTLIER_KEYS, PENDING)}
        if maps is None:
            return Section(texts)
        fixes = fusion_fixes_outliers(maps, before="LSTM", after="L-G-DCNN", factor=3.0)
        figure = plot_circled_outliers(maps, fixes["mask"], fixes["cutoff"], unit=unit)
        return Section({**texts, **outlier_texts(fixes)}, None, [figure])

    def pair_shift(self, anchor: str, n_worst: int, min_pauling: float) -> Section:
        """Figure 12: the element pairs whose correlation changes most from LSTM to L-G-DCNN
        over the ``n_worst`` worst LSTM ``anchor`` compounds, and how many of the top ten
        involve an element of Pauling electronegativity ≥ ``min_pauling``."""
        from matfusion import studies

        runs = self._section_runs(
            {"reference": ("LSTM", self.band_gap_dataset),
             "fused": ("L-G-DCNN", self.band_gap_dataset)},
            [("pair_shift", ["reference", "fused"])],
        )  # fmt: skip
        texts = {"min_pauling": f"{min_pauling:g}",
                 "en_count": PENDING, "en_top": PENDING, "en_elements": PENDING}  # fmt: skip
        if not runs:
            return Section(texts)
        pairs, worst = studies.worst_compound_pair_shift(
            runs["reference"], runs["fused"], anchor=anchor, n_worst=n_worst
        )
        figure = plot_top_pairs(pairs, n_compounds=len(worst), anchor=anchor)
        strong = electronegative_pairs(pairs, anchor, min_pauling)
        texts.update({"en_count": str(strong["count"]), "en_top": str(strong["top"]),
                      "en_elements": ", ".join(strong["elements"])})  # fmt: skip
        return Section(texts, pairs.head(10).round(3), [figure])

    def element_correlations(self) -> Section:
        """Figure S9: the correlation matrices of L-G-DCNN's single-element vectors and of
        the input embedding, and their same-group contrast (the table)."""
        from matfusion import studies
        from matfusion.paper import reported_floats

        runs = self._section_runs(
            {"model": ("L-G-DCNN", self.enthalpy_dataset)}, [("element_correlation", ["model"])]
        )
        paper = int(reported_floats("Element EFM periodic correlation elements")[0])
        texts = {"s9_elements": PENDING, "s9_paper": str(paper)}
        if not runs:
            return Section(texts)
        learned, raw = studies.element_correlations(runs["model"])
        figure = plot_element_correlations(learned, raw)
        texts["s9_elements"] = str(len(learned))
        return Section(texts, contrast_table(learned, raw).round(3), [figure])

    def runs_table(self) -> Any:
        """Every run the page reads, once: dataset, model, training rows, epochs, test
        metrics and source (styled)."""
        from matfusion.experiments import results_table

        table = (
            results_table(list(self.runs.values())).sort_values(["dataset", "model"])[RUN_COLUMNS]
            if self.runs
            else pd.DataFrame(columns=RUN_COLUMNS)
        )
        return table.reset_index(drop=True).style.format(
            {"test_mae": "{:.4g}", "test_r2": "{:.3f}"}
        )


# --- the registry's deciders (one run per model: at most inconclusive) -------------------


def _analysis_stored(kind: str, records: Mapping[str, dict], params: dict, store: Any) -> bool:
    """Whether the ``interpret`` record of ``kind`` for exactly these runs and ``params`` is
    stored (so reading it retrains nothing)."""
    keys = {label: store.key_for(r["config"]) for label, r in records.items()}
    return any(
        rec["config"].get("train_keys") == keys and rec["config"].get("params") == params
        for rec in store.records("interpret", kind=kind)
    )


def interpret_data(ctx: Any, figure: str) -> dict[str, Any] | None:
    """The stored analysis behind one figure's readings, for ``ctx``'s profile and the
    chapter's default datasets, or None when a run or the analysis is not stored (nothing is
    trained or computed). Memoised in ``ctx`` under ``("ch05", figure)``; each value has
    ``r2`` (test R² by model) and the figure's data."""

    def load() -> dict[str, Any] | None:
        from matfusion import studies
        from matfusion.grid import grid_cells, stored_cell

        def runs(models: Sequence[str], dataset: str) -> dict[str, dict] | None:
            out = {}
            for cell in grid_cells(list(models), [dataset]):
                record = stored_cell(cell, profile=ctx.profile, store=ctx.store)
                if record is None:
                    return None
                out[cell.model] = record
            return out

        def r2(records: Mapping[str, dict]) -> pd.Series:
            return pd.Series({k: r["metrics"]["test_r2"] for k, r in records.items()}, dtype=float)

        def stored(kind: str, records: Mapping[str, dict], params: dict) -> bool:
            return _analysis_stored(kind, records, params, ctx.store)

        if figure == "6c":
            gap, fe = (
                runs(["L-G-DCNN"], "OQMD_Bandgap"),
                runs(["L-G-DCNN"], "OQMD_Formation_Enthalpy"),
            )
            if not gap or not fe:
                return None
            records = {"L-G-DCNN (band gap)": gap["L-G-DCNN"],
                       "L-G-DCNN (formation enthalpy)": fe["L-G-DCNN"]}  # fmt: skip
            if not stored("efm_maps", records, {"formulas": list(PEROVSKITES)}):
                return None
            efms, elements = studies.efm_maps(records, list(PEROVSKITES))
            return {"efms": efms, "elements": elements, "r2": r2(records)}
        if figure == "8":
            records = runs(SWEEP_MODELS, "OQMD_Bandgap")
            params = {"a": "Si", "b": "O", "n_points": 49}
            if not records or not stored("binary_sweep", records, params):
                return None
            sweeps = studies.binary_sweeps(records, "Si", "O")
            points = studies.dataset_binary_points("OQMD_Bandgap", "Si", "O")
            line = pd.DataFrame(sweep_rows(sweeps, points, "Si-O")).set_index("model")
            return {"line": line, "r2": r2(records)}
        if figure == "9":
            records = runs(CONTRIBUTION_MODELS, "mp_shear_modulus")
            if not records or not stored("average_contribution", records, {"split": "test"}):
                return None
            contributions = studies.average_contributions(records)
            return {"summary": delta_summary(delta_table(contributions)), "r2": r2(records)}
        if figure == "10":
            records = runs(UMAP_MODELS, "OQMD_Bandgap")
            limit = 400 if ctx.profile.name == "smoke" else None
            params = {"anchor": "Si", "max_compounds": limit, "seed": 0}
            if not records or not stored("efm_umap", records, params):
                return None
            maps = studies.efm_umaps(records, anchor="Si", max_compounds=limit)
            return {"maps": maps, "r2": r2(records)}
        if figure == "12":
            records = runs(["LSTM", "L-G-DCNN"], "OQMD_Bandgap")
            if not records:
                return None
            labelled = {"reference": records["LSTM"], "fused": records["L-G-DCNN"]}
            if not stored("pair_shift", labelled, {"anchor": "Si", "n_worst": 56}):
                return None
            pairs, _worst = studies.worst_compound_pair_shift(
                labelled["reference"], labelled["fused"], anchor="Si", n_worst=56
            )
            return {"pairs": pairs, "r2": r2(records)}
        raise KeyError(f"no stored analysis for Figure {figure!r}")

    return ctx.memo(("ch05", figure), load)


def _one_run_finding(
    data: dict[str, Any] | None,
    compared: Sequence[str],
    reading: Any,
    ctx: Any,
) -> Any:
    """A one-run Finding: pending without data, not testable where a compared model's test
    R² is below MIN_R2 (the reading kept for the record), else inconclusive with the
    reading (``reading(data)`` returns the evidence text)."""
    from matfusion.verdicts import MIN_R2, Finding

    if data is None:
        return Finding("inconclusive", "runs pending: a run or its stored analysis is missing",
                       runs="0 seeds")  # fmt: skip
    scale = f"`{ctx.profile.name}` runs"
    text = reading(data)
    r2 = data["r2"].reindex(list(compared))
    weak = r2[r2 < MIN_R2]
    if len(weak):
        return Finding(
            "not testable here",
            f"{', '.join(f'{m} ({v:.2f})' for m, v in weak.items())} reach"
            f"{'es' if len(weak) == 1 else ''} a test R² below {MIN_R2:g}: little more than a "
            f"constant prediction; for the record, one run: {text}",
            scale=scale,
            runs="1 seed",
        )
    return Finding("inconclusive", f"one run: {text}", scale=scale, runs="1 seed")


def _word(holds: bool | None) -> str:
    return "holds" if holds else "does not hold"


#: Figure 6c's two runs: the default L-G-DCNN on each of the paper's two OQMD sets.
PEROVSKITE_RUNS: dict[str, str] = {
    "L-G-DCNN (band gap)": "OQMD_Bandgap",
    "L-G-DCNN (formation enthalpy)": "OQMD_Formation_Enthalpy",
}


def seeded_perovskite_readings(ctx: Any) -> tuple[dict[int, pd.DataFrame], dict[int, str]]:
    """Figure 6c's readings (:func:`perovskite_readings`) on the seeded L-G-DCNN reruns
    (``ctx.seeded``) by seed, and the seeds left out with the reason: a run on one set
    missing, a run that learned nothing (test R² below :data:`matfusion.verdicts.MIN_R2`:
    its EFMs are noise), or EFMs neither stored nor computable from checkpoints here.
    Memoised under ``("ch05_seeded", "6c")``."""

    def load() -> tuple[dict[int, pd.DataFrame], dict[int, str]]:
        from matfusion import studies
        from matfusion.verdicts import MIN_R2

        by_seed: dict[int, dict[str, dict]] = {}
        for label, dataset in PEROVSKITE_RUNS.items():
            for record in ctx.seeded("L-G-DCNN", dataset):
                by_seed.setdefault(int(record["config"]["seed"]), {})[label] = record
        params = {"formulas": list(PEROVSKITES)}
        out, left_out = {}, {}
        for seed, records in sorted(by_seed.items()):
            weak = [f"{k} R² {r['metrics']['test_r2']:.2f}" for k, r in records.items()
                    if r["metrics"]["test_r2"] < MIN_R2]  # fmt: skip
            local = all(Path(r.get("checkpoint") or "").is_file() for r in records.values())
            if len(records) < len(PEROVSKITE_RUNS):
                left_out[seed] = "a run on one set is missing"
            elif weak:
                left_out[seed] = f"learned nothing ({', '.join(weak)})"
            elif not (local or _analysis_stored("efm_maps", records, params, ctx.store)):
                left_out[seed] = "EFMs not stored, no checkpoint here"
            else:
                efms, elements = studies.efm_maps(records, list(PEROVSKITES))
                out[seed] = perovskite_readings(efms, elements)[0]
        return out, left_out

    return ctx.memo(("ch05_seeded", "6c"), load)


def _seeded_perovskite_finding(ctx: Any, part: str) -> Any:
    """Figure 6c decided on two or more seeds, or None: a seed shows the reading when it
    holds in both spaces for both runs and contradicts it when it holds in neither for
    either; the claim holds when every seed shows it, fails when every seed contradicts it."""
    from matfusion.verdicts import Finding, rows_scale, seed_agreement

    readings, left_out = seeded_perovskite_readings(ctx)
    if len(readings) < 2:
        return None
    shown = {s: r[f"{part}_holds"] for s, r in readings.items()}
    held = [s for s, h in shown.items() if h.all()]
    against = [s for s, h in shown.items() if not h.any()]
    detail = "; ".join(f"seed {s}: {perovskite_summary(r, part)}" for s, r in readings.items())
    skipped = "".join(f"; seed {s} left out: {why}" for s, why in left_out.items())
    return Finding(
        seed_agreement(len(held), len(against), len(shown)),
        f"{len(held)} of {len(shown)} seeds show it in every run and space, {len(against)} "
        f"in none ({detail}){skipped}",
        scale=", ".join(
            f"{label.split('(')[1][:-1]}: {rows_scale(ctx.seeded('L-G-DCNN', dataset)[0])}"
            for label, dataset in PEROVSKITE_RUNS.items()
        )
        + "; authors' conventions, validation plateau",
        runs=f"{len(shown)} seeds",
    )


def figure6c_claim(part: str) -> Any:
    """Figure 6c: SrTiO3 and BaTiO3 are the nearest pair (``part`` 'close') or CsPbI3 lies
    apart from the oxides ('apart'), in both spaces and for both L-G-DCNN models: on the
    seeded reruns where two seeds learned on both sets, else one run (inconclusive)."""

    def decide(ctx: Any) -> Any:
        def reading(data: dict[str, Any]) -> str:
            readings, _ = perovskite_readings(data["efms"], data["elements"])
            return perovskite_summary(readings, part)

        seeded = _seeded_perovskite_finding(ctx, part)
        if seeded is not None:
            return seeded
        data = interpret_data(ctx, "6c")
        labels = list(data["r2"].index) if data else []
        return _one_run_finding(data, labels, reading, ctx)

    return decide


def figure8_claim(part: str) -> Any:
    """Figure 8 on Si-O: ``part`` 'uncertainty', 'bias' or 'closer' (:func:`figure8_reading`)."""
    compared = {
        "uncertainty": ("L-G-DCNN", "LSTM", "DCNN-K1"),
        "bias": ("LSTM", "DCNN-K1"),
        "closer": SWEEP_MODELS,
    }[part]

    def decide(ctx: Any) -> Any:
        def reading(data: dict[str, Any]) -> str:
            holds, detail = figure8_reading(data["line"])[part]
            if holds is None:
                return detail
            return f"{_word(holds)} ({detail})"

        return _one_run_finding(interpret_data(ctx, "8"), compared, reading, ctx)

    return decide


def figure9_claim() -> Any:
    """Figure 9: Δ1 (L-G-DCNN − DCNN-K1) has the largest mean |Δ| of the three."""

    def decide(ctx: Any) -> Any:
        def reading(data: dict[str, Any]) -> str:
            mean = data["summary"]["mean |Δ|"]
            d1, d2, d3 = (float(v) for v in mean.iloc[:3])
            return (
                f"{_word(d1 > max(d2, d3))} (mean |Δ| {d1:.2f}, {d2:.2f}, {d3:.2f} GPa for "
                "Δ1, Δ2, Δ3)"
            )

        return _one_run_finding(interpret_data(ctx, "9"), CONTRIBUTION_MODELS, reading, ctx)

    return decide


def figure10_claim(part: str) -> Any:
    """Figures S3 and 10 from the stored UMAP maps: ``part`` 'lstm-rnn' (LSTM's neighbour
    spread below RNN's), 'separation' (L-G-DCNN's below LSTM's) or 'outliers'
    (:func:`fusion_fixes_outliers`, factor 3)."""
    compared = {
        "lstm-rnn": ("LSTM", "RNN"),
        "separation": ("L-G-DCNN", "LSTM"),
        "outliers": ("L-G-DCNN", "LSTM"),
    }[part]

    def decide(ctx: Any) -> Any:
        def reading(data: dict[str, Any]) -> str:
            maps = data["maps"]
            if part == "outliers":
                f = fusion_fixes_outliers(maps, before="LSTM", after="L-G-DCNN", factor=3.0)
                return (
                    f"{_word(f['holds'])} ({f['n_outliers']} compounds with an LSTM error above "
                    f"{f['cutoff']:.2f} eV; L-G-DCNN brings {f['fixed']} under it, mean error on "
                    f"them {f['mae_after_on_outliers']:.2f} vs {f['mae_before_on_outliers']:.2f})"
                )
            spread = neighbour_spreads(maps, list(UMAP_MODELS))
            a, b = compared
            return (
                f"{_word(spread[a] < spread[b])} (neighbour spread {a} {spread[a]:.3f}, {b} "
                f"{spread[b]:.3f}; shuffled values {spread.iloc[-1]:.3f})"
            )

        return _one_run_finding(interpret_data(ctx, "10"), compared, reading, ctx)

    return decide


def figure12_claim(min_pauling: float = 3.0) -> Any:
    """Figure 12: most of the top ten pairs involve a strongly electronegative element."""

    def decide(ctx: Any) -> Any:
        def reading(data: dict[str, Any]) -> str:
            r = electronegative_pairs(data["pairs"], "Si", min_pauling)
            return (
                f"{_word(r['holds'])} ({r['count']} of the top {r['top']} pairs involve an "
                f"element with Pauling electronegativity ≥ {min_pauling:g})"
            )

        return _one_run_finding(interpret_data(ctx, "12"), ("LSTM", "L-G-DCNN"), reading, ctx)

    return decide


#: Chapter 05's readings in the registry: key suffix -> (claim text, section, decider).
CLAIM_READINGS: dict[str, tuple[str, str, Any]] = {
    "fig6c-srtio3-batio3": (
        "SrTiO3 and BaTiO3 have similar EFMs: the nearest pair of the four perovskites (Figure 6c)",
        "The paper's reading of Figure 6c, in numbers",
        figure6c_claim("close"),
    ),
    "fig6c-cspbi3": (
        "The EFM of the halide CsPbI3 is considerably different from its oxide counterparts "
        "(Figure 6c)",
        "The paper's reading of Figure 6c, in numbers",
        figure6c_claim("apart"),
    ),
    "fig8-uncertainty": (
        "Fusion lowers the predicted uncertainty along Si_x O_(1-x) (Figure 8)",
        "Band gap along A_x O_(1-x) (Figure 8)",
        figure8_claim("uncertainty"),
    ),
    "fig8-bias": (
        "Along Si_x O_(1-x) LSTM predicts too low and DCNN-K1 too high (Figure 8)",
        "Band gap along A_x O_(1-x) (Figure 8)",
        figure8_claim("bias"),
    ),
    "fig8-closer": (
        "DCNN and L-G-DCNN come closer to the DFT band gaps of Si-O than the references (Figure 8)",
        "Band gap along A_x O_(1-x) (Figure 8)",
        figure8_claim("closer"),
    ),
    "fig9-delta1": (
        "DCNN-K1's element contributions differ most from L-G-DCNN's (Δ1 darkest, Figure 9)",
        "Element contributions on the periodic table (Figure 9)",
        figure9_claim(),
    ),
    "figS3-lstm-rnn": (
        "LSTM maps the chemical environments of Si compounds better than RNN (Figure S3)",
        "UMAP of the EFMs of Si compounds (Figures 10 and S3)",
        figure10_claim("lstm-rnn"),
    ),
    "fig10-separation": (
        "After fusion, Si compounds of different band gap are better separated (Figure 10)",
        "UMAP of the EFMs of Si compounds (Figures 10 and S3)",
        figure10_claim("separation"),
    ),
    "fig10-outliers": (
        "After fusion, the compounds LSTM predicts badly (circled) are predicted accurately "
        "(Figure 10)",
        "Figure 10's circled compounds",
        figure10_claim("outliers"),
    ),
    "fig12-electronegative": (
        "Most element pairs whose correlation fusion changes most involve strongly "
        "electronegative elements such as O, Cl and F (Figure 12)",
        "Element pairs that fusion changes most (Figure 12)",
        figure12_claim(),
    ),
}


# --- exercises -------------------------------------------------------------------------------


def _answer_min_pauling(profile: Profile, min_pauling: float = 2.5) -> str:
    from matfusion.verdicts import VerdictContext

    data = interpret_data(VerdictContext(profile), "12")
    if data is None:
        raise ValueError(
            "the stored Figure 12 analysis (LSTM -> L-G-DCNN, Si, 56 worst) is missing"
        )
    low = electronegative_pairs(data["pairs"], "Si", min_pauling)
    default = electronegative_pairs(data["pairs"], "Si", 3.0)
    return (
        f"With Pauling electronegativity ≥ {min_pauling:g} ({len(low['elements'])} elements: "
        f"{', '.join(low['elements'])}), {low['count']} of the top {low['top']} pairs involve "
        f"one besides Si; at the default 3.0 ({', '.join(default['elements'])}) "
        f"{default['count']} do. "
        + (
            "The count does not move with the cut-off here: the top pairs' partners lie either "
            "above 3.0 or below 2.5."
            if low["count"] == default["count"]
            else 'The reading depends on where "strongly electronegative" starts, which the '
            "paper does not say."
        )
    )


def _answer_zinc(profile: Profile) -> str:
    from matfusion import studies
    from matfusion.grid import grid_cells, stored_cell
    from matfusion.verdicts import VerdictContext

    ctx = VerdictContext(profile)
    record = stored_cell(grid_cells(["L-G-DCNN"], ["OQMD_Bandgap"])[0], profile=profile,
                         store=ctx.store)  # fmt: skip
    if record is None:
        raise ValueError("no stored L-G-DCNN run on OQMD_Bandgap")
    line = interpret_data(ctx, "8")
    if line is None:
        raise ValueError("the stored Si-O sweeps of Figure 8 are missing")
    rows = {"Si": line["line"].loc["L-G-DCNN"].to_dict()}
    params = {"a": "Zn", "b": "O", "n_points": 49}
    if not _analysis_stored("binary_sweep", {"L-G-DCNN": record}, params, ctx.store):
        raise ValueError("L-G-DCNN's Zn-O sweep is not stored")
    sweeps = studies.binary_sweeps({"L-G-DCNN": record}, "Zn", "O")
    points = studies.dataset_binary_points("OQMD_Bandgap", "Zn", "O")
    rows["Zn"] = sweep_rows(sweeps, points, "Zn-O")[0]
    parts = []
    for partner, row in rows.items():
        mae = f"MAE {row['MAE vs DFT']:.3f} eV" if row["DFT points"] else "no MAE"
        parts.append(
            f"{partner}-O: {int(row['DFT points'])} DFT points, {mae}, mean predicted "
            f"uncertainty {row['mean uncertainty']:.3f} eV"
        )
    return (
        "L-G-DCNN along the two oxide lines: "
        + "; ".join(parts)
        + ". The rerun draws all four models on Zn-O; the references' sweeps on Zn-O are not "
        "stored for the standard runs, so this answer compares L-G-DCNN alone (one run)."
    )


def _exercises() -> tuple[Any, ...]:
    from matfusion.chapters.exercises import Exercise

    return (
        Exercise(
            "Lower `min_pauling` to 2.5. How many of the top ten element pairs of Figure 12 "
            'now involve a "strongly electronegative" element, and what does that say about '
            "the paper's reading?",
            {"min_pauling": 2.5},
            _answer_min_pauling,
            look_at="Element pairs that fusion changes most (Figure 12)",
        ),
        Exercise(
            "Put Zn first in `oxide_partners` so that Figure 8 is drawn along Zn_x O_(1-x). "
            "Does L-G-DCNN follow the DFT values there as well as along Si-O?",
            {"oxide_partners": ["Zn", "Si", "Al", "Ti"]},
            _answer_zinc,
            look_at="Band gap along A_x O_(1-x) (Figure 8)",
        ),
    )


#: This chapter's exercises (see :mod:`matfusion.chapters.exercises`).
EXERCISES = _exercises()
