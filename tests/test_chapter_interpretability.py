"""The readings of Figures 6c and 10 on hand-made EFMs and predictions with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matfusion.chapters.interpretability import (
    fusion_fixes_outliers,
    perovskite_distances,
    perovskite_reading,
    site_order,
)

RNG = np.random.default_rng(0)
ELEMENTS = {  # rows by atomic number, as the stored EFMs come
    "SrTiO3": ["O", "Ti", "Sr"],
    "BaTiO3": ["O", "Ti", "Ba"],
    "KNbO3": ["O", "K", "Nb"],
    "CsPbI3": ["I", "Cs", "Pb"],
}


def _efms(apart_scale: float) -> dict[str, np.ndarray]:
    """Site rows A, B, X drawn around one base; CsPbI3 moved by ``apart_scale``."""
    base = RNG.normal(size=(3, 16))
    by_site = {
        "SrTiO3": base + 0.01 * RNG.normal(size=(3, 16)),
        "BaTiO3": base + 0.01 * RNG.normal(size=(3, 16)),
        "KNbO3": base + 0.2 * RNG.normal(size=(3, 16)),
        "CsPbI3": base + apart_scale * RNG.normal(size=(3, 16)),
    }
    out = {}
    for formula, rows in by_site.items():  # store rows in the atomic-number order
        written = ["Sr", "Ti", "O"] if formula == "SrTiO3" else None
        written = written or {"BaTiO3": ["Ba", "Ti", "O"], "KNbO3": ["K", "Nb", "O"],
                              "CsPbI3": ["Cs", "Pb", "I"]}[formula]  # fmt: skip
        out[formula] = np.stack([rows[written.index(s)] for s in ELEMENTS[formula]])
    return out


def test_site_order_puts_rows_as_the_formula_writes_them() -> None:
    assert site_order("SrTiO3", ["O", "Ti", "Sr"]) == [2, 1, 0]
    assert site_order("KNbO3", ["O", "K", "Nb"]) == [1, 2, 0]
    with pytest.raises(ValueError, match="CsPbI3"):
        site_order("CsPbI3", ["O", "Cs", "Pb"])


def test_reading_holds_when_cspbi3_is_far_and_fails_when_it_is_not() -> None:
    far = perovskite_distances(_efms(apart_scale=3.0), ELEMENTS)
    assert len(far) == 6 and {"embedding", "correlation"} <= set(far.columns)
    for measure in ("embedding", "correlation"):
        reading = perovskite_reading(far, measure=measure)
        assert reading["nearest_pair"] == "SrTiO3 – BaTiO3"
        assert reading["close_holds"] and reading["apart_holds"] and reading["holds"]
    near = perovskite_distances(_efms(apart_scale=0.01), ELEMENTS)
    reading = perovskite_reading(near, measure="embedding")
    assert not reading["apart_holds"] and not reading["holds"]


def test_site_alignment_matters_for_the_correlation_distance() -> None:
    """The same site rows stored in different atomic-number orders are distance 0 apart."""
    rows = RNG.normal(size=(3, 8))  # sites A, B, X
    efms = {"SrTiO3": rows[[2, 1, 0]], "KNbO3": rows[[0, 1, 2]][[2, 0, 1]]}
    elements = {"SrTiO3": ["O", "Ti", "Sr"], "KNbO3": ["O", "K", "Nb"]}
    d = perovskite_distances(efms, elements)
    assert d["correlation"].iloc[0] == pytest.approx(0.0, abs=1e-12)
    assert d["embedding"].iloc[0] == pytest.approx(0.0, abs=1e-12)


def test_fusion_fixes_outliers_counts() -> None:
    target = np.zeros(100)
    lstm = np.full(100, 0.1)
    lstm[:4] = 5.0  # four bad predictions: mean error 0.296, cut-off 3 x that = 0.888
    fused = np.full(100, 0.05)
    fused[0] = 4.0  # one of the four stays bad
    frame = pd.DataFrame({"formula": [f"X{i}" for i in range(100)], "target": target,
                          "LSTM_pred": lstm, "L-G-DCNN_pred": fused})  # fmt: skip
    out = fusion_fixes_outliers(frame, factor=3.0)
    assert out["cutoff"] == pytest.approx(3 * (4 * 5.0 + 96 * 0.1) / 100)
    assert out["n_outliers"] == 4 and out["outliers"] == ["X0", "X1", "X2", "X3"]
    assert out["fixed"] == 3 and out["new_outliers_after"] == 1
    assert out["mae_before_on_outliers"] == pytest.approx(5.0)
    assert out["mae_after_on_outliers"] == pytest.approx((4.0 + 3 * 0.05) / 4)
    assert out["holds"]
    frame["L-G-DCNN_pred"] = lstm  # fusion changes nothing: the reading fails
    assert not fusion_fixes_outliers(frame)["holds"]
    with pytest.raises(ValueError, match="positive"):
        fusion_fixes_outliers(frame, factor=0)


def test_cecv_converges_towards_band_reading() -> None:
    from matfusion.chapters.sample_efficiency import converges_towards_band

    lower, upper = [100.0, 50.0], [200.0, 80.0]
    curves = pd.DataFrame([[20.0, 10.0], [60.0, 30.0], [150.0, 60.0]], index=[100, 1000, 10000])
    out = converges_towards_band(curves, lower, upper)
    assert out["holds"] is True
    assert out["distance"].loc[10000] == 0.0  # inside the band at both thresholds
    assert out["distance"].loc[100] == pytest.approx(np.mean([np.log(100 / 20), np.log(50 / 10)]))
    worse = curves.copy()
    worse.loc[1000] = [10.0, 5.0]  # farther than at 100 rows: not monotone
    assert converges_towards_band(worse, lower, upper)["holds"] is False
    assert converges_towards_band(curves.iloc[:1], lower, upper)["holds"] is None


# --- the chapter's readings moved into the module, and the registry's deciders ------------

from matfusion.chapters import interpretability as ch  # noqa: E402
from matfusion.verdicts import CLAIMS, VerdictContext  # noqa: E402


def _line(unc: dict, bias: dict, mae: dict, points: int = 5) -> pd.DataFrame:
    return pd.DataFrame(
        {"mean uncertainty": unc, "mean (prediction - DFT)": bias, "MAE vs DFT": mae,
         "DFT points": points}
    )  # fmt: skip


def test_figure8_reading_on_a_made_up_line() -> None:
    models = ["LSTM", "DCNN-K1", "DCNN", "L-G-DCNN"]
    line = _line(
        dict(zip(models, [0.5, 0.4, 0.3, 0.2], strict=True)),
        dict(zip(models, [-0.3, 0.2, 0.0, 0.05], strict=True)),
        dict(zip(models, [0.6, 0.5, 0.3, 0.2], strict=True)),
    )
    r = ch.figure8_reading(line)
    assert r["uncertainty"][0] is True and "L-G-DCNN 0.200, lower reference 0.400" in r[
        "uncertainty"][1]  # fmt: skip
    assert r["bias"][0] is True and "LSTM -0.300, DCNN-K1 +0.200" in r["bias"][1]
    assert r["closer"][0] is True
    line.loc["DCNN", "MAE vs DFT"] = 0.55  # DCNN no closer than DCNN-K1
    assert ch.figure8_reading(line)["closer"][0] is False
    none = ch.figure8_reading(line.assign(**{"DFT points": 0}))
    assert none["bias"][0] is None and none["closer"][1] == "no DFT value on the line"


def test_sweep_rows_interpolate_the_prediction_at_the_dft_points() -> None:
    sweep = pd.DataFrame({"x": [0.0, 1.0], "prediction": [0.0, 2.0], "uncertainty": [0.1, 0.3]})
    points = pd.DataFrame({"x": [0.25, 0.5], "target": [1.0, 1.0]})
    (row,) = ch.sweep_rows({"M": sweep}, points, "A-O")
    assert row["mean uncertainty"] == pytest.approx(0.2)
    assert row["mean (prediction - DFT)"] == pytest.approx(-0.25)  # 0.5 - 1, 1 - 1
    assert row["MAE vs DFT"] == pytest.approx(0.25)
    (empty,) = ch.sweep_rows({"M": sweep}, points.iloc[:0], "A-O")
    assert empty["DFT points"] == 0 and np.isnan(empty["MAE vs DFT"])


def test_deltas_and_electronegative_pairs() -> None:
    contributions = pd.DataFrame(
        {"L-G-DCNN": [1.0, 2.0], "DCNN-K1": [4.0, 2.0], "DCNN": [0.0, 2.0], "LSTM": [1.0, 1.5]},
        index=["Fe", "O"],
    )
    deltas = ch.delta_table(contributions)
    summary = ch.delta_summary(deltas)
    assert list(summary["mean |Δ|"]) == pytest.approx([1.5, 0.5, 0.25])
    assert summary["element of max"].iloc[0] == "Fe"
    pairs = pd.DataFrame({"pair": ["Si-O", "Fe-Ni", "Cl-Si", "Si-Fe"]})
    r = ch.electronegative_pairs(pairs, "Si", 3.0, top=4)
    assert (r["count"], r["top"], r["holds"]) == (2, 4, False)  # O and Cl; half is not most
    assert ch.electronegative_pairs(pairs, "Si", 1.8, top=4)["holds"] is True  # Fe, Ni count


def test_neighbour_spreads_are_small_on_a_map_that_sorts_the_values() -> None:
    n = 200
    values = np.linspace(0, 1, n)
    maps = pd.DataFrame({"target": values, "A_x": values, "A_y": 0.0,
                         "B_x": RNG.permutation(values), "B_y": 0.0})  # fmt: skip
    spread = ch.neighbour_spreads(maps, ["A", "B"])
    assert spread["A"] < 0.05 < spread["B"]
    assert spread.index[-1] == "shuffled values (no structure)"


class FakeContext(VerdictContext):
    """A context whose stored analyses are given (the deciders' memo is filled in advance)."""

    def __init__(self, figure: str, data, seeded=({}, {})) -> None:
        super().__init__("standard", store=object())
        self._memo[("ch05", figure)] = data
        self._memo[("ch05_seeded", "6c")] = seeded

    def seeded(self, model, dataset, seeds=(0, 1, 2)) -> list[dict]:
        """Stand-in reruns: only their sizes (the scale column reads them)."""
        return [{"sizes": {"train": 3000}, "full_sizes": {"train": 240000}}]


def test_deciders_report_one_run_and_refuse_models_that_learned_nothing() -> None:
    efms = _efms(apart_scale=3.0)
    data = {"efms": {"M (band gap)": efms}, "elements": ELEMENTS,
            "r2": pd.Series({"M (band gap)": 0.6})}  # fmt: skip
    finding = ch.figure6c_claim("close")(FakeContext("6c", data))
    assert finding.verdict == "inconclusive" and finding.runs == "1 seed"
    assert finding.evidence.startswith("one run: M (band gap): holds in the embedding space")
    models = ["LSTM", "DCNN-K1", "DCNN", "L-G-DCNN"]
    line = _line(dict.fromkeys(models, 0.3), dict.fromkeys(models, 0.0),
                 dict.fromkeys(models, 0.3))  # fmt: skip
    weak = {"line": line, "r2": pd.Series([-0.02, 0.5, 0.5, 0.5], index=models)}
    finding = ch.figure8_claim("uncertainty")(FakeContext("8", weak))
    assert finding.verdict == "not testable here"
    assert "LSTM (-0.02) reaches a test R² below 0.1" in finding.evidence
    assert "one run: does not hold" in finding.evidence
    pending = ch.figure9_claim()(FakeContext("9", None))
    assert pending.verdict == "inconclusive" and "runs pending" in pending.evidence


def test_figure6c_is_decided_on_seeds_where_every_run_and_space_agree() -> None:
    def readings(apart_scale: float) -> pd.DataFrame:
        efms = {"M (band gap)": _efms(apart_scale), "M (enthalpy)": _efms(apart_scale)}
        return ch.perovskite_readings(efms, ELEMENTS)[0]

    apart, together = readings(3.0), readings(0.001)  # CsPbI3 far off / inside the oxides
    assert apart["apart_holds"].all() and not together["apart_holds"].any()
    decide = ch.figure6c_claim("apart")
    held = decide(FakeContext("6c", None, ({0: apart, 1: apart}, {2: "learned nothing"})))
    assert held.verdict == "holds" and held.runs == "2 seeds"
    assert held.evidence.startswith("2 of 2 seeds show it in every run and space, 0 in none")
    assert held.evidence.endswith("; seed 2 left out: learned nothing")
    failed = decide(FakeContext("6c", None, ({0: together, 1: together}, {})))
    assert failed.verdict == "fails"
    mixed = decide(FakeContext("6c", None, ({0: apart, 1: together}, {})))
    assert mixed.verdict == "inconclusive"
    # one seed is no verdict: the one-run reading (here pending) stands
    one = decide(FakeContext("6c", None, ({0: apart}, {1: "learned nothing"})))
    assert one.verdict == "inconclusive" and one.runs == "0 seeds"


def test_chapter_05_claims_are_in_the_registry() -> None:
    chapter = {c.key for c in CLAIMS if c.chapter == "05_interpretability"}
    assert chapter == {f"A-{k}" for k in ch.CLAIM_READINGS}


# --- the chapter's figures, one function each, on small made-up inputs ---------------------

import re  # noqa: E402
from pathlib import Path  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _sweep(n: int, offset: float = 0.0) -> pd.DataFrame:
    x = np.linspace(0, 1, n)
    return pd.DataFrame({"x": x, "prediction": offset + x, "uncertainty": 0.1 + 0 * x})


def _maps(n: int = 30) -> pd.DataFrame:
    frame = {"formula": [f"Si{i}O" for i in range(n)], "target": RNG.uniform(0, 5, n)}
    for m in ch.UMAP_MODELS:
        frame |= {f"{m}_x": RNG.normal(size=n), f"{m}_y": RNG.normal(size=n),
                  f"{m}_pred": RNG.uniform(0, 5, n)}  # fmt: skip
    return pd.DataFrame(frame)


def _offsets(ax) -> list[int]:
    return [len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection)]


