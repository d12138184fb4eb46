"""Chapter 11's section on paper B's CNN variants: what each sees of the cube, its layers,
and whether seeing the whole cube changes the cross-validated error.

The paper's 3D-CNN layer list taken literally (valid padding) never reaches the far edges
of the cube, and neither did our first architecture (``matfusion-v1``); ``whole-cube`` pads
periodically so every voxel reaches the output (:mod:`matfusion.ecd.models`). Coverage is
measured by gradients; the CV comparison pairs the two variants' out-of-fold predictions
material by material (:func:`matfusion.analysis.intervals.compare_mae`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from matfusion.analysis.intervals import compare_mae
from matfusion.ecd.settings import EcdProfile
from matfusion.train.metrics import regression_metrics

__all__ = [
    "compare_cv_records",
    "cv_model_comparison",
    "cv_variant_comparison",
    "variant_coverage",
]

CNN_MODELS = ("3D-CNN+ECD", "2D-CNN+ECD")


def _runs(ranges: Sequence[tuple[int, int]]) -> str:
    return ", ".join(f"{a}-{b}" for a, b in ranges)


def variant_coverage(grids: Sequence[int] = (32, 60), width: int = 1024) -> pd.DataFrame:
    """Per CNN, variant and grid: the voxel indices per axis that reach the output (by
    gradients, :func:`~matfusion.ecd.models.input_coverage`), the share of the cube they
    make up, and the parameter count; a variant that cannot be built at a grid says why."""
    from matfusion.ecd.models import ECD_VARIANTS, build_ecd_model, input_coverage

    rows: list[dict[str, Any]] = []
    for grid in grids:
        for model_name in CNN_MODELS:
            for variant in ECD_VARIANTS:
                row: dict[str, Any] = {"model": model_name, "variant": variant, "grid": grid}
                try:
                    model = build_ecd_model(model_name, grid=grid, width=width, variant=variant)
                except ValueError as err:
                    rows.append({**row, "reaches the output (per axis)": "cannot be built",
                                 "share of the cube": np.nan, "parameters": np.nan,
                                 "note": str(err).split(";")[0]})  # fmt: skip
                    continue
                coverage = input_coverage(model, grid, samples=2)
                rows.append(
                    {
                        **row,
                        "reaches the output (per axis)": _runs(coverage["ranges"]["x"]),
                        "share of the cube": coverage["fraction"],
                        "parameters": sum(p.numel() for p in model.parameters()),
                        "note": "",
                    }
                )
    return pd.DataFrame(rows)


def _pooled(records: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Out-of-fold predictions of CV records, one row per (repeat, material)."""
    rows = []
    for record in records:
        p = record["predictions"]
        repeat = record["config"]["repeat"]
        rows.extend(
            {"repeat": repeat, "mp_id": i, "y": y, "pred": pr}
            for i, y, pr in zip(p["mp_id"], p["y"], p["pred"], strict=True)
        )
    return pd.DataFrame(rows, columns=["repeat", "mp_id", "y", "pred"])


def cv_variant_comparison(
    profile: EcdProfile,
    variants: tuple[str, str] = ("whole-cube", "matfusion-v1"),
    *,
    targets: Sequence[str] = ("bulk", "shear"),
    models: Sequence[str] = CNN_MODELS,
    store: Any = None,
) -> tuple[pd.DataFrame, list[str]]:
    """The first variant's CV MAE minus the second's, per density model and target, from
    stored runs only: out-of-fold predictions of every complete repeat, paired material by
    material (a bootstrap over materials, the repeats as seeds). Returns the table and the
    labels of the runs that are missing (a repeat counts only when all its folds are there).
    """
    from matfusion.ecd.experiments import run_cv
    from matfusion.ecd.fitting import prepare_inputs

    frames: dict[str, list[dict[str, Any]]] = {}
    missing: list[str] = []
    for variant in variants:
        prof = replace(profile, variant=variant)
        inputs = prepare_inputs(prof, need_density=False, progress=False, verbose=False)
        frames[variant] = run_cv(
            list(models), list(targets), inputs, store=store, progress=False, missing="skip"
        )
        have = {
            (
                r["config"]["model"],
                r["config"]["target"],
                r["config"]["fold"],
                r["config"]["repeat"],
            )
            for r in frames[variant]
        }
        missing += [
            f"{m} / {t} fold {f} repeat {r} ({variant})"
            for r in range(prof.repeats)
            for t in targets
            for f in range(prof.folds)
            for m in models
            if (m, t, f, r) not in have
        ]
    table = compare_cv_records(frames, variants, models=models, targets=targets)
    return table, missing


