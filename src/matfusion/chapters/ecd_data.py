"""Chapter 10 (paper B's data): the dataset and its subsample, the leave-one-element-out
sets beside the paper's, Figure 1's densities, all-electron against valence densities, and
how far the promolecular density is from GPAW's (per material, from the stored comparison).

The chapter loads, calls these and plots; the numbers its prose glues in come from
:func:`dataset_numbers`, :func:`paper_size_note`, :func:`moved_numbers` and
:func:`ionicity_split`, each of which also has a placeholder form for an execution that
lacks what it needs, so every glue name is glued on every path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from matfusion.profiles import Profile

__all__ = [
    "EXERCISES",
    "NOT_STORED",
    "GPAW_FORMULAS",
    "dataset_numbers",
    "density_slices",
    "electron_table",
    "extreme_picks",
    "gpaw_comparison",
    "gpaw_timing",
    "ionicity_split",
    "loeo_beside_paper",
    "moved_numbers",
    "paper_size_note",
    "plot_density_slices",
    "plot_dense_voxels",
    "plot_diagonal_profiles",
    "plot_moduli",
    "plot_moved",
    "plot_element_counts",
    "plot_valence_pairs",
    "subsample",
    "valence_pairs",
]

#: What a glued number says when the stored result it needs is missing.
NOT_STORED = "not stored yet"
#: Small cells compared with GPAW on the page, in this order.
GPAW_FORMULAS = ("NaCl", "MgO", "Al", "LiF", "KCl")


# --- the dataset ---------------------------------------------------------------------------


def subsample(full: pd.DataFrame, max_materials: int | None, seed: int) -> pd.DataFrame:
    """``full``, or a seeded subsample of ``max_materials`` rows in their original order."""
    if max_materials is None or len(full) <= max_materials:
        return full
    rng = np.random.default_rng(seed)
    picked = np.sort(rng.choice(len(full), max_materials, replace=False))
    return full.iloc[picked].reset_index(drop=True)


def dataset_numbers(full: pd.DataFrame, frame: pd.DataFrame, profile_name: str) -> dict[str, str]:
    """The dataset's numbers as the text the prose glues in: materials in the full set and on
    the page, and a sentence on the subsample (empty text when the page uses all)."""
    sub = (
        f" The {profile_name} profile uses a seeded subsample of {len(frame):,} of them."
        if len(frame) < len(full)
        else ""
    )
    return {
        "ecd_n_full": f"{len(full):,}",
        "ecd_n_page": f"{len(frame):,}",
        "ecd_subsample": sub,
    }


def source_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Materials per source file (the newest release wins a duplicate mp id)."""
    sources = frame["source"].value_counts().rename("materials").to_frame()
    sources.index.name = "source (newest first wins)"
    return sources


def build_log(full: pd.DataFrame) -> str:
    """The loader's log as a markdown list (its length varies with the data files)."""
    return "\n".join(f"* {line.removeprefix('ecd data: ')}" for line in full.attrs.get("log", []))


def loeo_beside_paper(frame: pd.DataFrame, min_count: int, paper: pd.DataFrame) -> pd.DataFrame:
    """The LOEO elements of ``frame`` (the paper's 11 where present, plus those in at least
    ``min_count`` materials) with the paper's test and train sizes (NaN where it has none);
    ``paper`` is the paper's LOEO table (columns element, test_size, train_size)."""
    from matfusion.ecd.data import loeo_elements

    loeo = loeo_elements(frame, min_count=min_count).set_index("element")
    sizes = paper.drop_duplicates("element").set_index("element")
    loeo["paper test size"] = sizes["test_size"].reindex(loeo.index)
    loeo["paper train size"] = sizes["train_size"].reindex(loeo.index)
    return loeo


def paper_size_note(odd: pd.DataFrame, total: int) -> dict[str, str]:
    """Glue text for the paper's Table 1 rows whose train + test size is not ``total``
    (``odd`` as :func:`matfusion.ecd.reported.loeo_size_mismatches` returns it)."""
    rows = "; ".join(
        f"{r.element} ({r.train_size:,} + {r.test_size:,} = {r['sum']:,}; a train size of "
        f"{total - r.test_size:,} would fit)"
        for _, r in odd.iterrows()
    )
    return {"ecd_paper_total": f"{total:,}", "ecd_paper_odd_rows": rows or "none"}


