"""Chapter 04's tables, readings and deciders (Figures 7a, 7b, 11a, 11b), on synthetic
curves and fake contexts; its exercises on the stored runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matfusion.chapters import cecv_band_gap as ch
from matfusion.verdicts import CLAIMS, VerdictContext

THRESHOLDS = ["0.05", "0.10", "0.20", "0.30"]  # two below the 0.15 split, two above


def _table(rows: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, index=THRESHOLDS).T


def _ablation_table(**changes: list[float]) -> pd.DataFrame:
    rows = {
        "LSTM": [100, 50, 20, 10],
        "DCNN-K1": [200, 80, 40, 20],
        "Model-2": [150, 60, 30, 15],
        "Model-3": [160, 70, 35, 16],
        "Model-5": [120, 60, 30, 12],
        "Model-6": [150, 60, 25, 12],
        "L-G-DCNN-2B": [150, 60, 30, 14],
        "L-G-DCNN-6B": [155, 65, 32, 15],
    }
    rows.update(changes)
    return _table(rows)


def test_ablation_readings_count_the_thresholds_they_rest_on() -> None:
    table = _ablation_table()
    r = ch.ablation_reading("6b-2b", table)
    assert r["holds"] is True and "6B above 2B at 4 of 4 thresholds" in r["detail"]
    r = ch.ablation_reading("model6", table)  # below 6B and Model 2 at both t > 0.15
    assert r["holds"] is True and "below both at 2 of 2 thresholds above 0.15" in r["detail"]
    r = ch.ablation_reading("model3", _ablation_table(**{"Model-3": [160, 70, 35, 10]}))
    assert r["holds"] is False and "above 2B at 3 of 4 thresholds" in r["detail"]
    r = ch.ablation_reading("model5-band", table)  # inside [100, 200] and [50, 80]
    assert r["holds"] is True and "[100, 200], [50, 80]" in r["detail"]
    r = ch.ablation_reading("model5-band", _ablation_table(**{"Model-5": [90, 60, 30, 12]}))
    assert r["holds"] is False and "inside the band at 1 of 2" in r["detail"]
    lacking = ch.ablation_reading("model6", table.drop("Model-2"))
    assert lacking["holds"] is None and lacking["lacking"] == ["Model-2"]


def test_model5_mae_reading_needs_every_ablation() -> None:
    mae = pd.Series({m: 0.05 for m in ch.FIGURE7A_READINGS["model5-mae"][1]})
    mae["Model-5"] = 0.04
    r = ch.ablation_reading("model5-mae", _ablation_table(), mae)
    assert r["holds"] is True and "Model 5: 0.0400" in r["detail"]
    mae["Model-3"] = 0.03
    assert ch.ablation_reading("model5-mae", _ablation_table(), mae)["holds"] is False
    r = ch.ablation_reading("model5-mae", _ablation_table(), mae.drop("Model-6"))
    assert r["holds"] is None and r["lacking"] == ["Model-6"]
    texts = ch.ablation_texts(_ablation_table().drop("Model-3"), None)
    assert set(texts) == {"fig7a_" + k.replace("-", "_") for k in ch.FIGURE7A_READINGS}
    assert texts["fig7a_model3"] == "no run of Model-3 yet"


def test_band_distances_and_orderings() -> None:
    table = _table({"LSTM": [10, 10, 10, 10], "DCNN-K1": [20, 20, 20, 20], "A": [10, 15, 20, 40]})
    d = ch.band_distances(table, ["A", "B"])
    assert d["A"] == pytest.approx(np.log(2) / 4) and np.isnan(d["B"])
    assert ch.band_distances(table.drop("LSTM"), ["A"]).isna().all()
    quoted = pd.Series({"X": 0.3, "Y": 0.2, "Z": 0.1})
    order = ch.mae_order_texts(pd.Series({"X": 0.5, "Y": 0.1, "Z": 0.2}), quoted, ["X"])
    assert order == {"paper": "Y > Z", "ours": "Z > Y", "compared": "a different order"}
    assert ch.mae_order_texts(pd.Series(dtype=float), quoted, [])["ours"] == ch.PENDING
    assert ch.weak_models_text(pd.Series({"a": -0.04, "b": 0.5}), 0.1) == "a (-0.04)"
    assert ch.weak_models_text(pd.Series({"b": 0.5}), 0.1) == "none"


def test_peer_texts_have_every_key_with_or_without_the_peer() -> None:
    table = _table({"LSTM": [10, 10, 10, 10], "DCNN-K1": [20, 20, 20, 20], "M": [15] * 4})
    empty = ch.peer_texts("p", table, None, "M", "cmd")
    assert empty["p_cecv"] == ch.PENDING and empty["p_command"] == "cmd"
    record = {
        "config": {"cecv": {"order": "atomic_number"}},
        "cecv": [12, 12, 12, 12],
        "cecv_by_order": {"atomic_number": [12] * 4, "fraction": [11] * 4},
        "compounds_per_element_count": {"3": 30, "4": 5},
        "retrained_metrics": {"test_mae": 0.123456},
        "grid_test_mae": None,
    }
    with_peer = pd.concat([table, pd.Series([40.0] * 4, index=THRESHOLDS, name="CrabNet")
                           .to_frame().T])  # fmt: skip
    texts = ch.peer_texts("p", with_peer, record, "M", "cmd")
    assert set(texts) == set(empty)
    assert texts["p_cecv"] == "12, 12, 12, 12 (atomic number order)"
    assert texts["p_cecv_other"] == "11, 11, 11, 11" and texts["p_compounds"] == "35"
    assert texts["p_mae"] == "0.1235" and texts["p_grid_mae"] == "no grid run stored"
    assert texts["p_dist_ours"] == "0.000" and texts["p_dist_peer"] == f"{np.log(2):.3f}"


class FakeContext(VerdictContext):
    """A context whose single runs (and seeded reruns, by seed) are given: the deciders'
    memo is filled in advance."""

    def __init__(self, models, dataset, cecv, mae, r2, seeded: dict | None = None) -> None:
        super().__init__("standard", store=object())
        self._memo[("ch04_single", tuple(models), dataset)] = {"cecv": cecv, "mae": mae, "r2": r2}
        self._memo[("ch04_seeded", tuple(models), dataset)] = seeded or {}

    def seeded(self, model, dataset, seeds=(0, 1, 2)) -> list[dict]:
        """Stand-in reruns: only their sizes (the scale column reads them)."""
        return [{"sizes": {"train": 3000}, "full_sizes": {"train": 240000}}]


def _tables(table: pd.DataFrame, r2: float) -> dict:
    return {"cecv": table, "mae": pd.Series(0.05, index=table.index),
            "r2": pd.Series(r2, index=table.index)}  # fmt: skip


def _ablation_context(
    table: pd.DataFrame, r2: float = 0.8, seeded: list[pd.DataFrame] = ()
) -> FakeContext:
    """One run per model (``table``) and, per seed, the reruns' CECV tables ``seeded``."""
    from matfusion.chapters.cells import CECV_ABLATION_MODELS

    one = _tables(table, r2)
    by_seed = {s: _tables(t, r2) for s, t in enumerate(seeded)}
    return FakeContext(CECV_ABLATION_MODELS, "OQMD_Formation_Enthalpy", **one, seeded=by_seed)


