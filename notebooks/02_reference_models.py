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
# # Reference models: global and local extractors, and their heuristic fusions
#
# Before designing L-G-DCNN, paper A compares candidate building blocks on its larger
# benchmark sets (its Figure S2 and Table S1):
#
# * **global** extractors that see the whole composition: a bidirectional RNN, LSTM and GRU;
# * **local** extractors that see a window of neighbouring elements: DCNN (kernel 3, deep,
#   residual, no down-sampling), DCNN-K1 (kernel 1: sees one element at a time), DPCNN
#   (down-sampling pyramid) and a shallow CNN;
# * **heuristic fusions**: the LSTM followed by each local extractor (LDCNN, LDPCNN, LCNN).
#
# The paper's conclusions, which this chapter checks on its own runs: LSTM and GRU beat the
# RNN; DCNN, DPCNN and CNN beat DCNN-K1; LDCNN is the best heuristic fusion. On the OQMD band
# gap set it quotes test MAEs of 0.148 (DCNN-K1), 0.115 (LSTM), 0.0531 (DCNN) and 0.0428 eV
# (LDCNN).

# %% tags=["parameters"]
profile = "standard"
datasets = None  # list of dataset names; None: the profile's reference datasets
models = None  # list of model names; None: the ten models of Figure S2
epochs = None  # override the profile's epochs
seed = None  # override the profile's seed
train_missing = None  # None: train missing runs only under smoke; other profiles read the store
min_r2 = 0.1  # runs with a test R² below this are too weak to order (None: set none aside)
tie_rtol = None  # MAEs within this fraction of each other are a tie (None: strict ordering)
progress = True  # progress bars (the book build turns them off)

# %% tags=["hide-input"]
from myst_nb import glue

from matfusion.chapters import reference_models as chapter
from matfusion.chapters.cells import REFERENCE_MODELS
from matfusion.grid import grid_cells
from matfusion.notebook import profile_banner, setup_plots, show_markdown, stored_runs
from matfusion.profiles import get_profile

prof = get_profile(profile)
setup_plots()
models = list(models or REFERENCE_MODELS)  # global, local, then fusions
datasets = list(datasets or prof.reference_datasets)
if train_missing is None:
    train_missing = prof.name == "smoke"
show_markdown(
    profile_banner(
        prof,
        {
            "Datasets": ", ".join(datasets),
            "Missing runs": "trained now" if train_missing else "read from the store only",
        },
    )
)

# %% [markdown]
# ## The models
#
# Each is built from the same blocks (embedding, recurrent layer, convolution stack, output
# head); the registry describes them:

# %%
chapter.model_table(models)

# %% [markdown]
# ## Training
#
# Every (model, dataset) pair is read back from the results store when an identical run (or,
# for the `standard` profile, a stored `paper`-profile run) is there. Only the `smoke` profile
# trains what is missing; under the others a run nobody has made yet is listed as missing,
# with the `matfusion grid` command that trains it, and the sections below use the rest.

# %%
cells = [c for d in datasets for c in grid_cells(models, [d], seeds=[seed])]
records, missing = stored_runs(
    cells, prof, train_missing=train_missing, epochs=epochs, progress=progress
)
table = chapter.run_table(records)
mae = chapter.metric_matrix(table, models, "test_mae")
r2 = chapter.metric_matrix(table, models, "test_r2")
table[chapter.RUN_COLUMNS].round(4) if len(table) else None

# %% [markdown]
# ## Test MAE per dataset
#
# Rows are datasets, columns models; colour is the MAE relative to the row's best model
# (1 = best), as in the paper's benchmark figures. Without a stored run the figure is left
# out.

# %% tags=["hide-input"]
fig = chapter.plot_mae_heatmap(
    mae, f"Test MAE ({prof.name} profile)" + ("; blank: not stored" if missing else "")
)

# %% [markdown]
# ## Learning curves
#
# Validation MAE per epoch for each model on each dataset (stored with every record; solid:
# global, dashed: local, dotted: heuristic fusion).

