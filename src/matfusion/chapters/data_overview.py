"""Chapter 01's data overview: sizes, sampled targets and composition lengths of the 28
datasets of paper A, the compounds that contain a CECV anchor element, and the split hashes.

Everything here reads the dataset files shipped in ``crabnet==2.0.8`` (no stored run, no
training); the chapter's prose glues in the numbers of :func:`overview_numbers`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from matfusion.profiles import Profile

__all__ = [
    "ROWS_BY_PROFILE",
    "EXERCISES",
    "anchor_numbers",
    "anchor_table",
    "element_counts",
    "overview_numbers",
    "plot_element_shares",
    "plot_sizes",
    "plot_target_histograms",
    "rows_for",
    "sample_datasets",
    "sample_stability",
    "size_table",
    "split_hashes",
    "target_stats",
]

#: Rows sampled per dataset for the distributions, by profile (None: every row).
ROWS_BY_PROFILE: dict[str, int | None] = {"smoke": 300, "standard": 5000}


def rows_for(profile: Profile, rows_per_dataset: int | None) -> int | None:
    """The rows to sample per dataset: ``rows_per_dataset`` when given, else the profile's
    (:data:`ROWS_BY_PROFILE`; every row for ``large`` and ``paper``)."""
    if rows_per_dataset is not None:
        if rows_per_dataset < 2:
            raise ValueError(f"rows_per_dataset must be at least 2, not {rows_per_dataset}")
        return int(rows_per_dataset)
    return ROWS_BY_PROFILE.get(profile.name)


def size_table(summary: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`matfusion.data.dataset_summary` with a ``total`` column (train + val + test),
    ordered from the smallest to the largest set."""
    if summary is None:
        from matfusion.data import dataset_summary

        summary = dataset_summary()
    total = summary["n_train"] + summary["n_val"] + summary["n_test"]
    return summary.assign(total=total.astype(int)).sort_values("total", kind="stable")


def _fold(name: str) -> int | None:
    from matfusion.data import get_dataset

    return 0 if get_dataset(name).kind == "matbench" else None


