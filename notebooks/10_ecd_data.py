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

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

from matfusion.ecd.data import element_counts, load_ecd_dataset, loeo_elements, structures
from matfusion.ecd.density import density_difference, density_for, get_provider, gpaw_available
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
    paper_b_banner(prof, ecd, {"Density grid": f"{ecd.grid}^3, provider `{ecd.provider}`"})
)
if ecd_note:
    show_markdown(f"**{ecd_note}**")

# %% [markdown]
# ## The dataset
#
# Space group by pymatgen's `SpacegroupAnalyzer` at symprec 0.1; rows with a non-positive or
# non-finite modulus are dropped and counted (the counts are listed below).

# %%
full = load_ecd_dataset(progress=progress, verbose=False)
if ecd.max_materials is not None and len(full) > ecd.max_materials:
    rng = np.random.default_rng(ecd.seed)
    frame = full.iloc[np.sort(rng.choice(len(full), ecd.max_materials, replace=False))]
    frame = frame.reset_index(drop=True)
    show_markdown(f"The `{prof.name}` profile uses a seeded subsample of {len(frame)} materials.")
else:
    frame = full
sources = frame["source"].value_counts().rename("materials").to_frame()
sources.index.name = "source (newest first wins)"
show_markdown(
    f"**{len(full)} Fm-3m materials** without lanthanides or actinides (the paper: 2,170, "
    "its own VASP runs). How the table was made:\n\n"
    + "\n".join(f"* {line.removeprefix('ecd data: ')}" for line in full.attrs.get("log", []))
)
sources

# %% tags=["hide-input"]
fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
for ax, col, name in zip(axes, ["bulk_modulus", "shear_modulus"], ["bulk", "shear"], strict=True):
    ax.hist(frame[col], bins=40, color="C0" if name == "bulk" else "C1")
    ax.set_xlabel(f"{name} modulus K/G (VRH, GPa)")
    ax.set_ylabel("materials")
fig.suptitle(f"Moduli of the {len(frame)} materials (Materials Project DFT)")
plt.show()
frame[["bulk_modulus", "shear_modulus"]].describe().round(1).T

# %% tags=["hide-input"]
counts = element_counts(frame)
fig, ax = plt.subplots(figsize=(10, 3))
counts.head(40).plot.bar(ax=ax, color="C2")
ax.set_ylabel("materials containing it")
ax.set_title("Element counts (40 most common)")
plt.show()

# %% [markdown]
# ## Leave-one-element-out sets
#
# For an element E the test set is every material containing E. The paper's 11 elements are
# those in at least 200 of its 2,170 materials; our set is four times smaller, so their test
# sets are far smaller (below, beside the paper's sizes). Elements above a count threshold are
# added.

# %% tags=["hide-input"]
loeo = loeo_elements(frame, min_count=ecd.loeo_min_count).set_index("element")
paper_loeo = reported("ecd_loeo").drop_duplicates("element").set_index("element")
loeo["paper test size"] = paper_loeo["test_size"].reindex(loeo.index)
loeo["paper train size"] = paper_loeo["train_size"].reindex(loeo.index)
display(loeo)
odd, paper_total = loeo_size_mismatches()
if not odd.empty:
    rows_text = "; ".join(
        f"{r.element} ({r.train_size:,} + {r.test_size:,} = {r.sum:,}; a train size of "
        f"{paper_total - r.test_size:,} would fit)"
        for r in odd.itertuples()
    )
    show_markdown(
        f"*Note on the paper's sizes:* train + test size is {paper_total:,} in every row of the "
        f"paper's Table 1 except {rows_text}. The paper columns show the sizes as printed."
    )

# %% [markdown]
# ## Figure 1: densities of stiff and soft materials
#
# Slices through the cell (fractional axes, log colour scale) of the `promolecular` density:
# free-atom densities superposed, **not** a DFT density. The grid spans each primitive cell, so
# the same number of voxels covers a small cell finely and a large one coarsely.

