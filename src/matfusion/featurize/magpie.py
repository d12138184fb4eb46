"""Magpie composition features: matminer's ``ElementProperty.from_preset("magpie")``.

The one Magpie featurizer of both papers (paper A's random-forest peer, paper B's
``RF+Magpie``, ``CNN+Magpie`` and fusion models). Features are computed once per distinct
formula set and cached on disk (``cache_dir()/magpie/<sha256>.npz``): featurising is the slow
part and every profile and seed reuses it.

Missing values: matminer's ``impute_nan=True`` replaces an element property that Magpie's
tables lack by that property's mean over the elements (matminer's documented behaviour). A
feature still not finite after that is handled by ``missing``:

* ``"raise"`` (paper A): an error naming the formula, never a silent fill;
* ``"zero"`` (paper B, as its stored runs were made): set to 0 with one warning that counts
  the values and rows, so a material is kept rather than dropped.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import DTypeLike
from tqdm.auto import tqdm

from matfusion.config import cache_dir
from matfusion.io import atomic_write

__all__ = ["MAGPIE_N_FEATURES", "MISSING_POLICIES", "magpie_features", "magpie_labels"]

#: Magpie preset: 22 element properties x 6 statistics.
MAGPIE_N_FEATURES = 132
#: What :func:`magpie_features` does with a value still missing after imputation.
MISSING_POLICIES = ("raise", "zero")
_CACHE_VERSION = 1


def _featurizer() -> Any:
    from matminer.featurizers.composition import ElementProperty

    return ElementProperty.from_preset("magpie", impute_nan=True)


def magpie_labels() -> list[str]:
    """Names of the 132 Magpie features, in column order."""
    return list(_featurizer().feature_labels())


def _cache_file(formulas: Sequence[str], missing: str) -> Path:
    import matminer

    header = f"magpie v{_CACHE_VERSION} matminer {matminer.__version__}"
    if missing != "raise":  # "raise" keeps the key paper A's cached files were written under
        header += f" missing={missing}"
    digest = hashlib.sha256("\n".join([header, *formulas]).encode("utf-8")).hexdigest()[:24]
    folder = cache_dir() / "magpie"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{digest}.npz"


def _featurize(unique: list[str], missing: str, progress: bool) -> np.ndarray:
    """Rows of ``unique`` as float64, non-finite values handled by ``missing``."""
    from pymatgen.core import Composition

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
    if bad.any() and missing == "raise":
        names = [unique[i] for i in np.flatnonzero(bad)[:5]]
        raise ValueError(
            f"{int(bad.sum())} formula(s) have non-finite Magpie features even after "
            f"matminer's element-mean imputation, e.g. {names}"
        )
    return table


def magpie_features(
    formulas: Sequence[str],
    *,
    missing: Literal["raise", "zero"] = "raise",
    dtype: DTypeLike = np.float64,
    progress: bool = True,
    use_cache: bool = True,
) -> np.ndarray:
    """``(len(formulas), 132)`` Magpie features in ``dtype``, one row per formula (duplicates
    featurised once).

    ``missing`` says what a value still missing after matminer's imputation becomes (see the
    module docstring): paper A raises, paper B zero-fills with a warning. ``dtype`` is the
    returned precision (paper B's torch models read float32); featurising is in float64."""
    if missing not in MISSING_POLICIES:
        raise ValueError(f"missing must be one of {MISSING_POLICIES}, not {missing!r}")
    formulas = [str(f) for f in formulas]
    if not formulas:
        return np.zeros((0, MAGPIE_N_FEATURES), dtype=dtype)
    unique = sorted(set(formulas))
    path = _cache_file(unique, missing)
    table: np.ndarray | None = None
    if use_cache and os.path.isfile(path):
        with np.load(path, allow_pickle=False) as doc:
            if list(doc["formulas"]) == unique:
                table = doc["features"]
    if table is None:
        table = _featurize(unique, missing, progress)
        if use_cache:
            with atomic_write(path, binary=True) as fh:
                np.savez(fh, formulas=np.array(unique), features=table)
    index = {f: i for i, f in enumerate(unique)}
    out = table[[index[f] for f in formulas]]
    bad = ~np.isfinite(out)
    if bad.any():  # only under missing="zero": "raise" refused such a table above
        warnings.warn(
            f"magpie: {int(bad.sum())} missing feature values in {int(bad.any(1).sum())} rows "
            "set to 0",
            stacklevel=2,
        )
        out[bad] = 0.0
    return out.astype(dtype, copy=False)
