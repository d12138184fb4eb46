# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The 18 extended benchmarks, with CrabNet, Roost and a random forest run here (Figure 4)
#
# Paper A's Figure 4 compares L-G-DCNN and L-G-DCNN-V1 with Finder, Roost, CrabNet and a
# random forest on 18 composition datasets (AFLOW, Bartel et al.'s "critical examination",
# Materials Project, OQMD), and reads from it that L-G-DCNN "outperforms most benchmark
# tasks", with V1 better on the larger sets. This chapter reruns the comparison with three of
# the four peers **run here, on the same train/validation/test split** as our models:
#
# * **CrabNet**: the `crabnet==2.0.8` package itself, driven through its `fit`/`predict` API
#   (`matfusion.baselines.crabnet`); its own optimiser (Lamb + Lookahead), cyclic learning
#   rate and stochastic weight averaging; mat2vec element embeddings as L-G-DCNN.
# * **Roost**: the `aviary-models==1.2.1` package's Roost (message passing over the weighted
#   graph of a formula's elements, matscholar200 embeddings), its robust L1 loss and training
#   step, driven by `matfusion.baselines.roost` with the epoch budget of our models.
# * **RF-Magpie**: scikit-learn's random forest on matminer's 132 Magpie features
#   (`matfusion.baselines.rf_magpie`).
#
# Finder is **not** run here: it appears only with the paper's numbers.
#
# **Labels.** Every number of ours is printed beside Figure 4's with the difference. Figure
# 4's numbers for the paper's own models (L-G-DCNN, L-G-DCNN-V1) are labelled *paper*; its
# numbers for the peers (Finder, Roost, CrabNet, RF) are labelled *reported*: they are what
# the paper reports for models it did not design, not runs of ours. Tables that count wins
# on Figure 4's numbers say *Figure 4*.

# %% tags=["parameters"]
profile = "standard"
datasets = None  # None: all 18 sets (smoke: three small ones)
models = None  # None: L-G-DCNN, L-G-DCNN-V1, CrabNet, Roost, RF-Magpie
train_missing = None  # None: train missing cells only under smoke; standard/paper read the store
seed = None
tie_rtol = 0.01  # MAEs within this fraction of the lower one are a tie (a shared win)
min_r2 = 0.1  # a row whose best test R² is below this is "not informative" (counted both ways)
weak_r2 = 0.3  # rows kept by min_r2 whose best R² is still below this are named as weak
progress = True

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from matfusion.analysis.compare import (
    format_wins,
    ours_vs_reported,
    pairwise_counts,
    row_winners,
    weak_rows,
    win_counts,
)
from matfusion.chapters.cells import EXTENDED_MODELS
from matfusion.data import dataset_summary
from matfusion.experiments import results_table
from matfusion.grid import grid_cells
from matfusion.notebook import (
    profile_banner,
    setup_plots,
    show_markdown,
    stored_runs,
)
from matfusion.paper import reported
from matfusion.profiles import get_profile

prof = get_profile(profile)
setup_plots()
FIGURE_MODELS = list(EXTENDED_MODELS)  # L-G-DCNN, L-G-DCNN-V1, CrabNet, Roost, RF-Magpie
PAPER_COLUMN = {m: m for m in ("L-G-DCNN", "L-G-DCNN-V1", "CrabNet", "Roost")}
PAPER_COLUMN["RF-Magpie"] = "RF"
# Figure 4's numbers for the paper's own models are "paper"; for peers, "reported".
LABEL = {"L-G-DCNN": "paper", "L-G-DCNN-V1": "paper"}
SMOKE_SETS = ["aflow__ael_bulk_modulus_vrh", "mp_shear_modulus", "aflow__ael_debye_temperature"]
paper = reported("extended_benchmarks_mae").set_index("dataset")
# Figure 4 prints 0.031 for Finder on OQMD volume per atom; every other model is near 0.3,
# so it is very likely 0.31. The CSV keeps the printed value; the win counts show both.
TYPO_ROW, TYPO_PRINTED, TYPO_LIKELY = "OQMD_Volume_per_atom", 0.031, 0.31
assert paper.loc[TYPO_ROW, "Finder"] == TYPO_PRINTED, "the Finder volume typo moved: revisit"
models = list(models or FIGURE_MODELS)
# Figure 4's models we do not run (or that this page was asked to leave out): reported only.
REPORTED_ONLY = [c for c in ("Finder", "Roost") if c not in {PAPER_COLUMN[m] for m in models}]
if datasets is None:
    datasets = SMOKE_SETS if prof.name == "smoke" else list(paper.index)
