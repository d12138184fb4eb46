"""Chapter 11 (paper B's CV, LOEO and t-SNE): expected and missing runs, Table 2 and the
LOEO tables beside the paper's, the glued numbers of the provider comparisons with their
placeholders, and the chapter's exercises."""

from __future__ import annotations

import json

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


SOURCES = ("promolecular-all-electron", "gpaw-all-electron", "gpaw-valence")
DFT, CORE = SOURCES[:2], chapter.CORE_PAIR


def _per_fold(valence_models: tuple[str, ...] = ("RF",)) -> pd.DataFrame:
    """Four folds; GPAW all-electron gains 0.1 (+0.01 per fold) over promolecular with the
    3D model, loses 0.1 with the 2D one; GPAW valence gains another 0.05 over GPAW
    all-electron with the models of ``valence_models`` (RF: the Magpie-only run, shared)."""
    rows = []
    for fold in range(4):
        for model, gain in (("3D", 0.1), ("2D", -0.1), ("RF", 0.0)):
            r2 = {SOURCES[0]: 0.5, SOURCES[1]: 0.5 + gain + 0.01 * fold}
            r2[SOURCES[2]] = r2[SOURCES[1]] + (0.05 if model != "RF" else 0.0)
            if model == "RF":
                r2 = dict.fromkeys(SOURCES, 0.5)
            for source, value in r2.items():
                if source == SOURCES[2] and model not in valence_models:
                    continue  # GPAW valence densities not computed
                rows.append({"source": source, "model": model, "target": "bulk",
                             "fold": fold, "repeat": 0, "R2": value,
                             "RMSE": 10.0 - value})  # fmt: skip
    return pd.DataFrame(rows)


def _by_source(per_fold: pd.DataFrame) -> pd.DataFrame:
    by_source = per_fold.groupby(["source", "target", "model"], as_index=False)["R2"].mean()
    by_source["RMSE_GPa"] = 1.0
    return by_source


def test_source_cv_table_puts_sources_side_by_side_with_paired_gains():
    per_fold = _per_fold()
    table = chapter.source_cv_table(_by_source(per_fold), per_fold, SOURCES, ["3D", "2D"])
    assert list(table["R2"].columns) == list(SOURCES)  # every source, in order
    assert np.isnan(table.loc[("bulk", "3D"), ("R2", SOURCES[2])])  # not stored
    assert table.loc[("bulk", "RF"), ("R2", SOURCES[2])] == 0.5  # the shared Magpie run
    gain = table[(chapter.gain_column(DFT), "mean")]
    assert gain.name[0] == "R2 gain, gpaw-all-electron - promolecular-all-electron"
    assert np.isclose(gain[("bulk", "3D")], 0.115) and np.isclose(gain[("bulk", "RF")], 0.0)
    assert table.loc[("bulk", "2D"), (chapter.gain_column(DFT), "folds better")] == "0 of 4"
    assert table.loc[("bulk", "3D"), (chapter.gain_column(DFT), "folds better")] == "4 of 4"
    # pairs with GPAW valence: only the Magpie runs are paired, so no column yet
    assert chapter.gain_column(CORE) not in table.columns.get_level_values(0)
    full = _per_fold(("RF", "3D", "2D"))
    table = chapter.source_cv_table(_by_source(full), full, SOURCES, ["3D", "2D"])
    assert np.isclose(table.loc[("bulk", "2D"), (chapter.gain_column(CORE), "mean")], 0.05)
    assert np.isclose(
        table.loc[("bulk", "3D"), (chapter.gain_column((SOURCES[0], SOURCES[2])), "mean")], 0.165
    )
    one = _by_source(per_fold)
    one = one[one["source"] == SOURCES[1]]
    assert chapter.source_cv_table(one, per_fold, SOURCES).empty  # nothing to pair
    table = chapter.source_cv_table(_by_source(per_fold), per_fold, SOURCES, ["3D", "2D"])
    fig = chapter.plot_source_r2(table, ["bulk"], 32)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == [*DFT, "gpaw-valence (not stored for every model)"]  # Magpie bars only


