"""Figures shared by several chapters (so notebooks only call and show)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: Okabe-Ito's colour-blind-safe qualitative palette (black left out: the reference curves
#: are black; its yellow last, the faintest on white), for figures that tell many models
#: apart by colour.
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#F0E442")
#: Markers cycled beside the colours, so that more models than colours stay distinct.
MARKERS = ("^", "v", "D", "P", "X", "*", "<", ">")


def model_styles(n: int) -> list[tuple[str, str]]:
    """``n`` (colour, marker) pairs, the colours of :data:`OKABE_ITO` and the markers of
    :data:`MARKERS` each in turn: 7 colours and 8 markers make 56 distinct pairs."""
    return [(OKABE_ITO[i % len(OKABE_ITO)], MARKERS[i % len(MARKERS)]) for i in range(n)]


def plot_cecv(
    cecv_table: pd.DataFrame,
    *,
    references: tuple[str, str] = ("LSTM", "DCNN-K1"),
    design_path: Sequence[str] = (),
    reported: dict[str, Sequence[float]] | None = None,
    title: str = "",
    ylabel: str = "CECV",
    ax=None,
):
    """CECV curves (rows: models, columns: thresholds) like the paper's Figures 3 and 11:
    the band between the two reference models shaded, arrows along ``design_path`` at the
    second threshold, and any ``reported`` curves (label -> values) dotted."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 5))
    t = np.asarray([float(c) for c in cecv_table.columns])
    if set(references) <= set(cecv_table.index):
        a, b = (cecv_table.loc[r].to_numpy(dtype=float) for r in references)
        ax.fill_between(
            t,
            np.minimum(a, b),
            np.maximum(a, b),
            color="0.85",
            label="region between the references",
        )
    styles = {references[0]: ("k", "-", "o"), references[1]: ("k", "--", "s")}
    others = iter(model_styles(len(cecv_table)))  # distinct and colour-blind safe
    for model in cecv_table.index:
        if model in styles:
            colour, line, marker = styles[model]
        else:
            (colour, marker), line = next(others), "-"
        ax.plot(t, cecv_table.loc[model], line, marker=marker, color=colour, label=model)
    steps = [m for m in design_path if m in cecv_table.index]
    for k, (a, b) in enumerate(zip(steps, steps[1:], strict=False)):
        ax.annotate(
            "",
            xy=(t[1] + 0.004 * (k + 1), cecv_table.loc[b].iloc[1]),
            xytext=(t[1] + 0.004 * k, cecv_table.loc[a].iloc[1]),
            arrowprops={"arrowstyle": "->", "color": "C3", "lw": 1.2},
        )
    for label, values in (reported or {}).items():
        ax.plot(t, values, ":", color="0.4", label=label)
    ax.set_xlabel("threshold t")
    ax.set_ylabel(ylabel)
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend(fontsize=8, ncol=2)
    return ax


def plot_parity(
    target: Sequence[float],
    prediction: Sequence[float],
    uncertainty: Sequence[float],
    *,
    unit: str = "",
    title: str = "",
):
    """Parity plot coloured by predicted uncertainty, with the marginal distributions of the
    test values and the predictions on the side axes (paper A, Figure 6a,b)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    y, p, u = (np.asarray(v, dtype=float) for v in (target, prediction, uncertainty))
    grid = sns.JointGrid(height=5)
    order = np.argsort(u)  # most uncertain on top
    points = grid.ax_joint.scatter(
        y[order], p[order], c=u[order], s=6, cmap="viridis", alpha=0.8, linewidths=0
    )
    lo, hi = float(min(y.min(), p.min())), float(max(y.max(), p.max()))
    grid.ax_joint.plot([lo, hi], [lo, hi], "k--", lw=1)
    sns.histplot(x=y, ax=grid.ax_marg_x, bins=40, color="C0")
    sns.histplot(y=p, ax=grid.ax_marg_y, bins=40, color="C1")
    rmse = float(np.sqrt(np.mean((y - p) ** 2)))
    r2 = float(1 - np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2))
    grid.ax_joint.text(
        0.04, 0.96, f"RMSE {rmse:.3f}\n$R^2$ {r2:.3f}", transform=grid.ax_joint.transAxes,
        va="top", fontsize=9, bbox={"facecolor": "white", "alpha": 0.8, "lw": 0},
    )  # fmt: skip
    suffix = f" ({unit})" if unit else ""
    grid.set_axis_labels(f"DFT{suffix}", f"predicted{suffix}")
    colorbar = plt.colorbar(points, ax=grid.ax_marg_y, pad=0.15, fraction=0.5)
    colorbar.set_label(f"predicted uncertainty{suffix}")
    grid.figure.suptitle(title, y=1.02)
    return grid


def plot_efm_heatmaps(efms: dict[str, dict[str, np.ndarray]], elements: dict[str, list[str]]):
    """EFM heat maps: rows = models, columns = compounds; each panel n_elements x D."""
    import matplotlib.pyplot as plt

    models = list(efms)
    compounds = list(next(iter(efms.values())))
    fig, axes = plt.subplots(
        len(models), len(compounds), figsize=(3.2 * len(compounds), 1.3 * len(models) + 0.6),
        squeeze=False, constrained_layout=True,
    )  # fmt: skip
    for i, model in enumerate(models):
        for j, compound in enumerate(compounds):
            ax = axes[i, j]
            matrix = np.asarray(efms[model][compound], dtype=float)
            limit = float(np.abs(matrix).max()) or 1.0
            image = ax.imshow(
                matrix, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit,
                interpolation="nearest",
            )  # fmt: skip
            ax.set_yticks(range(len(elements[compound])), elements[compound])
            ax.set_xticks([])
            ax.grid(False)
            if i == 0:
                ax.set_title(compound)
            if j == 0:
                ax.set_ylabel(model, fontsize=8)
        fig.colorbar(image, ax=axes[i, :], shrink=0.8, pad=0.01)
    return fig


def plot_binary_sweeps(
    sweeps: dict[str, pd.DataFrame],
    points: pd.DataFrame | None = None,
    *,
    a: str,
    b: str,
    unit: str = "",
):
    """Prediction ± uncertainty along A_x B_(1-x), one panel per model, with the dataset's
    DFT values of that binary system as dots (paper A, Figure 8)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        1, len(sweeps), figsize=(3.2 * len(sweeps), 3.2), sharey=True, squeeze=False
    )
    for ax, (label, sweep) in zip(axes[0], sweeps.items(), strict=True):
        ax.fill_between(
            sweep["x"],
            sweep["prediction"] - sweep["uncertainty"],
            sweep["prediction"] + sweep["uncertainty"],
            alpha=0.25,
            label="± predicted uncertainty",
        )
        ax.plot(sweep["x"], sweep["prediction"], lw=1.5, label="prediction")
        if points is not None and len(points):
            ax.plot(points["x"], points["target"], "k.", ms=5, label="DFT (dataset)")
        ax.set_title(label)
        ax.set_xlabel(f"x in {a}$_x${b}$_{{1-x}}$")
    axes[0, 0].set_ylabel(f"prediction ({unit})" if unit else "prediction")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def _ptable_position(symbol: str) -> tuple[int, int]:
    """(row, column) of an element in the usual 18-column layout, f-block below."""
    from pymatgen.core import Element

    el = Element(symbol)
    if el.is_lanthanoid and el.Z != 71:
        return 8, el.Z - 57 + 2
    if el.is_actinoid and el.Z != 103:
        return 9, el.Z - 89 + 2
    return el.row - 1, el.group - 1


