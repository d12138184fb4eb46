"""Chapter 12 (paper B's Figure 5, against our own DFT): the stored GPAW settings, the check
against the Materials Project, which external rows count in the metrics, the external-set
metrics beside the paper's, and the external structures one by one.

The chapter loads the stored DFT moduli and runs, calls these and plots. The numbers its
prose glues in come from the ``*_numbers`` functions; each returns the same glue names with
a placeholder (:data:`NOT_STORED`) when what it needs is missing, so every name is glued on
every execution path. The verdict on the paper's R² is :mod:`matfusion.verdicts`'
``B-external-dft``, not decided here.
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
    "check_table",
    "external_command",
    "external_metrics",
    "external_rows",
    "external_status_numbers",
    "failures_note",
    "miss_numbers",
    "paper_figure_numbers",
    "plot_check",
    "plot_external",
    "settings_numbers",
    "share_numbers",
    "shear_note",
    "spin_numbers",
]

#: What a glued number says when what it needs is not stored.
NOT_STORED = "not stored yet"
#: Fewer points than this give no R² (a handful of points says nothing).
MIN_POINTS_R2 = 5


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def settings_numbers(dft: pd.DataFrame) -> dict[str, str]:
    """Glue text for the stored GPAW settings (``setting_*`` columns, last stored value) and
    the cutoff check: rows that pass it, those that needed a higher cutoff, and of the older
    rows (E-V fit stored before the check) how many were checked afterwards, how many failed
    (left out until recomputed) and how many are still unchecked."""
    settings = [c for c in dft.columns if c.startswith("setting_") and dft[c].notna().any()]
    checked = dft["ecut_eos_eV"].notna()  # NaN: not checked, or failed the check
    after = (
        dft["eos_cutoff_check"].fillna("").astype(str) != ""
        if "eos_cutoff_check" in dft.columns
        else pd.Series(False, index=dft.index)
    )
    return {
        "dft_settings": ", ".join(
            f"{c.removeprefix('setting_')} = {dft[c].dropna().iloc[-1]}" for c in settings
        ),
        "dft_residual": f"{dft['setting_cij_max_residual_GPa'].dropna().iloc[-1]:g}",
        "dft_checked": str(int(checked.sum())),
        "dft_rows": str(len(dft)),
        "dft_raised": str(int((dft["ecut_eos_eV"] > dft["setting_ecut_eV"]).sum())),
        "dft_older": str(int((after | ~checked).sum())),
        "dft_older_ecut": f"{dft['setting_ecut_eV'].iloc[0]:g}",
        "dft_checked_after": str(int((after & checked).sum())),
        "dft_failed_check": str(int((after & ~checked).sum())),
        "dft_unchecked": str(int((~after & ~checked).sum())),
    }


def check_table(dft: pd.DataFrame, mp: pd.DataFrame) -> pd.DataFrame:
    """Our GPAW moduli of the MP check materials beside MP's (``mp`` indexed by mp id), with
    the differences in percent."""
    check = dft[dft["id"].str.startswith("mp-")].set_index("id")
    table = pd.DataFrame(
        {
            "formula": check["formula"],
            "metal": check["metal"],
            "K MP": mp["bulk_modulus"].reindex(check.index),
            "K ours (E-V)": check["K_eos_GPa"],
            "K ours (C_ij)": check["K_vrh_GPa"],
            "G MP": mp["shear_modulus"].reindex(check.index),
            "G ours (C_ij)": check["G_vrh_GPa"],
            "C11": check["C11"],
            "C12": check["C12"],
            "C44": check["C44"],
            "GPAW seconds": check["seconds"],
        }
    )
    table["K diff %"] = 100 * (table["K ours (E-V)"] / table["K MP"] - 1)
    table["G diff %"] = 100 * (table["G ours (C_ij)"] / table["G MP"] - 1)
    return table


def check_numbers(table: pd.DataFrame) -> dict[str, str]:
    """Glue text: check materials and the median and largest absolute bulk-modulus
    difference from MP (percent)."""
    diff = table["K diff %"].abs().dropna()
    if diff.empty:
        return dict.fromkeys(("dft_check_n", "dft_check_median", "dft_check_max"), NOT_STORED)
    return {
        "dft_check_n": str(len(diff)),
        "dft_check_median": f"{diff.median():.1f} %",
        "dft_check_max": f"{diff.max():.1f} %",
    }


def external_rows(
    dft: pd.DataFrame, max_volume_shift: float | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The stored external rows (indexed by id) with ``volume_ratio``, ``counted`` and
    ``reason`` (:func:`matfusion.ecd.dft.metric_rows`), those counted, and the metric table
    itself."""
    from matfusion.ecd.dft import metric_rows

    kwargs = {} if max_volume_shift is None else {"max_volume_shift": max_volume_shift}
    metric = metric_rows(dft, **kwargs).set_index("id")
    ext_all = dft[dft["id"].str.startswith("wbm")].set_index("id")
    ext_all = ext_all.join(metric[["volume_ratio", "counted", "reason"]])
    return ext_all, ext_all[ext_all["counted"].astype(bool)], metric


