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
# # Data overview: the datasets of paper A
#
# Paper A benchmarks on 18 "extended" datasets (AFLOW, Materials Project, OQMD and the
# formation/decomposition enthalpies of Bartel et al., pre-split 70/15/15 into
# train/validation/test) and on 10 Matbench composition tasks (5 folds each). Both come here
# from the `crabnet==2.0.8` package on PyPI, which ships exactly these splits; the wheel is
# verified by its sha256 before use. This chapter shows how big each set is, what its
# targets look like, and how many elements its compounds have, because those facts decide
# how hard a set is for a composition-only model.

# %% tags=["parameters"]
profile = "standard"
rows_per_dataset = None  # rows sampled per dataset for the distributions (None: by profile)
progress = True  # progress bars (the book build turns them off)

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from tqdm.auto import tqdm

from matfusion.data import dataset_summary, get_dataset, load_split, split_sha256
from matfusion.featurize import encode_formulas
from matfusion.notebook import profile_banner, setup_plots, show_markdown
from matfusion.profiles import get_profile

prof = get_profile(profile)
setup_plots()
if rows_per_dataset is None:
    rows_per_dataset = {"smoke": 300, "standard": 5000, "paper": None}[prof.name]
show_markdown(
    profile_banner(
        prof,
        {"Rows sampled per dataset for the distributions": rows_per_dataset or "all"},
        paper_a_runs=False,
    )
)

# %% [markdown]
# ## Sizes
#
# Row counts are read from the CSV files of each split (for Matbench, fold 0; the five folds
# partition each task the same way). The extended sets come as one fixed train/validation/test
# split, not as folds, so their `n_folds` is a dash.

# %%
summary = dataset_summary()
summary.style.format(na_rep="–")

# %% tags=["hide-input"]
fig, ax = plt.subplots(figsize=(8, 7))
ordered = summary.assign(total=summary.n_train + summary.n_val + summary.n_test).sort_values(
    "total"
)
ax.barh(ordered["name"], ordered["total"], color=np.where(ordered.kind == "extended", "C0", "C1"))
ax.set_xscale("log")
ax.set_xlabel("rows (train + val + test; Matbench: one fold's split of the whole task)")
ax.set_title("Dataset sizes (blue: extended sets, orange: Matbench)")
plt.show()

# %% [markdown]
# ## Targets and composition lengths
#
# For each dataset a seeded sample of its training split is parsed with pymatgen (the same
# parser the models use), so the number of elements per compound is exact for the rows shown.

# %%
rng_seed = prof.seed
frames = []
for name in tqdm(summary["name"], desc="datasets", disable=not progress):
    info = get_dataset(name)
    fold = 0 if info.kind == "matbench" else None
    frame = load_split(name, "train", fold=fold)
    if rows_per_dataset is not None and len(frame) > rows_per_dataset:
        frame = frame.sample(rows_per_dataset, random_state=rng_seed)
    encoded = encode_formulas(frame["formula"].tolist())
    frames.append(
        pd.DataFrame(
            {
                "dataset": name,
                "kind": info.kind,
                "target": frame["target"].to_numpy(),
                "n_elements": (encoded.elements > 0).sum(axis=1),
            }
        )
    )
samples = pd.concat(frames, ignore_index=True)

# %%
stats = samples.groupby("dataset").agg(
    rows_sampled=("target", "size"),
    target_mean=("target", "mean"),
    target_std=("target", "std"),
    target_min=("target", "min"),
    target_max=("target", "max"),
    elements_mean=("n_elements", "mean"),
    elements_max=("n_elements", "max"),
)
stats["unit"] = [get_dataset(n).unit for n in stats.index]
# Four significant figures, not a fixed number of decimals: some targets are ~1e-5 (1/K).
stats.style.format({c: "{:.4g}" for c in stats.select_dtypes("float").columns})

# %% tags=["hide-input"]
names = list(summary["name"])
ncols = 4
nrows = int(np.ceil(len(names) / ncols))
fig, axes = plt.subplots(nrows, ncols, figsize=(14, 2.3 * nrows))
for ax, name in zip(axes.flat, names, strict=False):
    values = samples.loc[samples.dataset == name, "target"]
    ax.hist(values, bins=40, color="C0" if get_dataset(name).kind == "extended" else "C1")
    ax.set_title(name, fontsize=8)
    ax.set_xlabel(get_dataset(name).unit, fontsize=7)
    ax.tick_params(labelsize=7)
for ax in axes.flat[len(names) :]:
    ax.axis("off")
fig.suptitle("Target distributions (training split sample)")
fig.tight_layout()
plt.show()

# %% tags=["hide-input"]
counts = samples.groupby(["dataset", "n_elements"]).size().unstack(fill_value=0).loc[names]
shares = counts.div(counts.sum(axis=1), axis=0)
fig, ax = plt.subplots(figsize=(9, 8))
sns.heatmap(shares, annot=counts, fmt="d", cmap="viridis", cbar_kws={"label": "share"}, ax=ax)
ax.set_xlabel("elements per compound")
ax.set_ylabel("")
ax.set_title("How many elements the compounds have (counts; colour = share)")
plt.show()

# %% [markdown]
# Most compounds are binaries and ternaries; compounds with three or more elements are the
# ones CECV (a later chapter) can cluster, since a binary's element-correlation matrix carries
# no information after standardisation.
#
# ## Provenance
#
# The sha256 of every training split used above, so a reader can check they have the same
# files.

# %%
pd.DataFrame(
    {
        "dataset": names,
        "train split sha256": [
            split_sha256(n, "train", fold=0 if get_dataset(n).kind == "matbench" else None)[:16]
            for n in names
        ],
    }
)

# %% [markdown]
# ## Rerun this chapter
#
# One command reruns this page with other parameters; the box lists them with their defaults,
# the command, and how long the chapter took.

# %% tags=["remove-input"] mystnb={"markdown_format": "gfm"}
from matfusion.chapters.rerun_box import rerun_box
from matfusion.notebook import show_markdown

show_markdown(rerun_box("01_data_overview"))
