"""Paper B's deviations table, the DFT rows the metrics count, and the composition shift."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from matfusion.ecd.deviations import (
    CHAPTERS,
    COLUMNS,
    DEVIATIONS,
    _differences,
    deviation_table,
    deviations_html,
    format_comparison,
    grid_effect,
    variant_effect,
)
from matfusion.ecd.settings import ecd_profile
from matfusion.results import ResultsStore

VARIANT_ROW = "3D/2D-CNN padding (variant)"


def test_every_deviation_has_all_four_fields_and_every_chapter_a_table() -> None:
    for dev in DEVIATIONS:
        assert set(dev.chapters) <= set(CHAPTERS), dev.topic
        for profile in ("smoke", "standard", "paper"):
            texts = [dev.paper, dev.ours.format(p=ecd_profile(profile)), dev.why, dev.effect]
            assert all(t.strip() for t in texts), dev.topic
    topics = [dev.topic for dev in DEVIATIONS]
    assert len(topics) == len(set(topics))
    for chapter in CHAPTERS:
        table = deviation_table(chapter, "standard", measure=False)
        assert len(table) and list(table.columns) == COLUMNS
        assert (table.map(lambda v: bool(str(v).strip()))).all().all(), chapter
    with pytest.raises(KeyError, match="no deviation table"):
        deviation_table("03_rational_design", measure=False)


def test_ours_names_the_profile_sizes_and_the_html_keeps_every_word() -> None:
    prof = replace(ecd_profile("standard"), grid=24, width=256)
    table = deviation_table("11_ecd_cv_loeo", prof, measure=False)
    assert "24^3" in table.loc["grid", "ours"]
    assert "Dense 256, 256" in table.loc["2D-CNN dense width", "ours"]
    html = deviations_html(table)
    assert "overflow-x:auto" in html and "white-space:normal" in html
    assert html.count("<tr>") == len(table) + 1  # header and one row per deviation
    marked = table.iloc[:1].assign(why="<b>not bold</b>")
    assert "&lt;b&gt;not bold&lt;/b&gt;" in deviations_html(marked)  # text, never markup


def _fake_fit(noise: dict[str, float]):
    """A stand-in for fit_predict: the truth plus noise whose size depends on the variant."""
    from matfusion.ecd.fitting import TARGETS

    def fit_predict(name, inputs, target, train_rows, test_rows, *, seed, progress, tag):
        y = inputs.frame[TARGETS[target]].to_numpy(float)[test_rows]
        rng = np.random.default_rng([seed, len(train_rows), int(test_rows[0])])
        scale = noise[inputs.profile.variant]
        return y + rng.normal(scale=scale, size=len(y)), {"best_epoch": 0, "history": []}

    return fit_predict


def test_variant_effect_is_what_cv_variant_comparison_gives(tmp_path, monkeypatch) -> None:
    """On a small synthetic store (fake fits, whole-cube less noisy): the measured effect is
    the paired comparison of :func:`cv_variant_comparison`; with nothing stored, the row
    says it is not measured."""
    from matfusion.chapters.ecd_architectures import CNN_MODELS, cv_variant_comparison
    from matfusion.ecd import experiments
    from matfusion.ecd.fitting import prepare_inputs
    from matfusion.results import ResultsStore

    smoke = ecd_profile("smoke")
    empty = ResultsStore(tmp_path / "empty")
    assert variant_effect(smoke, empty) is None
    fallback = deviation_table("11_ecd_cv_loeo", smoke, store=empty)
    variant_dev = next(d for d in DEVIATIONS if d.topic == VARIANT_ROW)
    assert fallback.loc[VARIANT_ROW, "measured effect"] == variant_dev.effect

    monkeypatch.setattr(experiments, "fit_predict", _fake_fit({"whole-cube": 2.0,
                                                              "matfusion-v1": 30.0}))  # fmt: skip
    monkeypatch.setattr(experiments, "ensure_density", lambda inputs, progress=True: None)
    store = ResultsStore(tmp_path / "results")
    for variant in ("whole-cube", "matfusion-v1"):
        inputs = prepare_inputs(replace(smoke, variant=variant), need_density=False,
                                progress=False, verbose=False)  # fmt: skip
        experiments.run_cv(list(CNN_MODELS), ["bulk", "shear"], inputs, store=store,
                           progress=False)  # fmt: skip
    expected, missing = cv_variant_comparison(smoke, store=store)
    assert not missing and len(expected) == 4
    assert (expected["difference (GPa)"] < 0).all()  # the less noisy variant wins
    text = format_comparison(expected, ("whole-cube", "matfusion-v1"))
    effect = deviation_table("11_ecd_cv_loeo", smoke, store=store).loc[VARIANT_ROW]
    assert text is not None and effect["measured effect"].endswith(text)
    for _, row in expected.iterrows():
        assert f"{row['model']} {row['target']} {row['difference (GPa)']:+.2f} GPa" in text


def test_format_comparison_and_what_a_pair_also_differs_in() -> None:
    assert format_comparison(pd.DataFrame(), ("a", "b")) is None
    smoke = ecd_profile("smoke")
    assert _differences(smoke, replace(smoke, valence=False), ("valence",)) == ""
    text = _differences(replace(smoke, epochs=150), smoke, ("valence",))
    assert "epochs 150 vs 2" in text and "Not isolated" in text


# --------------------------------------------------------------------------- DFT rows


def _dft_rows() -> pd.DataFrame:
    """Rows as load_dft_moduli stores them: volumes and the spin flags are what matters."""
    base = {"C11": np.nan, "C12": np.nan, "C44": np.nan, "G_vrh_GPa": np.nan, "n_atoms": 4,
            "ecut_eos_eV": 500.0}  # fmt: skip
    rows = [
        ("wbm-ok", "MgAl2Cu", 100.0, 101.0, False),
        ("wbm-small", "LiAl2Cu", 100.0, 96.0, False),  # -4 %: counts
        ("wbm-big", "NaAl2Cu", 100.0, 110.0, False),  # +10 %: another phase
        ("wbm-spin", "Fe2AlCu", 100.0, 100.0, False),  # Fe, no spin: spin rule
        ("wbm-both", "Mn2AlCu", 100.0, 90.0, False),
        ("wbm-fe-ok", "Fe2AlSi", 100.0, 102.0, True),
        ("mp-check", "NaCl", 46.0, 60.0, False),  # a check row: never an external row
        ("wbm-old", "KAl2Mg", 100.0, 100.0, False),  # E-V cutoff never checked
        ("wbm-fail", "RbAl2Mg", 100.0, 100.0, False),  # checked: 3 GPa at 500 eV
    ]
    return pd.DataFrame(
        [
            {
                **base,
                "id": i,
                "formula": f,
                "V_input_A3": vin,
                "V0_A3": v0,
                "spin_polarized": sp,
                "K_eos_GPa": 100.0,
            }
            for i, f, vin, v0, sp in rows
        ]  # fmt: skip
    ).assign(
        ecut_eos_eV=lambda t: t["ecut_eos_eV"].where(~t["id"].isin(["wbm-old", "wbm-fail"])),
        residual_GPa=lambda t: np.where(t["id"] == "wbm-fail", 3.0, np.nan),
        eos_cutoff_check=lambda t: np.where(t["id"] == "wbm-fail", "one SCF", ""),
    )


def test_metric_rows_name_the_reason_for_every_row_left_out() -> None:
    from matfusion.ecd.dft import metric_rows

    rows = metric_rows(_dft_rows()).set_index("id")
    assert "mp-check" not in rows.index
    assert rows["counted"].to_dict() == {
        "wbm-ok": True, "wbm-small": True, "wbm-big": False, "wbm-spin": False,
        "wbm-both": False, "wbm-fe-ok": True, "wbm-old": False, "wbm-fail": False,
    }  # fmt: skip
    assert "not checked" in rows.loc["wbm-old", "reason"]
    assert rows.loc["wbm-fail", "reason"].startswith("cutoff: residual stress 3.0 GPa")
    assert rows.loc["wbm-big", "volume_ratio"] == pytest.approx(1.10)
    assert rows.loc["wbm-big", "reason"].startswith("volume shift: fitted volume 1.10x")
    assert rows.loc["wbm-spin", "reason"].startswith("spin rule")
    assert "spin rule" in rows.loc["wbm-both", "reason"]
    assert "volume shift" in rows.loc["wbm-both", "reason"]
    assert (rows.loc[rows["counted"], "reason"] == "").all()
    strict = metric_rows(_dft_rows(), max_volume_shift=0.03).set_index("id")
    assert not strict.loc["wbm-small", "counted"]


def test_stored_rows_follow_the_rule_and_the_input_volume_is_recomputable() -> None:
    """On the stored CSV: every row off by more than 5 % in volume, breaking the spin rule,
    magnetic (or unconverged) in the spin check, or without a checked E-V cutoff is left out
    and no other; without ``V_input_A3`` the input volume computed from the external
    structures gives the same ratios."""
    from matfusion.ecd.dft import SPIN_CHECK_MIN_MUB, load_dft_moduli, metric_rows

    dft = load_dft_moduli()
    rows = metric_rows(dft)
    shift = (rows["V0_A3"] / rows["V_input_A3"] - 1).abs() > 0.05
    checked = rows["ecut_eos_eV"].notna() & ~(
        rows["residual_GPa"] > rows["setting_cij_max_residual_GPa"]
    )
    magnet = (rows["spin_check_magmom_muB"].abs() >= SPIN_CHECK_MIN_MUB) | (
        rows["spin_check_error"] != ""
    )
    magnet &= ~rows["spin_polarized"].astype(bool)
    expected = ~shift & rows["usable"].astype(bool) & checked & ~magnet
    assert (rows["counted"] == expected).all()
    again = metric_rows(dft.drop(columns=["V_input_A3"]))
    assert np.allclose(again["volume_ratio"], rows["volume_ratio"], rtol=1e-3)
    assert (again["counted"] == rows["counted"]).all()


def test_input_volume_is_per_atom_whatever_the_cell() -> None:
    from pymatgen.core import Lattice, Structure

    from matfusion.ecd.dft import input_volume_per_atom

    a = 5.64
    conventional = Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(a), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]]
    )
    assert len(conventional) == 8
    assert input_volume_per_atom(conventional) == pytest.approx(a**3 / 8)
    assert input_volume_per_atom(conventional.get_primitive_structure()) == pytest.approx(a**3 / 8)


def test_unpolarised_d_metal_cells() -> None:
    from matfusion.ecd.dft import unpolarised_d_metal_cells

    frame = _dft_rows()
    extra = frame.iloc[[0]].assign(id="wbm-zn", formula="MgZn2Al")  # Zn: full d shell
    cells = unpolarised_d_metal_cells(pd.concat([frame, extra], ignore_index=True))
    by = cells.set_index("id")
    # Cu (group 11) counts; Fe/Mn rows without spin break the rule; spin-polarised Fe does not
    assert set(by.index) == {"wbm-ok", "wbm-small", "wbm-big", "wbm-spin", "wbm-both"}
    assert set(by.loc["wbm-spin", "d metals"].split()) == {"Fe", "Cu"}
    assert by["spin_risk"].to_dict() == {
        "wbm-ok": False, "wbm-small": False, "wbm-big": False, "wbm-spin": True, "wbm-both": True,
    }  # fmt: skip
    assert not by.loc["wbm-big", "counted"] and by.loc["wbm-ok", "counted"]


def test_external_claim_counts_the_rows_metric_rows_counts(monkeypatch) -> None:
    """The claim and chapter 12 share one rule: a volume-shifted outlier is left out of R²."""
    from matfusion.ecd import dft as dft_module
    from matfusion.ecd import experiments
    from matfusion.ecd.reported import EXTERNAL_MODEL
    from matfusion.verdicts import VerdictContext, external_claim

    rng = np.random.default_rng(0)
    n = 30
    truth = np.linspace(20, 250, n)
    table = pd.DataFrame(
        {"id": [f"wbm-{i}" for i in range(n)], "formula": "MgAl2Cu", "n_atoms": 4,
         "V_input_A3": 60.0, "V0_A3": 60.0, "K_eos_GPa": truth, "C11": np.nan,
         "C12": np.nan, "C44": np.nan, "G_vrh_GPa": np.nan, "spin_polarized": False,
         "ecut_eos_eV": 500.0}
    )  # fmt: skip
    pred = truth + rng.normal(scale=3.0, size=n)
    table.loc[0, "V0_A3"] = 75.0  # +25 % volume: left out ...
    pred[0] = 900.0  # ... and far off, so counting it would sink R²
    table.loc[1, "ecut_eos_eV"] = np.nan  # cutoff never checked: left out, never put back ...
    pred[1] = 900.0  # ... however far off
    records = [{"config": {"model": EXTERNAL_MODEL, "target": "bulk"},
                "predictions": {"id": table["id"].tolist(), "formula": table["formula"].tolist(),
                                "pred": pred.tolist()}}]  # fmt: skip
    monkeypatch.setattr(dft_module, "load_dft_moduli", lambda path=None: table)
    monkeypatch.setattr(experiments, "run_external", lambda *a, **k: records)
    finding = external_claim()(VerdictContext("smoke"))
    assert f"on {n - 2} structures" in finding.evidence
    assert "2 rows are left out (volume shift: MgAl2Cu; cutoff: MgAl2Cu)" in finding.evidence
    # the volume-shifted row decides the verdict: with it R² sinks, so the claim is not decided
    assert f"the 1 left out by the volume limit alone put back ({n - 1} structures)" in (
        finding.evidence
    )
    assert finding.verdict == "inconclusive"
    pred[0] = truth[0]  # the same row, well predicted: the verdict no longer hinges on it
    records[0]["predictions"]["pred"] = pred.tolist()
    assert external_claim()(VerdictContext("smoke")).verdict == "holds"


def test_grid_effect_cites_the_measured_60_cube_cost_until_a_60_cube_run_is_stored(
    tmp_path, monkeypatch
) -> None:
    from matfusion.ecd import deviations

    standard = ecd_profile("standard")
    empty = ResultsStore(tmp_path / "store")
    text = grid_effect(standard, store=empty)
    assert text.startswith("No CV at 60^3 is stored.")
    assert "LiH" in text and "CPU-hours for the 501 materials" in text
    monkeypatch.setattr(deviations, "GRID60_COST", tmp_path / "absent.json")
    assert grid_effect(standard, store=empty) is None
    assert grid_effect(replace(standard, grid=60)) == "None: this profile uses the paper's grid."
