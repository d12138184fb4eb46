"""Chapter 03's conventions table: computed once, stored, read back; never computed on skip."""

from __future__ import annotations

import pytest

from matfusion.chapters.conventions import conventions_at_init
from matfusion.profiles import get_profile
from matfusion.results import ResultsStore


def test_conventions_table_is_stored_and_read_back(tmp_path):
    store = ResultsStore(tmp_path)
    smoke = get_profile("smoke")
    assert conventions_at_init(smoke, store=store, missing="skip") is None
    assert not list(tmp_path.rglob("*.json"))
    table = conventions_at_init(smoke, store=store)
    assert list(dict.fromkeys(table["model"])) == ["L-G-DCNN-V1", "L-G-DCNN"]
    for _model, rows in table.groupby("model"):
        switched = list(rows["switched"])
        assert switched[0] == "none" and switched[-1] == "all"
        assert rows["delta"].iloc[0] == 0
        # a switch after the EFM layer (the gate) cannot move the count
        gate = rows[rows["switched"] == "gate"].iloc[0]
        assert not gate["reaches_efm"] and gate["delta"] == 0
    v1 = table[table["model"] == "L-G-DCNN-V1"].set_index("switched")
    assert v1.loc["v1_pool_axis", "reaches_efm"]  # V1's pooling axis changes its EFM
    again = conventions_at_init(smoke, store=store, missing="skip")
    assert again.equals(table) and again.attrs["anchor"] == "Si"
    with pytest.raises(ValueError, match="missing"):
        conventions_at_init(smoke, store=store, missing="train")