datasets = list(datasets)
if train_missing is None:
    train_missing = prof.name == "smoke"
show_markdown(
    profile_banner(
        prof,
        {
            "Datasets": f"{len(datasets)} of the 18 extended sets",
            "Missing cells": "trained now" if train_missing else "read from the store only",
            "Ties": f"MAEs within {tie_rtol:.0%} of the lower one (`tie_rtol`)",
            "R² guard": f"rows whose best test R² is below {min_r2:g} (`min_r2`) are counted "
            "both with and without",
        },
    )
)

# %% [markdown]
# ## Runs
#
# Each (model, dataset) cell is one record in the results store, produced by
# `matfusion grid --models L-G-DCNN,L-G-DCNN-V1,CrabNet,Roost,RF-Magpie --datasets ...
# --profile standard`. Under `standard` this page only reads the store (training all 90 cells
# takes many CPU hours), so a cell nobody has run yet is shown as missing, never dropped.
# Every cell is **one training run with one seed**: no error bars.

# %%
cells = [c for d in datasets for c in grid_cells(models, [d], seeds=[seed])]
records, missing = stored_runs(cells, prof, train_missing=train_missing, progress=progress)
table = results_table(records) if records else pd.DataFrame(columns=["model", "dataset"])
if len(table):
    table["full n_train"] = [r["full_sizes"]["train"] for r in records]
    table["subsampled"] = table["n_train"] < table["full n_train"]
    table["threads"] = [(r.get("train_settings") or {}).get("num_threads") for r in records]
shown_cols = ["dataset", "model", "n_train", "full n_train", "epochs_run", "test_mae"]
shown_cols += ["test_r2", "wall_time_s", "source"]
(
    table.reindex(columns=shown_cols).style.format(
        {"test_mae": "{:.4g}", "test_r2": "{:.3f}", "wall_time_s": "{:.0f}"}
    )
    if len(table)
    else table
)

# %% [markdown]
# ### What each model was given
#
# The same rows, and the same epoch budget where there are epochs: our models train with the
# profile's recipe (AdamW, one-cycle learning rate, early stopping on the validation MAE);
# CrabNet with its own recipe, its epochs cut into whole learning-rate cycles with a
# stochastic weight average at the end of each; Roost with aviary's defaults (AdamW at a
# constant 3e-4, batch 128, robust L1 loss), keeping the epoch with the lowest validation MAE;
# the forest has no epochs.

# %% tags=["hide-input"]
settings_rows = []
for rec in records:
    cfg, ts = rec["config"], rec.get("train_settings") or {}
    settings_rows.append(
        {
            "model": cfg["model"],
            "recipe": ts.get("recipe") or ts.get("peer"),
            "epochs (max)": ts.get("epochs"),
            "epochs run": rec.get("epochs_run"),
            "batch size": ts.get("batch_size"),
            "trees": ts.get("n_estimators"),
            "threads": ts.get("num_threads"),
            "seed": cfg["seed"],
        }
    )
(
    pd.DataFrame(settings_rows)
    .groupby("model", sort=False)
    .agg(
        lambda v: (
            ", ".join(sorted({f"{x:g}" if isinstance(x, float) else str(x) for x in v.dropna()}))
            or "–"
        )
    )
    if settings_rows
    else pd.DataFrame()
)

# %% [markdown]
# ## Which rows are subsampled

# %% tags=["remove-input"]
summary_all = dataset_summary().set_index("name").loc[datasets]
cap = prof.max_train_rows
if cap:
    larger = summary_all.index[summary_all["n_train"] > cap]
    largest = int(summary_all["n_train"].max())
    largest_sets = list(summary_all.index[summary_all["n_train"] == largest])
    if len(larger) == len(summary_all):
        which = (
            f"Every one of the {len(summary_all)} sets shown here is larger than that, so "
            "**every row of this page is a subsample**"
        )
    elif len(larger) == 0:
        which = f"None of the {len(summary_all)} sets shown here is larger than that"
    else:
        which = (
            f"{len(larger)} of the {len(summary_all)} sets shown here are larger than that "
            f"and are subsampled ({', '.join(larger)}); the others are used in full"
        )
    subsample_text = (
        f"{which}. The table below gives the share kept"
        + (
            f" (the least: {', '.join(largest_sets)}, {largest:,} training rows, "
            f"{100 * min(cap, largest) / largest:.1f}% kept)"
            if len(larger)
            else ""
        )
        + ". The paper trained on the full splits: expect our MAEs to be higher, most where "
        "the share kept is smallest."
    )
