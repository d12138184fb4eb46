"""Chapter 09's learning-curve texts on a small synthetic curve, the time-to-accuracy race on
synthetic histories, its glue keys on every path, and its exercises on the stored runs."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from matfusion.chapters import sample_efficiency as se
from matfusion.config import repo_root

SIZES = [100, 1000, 10000]


def _page(**kwargs) -> se.SampleEfficiency:
    mae = {"L-G-DCNN": [0.30, 0.20, 0.10], "CrabNet": [0.28, 0.22, 0.15], "RF-Magpie": [0.25,
           0.21, 0.12]}  # fmt: skip
    r2 = {"L-G-DCNN": [0.05, 0.40, 0.80], "CrabNet": [0.20, 0.30, 0.70], "RF-Magpie": [0.30,
          0.50, 0.75]}  # fmt: skip
    rows = [
        {"model": m, "n_train": n, "test_mae": mae[m][i], "test_r2": r2[m][i]}
        for m in mae
        for i, n in enumerate(SIZES)
    ]
    floor = pd.DataFrame(
        {
            "constant": 0.0,
            "test_share_at_constant": 0.9,
            "test_n": 2000,
            "test_mae": [0.29, 0.29, 0.29],
            "test_r2": -0.04,
            "checked_rows": 0,
        },
        index=SIZES,
    )
    return se.SampleEfficiency(
        pd.DataFrame(rows), floor, list(mae), SIZES, "OQMD_Bandgap", "eV", **kwargs
    )


def test_slopes_and_floor_facts() -> None:
    facts = _page().facts()
    slope = np.polyfit(np.log10(SIZES), np.log10([0.30, 0.20, 0.10]), 1)[0]
    assert facts["slopes"].startswith(f"L-G-DCNN {slope:.3f}, ")
    assert facts["slope_sizes"] == "the 3 sizes all 3 models have, 100 to 10,000 rows"
    assert facts["floor_constant"] == "0 eV" and facts["floor_share"] == "90%"
    assert facts["floor_mae"] == "0.2900 eV" and facts["floor_test_n"] == "2,000"
    assert facts["floor_checked"].startswith("could not be compared")


def test_weak_runs_runs_at_the_floor_and_mae_r2_disagreement() -> None:
    facts = _page().facts()
    assert facts["weak_runs"] == "L-G-DCNN at 100 rows (MAE 0.3000 eV, R² 0.050)"
    assert facts["at_floor"] == "L-G-DCNN at 100 rows (MAE 0.3000 eV, R² 0.050)"
    # 1,000 rows: L-G-DCNN has the lower MAE (0.20 vs 0.21) but the lower R² (0.40 vs 0.50)
    assert facts["mae_r2_split"] == "at 1,000 rows MAE 0.2000 vs 0.2100 eV, R² 0.400 vs 0.500"
    assert facts["size_range"] == "100 to 10,000 rows"


def test_facts_have_the_same_keys_with_nothing_stored() -> None:
    full = _page().facts()
    empty = se.SampleEfficiency(
        pd.DataFrame(columns=["model", "n_train"]), pd.DataFrame(), list(se.SAMPLE_EFFICIENCY_MODELS),
        [64, 256], "OQMD_Bandgap", "eV", profile_name="smoke",
    )  # fmt: skip
    facts = empty.facts()
    assert facts.keys() == full.keys()
    assert all(isinstance(v, str) and v for v in facts.values())
    assert facts["scope_note"].startswith("Smoke-sized")
    assert empty.claims.empty and empty.curve_table().columns.tolist() == ["note"]


def _history(maes: list[float], seconds: float) -> list[dict]:
    return [{"epoch": i + 1, "val_mae": v, "seconds": seconds} for i, v in enumerate(maes)]


def _run(maes: list[float], seconds: float) -> dict:
    return {
        "history": _history(maes, seconds),
        "sizes": {"train": 3000},
        "full_sizes": {"train": 3428},
        "config": {"profile": "standard"},
        "train_settings": {"num_threads": 1},
    }


def test_convergence_race_facts() -> None:
    runs = {"L-G-DCNN": _run([0.9, 0.5, 0.4], 10.0), "CrabNet": _run([0.8, 0.6, 0.5], 20.0)}
    race = se.Convergence({"aflow__Egap": runs}, {"aflow__ael_debye_temperature": ["CrabNet"]})
    found = race.found["aflow__Egap"]
    # CrabNet's best, 0.5, after 3 x 20 s; L-G-DCNN reaches it in its second 10 s epoch
    assert found.target_mae == pytest.approx(0.5) and found.seconds == pytest.approx(20.0)
    assert found.reference_seconds == pytest.approx(60.0) and found.epoch == 2
    facts = race.facts()
    assert (
        facts["race_absent"] == "no stored standard run of CrabNet on aflow__ael_debye_temperature"
    )
    assert "3,428 training rows, 3,000 used by both models" in facts["race_runs"]
    assert "*" not in facts["race_readings"] and "`" not in facts["race_readings"]
    assert facts["race_readings"].startswith("aflow__Egap (")
    none = se.Convergence({}, {}, profile_name="smoke").facts()
    assert none.keys() == facts.keys()
    assert none["race_runs"].startswith("none")


def test_every_glue_key_of_the_chapter_is_glued() -> None:
    source = (repo_root() / "notebooks" / "09_sample_efficiency.py").read_text()
    used = set(re.findall(r"\{glue:text\}`([^`:]+)", source))
    glued = set(_page().facts()) | set(se.Convergence({}, {}).facts())
    assert used and used <= glued, used - glued
