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
anchor = "Si"  # element whose compounds CECV clusters (chapters 03 and 04)
progress = True  # progress bars (the book build turns them off)

# %% tags=["hide-input"]
from myst_nb import glue

from matfusion.chapters import data_overview as chapter
from matfusion.data import get_dataset
from matfusion.notebook import profile_banner, setup_plots, show_markdown
from matfusion.profiles import get_profile

prof = get_profile(profile)
setup_plots()
rows = chapter.rows_for(prof, rows_per_dataset)
show_markdown(
    profile_banner(
        prof,
        {"Rows sampled per dataset for the distributions": rows or "all", "Anchor": anchor},
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
sizes = chapter.size_table()
sizes.drop(columns="total").style.format(na_rep="–")

# %% tags=["hide-input"]
fig = chapter.plot_sizes(sizes)

# %% [markdown]
# The {glue:text}`n_extended` extended sets and {glue:text}`n_matbench` Matbench tasks differ
# in size by a factor of {glue:text}`size_ratio`: the smallest is {glue:text}`smallest_set`,
# the largest {glue:text}`largest_set`. The same architecture and recipe are used on all of
# them, so a small set tests how well a model does with little data, a large one how far its
# capacity goes.
#
# ## Targets and composition lengths
#
# For each dataset a seeded sample of its training split is parsed with pymatgen (the same
# parser the models use), so the number of elements per compound is exact for the rows shown.

# %%
names = list(sizes.sort_index()["name"])  # the order of the dataset registry
units = {n: get_dataset(n).unit for n in names}
samples = chapter.sample_datasets(names, rows, seed=prof.seed, progress=progress)
for key, value in chapter.overview_numbers(sizes, samples).items():
    glue(key, value, display=False)
stats = chapter.target_stats(samples, units)
# Four significant figures, not a fixed number of decimals: some targets are ~1e-5 (1/K).
stats.style.format({c: "{:.4g}" for c in stats.select_dtypes("float").columns})

# %% tags=["hide-input"]
fig = chapter.plot_target_histograms(samples, units)

# %% tags=["hide-input"]
fig = chapter.plot_element_shares(chapter.element_counts(samples, names))

# %% [markdown]
# Of the {glue:text}`rows_sampled` sampled compounds, {glue:text}`share_binary_ternary` are
# binaries or ternaries, and {glue:text}`share_three_plus` have three or more elements (at
# most {glue:text}`max_elements`); the set with the largest share of compounds with one or
# two elements is {glue:text}`most_binary_set`. Compounds with three or more elements are the ones CECV (a
# later chapter) can cluster, since a binary's element-correlation matrix carries no
# information after standardisation.
#
# ## Compounds with the anchor element
#
# CECV clusters only the compounds that contain the anchor element (here
# {glue:text}`anchor`) and have three or more elements. The table counts them in each
# dataset's sample; the CECV chapters count them in the full test split.

# %%
anchors = chapter.anchor_table(samples, anchor, names)
for key, value in chapter.anchor_numbers(anchors, anchor).items():
    glue(key, value, display=False)
anchors.style.format({anchors.columns[-1]: "{:.1%}"})

# %% [markdown]
# Over all samples, {glue:text}`anchor_total` compounds contain {glue:text}`anchor` and
# {glue:text}`anchor_cecv` of them have three or more elements. The sample with the most
# compounds CECV can use is {glue:text}`anchor_top`.
#
# ## Provenance
#
# The sha256 of every training split used above, so a reader can check they have the same
# files.

# %%
chapter.split_hashes(names)

# %% [markdown]
# ## Exercises
#
# Each exercise reruns this page with one parameter changed; `smoke` shows the mechanics in
# seconds, the teacher's answer is computed from the dataset files when the page is built.

# %% tags=["remove-input"]
from matfusion.chapters.exercises import exercises_markdown  # noqa: E402

show_markdown(exercises_markdown("01_data_overview", prof))

# %% [markdown]
# ## Rerun this chapter
#
# One command reruns this page with other parameters; the box lists them with their defaults,
# the command, and how long the chapter took.

# %% tags=["remove-input"] mystnb={"markdown_format": "gfm"}
from matfusion.chapters.rerun_box import rerun_box
from matfusion.notebook import show_markdown

show_markdown(rerun_box("01_data_overview"))