# %% tags=["hide-input"]
fig = chapter.plot_learning_curves(records, datasets)

# %% [markdown]
# ## Against the paper
#
# ### OQMD band gap: the MAEs the paper quotes

# %% tags=["hide-input"]
comparison, band_gap_rows = chapter.band_gap_comparison(mae, table, prof.name)
glue("bg_train_rows", band_gap_rows, display=False)
comparison.style.format("{:.4g}", na_rep="–").format(
    "{:+.1f}", subset=[c for c in comparison.columns if c == "difference %"], na_rep="–"
)

# %% [markdown]
# Training rows of our OQMD band gap runs: {glue:text}`bg_train_rows` (the paper: the full
# training split of about 240,000). L-G-DCNN is not a reference model and is trained in a
# later chapter, so its row has the paper's value only; a dash marks a value that is not
# there.
#
# ### The paper's qualitative claims, checked on our runs
#
# A claim "holds" on a dataset when the ordering it states is true for our test MAEs; the
# count is over the datasets of this run. A run whose test R² is below `min_r2` (a
# parameter of this page) predicts little more than a constant, so a dataset on which any
# model a claim compares is that weak is set aside for that claim (last column); a claim with
# no dataset left is "not testable here". With `tie_rtol`, MAEs within that fraction of each
# other count as a tie, not as an ordering.

# %%
claims_table = chapter.reference_claims(table, models, min_r2, tie_rtol)
for key, value in chapter.claims_numbers(r2, min_r2, prof).items():
    glue(key, value, display=False)
claims_table

# %% [markdown]
# **What our runs say.** {glue:text}`ref_scale` A run whose test R² is below `min_r2`
# (here {glue:text}`ref_min_r2`) predicts little more than a constant, e.g. the median band
# gap, so orderings among such runs are no evidence either way. Of these runs,
# {glue:text}`ref_weak` are that weak: {glue:text}`ref_weak_runs`.
#
# An ordering seen once, on one seed, decides nothing; the verdict on each claim is in
# *Claims decided on this page* below, from the book's claims registry.
#
# ## Stored full-scale runs
#
# Paper-profile runs in the results store (full splits, CrabNet recipe), beside the test MAE
# the paper reports for L-G-DCNN and CrabNet on the same split (a dash: the paper reports
# none for that dataset). These records were produced by `matfusion train ... --profile
# paper`; their provenance (commit, hardware, wall time) is in `results/train/`.

# %% tags=["hide-input"]
full = chapter.paper_runs_table()
glue("n_paper_runs", f"{len(full)}", display=False)
full.style.format({c: "{:.4g}" for c in full.select_dtypes("float").columns}, na_rep="–")

# %% [markdown]
# Paper-profile runs stored: {glue:text}`n_paper_runs`.

# %% [markdown]
# ## Claims decided on this page
#
# The claims this page is the evidence for, with their verdicts, from the book's one claims
# registry (`matfusion.verdicts`); the front page, "What holds", lists the same rows.

# %% tags=["remove-input"]
from IPython.display import HTML, display  # noqa: E402

from matfusion.verdicts import chapter_findings, findings_html  # noqa: E402

display(HTML(findings_html(chapter_findings("02_reference_models", prof))))

# %% [markdown]
# ## Exercises
#
# Each exercise reruns this page with other parameters; `smoke` shows the mechanics in a
# few minutes, the teacher's answer comes from the stored `standard` runs.

# %% tags=["remove-input"]
from matfusion.chapters.exercises import exercises_markdown  # noqa: E402

show_markdown(exercises_markdown("02_reference_models", prof))

# %% [markdown]
# ## Rerun this chapter
#
# One command reruns this page with other parameters; the box lists them with their defaults,
# the command, and how long the chapter took.

# %% tags=["remove-input"] mystnb={"markdown_format": "gfm"}
from matfusion.chapters.rerun_box import rerun_box
from matfusion.notebook import show_markdown

show_markdown(rerun_box("02_reference_models"))