def _out_of_fold(records: Sequence[dict[str, Any]], model: str, target: str) -> pd.DataFrame:
    """Out-of-fold predictions of ``model`` on ``target``: rows mp_id, columns the repeats
    whose folds cover every material (an incomplete repeat is left out), plus column "y"."""
    table = _pooled(
        [r for r in records if r["config"]["model"] == model and r["config"]["target"] == target]
    )
    if table.empty:
        return pd.DataFrame(columns=["y"])
    complete = table.groupby("repeat")["mp_id"].nunique()
    keep = list(complete[complete == complete.max()].index)
    table = table[table["repeat"].isin(keep)]
    wide = table.pivot(index="mp_id", columns="repeat", values="pred").sort_index()
    wide["y"] = table.drop_duplicates("mp_id").set_index("mp_id")["y"].reindex(wide.index)
    return wide


def cv_model_comparison(
    profile: EcdProfile,
    target: str,
    *,
    models: Sequence[str] = (
        "RF+Magpie",
        "CNN+Magpie",
        "3D-CNN+ECD",
        "2D-CNN+ECD",
        "Fusion(Magpie+ECD)",
    ),  # fmt: skip
    store: Any = None,
) -> tuple[dict[tuple[str, str], Any] | None, list[str]]:
    """Every ordered pair of ``models``: A's CV MAE minus B's on ``target`` under ``profile``,
    paired by material over the repeats both complete
    (:func:`~matfusion.analysis.intervals.compare_mae`). Stored runs only; returns None and
    the missing runs' labels while no repeat is complete."""
    from matfusion.ecd.experiments import run_cv
    from matfusion.ecd.fitting import prepare_inputs

    inputs = prepare_inputs(profile, need_density=False, progress=False, verbose=False)
    records = run_cv(list(models), [target], inputs, store=store, progress=False, missing="skip")
    have = {(r["config"]["model"], r["config"]["fold"], r["config"]["repeat"]) for r in records}
    missing = [
        f"{m} / {target} fold {f} repeat {r}"
        for r in range(profile.repeats)
        for f in range(profile.folds)
        for m in models
        if (m, f, r) not in have
    ]
    wide = {m: _out_of_fold(records, m, target) for m in models}
    out: dict[tuple[str, str], Any] = {}
    for a in models:
        for b in models:
            if a == b:
                continue
            repeats = sorted(set(wide[a].columns) & set(wide[b].columns) - {"y"})
            if not repeats:
                continue
            y = wide[a]["y"].to_numpy()
            out[(a, b)] = compare_mae(
                y, wide[a][repeats].to_numpy().T, wide[b].loc[wide[a].index, repeats].to_numpy().T
            )
    return (out or None), missing


def compare_cv_records(
    records: dict[str, Sequence[dict[str, Any]]],
    variants: tuple[str, str],
    *,
    models: Sequence[str] = CNN_MODELS,
    targets: Sequence[str] = ("bulk", "shear"),
) -> pd.DataFrame:
    """The comparison of :func:`cv_variant_comparison` from its two lists of CV records
    (``records[variant]``): repeats that are complete in both, paired by material."""
    rows = []
    for model in models:
        for target in targets:
            pooled = {}
            for variant in variants:
                mine = [
                    r
                    for r in records[variant]
                    if r["config"]["model"] == model and r["config"]["target"] == target
                ]
                table = _pooled(mine)
                complete = table.groupby("repeat")["mp_id"].nunique()
                keep = list(complete[complete == complete.max()].index) if len(complete) else []
                pooled[variant] = table[table["repeat"].isin(keep)]
            first, second = (pooled[v] for v in variants)
            repeats = sorted(set(first["repeat"]) & set(second["repeat"]))
            if not repeats:
                continue
            wide = {
                v: pooled[v][pooled[v]["repeat"].isin(repeats)]
                .pivot(index="mp_id", columns="repeat", values="pred")
                .sort_index()
                for v in variants
            }
            y = first.drop_duplicates("mp_id").set_index("mp_id")["y"].sort_index()
            a, b = (wide[v].loc[y.index].to_numpy().T for v in variants)
            target_values = y.to_numpy()
            result = compare_mae(target_values, a, b)
            rows.append(
                {
                    "model": model,
                    "target": target,
                    "repeats": len(repeats),
                    f"MAE {variants[0]}": float(np.abs(a - target_values).mean()),
                    f"MAE {variants[1]}": float(np.abs(b - target_values).mean()),
                    f"R² {variants[0]}": float(
                        np.mean([regression_metrics(target_values, x)["r2"] for x in a])
                    ),
                    f"R² {variants[1]}": float(
                        np.mean([regression_metrics(target_values, x)["r2"] for x in b])
                    ),
                    "difference (GPa)": result.difference,
                    "95% CI": f"[{result.low:+.2f}, {result.high:+.2f}]",
                    f"{variants[0]} better?": result.verdict,
                }
            )
    return pd.DataFrame(rows)