def external_status_numbers(
    external_all: pd.DataFrame,
    ext_all: pd.DataFrame,
    ext_dft: pd.DataFrame,
    exclude_elements: Sequence[str],
    failures: pd.DataFrame,
) -> dict[str, str]:
    """Glue text on the external set: structures, covered by our DFT, counted, left out,
    metals, mechanically unstable, spin-polarised, without a PAW setup, and not computed yet
    (without and with a magnetic element; failed cells are not counted as to do)."""
    from matfusion.ecd.data import contains_any
    from matfusion.ecd.dft import MAGNETIC_ELEMENTS

    magnetic = contains_any(external_all, MAGNETIC_ELEMENTS)
    no_setup = contains_any(external_all, exclude_elements)
    spin_done = ext_all.index[ext_all["spin_polarized"].astype(bool)]
    tried = external_all["mp_id"].isin(failures["id"]) if len(failures) else False
    stored = external_all["mp_id"].isin(ext_all.index)
    todo = ~stored & ~magnetic & ~no_setup & ~tried
    magnetic_todo = magnetic & ~no_setup & ~external_all["mp_id"].isin(spin_done) & ~tried
    return {
        "ext_n": str(len(external_all)),
        "ext_covered": str(int(stored.sum())),
        "ext_counted": str(len(ext_dft)),
        "ext_left_out": str(len(ext_all) - len(ext_dft)),
        "ext_metals": str(int(ext_dft["metal"].astype(bool).sum())),
        "ext_unstable": str(int((ext_dft["stable"] == False).sum())),  # noqa: E712
        "ext_spin": str(len(spin_done)),
        "ext_no_setup": str(int(no_setup.sum())),
        "ext_no_setup_elements": ", ".join(exclude_elements) or "none",
        "ext_todo": str(int(todo.sum())),
        "ext_magnetic_todo": str(int(magnetic_todo.sum())),
    }


def failures_note(failures: pd.DataFrame) -> str:
    """Markdown naming each cell our GPAW runs could not compute (empty when none): its
    length varies, so the page shows it as it is."""
    if not len(failures):
        return ""
    cells = "; ".join(
        f"{row.formula} ({row.n_atoms} atoms{', spin-polarised' if row.spin_polarized else ''}"
        f", {row.seconds / 60:.0f} min): {row.error.split(': ', 1)[-1]}"
        for row in failures.itertuples()
    )
    return (
        f"**{len(failures)} cell(s) our GPAW runs could not compute** with these settings "
        f"(stored in `dft_moduli_failures.csv`; a batch skips them until `--redo ID`): {cells}."
    )


def external_command(ecd_name: str) -> str:
    """The command that makes the missing external-set runs."""
    return f"matfusion ecd external --profile {ecd_name}"


