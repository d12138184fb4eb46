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
# # The 18 extended benchmarks, with CrabNet and a random forest run here (Figure 4)
#
# Paper A's Figure 4 compares L-G-DCNN and L-G-DCNN-V1 with Finder, Roost, CrabNet and a
# random forest on 18 composition datasets (AFLOW, Bartel et al.'s "critical examination",
# Materials Project, OQMD), and finds L-G-DCNN or V1 best on most of them. This chapter reruns
# the comparison with the peers **run here, on the same train/validation/test split** as our
# models:
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
# Finder is **not** run here: its numbers are the paper's, shown labelled as reported. Every
# number of ours is printed beside the paper's with the difference.

# %% tags=["parameters"]
profile = "standard"
datasets = None  # None: all 18 sets (smoke: three small ones)
models = None  # None: L-G-DCNN, L-G-DCNN-V1, CrabNet, Roost, RF-Magpie
train_missing = None  # None: train missing cells only under smoke; standard/paper read the store
seed = None
progress = True

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from matfusion.data import dataset_summary
from matfusion.experiments import results_table
from matfusion.grid import collect_records, grid_cells
from matfusion.notebook import profile_banner, setup_plots, show_markdown
from matfusion.paper import reported
from matfusion.profiles import get_profile

prof = get_profile(profile)
setup_plots()
FIGURE_MODELS = ["L-G-DCNN", "L-G-DCNN-V1", "CrabNet", "Roost", "RF-Magpie"]
PAPER_COLUMN = {m: m for m in ("L-G-DCNN", "L-G-DCNN-V1", "CrabNet", "Roost")}
PAPER_COLUMN["RF-Magpie"] = "RF"
SMOKE_SETS = ["aflow__ael_bulk_modulus_vrh", "mp_shear_modulus", "aflow__ael_debye_temperature"]
paper = reported("extended_benchmarks_mae").set_index("dataset")
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

# %%
cells = [c for d in datasets for c in grid_cells(models, [d], seeds=[seed])]
records, missing = collect_records(
    cells, profile=prof, train_missing=train_missing, progress=progress
)
table = results_table(records) if records else pd.DataFrame(columns=["model", "dataset"])
if len(table):
    table["full n_train"] = [r["full_sizes"]["train"] for r in records]
    table["subsampled"] = table["n_train"] < table["full n_train"]
    table["threads"] = [(r.get("train_settings") or {}).get("num_threads") for r in records]
show_markdown(
    f"{len(records)} of {len(datasets) * len(models)} cells stored"
    + (
        "; missing: " + ", ".join(c.label() for c in missing) + "."
        if missing
        else "; none missing."
    )
)
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
show_markdown(
    f"Under `{prof.name}` every training split is cut to at most "
    f"{prof.max_train_rows or 'all'} rows and validation/test splits to "
    f"{prof.max_eval_rows or 'all'} (seeded, the same rows for every model). "
    + (
        "Every one of the 18 sets is larger than that, so **every row of this page is a "
        "subsample**; the table below gives the share kept (the OQMD sets, about 240,000 "
        "training rows, keep the least). The paper trained on the full splits: expect our "
        "MAEs to be higher, most where the share kept is smallest."
        if prof.max_train_rows
        else "These are the full splits, as in the paper."
    )
)

# %% tags=["hide-input"]
summary = dataset_summary().set_index("name").loc[datasets, ["n_train", "n_val", "n_test"]]
summary = summary.rename(columns=lambda c: f"full {c}")
if len(table):
    used = table.groupby("dataset")[["n_train"]].max().rename(columns={"n_train": "n_train used"})
    summary = summary.join(used)
    summary["kept %"] = (100 * summary["n_train used"] / summary["full n_train"]).round(1)
summary

# %% [markdown]
# ## Figure 4 as a table: our test MAE, the paper's, the difference
#
# For each model, *ours* is the test MAE of our run, *paper* the value printed in Figure 4,
# *diff %* = 100 (ours − paper) / paper. Finder is the paper's numbers (reported, not run
# here). The paper prints 0.031 for Finder on OQMD volume per atom, ten times below
# every other model (about 0.3): very likely a typo for 0.31; it is shown as printed.

# %%
mae = (
    table.pivot_table(index="dataset", columns="model", values="test_mae")
    if len(table)
    else pd.DataFrame()
)
mae = mae.reindex(index=datasets, columns=models)
rows = {}
for model in models:
    ours = mae[model]
    theirs = paper.loc[datasets, PAPER_COLUMN[model]]
    rows[(model, "ours")] = ours
    rows[(model, "paper")] = theirs
    rows[(model, "diff %")] = 100 * (ours - theirs) / theirs
for name in REPORTED_ONLY:
    rows[(name, "reported")] = paper.loc[datasets, name]
figure4 = pd.DataFrame(rows)
figure4.index = [paper.loc[d, "paper_label"] for d in datasets]
figure4.style.format("{:.4g}", na_rep="missing").format(
    "{:+.1f}", subset=[c for c in figure4.columns if c[1] == "diff %"], na_rep="missing"
)

# %% [markdown]
# ## Heat maps: relative MAE per row
#
# Colour is each MAE divided by the row's best (1 = best in the row), as in the paper's
# Figure 4; the annotation is the MAE. Left: our runs (grey = not stored; a row with only one
# stored model is left uncoloured, its MAE printed on grey). Right: the paper's
# numbers for the same models plus Finder (the OQMD volume row is coloured by
# Finder's printed 0.031, very likely a typo for 0.31).