def test_ablation_deciders_give_one_run_readings_never_a_verdict() -> None:
    finding = ch.ablation_claim("6b-2b")(_ablation_context(_ablation_table()))
    assert finding.verdict == "inconclusive" and finding.runs == "1 seed"
    assert finding.evidence.startswith("one run per model: holds (6B above 2B at 4 of 4")
    weak = ch.ablation_claim("model3")(_ablation_context(_ablation_table(), r2=0.02))
    assert weak.verdict == "not testable here" and "Model-3 (0.02)" in weak.evidence
    assert "one run: holds (Model 3 above 2B at 4 of 4" in weak.evidence
    pending = ch.ablation_claim("model6")(_ablation_context(_ablation_table().drop("Model-6")))
    assert pending.verdict == "inconclusive" and "runs pending" in pending.evidence


def test_ablation_deciders_use_the_seeded_reruns_once_two_seeds_have_every_model() -> None:
    fewer = _ablation_table(**{"Model-3": [100, 40, 20, 10]})  # Model 3 below 2B everywhere
    more = _ablation_table()  # Model 3 above 2B everywhere
    decide = ch.ablation_claim("model3")
    fails = decide(_ablation_context(more, seeded=[fewer, fewer, fewer]))
    assert fails.verdict == "fails" and fails.runs == "3 seeds"
    assert fails.evidence.startswith(
        "0 of 3 seeds show the reading at every threshold, 3 at none (seed 0: Model 3 above"
    )
    holds = decide(_ablation_context(fewer, seeded=[more, more]))
    assert holds.verdict == "holds" and holds.runs == "2 seeds"
    mixed = decide(_ablation_context(more, seeded=[more, fewer, more]))
    assert mixed.verdict == "inconclusive" and "2 of 3 seeds show" in mixed.evidence
    # above 2B at one threshold of four on every seed: neither shown nor contradicted
    partly = _ablation_table(**{"Model-3": [160, 40, 20, 10]})
    assert ch.ablation_reading("model3", partly)["shown"] == 1
    assert decide(_ablation_context(more, seeded=[partly, partly])).verdict == "inconclusive"
    weak = decide(_ablation_context(more, r2=0.02, seeded=[more, more]))
    assert weak.verdict == "not testable here" and "mean test R² below" in weak.evidence
    # one seed with 6B is not enough: the one-run reading, with what the reruns hold so far
    no_6b = more.drop("L-G-DCNN-6B")
    one = ch.ablation_claim("6b-2b")(_ablation_context(more, seeded=[more, no_6b, no_6b]))
    assert one.verdict == "inconclusive" and one.runs == "1 seed"
    assert one.evidence.endswith("seeded reruns so far: L-G-DCNN-6B 1, L-G-DCNN-2B 3")


def test_figure11a_band_decider() -> None:
    table = _table({"LSTM": [10] * 4, "DCNN-K1": [20] * 4, "LDCNN": [40] * 4,
                    "L-G-DCNN": [15] * 4})  # fmt: skip
    r2 = pd.Series(0.5, index=table.index)
    ctx = FakeContext(ch.FIGURE11_MODELS, "OQMD_Bandgap", table, pd.Series(dtype=float), r2)
    finding = ch.lgdcnn_ldcnn_band_claim()(ctx)
    assert finding.verdict == "inconclusive"
    assert "L-G-DCNN closer" in finding.evidence and "LDCNN 0.693" in finding.evidence
    r2["LSTM"] = -0.02
    ctx = FakeContext(ch.FIGURE11_MODELS, "OQMD_Bandgap", table, pd.Series(dtype=float), r2)
    assert ch.lgdcnn_ldcnn_band_claim()(ctx).verdict == "not testable here"


def test_the_readings_are_registry_claims_of_this_chapter() -> None:
    keys = {c.key: c for c in CLAIMS}
    for key in ch.FIGURE7A_READINGS:
        assert keys[f"A-fig7a-{key}"].chapter == "04_cecv_band_gap"
    assert keys["A-fig7b-crabnet"].chapter == "04_cecv_band_gap"
