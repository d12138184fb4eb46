"""Paper B's tables and sentences, built from stored run records (no training here).

Summaries of CV and LOEO records, the external predictions, the fusion gain, the LOEO win
counts, the provider comparison's paired differences, and the one-line captions that say
what a table's runs used. Everything reads records of :mod:`matfusion.ecd.experiments`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from matfusion.ecd.fitting import PRETRAINED_PARTS, TARGETS, EcdInputs
from matfusion.ecd.models import ECD_MODELS
from matfusion.ecd.reported import EXTERNAL_MODEL
from matfusion.ecd.settings import EcdProfile

__all__ = [
    "EXTERNAL_DFT_COLUMNS",
    "at_cap",
    "cv_summary",
    "density_note",
    "external_per_structure",
    "external_predictions",
    "fusion_gain",
    "left_out_sentence",
    "loeo_summary",
    "loeo_win_counts",
    "paired_provider_gain",
    "paired_runs",
    "cap_share",
    "run_caption",
    "settings_phrase",
]


def cv_summary(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Per target and model (in the paper's order): R2 and RMSE (GPa) averaged over folds and
    repeats, with the R2 spread and the number of runs."""
    rows = []
    for rec in records:
        c = rec["config"]
        rows.append({"target": c["target"], "model": c["model"], **rec["metrics"]})
    frame = pd.DataFrame(rows)
    grouped = frame.groupby(["target", "model"], sort=False)
    table = grouped.agg(
        R2=("r2", "mean"), R2_sd=("r2", "std"), RMSE_GPa=("rmse", "mean"), runs=("r2", "size")
    )
    order = [(t, m) for t in TARGETS for m in ECD_MODELS if (t, m) in table.index]
    return table.reindex(order)


def loeo_summary(records: list[dict[str, Any]], per_repeat: bool = False) -> pd.DataFrame:
    """One row per element x target x model: sizes, R2 and RMSE (mean over repeats), the
    spread of R2 over repeats (``R2 sd``, NaN for one) and ``repeats``; with ``per_repeat``
    one row per repeat instead (column ``repeat``), what :func:`loeo_win_counts` needs to
    check that the repeats agree."""
    rows = []
    for rec in records:
        c = rec["config"]
        rows.append(
            {
                "element": c["element"],
                "target": c["target"],
                "model": c["model"],
                "repeat": c["repeat"],
                "train_size": rec["sizes"]["train"],
                "test_size": rec["sizes"]["test"],
                "R2": rec["metrics"]["r2"],
                "RMSE": rec["metrics"]["rmse"],
            }
        )
    frame = pd.DataFrame(rows)
    if per_repeat:
        return frame
    grouped = frame.drop(columns="repeat").groupby(["element", "target", "model"], sort=False)
    table = grouped.mean()
    table["R2 sd"] = grouped["R2"].std()
    table["repeats"] = grouped.size()
    # the sizes are the same in every repeat: whole numbers, not means
    return table.reset_index().astype({"train_size": int, "test_size": int})


#: Our DFT column behind each target of the external validation (``dft_moduli.csv``): the
#: E-V bulk modulus (every structure has one) and the VRH shear modulus (insulators only).
EXTERNAL_DFT_COLUMNS = {"bulk": "K_eos_GPa", "shear": "G_vrh_GPa"}