def test_parity_figure_draws_every_compound_with_units() -> None:
    frame = pd.DataFrame({"target": RNG.normal(size=25), "prediction": RNG.normal(size=25),
                          "uncertainty": RNG.uniform(0.1, 1, 25)})  # fmt: skip
    fig = ch.plot_parity_figure(frame, dataset="OQMD_Bandgap", unit="eV")
    joint, marg_x, marg_y, colorbar = fig.axes
    assert len(fig.axes) == 4
    assert (joint.get_xlabel(), joint.get_ylabel()) == ("DFT (eV)", "predicted (eV)")
    assert colorbar.get_ylabel() == "predicted uncertainty (eV)"
    assert _offsets(joint) == [25]
    assert fig._suptitle.get_text() == "L-G-DCNN, OQMD_Bandgap test (25 compounds)"


def test_other_oxide_lines_draw_one_line_and_band_per_partner() -> None:
    sweeps = {"Al": _sweep(7), "Ti": _sweep(7, 1.0), "Zn": _sweep(7, 2.0)}
    fig = ch.plot_other_oxide_lines(sweeps, unit="eV")
    (ax,) = fig.axes
    assert [len(line.get_xdata()) for line in ax.get_lines()] == [7, 7, 7]
    assert len(ax.collections) == 3  # the ± uncertainty bands
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "Al$_x$O$_{1-x}$", "Ti$_x$O$_{1-x}$", "Zn$_x$O$_{1-x}$"]  # fmt: skip
    assert ax.get_xlabel() == "x (fraction of the metal)"
    assert ax.get_ylabel() == "L-G-DCNN band gap (eV)"
    assert ax.get_title() == "Other oxide lines, L-G-DCNN"