def external_metrics(
    preds: pd.DataFrame, truth: dict[str, pd.Series], models: Sequence[str]
) -> pd.DataFrame:
    """R², RMSE and n per target and model of ``preds`` (columns id, model, target, pred)
    against ``truth`` (per target, our DFT values by id), on the rows with a finite value;
    R² is NaN below :data:`MIN_POINTS_R2` points. Targets with fewer than two values are
    left out."""
    from matfusion.train.metrics import regression_metrics

    rows = []
    for target, values in truth.items():
        values = values.dropna()
        if len(values) < 2 or preds.empty:
            continue
        for model in models:
            sub = preds[(preds["model"] == model) & (preds["target"] == target)].set_index("id")
            shared = sub.index.intersection(values.index)
            if len(shared) < 2:
                continue
            m = regression_metrics(
                values[shared].to_numpy(float), sub.loc[shared, "pred"].to_numpy()
            )
            rows.append({"target": target, "model": model,
                         "R2": m["r2"] if m["n"] >= MIN_POINTS_R2 else float("nan"),
                         "RMSE_GPa": m["rmse"], "n": m["n"]})  # fmt: skip
    return pd.DataFrame(rows, columns=["target", "model", "R2", "RMSE_GPa", "n"])


def shear_note(ext_dft: pd.DataFrame, truth: dict[str, pd.Series]) -> str:
    """Why the figure has no shear row, as glue text (empty when it has one)."""
    n_shear = int(truth["shear"].notna().sum())
    if n_shear >= 2 or not len(ext_dft):
        return ""
    n_metal = int(ext_dft["metal"].astype(bool).sum())
    n_insulator = len(ext_dft) - n_metal
    n_unstable = int((ext_dft["stable"] == False).sum())  # noqa: E712
    return (
        f"The figure has no shear row: of the {len(ext_dft)} usable structures, "
        f"{_plural(n_metal, 'is a metal', 'are metals')} (E-V bulk modulus only) and "
        f"{_plural(n_insulator, 'is an insulator', 'are insulators')}"
        + (f" ({n_unstable} mechanically unstable, no shear modulus)" if n_unstable else "")
        + f", so {n_shear or 'none'} {'has' if n_shear == 1 else 'have'} a shear modulus to "
        "compare with."
    )


def paper_figure_numbers(paper: dict[str, Any], models: Sequence[str]) -> dict[str, str]:
    """Glue text for the paper's figure: its model, structures, set and target, and whether
    that model is among ours."""
    return {
        "paper_ext_model": paper["model"],
        "paper_ext_n": str(paper["n"]),
        "paper_ext_set": paper["set"],
        "paper_ext_target": paper["target"],
        "paper_ext_r2": f"{paper['R2']:.2f}",
        "paper_ext_rmse": f"{paper['RMSE_GPa']:.1f}",
        "paper_ext_ours": (
            "it is among the models run here, so its row carries the paper's numbers"
            if paper["model"] in models
            else "it is not among the models run here, so that one figure stands beside each "
            "of ours"
        ),
    }


def ours_numbers(metrics: pd.DataFrame, model: str, target: str = "bulk") -> dict[str, str]:
    """Glue text: ``model``'s external R², RMSE and n on ``target`` (placeholder if absent)."""
    row = metrics[(metrics["model"] == model) & (metrics["target"] == target)]
    if row.empty:
        return dict.fromkeys(("ext_ours_r2", "ext_ours_rmse", "ext_ours_n"), NOT_STORED)
    row = row.iloc[0]
    return {
        "ext_ours_r2": f"{row['R2']:.2f}"
        if np.isfinite(row["R2"])
        else "not computed (too few rows)",
        "ext_ours_rmse": f"{row['RMSE_GPa']:.1f}",
        "ext_ours_n": str(int(row["n"])),
    }


def spin_numbers(unpolarised: pd.DataFrame) -> dict[str, str]:
    """Glue text: computed cells with a d metal run without spin, those of them with Cr, Mn,
    Fe, Co or Ni, and of the others how many had the spin check and how many of those kept
    a moment (:data:`matfusion.ecd.dft.SPIN_CHECK_MIN_MUB` or more)."""
    from matfusion.ecd.dft import SPIN_CHECK_MIN_MUB

    if unpolarised.empty:
        return dict.fromkeys(
            ("spin_unpolarised", "spin_risk", "spin_checked", "spin_magnetic"), "0"
        )
    moment = unpolarised.get("spin check (muB)", pd.Series(np.nan, index=unpolarised.index))
    return {
        "spin_unpolarised": str(len(unpolarised)),
        "spin_risk": str(int(unpolarised["spin_risk"].sum())),
        "spin_checked": str(int(moment.notna().sum())),
        "spin_magnetic": str(int((moment >= SPIN_CHECK_MIN_MUB).sum())),
    }


