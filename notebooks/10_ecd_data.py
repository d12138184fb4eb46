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
# # Paper B's data: Fm-3m elastic moduli and charge densities
#
# Paper B ({cite:t}`zhao2020ecd`) trains CNNs on the electronic charge density of 2,170
# Materials Project structures of space group Fm-3m (no lanthanides or actinides), with bulk and
# shear moduli and densities the authors computed with VASP. That set is not public. Here we
# rebuild the closest public equivalent: the Materials Project's own DFT moduli
# {cite}`jain2013mp` from three public files (2025, about 2020 and 2015 releases;
# {cite:t}`dejong2015elastic`), merged by mp id with the newest release winning, filtered to
# Fm-3m the same way.
#
# Densities come from one of three providers (`matfusion.ecd.density`): `promolecular`
# (superposed free-atom PBE densities: fast, but **not** a DFT density of the crystal), `gpaw`
# (a self-consistent PBE plane-wave density of the cell, {cite}`mortensen2024gpaw`) and `chgcar`
# (VASP files). Each figure names its provider.

# %% tags=["parameters"]
profile = "standard"
progress = True
n_figure = 2  # materials with the highest and with the lowest bulk modulus in Figure 1
n_gpaw = None  # materials compared with GPAW (None: 1 in smoke, 3 otherwise)
train_missing = None  # None: compute the stored comparison only under smoke; others read it
loeo_min_count = None  # materials an element needs to join the LOEO sets (None: the profile's)
ionic_threshold = 1.0  # electronegativity spread that splits ionic from less ionic materials

# %% tags=["hide-input"]
import pandas as pd
from IPython.display import display
from myst_nb import glue

from matfusion.chapters import ecd_data as chapter
from matfusion.ecd.data import load_ecd_dataset
from matfusion.ecd.density import gpaw_available
from matfusion.ecd.experiments import comparison_left_out, run_density_comparison
from matfusion.ecd.reported import loeo_size_mismatches
from matfusion.ecd.settings import ecd_profile_for
from matfusion.ecd.tables import left_out_sentence
from matfusion.notebook import missing_runs_note, paper_b_banner, setup_plots, show_markdown
from matfusion.paper import reported
from matfusion.profiles import get_profile

prof = get_profile(profile)
ecd, ecd_note = ecd_profile_for(profile)
setup_plots()
if train_missing is None:
    train_missing = prof.name == "smoke"
show_markdown(
    paper_b_banner(
        prof,
        ecd,
        {
            "Density grid": f"{ecd.grid}^3, provider `{ecd.provider}`"
            + (", valence densities in the models" if ecd.valence else "")
        },
    )
)
if ecd_note:
    show_markdown(f"**{ecd_note}**")

# %% [markdown]
# ## The dataset
#
# Space group by pymatgen's `SpacegroupAnalyzer` at symprec 0.1; rows with a non-positive or
# non-finite modulus are dropped and counted (the counts are listed below).

# %% tags=["hide-input"]
full = load_ecd_dataset(progress=progress, verbose=False)
frame = chapter.subsample(full, ecd.max_materials, ecd.seed)
for name, value in chapter.dataset_numbers(full, frame, prof.name).items():
    glue(name, value, display=False)

# %% [markdown]
# The public files give **{glue:text}`ecd_n_full` Fm-3m materials** without lanthanides or
# actinides; the paper had 2,170, from its own VASP runs.{glue:text}`ecd_subsample` How the
# table was made:

# %% tags=["remove-input"]
show_markdown(chapter.build_log(full))

# %%
chapter.source_counts(frame)

# %% tags=["hide-input"]
fig = chapter.plot_moduli(frame)
frame[["bulk_modulus", "shear_modulus"]].describe().round(1).T

# %% tags=["hide-input"]
fig = chapter.plot_element_counts(frame)

