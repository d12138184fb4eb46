"""The random-forest peer: matminer's Magpie composition features + scikit-learn.

Features come from :func:`matfusion.featurize.magpie.magpie_features` (cached on disk per
formula set) with ``missing="raise"``: a feature still not finite after matminer's
element-mean imputation is an error naming the formula, never a silent fill.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from matfusion.featurize.magpie import MAGPIE_N_FEATURES, magpie_features, magpie_labels
from matfusion.profiles import Profile

from .result import PeerResult

__all__ = ["MAGPIE_N_FEATURES", "fit_predict", "magpie_features", "magpie_labels", "rf_settings"]


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
