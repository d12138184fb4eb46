"""The claims registry: decision rules, the front page and the chapters read the same rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from matfusion.analysis.claims import OrderingClaim
from matfusion.book import notebook_sources
from matfusion.verdicts import (
    CLAIMS,
    SECTION,
    Finding,
    VerdictContext,
    chapter_findings,
    compare_fold_maes,
    decide_all,
    findings_html,
    matbench_claim,
    ordering_claim,
    seeded_mae_claim,
    seeded_ordering_claim,
    verdict_counts,
)

ROOT = Path(__file__).resolve().parents[1]


class FakeContext(VerdictContext):
    """A context whose runs are given, not read from a store."""

    def __init__(self, seeded=None, mae=None, r2=None) -> None:
        super().__init__("standard", store=object())
        self._seeded = seeded or {}
        self._mae, self._r2 = mae, r2

    def seeded(self, model, dataset, seeds=(0, 1, 2)):
        return [r for r in self._seeded.get(model, []) if r["config"]["seed"] in seeds]

    def single_seed_mae(self, models, datasets, folds=None):
        return self._mae, self._r2


def _run(seed: int, y: np.ndarray, noise: float, rng: np.random.Generator) -> dict:
    pred = y + rng.normal(0, noise, len(y))
    r2 = 1 - ((y - pred) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    return {
        "config": {"seed": seed},
        "metrics": {"test_r2": float(r2)},
        "test_values": {"target": y.tolist(), "prediction": pred.tolist()},
        "sizes": {"train": 3000},
        "full_sizes": {"train": 240000},
    }


def _runs(noise: float, seeds: int, offset: int) -> list[dict]:
    rng = np.random.default_rng(offset)
    out = []
    for seed in range(seeds):
        y = np.random.default_rng(100 + seed).normal(0, 1, 400)
        out.append(_run(seed, y, noise, rng))
    return out


def test_fold_comparison_is_a_t_interval_and_needs_every_fold_to_agree() -> None:
    a, b = [1.0, 1.1, 0.9, 1.0, 1.05], [1.2, 1.3, 1.1, 1.25, 1.2]
    mean, low, high, word = compare_fold_maes(a, b)
    diff = np.subtract(a, b)
    half = stats.t.ppf(0.975, 4) * diff.std(ddof=1) / np.sqrt(5)
    assert mean == pytest.approx(diff.mean())
    assert (low, high) == pytest.approx((diff.mean() - half, diff.mean() + half))
    assert word == "holds"
    assert compare_fold_maes(b, a)[3] == "fails"
    # one fold the other way: never decided, however large the mean gap
    assert compare_fold_maes([1.0, 1.0, 1.0, 1.0, 1.3], [1.2] * 5)[3] == "inconclusive"
    assert compare_fold_maes([1.0], [2.0])[3] == "inconclusive"
    with pytest.raises(ValueError, match="equal 1-D"):
        compare_fold_maes([1.0, 2.0], [1.0])


def test_a_finding_takes_only_the_four_verdicts() -> None:
    with pytest.raises(ValueError, match="verdict must be one of"):
        Finding("supported", "x")


def test_seeded_claim_holds_with_three_agreeing_seeds_and_not_with_one() -> None:
    decide = seeded_mae_claim("D", "good", "bad")
    good, bad = _runs(0.1, 3, 1), _runs(0.5, 3, 2)
    finding = decide(FakeContext({"good": good, "bad": bad}))
    assert finding.verdict == "holds"
    assert finding.runs == "3 of 3 seeds"
    assert "1.2%" in finding.scale  # 3,000 of 240,000 rows
    assert decide(FakeContext({"good": bad, "bad": good})).verdict == "fails"
    one = decide(FakeContext({"good": good[:1], "bad": bad[:1]}))
    assert one.verdict == "inconclusive" and "more pending" in one.runs
    pending = decide(FakeContext({"good": good}))
    assert pending.verdict == "inconclusive" and "reruns pending" in pending.evidence


def test_seeded_claim_is_not_testable_when_a_model_learned_nothing() -> None:
    decide = seeded_mae_claim("D", "good", "flat")
    good, flat = _runs(0.1, 3, 1), _runs(0.1, 3, 2)
    for run in flat:  # a constant prediction: R² <= 0 however small its MAE gap
        y = np.asarray(run["test_values"]["target"])
        run["test_values"]["prediction"] = [float(np.median(y))] * len(y)
        run["metrics"]["test_r2"] = -0.02
    finding = decide(FakeContext({"good": good, "flat": flat}))
    assert finding.verdict == "not testable here"
    assert "flat reaches a mean test R² of -0.02" in finding.evidence


def test_one_seed_orderings_are_evidence_not_verdicts() -> None:
    claim = OrderingClaim("A beats B", "A", ("B",))
    mae = pd.DataFrame({"A": [1.0, 1.0], "B": [2.0, 0.5]}, index=["d1", "d2"])
    r2 = pd.DataFrame({"A": [0.9, 0.9], "B": [0.9, 0.9]}, index=["d1", "d2"])
    decide = ordering_claim(claim, lambda c: ["A", "B"], lambda c: ["d1", "d2"])
    finding = decide(FakeContext(mae=mae, r2=r2))
    assert finding.verdict == "inconclusive"
    assert "true on 1 of 2 datasets (not on d2)" in finding.evidence
    weak = decide(FakeContext(mae=mae, r2=r2 * 0))
    assert weak.verdict == "not testable here" and "R² below 0.1" in weak.evidence


def test_an_ablation_claim_is_decided_by_the_seeded_reruns_of_its_dataset() -> None:
    mae = pd.DataFrame({"ref": [1.0], "A": [2.0], "B": [2.0]}, index=["D"])
    r2 = mae * 0 + 0.9
    models, sets = (lambda c: ["ref", "A", "B"]), (lambda c: ["D"])
    good, bad, worse = _runs(0.1, 3, 1), _runs(0.5, 3, 2), _runs(0.8, 3, 3)
    both = OrderingClaim("ref beats A and B", "ref", ("A", "B"))
    decide = seeded_ordering_claim(both, models, sets, dataset="D")
    finding = decide(FakeContext({"ref": good, "A": bad, "B": worse}, mae=mae, r2=r2))
    assert finding.verdict == "holds" and finding.runs == "3 of 3 seeds"
    assert finding.evidence.startswith("on D, MAE difference ref - A:")
    assert "ref - B:" in finding.evidence and "one-seed runs" in finding.evidence
    # one loser beating the winner over every seed fails the whole claim
    flipped = decide(FakeContext({"ref": bad, "A": good, "B": worse}, mae=mae, r2=r2))
    assert flipped.verdict == "fails"
    # a loser without reruns: the one-seed reading, never a verdict
    pending = decide(FakeContext({"ref": good, "A": bad}, mae=mae, r2=r2))
    assert pending.verdict == "inconclusive"
    assert "one seed per cell" in pending.evidence and "0 of 3 B" in pending.evidence
    # a claim about other datasets is not decided by these reruns
    elsewhere = OrderingClaim("ref beats A on E", "ref", ("A",), datasets=("E",))
    other = seeded_ordering_claim(elsewhere, models, sets, dataset="D")
    mae_e = mae.rename(index={"D": "E"})
    assert (
        "one seed per cell"
        in other(
            FakeContext({"ref": good, "A": bad}, mae=mae_e, r2=r2.rename(index={"D": "E"}))
        ).evidence
    )


def test_matbench_claim_counts_tasks_decided_by_their_folds() -> None:
    tasks = ["matbench_steels", "matbench_jdft2d", "matbench_dielectric"]
    index = pd.MultiIndex.from_product([tasks, range(5)], names=["dataset", "fold"])
    mae = pd.DataFrame(
        {"L-G-DCNN": 1.0, "L-G-DCNN-V1": 1.0, "CrabNet": 1.5, "RF-Magpie": 1.0}, index=index
    )
    mae["CrabNet"] += np.tile([0.0, 0.1, 0.2, 0.1, 0.05], 3)
    mae.loc["matbench_dielectric", "CrabNet"] = [0.5, 1.5, 0.5, 1.5, 1.0]  # undecided task
    finding = matbench_claim("L-G-DCNN", "CrabNet")(FakeContext(mae=mae, r2=mae))
    assert finding.verdict == "holds"
    assert "lower on 2, higher on 0, undecided on 1 of 3 tasks" in finding.evidence


def test_every_claim_links_to_a_chapter_that_shows_its_section() -> None:
    stems = {s.stem: s for s in notebook_sources(ROOT)}
    keys = [c.key for c in CLAIMS]
    assert len(keys) == len(set(keys))
    for chapter in {c.chapter for c in CLAIMS}:
        source = stems[chapter].read_text()
        assert f"## {SECTION}" in source, chapter
        assert f'chapter_findings("{chapter}", prof)' in source, chapter
    assert "decide_all(prof)" in stems["00_what_holds"].read_text()
    with pytest.raises(KeyError, match="no claim is checked on '01_data_overview'"):
        chapter_findings("01_data_overview")


def test_front_page_and_chapter_give_the_same_verdicts_as_the_chapters_own_analysis() -> None:
    """Computed once: the registry's Figure 3 rows equal chapter 03's claims table."""
    from matfusion.chapters.rational_design import MAE_CLAIMS, mae_claims
    from matfusion.profiles import get_profile

    ctx = VerdictContext(get_profile("standard"))
    front = decide_all(context=ctx).set_index("key")
    chapter = chapter_findings("03_rational_design", "standard").set_index("key")
    assert front.loc[chapter.index, "verdict"].tolist() == chapter["verdict"].tolist()
    runs = {m: ctx.seeded(m, "OQMD_Formation_Enthalpy") for m in ("L-G-DCNN", "LDCNN", "LSTM",
                                                                   "DCNN-K1")}  # fmt: skip
    table = mae_claims(runs, MAE_CLAIMS)
    order = ["A-fig3-lgdcnn-ldcnn", "A-fig3-lgdcnn-lstm", "A-fig3-lgdcnn-dcnnk1",
             "A-fig3-ldcnn-lstm"]  # fmt: skip
    assert table["verdict"].tolist() == front.loc[order, "verdict"].tolist()
    counts = verdict_counts(front.reset_index())
    assert counts.sum() == len(CLAIMS)
    html = findings_html(front.reset_index(), links=True)
    assert html.count("<tr>") == len(CLAIMS) + 1
    assert 'href="03_rational_design.html#claims-decided-on-this-page"' in html


def _loeo_record(element: str, model: str, repeat: int, y: np.ndarray, pred: np.ndarray) -> dict:
    return {
        "config": {"element": element, "target": "bulk", "model": model, "repeat": repeat},
        "predictions": {"y": y.tolist(), "pred": pred.tolist()},
    }


def test_loeo_claim_counts_cases_decided_over_repeats() -> None:
    from matfusion.verdicts import ecd_loeo_claim

    rng = np.random.default_rng(0)
    records = []
    for element, good_noise in (("Sc", 1.0), ("Ti", 1.0), ("V", 20.0)):
        y = rng.uniform(50, 250, 40)
        for repeat in range(3):
            records.append(_loeo_record(element, "A", repeat, y, y + rng.normal(0, good_noise, 40)))
            records.append(_loeo_record(element, "B", repeat, y, y + rng.normal(0, 10.0, 40)))
    ctx = FakeContext()
    ctx._memo[("loeo", "A", "B")] = records
    finding = ecd_loeo_claim("A", "B")(ctx)
    assert finding.verdict == "holds"
    assert "lower MAE on 2, higher on 1, undecided on 0 of 3 cases" in finding.evidence
    assert finding.runs == "3 repeats per case"
    ctx._memo[("loeo", "A", "B")] = [r for r in records if r["config"]["repeat"] == 0]
    one = ecd_loeo_claim("A", "B")(ctx)
    assert one.verdict == "inconclusive" and "undecided on 3 of 3" in one.evidence


def test_learning_curve_sentences_are_never_decided_by_one_seed() -> None:
    from matfusion.verdicts import learning_curve_claim

    sizes = [100, 300, 1000, 3000, 10000]
    mae = pd.DataFrame(
        {"L-G-DCNN": [1.0, 0.7, 0.5, 0.35, 0.25], "CrabNet": [1.1, 0.8, 0.6, 0.5, 0.45],
         "RF-Magpie": [0.9, 0.8, 0.7, 0.65, 0.6]}, index=sizes)  # fmt: skip
    ctx = FakeContext()
    ctx.learning_curve = lambda models, dataset, s: (mae, mae * 0 + 0.9)
    findings = [learning_curve_claim(i)(ctx) for i in range(3)]
    assert [f.verdict for f in findings] == ["inconclusive"] * 3
    assert all(f.runs == "1 seed per size" for f in findings)
    ctx.learning_curve = lambda models, dataset, s: (mae, mae * 0)
    assert learning_curve_claim(0)(ctx).verdict == "not testable here"


def test_a_band_of_references_that_learned_nothing_decides_no_peer_claim() -> None:
    from matfusion.verdicts import peer_band_claim

    r2 = pd.DataFrame({"LSTM": [-0.02], "DCNN-K1": [0.6], "L-G-DCNN": [0.5]}, index=["D"])
    finding = peer_band_claim("D", "L-G-DCNN", "CrabNet")(FakeContext(mae=r2, r2=r2))
    assert finding.verdict == "not testable here"
    assert "references LSTM reach a test R² below 0.1 on D" in finding.evidence


def test_figure7a_mae_reading_pairs_model5_with_every_ablation_and_names_the_fewest_seeds():
    from matfusion.chapters import cecv_band_gap as ch04
    from matfusion.chapters.cells import CECV_ABLATION_MODELS

    _text, needs = ch04.FIGURE7A_READINGS["model5-mae"]

    def context(runs: dict) -> FakeContext:
        ctx = FakeContext(runs)
        by_seed = {s: {"mae": pd.Series(0.1, index=[m for m in needs if s < len(runs[m])])}
                   for s in range(3)}  # fmt: skip
        key = ("ch04_seeded", tuple(CECV_ABLATION_MODELS), "OQMD_Formation_Enthalpy")
        ctx._memo[key] = by_seed
        return ctx

    runs = {m: _runs(0.5, 3, i + 2) for i, m in enumerate(needs)}
    runs["Model-5"] = _runs(0.1, 3, 1)  # the best by far on every seed
    runs["L-G-DCNN-6B"] = runs["L-G-DCNN-6B"][:2]  # one seed still pending
    finding = ch04.ablation_claim("model5-mae")(context(runs))
    assert finding.verdict == "holds" and finding.runs == "2 of 3 seeds, more pending"
    assert finding.evidence.count("MAE difference Model-5 - ") == len(needs) - 1
    runs["Model-2"] = _runs(0.01, 3, 9)  # an ablation better than Model 5 on every seed
    assert ch04.ablation_claim("model5-mae")(context(runs)).verdict == "fails"