def test_contribution_tables_colour_each_element_and_share_the_delta_scale() -> None:
    elements = ["H", "O", "Si", "Fe", "Pb"]
    contributions = pd.DataFrame(
        {m: RNG.uniform(0, 50, len(elements)) for m in ch.CONTRIBUTION_MODELS}, index=elements
    )
    deltas = ch.delta_table(contributions)
    fig = ch.plot_contribution_tables(contributions, deltas, unit="GPa")
    tables = [ax for ax in fig.axes if ax.get_title()]
    colourbars = [ax for ax in fig.axes if not ax.get_title()]
    assert len(tables) == 4 and len(colourbars) == 4
    assert [ax.get_title() for ax in tables] == [
        "L-G-DCNN: average contribution", *(f"|{k}|" for k in deltas)]  # fmt: skip
    assert {ax.get_ylabel() for ax in colourbars} == {"GPa"}
    grey = (0.93, 0.93, 0.93, 1.0)
    for ax in tables:
        cells = [p for p in ax.patches if isinstance(p, Rectangle)]
        assert len(cells) == 103  # one per element Z = 1..103
        assert sum(tuple(p.get_facecolor()) != grey for p in cells) == len(elements)
    top = max(float(v.max()) for v in deltas.values())
    assert [ax.get_ylim() for ax in colourbars[1:]] == [(0.0, top)] * 3
    with pytest.raises(ValueError, match="three differences"):
        ch.plot_contribution_tables(contributions, dict(list(deltas.items())[:2]), unit="GPa")


