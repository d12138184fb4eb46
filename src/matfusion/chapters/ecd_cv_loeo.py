"""Chapter 11 (paper B's cross-validation, leave-one-element-out and t-SNE): the expected
runs and what the store lacks, Table 2 and Tables 1 and 3 beside the paper's, the paired
comparisons of density sources (promolecular, GPAW all-electron and GPAW valence on the same
folds; promolecular against GPAW in LOEO), and the figures.

The chapter loads the runs, calls these and plots. The numbers its prose glues in come from
:func:`cv_best_numbers`, :func:`pair_cv_numbers` and :func:`provider_loeo_numbers`; each
returns the same glue names with a placeholder (:data:`NOT_STORED`) when the runs it needs
are missing, so every name is glued on every execution path. Whether a paper's claim holds is
decided by :mod:`matfusion.verdicts`, not here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from matfusion.profiles import Profile

__all__ = [
    "CORE_PAIR",
    "EXERCISES",
    "NOT_STORED",
    "PROVIDERS",
    "TARGETS",
    "VALENCE_COST",
    "complete_sources",
    "comparison_commands",
    "core_loeo_numbers",
    "cv_best_numbers",
    "cv_table",
    "expected_runs",
    "loeo_beside_paper",
    "loeo_wins",
    "materials_sentence",
    "paper_loeo_long",
    "plot_loeo_r2",
    "plot_loeo_rmse_change",
    "plot_out_of_fold",
    "pair_cv_numbers",
    "plot_source_r2",
    "plot_tsne",
    "provider_loeo_numbers",
    "provider_win_table",
    "run_comparison",
    "run_label",
    "smoke_note",
    "source_cv_table",
    "tsne_embeddings",
    "tsne_present",
    "undecided_cases",
    "unstored",
    "valence_cost",
    "valence_cost_sentence",
]

#: What a glued number says when the runs it needs are not stored.
NOT_STORED = "not stored yet"
#: The density providers the page's LOEO comparison pairs (under the profile's valence
#: setting); the CV comparison pairs density sources
#: (:func:`matfusion.ecd.experiments.comparison_sources`).
PROVIDERS = ("promolecular", "gpaw")
#: The pair of sources that differs only in the cores: GPAW valence minus all-electron.
CORE_PAIR = ("gpaw-all-electron", "gpaw-valence")
#: The measured cost of the GPAW valence densities (``benchmarks/gpaw_valence_cost.py``).
VALENCE_COST = Path("benchmarks") / "results" / "gpaw_valence_cost_cpu.json"
#: The moduli a glue name can be about (each is glued, run or not).
TARGETS = ("bulk", "shear")


# --- expected and missing runs -------------------------------------------------------------


def run_label(model: str, target: str, split: str, repeat: int, repeats: int) -> str:
    """One run's name in a missing-runs note: model / target, fold or element, and the
    repeat when there is more than one."""
    return f"{model} / {target} {split}" + (f" repeat {repeat}" if repeats > 1 else "")


def expected_runs(
    models: Sequence[str],
    targets: Sequence[str],
    splits: Sequence[tuple[Any, str]],
    repeats: int,
    providers: Sequence[str] = (),
) -> dict[tuple, str]:
    """The runs a table needs, keyed (model, target, split, repeat), or (provider, model,
    target, split, repeat) with ``providers``, with their labels. ``splits`` are (key,
    text) pairs: (fold, "fold 0") or (element, "without Cl")."""
    out: dict[tuple, str] = {}
    for provider in providers or (None,):
        for r in range(repeats):
            for t in targets:
                for key, text in splits:
                    for m in models:
                        label = run_label(m, t, text, r, repeats)
                        if provider is None:
                            out[(m, t, key, r)] = label
                        else:
                            out[(provider, m, t, key, r)] = f"{provider}: {label}"
    return out


def unstored(expected: dict[tuple, str], records: Iterable[dict], fields: Sequence[str]) -> list:
    """Labels of the ``expected`` runs (keyed by the values of ``fields``) that ``records``
    (run records, or rows of a per-run table) lack."""
    have = {tuple(r.get("config", r)[k] for k in fields) for r in records}
    return [label for key, label in expected.items() if key not in have]


def smoke_note(profile_name: str) -> str:
    """The sentence a smoke execution adds to its numbers (empty otherwise)."""
    return (
        " Smoke-sized runs: the numbers exercise the code only." if profile_name == "smoke" else ""
    )


# --- Table 2 -------------------------------------------------------------------------------


def cv_table(records: Sequence[dict], paper_cv: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Our CV summary (:func:`matfusion.ecd.tables.cv_summary`; empty without runs) and
    Table 2: R2 and RMSE beside the paper's (``paper_cv`` indexed by target and model) with
    the difference, and the runs behind each row."""
    from matfusion.ecd.tables import cv_summary
    from matfusion.notebook import with_difference

    if records:
        ours = cv_summary(list(records))
    else:
        ours = pd.DataFrame(
            columns=["R2", "R2_sd", "RMSE_GPa", "runs"],
            index=pd.MultiIndex.from_tuples([], names=["target", "model"]),
            dtype=float,
        )
    table = pd.concat(
        {
            "R2": with_difference(ours["R2"], paper_cv["R2"]),
            "RMSE (GPa)": with_difference(ours["RMSE_GPa"], paper_cv["RMSE_GPa"]),
        },
        axis=1,
    ).drop(columns=[("R2", "difference %"), ("RMSE (GPa)", "difference %")])
    table[("", "runs")] = ours["runs"]
    return ours, table


