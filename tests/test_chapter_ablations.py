"""Chapter 07's tables and texts on small synthetic tables, its glue keys on every path, and
its exercises on the stored ``standard`` runs."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from matfusion.chapters import ablations as ab
from matfusion.config import repo_root

ROWS = ["aflow__energy_atom", "CritExam__Ef", "mp_e_hull", "OQMD_Formation_Enthalpy"]


def _page(scale: dict[str, float] | None = None, r2: float = 0.9, **kwargs) -> ab.Ablations:
    """Our MAEs: Table 2's times ``scale`` per model (1.0 where not given)."""
    paper = ab.reported_table2()
    rows = []
    for dataset in ROWS:
        for model in paper.columns:
            mae = float(paper.loc[dataset, model]) * (scale or {}).get(model, 1.0)
            score = 0.05 if (dataset, model) == ("mp_e_hull", "Model-1") else r2
            rows.append({"dataset": dataset, "model": model, "test_mae": mae, "test_r2": score})
    return ab.Ablations(pd.DataFrame(rows), ROWS, list(paper.columns), paper, **kwargs)


def test_table2_and_changes_against_the_reference() -> None:
    page = _page({"Model-3": 1.1})
    table = page.table2()
    assert np.allclose(table[("Model-3", "diff %")], 10.0)
    assert np.allclose(table[("Model-1", "diff %")], 0.0)
    ours, theirs = page.changes()
    assert np.allclose(ours[ab.REFERENCE], 0.0)
    assert np.allclose(ours["Model-3"], 100 * (1.1 * (theirs["Model-3"] / 100 + 1) - 1))


def test_claims_on_table2_itself_hold_and_the_misprint_is_counted() -> None:
    page = _page()
    claims = page.claims_table()
    assert claims.index.str.startswith("[†] ").sum() == 1
    strict = page.paper_claims()
    assert (strict["holds on"] == strict["datasets"]).all()  # our transcription of Table 2
    facts = page.typo_facts()
    assert facts["typo_counts"].startswith("With the printed value the paper's Table 2 supports")
    assert "on 0 of 1 datasets; with the corrected one on 1 of 1" in facts["typo_counts"]


def test_r2_guard_and_spread() -> None:
    page = _page(min_r2=0.1)
    weak = page.weak_facts()
    assert weak["weak_runs"] == "Model-1 on mp_e_hull (0.050)"
    assert weak["weak_spread"].startswith("on mp_e_hull the 9 MAEs span only")
    spread = page.spread_table()
    assert list(spread.index) == ROWS
    assert spread.loc["mp_e_hull", "R² < 0.1"] == "Model-1"
    assert spread.loc["aflow__energy_atom", "R² < 0.1"] == "–"
    assert (spread["variants"] == 8).all()
    strong = _page(r2=0.9, min_r2=0.01).weak_facts()
    assert strong["weak_runs"] == "none: every stored run reaches it"


def test_spread_counts_variants_beating_the_reference() -> None:
    paper = ab.reported_table2()
    rows = [
        {"dataset": "x", "model": m, "test_mae": v, "test_r2": 0.9}
        for m, v in {ab.REFERENCE: 1.0, "Model-1": 0.9, "Model-2": 1.005, "Model-3": 2.0}.items()
    ]
    models = [ab.REFERENCE, "Model-1", "Model-2", "Model-3"]
    page = ab.Ablations(pd.DataFrame(rows), ["x"], models, paper, tie_rtol=0.01)
    row = page.spread_table().loc["x"]
    assert row[f"lower than {ab.REFERENCE} by > 1%"] == 1  # Model-1
    assert row["within 1% of it"] == 1  # Model-2
    assert row["lowest MAE"] == "Model-1 (0.9)" and row["spread %"] == pytest.approx(122.22, 0.01)


def test_facts_have_the_same_keys_with_nothing_stored() -> None:
    full = _page().facts()
    paper = ab.reported_table2()
    empty = ab.Ablations(pd.DataFrame(), ROWS, list(paper.columns), paper, profile_name="smoke")
    facts = empty.facts()
    assert facts.keys() == full.keys()
    assert all(isinstance(v, str) and v for v in facts.values())
    assert "smoke-sized" in facts["scope_note"]
    assert full["n_checked"] == "8 of the 8 claims"
    with pytest.raises(ValueError, match="keep it in `models`"):
        ab.Ablations(pd.DataFrame(), ROWS, ["Model-1"], paper)


def test_size_facts() -> None:
    sizes = pd.Series({"a": 19346, "b": 59509})
    facts = ab.size_facts(sizes, 3000, "standard")
    assert facts["training_rows"] == "a 19,346 in full, 3,000 used, b 59,509 in full, 3,000 used"
    assert facts["size_note"].startswith("Under standard every set is cut to 3,000 training rows")
    assert ab.size_facts(sizes, None, "paper")["size_note"].startswith("These are the full")
    mixed = ab.size_facts(pd.Series({"a": 1000, "b": 59509}), 3000, "standard")["size_note"]
    assert mixed.startswith("Under standard training splits are cut to at most 3,000 rows")


def test_every_glue_key_of_the_chapter_is_glued() -> None:
    source = (repo_root() / "notebooks" / "07_ablations.py").read_text()
    used = set(re.findall(r"\{glue:text\}`([^`:]+)", source))
    glued = set(_page().facts()) | set(ab.size_facts(pd.Series({"a": 10}), None, "x"))
    assert used and used <= glued, used - glued


def _seeded_record(model: str, seed: int, mae: float) -> dict:
    return {"config": {"seed": seed, "train": {"epochs": 300}}, "epochs_run": 80,
            "metrics": {"test_mae": mae, "test_r2": 0.9}}  # fmt: skip


def test_seeded_reruns_changes_pair_each_seed_with_the_reference() -> None:
    runs = {
        ab.REFERENCE: [_seeded_record(ab.REFERENCE, s, m) for s, m in [(0, 0.04), (1, 0.05)]],
        "Model-3": [_seeded_record("Model-3", s, m) for s, m in [(0, 0.044), (1, 0.045), (2, 1.0)]],
    }
    seeded = ab.SeededAblations(ab.RERUN_DATASET, runs, ["L-G-DCNN-2B / x seed 2"], "cmd")
    change = seeded.changes()
    assert list(change.columns) == ["Model-3"]
    assert change["Model-3"].round(6).tolist() == [10.0, -10.0]  # seed 2 has no reference
    summary = seeded.summary(ab.reported_table2())
    assert summary.loc["Model-3", "seeds"] == 3
    assert summary.loc["Model-3", "paper MAE"] == pytest.approx(
        ab.reported_table2().loc[ab.RERUN_DATASET, "Model-3"]
    )
    assert summary.loc[ab.REFERENCE, "at epoch cap"] == 0.0
    fig = seeded.plot_changes(ab.reported_table2())
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Model-3"]
    assert "%" in ax.get_xlabel()