def test_umap_pair_draws_each_map_twice_on_one_scale() -> None:
    maps = _maps(30)
    fig = ch.plot_umap_pair(maps, ["RNN", "LSTM"], unit="eV")
    panels, colourbar = fig.axes[:4], fig.axes[4]
    assert len(fig.axes) == 5
    assert [ax.get_title() for ax in panels] == [
        "RNN | predicted", "RNN | DFT", "LSTM | predicted", "LSTM | DFT"]  # fmt: skip
    assert [_offsets(ax) for ax in panels] == [[30]] * 4
    assert colourbar.get_ylabel() == "band gap (eV)"
    # the RNN panels sit at RNN's coordinates, the LSTM ones at LSTM's
    assert set(panels[0].collections[0].get_offsets()[:, 0]) == set(maps["RNN_x"])
    assert set(panels[3].collections[0].get_offsets()[:, 0]) == set(maps["LSTM_x"])


def test_circled_outliers_circle_exactly_the_masked_compounds() -> None:
    maps = _maps(40)
    mask = np.zeros(40, dtype=bool)
    mask[[3, 7, 11]] = True
    fig = ch.plot_circled_outliers(maps, mask, 0.887, unit="eV")
    lstm, fused, colourbar = fig.axes
    assert len(fig.axes) == 3
    for ax, m in ((lstm, "LSTM"), (fused, "L-G-DCNN")):
        assert _offsets(ax) == [40, 3]
        assert ax.get_title() == f"{m} | predicted"
        assert ax.get_xlabel() == "UMAP 1 (arbitrary units)"
        assert ax.get_ylabel() == "UMAP 2 (arbitrary units)"
        circled = ax.collections[1].get_offsets()
        assert np.allclose(circled[:, 0], maps[f"{m}_x"].to_numpy()[mask])
    assert colourbar.get_ylabel() == "predicted band gap (eV)"
    assert [t.get_text() for t in lstm.get_legend().get_texts()] == ["LSTM error > 0.89 eV"]


