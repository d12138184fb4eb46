"""The random-forest peer: matminer's Magpie composition features + scikit-learn.

Features are computed once per distinct formula set and cached on disk
(``cache_dir()/magpie/<sha256>.npz``): featurising is the slow part and every profile and
seed reuses it. NaN policy: matminer's ``impute_nan=True`` replaces an element property that
Magpie's tables lack by that property's mean over the elements (matminer's documented
behaviour); a feature that is still not finite after that is an error naming the formula,
never a silent fill.
"""

from __future__ import annotations

import hashlib
import os
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from matfusion.config import cache_dir
from matfusion.io import atomic_write
from matfusion.profiles import Profile

from .result import PeerResult

__all__ = ["MAGPIE_N_FEATURES", "fit_predict", "magpie_features", "rf_settings"]

#: Magpie preset: 22 element properties x 6 statistics.
MAGPIE_N_FEATURES = 132
_CACHE_VERSION = 1


def _featurizer():
    from matminer.featurizers.composition import ElementProperty

    return ElementProperty.from_preset("magpie", impute_nan=True)


def magpie_labels() -> list[str]:
    """Names of the 132 Magpie features, in column order."""
    return list(_featurizer().feature_labels())


def _cache_file(formulas: Sequence[str]) -> Path:
    import matminer

    text = "\n".join([f"magpie v{_CACHE_VERSION} matminer {matminer.__version__}", *formulas])
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]
    folder = cache_dir() / "magpie"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{digest}.npz"


def magpie_features(
    formulas: Sequence[str], *, progress: bool = True, use_cache: bool = True
) -> np.ndarray:
    """``(len(formulas), 132)`` float64 Magpie features, one row per formula (duplicates
    featurised once). Raises ``ValueError`` naming the formula for one that cannot be
    featurised or yields a non-finite feature."""
    from pymatgen.core import Composition

    formulas = [str(f) for f in formulas]
    if not formulas:
        return np.zeros((0, MAGPIE_N_FEATURES))
    unique = sorted(set(formulas))
    path = _cache_file(unique)
    table: np.ndarray | None = None
    if use_cache and os.path.isfile(path):
        with np.load(path, allow_pickle=False) as doc:
            if list(doc["formulas"]) == unique:
                table = doc["features"]
    if table is None:
        featurizer = _featurizer()
        rows = []
        for formula in tqdm(unique, desc="Magpie features", unit="formula", disable=not progress):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    rows.append(featurizer.featurize(Composition(formula)))
            except Exception as err:  # matminer/pymatgen raise many types
                raise ValueError(f"cannot compute Magpie features of {formula!r}: {err}") from err
        table = np.asarray(rows, dtype=np.float64)
        bad = ~np.isfinite(table).all(axis=1)
        if bad.any():
            names = [unique[i] for i in np.flatnonzero(bad)[:5]]
            raise ValueError(
                f"{int(bad.sum())} formula(s) have non-finite Magpie features even after "
                f"matminer's element-mean imputation, e.g. {names}"
            )
        if use_cache:
            with atomic_write(path, binary=True) as fh:
                np.savez(fh, formulas=np.array(unique), features=table)
    index = {f: i for i, f in enumerate(unique)}
    return table[[index[f] for f in formulas]]


def rf_settings(profile: Profile, *, seed: int) -> dict[str, Any]:
    """Forest settings a profile implies: 300 trees (50 under ``smoke``), scikit-learn's
    regression defaults otherwise (all features per split, fully grown trees); beyond a few
    hundred trees the test MAE of a forest changes by well under 1%."""
    return {
        "peer": "RF-Magpie",
        "features": "magpie",
        "n_estimators": 50 if profile.name == "smoke" else 300,
        "max_features": 1.0,
        "min_samples_leaf": 1,
        "seed": seed,
    }


def fit_predict(
    train: pd.DataFrame,
    val: pd.DataFrame,
    test: pd.DataFrame,
    settings: dict[str, Any],
    progress: bool = True,
) -> PeerResult:
    """Fit the forest on ``train`` and predict all three splits; the uncertainty is the
    spread (std) of the trees' predictions. ``val`` is only scored: a forest has no epochs
    to choose from it."""
    from sklearn.ensemble import RandomForestRegressor

    from matfusion.train import configure_threads

    threads = configure_threads(None)
    frames = {"train": train, "val": val, "test": test}
    features = {
        name: magpie_features(frame["formula"].tolist(), progress=progress)
        for name, frame in frames.items()
    }
    forest = RandomForestRegressor(
        n_estimators=int(settings["n_estimators"]),
        max_features=settings["max_features"],
        min_samples_leaf=int(settings["min_samples_leaf"]),
        random_state=int(settings["seed"]),
        n_jobs=threads,
    )
    started = time.perf_counter()
    forest.fit(features["train"], train["target"].to_numpy(dtype=np.float64))
    train_seconds = time.perf_counter() - started
    predictions = {}
    started = time.perf_counter()
    for name, x in features.items():
        per_tree = np.stack([tree.predict(x) for tree in forest.estimators_])
        predictions[name] = (per_tree.mean(axis=0), per_tree.std(axis=0))
    inference_s = time.perf_counter() - started
    n_nodes = int(sum(tree.tree_.node_count for tree in forest.estimators_))
    return PeerResult(
        predictions=predictions,
        history=[],
        best_epoch=None,
        train_wall_time_s=train_seconds,
        train_samples_per_s=len(train) / train_seconds if train_seconds > 0 else None,
        n_parameters=n_nodes,
        settings={**settings, "num_threads": threads, "n_train": len(train), "n_nodes": n_nodes},
        inference_s=inference_s,
    )