def sample_datasets(
    names: Sequence[str],
    rows: int | None,
    *,
    seed: int = 0,
    split: str = "train",
    progress: bool = False,
) -> pd.DataFrame:
    """One row per sampled compound of each dataset's ``split`` (Matbench: fold 0): dataset,
    kind, formula, target, number of elements and the atomic numbers present (a seeded
    sample of ``rows`` rows per dataset; every row when ``rows`` is None or larger)."""
    from tqdm.auto import tqdm

    from matfusion.data import get_dataset, load_split
    from matfusion.featurize import encode_formulas

    frames = []
    for name in tqdm(list(names), desc="datasets", disable=not progress):
        frame = load_split(name, split, fold=_fold(name))
        if rows is not None and len(frame) > rows:
            frame = frame.sample(rows, random_state=seed)
        elements = encode_formulas(frame["formula"].tolist()).elements
        frames.append(
            pd.DataFrame(
                {
                    "dataset": name,
                    "kind": get_dataset(name).kind,
                    "formula": frame["formula"].to_numpy(),
                    "target": frame["target"].to_numpy(dtype=float),
                    "n_elements": (elements > 0).sum(axis=1),
                    "elements": [tuple(int(z) for z in row if z > 0) for row in elements],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def target_stats(samples: pd.DataFrame, units: dict[str, str] | None = None) -> pd.DataFrame:
    """Per dataset of ``samples``: rows sampled, target mean, standard deviation, minimum
    and maximum, mean and largest number of elements, and the unit (when ``units`` names it)."""
    stats = samples.groupby("dataset", sort=False).agg(
        rows_sampled=("target", "size"),
        target_mean=("target", "mean"),
        target_std=("target", "std"),
        target_min=("target", "min"),
        target_max=("target", "max"),
        elements_mean=("n_elements", "mean"),
        elements_max=("n_elements", "max"),
    )
    if units is not None:
        stats["unit"] = [units.get(n, "") for n in stats.index]
    return stats


def element_counts(samples: pd.DataFrame, order: Sequence[str] | None = None) -> pd.DataFrame:
    """Sampled compounds per dataset (rows, in ``order``) and number of elements (columns)."""
    counts = samples.groupby(["dataset", "n_elements"]).size().unstack(fill_value=0)
    return counts.loc[list(order)] if order is not None else counts


def anchor_table(samples: pd.DataFrame, anchor: str, order: Sequence[str] | None = None):
    """Per dataset: sampled compounds that contain ``anchor``, their share of the sample and
    those of them with three or more elements (the compounds CECV can cluster)."""
    from pymatgen.core import Element

    z = Element(anchor).Z
    has = samples["elements"].map(lambda zs: z in zs)
    frame = samples.assign(with_anchor=has, cecv=has & (samples["n_elements"] >= 3))
    table = frame.groupby("dataset", sort=False).agg(
        sampled=("target", "size"),
        with_anchor=("with_anchor", "sum"),
        cecv=("cecv", "sum"),
    )
    table["share"] = table["with_anchor"] / table["sampled"]
    table = table.rename(
        columns={
            "with_anchor": f"with {anchor}",
            "cecv": f"with {anchor}, 3+ elements",
            "share": f"share with {anchor}",
        }  # fmt: skip
    )
    return table.loc[list(order)] if order is not None else table


def anchor_numbers(table: pd.DataFrame, anchor: str) -> dict[str, str]:
    """The numbers of an :func:`anchor_table` that chapter 01's prose quotes (glue names as
    keys): the anchor, its compounds over all samples, those CECV can use, and the dataset
    with the most of them ("none" when no sample has one)."""
    cecv = table[f"with {anchor}, 3+ elements"]
    top = cecv.idxmax() if cecv.max() > 0 else None
    return {
        "anchor": anchor,
        "anchor_total": f"{int(table[f'with {anchor}'].sum()):,}",
        "anchor_cecv": f"{int(cecv.sum()):,}",
        "anchor_top": "none (no sample has one)"
        if top is None
        else f"that of {top} ({int(cecv[top]):,} compound{'s' if cecv[top] != 1 else ''})",
    }


def overview_numbers(sizes: pd.DataFrame, samples: pd.DataFrame) -> dict[str, str]:
    """The numbers chapter 01's prose quotes, formatted as text (glue names as keys)."""
    extended = sizes[sizes["kind"] == "extended"]
    matbench = sizes[sizes["kind"] == "matbench"]
    smallest, largest = sizes.iloc[0], sizes.iloc[-1]
    n = samples["n_elements"]
    share_23 = float(((n == 2) | (n == 3)).mean())
    share_3 = float((n >= 3).mean())
    binaries = samples.assign(binary=n <= 2).groupby("dataset")["binary"].mean()
    return {
        "n_extended": str(len(extended)),
        "n_matbench": str(len(matbench)),
        "smallest_set": f"{smallest['name']} ({int(smallest['total']):,} rows)",
        "largest_set": f"{largest['name']} ({int(largest['total']):,} rows)",
        "size_ratio": f"{largest['total'] / smallest['total']:,.0f}",
        "rows_sampled": f"{len(samples):,}",
        "share_binary_ternary": f"{share_23:.0%}",
        "share_three_plus": f"{share_3:.0%}",
        "most_binary_set": f"{binaries.idxmax()} ({binaries.max():.0%} of its sample)",
        "max_elements": str(int(n.max())),
    }


def split_hashes(names: Sequence[str], length: int = 16) -> pd.DataFrame:
    """The first ``length`` hex digits of each dataset's training-split sha256 (Matbench:
    fold 0)."""
    from matfusion.data import split_sha256

    return pd.DataFrame(
        {
            "dataset": list(names),
            "train split sha256": [split_sha256(n, "train", fold=_fold(n))[:length] for n in names],
        }
    )


def plot_sizes(sizes: pd.DataFrame):
    """Horizontal bars of the rows per dataset (log scale; blue extended, orange Matbench)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 7))
    colours = np.where(sizes["kind"] == "extended", "C0", "C1")
    ax.barh(sizes["name"], sizes["total"], color=colours)
    ax.set_xscale("log")
    ax.set_xlabel("rows (train + val + test; Matbench: one fold's split of the whole task)")
    ax.set_title("Dataset sizes (blue: extended sets, orange: Matbench)")
    return fig


def plot_target_histograms(samples: pd.DataFrame, units: dict[str, str], ncols: int = 4):
    """One histogram of the sampled targets per dataset (in the order of ``samples``)."""
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(samples["dataset"]))
    nrows = int(np.ceil(len(names) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(14, 2.3 * nrows), squeeze=False)
    kinds = samples.groupby("dataset")["kind"].first()
    for ax, name in zip(axes.flat, names, strict=False):
        values = samples.loc[samples["dataset"] == name, "target"]
        ax.hist(values, bins=40, color="C0" if kinds[name] == "extended" else "C1")
        ax.set_title(name, fontsize=8)
        ax.set_xlabel(units.get(name, ""), fontsize=7)
        ax.tick_params(labelsize=7)
    for ax in axes.flat[len(names) :]:
        ax.axis("off")
    fig.suptitle("Target distributions (training split sample)")
    fig.tight_layout()
    return fig


def plot_element_shares(counts: pd.DataFrame):
    """Heat map of the share of each element count per dataset, annotated with the counts."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    shares = counts.div(counts.sum(axis=1), axis=0)
    fig, ax = plt.subplots(figsize=(9, 8))
    sns.heatmap(shares, annot=counts, fmt="d", cmap="viridis", cbar_kws={"label": "share"}, ax=ax)
    ax.set_xlabel("elements per compound")
    ax.set_ylabel("")
    ax.set_title("How many elements the compounds have (counts; colour = share)")
    return fig


def sample_stability(
    names: Sequence[str], small: int, large: int | None, *, seed: int = 0
) -> pd.DataFrame:
    """Per dataset: the mean number of elements and the target standard deviation in a
    ``small``-row sample against a ``large``-row one (None: every row), with the relative
    change of the standard deviation."""
    a = target_stats(sample_datasets(names, small, seed=seed))
    b = target_stats(sample_datasets(names, large, seed=seed))
    table = pd.DataFrame(
        {
            "elements_mean small": a["elements_mean"],
            "elements_mean large": b["elements_mean"],
            "target_std small": a["target_std"],
            "target_std large": b["target_std"],
        }
    )
    table["std change"] = table["target_std small"] / table["target_std large"] - 1
    return table


def _small_sets() -> list[str]:
    """The datasets the exercises' answers read: every set below 10,000 training rows
    (seconds to parse; the large OQMD, MP and AFLOW sets would take a minute)."""
    return list(size_table().query("n_train < 10000")["name"])


def _answer_rows(profile: Profile, small: int = 300) -> str:
    large = rows_for(profile, None)
    if large is not None and large <= small:  # smoke samples 300 rows itself
        large = ROWS_BY_PROFILE["standard"]
    names = _small_sets()
    table = sample_stability(names, small, large, seed=profile.seed)
    change = table["std change"].abs()
    worst = change.idxmax()
    shift = (table["elements_mean small"] - table["elements_mean large"]).abs()
    return (
        f"Over the {len(names)} sets with fewer than 10,000 training rows, the target standard "
        f"deviation of a {small}-row sample differs from that of the "
        f"{'full split' if large is None else f'{large:,}-row sample'} by "
        f"{change.median():.0%} at the median and by {change.max():.0%} at worst ({worst}); "
        f"the mean number of elements moves by at most {shift.max():.2f} ({shift.idxmax()}). "
        "Where a standard deviation moves by tens of percent, a few extreme values dominate "
        "it; the element counts hardly move."
    )


def _answer_anchor(profile: Profile, anchor: str = "O") -> str:
    names = _small_sets()
    samples = sample_datasets(names, rows_for(profile, None), seed=profile.seed)
    table = anchor_table(samples, anchor)
    si = anchor_table(samples, "Si")
    col, col3 = f"with {anchor}, 3+ elements", f"share with {anchor}"
    top = table[col].idxmax()
    return (
        f"In the samples of the {len(names)} sets with fewer than 10,000 training rows, "
        f"{int(table[f'with {anchor}'].sum()):,} compounds contain {anchor} against "
        f"{int(si['with Si'].sum()):,} with Si; {int(table[col].sum()):,} of the {anchor} "
        f"compounds have three or more elements (Si: {int(si['with Si, 3+ elements'].sum()):,}). "
        f"The most {anchor} compounds CECV could cluster are in {top} "
        f"({int(table.loc[top, col]):,}, {table.loc[top, col3]:.0%} of its sample has {anchor}). "
        "An anchor that is common gives CECV more compounds to cluster, so its counts are "
        "larger and less noisy."
    )


def _exercises() -> tuple[Any, ...]:
    from matfusion.chapters.exercises import Exercise

    return (
        Exercise(
            "The distributions and statistics come from a sample of each training split. "
            "Rerun with 300 rows per dataset instead of 5,000: which statistics move, and on "
            "which datasets?",
            {"rows_per_dataset": 300},
            _answer_rows,
            look_at="Targets and composition lengths",
        ),
        Exercise(
            "CECV (chapters 03 and 04) clusters the compounds that contain an anchor element. "
            "Change the anchor from Si to O: how many more compounds could CECV use, and where?",
            {"anchor": "O"},
            _answer_anchor,
            look_at="Compounds with the anchor element",
        ),
    )


#: This chapter's exercises (see :mod:`matfusion.chapters.exercises`).
EXERCISES = _exercises()