def test_top_pairs_put_the_largest_change_on_top() -> None:
    pairs = pd.DataFrame({"pair": [f"Si-{e}" for e in "ABCDEFGHIJKLMNOPQRST"],
                          "total_abs_change": np.linspace(20, 1, 20)})  # fmt: skip
    fig = ch.plot_top_pairs(pairs, n_compounds=56, anchor="Si")
    (ax,) = fig.axes
    assert len(ax.patches) == 15
    assert ax.patches[-1].get_width() == pytest.approx(20.0)  # drawn last: at the top
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == "Si-A"
    assert ax.get_xlabel() == "summed |Δ correlation| over the compounds, LSTM → L-G-DCNN"
    assert ax.get_title() == "Top element pairs over the 56 worst LSTM Si compounds"
    short = ch.plot_top_pairs(pairs.head(4), n_compounds=9, anchor="Si")
    assert len(short.axes[0].patches) == 4


def test_element_correlations_show_both_matrices() -> None:
    elements = ["H", "Li", "Na", "O", "S"]
    learned = pd.DataFrame(np.eye(5), index=elements, columns=elements)
    raw = pd.DataFrame(np.full((5, 5), 0.5), index=elements, columns=elements)
    fig = ch.plot_element_correlations(learned, raw)
    assert len(fig.axes) == 4  # two matrices, two colour bars
    left, right = fig.axes[:2]
    assert left.get_title() == "L-G-DCNN (formation enthalpy)"
    assert right.get_title() == "input embedding (mat2vec)"
    assert left.images[0].get_array().shape == (5, 5)
    assert np.allclose(right.images[0].get_array(), 0.5)
    assert [t.get_text() for t in left.get_yticklabels()] == elements
    contrast = ch.contrast_table(learned, raw)
    assert list(contrast.index) == ["L-G-DCNN", "mat2vec input"]
    assert contrast.loc["mat2vec input", "same - different"] == pytest.approx(0.0)