def share_numbers(shares: pd.DataFrame, train: str, external: str) -> dict[str, str]:
    """Glue text: the share (percent) of binaries, ternaries and quaternaries in the
    ``train`` and ``external`` columns of :func:`matfusion.ecd.data.composition_shares`."""
    out = {}
    for key, column in (("train", train), ("ext", external)):
        for kind in ("binaries", "ternaries", "quaternaries"):
            out[f"{key}_{kind}_pct"] = f"{100 * float(shares.loc[kind, column]):.0f}"
    return out


def miss_numbers(per_structure: pd.DataFrame, model: str) -> dict[str, str]:
    """Glue text on ``model``'s misses (``<model> - DFT`` of
    :func:`matfusion.ecd.tables.external_per_structure`, largest first): the median absolute
    miss over the counted rows, over the spin-polarised and the other counted rows, and the
    three largest misses."""
    keys = ("miss_median", "miss_n", "miss_spin", "miss_spin_n", "miss_other", "miss_largest")
    column = f"{model} - DFT"
    if per_structure.empty or column not in per_structure.columns:
        return dict.fromkeys(keys, NOT_STORED)
    miss = per_structure[column].abs()
    spin = per_structure["spin_polarized"].astype(bool)
    counted = per_structure["counted"].astype(bool)

    def median(mask: pd.Series) -> str:
        return f"{miss[mask].median():.1f} GPa" if mask.any() else "none"

    return {
        "miss_median": median(counted),
        "miss_n": str(int(counted.sum())),
        "miss_spin": median(spin),
        "miss_spin_n": str(int(spin.sum())),
        "miss_other": median(counted & ~spin),
        "miss_largest": ", ".join(per_structure["formula"].head(3)),
    }


# --- figures -------------------------------------------------------------------------------