# %% tags=["hide-input"]
labels = [paper.loc[d, "paper_label"] for d in datasets]
# A row with a single stored model would be "best" trivially: colour only rows with two or more.
ours_rel = mae.div(mae.min(axis=1), axis=0).where(mae.notna().sum(axis=1) >= 2)
paper_models = [PAPER_COLUMN[m] for m in models] + REPORTED_ONLY
paper_mae = paper.loc[datasets, paper_models]
paper_rel = paper_mae.div(paper_mae.min(axis=1), axis=0)
vmax = float(np.nanmax([1.5, np.nanmin([3.0, np.nanmax(ours_rel.to_numpy(dtype=float))])]))
fig, axes = plt.subplots(
    1, 2, figsize=(15, 0.45 * len(datasets) + 2.2), gridspec_kw={"width_ratios": [4, 6]}
)
for ax, rel, values, title in (
    (axes[0], ours_rel, mae, f"ours ({prof.name} profile)"),
    (axes[1], paper_rel, paper_mae, "paper (Figure 4, reported)"),
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
# cell has no winner). The paper's count is over the same rows, among the same models, and
# then among all six of Figure 4.

# %%
complete = mae.dropna()
wins = pd.DataFrame(
    {
        f"ours ({len(complete)} complete rows)": complete.idxmin(axis=1).value_counts(),
        f"paper, same rows, same {len(models)} models": paper.loc[
            complete.index, [PAPER_COLUMN[m] for m in models]
        ]
        .rename(columns={v: k for k, v in PAPER_COLUMN.items()})
        .idxmin(axis=1)
        .value_counts(),
        "paper, all 18 rows, 6 models": paper[paper_models]
        .rename(columns={v: k for k, v in PAPER_COLUMN.items()})
        .idxmin(axis=1)
        .value_counts(),
    }
)
wins = wins.reindex(models + REPORTED_ONLY).fillna(0).astype(int)
wins

# %% [markdown]
# Pairwise, so that a row with some cells missing still counts: for each pair of models, the
# rows where both are stored, and on how many of them the first has the lower test MAE; the
# paper's count is over the same rows.

# %%
pairs = []
for i, a in enumerate(models):
    for b in models[i + 1 :]:
        both = mae[[a, b]].dropna()
        if both.empty:
            pairs.append({"pair": f"a = {a} vs b = {b}", "rows": 0})
            continue
        theirs = paper.loc[both.index, [PAPER_COLUMN[a], PAPER_COLUMN[b]]]
        pairs.append(
            {
                "pair": f"a = {a} vs b = {b}",
                "rows": len(both),
                "a better (ours)": int((both[a] < both[b]).sum()),
                "a better (paper)": int((theirs.iloc[:, 0] < theirs.iloc[:, 1]).sum()),
                "median MAE ratio a/b (ours)": float((both[a] / both[b]).median()),
                "median MAE ratio a/b (paper)": float(
                    (theirs.iloc[:, 0] / theirs.iloc[:, 1]).median()
                ),
            }
        )
pairwise = pd.DataFrame(pairs).set_index("pair")
pairwise.round(3)

# %% tags=["hide-input"]
per_row = pd.DataFrame(
    {
        "our winner": complete.idxmin(axis=1),
        f"paper winner ({len(models)} models)": paper.loc[
            complete.index, [PAPER_COLUMN[m] for m in models]
        ]
        .rename(columns={v: k for k, v in PAPER_COLUMN.items()})
        .idxmin(axis=1),
    }
)
if len(complete):
    per_row["L-G-DCNN / CrabNet (ours)"] = complete["L-G-DCNN"] / complete["CrabNet"]
    per_row["L-G-DCNN / CrabNet (paper)"] = (
        paper.loc[complete.index, "L-G-DCNN"] / paper.loc[complete.index, "CrabNet"]
    )
per_row.index = [paper.loc[d, "paper_label"] for d in per_row.index]
per_row.round(3)

# %% tags=["remove-input"]
if prof.name == "smoke":
    verdict = (
        "These are smoke-sized runs (a few hundred rows, two epochs, width 64): the orderings "
        "are noise and are shown only to exercise the code."
    )
elif len(complete) == 0:
    verdict = "No row has all the models stored yet; nothing to count."
else:
    both = complete[["L-G-DCNN", "CrabNet"]]
    ours_beats = int((both["L-G-DCNN"] < both["CrabNet"]).sum())
    paper_beats = int(
        (paper.loc[complete.index, "L-G-DCNN"] < paper.loc[complete.index, "CrabNet"]).sum()
    )
    best_ours = int(complete.idxmin(axis=1).isin(["L-G-DCNN", "L-G-DCNN-V1"]).sum())
    rf_last = int((complete.idxmax(axis=1) == "RF-Magpie").sum())
    verdict = (
        f"On the {len(complete)} complete rows: L-G-DCNN has a lower test MAE than CrabNet on "
        f"{ours_beats} (the paper: {paper_beats} of the same rows); L-G-DCNN or V1 is best of "
        f"the {len(models)} on {best_ours}; the random forest is worst on {rf_last}. All our runs use "
        "subsampled splits and a short epoch budget (see above), so these counts test the "
        "claim at small data, not the paper's full-data numbers."
    )
show_markdown("**What our runs say.** " + verdict)

# %% [markdown]
# ## Cost on this machine
#
# Training wall time and training throughput of each stored run (one torch thread per run;
# the machine was shared with other jobs, so treat these as rough). CrabNet's throughput
# includes its own validation check-ins; the equal-batch comparison is in
# `benchmarks/peer_throughput.py` and its JSON in `benchmarks/results/`.

# %% tags=["hide-input"]
if len(table):
    cost = table.pivot_table(
        index="dataset", columns="model", values=["wall_time_s", "train_samples_per_s"]
    ).round(0)
    cost = cost.reindex(index=[d for d in datasets if d in cost.index])
else:
    cost = pd.DataFrame({"note": ["no stored runs"]})
cost