def cv_best_numbers(ours: pd.DataFrame, paper_cv: pd.DataFrame) -> dict[str, str]:
    """Per target of :data:`TARGETS`: our best model by mean CV R2 and its R2, the paper's,
    and the fusion's gain over the better of its two parts (ours and the paper's), as glue
    text ``cv_best_<target>``, ``cv_best_r2_<target>``, ``cv_paper_best_<target>``,
    ``cv_paper_best_r2_<target>``, ``cv_gain_<target>``, ``cv_paper_gain_<target>``."""
    from matfusion.ecd.tables import fusion_gain

    out: dict[str, str] = {}
    for target in TARGETS:
        paper = paper_cv.loc[target, "R2"]
        paper_best = paper.idxmax()
        paper_gain = fusion_gain(paper)
        out[f"cv_paper_best_{target}"] = paper_best
        out[f"cv_paper_best_r2_{target}"] = f"{paper.max():.3f}"
        out[f"cv_paper_gain_{target}"] = f"{paper_gain:+.3f}" if paper_gain is not None else "–"
        if target not in ours.index.get_level_values(0):
            for key in ("cv_best", "cv_best_r2", "cv_gain"):
                out[f"{key}_{target}"] = NOT_STORED
            continue
        r2 = ours.loc[target, "R2"]
        gain = fusion_gain(r2)
        out[f"cv_best_{target}"] = r2.idxmax()
        out[f"cv_best_r2_{target}"] = f"{r2.max():.3f}"
        out[f"cv_gain_{target}"] = f"{gain:+.3f}" if gain is not None else NOT_STORED
    return out


# --- density sources: promolecular, GPAW all-electron, GPAW valence ------------------------


