"""One Magpie featurizer for both papers: paper B's float32, zero-filled inputs and paper A's
strict features come from the same function, differing only in its explicit arguments."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from matfusion.ecd.fitting import ecd_magpie
from matfusion.featurize import magpie as magpie_mod
from matfusion.featurize.magpie import MAGPIE_N_FEATURES, magpie_features


class _GappyFeaturizer:
    """Stands in for matminer: a NaN in the features of any formula containing Xe."""

    def featurize(self, composition) -> list[float]:
        row = [float(composition.num_atoms)] * MAGPIE_N_FEATURES
        if "Xe" in composition.formula:
            row[3] = float("nan")
        return row


@pytest.fixture
def gappy(monkeypatch, tmp_path):
    monkeypatch.setenv("MATFUSION_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(magpie_mod, "_featurizer", _GappyFeaturizer)


def test_missing_values_raise_for_paper_a_and_are_zero_for_paper_b(gappy) -> None:
    formulas = ["NaCl", "XeF2", "NaCl", "XeF4"]
    with pytest.raises(ValueError, match="non-finite Magpie features"):
        magpie_features(formulas, progress=False)
    with pytest.warns(UserWarning, match="2 missing feature values in 2 rows set to 0"):
        b = ecd_magpie(formulas)
    assert b.dtype == np.float32 and b.shape == (4, MAGPIE_N_FEATURES)
    assert b[1, 3] == 0.0 and b[3, 3] == 0.0 and b[0, 3] == 2.0
    np.testing.assert_array_equal(b[0], b[2])
    # the cached table keeps the NaN: a second call (from the cache) fills it the same way
    with pytest.warns(UserWarning, match="set to 0"):
        again = ecd_magpie(formulas)
    np.testing.assert_array_equal(again, b)
    clean = magpie_features(["NaCl"], progress=False)
    assert clean.dtype == np.float64 and clean[0, 3] == 2.0
    with pytest.raises(ValueError, match="missing must be one of"):
        magpie_features(["NaCl"], missing="mean", progress=False)  # type: ignore[arg-type]


def test_paper_a_cache_key_is_unchanged_and_policies_do_not_share_files(gappy) -> None:
    import matminer

    text = "\n".join([f"magpie v1 matminer {matminer.__version__}", "MgO", "NaCl"])
    old = hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]
    assert magpie_mod._cache_file(["MgO", "NaCl"], "raise").stem == old
    assert magpie_mod._cache_file(["MgO", "NaCl"], "zero").stem != old


def test_ecd_magpie_is_the_shared_featurizer_on_real_formulas(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MATFUSION_CACHE", str(tmp_path / "cache"))
    formulas = ["NaCl", "Fe2O3", "MgO"]
    b = ecd_magpie(formulas)
    a = magpie_features(formulas, progress=False, use_cache=False)
    assert b.dtype == np.float32
    np.testing.assert_array_equal(b, a.astype(np.float32))
