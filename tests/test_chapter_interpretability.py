"""The readings of Figures 6c and 10 on hand-made EFMs and predictions with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matfusion.chapters.interpretability import (
    fusion_fixes_outliers,
    perovskite_distances,
    perovskite_reading,
    site_order,
)

RNG = np.random.default_rng(0)
ELEMENTS = {  # rows by atomic number, as the stored EFMs come
    "SrTiO3": ["O", "Ti", "Sr"],
    "BaTiO3": ["O", "Ti", "Ba"],
    "KNbO3": ["O", "K", "Nb"],
    "CsPbI3": ["I", "Cs", "Pb"],
}


def _efms(apart_scale: float) -> dict[str, np.ndarray]:
    """Site rows A, B, X drawn around one base; CsPbI3 moved by ``apart_scale``."""
    base = RNG.normal(size=(3, 16))
    by_site = {
        "SrTiO3": base + 0.01 * RNG.normal(size=(3, 16)),
        "BaTiO3": base + 0.01 * RNG.normal(size=(3, 16)),
        "KNbO3": base + 0.2 * RNG.normal(size=(3, 16)),
        "CsPbI3": base + apart_scale * RNG.normal(size=(3, 16)),
    }
    out = {}
    for formula, rows in by_site.items():  # store rows in the atomic-number order
        written = ["Sr", "Ti", "O"] if formula == "SrTiO3" else None
        written = written or {"BaTiO3": ["Ba", "Ti", "O"], "KNbO3": ["K", "Nb", "O"],
                              "CsPbI3": ["Cs", "Pb", "I"]}[formula]  # fmt: skip
        out[formula] = np.stack([rows[written.index(s)] for s in ELEMENTS[formula]])
    return out


def test_site_order_puts_rows_as_the_formula_writes_them() -> None:
    assert site_order("SrTiO3", ["O", "Ti", "Sr"]) == [2, 1, 0]
    assert site_order("KNbO3", ["O", "K", "Nb"]) == [1, 2, 0]
    with pytest.raises(ValueError, match="CsPbI3"):
        site_order("CsPbI3", ["O", "Cs", "Pb"])


def test_reading_holds_when_cspbi3_is_far_and_fails_when_it_is_not() -> None:
    far = perovskite_distances(_efms(apart_scale=3.0), ELEMENTS)
    assert len(far) == 6 and {"embedding", "correlation"} <= set(far.columns)
    for measure in ("embedding", "correlation"):
        reading = perovskite_reading(far, measure=measure)
        assert reading["nearest_pair"] == "SrTiO3 – BaTiO3"
        assert reading["close_holds"] and reading["apart_holds"] and reading["holds"]
    near = perovskite_distances(_efms(apart_scale=0.01), ELEMENTS)
    reading = perovskite_reading(near, measure="embedding")
    assert not reading["apart_holds"] and not reading["holds"]


def test_site_alignment_matters_for_the_correlation_distance() -> None:
    """The same site rows stored in different atomic-number orders are distance 0 apart."""
    rows = RNG.normal(size=(3, 8))  # sites A, B, X
    efms = {"SrTiO3": rows[[2, 1, 0]], "KNbO3": rows[[0, 1, 2]][[2, 0, 1]]}
    elements = {"SrTiO3": ["O", "Ti", "Sr"], "KNbO3": ["O", "K", "Nb"]}
    d = perovskite_distances(efms, elements)
    assert d["correlation"].iloc[0] == pytest.approx(0.0, abs=1e-12)
    assert d["embedding"].iloc[0] == pytest.approx(0.0, abs=1e-12)


def test_fusion_fixes_outliers_counts() -> None:
    target = np.zeros(100)
    lstm = np.full(100, 0.1)
    lstm[:4] = 5.0  # four bad predictions: mean error 0.296, cut-off 3 x that = 0.888
    fused = np.full(100, 0.05)
    fused[0] = 4.0  # one of the four stays bad
    frame = pd.DataFrame({"formula": [f"X{i}" for i in range(100)], "target": target,
                          "LSTM_pred": lstm, "L-G-DCNN_pred": fused})  # fmt: skip
    out = fusion_fixes_outliers(frame, factor=3.0)
    assert out["cutoff"] == pytest.approx(3 * (4 * 5.0 + 96 * 0.1) / 100)
    assert out["n_outliers"] == 4 and out["outliers"] == ["X0", "X1", "X2", "X3"]
    assert out["fixed"] == 3 and out["new_outliers_after"] == 1
    assert out["mae_before_on_outliers"] == pytest.approx(5.0)
    assert out["mae_after_on_outliers"] == pytest.approx((4.0 + 3 * 0.05) / 4)
    assert out["holds"]
    frame["L-G-DCNN_pred"] = lstm  # fusion changes nothing: the reading fails
    assert not fusion_fixes_outliers(frame)["holds"]
    with pytest.raises(ValueError, match="positive"):
        fusion_fixes_outliers(frame, factor=0)


def test_cecv_converges_towards_band_reading() -> None:
    from matfusion.chapters.sample_efficiency import converges_towards_band

    lower, upper = [100.0, 50.0], [200.0, 80.0]
    curves = pd.DataFrame([[20.0, 10.0], [60.0, 30.0], [150.0, 60.0]], index=[100, 1000, 10000])
    out = converges_towards_band(curves, lower, upper)
    assert out["holds"] is True
    assert out["distance"].loc[10000] == 0.0  # inside the band at both thresholds
    assert out["distance"].loc[100] == pytest.approx(np.mean([np.log(100 / 20), np.log(50 / 10)]))
    worse = curves.copy()
    worse.loc[1000] = [10.0, 5.0]  # farther than at 100 rows: not monotone
    assert converges_towards_band(worse, lower, upper)["holds"] is False
    assert converges_towards_band(curves.iloc[:1], lower, upper)["holds"] is None