def extreme_picks(frame: pd.DataFrame, n: int) -> pd.DataFrame:
    """The ``n`` materials with the highest bulk modulus (stiffest first), then the ``n``
    with the lowest (softest first)."""
    order = frame.sort_values("bulk_modulus")
    return pd.concat([order.tail(n).iloc[::-1], order.head(n)])


# --- densities -----------------------------------------------------------------------------


def density_slices(rows: pd.DataFrame, grid: int, provider: str = "promolecular") -> list[dict]:
    """For each material of ``rows``: its formula, bulk modulus and ``provider``'s density
    on ``grid``^3 (the primitive cell)."""
    from matfusion.ecd.data import structures
    from matfusion.ecd.density import density_for, get_provider

    source = get_provider(provider)
    return [
        {
            "formula": row["formula"],
            "K": float(row["bulk_modulus"]),
            "rho": density_for(structure, source, grid).rho,
        }
        for structure, (_, row) in zip(structures(rows), rows.iterrows(), strict=True)
    ]


def valence_pairs(rows: pd.DataFrame, grid: int, *, plane: int = 0) -> list[dict[str, Any]]:
    """For each material of ``rows`` (an ECD data frame): the z = ``plane`` slice of its
    promolecular all-electron and valence densities on ``grid``^3, their electron counts
    and the share of the valence electrons that lies between the atoms (voxels below
    1 e/A^3 in the all-electron density)."""
    from matfusion.ecd.data import structures
    from matfusion.ecd.density import density_for, get_provider

    providers = {
        "all-electron": get_provider("promolecular"),
        "valence": get_provider("promolecular", valence=True),
    }
    out = []
    for structure, (_, row) in zip(structures(rows), rows.iterrows(), strict=True):
        dens = {name: density_for(structure, p, grid) for name, p in providers.items()}
        voxel = dens["valence"].volume / grid**3
        between = dens["all-electron"].rho < 1.0
        out.append(
            {
                "formula": row["formula"],
                **{f"{name} slice": d.rho[:, :, plane] for name, d in dens.items()},
                **{
                    f"{name} electrons": float(d.rho.sum() * d.volume / grid**3)
                    for name, d in dens.items()
                },
                "valence share between atoms": float(
                    dens["valence"].rho[between].sum() * voxel / (dens["valence"].rho.sum() * voxel)
                ),
            }
        )
    return out