# %% tags=["hide-input"]
order = frame.sort_values("bulk_modulus")
picks = pd.concat([order.tail(n_figure).iloc[::-1], order.head(n_figure)])
provider = get_provider("promolecular")
fig, axes = plt.subplots(2, len(picks), figsize=(3.0 * len(picks) + 1, 5.6))
for j, (_, row) in enumerate(picks.iterrows()):
    structure = structures(row.to_frame().T)[0]
    rho = density_for(structure, provider, ecd.grid).rho
    for i, (plane, label) in enumerate(
        [(rho[:, :, 0], "z = 0"), (rho[:, :, ecd.grid // 2], "z = 1/2")]
    ):
        image = axes[i, j].imshow(
            np.log10(plane + 1e-3), origin="lower", cmap="viridis", vmin=-3, vmax=3
        )
        axes[i, j].set_xticks([])
        axes[i, j].set_yticks([])
        if i == 0:
            axes[i, j].set_title(f"{row['formula']}\nK = {row['bulk_modulus']:.0f} GPa", fontsize=9)
        axes[i, j].set_ylabel(label if j == 0 else "")
fig.colorbar(image, ax=axes, shrink=0.8, label="log10 density (e/A^3)")
fig.suptitle(f"log10 density (e/A^3), promolecular, {ecd.grid}^3 grid on the primitive cell")
plt.show()

# %% tags=["hide-input"]
fig = plt.figure(figsize=(3.2 * len(picks), 3.2))
for j, (_, row) in enumerate(picks.iterrows()):
    structure = structures(row.to_frame().T)[0]
    rho = density_for(structure, provider, ecd.grid).rho
    idx = np.argwhere(rho > np.quantile(rho, 0.9))
    ax = fig.add_subplot(1, len(picks), j + 1, projection="3d")
    ax.scatter(*idx.T, c=np.log10(rho[tuple(idx.T)]), s=2, cmap="viridis")
    ax.set_title(row["formula"], fontsize=9)
    ax.set_axis_off()
fig.suptitle("Densest 10% of voxels (promolecular), in grid coordinates")
plt.show()

# %% [markdown]
# ## All-electron and valence densities
#
# The paper's CNNs read VASP's CHGCAR: the **valence** (pseudo) density, without the core
# electrons. An all-electron density is dominated by sharp peaks at the nuclei, which say
# mostly which element sits where; the valence density keeps the cloud between the atoms,
# where bonding lives. Below, the same slices (z = 0) of the stiffest and the softest
# material in both forms, on one colour scale, and each cell's electron count. The reruns of
# chapter 11 train on valence densities.

# %% tags=["hide-input"]
from matfusion.chapters.ecd_data import electron_table, valence_pairs  # noqa: E402

pairs = valence_pairs(pd.concat([picks.head(1), picks.tail(1)]), ecd.grid)
fig, axes = plt.subplots(len(pairs), 2, figsize=(6.4, 3.0 * len(pairs)), squeeze=False)
for i, pair in enumerate(pairs):
    for j, kind in enumerate(("all-electron", "valence")):
        image = axes[i, j].imshow(np.log10(pair[f"{kind} slice"] + 1e-3), origin="lower",
                                  cmap="viridis", vmin=-3, vmax=3)  # fmt: skip
        axes[i, j].set_xticks([])
        axes[i, j].set_yticks([])
        axes[i, j].set_title(f"{pair['formula']}, {kind}", fontsize=9)
fig.colorbar(image, ax=axes, label="log10 density (e/A^3)", shrink=0.8)
plt.show()
electron_table(pairs).style.format("{:.1f}", subset=["all-electron electrons",
                                                     "valence electrons"]).format(
    "{:.0%}", subset=["valence share between atoms"])  # fmt: skip

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

# %% tags=["hide-input"]
n_compare = n_gpaw if n_gpaw is not None else (1 if prof.name == "smoke" else 3)
if not gpaw_available():
    show_markdown(
        "GPAW is not installed here (`pip install 'matfusion[dft]'`): comparison skipped."
    )
    compare = pd.DataFrame()
else:
    wanted = ["NaCl", "MgO", "Al", "LiF", "KCl"]  # small cells, from the full set
    rows = full[full["formula"].isin(wanted)].drop_duplicates("formula")
    rows = rows.sort_values("formula", key=lambda s: s.map(wanted.index)).head(n_compare)
    gpaw = get_provider("gpaw")
    records, profiles = [], {}
    for _, row in rows.iterrows():
        structure = structures(row.to_frame().T)[0]
        a = density_for(structure, provider, ecd.grid)
        b = density_for(structure, gpaw, ecd.grid)
        moved = density_difference(a, b)
        records.append(
            {
                "formula": row["formula"],
                "electrons promolecular": a.electrons,
                "electrons GPAW": b.electrons,
                "expected": a.expected_electrons,
                "moved (electrons)": moved["moved"],
                "moved between atoms (electrons)": moved["moved_between_atoms"],
                "GPAW k-points": "x".join(map(str, b.meta.get("kpts") or [])),
                "GPAW seconds": round(b.meta.get("seconds") or float("nan"), 1),
            }
        )
        diag = np.arange(ecd.grid)
        profiles[row["formula"]] = (a.rho[diag, diag, diag], b.rho[diag, diag, diag])
    compare = pd.DataFrame(records).set_index("formula")
    fig, axes = plt.subplots(1, len(profiles), figsize=(4 * len(profiles), 3), squeeze=False)
    for ax, (name, (pa, pb)) in zip(axes[0], profiles.items(), strict=True):
        t = np.arange(ecd.grid) / ecd.grid
        ax.semilogy(t, pa, label="promolecular (not DFT)")
        ax.semilogy(t, pb, label="GPAW PBE (DFT)")
        ax.set_xlabel("position along the cell diagonal (fractional)")
        ax.set_title(name)
    axes[0][0].set_ylabel("density (e/A^3)")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"Density along the primitive cell's body diagonal, {ecd.grid}^3 grid")
    plt.tight_layout()
    plt.show()
compare.round(3)

# %% [markdown]
# ### Every material: how much does bonding move?
#
# The same measure for every material of the provider comparison in
# [the CV and LOEO chapter](11_ecd_cv_loeo.ipynb) (all materials GPAW has setups for; `smoke`:
# the few with the fewest electrons). Computing the GPAW densities takes about an hour on
# this machine, so every profile but `smoke` reads the stored per-material numbers
# (`results/ecd_density_diff/`, made by `matfusion ecd compare`). If the
# promolecular density were a good stand-in for the DFT one, few electrons would move; how
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
if moved_all is not None:
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    pct = 100 * moved_all["moved_between_atoms_fraction"]
    axes[0].hist(pct, bins=30, color="#d62728", alpha=0.8)
    axes[0].set_xlabel("electrons moved between atoms (% of all electrons)")
    axes[0].set_ylabel("materials")
    axes[1].scatter(moved_all["electronegativity_spread"], pct, s=8, alpha=0.6)
    axes[1].set_xlabel("electronegativity spread (Pauling, max - min)")
    axes[1].set_ylabel("moved between atoms (%)")
    fig.suptitle(f"GPAW (PBE) minus promolecular, {len(moved_all)} materials, {ecd.grid}^3 grid")
    plt.tight_layout()
    plt.show()
    rho_s = (
        moved_all[["electronegativity_spread", "moved_between_atoms_fraction"]]
        .corr(method="spearman")
        .iloc[0, 1]
    )
    show_markdown(
        f"{left_out_sentence(comparison_left_out(ecd))} "
        f"Median over {len(moved_all)} materials: {pct.median():.2f} % of the electrons sit "
        f"elsewhere between the atoms in the DFT density than in the promolecular one "
        f"(10th-90th percentile {pct.quantile(0.1):.2f}-{pct.quantile(0.9):.2f} %); all voxels "
        f"included, {100 * moved_all['moved_fraction'].median():.2f} %. Spearman correlation "
        f"with the electronegativity spread: {rho_s:+.2f}."
    )
    if "seconds_gpaw" in moved_all:
        timing = moved_all.groupby("atoms")["seconds_gpaw"].agg(
            materials="count", median_s="median", max_s="max"
        )
        show_markdown(
            "Seconds per GPAW density on this CPU (one thread; other jobs shared the machine "
            "while these were made), by atoms in the primitive cell:"
        )
        display(timing.round(1).rename(columns={"median_s": "median s", "max_s": "max s"}))

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
# ## Rerun this chapter
#
# One command reruns this page with other parameters; the box lists them with their defaults,
# the command, and how long the chapter took.

# %% tags=["remove-input"] mystnb={"markdown_format": "gfm"}
from matfusion.chapters.rerun_box import rerun_box
from matfusion.notebook import show_markdown

show_markdown(rerun_box("10_ecd_data"))
