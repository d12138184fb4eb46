"""Chapter 03's seeded reruns: read or (smoke) trained, CECV over seeds, MAE claims decided
by intervals, missing runs named."""

from __future__ import annotations

from matfusion.chapters.rational_design import (
    cecv_over_seeds,
    mae_claims,
    rerun_profile,
    seeded_runs,
)
from matfusion.profiles import get_profile
from matfusion.results import ResultsStore


def test_rerun_profile_sets_the_authors_conventions_and_the_plateau_recipe():
    standard = rerun_profile(get_profile("standard"))
    assert (standard.conventions, standard.recipe, standard.epochs) == ("authors", "plateau", 300)
    smoke = rerun_profile(get_profile("smoke"))
    assert smoke.epochs == get_profile("smoke").epochs and smoke.recipe == "plateau"


def test_seeded_runs_cecv_spread_and_claims(tmp_path, monkeypatch):
    monkeypatch.setenv("MATFUSION_RESULTS", str(tmp_path))
    store = ResultsStore(tmp_path)
    smoke = get_profile("smoke")
    kwargs = {"models": ("LSTM", "DCNN-K1"), "anchor": "Si"}
    runs, cecv, missing = seeded_runs(smoke, seeds=(0, 1), store=store, **kwargs)
    assert runs == {"LSTM": [], "DCNN-K1": []} and len(missing) == 8  # nothing trained
    assert missing[0] == "LSTM / OQMD_Formation_Enthalpy seed 0"
    runs, cecv, missing = seeded_runs(
        smoke, seeds=(0, 1), store=store, train_missing=True, **kwargs
    )
    assert not missing and [len(v) for v in runs.values()] == [2, 2]
    assert all(r["config"]["conventions"]["name"] == "authors" for r in runs["LSTM"])
    spread = cecv_over_seeds(cecv)
    assert list(spread.index) == ["LSTM", "DCNN-K1"] and (spread[("seeds", "")] == 2).all()
    assert (spread["min"] <= spread["mean"]).all().all()
    assert (spread["mean"] <= spread["max"]).all().all()
    claims = mae_claims(runs, [("LSTM beats DCNN-K1", "LSTM", "DCNN-K1"),
                               ("X beats LSTM", "L-G-DCNN", "LSTM")])  # fmt: skip
    first, second = claims.iloc[0], claims.iloc[1]
    assert first["seeds"] == 2 and first["verdict"] in {"holds", "fails", "inconclusive"}
    assert len(first["per seed"].split(", ")) == 2
    assert second["verdict"] == "not testable here"
    # read back without training: the same records
    again, _, missing = seeded_runs(smoke, seeds=(0, 1), store=store, **kwargs)
    assert not missing
    assert [r["config"] for r in again["LSTM"]] == [r["config"] for r in runs["LSTM"]]
    assert all(r["cache_hit"] for r in again["LSTM"])


def test_anchor_counts_count_compounds_with_three_or_more_elements() -> None:
    from matfusion.chapters.rational_design import anchor_counts
    from matfusion.data.formulas import parse_formula
    from matfusion.studies import anchor_compounds

    table = anchor_counts(["OQMD_Bandgap"], anchor="Si", splits=["test"])
    frame = anchor_compounds("OQMD_Bandgap", "Si", split="test")
    by_hand = sum(len(parse_formula(f)) >= 3 for f in frame["formula"])
    assert table.loc[0, "with Si"] == len(frame)
    assert table.loc[0, "with Si, 3+ elements"] == by_hand < len(frame)