else:
    subsample_text = "These are the full splits, as in the paper."
show_markdown(
    f"Under `{prof.name}` every training split is cut to at most "
    f"{f'{cap:,}' if cap else 'all'} rows and validation/test splits to "
    f"{f'{prof.max_eval_rows:,}' if prof.max_eval_rows else 'all'} (seeded, the same rows for "
    f"every model). {subsample_text}"
)

# %% tags=["hide-input"]
summary = summary_all[["unit", "n_train", "n_val", "n_test"]].rename(
    columns=lambda c: c if c == "unit" else f"full {c}"
)
if len(table):
    used = table.groupby("dataset")[["n_train"]].max().rename(columns={"n_train": "n_train used"})
    summary = summary.join(used)
    summary["kept %"] = (100 * summary["n_train used"] / summary["full n_train"]).round(1)
summary

# %% [markdown]
# ## Figure 4 as a table: our test MAE beside Figure 4's, the difference
#
# For each model, *ours* is the test MAE of our run, *paper* (L-G-DCNN, V1) or *reported*
# (the peers) the value printed in Figure 4, *difference %* = 100 (ours − Figure 4) /
# Figure 4. MAEs are in each row's unit (first column). Finder is Figure 4's numbers only.
# The paper prints 0.031 for Finder on OQMD volume per atom, ten times below every other
# model (about 0.3): very likely a typo for 0.31; it is shown as printed, highlighted.

# %%
mae = (
    table.pivot_table(index="dataset", columns="model", values="test_mae")
    if len(table)
    else pd.DataFrame()
).reindex(index=datasets, columns=models)
r2 = (
    table.pivot_table(index="dataset", columns="model", values="test_r2")
    if len(table)
    else pd.DataFrame()
).reindex(index=datasets, columns=models)
# Figure 4's numbers under our model names (plus the models only the paper ran).
fig4 = paper.loc[datasets, [PAPER_COLUMN[m] for m in models] + REPORTED_ONLY].rename(
    columns={PAPER_COLUMN[m]: m for m in models}
)
units = dataset_summary().set_index("name")["unit"]
figure4 = ours_vs_reported(mae, fig4, labels=LABEL, units=units).drop(columns="difference", level=1)
figure4.index = [paper.loc[d, "paper_label"] for d in datasets]
numbers = [c for c in figure4.columns if c[0] != "unit"]
styled = figure4.style.format("{:.4g}", subset=numbers, na_rep="missing").format(
    "{:+.1f}", subset=[c for c in numbers if c[1] == "difference %"], na_rep="missing"
)
typo_cell = (paper.loc[TYPO_ROW, "paper_label"], ("Finder", "reported"))
if typo_cell[0] in figure4.index and typo_cell[1] in figure4.columns:
    # The printed 0.031 (very likely 0.31): highlighted so it is not read as a real value.
    styled = styled.map(
        lambda _: "background-color: #fde2a0; font-style: italic",
        subset=pd.IndexSlice[[typo_cell[0]], [typo_cell[1]]],
    )
styled

# %% [markdown]
# ## Heat maps: relative MAE per row
#
# Colour is each MAE divided by the row's best (1 = best in the row), as in the paper's
# Figure 4; the annotation is the MAE. Left: our runs (grey = not stored; a row with only one
# stored model is left uncoloured, its MAE printed on grey). Right: Figure 4's numbers for
# the same models plus Finder (the OQMD volume row is coloured by Finder's printed 0.031,
# very likely a typo for 0.31).

# %% tags=["hide-input"]
labels = [paper.loc[d, "paper_label"] for d in datasets]
# A row with a single stored model would be "best" trivially: colour only rows with two or more.
ours_rel = mae.div(mae.min(axis=1), axis=0).where(mae.notna().sum(axis=1) >= 2)
fig4_rel = fig4.div(fig4.min(axis=1), axis=0)
finite_rel = ours_rel.to_numpy(dtype=float)
finite_rel = finite_rel[np.isfinite(finite_rel)]
vmax = float(max(1.5, min(3.0, finite_rel.max()))) if finite_rel.size else 1.5
fig, axes = plt.subplots(
    1, 2, figsize=(15, 0.45 * len(datasets) + 2.2), gridspec_kw={"width_ratios": [4, 6]}
)
for ax, rel, values, title in (
    (axes[0], ours_rel, mae, f"ours ({prof.name} profile)"),
    (axes[1], fig4_rel, fig4, "Figure 4 (paper's models; peers as reported)"),
):
    ax.set_facecolor("0.85")
    sns.heatmap(
        rel.astype(float),
        annot=values.astype(float),
        fmt=".3g",
        cmap="RdYlBu_r",
        vmin=1,
        vmax=vmax,
        mask=rel.isna(),
        cbar=ax is axes[1],
        cbar_kws={"label": "MAE / best MAE in row"},
        yticklabels=labels if ax is axes[0] else False,
        annot_kws={"fontsize": 7},
        ax=ax,
    )
    ax.set_title(title)
    ax.set_xlabel("")
    ax.set_ylabel("")