def test_pair_numbers_count_gains_beyond_the_rule_and_say_what_is_not_stored():
    per_fold = _per_fold()
    numbers = chapter.pair_cv_numbers(per_fold, DFT, True, ["3D", "2D"])
    assert (numbers["pcv_cells"], numbers["pcv_better"], numbers["pcv_worse"]) == ("2", "1", "1")
    assert numbers["pcv_best"] == "3D on bulk modulus" and numbers["pcv_runs"] == "4"
    assert numbers["pcv_best_gain"] == "+0.115 ± 0.013"
    # sd over folds 0.0129, standard error 0.0065: 0.115 passes at 5 errors, fails at 20
    strict = chapter.pair_cv_numbers(per_fold, DFT, True, ["3D", "2D"], se_rule=20.0)
    assert (strict["pcv_better"], strict["pcv_worse"]) == ("0", "0")
    # GPAW valence not computed: every glue name of its pair is there, as a placeholder
    core = chapter.pair_cv_numbers(per_fold, CORE, False, ["3D", "2D"], 1.0, "pcv_core")
    assert set(core) == {k.replace("pcv", "pcv_core") for k in numbers}
    assert {v for k, v in core.items() if k != "pcv_core_rule"} == {chapter.NOT_STORED}
    full = _per_fold(("RF", "3D", "2D"))
    core = chapter.pair_cv_numbers(full, CORE, True, ["3D", "2D"], 1.0, "pcv_core")
    assert (core["pcv_core_better"], core["pcv_core_worse"]) == ("2", "0")
    incomplete = chapter.pair_cv_numbers(per_fold, DFT, False, ["3D", "2D"])
    assert incomplete["pcv_better"] == chapter.NOT_STORED and set(incomplete) == set(numbers)


def test_complete_sources_commands_and_the_cost_sentence(tmp_path):
    folds = [(f, f"fold {f}") for f in range(4)]
    expected = chapter.expected_runs(["3D", "2D", "RF"], ["bulk"], folds, 1, providers=SOURCES)
    per_fold = _per_fold()
    assert chapter.complete_sources(expected, per_fold) == list(DFT)
    missing = chapter.unstored(expected, per_fold.to_dict("records"),
                               ["source", "model", "target", "fold", "repeat"])  # fmt: skip
    assert len(missing) == 8 and missing[0] == "gpaw-valence: 3D / bulk fold 0"
    assert chapter.comparison_commands("standard", ["gpaw-valence"]) == [
        "matfusion ecd compare --profile standard --only gpaw-valence"
    ]
    assert chapter.valence_cost(tmp_path / "none.json") is None
    assert chapter.valence_cost_sentence(None, 32) == ""
    cost = {"grid": 32, "materials": 501, "date": "2026-12-03T03:49:34+00:00",
            "measured": [{"formula": "LiH", "valence": {"cpu_s": 2.95}},
                         {"formula": "LiF", "valence": {"cpu_s": 3.43}}],
            "estimate": {"cpu_hours": 1.94, "scaling": "CPU seconds proportional to "
                         "(valence electrons per primitive cell)^0.73"},
            "cross_check": {"cpu_hours": 1.37}}  # fmt: skip
    path = tmp_path / "cost.json"
    path.write_text(json.dumps(cost))
    text = chapter.valence_cost_sentence(chapter.valence_cost(path), 32)
    assert "501 materials" in text and "about 1.9 CPU-hours on one thread" in text
    assert "LiH 3.0 s, LiF 3.4 s" in text and "^0.73" in text and "gives 1.4" in text
    assert "benchmarks/results/gpaw_valence_cost_cpu.json" in text
    assert chapter.valence_cost_sentence(cost, 60) == ""  # measured on another grid
    stored = chapter.valence_cost()  # the committed measurement
    assert stored is not None and stored["grid"] == 32 and len(stored["measured"]) >= 2
    assert stored["estimate"]["cpu_hours"] > 0 and stored["hardware"]["cores"] >= 1