# %% [markdown]
# ## Leave-one-element-out sets
#
# For an element E the test set is every material containing E. The paper's 11 elements are
# those in at least 200 of its 2,170 materials; our set is four times smaller, so their test
# sets are far smaller (below, beside the paper's sizes). Elements in at least
# `loeo_min_count` materials are added.

# %% tags=["hide-input"]
min_count = ecd.loeo_min_count if loeo_min_count is None else loeo_min_count
display(chapter.loeo_beside_paper(frame, min_count, reported("ecd_loeo")))
for name, value in chapter.paper_size_note(*loeo_size_mismatches()).items():
    glue(name, value, display=False)

# %% [markdown]
# *Note on the paper's sizes:* train + test size is {glue:text}`ecd_paper_total` in every row
# of the paper's Table 1 except {glue:text}`ecd_paper_odd_rows`. The paper columns show the
# sizes as printed.
#
# ## Figure 1: densities of stiff and soft materials
#
# Slices through the cell (fractional axes, log colour scale) of the `promolecular` density:
# free-atom densities superposed, **not** a DFT density. The grid spans each primitive cell, so
# the same number of voxels covers a small cell finely and a large one coarsely.

# %% tags=["hide-input"]
picks = chapter.extreme_picks(frame, n_figure)
slices = chapter.density_slices(picks, ecd.grid)
fig = chapter.plot_density_slices(slices, ecd.grid)

# %% tags=["hide-input"]
fig = chapter.plot_dense_voxels(slices)

# %% [markdown]
# ## All-electron and valence densities
#
# The paper's CNNs read VASP's CHGCAR: the **valence** (pseudo) density, without the core
# electrons. An all-electron density is dominated by sharp peaks at the nuclei, which say
# mostly which element sits where; the valence density keeps the cloud between the atoms,
# where bonding lives. Below, the same slices (z = 0) of the stiffest and the softest
# material in both forms, on one colour scale, and each cell's electron count. Chapter 11's
# models read valence densities, as the paper's; its density-source comparisons keep the
# all-electron densities of our first runs and add GPAW's valence density as a third source.

# %% tags=["hide-input"]
pairs = chapter.valence_pairs(pd.concat([picks.head(1), picks.tail(1)]), ecd.grid)
fig = chapter.plot_valence_pairs(pairs)
chapter.electron_table(pairs).style.format(
    "{:.1f}", subset=["all-electron electrons", "valence electrons"]
).format("{:.0%}", subset=["valence share between atoms"])

# %% [markdown]
# ## Promolecular versus GPAW densities
#
# For a few materials we also compute the self-consistent PBE density with GPAW (plane waves,
# all-electron PAW reconstruction, settings in `matfusion.ecd.density.GpawProvider`) on the same
# grid. Both integrate to the total electron count. *Moved* is half the integral of the
# absolute difference: the electrons one density places elsewhere than the other. Most of it
# sits in the atomic cores, which each provider represents differently at this grid spacing
# (the promolecular density is smoothed over 1.5 voxels, GPAW's is sampled); the column
# "between atoms" (voxels below 1 e/A^3 in both) is the bonding and charge-transfer part.
# Without GPAW installed (`pip install 'matfusion[dft]'`) the table stays empty.

# %% tags=["hide-input"]
n_compare = n_gpaw if n_gpaw is not None else (1 if prof.name == "smoke" else 3)
compare = pd.DataFrame()
if gpaw_available():
    compare, diagonals = chapter.gpaw_comparison(full, ecd.grid, n_compare)
    fig = chapter.plot_diagonal_profiles(diagonals, ecd.grid)
compare.round(3)

# %% [markdown]
# ### Every material: how much does bonding move?
#
# The same measure for every material of the provider comparison in
# [the CV and LOEO chapter](11_ecd_cv_loeo.ipynb) (all materials GPAW has setups for; `smoke`:
# the few with the fewest electrons), on the comparison's all-electron densities. Computing
# the GPAW densities takes about an hour on this machine, so every profile but `smoke` reads
# the stored per-material numbers (`results/ecd_density_diff/`, made by `matfusion ecd
# compare`). If the promolecular density were a good stand-in for the DFT one, few electrons
# would move; how
# many do, and whether it grows with ionicity (the spread of the elements'
# electronegativities), says how much a density model on promolecular input can be missing.

