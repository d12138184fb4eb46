"""Figures shared by several chapters (so notebooks only call and show)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


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
    colours = iter(plt.cm.viridis(np.linspace(0, 0.9, len(cecv_table))))
    for model in cecv_table.index:
        colour, line, marker = styles.get(model, (next(colours), "-", "^"))
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