def electron_table(pairs: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The counts of :func:`valence_pairs` as a table, one row per material."""
    columns = ["all-electron electrons", "valence electrons", "valence share between atoms"]
    return pd.DataFrame([{k: p[k] for k in columns} for p in pairs],
                        index=[p["formula"] for p in pairs])  # fmt: skip


def gpaw_comparison(
    full: pd.DataFrame, grid: int, n: int, formulas: Sequence[str] = GPAW_FORMULAS
) -> tuple[pd.DataFrame, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Promolecular against GPAW densities of the first ``n`` of ``formulas`` found in
    ``full``: a table (electron counts, electrons moved, GPAW k-points and seconds) and each
    material's two densities along the cell's body diagonal. Needs GPAW (minutes)."""
    from matfusion.ecd.data import structures
    from matfusion.ecd.density import density_difference, density_for, get_provider

    rows = full[full["formula"].isin(formulas)].drop_duplicates("formula")
    rows = rows.sort_values("formula", key=lambda s: s.map(list(formulas).index)).head(n)
    promolecular, gpaw = get_provider("promolecular"), get_provider("gpaw")
    records, profiles = [], {}
    diag = np.arange(grid)
    for structure, (_, row) in zip(structures(rows), rows.iterrows(), strict=True):
        a = density_for(structure, promolecular, grid)
        b = density_for(structure, gpaw, grid)
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
        profiles[row["formula"]] = (a.rho[diag, diag, diag], b.rho[diag, diag, diag])
    return pd.DataFrame(records).set_index("formula"), profiles


def moved_numbers(moved: pd.DataFrame | None) -> dict[str, str]:
    """Glue text for the stored per-material comparison (:func:`matfusion.ecd.experiments.
    run_density_comparison`): materials, median and 10th-90th percentile of the electrons
    moved between the atoms (% of all), the median over all voxels, and the Spearman
    correlation with the electronegativity spread. :data:`NOT_STORED` for each when None."""
    keys = ("ecd_moved_n", "ecd_moved_median", "ecd_moved_p10", "ecd_moved_p90",
            "ecd_moved_all", "ecd_moved_spearman")  # fmt: skip
    if moved is None or moved.empty:
        return dict.fromkeys(keys, NOT_STORED)
    pct = 100 * moved["moved_between_atoms_fraction"]
    rho = (
        moved[["electronegativity_spread", "moved_between_atoms_fraction"]]
        .corr(method="spearman")
        .iloc[0, 1]
    )
    values = (
        f"{len(moved):,}",
        f"{pct.median():.2f} %",
        f"{pct.quantile(0.1):.2f} %",
        f"{pct.quantile(0.9):.2f} %",
        f"{100 * moved['moved_fraction'].median():.2f} %",
        f"{rho:+.2f}",
    )
    return dict(zip(keys, values, strict=True))


def ionicity_split(moved: pd.DataFrame | None, threshold: float) -> dict[str, str]:
    """Glue text splitting the stored comparison at an electronegativity spread of
    ``threshold``: materials and median electrons moved between atoms (% of all) on each
    side. :data:`NOT_STORED` when nothing is stored; "no material" for an empty side."""
    keys = ("ecd_ionic_threshold", "ecd_ionic_n", "ecd_ionic_median",
            "ecd_covalent_n", "ecd_covalent_median")  # fmt: skip
    if moved is None or moved.empty:
        return {**dict.fromkeys(keys, NOT_STORED), "ecd_ionic_threshold": f"{threshold:g}"}
    pct = 100 * moved["moved_between_atoms_fraction"]
    ionic = moved["electronegativity_spread"] >= threshold

    def median(mask: pd.Series) -> str:
        return f"{pct[mask].median():.2f} %" if mask.any() else "no material"

    return {
        "ecd_ionic_threshold": f"{threshold:g}",
        "ecd_ionic_n": f"{int(ionic.sum()):,}",
        "ecd_ionic_median": median(ionic),
        "ecd_covalent_n": f"{int((~ionic).sum()):,}",
        "ecd_covalent_median": median(~ionic),
    }


def gpaw_timing(moved: pd.DataFrame | None) -> pd.DataFrame:
    """Seconds per GPAW density by atoms in the primitive cell (materials, median, max);
    empty when the stored comparison has no timings."""
    if moved is None or "seconds_gpaw" not in moved:
        return pd.DataFrame(columns=["materials", "median s", "max s"])
    timing = moved.groupby("atoms")["seconds_gpaw"].agg(
        materials="count", median_s="median", max_s="max"
    )
    return timing.round(1).rename(columns={"median_s": "median s", "max_s": "max s"})


# --- figures -------------------------------------------------------------------------------


def plot_moduli(frame: pd.DataFrame) -> Any:
    """Histograms of the bulk and shear moduli."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for ax, name, color in zip(axes, ["bulk", "shear"], ["C0", "C1"], strict=True):
        ax.hist(frame[f"{name}_modulus"], bins=40, color=color)
        ax.set_xlabel(f"{name} modulus K/G (VRH, GPa)")
        ax.set_ylabel("materials")
    fig.suptitle(f"Moduli of the {len(frame)} materials (Materials Project DFT)")
    return fig


def plot_element_counts(frame: pd.DataFrame, top: int = 40) -> Any:
    """Bar chart of the ``top`` most common elements."""
    import matplotlib.pyplot as plt

    from matfusion.ecd.data import element_counts

    fig, ax = plt.subplots(figsize=(10, 3))
    element_counts(frame).head(top).plot.bar(ax=ax, color="C2")
    ax.set_ylabel("materials containing it")
    ax.set_title(f"Element counts ({top} most common)")
    return fig


def _log_image(ax: Any, plane: np.ndarray) -> Any:
    image = ax.imshow(np.log10(plane + 1e-3), origin="lower", cmap="viridis", vmin=-3, vmax=3)
    ax.set_xticks([])
    ax.set_yticks([])
    return image


def plot_density_slices(slices: Sequence[dict], grid: int) -> Any:
    """Figure 1: the z = 0 and z = 1/2 planes of each density of :func:`density_slices`."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(slices), figsize=(3.0 * len(slices) + 1, 5.6), squeeze=False)
    for j, item in enumerate(slices):
        for i, (z, label) in enumerate([(0, "z = 0"), (grid // 2, "z = 1/2")]):
            image = _log_image(axes[i, j], item["rho"][:, :, z])
            axes[i, j].set_ylabel(label if j == 0 else "")
        axes[0, j].set_title(f"{item['formula']}\nK = {item['K']:.0f} GPa", fontsize=9)
    fig.colorbar(image, ax=axes, shrink=0.8, label="log10 density (e/A^3)")
    fig.suptitle(f"log10 density (e/A^3), promolecular, {grid}^3 grid on the primitive cell")
    return fig


def plot_dense_voxels(slices: Sequence[dict], quantile: float = 0.9) -> Any:
    """The densest voxels (above ``quantile``) of each density, in grid coordinates."""
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(3.2 * len(slices), 3.2))
    for j, item in enumerate(slices):
        rho = item["rho"]
        idx = np.argwhere(rho > np.quantile(rho, quantile))
        ax = fig.add_subplot(1, len(slices), j + 1, projection="3d")
        ax.scatter(*idx.T, c=np.log10(rho[tuple(idx.T)]), s=2, cmap="viridis")
        ax.set_title(item["formula"], fontsize=9)
        ax.set_axis_off()
    fig.suptitle(f"Densest {1 - quantile:.0%} of voxels (promolecular), in grid coordinates")
    return fig


def plot_valence_pairs(pairs: Sequence[dict]) -> Any:
    """All-electron beside valence slices of :func:`valence_pairs`, one colour scale."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(pairs), 2, figsize=(6.4, 3.0 * len(pairs)), squeeze=False)
    for i, pair in enumerate(pairs):
        for j, kind in enumerate(("all-electron", "valence")):
            image = _log_image(axes[i, j], pair[f"{kind} slice"])
            axes[i, j].set_title(f"{pair['formula']}, {kind}", fontsize=9)
    fig.colorbar(image, ax=axes, label="log10 density (e/A^3)", shrink=0.8)
    return fig


def plot_diagonal_profiles(profiles: dict[str, tuple[np.ndarray, np.ndarray]], grid: int) -> Any:
    """Promolecular and GPAW densities along each cell's body diagonal."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(profiles), figsize=(4 * len(profiles), 3), squeeze=False)
    t = np.arange(grid) / grid
    for ax, (name, (pa, pb)) in zip(axes[0], profiles.items(), strict=True):
        ax.semilogy(t, pa, label="promolecular (not DFT)")
        ax.semilogy(t, pb, label="GPAW PBE (DFT)")
        ax.set_xlabel("position along the cell diagonal (fractional)")
        ax.set_title(name)
    axes[0][0].set_ylabel("density (e/A^3)")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"Density along the primitive cell's body diagonal, {grid}^3 grid")
    fig.tight_layout()
    return fig


def plot_moved(moved: pd.DataFrame, grid: int) -> Any:
    """Histogram of the electrons moved between atoms, and their relation to ionicity."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    pct = 100 * moved["moved_between_atoms_fraction"]
    axes[0].hist(pct, bins=30, color="#d62728", alpha=0.8)
    axes[0].set_xlabel("electrons moved between atoms (% of all electrons)")
    axes[0].set_ylabel("materials")
    axes[1].scatter(moved["electronegativity_spread"], pct, s=8, alpha=0.6)
    axes[1].set_xlabel("electronegativity spread (Pauling, max - min)")
    axes[1].set_ylabel("moved between atoms (%)")
    fig.suptitle(f"GPAW (PBE) minus promolecular, {len(moved)} materials, {grid}^3 grid")
    fig.tight_layout()
    return fig


# --- exercises -----------------------------------------------------------------------------


def _ecd(profile: Profile) -> Any:
    from matfusion.ecd.settings import ecd_profile_for

    return ecd_profile_for(profile.name)[0]


def _page_frame(profile: Profile) -> pd.DataFrame:
    from matfusion.ecd.data import load_ecd_dataset

    ecd = _ecd(profile)
    return subsample(load_ecd_dataset(progress=False, verbose=False), ecd.max_materials, ecd.seed)


def _answer_loeo_threshold(profile: Profile, min_count: int = 20) -> str:
    from matfusion.paper import reported

    frame = _page_frame(profile)
    paper = reported("ecd_loeo")
    ecd = _ecd(profile)
    default = loeo_beside_paper(frame, ecd.loeo_min_count, paper)
    lower = loeo_beside_paper(frame, min_count, paper)
    added = [e for e in lower.index if e not in default.index]
    ratio = lower["test_size"] / lower["paper test size"]
    return (
        f"With `loeo_min_count = {min_count}` the {len(frame):,} materials give "
        f"{len(lower)} LOEO elements instead of {len(default)} (threshold "
        f"{ecd.loeo_min_count}); added: {', '.join(added) or 'none'}. The added elements have "
        f"test sets of {lower.loc[added, 'test_size'].min() if added else 0}-"
        f"{lower.loc[added, 'test_size'].max() if added else 0} materials and no paper size "
        f"to compare with. For the paper's elements our test sets are "
        f"{ratio.min():.0%}-{ratio.max():.0%} of the paper's (median {ratio.median():.0%}): a "
        "threshold adds cases, but each new case is small, so its R² rests on few materials."
    )


def _more_ionic_moves_more(moved: pd.DataFrame, threshold: float) -> bool:
    pct = moved["moved_between_atoms_fraction"]
    ionic = moved["electronegativity_spread"] >= threshold
    return bool(ionic.any() and (~ionic).any() and pct[ionic].median() > pct[~ionic].median())


def _answer_ionic(profile: Profile, threshold: float = 2.0) -> str:
    from matfusion.ecd.experiments import run_density_comparison

    ecd = _ecd(profile)
    moved = run_density_comparison(ecd, progress=False, missing="skip")
    if moved is None:
        raise ValueError(f"no promolecular-vs-GPAW comparison is stored for `{ecd.name}`")
    base = ionicity_split(moved, 1.0)
    split = ionicity_split(moved, threshold)
    more = [_more_ionic_moves_more(moved, t) for t in (1.0, threshold)]
    verdict = (
        "At both thresholds the more ionic side moves more electrons between the atoms "
        "(a median, not an interval)."
        if all(more)
        else "The more ionic side does not move more electrons at both thresholds."
    )
    return (
        f"Split at an electronegativity spread of {threshold:g}: {split['ecd_ionic_n']} "
        f"materials at or above it move a median {split['ecd_ionic_median']} of their electrons "
        f"between the atoms, the {split['ecd_covalent_n']} below it "
        f"{split['ecd_covalent_median']} (at the default 1: {base['ecd_ionic_median']} against "
        f"{base['ecd_covalent_median']}). {verdict} The medians describe the stored "
        "materials only; they test no claim of the paper."
    )


def _answer_figure(profile: Profile, n: int = 4) -> str:
    from matfusion.ecd.data import structures

    frame = _page_frame(profile)
    picks = extreme_picks(frame, n)
    volume = pd.Series([s.volume / len(s) for s in structures(picks)], index=picks.index)
    stiff, soft = picks.head(n), picks.tail(n)

    def names(rows: pd.DataFrame) -> str:
        return ", ".join(f"{r.formula} ({r.bulk_modulus:.0f} GPa)" for r in rows.itertuples())

    return (
        f"The {n} stiffest: {names(stiff)}; the {n} softest: {names(soft)}. Volume per atom: "
        f"{volume[stiff.index].min():.1f}-{volume[stiff.index].max():.1f} A^3 for the stiff "
        f"ones, {volume[soft.index].min():.1f}-{volume[soft.index].max():.1f} A^3 for the soft "
        "ones: among these extremes, stiffness goes with dense packing."
    )


def _exercises() -> tuple[Any, ...]:
    from matfusion.chapters.exercises import Exercise

    return (
        Exercise(
            "Lower the threshold that adds leave-one-element-out elements to 20 materials. "
            "Which elements join, and how large are their test sets next to the paper's?",
            {"loeo_min_count": 20},
            _answer_loeo_threshold,
            look_at="Leave-one-element-out sets",
        ),
        Exercise(
            "Split the per-material density comparison at an electronegativity spread of 2.0 "
            "instead of 1.0. Do the more ionic materials still move more electrons between "
            "the atoms?",
            {"ionic_threshold": 2.0},
            _answer_ionic,
            look_at="Every material: how much does bonding move?",
        ),
        Exercise(
            "Show four stiff and four soft materials in Figure 1. What do the stiffest and "
            "the softest have in common?",
            {"n_figure": 4},
            _answer_figure,
            look_at="Figure 1: densities of stiff and soft materials",
        ),
    )


#: This chapter's exercises (see :mod:`matfusion.chapters.exercises`).
EXERCISES = _exercises()