for (i, j), value in np.ndenumerate(mae.to_numpy(dtype=float)):
    if np.isfinite(value) and not np.isfinite(ours_rel.iat[i, j]):
        axes[0].text(j + 0.5, i + 0.5, f"{value:.3g}", ha="center", va="center", fontsize=7)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Who wins each row
#
# Counted over the rows where all our models have a stored result (a row with a missing
# cell has no winner), among the same models on Figure 4's numbers for the same rows, and
# then among all six models of Figure 4 on its 18 rows. Two rules, the same for our numbers
# and Figure 4's (`matfusion.analysis.compare`):
#
# * **Ties are shared.** Two MAEs within `tie_rtol` of the lower one are a tie; every model
#   within it of a row's best shares that row's win. A cell reads "outright + shared", e.g.
#   "9 + 2 shared": 9 rows won alone, 2 tied for the best. No tie is broken by column order.
# * **R² guard.** A row whose best test R² (ours, over the models compared) is below `min_r2`
#   is *not informative*: every model there predicts little more than a constant, so its MAE
#   order is noise. Such rows are listed, and the counts are shown with and without them.
#
# The paper's Finder number on OQMD volume per atom (printed 0.031, very likely 0.31) decides
# that row among all six models, so that count is given both ways.

# %%
complete = mae.dropna()
uninformative = weak_rows(r2.loc[complete.index], min_r2=min_r2) if len(complete) else []
informative = complete.drop(index=uninformative)
fig4_six = paper[[PAPER_COLUMN[m] for m in FIGURE_MODELS] + ["Finder"]].rename(
    columns={PAPER_COLUMN[m]: m for m in FIGURE_MODELS}
)
fig4_six_corrected = fig4_six.copy()
fig4_six_corrected.loc[TYPO_ROW, "Finder"] = TYPO_LIKELY
win_columns = {
    f"ours, {len(complete)} complete rows": win_counts(complete, tie_rtol=tie_rtol),
    f"Figure 4, same {len(complete)} rows, same {len(models)} models": win_counts(
        fig4.loc[complete.index, models], tie_rtol=tie_rtol
    ),
    f"ours, without the {len(uninformative)} not informative": win_counts(
        informative, tie_rtol=tie_rtol
    ),
    f"Figure 4, same {len(informative)} rows": win_counts(
        fig4.loc[informative.index, models], tie_rtol=tie_rtol
    ),
    f"Figure 4, 18 rows, 6 models, Finder's volume as printed ({TYPO_PRINTED})": win_counts(
        fig4_six, tie_rtol=tie_rtol
    ),
    f"Figure 4, 18 rows, 6 models, Finder's volume {TYPO_LIKELY}": win_counts(
        fig4_six_corrected, tie_rtol=tie_rtol
    ),
}
order = models + [m for m in FIGURE_MODELS + ["Finder"] if m not in models]
wins = pd.DataFrame(
    {
        name: format_wins(counts.reindex(order).fillna(0).astype(int))
        for name, counts in win_columns.items()
    }
)
# Models not among a count's columns (Finder in our counts) did not take part: a dash.
for name, counts in win_columns.items():
    wins.loc[~wins.index.isin(counts.index), name] = "–"
wins

