"""Profiles and the packaged copy of the papers' reported numbers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from matfusion.paper import TABLES, reported, reported_floats, table_path
from matfusion.profiles import PROFILES, get_profile

SHARED_PAPER = Path(__file__).resolve().parents[2] / "shared" / "paper"


def test_profiles_scale_up() -> None:
    smoke, standard, paper = (PROFILES[n] for n in ("smoke", "standard", "paper"))
    assert smoke.max_train_rows < standard.max_train_rows
    assert paper.max_train_rows is None and paper.recipe == "crabnet"
    assert len(paper.reference_datasets) == 10


def test_profile_overrides_and_errors() -> None:
    assert get_profile("smoke", epochs=3).epochs == 3
    assert get_profile("smoke", epochs=None).epochs == PROFILES["smoke"].epochs
    with pytest.raises(KeyError, match="unknown profile"):
        get_profile("huge")
    with pytest.raises(ValueError, match="unknown profile settings"):
        get_profile("smoke", nonsense=1)


@pytest.mark.skipif(not SHARED_PAPER.exists(), reason="shared/paper not beside the repo")
@pytest.mark.parametrize("name", TABLES)
def test_packaged_numbers_match_shared_copy(name: str) -> None:
    assert table_path(name).read_bytes() == (SHARED_PAPER / f"{name}.csv").read_bytes()


def test_reported_values() -> None:
    assert reported_floats("CECV LSTM Si compounds OQMD formation enthalpy test") == [
        376,
        147,
        80,
        48,
        31,
        27,
        16,
        14,
    ]
    ext = reported("extended_benchmarks_mae").set_index("dataset")
    assert ext.loc["aflow__ael_bulk_modulus_vrh", "L-G-DCNN"] == pytest.approx(8.221)
    assert len(ext) == 18
    ext.loc[:, "L-G-DCNN"] = 0  # a caller's edit must not leak into the next call
    assert isinstance(reported("extended_benchmarks_mae"), pd.DataFrame)
    assert reported("extended_benchmarks_mae")["L-G-DCNN"].iloc[0] == pytest.approx(8.221)


def test_banner_states_paper_a_settings_only_where_paper_a_models_train() -> None:
    from matfusion.notebook import profile_banner

    prof = get_profile("standard")
    full = profile_banner(prof, {"Dataset": "OQMD_Bandgap"})
    assert "epochs 30" in full and "training rows 3000" in full
    assert "`paper` profile stands in" in full and "Dataset: OQMD_Bandgap." in full
    ecd = profile_banner(prof, {"Density grid": "32^3"}, paper_a_runs=False)
    assert "epochs 30" not in ecd and "`paper` profile stands in" not in ecd
    assert ecd.startswith("**Run profile: `standard`**") and "Density grid: 32^3." in ecd


def test_paper_b_banner_describes_paper_b_sizes_not_paper_a() -> None:
    from matfusion.ecd.settings import ecd_profile_for
    from matfusion.notebook import paper_b_banner, profile_banner

    prof = get_profile("standard")
    ecd, _note = ecd_profile_for("standard")
    banner = paper_b_banner(prof, ecd, {"Densities": "promolecular"})
    assert banner.startswith("**Run profile: `standard`** (paper B's `standard` sizes: ")
    assert ecd.description in banner and "Densities: promolecular." in banner
    assert prof.description not in banner and "epochs 30" not in banner
    with pytest.raises(ValueError, match="without paper-A runs"):
        profile_banner(prof, description="other sizes")