def plot_periodic_table(
    values: pd.Series,
    *,
    title: str = "",
    cmap: str = "Reds",
    label: str = "",
    value_range: tuple[float, float] | None = None,
    ax=None,
):
    """Periodic-table heat map of one value per element (grey: no value).

    Drawn with matplotlib: pymatviz (0.18) draws periodic tables with plotly only, which a
    static, offline book cannot turn into an image without an extra browser engine.
    ``value_range`` fixes the colour scale (to compare several tables by shade).
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import Normalize
    from pymatgen.core import Element

    if ax is None:
        _, ax = plt.subplots(figsize=(9, 4.6))
    finite = values[np.isfinite(values.to_numpy(dtype=float))]
    if value_range is None:
        value_range = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    norm = Normalize(*value_range)
    colours = plt.get_cmap(cmap)
    for z in range(1, 104):
        symbol = Element.from_Z(z).symbol
        row, col = _ptable_position(symbol)
        value = values.get(symbol, np.nan)
        face = colours(norm(value)) if np.isfinite(value) else (0.93, 0.93, 0.93, 1.0)
        ax.add_patch(plt.Rectangle((col, -row), 0.95, 0.95, facecolor=face, edgecolor="white"))
        dark = np.isfinite(value) and norm(value) > 0.6
        ax.text(col + 0.47, -row + 0.45, symbol, ha="center", va="center", fontsize=6.5,
                color="white" if dark else "black")  # fmt: skip
    ax.set_xlim(-0.2, 18.2)
    ax.set_ylim(-9.2, 1.2)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title)
    mappable = plt.cm.ScalarMappable(norm=norm, cmap=colours)
    plt.colorbar(mappable, ax=ax, shrink=0.6, label=label)
    return ax


def plot_embedding_panels(
    coords: dict[str, np.ndarray], colours: dict[str, np.ndarray], *, label: str = ""
):
    """Scatter panels of 2-D embeddings (e.g. UMAP of EFMs), one per (map, colouring) pair,
    all on one colour scale (paper A, Figures 10 and S3)."""
    import matplotlib.pyplot as plt

    values = np.concatenate([np.asarray(v, dtype=float) for v in colours.values()])
    vmin, vmax = np.nanpercentile(values, [1, 99])
    keys = list(colours)
    fig, axes = plt.subplots(1, len(keys), figsize=(3.4 * len(keys), 3.4), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        xy = np.asarray(coords[key.split(" | ")[0]], dtype=float)
        c = np.asarray(colours[key], dtype=float)
        order = np.argsort(c)  # high values drawn last, so rare large ones stay visible
        points = ax.scatter(
            xy[order, 0], xy[order, 1], c=c[order], s=4, cmap="viridis", vmin=vmin, vmax=vmax
        )
        ax.set_title(key, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(points, ax=axes[0, :].tolist(), shrink=0.8, label=label)
    return fig


def plot_correlation_matrix(corr: pd.DataFrame, *, title: str = "", ax=None):
    """An element-by-element correlation matrix, elements in the frame's order."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 6))
    image = ax.imshow(corr.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
    ax.grid(False)
    step = max(1, len(corr) // 30)
    ticks = np.arange(0, len(corr), step)
    ax.set_xticks(ticks, [corr.index[i] for i in ticks], rotation=90, fontsize=6)
    ax.set_yticks(ticks, [corr.index[i] for i in ticks], fontsize=6)
    ax.set_title(title)
    plt.colorbar(image, ax=ax, shrink=0.8, label="Pearson r")
    return ax
