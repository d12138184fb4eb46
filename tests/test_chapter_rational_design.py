"""Chapter 03's seeded reruns: read or (smoke) trained, CECV over seeds, MAE claims decided
by intervals, missing runs named."""

from __future__ import annotations

import pytest

from matfusion.chapters.rational_design import (
    cecv_over_seeds,
    mae_claims,
    rerun_profile,
    seeded_cecv_reruns,
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
    # the page's form: the same runs, the spread and a note with the command for the rest
    section = seeded_cecv_reruns(smoke, dataset="OQMD_Formation_Enthalpy", seeds=(0, 1, 2),
                                 store=store, **kwargs)  # fmt: skip
    assert [len(v) for v in section.runs.values()] == [2, 2] and len(section.missing) == 4
    assert section.spread.equals(spread)
    assert section.note.startswith("**8 of 12 runs and CECV records stored.**")
    assert "matfusion grid --models LSTM,DCNN-K1 --datasets OQMD_Formation_Enthalpy " in (
        section.note
    )


def test_anchor_counts_count_compounds_with_three_or_more_elements() -> None:
    from matfusion.chapters.rational_design import anchor_counts
    from matfusion.data.formulas import parse_formula
    from matfusion.studies import anchor_compounds

    table = anchor_counts(["OQMD_Bandgap"], anchor="Si", splits=["test"])
    frame = anchor_compounds("OQMD_Bandgap", "Si", split="test")
    by_hand = sum(len(parse_formula(f)) >= 3 for f in frame["formula"])
    assert table.loc[0, "with Si"] == len(frame)
    assert table.loc[0, "with Si, 3+ elements"] == by_hand < len(frame)


def _cecv_table():
    import pandas as pd

    columns = ["0.05", "0.10", "0.20", "0.30"]
    rows = {
        "LSTM": [100, 80, 40, 20],
        "DCNN-K1": [200, 180, 140, 100],
        "LDCNN": [150, 170, 60, 60],
        "L-ATT-RES-DCNN": [160, 160, 70, 70],
        "L-G-DCNN": [120, 180, 50, 100],
    }
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns).astype(float)


def test_reference_position_places_models_in_the_band() -> None:
    from matfusion.chapters.rational_design import reference_position

    position = reference_position(_cecv_table())
    assert list(position.index) == ["LDCNN", "L-ATT-RES-DCNN", "L-G-DCNN"]
    # LDCNN at 0.05: (150 - 200) / (100 - 200) = 0.5; L-G-DCNN at 0.30: 0 (on DCNN-K1)
    assert position.loc["LDCNN", "0.05"] == 0.5 and position.loc["L-G-DCNN", "0.30"] == 0.0
    assert reference_position(_cecv_table().drop(index="LSTM")).empty


def test_design_numbers_count_steps_thresholds_and_placeholders() -> None:
    import pandas as pd

    from matfusion.chapters.rational_design import (
        NOT_STORED,
        design_numbers,
        reference_position,
    )

    table = _cecv_table()
    mae = pd.Series({"LDCNN": 0.20, "L-ATT-RES-DCNN": 0.19, "L-G-DCNN": 0.21})
    numbers = design_numbers(mae, table, reference_position(table), get_profile("standard"))
    assert numbers["path_steps"] == "1 of 2"
    assert numbers["path_maes"].startswith("LDCNN 0.2000, L-ATT-RES-DCNN 0.1900")
    assert numbers["k1_more"] == "yes"
    assert numbers["check_ldcnn_k1"] == "true at 2 of 2 thresholds"
    assert numbers["check_attres_ldcnn"] == "true at 3 of 4 thresholds"  # 0.10: 160 < 170
    assert numbers["check_lgdcnn_attres"] == "true at 1 of 2 thresholds"
    # LDCNN: 0.5 and 0.1 below t = 0.15 -> 0.30; 0.8 and 0.5 above -> 0.65
    assert numbers["positions"].startswith("LDCNN 0.30 below and 0.65 above")
    assert "one-seed" in numbers["story_scale"]
    empty = design_numbers(pd.Series(dtype=float), table.iloc[0:0], pd.DataFrame(),
                           get_profile("smoke"))  # fmt: skip
    assert empty["path_steps"] == NOT_STORED and empty["k1_more"] == NOT_STORED
    assert empty["check_ldcnn_k1"].startswith("not checked")
    assert "smoke-sized" in empty["story_scale"]