# %% tags=["remove-input"]
best_r2 = r2.loc[complete.index].max(axis=1)
weak_kept = [d for d in informative.index if best_r2[d] < weak_r2]
guard_note = (
    f"Not informative (best test R² below {min_r2:g}): "
    + (
        ", ".join(f"{paper.loc[d, 'paper_label']} ({best_r2[d]:.3f})" for d in uninformative)
        if uninformative
        else "none"
    )
    + "."
    + (
        f" Kept and counted, but weak (best R² below {weak_r2:g}): "
        + ", ".join(
            f"{paper.loc[d, 'paper_label']} ({best_r2[d]:.3f}; best MAE: "
            f"{' = '.join(row_winners(complete.loc[[d]], tie_rtol=tie_rtol).iloc[0])})"
            for d in weak_kept
        )
        + "."
        if weak_kept
        else ""
    )
)
typo_winners = {
    "printed": row_winners(fig4_six.loc[[TYPO_ROW]], tie_rtol=tie_rtol).iloc[0],
    "likely": row_winners(fig4_six_corrected.loc[[TYPO_ROW]], tie_rtol=tie_rtol).iloc[0],
}
typo_note = (
    f"Finder's OQMD volume per atom: with the printed {TYPO_PRINTED} the row goes to "
    f"{' = '.join(typo_winners['printed'])}; with {TYPO_LIKELY} to "
    f"{' = '.join(typo_winners['likely'])}."
)
show_markdown(f"{guard_note}\n\n{typo_note}")

# %% [markdown]
# Pairwise, so that a row with some cells missing still counts: for each pair of models, the
# rows where both are stored, on how many of them a or b has the lower test MAE and on how
# many the two tie (within `tie_rtol`); Figure 4's counts are over the same rows.

# %%
pairwise = pairwise_counts(mae, tie_rtol=tie_rtol, reported=fig4[models], reported_label="Figure 4")
pairwise.style.format("{:.3f}", subset=[c for c in pairwise.columns if c.startswith("median")])

# %% tags=["hide-input"]
winners_ours = row_winners(complete, tie_rtol=tie_rtol)
winners_fig4 = row_winners(fig4.loc[complete.index, models], tie_rtol=tie_rtol)
per_row = pd.DataFrame(
    {
        "our winner(s)": winners_ours.map(" = ".join),
        f"Figure 4 winner(s) ({len(models)} models)": winners_fig4.map(" = ".join),
        "best test R² (ours)": best_r2,
        "informative": ["no" if d in uninformative else "yes" for d in complete.index],
    },
    index=complete.index,
)
if len(complete) and {"L-G-DCNN", "CrabNet"} <= set(models):
    per_row["L-G-DCNN / CrabNet (ours)"] = complete["L-G-DCNN"] / complete["CrabNet"]
    per_row["L-G-DCNN / CrabNet (Figure 4)"] = (
        fig4.loc[complete.index, "L-G-DCNN"] / fig4.loc[complete.index, "CrabNet"]
    )
per_row.index = [paper.loc[d, "paper_label"] for d in per_row.index]
per_row.style.format("{:.3f}", subset=[c for c in per_row.columns if per_row[c].dtype == float])


# %% tags=["remove-input"]
def pair_sentence(a: str, b: str, rows: pd.DataFrame) -> str:
    """'a lower on x, b on y, tie on z of n (Figure 4: ...)' for one pair over ``rows``."""
    if not {a, b} <= set(models) or rows.empty:
        return ""
    row = pairwise_counts(
        rows, pairs=[(a, b)], tie_rtol=tie_rtol, reported=fig4[models], reported_label="Figure 4"
    ).iloc[0]
    n = {k: int(v) for k, v in row.items() if not str(k).startswith("median")}
    return (
        f"{a} vs {b}: {a} lower on {n['a better (ours)']}, {b} on {n['b better (ours)']}, "
        f"tie on {n['tie (ours)']} of {n['rows']} rows (Figure 4 on the same rows: "
        f"{n['a better (Figure 4)']}, {n['b better (Figure 4)']}, {n['tie (Figure 4)']})"
    )


