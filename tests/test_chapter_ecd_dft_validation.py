"""Chapter 12 (paper B's Figure 5 against our DFT): the glued numbers and their
placeholders, the external metrics, and the chapter's exercises."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd

from matfusion.chapters import ecd_dft_validation as chapter

matplotlib.use("Agg")


def test_settings_numbers_take_the_last_setting_and_count_the_cutoff_check():
    dft = pd.DataFrame({"setting_xc": ["PBE", "PBE", "PBE"], "setting_ecut_eV": [500, 500, 500],
                        "setting_cij_max_residual_GPa": [np.nan, 2.0, 2.0],
                        "setting_unused": [np.nan] * 3,
                        "ecut_eos_eV": [np.nan, 500, 800]})  # fmt: skip
    numbers = chapter.settings_numbers(dft)
    assert numbers["dft_settings"] == "xc = PBE, ecut_eV = 500, cij_max_residual_GPa = 2.0"
    assert (numbers["dft_checked"], numbers["dft_older"], numbers["dft_raised"]) == ("2", "1", "1")
    assert numbers["dft_residual"] == "2" and numbers["dft_older_ecut"] == "500"
    assert (numbers["dft_checked_after"], numbers["dft_unchecked"]) == ("0", "1")
    # older rows checked afterwards: one passes, one fails, one waits
    older = pd.concat([dft] * 2, ignore_index=True).assign(
        ecut_eos_eV=[500, np.nan, np.nan, 500, 500, 800],
        eos_cutoff_check=["one SCF", "one SCF", None, "", np.nan, np.nan],
    )
    numbers = chapter.settings_numbers(older)
    counts = ("dft_checked", "dft_older", "dft_checked_after", "dft_failed_check", "dft_unchecked")
    assert tuple(numbers[k] for k in counts) == ("4", "3", "1", "1", "1")


def test_check_table_differences_and_numbers():
    dft = pd.DataFrame({"id": ["mp-1", "mp-2", "wbm-1"], "formula": ["A", "B", "C"],
                        "metal": [True, False, True], "K_eos_GPa": [110.0, 45.0, 1.0],
                        "K_vrh_GPa": [np.nan, 50.0, np.nan], "G_vrh_GPa": [np.nan, 20.0, np.nan],
                        "C11": 1.0, "C12": 1.0, "C44": 1.0, "seconds": 1.0})  # fmt: skip
    mp = pd.DataFrame({"bulk_modulus": [100.0, 50.0], "shear_modulus": [10.0, 25.0]},
                      index=["mp-1", "mp-2"])  # fmt: skip
    table = chapter.check_table(dft, mp)
    assert list(table.index) == ["mp-1", "mp-2"]
    assert np.allclose(table["K diff %"], [10.0, -10.0]) and np.isclose(
        table.loc["mp-2", "G diff %"], -20
    )
    assert chapter.check_numbers(table) == {"dft_check_n": "2", "dft_check_median": "10.0 %",
                                            "dft_check_max": "10.0 %"}  # fmt: skip
    assert chapter.check_numbers(table.iloc[:0])["dft_check_n"] == chapter.NOT_STORED


def _preds() -> pd.DataFrame:
    ids = [f"w{i}" for i in range(6)]
    truth = np.arange(6) * 10.0 + 10
    rows = [
        {"id": i, "model": "M", "target": "bulk", "pred": t + 1}
        for i, t in zip(ids, truth, strict=True)
    ]
    rows += [{"id": i, "model": "N", "target": "bulk", "pred": 35.0} for i in ids[:3]]
    return pd.DataFrame(rows), pd.Series(truth, index=ids)


def test_external_metrics_need_five_points_for_r2_and_skip_thin_targets():
    preds, bulk = _preds()
    truth = {"bulk": bulk, "shear": pd.Series([np.nan, 3.0], index=["w0", "w1"])}
    metrics = chapter.external_metrics(preds, truth, ["M", "N", "O"])
    assert list(metrics["model"]) == ["M", "N"]  # O has no prediction, shear one value
    m = metrics.set_index("model")
    assert m.loc["M", "n"] == 6 and np.isclose(m.loc["M", "RMSE_GPa"], 1.0)
    assert np.isfinite(m.loc["M", "R2"]) and np.isnan(m.loc["N", "R2"])  # three points only
    numbers = chapter.ours_numbers(metrics, "M")
    assert numbers == {"ext_ours_r2": f"{m.loc['M', 'R2']:.2f}", "ext_ours_rmse": "1.0",
                       "ext_ours_n": "6"}  # fmt: skip
    assert chapter.ours_numbers(metrics, "N")["ext_ours_r2"].startswith("not computed")
    assert chapter.ours_numbers(metrics, "O")["ext_ours_n"] == chapter.NOT_STORED
    fig = chapter.plot_external(preds, truth, ["M", "N"], "t")
    assert len(fig.axes) == 2  # the bulk row only
    assert chapter.plot_external(preds.iloc[:0], truth, ["M"], "t") is None


def test_shear_note_explains_a_missing_shear_row():
    ext = pd.DataFrame({"metal": [True, True, False], "stable": [True, True, False]})
    note = chapter.shear_note(ext, {"shear": pd.Series([np.nan] * 3)})
    assert note.startswith("The figure has no shear row: of the 3 usable structures, 2 are metals")
    assert "1 is an insulator (1 mechanically unstable" in note and "so none have" in note
    assert chapter.shear_note(ext, {"shear": pd.Series([1.0, 2.0, np.nan])}) == ""


def test_paper_figure_and_share_and_spin_numbers():
    paper = {"model": "F", "n": 329, "set": "OQMD", "target": "bulk", "R2": 0.93, "RMSE_GPa": 21.3}
    assert "not among" in chapter.paper_figure_numbers(paper, ["A"])["paper_ext_ours"]
    assert "is among" in chapter.paper_figure_numbers(paper, ["F"])["paper_ext_ours"]
    shares = pd.DataFrame({"t": [0.6, 0.3, 0.1], "e": [0.1, 0.7, 0.2]},
                          index=["binaries", "ternaries", "quaternaries"])  # fmt: skip
    numbers = chapter.share_numbers(shares, "t", "e")
    assert numbers["train_binaries_pct"] == "60" and numbers["ext_ternaries_pct"] == "70"
    spin = chapter.spin_numbers(pd.DataFrame({"spin_risk": [True, False]}))
    assert spin == {"spin_unpolarised": "2", "spin_risk": "1", "spin_checked": "0",
                    "spin_magnetic": "0"}  # fmt: skip
    checked = pd.DataFrame({"spin_risk": [True, False, False, False],
                            "spin check (muB)": [np.nan, 0.02, 1.9, np.nan]})  # fmt: skip
    spin = chapter.spin_numbers(checked)
    assert (spin["spin_checked"], spin["spin_magnetic"]) == ("2", "1")
    assert chapter.spin_numbers(pd.DataFrame())["spin_risk"] == "0"


def test_miss_numbers_split_spin_polarised_rows():
    table = pd.DataFrame({"formula": ["A", "B", "C", "D"], "F - DFT": [-30.0, 20.0, -4.0, 2.0],
                          "spin_polarized": [1, 0, 0, 1],
                          "counted": [False, True, True, True]})  # fmt: skip
    numbers = chapter.miss_numbers(table, "F")
    assert numbers["miss_median"] == "4.0 GPa" and numbers["miss_n"] == "3"
    assert numbers["miss_spin"] == "16.0 GPa" and numbers["miss_spin_n"] == "2"
    assert numbers["miss_other"] == "12.0 GPa" and numbers["miss_largest"] == "A, B, C"
    assert set(chapter.miss_numbers(pd.DataFrame(), "F").values()) == {chapter.NOT_STORED}


def test_failures_note_lists_each_failed_cell():
    assert chapter.failures_note(pd.DataFrame()) == ""
    failures = pd.DataFrame({"formula": ["X"], "n_atoms": [4], "spin_polarized": [True],
                             "seconds": [600.0], "error": ["RuntimeError: no SCF"]})  # fmt: skip
    note = chapter.failures_note(failures)
    assert note.startswith("**1 cell(s)") and "X (4 atoms, spin-polarised, 10 min): no SCF." in note
