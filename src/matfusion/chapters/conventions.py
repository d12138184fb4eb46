"""Chapter 03's section on model conventions: how far each of paper A's open choices moves
CECV on its own, before training (:mod:`matfusion.analysis.conventions_effect`), and, with
one trained run per switch (:func:`conventions_trained`), CECV and test MAE after it.

The table is stored in the results store (experiment ``conventions_init``), keyed by the
profile, the compounds, the conventions compared and the settings, so the book shows it
without rebuilding the models; ``missing="skip"`` answers None instead of computing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from matfusion.profiles import Profile
from matfusion.results import ResultsStore, cached_run

__all__ = [
    "RECORD_VERSION",
    "TrainedConventions",
    "conventions_at_init",
    "conventions_trained",
    "model_switches",
]

#: Bump when the meaning of the stored table changes.
RECORD_VERSION = 1
MODELS = ("L-G-DCNN-V1", "L-G-DCNN")


def _config(profile: Profile, dataset: str, anchor: str, threshold: float) -> dict[str, Any]:
    from matfusion.data import split_sha256
    from matfusion.models import get_conventions

    return {
        "experiment": "conventions_init",
        "record_version": RECORD_VERSION,
        "profile": profile.name,
        "dataset": dataset,
        "test_sha256": split_sha256(dataset, "test"),
        "max_eval_rows": profile.max_eval_rows if profile.name == "smoke" else None,
        "anchor": anchor,
        "threshold": threshold,
        "models": list(MODELS),
        "d_model": profile.d_model,
        "seed": 0,
        "conventions": {n: get_conventions(n).to_dict() for n in ("matfusion-v1", "authors")},
    }


def conventions_at_init(
    profile: Profile,
    *,
    dataset: str = "OQMD_Formation_Enthalpy",
    anchor: str = "Si",
    threshold: float = 0.05,
    store: ResultsStore | None = None,
    missing: str = "compute",
) -> pd.DataFrame | None:
    """CECV(``threshold``) of V1 and L-G-DCNN at random initialisation, starting from
    ``matfusion-v1`` and switching one convention at a time to the authors' (then all).

    Every compound of the test split containing ``anchor`` enters (``smoke``: the profile's
    subsample, for speed), so the count is comparable to Figure 3's.
    """
    if missing not in ("compute", "skip"):
        raise ValueError(f"missing must be 'compute' or 'skip', not {missing!r}")
    store = store or ResultsStore()
    config = _config(profile, dataset, anchor, threshold)
    if missing == "skip" and store.get(config) is None:
        return None

    def compute() -> dict[str, Any]:
        import time

        from matfusion.analysis.conventions_effect import convention_effects_at_init
        from matfusion.data import load_split
        from matfusion.experiments import subsample

        started = time.perf_counter()
        frame = subsample(load_split(dataset, "test", verbose=False), config["max_eval_rows"], 0)
        table = convention_effects_at_init(
            MODELS,
            frame["formula"].tolist(),
            anchor=anchor,
            threshold=threshold,
            d_model=profile.d_model,
        )
        return {
            "rows": table.astype(object).where(table.notna(), None).to_dict(orient="records"),
            "n_compounds": len(frame),
            "seconds": time.perf_counter() - started,
        }

    record = cached_run(store, config, compute)
    table = pd.DataFrame(record["rows"])
    for column in ("cecv", "cecv_z_rows", "delta", "delta_z_rows"):
        table[column] = table[column].astype("Int64")
    table.attrs.update(threshold=threshold, anchor=anchor, n_compounds=record["n_compounds"])
    return table


# --- trained: one run per switch -------------------------------------------------------------


def _built_settings(model: str, conventions: Any) -> tuple[str, str]:
    """What a convention changes in a built model (its config without the conventions'
    own record) and in what it is fed (the element order): equal means the same run."""
    import json

    from matfusion.analysis.conventions_effect import _build, _vectors

    built = _build(model, conventions, _vectors(model, None), 32, 0)
    config = {k: v for k, v in built.config.items() if k not in ("conventions", "n_parameters")}
    config["params"] = {k: v for k, v in config["params"].items() if k != "conventions"}
    return json.dumps(config, sort_keys=True, default=str), conventions.element_order


def model_switches(model: str) -> list[tuple[str, Any]]:
    """The variants of :func:`~matfusion.analysis.conventions_effect.convention_variants`
    (``matfusion-v1``, one field switched to the authors' value, all switched = ``authors``)
    that build or feed ``model`` differently from ``matfusion-v1``: the runs worth training
    (DCNN-K1's width, for one, does not touch L-G-DCNN)."""
    from matfusion.analysis.conventions_effect import convention_variants

    variants = convention_variants()
    base = _built_settings(model, variants[0][1])
    return [variants[0], *((label, conv) for label, conv in variants[1:]
                           if _built_settings(model, conv) != base)]  # fmt: skip


@dataclass
class TrainedConventions:
    """One trained run per (model, switched convention), seed 0 and the rerun recipe:
    ``table`` has the test MAE and CECV(``threshold``) with their change from
    ``matfusion-v1`` (rows: model, switched); ``missing`` and ``commands`` say what to run."""

    table: pd.DataFrame
    missing: list[str]
    commands: list[str]
    threshold: float

    @property
    def total(self) -> int:
        return (
            len(self.missing)
            + int(self.table["test MAE"].notna().sum())
            + int(self.table["CECV"].notna().sum())
        )


def conventions_trained(
    profile: Profile,
    *,
    dataset: str = "OQMD_Formation_Enthalpy",
    models: Sequence[str] | None = None,
    seed: int = 0,
    anchor: str = "Si",
    mode: str = "authors",
    threshold: float = 0.05,
    train_missing: bool = False,
    store: Any = None,
) -> TrainedConventions:
    """The trained runs of :func:`model_switches` under the reruns' recipe (chapter 03's
    :func:`~matfusion.chapters.rational_design.rerun_profile` with each variant's
    conventions), read from the store (trained only with ``train_missing``), with their CECV
    (read, or computed from a checkpoint on this machine; never retrained). ``models``
    default: V1 and L-G-DCNN (smoke: L-G-DCNN only)."""
    from matfusion.chapters.rational_design import rerun_command, rerun_profile, rerun_record
    from matfusion.experiments import run_cecv

    rerun = rerun_profile(profile)
    models = models or (MODELS[-1:] if profile.name == "smoke" else MODELS)  # smoke: CI's time
    rows, missing, commands = [], [], []
    for model in models:
        for label, conv in model_switches(model):
            prof = replace(rerun, conventions=conv.name)
            what = f"{model} / {dataset} seed {seed}, conventions {conv.name}"
            record = rerun_record(model, dataset, prof, seed, train_missing=train_missing,
                                  store=store)  # fmt: skip
            row = {"model": model, "switched": label, "conventions": conv.name,
                   "test MAE": np.nan, "CECV": np.nan, "epochs run": np.nan}  # fmt: skip
            if record is None:
                missing += [what, f"CECV of {what}"]
                commands.append(rerun_command([model], dataset, [seed], profile.name, prof))
            else:
                row.update({"test MAE": record["metrics"]["test_mae"],
                            "epochs run": record["epochs_run"]})  # fmt: skip
                found = run_cecv(record, anchor=anchor, mode=mode, store=store,
                                 retrain=train_missing)  # fmt: skip
                if found is None:
                    missing.append(f"CECV of {what}")
                else:
                    at = [f"{t:.2f}" for t in found["thresholds"]].index(f"{threshold:.2f}")
                    row["CECV"] = found["cecv"][at]
            rows.append(row)
    table = pd.DataFrame(rows).set_index(["model", "switched"])
    base = table.xs("none", level="switched")
    for column, change in (("test MAE", "MAE change %"), ("CECV", "CECV change")):
        reference = table.index.get_level_values("model").map(base[column])
        delta = table[column].to_numpy() - np.asarray(reference, dtype=float)
        table[change] = 100 * delta / np.asarray(reference, dtype=float) if "%" in change else delta
    return TrainedConventions(table, missing, commands, threshold)
