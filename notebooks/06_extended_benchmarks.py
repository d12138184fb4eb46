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
# Finder is **not** run here: it appears only with the paper's numbers. Figure 4 also has a
# column for L-G-DCNN on a one-hot element embedding (**L-G-DCNN-onehot**, the same network
# as ablation Model 1 of chapter 07, whose runs it shares). We run it and show it in the
# tables and the heat map, but leave it out of the win counts: the project's copy of Figure
# 4's numbers has no values for that column, so there is nothing to compare its wins with.
#
# **Labels.** Every number of ours is printed beside Figure 4's with the difference. Figure
# 4's numbers for the paper's own models (L-G-DCNN, L-G-DCNN-V1) are labelled *paper*; its
# numbers for the peers (Finder, Roost, CrabNet, RF) are labelled *reported*: they are what
# the paper reports for models it did not design, not runs of ours. Tables that count wins
# on Figure 4's numbers say *Figure 4*.

# %% tags=["parameters"]
profile = "standard"
datasets = None  # None: all 18 sets (smoke: three small ones)
models = None  # None: L-G-DCNN, L-G-DCNN-V1, CrabNet, Roost, RF-Magpie (compared, counted)
extra_models = None  # None: L-G-DCNN-onehot (shown in the tables and heat map, not counted)
train_missing = None  # None: train missing cells only under smoke; standard/paper read the store
seed = None
tie_rtol = 0.01  # MAEs within this fraction of the lower one are a tie (a shared win)
min_r2 = 0.1  # a row whose best test R² is below this is "not informative" (counted both ways)
weak_r2 = 0.3  # rows kept by min_r2 whose best R² is still below this are named as weak
n_boot = 1000  # bootstrap resamples of the "within noise of the best" marks (seed 0)
progress = True

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
from myst_nb import glue

from matfusion.chapters import extended_benchmarks as eb
from matfusion.data import dataset_summary
from matfusion.notebook import profile_banner, setup_plots, show_markdown
from matfusion.profiles import get_profile

prof = get_profile(profile)
setup_plots()
datasets = list(datasets or eb.default_datasets(prof))  # None: all 18 (smoke: three)
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
# `matfusion grid --models L-G-DCNN,L-G-DCNN-V1,CrabNet,Roost,RF-Magpie,L-G-DCNN-onehot
# --datasets ... --profile standard` (an L-G-DCNN-onehot cell is answered by ablation Model-1's
# run, so chapter 07's four sets are shared). Under `standard` this page only reads the store
# (training all 108 cells takes many CPU hours), so a cell nobody has run yet is shown as
# missing, never dropped. Every cell is **one training run with one seed**: no error bars.

# %%
page, missing = eb.load(
    prof, datasets=datasets, models=models, seed=seed, train_missing=train_missing,
    progress=progress, tie_rtol=tie_rtol, min_r2=min_r2, weak_r2=weak_r2, extra=extra_models,
    n_boot=n_boot,
)  # fmt: skip
eb.shown_runs(page.table)

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
eb.settings_table(page.records)

# %% tags=["remove-input"]
summary_all = dataset_summary().set_index("name").loc[page.datasets]
for name, text in {"profile_name": prof.name, **eb.subsample_facts(summary_all, prof)}.items():
    glue(name, text, display=False)

# %% [markdown]
# ## Which rows are subsampled
#
# Under the {glue:text}`profile_name` profile every training split is cut to at most
# {glue:text}`train_cap` rows and the validation and test splits to {glue:text}`eval_cap`
# (seeded, the same rows for every model). {glue:text}`subsample_which` The paper trained on
# the full splits: expect our MAEs to be higher, most where the share kept is smallest.

# %% tags=["hide-input"]
eb.size_table(summary_all, page.table)

# %% [markdown]
# ## Figure 4 as a table: our test MAE beside Figure 4's, the difference
#
# For each model, *ours* is the test MAE of our run, *paper* (L-G-DCNN, V1, L-G-DCNN-onehot)
# or *reported* (the peers) the value printed in Figure 4, *difference %* = 100 (ours −
# Figure 4) / Figure 4. MAEs are in each row's unit (first column). Finder is Figure 4's
# numbers only; L-G-DCNN-onehot's Figure 4 values read "not in our copy" (see above).
# The paper prints 0.031 for Finder on OQMD volume per atom, ten times below every other
# model (about 0.3): very likely a typo for 0.31; it is shown as printed, highlighted.

# %%
page.figure4_table(units=dataset_summary().set_index("name")["unit"])

# %% tags=["remove-input"]
glue("seed_spread", eb.seed_spread_note(prof), display=False)  # the marks' texts: facts()