# %% tags=["hide-input"]
moved_all = run_density_comparison(
    ecd, progress=progress, missing="train" if train_missing else "skip"
)
show_markdown(
    missing_runs_note(
        [] if moved_all is not None else [f"promolecular vs GPAW densities ({ecd.name} sizes)"],
        f"matfusion ecd compare --profile {ecd.name}",
        1,
        what="per-material comparisons",
    )
)
glue("ecd_left_out", left_out_sentence(comparison_left_out(ecd)), display=False)
for name, value in {
    **chapter.moved_numbers(moved_all),
    **chapter.ionicity_split(moved_all, ionic_threshold),
}.items():
    glue(name, value, display=False)
if moved_all is not None:
    fig = chapter.plot_moved(moved_all, ecd.grid)

# %% [markdown]
# {glue:text}`ecd_left_out` Over the {glue:text}`ecd_moved_n` materials compared, the DFT
# density places a median {glue:text}`ecd_moved_median` of the electrons elsewhere between
# the atoms than the promolecular one (10th-90th percentile {glue:text}`ecd_moved_p10` to
# {glue:text}`ecd_moved_p90`); with all voxels included, {glue:text}`ecd_moved_all`. The
# Spearman correlation of the share between atoms with the electronegativity spread is
# {glue:text}`ecd_moved_spearman`.
#
# Split at an electronegativity spread of {glue:text}`ecd_ionic_threshold` (parameter
# `ionic_threshold`): the {glue:text}`ecd_ionic_n` materials at or above it move a median
# {glue:text}`ecd_ionic_median` between the atoms, the {glue:text}`ecd_covalent_n` below it
# {glue:text}`ecd_covalent_median`.
#
# Seconds per GPAW density on this CPU (one thread; other jobs shared the machine while
# these were made), by atoms in the primitive cell (empty when none are stored):

# %% tags=["hide-input"]
chapter.gpaw_timing(moved_all)

# %% [markdown]
# ## Where we differ from the paper
#
# Every choice behind this page's data and densities that is not the paper's: what the paper did, what
# we do, why, and what it changes where stored runs measure it (`matfusion.ecd.deviations`).

# %% tags=["remove-input"]
from IPython.display import HTML, display  # noqa: E402

from matfusion.ecd.deviations import deviation_table, deviations_html  # noqa: E402
from matfusion.results import optional_lookups  # noqa: E402

with optional_lookups():  # measurements read reruns that may still be in progress
    deviations = deviation_table("10_ecd_data", ecd)
display(HTML(deviations_html(deviations)))

# %% [markdown]
# ## Claims decided on this page
#
# The claims this page is the evidence for, with their verdicts, from the book's one claims
# registry (`matfusion.verdicts`); the front page, "What holds", lists the same rows.

# %% tags=["remove-input"]
from IPython.display import HTML, display  # noqa: E402

from matfusion.verdicts import chapter_findings, findings_html  # noqa: E402

display(HTML(findings_html(chapter_findings("10_ecd_data", prof))))

# %% [markdown]
# ## Exercises
#
# Each exercise reruns this page with one parameter changed; `smoke` shows the mechanics in
# seconds, the teacher's answer comes from the stored `standard` data and runs.

# %% tags=["remove-input"]
from matfusion.chapters.exercises import exercises_markdown  # noqa: E402

show_markdown(exercises_markdown("10_ecd_data", prof))

# %% [markdown]
# ## Rerun this chapter
#
# One command reruns this page with other parameters; the box lists them with their defaults,
# the command, and how long the chapter took.

# %% tags=["remove-input"] mystnb={"markdown_format": "gfm"}
from matfusion.chapters.rerun_box import rerun_box
from matfusion.notebook import show_markdown

show_markdown(rerun_box("10_ecd_data"))