# --- the page's sections ------------------------------------------------------------------

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "05_interpretability.py"


def _glued_names() -> set[str]:
    return set(re.findall(r"\{glue:text\}`([^`]+)`", NOTEBOOK.read_text()))


def _page(runs: dict | None = None) -> ch.InterpretabilityPage:
    return ch.InterpretabilityPage(runs or {}, "OQMD_Bandgap", "OQMD_Formation_Enthalpy",
                                   "mp_shear_modulus", train_missing=False)  # fmt: skip


def _all_sections(page: ch.InterpretabilityPage) -> list[ch.Section]:
    umaps = page.umaps("Si", None)
    return [page.parity("standard"), page.efm_maps(list(ch.PEROVSKITES)),
            page.sweeps(["Si", "Al"]), page.contributions(), umaps, page.outliers(umaps.frame),
            page.pair_shift("Si", 56, 3.0), page.element_correlations()]  # fmt: skip


def test_every_glued_name_has_a_value_when_no_run_is_stored(monkeypatch) -> None:
    import matfusion.notebook

    notes: list[str] = []
    monkeypatch.setattr(matfusion.notebook, "show_markdown", notes.append)
    sections = _all_sections(_page())
    texts = {k: v for s in sections for k, v in s.texts.items()}
    assert set(texts) == _glued_names()
    assert texts["fig9_mae"] == ch.PENDING and texts["spread_none"] == ch.PENDING
    assert texts["fig8_line"] == "Si-O" and texts["shear_unit"] == "GPa"
    assert all(not s.figures for s in sections)
    assert [s.table is None for s in sections[1:]] == [True] * 7
    assert len(notes) == 7  # one line per section that reads runs (outliers reads the maps)
    assert all(note.startswith("Left out: it needs ") for note in notes)
    assert _page().runs_table().data.empty