def rows_text(n: int, noun: str) -> str:
    """'1 complete row', '18 complete rows'."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def wins_sentence(rows: pd.DataFrame) -> str:
    """Each model's wins on ``rows``, ours beside Figure 4's on the same rows and models."""
    ours_n = format_wins(win_counts(rows, tie_rtol=tie_rtol))
    theirs_n = format_wins(win_counts(fig4.loc[rows.index, models], tie_rtol=tie_rtol))
    return "; ".join(f"{m} {ours_n[m]} (Figure 4: {theirs_n[m]})" for m in models)


if prof.name == "smoke":
    verdict = (
        "These are smoke-sized runs (a few hundred rows, two epochs, width 64): the orderings "
        "are noise and are shown only to exercise the code."
    )
elif len(complete) == 0:
    verdict = "No row has all the models stored yet; nothing to count."
else:
    strict = win_counts(fig4.loc[complete.index, models], tie_rtol=0.0)
    strict_ours = win_counts(complete, tie_rtol=0.0)
    parts = [
        f"Best of the {len(models)} models on {rows_text(len(complete), 'complete row')} (one seed per "
        f"cell; ties within {tie_rtol:.0%} shared): {wins_sentence(complete)}."
    ]
    if "L-G-DCNN" in models:
        parts.append(
            f"With ties broken by the strictly lower printed MAE, Figure 4 gives L-G-DCNN "
            f"{strict.loc['L-G-DCNN', 'outright']} of these {len(complete)} rows among the "
            f"same {len(models)} models (our runs, so counted: "
            f"{strict_ours.loc['L-G-DCNN', 'outright']})."
        )
    if uninformative:
        parts.append(
            f"Without the {rows_text(len(uninformative), 'row')} where no model of ours reaches a test R² "
            f"of {min_r2:g} ({', '.join(uninformative)}): "
            + (wins_sentence(informative) if len(informative) else "nothing left to count")
            + "."
        )
    pair_texts = [
        t
        for t in (
            pair_sentence("L-G-DCNN", "L-G-DCNN-V1", mae),
            pair_sentence("L-G-DCNN", "CrabNet", mae),
        )
        if t
    ]
    if pair_texts:
        parts.append("Pairwise, " + "; ".join(pair_texts) + ".")
    if "RF-Magpie" in models:
        rf_last = int((complete.idxmax(axis=1) == "RF-Magpie").sum())
        parts.append(f"The random forest has the highest MAE on {rf_last} of the {len(complete)}.")
    parts.append(
        "All our runs use subsampled splits, a short epoch budget and one seed per cell (see "
        "above), so these counts test the paper's reading at small data, not its full-data "
        "numbers; a single-seed difference of a few percent may not survive a second seed."
    )
    verdict = " ".join(parts)
show_markdown("**What our runs say.** " + verdict)

# %% [markdown]
# ## Cost on this machine
#
# Training wall time and training throughput of each stored run (the machine was shared with
# other jobs, so treat these as rough). CrabNet's throughput includes its own validation
# check-ins; the equal-batch comparison is in `benchmarks/peer_throughput.py` and its JSON in
# `benchmarks/results/`.

# %% tags=["remove-input"]
if len(table):
    threads = table["threads"]
    counts = threads.dropna().astype(int).value_counts()
    if counts.empty:
        thread_text = "The records do not say how many threads the runs used."
    elif len(counts) == 1:
        n = int(counts.index[0])
        thread_text = (
            f"Every run used {n} thread{'s' if n > 1 else ''} (torch threads; the forest's n_jobs)."
        )
    else:
        usual = int(counts.index[0])
        others = table.loc[threads.notna() & (threads != usual)]
        listed = (
            ", ".join(f"{r.model} on {r.dataset} ({int(r.threads)})" for r in others.itertuples())
            if len(others) <= 6
            else ", ".join(f"{int(counts[v])} runs with {v}" for v in counts.index[1:])
        )
        thread_text = (
            f"{int(counts[usual])} of {len(table)} runs used {usual} thread"
            f"{'s' if usual > 1 else ''} (torch threads; the forest's n_jobs); the others: {listed}."
        )
    if threads.isna().any():
        thread_text += f" {int(threads.isna().sum())} record(s) do not say."
    show_markdown(thread_text)

# %% tags=["hide-input"]
if len(table):
    cost = table.pivot_table(
        index="dataset", columns="model", values=["wall_time_s", "train_samples_per_s"]
    ).round(0)
    cost = cost.reindex(index=[d for d in datasets if d in cost.index])
else:
    cost = pd.DataFrame({"note": ["no stored runs"]})
cost

# %% [markdown]
# ## Claims decided on this page
#
# The claims this page is the evidence for, with their verdicts, from the book's one claims
# registry (`matfusion.verdicts`); the front page, "What holds", lists the same rows.

# %% tags=["remove-input"]
from IPython.display import HTML, display  # noqa: E402

from matfusion.verdicts import chapter_findings, findings_html  # noqa: E402

display(HTML(findings_html(chapter_findings("06_extended_benchmarks", prof))))

# %% [markdown]
# ## Rerun this chapter
#
# One command reruns this page with other parameters; the box lists them with their defaults,
# the command, and how long the chapter took.

# %% tags=["remove-input"] mystnb={"markdown_format": "gfm"}
from matfusion.chapters.rerun_box import rerun_box
from matfusion.notebook import show_markdown

show_markdown(rerun_box("06_extended_benchmarks"))
