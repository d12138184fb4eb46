"""Our runs beside the papers' numbers: comparison tables, win counts, pairwise counts.

A chapter that ranks models across datasets needs three rules stated and tested rather than
left to pandas' defaults:

* ties: ``idxmin`` gives a tied row to whichever model comes first in the columns, and a
  0.1 % difference between two MAEs is no evidence that one model is better. Here two MAEs
  whose difference is at most ``tie_rtol`` times the lower one are a tie, and a tied row's
  win is *shared* (counted apart from outright wins), never given to one of them;
* missing cells: a row with a missing MAE has no winner (it is left out, and the number of
  rows counted is part of the result);
* weak rows: where even the best model has a test R² near zero, every model predicts little
  more than a constant and the MAE ordering is noise. :func:`weak_rows` names such rows so a
  chapter can show its counts with and without them, never drop them silently.

All MAE tables are datasets (rows) x models (columns).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from matfusion.notebook import with_difference


def ours_vs_reported(
    ours: pd.DataFrame,
    reported: pd.DataFrame,
    *,
    labels: Mapping[str, str] | None = None,
    default_label: str = "reported",
    units: pd.Series | None = None,
) -> pd.DataFrame:
    """Per model, our value, the reported one and the difference (absolute and %), as
    columns ``(model, "ours" | label | "difference" | "difference %")``.

    ``reported`` uses our model names as columns (rename the paper's columns first); a
    reported column with no counterpart in ``ours`` (a model only the paper ran) is appended
    as ``(name, label)`` alone. ``labels`` names the reported numbers per model ("paper" for
    the paper's own models, "reported" for its numbers of peers); ``units``, indexed like the
    rows, becomes a first ``("unit", "")`` column so every row says what its numbers are in.
    """
    labels = dict(labels or {})
    index = ours.index
    parts: dict[tuple[str, str], pd.Series] = {}
    if units is not None:
        parts[("unit", "")] = units.reindex(index)
    for model in ours.columns:
        label = labels.get(model, default_label)
        theirs = (
            reported[model].reindex(index)
            if model in reported.columns
            else pd.Series(np.nan, index=index)
        )
        pair = with_difference(ours[model].astype(float), theirs.astype(float), paper_label=label)
        for column in pair.columns:
            parts[(model, column)] = pair[column]
    for model in reported.columns:
        if model not in ours.columns:
            parts[(model, labels.get(model, default_label))] = reported[model].reindex(index)
    table = pd.DataFrame(parts, index=index)
    table.columns = pd.MultiIndex.from_tuples(table.columns)
    return table


def row_winners(mae: pd.DataFrame, *, tie_rtol: float = 0.0) -> pd.Series:
    """Per row with every MAE present, the models (in column order) whose MAE is within
    ``tie_rtol`` of the row's lowest: one model is an outright win, several a shared one.
    Rows with a missing MAE are left out (a missing model cannot win or lose)."""
    if tie_rtol < 0:
        raise ValueError(f"tie_rtol must be >= 0, got {tie_rtol}")
    complete = mae.dropna().astype(float)
    if complete.empty:
        return pd.Series([], index=complete.index, dtype=object)
    best = complete.min(axis=1)
    within = complete.le(best * (1.0 + tie_rtol), axis=0)
    return pd.Series(
        [tuple(complete.columns[flags]) for flags in within.to_numpy()],
        index=complete.index,
        dtype=object,
    )


def win_counts(mae: pd.DataFrame, *, tie_rtol: float = 0.0) -> pd.DataFrame:
    """Per model (every column of ``mae``): ``outright`` (rows it alone wins), ``shared``
    (rows it wins tied with others, see :func:`row_winners`) and ``rows`` (complete rows
    counted, the same for every model)."""
    winners = row_winners(mae, tie_rtol=tie_rtol)
    outright = {m: 0 for m in mae.columns}
    shared = {m: 0 for m in mae.columns}
    for models in winners:
        for model in models:
            (outright if len(models) == 1 else shared)[model] += 1
    counts = pd.DataFrame({"outright": outright, "shared": shared}, index=list(mae.columns))
    counts["rows"] = len(winners)
    return counts.astype(int)


def format_wins(counts: pd.DataFrame) -> pd.Series:
    """``win_counts`` as one readable cell per model: "9", or "9 + 2 shared"."""
    return pd.Series(
        [
            f"{o}" if s == 0 else f"{o} + {s} shared"
            for o, s in zip(counts["outright"], counts["shared"], strict=True)
        ],
        index=counts.index,
        dtype=object,
    )


def weak_rows(r2: pd.DataFrame, *, min_r2: float) -> list[str]:
    """Rows where the best test R² of any model (NaN ignored) is below ``min_r2``: every
    model there predicts little more than a constant, so the row's MAE ordering is not
    informative. A row with no R² at all is not listed (nothing shows it is weak)."""
    best = r2.astype(float).max(axis=1, skipna=True)
    return [str(row) for row in best.index[best < min_r2]]


def models_below_floor(r2: pd.Series, *, min_r2: float) -> pd.Series:
    """The models (index of ``r2``, their test R²) that learned too little to be placed or
    ranked: test R² below ``min_r2``, i.e. little more than predicting the mean. A band drawn
    between two such reference models, or an ordering of their MAEs, means nothing."""
    r2 = r2.astype(float)
    return r2[r2 < min_r2]


def pairwise_counts(
    mae: pd.DataFrame,
    *,
    pairs: Sequence[tuple[str, str]] | None = None,
    tie_rtol: float = 0.0,
    reported: pd.DataFrame | None = None,
    ours_label: str = "ours",
    reported_label: str = "paper",
) -> pd.DataFrame:
    """For each pair (a, b), over the rows where both MAEs are present: how often a is
    lower, b is lower, or the two tie (within ``tie_rtol`` of the lower), and the median
    ratio a/b. Pairs default to every pair of columns in order.

    With ``reported`` (same model names), the same counts on the reported numbers over the
    same rows, restricted further to rows where the reported table has both, so that the
    two counts are always over identical rows.
    """
    if tie_rtol < 0:
        raise ValueError(f"tie_rtol must be >= 0, got {tie_rtol}")
    if pairs is None:
        cols = list(mae.columns)
        pairs = [(a, b) for i, a in enumerate(cols) for b in cols[i + 1 :]]

    def count(a: pd.Series, b: pd.Series, label: str) -> dict[str, float | int]:
        a, b = a.astype(float), b.astype(float)
        tie = (a - b).abs() <= tie_rtol * np.minimum(a, b)
        return {
            f"a better ({label})": int(((a < b) & ~tie).sum()),
            f"b better ({label})": int(((b < a) & ~tie).sum()),
            f"tie ({label})": int(tie.sum()),
            f"median a/b ({label})": float((a / b).median()) if len(a) else np.nan,
        }

    rows = []
    for a, b in pairs:
        both = mae[[a, b]].dropna()
        if reported is not None:
            theirs = reported.reindex(index=both.index, columns=[a, b]).dropna()
            both = both.loc[theirs.index]
        row: dict[str, object] = {"pair": f"a = {a} vs b = {b}", "rows": len(both)}
        row.update(count(both[a], both[b], ours_label))
        if reported is not None:
            row.update(count(theirs[a], theirs[b], reported_label))
        rows.append(row)
    return pd.DataFrame(rows).set_index("pair")


def metric_grid(
    table: pd.DataFrame, datasets: Sequence[str], models: Sequence[str], value: str
) -> pd.DataFrame:
    """``datasets`` x ``models`` of one metric column of a runs table (one row per run with
    ``dataset`` and ``model``), NaN where a cell has no run: the layout every MAE table and
    claim check reads."""
    if not len(table):
        return pd.DataFrame(index=list(datasets), columns=list(models), dtype=float)
    frame = table.pivot_table(index="dataset", columns="model", values=value)
    return frame.reindex(index=list(datasets), columns=list(models)).astype(float)