def test_sections_draw_and_glue_from_stored_analyses(monkeypatch) -> None:
    """Every section with its runs (studies replaced by made-up analyses): figures drawn,
    the same names glued, numbers instead of the pending text."""
    from matfusion import studies

    models = ["LSTM", "DCNN-K1", "DCNN", "L-G-DCNN", "RNN"]
    records = {(m, d): {"config": {"dataset": d, "model": m}, "sizes": {"train": 100}}
               for d in ("OQMD_Bandgap", "OQMD_Formation_Enthalpy", "mp_shear_modulus")
               for m in models}  # fmt: skip
    monkeypatch.setattr(ch, "runs_for_section", lambda runs, pairs, analyses, **_: {
        label: runs[pair] for label, pair in pairs.items()})  # fmt: skip
    n = 12
    parity = pd.DataFrame({"target": RNG.normal(size=n), "prediction": RNG.normal(size=n),
                           "uncertainty": RNG.uniform(size=n)})  # fmt: skip
    monkeypatch.setattr(studies, "parity", lambda record: parity)
    efms = _efms(apart_scale=3.0)
    monkeypatch.setattr(studies, "efm_maps", lambda runs, formulas: (
        {label: {f: efms[f] for f in formulas} for label in runs}, ELEMENTS))  # fmt: skip
    monkeypatch.setattr(studies, "binary_sweeps", lambda runs, a, b: {
        m: _sweep(9, k) for k, m in enumerate(runs)})  # fmt: skip
    monkeypatch.setattr(studies, "dataset_binary_points", lambda dataset, a, b: pd.DataFrame(
        {"x": [0.3], "target": [1.0]}) if a == "Si" else pd.DataFrame(
        {"x": [], "target": []}))  # fmt: skip
    contributions = pd.DataFrame({m: RNG.uniform(0, 9, 3) for m in ch.CONTRIBUTION_MODELS},
                                 index=["O", "Si", "Fe"])  # fmt: skip
    monkeypatch.setattr(studies, "average_contributions", lambda runs: contributions)
    maps = _maps(60)
    monkeypatch.setattr(studies, "efm_umaps", lambda runs, **_: maps)
    pairs = pd.DataFrame({"pair": ["Si-O", "Si-F", "Fe-Ni"], "total_abs_change": [3.0, 2, 1]})
    monkeypatch.setattr(studies, "worst_compound_pair_shift", lambda a, b, **_: (
        pairs, pd.DataFrame(index=range(7))))  # fmt: skip
    corr = pd.DataFrame(np.eye(3), index=["H", "Li", "O"], columns=["H", "Li", "O"])
    monkeypatch.setattr(studies, "element_correlations", lambda record: (corr, corr))
    import matfusion.experiments as experiments

    monkeypatch.setattr(experiments, "results_table", lambda recs: pd.DataFrame(
        {"model": [r["config"]["model"] for r in recs], "test_mae": 1.25}))  # fmt: skip

    sections = _all_sections(_page(records))
    texts = {k: v for s in sections for k, v in s.texts.items()}
    assert set(texts) == _glued_names()
    assert ch.PENDING not in texts.values()
    assert [len(s.figures) for s in sections] == [2, 1, 2, 1, 2, 1, 1, 1]
    assert texts["fig9_mae"] == "DCNN-K1 1.2, DCNN 1.2, LSTM 1.2, L-G-DCNN 1.2"
    assert texts["fig9_elements"] == "3" and texts["umap_compounds"] == "60"
    assert (texts["en_count"], texts["en_top"]) == ("2", "3")
    assert texts["s9_elements"] == "3"
    assert sections[2].table.data.index.get_level_values("system").unique().tolist() == [
        "Si-O", "Al-O"]  # fmt: skip
