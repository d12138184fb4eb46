"""Chapter 03's section on model conventions: how far each of paper A's open choices moves
CECV on its own, before training (:mod:`matfusion.analysis.conventions_effect`).

The table is stored in the results store (experiment ``conventions_init``), keyed by the
profile, the compounds, the conventions compared and the settings, so the book shows it
without rebuilding the models; ``missing="skip"`` answers None instead of computing.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from matfusion.profiles import Profile
from matfusion.results import ResultsStore, cached_run

__all__ = ["RECORD_VERSION", "conventions_at_init"]

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