def run_comparison(
    targets: Sequence[str],
    ecd: Any,
    sources: Sequence[str],
    *,
    settled: Sequence[str] = (),
    **options: Any,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """:func:`matfusion.ecd.experiments.run_provider_comparison` of ``sources``, with the
    store lookups of every source outside ``settled`` marked optional
    (:func:`matfusion.results.optional_lookups`): runs still to be computed, which the page
    lists as missing. One table and info, as one call returns them."""
    from matfusion.ecd.experiments import run_provider_comparison
    from matfusion.results import optional_lookups

    tables, infos = [], []
    for group, optional in (
        ([s for s in sources if s in settled], False),
        ([s for s in sources if s not in settled], True),
    ):
        if not group:
            continue
        with optional_lookups() if optional else nullcontext():
            table, info = run_provider_comparison(
                targets, ecd, list(sources), only=group, **options
            )
        tables.append(table)
        infos.append(info)
    info = dict(infos[0])
    sizes = {k: n for part in infos for k, n in part["materials"].items()}
    info["materials"] = {s: sizes[s] for s in sources if s in sizes}
    runs = [i["per_fold"] for i in infos if len(i["per_fold"])]
    info["per_fold"] = pd.concat(runs, ignore_index=True) if runs else infos[0]["per_fold"]
    if "elements" in info:
        info["elements"] = next((i["elements"] for i in infos if i["elements"]), None)
    parts = [t for t in tables if not t.empty]
    return (pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()), info


def materials_sentence(info: dict[str, Any], folds: int | None = None) -> str:
    """The materials a comparison of density sources ran on, what it leaves out, and how
    many of its network runs trained up to the epoch cap, as glue text."""
    from matfusion.ecd.tables import left_out_sentence

    sizes = info["materials"]
    every = "Both" if len(sizes) == 2 else f"All {len(sizes)}"
    head = (
        f"{every} density sources: the same {next(iter(sizes.values()))} materials"
        if len(set(sizes.values())) == 1
        else "Materials: " + ", ".join(f"{n} with {p} densities" for p, n in sizes.items())
    )
    if folds is not None:
        head += f", {folds}-fold CV"
    text = f"{head}. " + (left_out_sentence(info) or "No material is left out.")
    runs = info.get("per_fold")
    has_cap = runs is not None and "at_cap" in runs
    nets = runs["at_cap"].dropna().astype(bool) if has_cap else pd.Series(dtype=bool)
    if len(nets):
        text += (
            f" {int(nets.sum())} of {len(nets)} network runs ({nets.mean():.0%}) trained up "
            "to the epoch cap."
        )
    return text


def complete_sources(
    expected: dict[tuple, str], per_fold: pd.DataFrame, split_key: str = "fold"
) -> list[str]:
    """The sources all of whose ``expected`` runs (keyed source, model, target, fold or
    element (``split_key``), repeat as :func:`expected_runs` with ``providers=sources``) are
    in ``per_fold``."""
    have = {
        (r["source"], r["model"], r["target"], r[split_key], r["repeat"])
        for r in per_fold.to_dict("records")
    }
    sources = list(dict.fromkeys(key[0] for key in expected))
    return [s for s in sources if all(k in have for k in expected if k[0] == s)]


def _r2_gain(per_fold: pd.DataFrame, pair: tuple[str, str]) -> pd.DataFrame:
    """Per target and model: the R2 of ``pair[1]`` minus ``pair[0]``, paired by fold
    (:func:`matfusion.ecd.tables.paired_runs`): mean, sd over folds, folds better, runs."""
    from matfusion.ecd.tables import paired_runs

    wide = paired_runs(per_fold, "fold", pair, by="source")
    if wide.empty:
        return pd.DataFrame()
    gain = (wide[f"R2 {pair[1]}"] - wide[f"R2 {pair[0]}"]).groupby(["target", "model"], sort=False)
    return pd.DataFrame(
        {
            "mean": gain.mean(),
            "sd over folds": gain.std(),
            "better": gain.apply(lambda g: int((g > 0).sum())),
            "runs": gain.size(),
        }
    )


def gain_column(pair: tuple[str, str]) -> str:
    """The table's column of a pair's paired R2 difference."""
    return f"R2 gain, {pair[1]} - {pair[0]}"


def source_cv_table(
    by_source: pd.DataFrame,
    per_fold: pd.DataFrame,
    sources: Sequence[str],
    density_models: Sequence[str] | None = None,
) -> pd.DataFrame:
    """CV R2 and RMSE per target and model under each of ``sources`` side by side (NaN where
    a source has no run), and for every pair of them in which a density model (of
    ``density_models``; default every ECD model that reads a density) has paired runs, the R2
    gain of the later source over the earlier, paired by fold (mean, sd over folds, folds
    better); empty unless two sources have runs. (Magpie-only models read no density: their
    runs are shared, so every source has them and their gain is 0.)"""
    if density_models is None:
        from matfusion.ecd.experiments import DENSITY_MODELS

        density_models = DENSITY_MODELS
    if by_source.empty or by_source["source"].nunique() < 2:
        return pd.DataFrame()
    table = by_source.pivot_table(
        index=["target", "model"], columns="source", values=["R2", "RMSE_GPa"], sort=False
    )
    table = table.reindex(columns=pd.MultiIndex.from_product([["R2", "RMSE_GPa"], list(sources)]))
    for pair in combinations(sources, 2):
        gain = _r2_gain(per_fold, pair)
        if gain.empty or not gain.index.get_level_values("model").isin(density_models).any():
            continue
        column = gain_column(pair)
        table[(column, "mean")] = gain["mean"]
        table[(column, "sd over folds")] = gain["sd over folds"]
        table[(column, "folds better")] = [
            None if pd.isna(n) else f"{int(b)} of {int(n)}"  # NaN: no paired run in this cell
            for b, n in zip(
                gain["better"].reindex(table.index), gain["runs"].reindex(table.index),
                strict=True,
            )
        ]  # fmt: skip
    return table


def pair_cv_numbers(
    per_fold: pd.DataFrame,
    pair: tuple[str, str],
    complete: bool,
    density_models: Sequence[str],
    se_rule: float = 1.0,
    prefix: str = "pcv",
) -> dict[str, str]:
    """Glue text for one pair of the CV comparison (``pair[1]`` against ``pair[0]``, paired
    by fold): ``<prefix>_cells`` density-model cells, ``_runs`` folds per cell, ``_better``
    and ``_worse`` cells where the mean R2 gain exceeds ``se_rule`` standard errors or falls
    below minus that, ``_best`` and ``_best_gain`` the largest gain, and ``_rule``.
    :data:`NOT_STORED` unless ``complete`` (both sources' runs all stored)."""
    names = ("cells", "runs", "better", "worse", "best", "best_gain")
    keys = [f"{prefix}_{n}" for n in names]
    rule = {f"{prefix}_rule": f"{se_rule:g}"}
    gain = _r2_gain(per_fold, pair) if complete else pd.DataFrame()
    if gain.empty:
        return {**dict.fromkeys(keys, NOT_STORED), **rule}
    mean, sd = gain["mean"], gain["sd over folds"]
    is_density = mean.index.get_level_values("model").isin(density_models)
    n_runs = int(gain["runs"].max())
    stderr = se_rule * sd / np.sqrt(n_runs)
    best = mean[is_density].idxmax()
    values = (
        str(int(is_density.sum())),
        str(n_runs),
        str(int(((mean > stderr) & is_density).sum())),
        str(int(((mean < -stderr) & is_density).sum())),
        f"{best[1]} on {best[0]} modulus",
        f"{mean[best]:+.3f} ± {sd[best]:.3f}",
    )
    return {**dict(zip(keys, values, strict=True)), **rule}


def comparison_commands(profile_name: str, missing_sources: Sequence[str]) -> list[str]:
    """The command computing each source's missing runs of the CV comparison, one process
    per source (the default sources of ``matfusion ecd compare`` are the page's)."""
    return [f"matfusion ecd compare --profile {profile_name} --only {s}" for s in missing_sources]


def valence_cost(path: str | Path | None = None) -> dict[str, Any] | None:
    """The measured cost of the GPAW valence densities (:data:`VALENCE_COST` under the
    repository, written by ``benchmarks/gpaw_valence_cost.py``), or None without the file."""
    from matfusion.config import repo_root

    path = Path(path) if path is not None else repo_root() / VALENCE_COST
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def valence_cost_sentence(cost: dict[str, Any] | None, grid: int) -> str:
    """One sentence citing the measured estimate of the GPAW valence densities on ``grid``
    (empty without a measurement at that grid): CPU-hours, the scaling assumed, what was
    measured, when, and the file."""
    if cost is None or cost.get("grid") != grid:
        return ""
    est = cost["estimate"]
    measured = ", ".join(f"{m['formula']} {m['valence']['cpu_s']:.1f} s" for m in cost["measured"])
    check = cost.get("cross_check", {}).get("cpu_hours")
    return (
        f"The slow part is the GPAW valence densities of the {cost['materials']} materials "
        f"on the {grid}^3 grid, not computed here yet: about {est['cpu_hours']:.1f} CPU-hours "
        f"on one thread (measured: {measured} per material, {cost['date'][:10]}; "
        f"{est['scaling']}, the exponent fitted to the stored all-electron GPAW times"
        + (f"; scaling those by the measured valence/all-electron ratio gives {check:.1f}"
           if check is not None else "")
        + f"; `{VALENCE_COST.as_posix()}`)."
    )  # fmt: skip


# --- Tables 1 and 3 ------------------------------------------------------------------------


def paper_loeo_long(paper_loeo: pd.DataFrame, models: Sequence[str]) -> pd.DataFrame:
    """The paper's LOEO table (one column pair per model) as one row per element x target x
    model with R2 and RMSE."""
    long = []
    for model in models:
        part = paper_loeo[["element", "target", "train_size", "test_size"]].copy()
        part["model"] = model
        part["R2"] = paper_loeo[f"{model}_R2"]
        part["RMSE"] = paper_loeo[f"{model}_RMSE"]
        long.append(part)
    return pd.concat(long, ignore_index=True)


def loeo_beside_paper(loeo_table: pd.DataFrame, paper_long: pd.DataFrame) -> pd.DataFrame:
    """Our LOEO rows (:func:`matfusion.ecd.tables.loeo_summary`) beside the paper's: test
    size, R2 and RMSE of each, indexed by element, target and model."""
    key = ["element", "target", "model"]
    merged = loeo_table.merge(paper_long, on=key, how="left", suffixes=("", " paper"))
    spread = [c for c in ("R2 sd", "repeats") if c in merged.columns]
    return merged.set_index(key)[
        ["test_size", "test_size paper", "R2", *spread, "R2 paper", "RMSE", "RMSE paper"]
    ]


def loeo_wins(
    loeo_table: pd.DataFrame, paper_long: pd.DataFrame, per_repeat: pd.DataFrame | None = None
) -> pd.DataFrame:
    """R2 win counts per model: ours (a case counts only where every repeat has the same
    winner when ``per_repeat``, :func:`~matfusion.ecd.tables.loeo_summary` by repeat, is
    given), the paper's on the same element x target cases, and the paper's over all its
    cases."""
    from matfusion.ecd.tables import loeo_win_counts

    cases = loeo_table.set_index(["element", "target"]).index
    same = paper_long[paper_long.set_index(["element", "target"]).index.isin(cases)]
    wins = pd.DataFrame(
        {
            "ours (R2 wins)": loeo_win_counts(loeo_table if per_repeat is None else per_repeat),
            "paper (R2 wins)": loeo_win_counts(same),
            "paper, all 11 elements": loeo_win_counts(paper_long),
        }
    )
    return wins.fillna(0).astype(int)


def undecided_cases(n_cases: int | str, wins: pd.DataFrame) -> str:
    """How many of ``n_cases`` LOEO cases have no agreed winner (:func:`loeo_wins`), as glue
    text (:data:`NOT_STORED` without runs)."""
    if isinstance(n_cases, str) or wins.empty:
        return NOT_STORED
    return str(n_cases - int(wins["ours (R2 wins)"].sum()))


def loeo_cases(loeo_table: pd.DataFrame) -> int:
    """Element x target cases with a finite R2."""
    return loeo_table.dropna(subset=["R2"]).groupby(["element", "target"]).ngroups


def provider_win_table(
    by_provider: pd.DataFrame, paper_wins: pd.Series | None = None
) -> pd.DataFrame:
    """R2 win counts per model under each provider, with the paper's on the same cases."""
    from matfusion.ecd.tables import loeo_win_counts

    wins = pd.DataFrame(
        {
            f"R2 wins, {p}": loeo_win_counts(by_provider[by_provider["provider"] == p])
            for p in PROVIDERS
        }
    )
    if paper_wins is not None:
        wins["paper (R2 wins, VASP densities)"] = paper_wins
    return wins


def provider_loeo_numbers(
    pairs: pd.DataFrame,
    per_run: pd.DataFrame,
    wins: pd.DataFrame,
    complete: bool,
    density_models: Sequence[str],
) -> dict[str, str]:
    """Glue text for the paired LOEO comparison: cases, density-model runs where GPAW lowers
    the RMSE, and the density models' R2 wins under each provider out of all cases.
    :data:`NOT_STORED` unless ``complete``."""
    keys = ("ploeo_cases", "ploeo_better", "ploeo_runs", "ploeo_wins_promolecular",
            "ploeo_wins_gpaw", "ploeo_wins_total")  # fmt: skip
    if pairs.empty or not complete:
        return dict.fromkeys(keys, NOT_STORED)
    density = per_run[per_run["model"].isin(density_models)]
    cells = pairs[pairs.index.get_level_values("model").isin(density_models)]
    values = (
        density.groupby(["target", "element"]).ngroups,
        int(cells["runs gpaw better"].sum()),
        int(cells["runs"].sum()),
        int(wins.loc[list(density_models), "R2 wins, promolecular"].sum()),
        int(wins.loc[list(density_models), "R2 wins, gpaw"].sum()),
        int(wins["R2 wins, promolecular"].sum()),
    )
    return {k: str(v) for k, v in zip(keys, values, strict=True)}


def core_loeo_numbers(
    core: pd.DataFrame, pair: tuple[str, str], density_models: Sequence[str]
) -> dict[str, str]:
    """Glue text for the LOEO runs of the cores pair (``pair``, e.g. GPAW all-electron and
    valence; ``core`` from :func:`~matfusion.ecd.tables.paired_provider_gain` by source): the
    density-model runs where the second source lowers the RMSE, of all paired runs.
    :data:`NOT_STORED` while the pair is not stored."""
    out = {"ploeo_core_pair": f"{pair[1]} against {pair[0]}"}
    if core.empty:
        return out | dict.fromkeys(("ploeo_core_better", "ploeo_core_runs"), NOT_STORED)
    cells = core[core.index.get_level_values("model").isin(density_models)]
    return out | {
        "ploeo_core_better": str(int(cells[f"runs {pair[1]} better"].sum())),
        "ploeo_core_runs": str(int(cells["runs"].sum())),
    }


# --- t-SNE ---------------------------------------------------------------------------------


def tsne_present(frame: pd.DataFrame, wanted: Sequence[str]) -> list[str]:
    """The ``wanted`` elements some material of ``frame`` contains; if none, the most
    common element (small profiles may lack the paper's)."""
    elements = frame["elements"].str.split()
    present = [e for e in wanted if elements.apply(lambda s, e=e: e in s).any()]
    return present or [elements.explode().value_counts().index[0]]


def tsne_embeddings(magpie: np.ndarray, density: np.ndarray) -> dict[str, np.ndarray]:
    """2-D t-SNE of standardised Magpie vectors and of densities max-pooled to 10^3 (log
    scale), as the paper pools 60^3 with 6^3 windows."""
    import torch
    from sklearn.manifold import TSNE

    pooled = torch.nn.functional.adaptive_max_pool3d(
        torch.as_tensor(np.log1p(density))[:, None], 10
    )
    pooled = pooled.flatten(1).numpy()
    standard = (magpie - magpie.mean(0)) / (magpie.std(0) + 1e-9)
    perplexity = min(30.0, (len(magpie) - 1) / 3)

    def embed(x: np.ndarray) -> np.ndarray:
        return TSNE(perplexity=perplexity, random_state=0, init="pca").fit_transform(x)

    return {"Magpie": embed(standard), "max-pooled density": embed(pooled)}


# --- figures -------------------------------------------------------------------------------


def plot_out_of_fold(
    records: Sequence[dict], targets: Sequence[str], models: Sequence[str], title: str
) -> Any:
    """Out-of-fold predictions against the MP moduli, one panel per target x model."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(targets), len(models), figsize=(3 * len(models),
                             3 * len(targets)), squeeze=False)  # fmt: skip
    for i, target in enumerate(targets):
        for j, model in enumerate(models):
            ax = axes[i, j]
            recs = [r for r in records
                    if r["config"]["model"] == model and r["config"]["target"] == target]  # fmt: skip
            if not recs:
                ax.set_axis_off()
                continue
            y = np.concatenate([r["predictions"]["y"] for r in recs])
            p = np.concatenate([r["predictions"]["pred"] for r in recs])
            ax.scatter(y, p, s=6, alpha=0.6)
            lim = [0, max(y.max(), p.max()) * 1.05]
            ax.plot(lim, lim, "k--", lw=0.8)
            ax.set_title(f"{model}\n{target}", fontsize=9)
            ax.set_xlabel("MP DFT (GPa)")
            if j == 0:
                ax.set_ylabel("predicted (GPa)")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


#: Bar colours of the density sources (promolecular grey, GPAW red and blue).
SOURCE_COLORS = {
    "promolecular-all-electron": "#999999",
    "promolecular-valence": "#cccccc",
    "gpaw-all-electron": "#d62728",
    "gpaw-valence": "#1f77b4",
}


def plot_source_r2(table: pd.DataFrame, targets: Sequence[str], grid: int) -> Any:
    """CV R2 per model under each density source with runs, one panel per target; one
    legend below, naming a source whose runs are not stored for every model."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(targets), figsize=(5 * len(targets), 3.2), squeeze=False)
    gaps: set[str] = set()
    for ax, target in zip(axes[0], targets, strict=True):
        part = table.loc[target, "R2"].dropna(axis=1, how="all")
        gaps |= {s for s in part.columns if part[s].isna().any()}
        part.plot.barh(ax=ax, color=[SOURCE_COLORS.get(s, "#2ca02c") for s in part.columns],
                       legend=False)  # fmt: skip
        ax.set_xlabel("CV R2")
        ax.set_title(f"{target} modulus, {grid}^3 grid")
        ax.set_xlim(min(0.0, float(part.min().min())), 1.0)
    handles, labels = axes[0][0].get_legend_handles_labels()
    labels = [f"{s} (not stored for every model)" if s in gaps else s for s in labels]
    fig.legend(handles, labels, title="density source", loc="upper center",
               bbox_to_anchor=(0.5, 0), ncol=len(labels))  # fmt: skip
    fig.tight_layout()
    return fig


def plot_loeo_r2(loeo_table: pd.DataFrame, targets: Sequence[str], title: str) -> Any:
    """LOEO R2 per element and model (clipped at -1), one panel per target."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, len(targets), figsize=(5 * len(targets), 3.2), squeeze=False)
    for k, target in enumerate(targets):
        sub = loeo_table[loeo_table["target"] == target].pivot(
            index="element", columns="model", values="R2"
        )
        if sub.empty:
            ax[0, k].set_axis_off()
            continue
        sub.clip(lower=-1).plot.bar(ax=ax[0, k], width=0.8, legend=False)
        ax[0, k].set_title(f"LOEO R2 ({target}; clipped at -1)")
        ax[0, k].set_ylabel("test R2 (dimensionless)")
        ax[0, k].axhline(0, color="k", lw=0.6)
    handles, labels = ax[0, 0].get_legend_handles_labels()  # one legend, beside no bar
    if labels:
        fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0), ncol=len(labels))
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_loeo_rmse_change(
    per_run: pd.DataFrame, targets: Sequence[str], density_models: Sequence[str]
) -> Any:
    """LOEO RMSE of GPAW minus promolecular per element, density models only."""
    import matplotlib.pyplot as plt

    runs = per_run[per_run["model"].isin(density_models)]
    change = runs.pivot_table(
        index=["target", "element"], columns=["model", "provider"], values="RMSE"
    )
    fig, axes = plt.subplots(1, len(targets), figsize=(5 * len(targets), 3.4), squeeze=False)
    for ax, target in zip(axes[0], targets, strict=True):
        sub = change.loc[target]
        delta = pd.DataFrame({m: sub[(m, "gpaw")] - sub[(m, "promolecular")]
                              for m in density_models})  # fmt: skip
        delta.plot.bar(ax=ax, width=0.8, color=["#1f77b4", "#d62728"])
        ax.axhline(0, color="k", lw=0.6)
        ax.set_ylabel("RMSE change, GPAW - promolecular (GPa)")
        ax.set_title(f"{target} modulus: below 0 = GPAW better")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_tsne(
    frame: pd.DataFrame, embeddings: dict[str, np.ndarray], elements: Sequence[str], title: str
) -> Any:
    """Each embedding with the LOEO training rows blue and the test rows (materials with the
    element) red, one row of panels per element."""
    import matplotlib.pyplot as plt

    from matfusion.ecd.data import loeo_split

    fig, axes = plt.subplots(len(elements), 2, figsize=(8, 3.6 * len(elements)), squeeze=False)
    for i, element in enumerate(elements):
        train_rows, test_rows = loeo_split(frame, element)
        for j, (name, xy) in enumerate(embeddings.items()):
            ax = axes[i, j]
            ax.scatter(*xy[train_rows].T, s=5, c="tab:blue", label="train")
            ax.scatter(*xy[test_rows].T, s=9, c="tab:red", label=f"test (contains {element})")
            ax.set_title(f"{name}: LOEO {element}", fontsize=10)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


# --- exercises -----------------------------------------------------------------------------


def _stored(profile: Profile, design: str) -> tuple[Any, list[dict]]:
    from matfusion.ecd.experiments import LOEO_MODELS, run_cv, run_loeo
    from matfusion.ecd.fitting import prepare_inputs
    from matfusion.ecd.models import ECD_MODELS
    from matfusion.ecd.settings import ecd_profile_for
    from matfusion.results import optional_lookups

    ecd = ecd_profile_for(profile.name)[0]
    inputs = prepare_inputs(ecd, need_density=False, progress=False, verbose=False)
    run = run_cv if design == "cv" else run_loeo
    models = ECD_MODELS if design == "cv" else LOEO_MODELS
    # LOEO repeats are still being computed: the answer reads the stored ones
    with optional_lookups() if design == "loeo" else nullcontext():
        records = run(list(models), list(TARGETS), inputs, progress=False, missing="skip")
    if not records:
        raise ValueError(f"no {design.upper()} run is stored for `{ecd.name}`")
    return ecd, records


def _answer_shear(profile: Profile) -> str:
    from matfusion.paper import reported

    _, records = _stored(profile, "cv")
    ours, _ = cv_table(records, reported("ecd_cv").set_index(["target", "model"]))
    paper = reported("ecd_cv").set_index(["target", "model"])
    n = cv_best_numbers(ours, paper)
    if n["cv_best_shear"] == NOT_STORED:
        raise ValueError("no shear-modulus CV run is stored")
    ranking = ours.loc["shear", "R2"].sort_values(ascending=False)
    return (
        f"Shear modulus, mean CV R² over {int(ours.loc['shear', 'runs'].max())} runs per "
        "model: " + ", ".join(f"{m} {v:.3f}" for m, v in ranking.items()) + ". "
        f"Best: {n['cv_best_shear']} (the paper's best: {n['cv_paper_best_shear']}, "
        f"{n['cv_paper_best_r2_shear']}); fusion against the better of its two parts: "
        f"{n['cv_gain_shear']} (the paper: {n['cv_paper_gain_shear']}). Whether the fusion is "
        "best by more than the spread over runs is the registry's claim B-cv-fusion-shear "
        "under *Claims decided on this page*."
    )


def _answer_elements(profile: Profile, elements: Sequence[str] = ("F", "Cs")) -> str:
    from matfusion.ecd.tables import loeo_summary

    _, records = _stored(profile, "loeo")
    table = loeo_summary(records)
    parts = []
    for element in elements:
        rows = table[(table["element"] == element) & (table["target"] == "bulk")]
        if rows.empty:
            parts.append(f"{element}: no stored LOEO run")
            continue
        rows = rows.sort_values("R2", ascending=False)
        parts.append(
            f"without {element} ({int(rows['test_size'].iloc[0])} test materials), bulk R²: "
            + ", ".join(f"{r.model} {r.R2:.2f}" for r in rows.itertuples())
        )
    return (
        "; ".join(parts) + ". The t-SNE panels show whether these test materials sit inside or "
        "beside the training cloud; one element's test set is small, so its ranking is one "
        "case of the win counts, not a verdict."
    )


def _answer_se_rule(profile: Profile, se_rule: float = 2.0) -> str:
    from matfusion.ecd.experiments import DENSITY_MODELS, pair_sources, run_provider_comparison
    from matfusion.ecd.settings import ecd_profile_for

    ecd = ecd_profile_for(profile.name)[0]
    pair = pair_sources(ecd)
    _, info = run_provider_comparison(list(TARGETS), ecd, pair, progress=False,
                                      missing="skip")  # fmt: skip
    one = pair_cv_numbers(info["per_fold"], pair, True, DENSITY_MODELS, 1.0)
    two = pair_cv_numbers(info["per_fold"], pair, True, DENSITY_MODELS, se_rule)
    if two["pcv_cells"] == NOT_STORED:
        raise ValueError(f"the paired {pair[0]}/{pair[1]} CV runs of `{ecd.name}` are not stored")
    return (
        f"Of {two['pcv_cells']} density-model cells ({two['pcv_runs']} paired folds each), "
        f"GPAW's mean R² gain over the promolecular density ({pair[1]} against {pair[0]}) "
        f"exceeds {se_rule:g} standard errors in {two['pcv_better']} and "
        f"falls below minus that in {two['pcv_worse']} (at one standard error: "
        f"{one['pcv_better']} better, {one['pcv_worse']} worse). A stricter rule moves cells "
        "from 'better' or 'worse' to 'tie'; the largest gain is "
        f"{two['pcv_best']} ({two['pcv_best_gain']})."
    )


def _exercises() -> tuple[Any, ...]:
    from matfusion.chapters.exercises import Exercise

    return (
        Exercise(
            "Rerun the page for the shear modulus only. Which model has the best CV R², and "
            "does fusing the density with Magpie gain as much as in the paper?",
            {"targets": ["shear"]},
            _answer_shear,
            look_at="Table 2: five-fold cross-validation",
        ),
        Exercise(
            "Mark the materials containing F and Cs in the t-SNE instead of Cl and Tl. How "
            "well do the models extrapolate to these elements in the leave-one-element-out "
            "runs?",
            {"tsne_elements": ["F", "Cs"]},
            _answer_elements,
            look_at="Figure 4: t-SNE of Magpie vectors and of max-pooled densities",
        ),
        Exercise(
            "Count a GPAW gain in the CV comparison only when it exceeds two standard errors "
            "instead of one. How many density-model cells still improve?",
            {"se_rule": 2.0},
            _answer_se_rule,
            look_at="Does a real DFT density help?",
        ),
    )


#: This chapter's exercises (see :mod:`matfusion.chapters.exercises`).
EXERCISES = _exercises()