def test_run_comparison_marks_the_lookups_of_unsettled_sources_optional(monkeypatch):
    import matfusion.ecd.experiments as experiments
    from matfusion.results import _optional

    calls = []

    def fake(targets, ecd, sources, *, only, **options):
        calls.append((tuple(only), _optional.get()))
        runs = _per_fold()
        runs = runs[runs["source"].isin(only)].reset_index(drop=True)
        info = {"sources": list(sources), "materials": dict.fromkeys(only, 7),
                "per_fold": runs, "left_out_elements": [], "left_out_materials": 0}  # fmt: skip
        return _by_source(runs), info

    monkeypatch.setattr(experiments, "run_provider_comparison", fake)
    table, info = chapter.run_comparison(["bulk"], None, SOURCES, settled=DFT, missing="skip")
    assert calls == [(DFT, False), ((SOURCES[2],), True)]
    assert list(info["materials"]) == list(SOURCES)
    assert len(info["per_fold"]) == len(_per_fold()) and set(table["source"]) == set(SOURCES)


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
    assert chapter.undecided_cases(1, wins) == "0"
    # repeats that disagree: no win for anyone, the case is undecided
    by_repeat = pd.concat([ours.assign(repeat=0), ours.assign(repeat=1, R2=[0.5, 0.1])])
    split = chapter.loeo_wins(ours, long, by_repeat)
    assert split["ours (R2 wins)"].sum() == 0
    assert chapter.undecided_cases(1, split) == "1"
    assert chapter.undecided_cases(chapter.NOT_STORED, split) == chapter.NOT_STORED


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


def test_core_loeo_numbers_count_the_density_models_runs_of_the_cores_pair():
    from matfusion.ecd.tables import paired_provider_gain

    pair, D3 = ("gpaw-all-electron", "gpaw-valence"), "3D-CNN+ECD"
    runs = pd.DataFrame(
        [{"source": s, "provider": "gpaw", "model": m, "target": "bulk", "element": e,
          "repeat": 0, "R2": 0.5, "RMSE": rmse}
         for s, m, e, rmse in [
             (pair[0], D3, "F", 10.0), (pair[1], D3, "F", 8.0),
             (pair[0], D3, "K", 10.0), (pair[1], D3, "K", 12.0),
             (pair[0], "RF+Magpie", "F", 9.0), (pair[1], "RF+Magpie", "F", 9.0)]]
    )  # fmt: skip
    core = paired_provider_gain(runs, "element", pair, by="source")
    numbers = chapter.core_loeo_numbers(core, pair, [D3, "2D-CNN+ECD"])
    assert numbers == {"ploeo_core_pair": "gpaw-valence against gpaw-all-electron",
                       "ploeo_core_better": "1", "ploeo_core_runs": "2"}  # fmt: skip
    empty = chapter.core_loeo_numbers(pd.DataFrame(), pair, [D3])
    assert empty["ploeo_core_better"] == empty["ploeo_core_runs"] == chapter.NOT_STORED


def test_materials_sentence_tsne_present_and_smoke_note():
    info = {"materials": {"promolecular": 5, "gpaw": 5}, "left_out_elements": [],
            "left_out_materials": 0}  # fmt: skip
    assert chapter.materials_sentence(info, 5) == (
        "Both density sources: the same 5 materials, 5-fold CV. No material is left out."
    )
    info["per_fold"] = pd.DataFrame({"at_cap": [True, False, False, None]})  # None: the forest
    assert chapter.materials_sentence(info, 5).endswith(
        "No material is left out. 1 of 3 network runs (33%) trained up to the epoch cap."
    )
    del info["per_fold"]
    info["materials"] = dict.fromkeys(SOURCES, 5)
    assert chapter.materials_sentence(info).startswith("All 3 density sources: the same 5")
    info["materials"]["gpaw-valence"] = 4
    assert chapter.materials_sentence(info).startswith(
        "Materials: 5 with promolecular-all-electron densities"
    )
    frame = pd.DataFrame({"elements": ["Na Cl", "Na F", "K Cl", "Na O"]})
    assert chapter.tsne_present(frame, ["Cl", "Tl"]) == ["Cl"]
    assert chapter.tsne_present(frame, ["Tl"]) == ["Na"]  # the most common instead
    assert chapter.smoke_note("standard") == "" and "code only" in chapter.smoke_note("smoke")