def plot_check(table: pd.DataFrame) -> Any:
    """Bulk modulus of the check materials: MP's against ours."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2))
    x = np.arange(len(table))
    ax.bar(x - 0.2, table["K MP"], 0.4, label="MP (VASP PBE)")
    ax.bar(x + 0.2, table["K ours (E-V)"], 0.4, label="ours (GPAW PBE, E-V fit)")
    ax.set_xticks(x, table["formula"])
    ax.set_ylabel("bulk modulus (GPa)")
    ax.legend(fontsize=8)
    ax.set_title("Check materials: bulk modulus")
    return fig


def plot_external(
    preds: pd.DataFrame, truth: dict[str, pd.Series], models: Sequence[str], title: str
) -> Any:
    """Predicted against our DFT moduli, one row of panels per target with two or more DFT
    values, one column per model; None when nothing can be drawn."""
    import matplotlib.pyplot as plt

    from matfusion.train.metrics import regression_metrics

    shown = [t for t, values in truth.items() if values.notna().sum() >= 2]
    if preds.empty or not shown:
        return None
    fig, axes = plt.subplots(len(shown), len(models), figsize=(3 * len(models),
                             3 * len(shown)), squeeze=False)  # fmt: skip
    for i, target in enumerate(shown):
        values = truth[target].dropna()
        for j, model in enumerate(models):
            ax = axes[i, j]
            sub = preds[(preds["model"] == model) & (preds["target"] == target)].set_index("id")
            shared = sub.index.intersection(values.index)
            if len(shared) < 2:
                ax.set_axis_off()
                continue
            y, p = values[shared].to_numpy(float), sub.loc[shared, "pred"].to_numpy()
            m = regression_metrics(y, p)
            ax.scatter(y, p, s=12)
            lim = [0, max(y.max(), p.max()) * 1.1]
            ax.plot(lim, lim, "k--", lw=0.8)
            r2 = f"{m['r2']:.2f}" if m["n"] >= MIN_POINTS_R2 else "–"
            ax.set_title(f"{model}\n{target}: R2 {r2}, n = {m['n']}", fontsize=9)
            ax.set_xlabel("our GPAW DFT (GPa)")
            if j == 0:
                ax.set_ylabel("predicted (GPa)")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


# --- exercises -----------------------------------------------------------------------------


def _stored_metrics(
    profile: Profile, models: Sequence[str], max_volume_shift: float | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    from matfusion.ecd.data import load_external_set
    from matfusion.ecd.dft import load_dft_moduli
    from matfusion.ecd.experiments import run_external
    from matfusion.ecd.fitting import prepare_inputs
    from matfusion.ecd.settings import ecd_profile_for
    from matfusion.ecd.tables import EXTERNAL_DFT_COLUMNS, external_predictions

    ecd = ecd_profile_for(profile.name)[0]
    _, ext_dft, _ = external_rows(load_dft_moduli(), max_volume_shift)
    inputs = prepare_inputs(ecd, need_density=False, progress=False, verbose=False)
    records = run_external(list(models), ["bulk"], inputs, load_external_set(verbose=False),
                           progress=False, missing="skip")  # fmt: skip
    if not records:
        raise ValueError(f"no external-set run of {', '.join(models)} is stored for `{ecd.name}`")
    truth = {"bulk": ext_dft[EXTERNAL_DFT_COLUMNS["bulk"]]}
    return external_metrics(external_predictions(records), truth, models), ext_dft


def _answer_volume_shift(profile: Profile, shift: float = 0.20) -> str:
    from matfusion.ecd.reported import EXTERNAL_MODEL, external_validation

    parts = []
    from matfusion.ecd.dft import MAX_VOLUME_SHIFT

    for value in (MAX_VOLUME_SHIFT, shift):
        metrics, ext_dft = _stored_metrics(profile, [EXTERNAL_MODEL], value)
        n = ours_numbers(metrics, EXTERNAL_MODEL)
        parts.append(
            f"at +/-{value:.0%}: {len(ext_dft)} rows count, {EXTERNAL_MODEL} R² "
            f"{n['ext_ours_r2']}, RMSE {n['ext_ours_rmse']} GPa over {n['ext_ours_n']}"
        )
    paper = external_validation()
    return (
        "Bulk modulus on the external set, " + "; ".join(parts) + f" (the paper: R² "
        f"{paper['R2']:.2f}, RMSE {paper['RMSE_GPa']:.1f} GPa). A looser volume rule admits "
        "cells whose E-V fit describes another phase than the structure the model reads, "
        "so the metrics then mix two questions; the registry's verdict uses the default."
    )


def _answer_rf(profile: Profile) -> str:
    from matfusion.ecd.reported import EXTERNAL_MODEL

    models = ["RF+Magpie", EXTERNAL_MODEL]
    metrics, _ = _stored_metrics(profile, models)
    if metrics.empty:
        raise ValueError("no stored external prediction meets a counted DFT row")
    rows = metrics.set_index("model")
    return (
        "Bulk modulus on the counted external rows: "
        + "; ".join(
            f"{m} R² {rows.loc[m, 'R2']:.2f}, RMSE {rows.loc[m, 'RMSE_GPa']:.1f} GPa "
            f"(n = {int(rows.loc[m, 'n'])})"
            for m in models
            if m in rows.index
        )
        + ". The random forest reads no density; the difference between the two is what the "
        "density adds on this external set, measured on one set of rows without an "
        "interval, so it describes these runs and decides no claim."
    )


def _exercises() -> tuple[Any, ...]:
    from matfusion.chapters.exercises import Exercise

    return (
        Exercise(
            "Loosen the volume rule: count external rows whose fitted volume is within 20 % "
            "of the input structure's instead of 5 %. How many rows count, and what happens "
            "to the fusion model's R²?",
            {"max_volume_shift": 0.20},
            _answer_volume_shift,
            look_at="Rows left out of the metrics",
        ),
        Exercise(
            "Rerun the page with the Magpie random forest and the fusion model only. How "
            "much does the density add on the external set?",
            {"models": ["RF+Magpie", "Fusion(Magpie+ECD)"]},
            _answer_rf,
            look_at="The external set: models trained on MP, judged by our DFT",
        ),
    )


#: This chapter's exercises (see :mod:`matfusion.chapters.exercises`).
EXERCISES = _exercises()