# %% [markdown]
# ## Heat maps: relative MAE per row
#
# Colour is each MAE divided by the row's best (1 = best in the row), as in the paper's
# Figure 4; the annotation is the MAE. Left: our runs, L-G-DCNN-onehot included (grey = not
# stored; a row with only one stored model is left uncoloured, its MAE printed on grey).
# Right: Figure 4's numbers for the compared models plus Finder (the OQMD volume row is
# coloured by Finder's printed 0.031, very likely a typo for 0.31).
#
# **Which differences are noise.** On the left, ★ marks each row's lowest MAE and ≈ (dashed
# outline) every model whose MAE is *not distinguishable* from it: the paired bootstrap 95 %
# interval of MAE(model) − MAE(best), resampling the test compounds both models predicted
# ({glue:text}`near_best_boot` resamples, fixed seed), includes zero. An unmarked cell is
# distinguishable from the row's best. Each cell here is one seed, so the interval covers
# the test-set sampling only, not the seed-to-seed spread: {glue:text}`seed_spread`. A cell
# marked ≈ is a tie this run cannot break; an unmarked cell may still change places with the
# best under another seed.

# %% tags=["hide-input"]
page.plot_heatmaps()
plt.show()

# %% [markdown]
# Per model: on how many rows it is the best or within noise of the best, among the rows
# where it could be compared (both its and the best model's per-compound test predictions
# stored). {glue:text}`near_best_summary`. Rows not marked: {glue:text}`near_best_unmarked`.

# %% tags=["hide-input"]
page.near_best_table()

# %% [markdown]
# ## Who wins each row
#
# Counted over the rows where all our compared models (not L-G-DCNN-onehot) have a stored
# result (a row with a missing cell has no winner), among the same models on Figure 4's numbers for the same rows, and
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
page.wins_table()

# %% tags=["remove-input"]
for name, text in page.facts().items():
    glue(name, text, display=False)

# %% [markdown]
# Not informative (best test R² below {glue:text}`min_r2`): {glue:text}`uninformative_rows`.
# Kept and counted, but weak (best test R² below {glue:text}`weak_r2`):
# {glue:text}`weak_rows`.
#
# Finder's OQMD volume per atom decides its row among the six models: with the printed 0.031
# the row goes to {glue:text}`typo_winner_printed`; with 0.31 to
# {glue:text}`typo_winner_likely`.
#
# Pairwise, so that a row with some cells missing still counts: for each pair of models, the
# rows where both are stored, on how many of them a or b has the lower test MAE and on how
# many the two tie (within `tie_rtol`); Figure 4's counts are over the same rows.

# %%
page.pairwise_table()

# %% tags=["hide-input"]
page.per_row_table()

# %% [markdown]
# ## What our runs say
#
# {glue:text}`scope_note`
#
# Over {glue:text}`n_complete` (all {glue:text}`n_models` models stored; ties within
# {glue:text}`tie_pct` shared) the best MAE goes to: {glue:text}`wins_complete`. With ties
# broken by the strictly lower MAE, Figure 4 gives L-G-DCNN {glue:text}`strict_fig4` of these
# rows among the same models; our runs give it {glue:text}`strict_ours`. Leaving out the rows
# where no model of ours reaches a test R² of {glue:text}`min_r2`
# ({glue:text}`uninformative_rows`): {glue:text}`wins_informative`.
#
# Pairwise: {glue:text}`pair_v1`; {glue:text}`pair_crabnet`. The random forest has the
# highest MAE on {glue:text}`rf_last` rows.
#
# All our runs use subsampled splits, a short epoch budget and one seed per cell (see
# above), so these counts test the paper's reading at small data, not its full-data numbers,
# and a single-seed difference of a few percent may not survive a second seed. Whether
# each of Figure 4's claims holds is decided once, for the whole book, in *Claims decided on
# this page* below.

# %% tags=["remove-input"]
glue("threads_note", eb.thread_note(page.table), display=False)

# %% [markdown]
# ## Cost on this machine
#
# Training wall time and training throughput of each stored run (the machine was shared with
# other jobs, so treat these as rough). CrabNet's throughput includes its own validation
# check-ins; the equal-batch comparison is in `benchmarks/peer_throughput.py` and its JSON in
# `benchmarks/results/`. {glue:text}`threads_note`

# %% tags=["hide-input"]
eb.cost_table(page.table, page.datasets)

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
# ## Exercises
#
# Each exercise reruns this page with one parameter changed; `smoke` shows the mechanics in
# about a minute, the teacher's answer comes from the stored `standard` runs.

# %% tags=["remove-input"]
from matfusion.chapters.exercises import exercises_markdown  # noqa: E402

show_markdown(exercises_markdown("06_extended_benchmarks", prof))

# %% [markdown]
# ## Rerun this chapter
#
# One command reruns this page with other parameters; the box lists them with their defaults,
# the command, and how long the chapter took.

# %% tags=["remove-input"] mystnb={"markdown_format": "gfm"}
from matfusion.chapters.rerun_box import rerun_box
from matfusion.notebook import show_markdown

show_markdown(rerun_box("06_extended_benchmarks"))
