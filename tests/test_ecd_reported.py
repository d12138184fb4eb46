"""Paper B's reported figures as the chapters use them, and the captions and sentences the
ECD chapters build from the profile and the data."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from matfusion.ecd.data import contains_any, load_ecd_dataset
from matfusion.ecd.experiments import comparison_left_out
from matfusion.ecd.fitting import EcdInputs
from matfusion.ecd.reported import (
    EXTERNAL_MODEL,
    external_comparison,
    external_validation,
    loeo_size_mismatches,
)
from matfusion.ecd.settings import ecd_profile
from matfusion.ecd.tables import (
    external_per_structure,
    external_predictions,
    fusion_gain,
    left_out_sentence,
    loeo_summary,
    run_caption,
)
from matfusion.paper import reported


def test_external_validation_is_read_from_the_paper_table() -> None:
    paper = external_validation()
    assert paper["target"] == "bulk" and paper["model"] == EXTERNAL_MODEL
    assert paper["R2"] == pytest.approx(0.93)
    assert paper["RMSE_GPa"] == pytest.approx(21.331)
    assert paper["n"] == 329 and "OQMD" in paper["set"]


def test_external_comparison_puts_the_paper_beside_ours_with_the_difference() -> None:
    paper = {"target": "bulk", "model": "F", "R2": 0.9, "RMSE_GPa": 20.0, "n": 300}
    ours = pd.DataFrame(
        {
            "target": ["bulk", "bulk", "shear"],
            "model": ["A", "B", "A"],
            "R2": [0.8, 0.95, 0.5],
            "RMSE_GPa": [25.0, 10.0, 9.0],
            "n": [10, 10, 4],
        }
    )
    table = external_comparison(ours, paper)
    # the paper's model is not ours: its one figure stands beside each bulk row
    assert table.loc[("bulk", "A"), ("R2", "difference")] == pytest.approx(-0.1)
    assert table.loc[("bulk", "B"), ("RMSE (GPa)", "difference")] == pytest.approx(-10.0)
    assert table.loc[("bulk", "A"), ("structures", "paper")] == 300
    assert np.isnan(table.loc[("shear", "A"), ("R2", "paper")])  # the paper has no shear figure
    assert table[("structures", "ours")].dtype.kind == "i"
    # where we ran the paper's model, the figure stands on that row only
    same = external_comparison(ours, {**paper, "model": "B"})
    assert np.isnan(same.loc[("bulk", "A"), ("R2", "paper")])
    assert same.loc[("bulk", "B"), ("R2", "paper")] == pytest.approx(0.9)


def test_loeo_size_mismatches_finds_the_papers_li_row() -> None:
    odd, total = loeo_size_mismatches()
    assert total == 2170
    assert odd["element"].tolist() == ["Li"]  # the paper prints train 2148 + test 222
    assert int(odd.loc[0, "sum"]) == 2148 + 222
    fine = pd.DataFrame({"element": ["A", "B"], "train_size": [8, 7], "test_size": [2, 3]})
    assert loeo_size_mismatches(fine)[0].empty


def test_fusion_gain_over_the_better_part() -> None:
    cv = reported("ecd_cv").set_index(["target", "model"])["R2"]
    assert fusion_gain(cv.loc["bulk"]) == pytest.approx(0.955 - 0.944)
    assert fusion_gain(cv.loc["shear"]) == pytest.approx(0.804 - 0.768)
    assert fusion_gain(cv.loc["bulk"].drop("Fusion(Magpie+ECD)")) is None


def test_loeo_summary_sizes_are_whole_numbers() -> None:
    records = [
        {
            "config": {"element": "Cl", "target": "bulk", "model": "A", "repeat": repeat},
            "sizes": {"train": 90, "test": 10},
            "metrics": {"r2": r2, "rmse": 1.0},
        }
        for repeat, r2 in enumerate((0.5, 0.7))  # two repeats
    ]
    table = loeo_summary(records)
    assert table["test_size"].tolist() == [10] and table["test_size"].dtype.kind == "i"
    assert table["R2"].iloc[0] == pytest.approx(0.6)


def test_run_caption_names_provider_grid_materials_and_split() -> None:
    prof = ecd_profile("standard")
    frame = pd.DataFrame({"mp_id": [f"mp-{i}" for i in range(7)]})
    inputs = EcdInputs(frame, np.zeros((7, 1)), None, [], prof, "x")
    cv = run_caption(inputs, "cv")
    assert "7 materials" in cv and f"{prof.folds}-fold CV, 5 repeats;" in cv
    assert f"`promolecular` valence densities on a {prof.grid}^3 grid" in cv
    assert "not DFT" in cv and "(whole-cube CNNs, at most 150 epochs)" in cv
    loeo = run_caption(inputs, "loeo", elements=["Cl", "Tl"])
    assert "2 elements left out one at a time" in loeo
    first = replace(prof, provider="gpaw", repeats=1, valence=False, variant="matfusion-v1")
    gpaw = run_caption(replace(inputs, profile=first), "cv")
    assert "`gpaw` densities" in gpaw and "not DFT" not in gpaw and "1 repeat;" in gpaw
    assert "matfusion-v1 CNNs" in gpaw
    with pytest.raises(ValueError, match="design"):
        run_caption(inputs, "holdout")


def test_run_caption_counts_the_network_runs_at_the_epoch_cap() -> None:
    prof = ecd_profile("standard")
    inputs = EcdInputs(pd.DataFrame({"mp_id": ["mp-1"]}), np.zeros((1, 1)), None, [], prof, "x")

    def run(model: str, epochs_run: int) -> dict:
        train = None if model == "RF+Magpie" else {"epochs": 150}
        config = {"model": model, "train": train, "repeat": 0}
        return {"config": config, "epochs_run": epochs_run}

    records = [run("3D-CNN+ECD", 150), run("2D-CNN+ECD", 40), run("CNN+Magpie", 12),
               run("Fusion(Magpie+ECD)", 149), run("RF+Magpie", 0)]  # fmt: skip
    caption = run_caption(inputs, "cv", records=records)
    assert caption.endswith("; 1 of 4 network runs (25%) at the cap.*")
    assert "at the cap" not in run_caption(inputs, "cv")
    assert "5-fold CV, 1 of 5 repeats stored;" in caption


def test_left_out_sentence_from_the_comparison_set() -> None:
    prof = replace(ecd_profile("smoke"), gpaw_exclude_elements=("Cl",))
    info = comparison_left_out(prof)
    n = int(contains_any(load_ecd_dataset(verbose=False), ["Cl"]).sum())
    assert info == {"left_out_elements": ["Cl"], "left_out_materials": n}
    assert left_out_sentence(info).startswith(f"{n} materials containing Cl are left out")
    assert comparison_left_out(prof, ("promolecular",))["left_out_elements"] == []
    assert left_out_sentence({"left_out_elements": [], "left_out_materials": 0}) == ""
    one = left_out_sentence({"left_out_elements": ["Tc", "Xe"], "left_out_materials": 1})
    assert one.startswith("1 material containing Tc, Xe is left out") and "them" in one


def _external_record(model: str, target: str, preds: list[float]) -> dict:
    ids = ["wbm-a", "wbm-b", "wbm-c"]
    return {
        "config": {"model": model, "target": target},
        "predictions": {"id": ids, "formula": ["A", "B", "C"], "pred": preds},
    }


def test_external_per_structure_lists_dft_beside_each_model_largest_miss_first() -> None:
    records = [
        _external_record("RF+Magpie", "bulk", [10.0, 50.0, 90.0]),
        _external_record("Fusion(Magpie+ECD)", "bulk", [12.0, 80.0, 95.0]),
        _external_record("Fusion(Magpie+ECD)", "shear", [1.0, 2.0, 3.0]),
    ]
    preds = external_predictions(records)
    assert len(preds) == 9 and set(preds["target"]) == {"bulk", "shear"}
    dft = pd.DataFrame(
        {
            "id": ["wbm-a", "wbm-b", "wbm-c"],
            "formula": ["A", "B", "C"],
            "metal": [True, False, True],
            "spin_polarized": [False, True, False],
            "usable": [True, True, True],
            "K_eos_GPa": [11.0, 60.0, 100.0],
            "G_vrh_GPa": [None, 5.0, None],  # metals: no shear of ours
        }
    )
    table = external_per_structure(dft, preds, "bulk")
    # B misses by 20 GPa, C by 5, A by 1
    assert table.index.tolist() == ["wbm-b", "wbm-c", "wbm-a"]
    assert table["Fusion(Magpie+ECD) - DFT"].tolist() == [20.0, -5.0, 1.0]
    assert table.loc["wbm-c", "RF+Magpie"] == 90.0 and table.loc["wbm-c", "DFT (GPa)"] == 100.0
    assert list(table.columns[-3:]) == [
        "RF+Magpie",
        "Fusion(Magpie+ECD)",
        "Fusion(Magpie+ECD) - DFT",
    ]
    shear = external_per_structure(dft, preds, "shear")
    assert shear.index.tolist() == ["wbm-b"]  # only the insulator has a DFT shear modulus
    assert shear.loc["wbm-b", "Fusion(Magpie+ECD) - DFT"] == pytest.approx(-3.0)
    with pytest.raises(ValueError, match="unknown target 'young'"):
        external_per_structure(dft, preds, "young")
    assert external_predictions([]).empty
