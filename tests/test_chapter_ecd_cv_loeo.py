"""Chapter 11 (paper B's CV, LOEO and t-SNE): expected and missing runs, Table 2 and the
LOEO tables beside the paper's, the glued numbers of the provider comparisons with their
placeholders, and the chapter's exercises."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd

from matfusion.chapters import ecd_cv_loeo as chapter

matplotlib.use("Agg")

FUSION, PARTS = "Fusion(Magpie+ECD)", ("CNN+Magpie", "2D-CNN+ECD")


def test_expected_runs_and_what_is_unstored():
    folds = [(0, "fold 0"), (1, "fold 1")]
    expected = chapter.expected_runs(["A", "B"], ["bulk"], folds, repeats=1)
    assert len(expected) == 4 and expected[("A", "bulk", 1, 0)] == "A / bulk fold 1"
    paired = chapter.expected_runs(["A"], ["bulk"], folds, repeats=2, providers=["p", "q"])
    assert len(paired) == 8 and paired[("q", "A", "bulk", 0, 1)] == "q: A / bulk fold 0 repeat 1"
    records = [{"config": {"model": "A", "target": "bulk", "fold": 0, "repeat": 0}},
               {"model": "B", "target": "bulk", "fold": 1, "repeat": 0}]  # fmt: skip
    missing = chapter.unstored(expected, records, ["model", "target", "fold", "repeat"])
    assert missing == ["B / bulk fold 0", "A / bulk fold 1"]


def _paper_cv() -> pd.DataFrame:
    rows = []
    for target in chapter.TARGETS:
        for model, r2 in (("RF+Magpie", 0.8), (PARTS[0], 0.85), (PARTS[1], 0.7), (FUSION, 0.9)):
            rows.append({"target": target, "model": model, "R2": r2, "RMSE_GPa": 10.0})
    return pd.DataFrame(rows).set_index(["target", "model"])


def _cv_records() -> list[dict]:
    out = []
    for fold in range(2):
        for model, r2 in (("RF+Magpie", 0.6), (PARTS[0], 0.5), (PARTS[1], 0.55), (FUSION, 0.7)):
            out.append({"config": {"target": "bulk", "model": model, "fold": fold},
                        "metrics": {"r2": r2 + 0.01 * fold, "rmse": 20.0}})  # fmt: skip
    return out


def test_cv_table_and_best_numbers_with_a_target_not_run():
    ours, table = chapter.cv_table(_cv_records(), _paper_cv())
    assert ours.loc[("bulk", FUSION), "runs"] == 2
    assert np.isclose(table.loc[("bulk", FUSION), ("R2", "difference")], 0.705 - 0.9)
    numbers = chapter.cv_best_numbers(ours, _paper_cv())
    assert numbers["cv_best_bulk"] == FUSION and numbers["cv_best_r2_bulk"] == "0.705"
    assert numbers["cv_gain_bulk"] == "+0.150"  # 0.705 - 0.555
    assert numbers["cv_paper_gain_bulk"] == "+0.050"
    assert numbers["cv_best_shear"] == chapter.NOT_STORED  # shear never ran
    assert numbers["cv_paper_best_shear"] == FUSION
    empty, table = chapter.cv_table([], _paper_cv())
    assert empty.empty and table[("R2", "ours")].isna().all()
    assert chapter.cv_best_numbers(empty, _paper_cv())["cv_best_bulk"] == chapter.NOT_STORED


def _per_fold() -> pd.DataFrame:
    rows = []
    for fold in range(4):
        for model, gain in (("3D", 0.1), ("2D", -0.1), ("RF", 0.0)):
            for provider, r2 in (("promolecular", 0.5), ("gpaw", 0.5 + gain + 0.01 * fold)):
                rows.append({"provider": provider, "model": model, "target": "bulk",
                             "fold": fold, "repeat": 0, "R2": r2})  # fmt: skip
    return pd.DataFrame(rows)


def test_provider_cv_table_and_numbers_count_gains_beyond_the_rule():
    per_fold = _per_fold()
    by_provider = per_fold.groupby(["provider", "target", "model"], as_index=False)["R2"].mean()
    by_provider["RMSE_GPa"] = 1.0
    table = chapter.provider_cv_table(by_provider, per_fold)
    gain = table[("R2 gain, GPAW - promolecular", "mean")]
    assert np.isclose(gain[("bulk", "3D")], 0.115)
    assert table.loc[("bulk", "2D"), ("R2 gain, GPAW - promolecular", "folds GPAW better")] == (
        "0 of 4"
    )
    numbers = chapter.provider_cv_numbers(table, per_fold, True, ["3D", "2D"])
    assert (numbers["pcv_cells"], numbers["pcv_better"], numbers["pcv_worse"]) == ("2", "1", "1")
    assert numbers["pcv_best"] == "3D on bulk modulus" and numbers["pcv_runs"] == "4"
    # sd over folds 0.0129, standard error 0.0065: 0.115 passes at 5 errors, fails at 20
    strict = chapter.provider_cv_numbers(table, per_fold, True, ["3D", "2D"], se_rule=20.0)
    assert (strict["pcv_better"], strict["pcv_worse"]) == ("0", "0")
    incomplete = chapter.provider_cv_numbers(table, per_fold, False, ["3D", "2D"])
    assert incomplete["pcv_better"] == chapter.NOT_STORED and set(incomplete) == set(numbers)
    assert chapter.provider_cv_table(by_provider[by_provider["provider"] == "gpaw"], per_fold).empty


def test_paper_loeo_long_beside_ours_and_win_counts():
    paper = pd.DataFrame({"element": ["F", "K"], "target": ["bulk", "bulk"],
                          "train_size": [10, 11], "test_size": [5, 4],
                          "A_R2": [0.9, 0.1], "A_RMSE": [1.0, 2.0],
                          "B_R2": [0.5, 0.6], "B_RMSE": [3.0, 4.0]})  # fmt: skip
    long = chapter.paper_loeo_long(paper, ["A", "B"])
    assert len(long) == 4 and long.set_index(["element", "model"]).loc[("K", "B"), "R2"] == 0.6
    ours = pd.DataFrame({"element": ["F", "F"], "target": ["bulk", "bulk"], "model": ["A", "B"],
                         "test_size": [3, 3], "R2": [0.2, 0.4], "RMSE": [9.0, 8.0]})  # fmt: skip
    beside = chapter.loeo_beside_paper(ours, long)
    assert beside.loc[("F", "bulk", "A"), "R2 paper"] == 0.9
    wins = chapter.loeo_wins(ours, long)
    assert wins.loc["B", "ours (R2 wins)"] == 1 and wins.loc["A", "paper (R2 wins)"] == 1
    assert wins.loc["B", "paper, all 11 elements"] == 1  # K
    assert chapter.loeo_cases(ours) == 1


def test_provider_loeo_numbers_and_placeholder():
    pairs = pd.DataFrame({"runs gpaw better": [1, 2, 0], "runs": [2, 2, 2]},
                         index=pd.MultiIndex.from_tuples(
                             [("bulk", "3D"), ("bulk", "2D"), ("bulk", "RF")],
                             names=["target", "model"]))  # fmt: skip
    per_run = pd.DataFrame({"model": ["3D", "3D", "RF"], "target": ["bulk"] * 3,
                            "element": ["F", "K", "F"]})  # fmt: skip
    wins = pd.DataFrame({"R2 wins, promolecular": [1, 0, 1], "R2 wins, gpaw": [2, 0, 0]},
                        index=["3D", "2D", "RF"])  # fmt: skip
    numbers = chapter.provider_loeo_numbers(pairs, per_run, wins, True, ["3D", "2D"])
    assert numbers == {"ploeo_cases": "2", "ploeo_better": "3", "ploeo_runs": "4",
                       "ploeo_wins_promolecular": "1", "ploeo_wins_gpaw": "2",
                       "ploeo_wins_total": "2"}  # fmt: skip
    missing = chapter.provider_loeo_numbers(pairs, per_run, wins, False, ["3D", "2D"])
    assert set(missing.values()) == {chapter.NOT_STORED}


def test_materials_sentence_tsne_present_and_smoke_note():
    info = {"materials": {"promolecular": 5, "gpaw": 5}, "left_out_elements": [],
            "left_out_materials": 0}  # fmt: skip
    assert chapter.materials_sentence(info, 5) == (
        "Both providers: the same 5 materials, 5-fold CV. No material is left out."
    )
    info["materials"]["gpaw"] = 4
    assert chapter.materials_sentence(info).startswith("Materials: 5 with promolecular")
    frame = pd.DataFrame({"elements": ["Na Cl", "Na F", "K Cl", "Na O"]})
    assert chapter.tsne_present(frame, ["Cl", "Tl"]) == ["Cl"]
    assert chapter.tsne_present(frame, ["Tl"]) == ["Na"]  # the most common instead
    assert chapter.smoke_note("standard") == "" and "code only" in chapter.smoke_note("smoke")