def external_predictions(records: list[dict[str, Any]]) -> pd.DataFrame:
    """The predictions of :func:`run_external` records as one long table: id, formula,
    model, target, pred (GPa)."""
    frames = [
        pd.DataFrame(rec["predictions"]).assign(
            model=rec["config"]["model"], target=rec["config"]["target"]
        )
        for rec in records
    ]
    columns = ["id", "formula", "model", "target", "pred"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def external_per_structure(
    dft: pd.DataFrame,
    predictions: pd.DataFrame,
    target: str = "bulk",
    *,
    reference: str = EXTERNAL_MODEL,
) -> pd.DataFrame:
    """One row per external structure with a stored DFT value: our DFT modulus beside every
    model's prediction and the ``reference`` model's error, largest miss first (so a reader
    sees which structures are hard: magnetic, unstable, unusual chemistry). The reference is
    by default the model behind the paper's own figure.

    ``dft`` is :func:`matfusion.ecd.dft.load_dft_moduli` rows of the external set (id
    column), ``predictions`` :func:`external_predictions`. Rows the metrics leave out
    (``usable`` False, or ``counted`` False where :func:`matfusion.ecd.dft.metric_rows`
    added it) stay in the table, flagged."""
    if target not in EXTERNAL_DFT_COLUMNS:
        raise ValueError(f"unknown target {target!r}; expected one of {list(EXTERNAL_DFT_COLUMNS)}")
    values = dft.set_index("id")
    truth = values[EXTERNAL_DFT_COLUMNS[target]].dropna()
    wide = (
        predictions[predictions["target"] == target]
        .pivot(index="id", columns="model", values="pred")
        .reindex(truth.index)
    )
    models = [m for m in ECD_MODELS if m in wide.columns]
    flags = ["formula", "n_atoms", "metal", "spin_polarized", "magmom_muB", "ecut_eos_eV", "usable",
             "volume_ratio", "counted"]  # fmt: skip
    table = values.loc[truth.index, [c for c in flags if c in values.columns]].copy()
    table["DFT (GPa)"] = truth
    for model in models:
        table[model] = wide[model]
    if reference in models:
        table[f"{reference} - DFT"] = table[reference] - truth
        order = table[f"{reference} - DFT"].abs().sort_values(ascending=False, na_position="last")
        table = table.loc[order.index]
    return table


def fusion_gain(r2: pd.Series) -> float | None:
    """R2 of the fusion model minus the better of its two pre-trained parts (CNN+Magpie and
    2D-CNN+ECD), from one target's R2 by model; None when any of the three is missing."""
    names = ["Fusion(Magpie+ECD)", *PRETRAINED_PARTS]
    if not set(names) <= set(r2.index) or not np.isfinite(r2[names].to_numpy(float)).all():
        return None
    return float(r2[names[0]] - max(r2[p] for p in PRETRAINED_PARTS))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def density_note(provider: str, grid: int, valence: bool = False) -> str:
    """``provider`` densities on a grid (valence-only when ``valence``), saying when they
    are not DFT."""
    kind = "valence densities" if valence else "densities"
    return f"`{provider}` {kind} on a {grid}^3 grid" + (
        " (superposed free atoms, not DFT)" if provider == "promolecular" else ""
    )


def settings_phrase(profile: EcdProfile) -> str:
    """The density and CNN-training settings of ``profile``'s runs, as a phrase: what two
    sets of runs on one page may differ in."""
    return (
        f"{'valence' if profile.valence else 'all-electron'} densities, {profile.variant} "
        f"CNNs, at most {profile.epochs} epochs (patience {profile.patience}), "
        f"{_plural(profile.repeats, 'repeat')}"
    )


def run_caption(
    inputs: EcdInputs,
    design: str,
    *,
    elements: Sequence[str] = (),
    records: Sequence[dict[str, Any]] | None = None,
) -> str:
    """One line stating what a table's runs used: the density provider and grid (density
    models only), the number of materials, and the split (``design``: "cv" or "loeo", with
    the left-out ``elements``); built from the profile and the data, for the line above a
    table. With the table's ``records``, also how many network runs stopped at the epoch
    cap (a run there may still have been improving)."""
    prof = inputs.profile
    repeats = _plural(prof.repeats, "repeat")
    stored = len({r["config"]["repeat"] for r in records or ()})
    if records and stored < prof.repeats:
        repeats = f"{stored} of {repeats} stored"
    if design == "cv":
        split = f"{prof.folds}-fold CV, {repeats}"
    elif design == "loeo":
        split = (
            f"{_plural(len(elements), 'element')} left out one at a time "
            f"(test set: every material containing it), {repeats}"
        )
    else:
        raise ValueError(f"design must be 'cv' or 'loeo', not {design!r}")
    return (
        f"*Runs: {len(inputs.frame)} materials (Materials Project moduli), {split}; the "
        f"density models read {density_note(prof.provider, prof.grid, prof.valence)} "
        f"({prof.variant} CNNs, at most {prof.epochs} epochs)"
        + (f"; {cap_share(records)}" if records else "")
        + ".*"
    )


def at_cap(record: dict[str, Any]) -> bool | None:
    """Whether a network run trained up to its epoch cap (a run there may still have been
    improving); None for a run without epochs (the random forest)."""
    cap = (record["config"].get("train") or {}).get("epochs")
    if record["config"]["model"] == "RF+Magpie" or not cap:
        return None
    return int(record.get("epochs_run") or 0) >= cap


def cap_share(records: Sequence[dict[str, Any]]) -> str:
    """How many of the network runs in ``records`` trained up to their epoch cap
    (:func:`at_cap`), as a phrase."""
    flags = [f for f in map(at_cap, records) if f is not None]
    if not flags:
        return "no network run stored"
    n = sum(flags)
    return f"{n} of {_plural(len(flags), 'network run')} ({n / len(flags):.0%}) at the cap"


def left_out_sentence(info: dict[str, Any]) -> str:
    """The exclusion of :func:`comparison_left_out` (or the comparison's info) as a sentence;
    empty when nothing is left out."""
    elements = list(info["left_out_elements"])
    if not elements:
        return ""
    n = int(info["left_out_materials"])
    names = ", ".join(elements)
    return (
        f"{_plural(n, 'material')} containing {names} "
        f"{'is' if n == 1 else 'are'} left out (GPAW ships no PBE PAW setup for "
        f"{'it' if len(elements) == 1 else 'them'})."
    )


def loeo_win_counts(table: pd.DataFrame, metric: str = "R2") -> pd.Series:
    """Per model, in how many (left-out element, target) cases of a :func:`loeo_summary`
    table it is the best one: highest ``metric`` for "R2", lowest otherwise (RMSE); a tie
    goes to the model listed first. Cases without a finite value (R2 of a one-material test
    set) are left out. With a per-repeat table (column ``repeat``) a case counts only when
    the same model is best in every repeat: repeats that disagree leave it undecided. A
    Series indexed by every model of ``table`` (zero when it never wins).

    Not :func:`matfusion.analysis.compare.win_counts`, which counts paper A's datasets each
    model wins on MAE from a wide table, with shared wins for ties."""
    models = table["model"].unique()
    table = table[np.isfinite(table[metric].to_numpy(dtype=float))]
    keys = ["element", "target", *(["repeat"] if "repeat" in table.columns else [])]
    grouped = table.groupby(keys, sort=False)[metric]
    best = table.loc[grouped.idxmax() if metric == "R2" else grouped.idxmin()]
    if "repeat" in keys:  # one winner per case, kept only where every repeat agrees
        per_case = best.groupby(["element", "target"], sort=False)["model"]
        agreed = per_case.nunique() == 1
        best = per_case.first()[agreed].to_frame()
    return best["model"].value_counts().reindex(models, fill_value=0)


def paired_runs(
    per_run: pd.DataFrame,
    split_key: str,
    pair: tuple[str, str] = ("promolecular", "gpaw"),
    by: str = "provider",
) -> pd.DataFrame:
    """The runs both members of ``pair`` (values of column ``by``: "provider" or "source")
    made, one row per (target, model, repeat, ``split_key``) with ``R2 <first>``, ``R2
    <second>``, ``RMSE <first>``, ``RMSE <second>`` and ``delta`` (RMSE second minus first);
    empty unless both have runs."""
    first, second = pair
    index = ["target", "model", "repeat", split_key]
    if per_run.empty or not {first, second} <= set(per_run[by]):
        return pd.DataFrame()
    part = per_run[per_run[by].isin(pair)]
    wide = part.set_index([*index, by])[["R2", "RMSE"]].unstack(by)
    # paired: both ran (a one-material test set has an RMSE but no R2)
    wide = wide[wide[("RMSE", first)].notna() & wide[("RMSE", second)].notna()]
    wide.columns = [f"{metric} {name}" for metric, name in wide.columns]
    wide["delta"] = wide[f"RMSE {second}"] - wide[f"RMSE {first}"]
    return wide


def paired_provider_gain(
    per_run: pd.DataFrame,
    split_key: str,
    providers: tuple[str, str] = ("promolecular", "gpaw"),
    by: str = "provider",
) -> pd.DataFrame:
    """Per target and model: each provider's median R2 and mean RMSE over the paired runs
    (``per_fold`` of :func:`run_provider_comparison`; ``split_key`` "fold" or "element"),
    the mean RMSE change (second minus first provider, GPa) and in how many runs the second
    provider is better. Runs share their test set, so a lower RMSE is a higher R2: the count
    holds for both. Medians of R2 because one LOEO test set far from the training data can
    give an R2 of -10 and swamp a mean. Only runs present for both providers are paired
    (:func:`paired_runs`); ``by="source"`` pairs two density sources instead."""
    first, second = providers
    wide = paired_runs(per_run, split_key, providers, by)
    if wide.empty:
        return pd.DataFrame()
    grouped = wide.groupby(["target", "model"], sort=False)
    table = pd.DataFrame(
        {
            f"R2 median, {first}": grouped[f"R2 {first}"].median(),
            f"R2 median, {second}": grouped[f"R2 {second}"].median(),
            f"RMSE mean, {first}": grouped[f"RMSE {first}"].mean(),
            f"RMSE mean, {second}": grouped[f"RMSE {second}"].mean(),
            f"RMSE change, {second} - {first}": grouped["delta"].mean(),
            f"runs {second} better": grouped["delta"].apply(lambda d: int((d < 0).sum())),
            "runs": grouped["delta"].size(),
        }
    )
    order = [(t, m) for t in TARGETS for m in ECD_MODELS if (t, m) in table.index]
    return table.reindex(order)