def test_anchor_set_and_si_numbers() -> None:
    import pandas as pd

    from matfusion.chapters.rational_design import (
        NOT_STORED,
        anchor_set_numbers,
        si_count_numbers,
    )

    cecv = {"LSTM": {"compounds_per_element_count": {"3": 1000, "4": 200}, "skipped_small": 34}}
    train = {"LSTM": {"sizes": {"train": 3000}}}
    numbers = anchor_set_numbers(cecv, train)
    assert numbers == {"n_anchor": "1,234", "n_anchor_cecv": "1,200",
                       "per_count": "3: 1,000, 4: 200", "train_rows": "3,000"}  # fmt: skip
    assert set(anchor_set_numbers({}, {}).values()) == {NOT_STORED}
    counts = pd.DataFrame(
        {
            "dataset": ["OQMD_Bandgap", "OQMD_Formation_Enthalpy"],
            "split": ["test", "test"],
            "with Si": [2374, 2536],
            "with Si, 3+ elements": [2300, 2464],
        }  # fmt: skip
    )
    si = si_count_numbers(counts, 2374)
    assert si["si_fe_test"] == "2,536" and si["si_fe_test_3"] == "2,464"
    assert si["si_match"] == "the test split of OQMD_Bandgap"
    assert si_count_numbers(counts, 7)["si_match"] == "no split"


def test_large_numbers_with_and_without_runs() -> None:
    import pandas as pd

    from matfusion.chapters.rational_design import NOT_STORED, large_numbers

    large = pd.DataFrame({"0.05": [110.0, 90.0], "0.10": [90.0, 80.0]},
                         index=["LSTM", "L-G-DCNN"])  # fmt: skip
    train = {m: {"sizes": {"train": 20000}, "metrics": {"test_mae": 0.1}} for m in large.index}
    numbers = large_numbers(large, train, large.iloc[0:0], [100.0, 100.0], "standard", 2464)
    assert numbers["lstm_gap_large"] == "10 %"  # |110/100 - 1| and |90/100 - 1|
    assert numbers["lstm_gap_profile"] == f"{NOT_STORED} under the standard profile"
    assert numbers["lgdcnn_below_lstm"] == "yes" and numbers["large_compounds"] == "2,464"
    assert numbers["large_rows"] == "LSTM 20,000, L-G-DCNN 20,000"
    none = large_numbers(pd.DataFrame(), {}, large, [100.0, 100.0], "standard", None)
    assert set(none.values()) == {NOT_STORED}


def test_errors_table_and_exercises() -> None:
    import pandas as pd

    from matfusion.chapters.exercises import chapter_exercises
    from matfusion.chapters.rational_design import errors_table

    empty = errors_table({}, pd.Series({"LDCNN": 0.0349}), "standard")
    assert empty.loc["LDCNN", "paper"] == 0.0349 and pd.isna(empty.loc["LDCNN", "difference"])
    for exercise in chapter_exercises("03_rational_design"):
        answer = exercise.answer(get_profile("standard"))
        assert isinstance(answer, str) and len(answer) > 80


def test_cecv_by_size_trains_reads_back_and_places_models_in_the_band(tmp_path, monkeypatch):
    from matfusion.chapters.rational_design import cecv_by_size

    monkeypatch.setenv("MATFUSION_RESULTS", str(tmp_path))
    store = ResultsStore(tmp_path)
    smoke = get_profile("smoke")
    kwargs = {"models": ("LSTM", "DCNN-K1", "LDCNN"), "sizes": (64, 128), "store": store}
    empty = cecv_by_size(smoke, **kwargs)
    assert empty.cecv.empty and len(empty.missing) == 12 and empty.total == 12
    assert "--train-rows 64,128" in empty.command and "--conventions authors" in empty.command
    trained = cecv_by_size(smoke, train_missing=True, **kwargs)
    assert not trained.missing and trained.total == 12
    assert list(trained.mae.index) == [64, 128]
    assert {r["sizes"]["train"] for r in store.records(experiment="train")} == {64, 128}
    at = trained.at("0.05")
    assert list(at.index) == [64, 128] and set(at.columns) == {"LSTM", "DCNN-K1", "LDCNN"}
    positions = trained.positions()
    assert list(positions.index.get_level_values("model").unique()) == ["LDCNN"]
    table = trained.cecv.xs(64, level="size")
    span = table.loc["LSTM"] - table.loc["DCNN-K1"]
    expected = (table.loc["LDCNN"] - table.loc["DCNN-K1"]) / span.replace(0, float("nan"))
    small = [c for c in table.columns if float(c) < 0.15]
    assert positions.loc[(64, "LDCNN"), "below t = 0.15"] == pytest.approx(
        expected[small].round(2).mean(), nan_ok=True
    )
    fig = trained.plot([100.0] * len(trained.cecv.columns), "Si", ["0.05", "0.30"])
    assert len(fig.axes) == 2 and fig.axes[0].get_xscale() == "log"
    assert len(fig.axes[0].lines) == 4  # three models and the paper's LSTM
    again = cecv_by_size(smoke, **kwargs)  # read back, nothing trained
    assert again.cecv.equals(trained.cecv)
