"""CECV on hand-made inputs whose cluster counts are known."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from matfusion.analysis.cecv import (
    DEFAULT_THRESHOLDS,
    band_distance,
    cecv,
    cecv_frame,
    cecv_from_correlations,
    correlation_matrices,
    greedy_clusters,
)

RNG = np.random.default_rng(0)


def test_correlations_match_a_plain_loop() -> None:
    efms = RNG.normal(size=(5, 4, 16))
    ours = correlation_matrices(efms)
    for efm, corr in zip(efms, ours, strict=True):
        z = (efm - efm.mean(0)) / efm.std(0)
        assert np.allclose(corr, np.corrcoef(z), atol=1e-12)


def test_constant_features_and_rows_do_not_produce_nan() -> None:
    efm = RNG.normal(size=(1, 3, 8))
    efm[:, :, 0] = 5.0  # constant across elements: no information
    corr = correlation_matrices(efm)
    assert np.isfinite(corr).all() and np.allclose(np.diagonal(corr[0]), 1)
    same = np.ones((1, 3, 8))  # every element identical: nothing to correlate
    assert np.allclose(correlation_matrices(same)[0], np.eye(3))


def test_greedy_clusters_known_counts_and_strict_ties() -> None:
    base = np.zeros((3, 3))
    mats = np.stack([base, base + 0.1, base + 0.25, base + 0.05])
    # t=0.2: leader 0 takes 0.1 and 0.05 (|diff| < 0.2), 0.25 founds a second cluster.
    assert greedy_clusters(mats, 0.2).tolist() == [0, 0, 1, 0]
    # Exactly t apart does not join (strict "<"); 0.1 vs 0.05 would be closer, but greedy
    # clustering follows the leader only.
    assert greedy_clusters(mats, 0.1).tolist() == [0, 1, 2, 0]
    assert greedy_clusters(mats, 0.0).max() + 1 == 4
    assert greedy_clusters(mats[:1], 0.05).tolist() == [0]


def test_cecv_groups_by_element_count_and_skips_binaries() -> None:
    three = RNG.normal(size=(3, 32))
    five = RNG.normal(size=(5, 32))
    efms = [three, three.copy(), five, RNG.normal(size=(2, 32)), RNG.normal(size=(1, 32))]
    result = cecv(efms, thresholds=(0.05, 0.4))
    assert result.group_sizes == {3: 2, 5: 1}
    assert result.counts == [2, 2]  # identical ternaries share one cluster; one quinary
    assert result.skipped_small == 2


def test_cecv_all_identical_compounds_is_one_cluster_per_size() -> None:
    efms = [np.tile(RNG.normal(size=(n, 8)), (1, 1)) for n in range(3, 8)]
    efms = efms + [e.copy() for e in efms]
    result = cecv(efms)
    assert result.counts == [5] * len(DEFAULT_THRESHOLDS)
    assert result.group_sizes == {n: 2 for n in range(3, 8)}


def test_cecv_is_monotone_in_threshold_and_modes_differ() -> None:
    efms = [RNG.normal(size=(int(RNG.integers(3, 6)), 24)) for _ in range(300)]
    signed = cecv(efms, mode="signed").counts
    absolute = cecv(efms, mode="absolute").counts
    assert all(a >= b for a, b in zip(signed, signed[1:], strict=False))
    assert all(a <= s for a, s in zip(absolute, signed, strict=True))  # |x| merges more
    assert signed[0] > signed[-1] >= 3  # three element-count groups at least


def test_sign_flip_only_matters_in_signed_mode() -> None:
    for n, authors_count in ((3, 1), (4, 2)):  # authors: |x| for ternaries, signed beyond
        corr = correlation_matrices(RNG.normal(size=(1, n, 16)))[0]
        flip = np.diag([-1.0] + [1.0] * (n - 1))
        pair = {n: np.stack([corr, flip @ corr @ flip])}  # element 0's correlations negated
        assert cecv_from_correlations(pair, (0.01,), mode="absolute").counts == [1]
        assert cecv_from_correlations(pair, (0.01,), mode="signed").counts == [2]
        assert cecv_from_correlations(pair, (0.01,), mode="authors").counts == [authors_count]


def test_bad_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="feature widths"):
        cecv([np.zeros((3, 4)), np.zeros((3, 5))])
    with pytest.raises(ValueError, match="mode"):
        cecv([np.zeros((3, 4))], mode="other")
    with pytest.raises(ValueError, match="thresholds"):
        cecv([np.zeros((3, 4))], thresholds=())


def test_2400_compounds_at_8_thresholds_is_fast() -> None:
    efms = [RNG.normal(size=(int(RNG.integers(3, 8)), 512)) for _ in range(2400)]
    start = time.perf_counter()
    result = cecv(efms)
    assert time.perf_counter() - start < 20  # seconds, generous for a loaded 2-core CI
    assert sum(result.group_sizes.values()) == 2400


def test_band_distance_is_zero_inside_and_grows_outside() -> None:
    lstm, k1 = [100, 50, 20], [200, 80, 30]
    assert band_distance([150, 60, 25], lstm, k1) == 0.0
    assert band_distance([50, 50, 20], lstm, k1) == pytest.approx(np.log(2) / 3)
    assert band_distance([10, 10, 10], lstm, k1) > band_distance([50, 50, 20], lstm, k1)
    with pytest.raises(ValueError, match="one value per threshold"):
        band_distance([1, 2], lstm, k1)


def test_cecv_frame_rows_are_models_and_columns_thresholds() -> None:
    records = {
        "LSTM": {"thresholds": [0.05, 0.1], "cecv": [9, 4]},
        "DCNN": {"thresholds": [0.05, 0.1], "cecv": [7, 3]},
    }
    frame = cecv_frame(records)
    assert list(frame.index) == ["LSTM", "DCNN"] and list(frame.columns) == ["0.05", "0.10"]
    assert frame.loc["DCNN", "0.10"] == 3
    with pytest.raises(ValueError, match="no CECV records"):
        cecv_frame({})


def test_cecv_curves_get_distinct_colour_blind_safe_styles() -> None:
    """Eight models are eight different (colour, marker) pairs from Okabe-Ito, not eight
    shades of one colour map (issue 20)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from matfusion.analysis.plots import OKABE_ITO, model_styles, plot_cecv

    styles = model_styles(20)
    assert len(set(styles)) == 20 and {c for c, _ in styles} == set(OKABE_ITO)
    models = ["LSTM", "DCNN-K1"] + [f"model {i}" for i in range(8)]
    table = pd.DataFrame(
        np.linspace(0.1, 1, 30).reshape(10, 3), index=models, columns=["0.05", "0.10", "0.15"]
    )
    ax = plot_cecv(table)
    lines = {line.get_label(): line for line in ax.get_lines()}
    drawn = {(lines[m].get_color(), lines[m].get_marker()) for m in models[2:]}
    assert len(drawn) == 8
    plt.close("all")
