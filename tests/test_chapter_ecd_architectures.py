"""Chapter 11's variant section: coverage by gradients, and the paired CV comparison."""

from __future__ import annotations

import numpy as np

from matfusion.chapters.ecd_architectures import compare_cv_records, variant_coverage


def test_coverage_table_says_what_each_variant_sees():
    table = variant_coverage(grids=(32,), width=64).set_index(["model", "variant"])
    assert table.loc[("3D-CNN+ECD", "matfusion-v1"), "reaches the output (per axis)"] == "0-19"
    assert table.loc[("3D-CNN+ECD", "matfusion-v1"), "share of the cube"] == (20 / 32) ** 3
    assert table.loc[("3D-CNN+ECD", "whole-cube"), "share of the cube"] == 1.0
    assert table.loc[("2D-CNN+ECD", "whole-cube"), "share of the cube"] == 1.0
    assert table.loc[("3D-CNN+ECD", "paper"), "reaches the output (per axis)"] == "cannot be built"


def _records(variant_noise, seed, repeats=3, folds=2, n=60):
    rng = np.random.default_rng(seed)
    y = np.linspace(10, 200, n)
    out = []
    for r in range(repeats):
        pred = y + rng.normal(scale=variant_noise, size=n)
        for f in range(folds):
            rows = np.arange(f, n, folds)
            out.append(
                {
                    "config": {"model": "3D-CNN+ECD", "target": "bulk", "repeat": r, "fold": f},
                    "predictions": {
                        "mp_id": [f"mp-{i}" for i in rows],
                        "y": y[rows].tolist(),
                        "pred": pred[rows].tolist(),
                    },
                }
            )
    return out


def test_paired_cv_comparison_decides_by_interval_and_skips_incomplete_repeats():
    records = {"whole-cube": _records(5.0, 1), "matfusion-v1": _records(20.0, 2)}
    records["matfusion-v1"] = records["matfusion-v1"][:-1]  # repeat 2 lacks a fold
    table = compare_cv_records(
        records, ("whole-cube", "matfusion-v1"), models=["3D-CNN+ECD"], targets=["bulk"]
    )
    row = table.iloc[0]
    assert row["repeats"] == 2 and row["whole-cube better?"] == "holds"
    assert row["MAE whole-cube"] < row["MAE matfusion-v1"] and row["difference (GPa)"] < 0
    same = compare_cv_records(
        {"a": _records(10.0, 1), "b": _records(10.0, 1)}, ("a", "b"), models=["3D-CNN+ECD"],
        targets=["bulk"],
    )  # fmt: skip
    assert same.iloc[0]["a better?"] == "inconclusive" and same.iloc[0]["difference (GPa)"] == 0
