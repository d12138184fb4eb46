"""Interval-based verdicts: a win needs an interval that excludes zero."""

from __future__ import annotations

import numpy as np
import pytest

from matfusion.analysis.intervals import compare_mae, paired_bootstrap, verdict


@pytest.fixture
def target():
    return np.random.default_rng(0).normal(size=500)


def _noisy(target, scale, seed):
    return target + np.random.default_rng(seed).normal(scale=scale, size=len(target))


def _seeds(target, scale, first, n=3):
    return np.stack([_noisy(target, scale, first + s) for s in range(n)])


def test_a_clearly_better_model_holds(target):
    result = compare_mae(target, _seeds(target, 0.1, 1), _seeds(target, 0.3, 20))
    assert result.verdict == "holds"
    assert result.high < 0 and result.low < result.difference < result.high
    # MAE of N(0, s) noise is s * sqrt(2 / pi)
    assert result.difference == pytest.approx(-0.2 * np.sqrt(2 / np.pi), rel=0.15)
    assert result.relative == pytest.approx(-2 / 3, rel=0.15)


def test_reversed_claim_fails(target):
    result = compare_mae(target, _seeds(target, 0.3, 20), _seeds(target, 0.1, 1))
    assert result.verdict == "fails"


def test_one_seed_never_decides_even_when_its_interval_excludes_zero(target):
    noise = np.random.default_rng(1).normal(scale=0.2, size=len(target))
    a = target + noise
    b = target + 1.01 * noise  # the same errors, 1 % larger: a tight paired interval
    result = compare_mae(target, a, b)
    assert result.high < 0 and result.relative == pytest.approx(-0.0099, abs=1e-4)
    assert result.verdict == "inconclusive"


def test_a_deterministic_rival_is_paired_with_every_seed(target):
    result = compare_mae(target, _seeds(target, 0.1, 1), _noisy(target, 0.3, 9))
    assert result.n_seeds == 3 and result.verdict == "holds"


def test_seeds_that_disagree_make_it_inconclusive():
    assert verdict(-0.3, -0.1, [-0.2, 0.05, -0.1]) == "inconclusive"
    assert verdict(-0.3, -0.1, [-0.2, -0.05, -0.1]) == "holds"
    assert verdict(0.1, 0.3, [0.2, 0.1]) == "fails"


def test_seeds_are_averaged_per_compound_and_paired(target):
    a = np.stack([_noisy(target, 0.1, s) for s in range(3)])
    b = np.stack([_noisy(target, 0.3, s + 10) for s in range(3)])
    result = compare_mae(target, a, b)
    assert result.n_seeds == 3 and len(result.seed_differences) == 3
    assert all(d < 0 for d in result.seed_differences)
    assert result.verdict == "holds"
    expected = np.abs(a - target).mean(0).mean() - np.abs(b - target).mean(0).mean()
    assert result.difference == pytest.approx(expected)


def test_bootstrap_interval_matches_the_normal_approximation():
    rng = np.random.default_rng(5)
    diff = rng.normal(0.1, 1.0, size=2000)
    mean, low, high = paired_bootstrap(diff, np.zeros_like(diff), n_boot=4000, seed=1)
    half = 1.96 * diff.std(ddof=1) / np.sqrt(len(diff))
    assert (high - low) / 2 == pytest.approx(half, rel=0.08)
    assert mean == pytest.approx(diff.mean())


def test_bootstrap_is_deterministic_for_a_seed(target):
    a, b = np.abs(_noisy(target, 0.1, 1) - target), np.abs(_noisy(target, 0.11, 2) - target)
    assert paired_bootstrap(a, b, seed=3) == paired_bootstrap(a, b, seed=3)


def test_bad_input_is_one_clear_error(target):
    with pytest.raises(ValueError, match="shape"):
        compare_mae(target, target[:-1], target)
    with pytest.raises(ValueError, match="non-finite"):
        compare_mae(target, np.full_like(target, np.nan), target)
    with pytest.raises(ValueError, match="confidence"):
        paired_bootstrap(target, target, confidence=1.5)


def test_runs_with_their_own_test_sets_are_compared_run_by_run():
    from matfusion.analysis.intervals import compare_mae_runs

    runs = []
    for s in range(3):
        y = np.random.default_rng(100 + s).normal(size=300 + 50 * s)  # each seed's own rows
        runs.append((y, _noisy(y, 0.1, s), _noisy(y, 0.3, 10 + s)))
    result = compare_mae_runs(runs)
    assert result.verdict == "holds" and result.n_seeds == 3
    assert result.n_compounds == 300 + 350 + 400
    expected = np.mean([np.abs(a - y).mean() - np.abs(b - y).mean() for y, a, b in runs])
    assert result.difference == pytest.approx(expected)
    one = compare_mae_runs(runs[:1])
    assert one.verdict == "inconclusive" and one.high < 0  # one seed never decides
    with pytest.raises(ValueError, match="no runs"):
        compare_mae_runs([])
