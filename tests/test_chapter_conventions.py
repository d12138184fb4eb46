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


def test_model_switches_keep_only_what_reaches_the_model():
    from matfusion.chapters.conventions import model_switches

    lgdcnn = [label for label, _ in model_switches("L-G-DCNN")]
    assert lgdcnn == ["none", "region_skip", "element_order", "gate", "fraction_sinusoid", "all"]
    v1 = [label for label, _ in model_switches("L-G-DCNN-V1")]
    assert v1 == ["none", "v1_pool_axis", *lgdcnn[1:]]  # the pooling axis is V1's alone


def test_conventions_trained_runs_each_switch_and_reads_it_back(tmp_path, monkeypatch):
    from matfusion.chapters.conventions import conventions_trained

    monkeypatch.setenv("MATFUSION_RESULTS", str(tmp_path))
    store = ResultsStore(tmp_path)
    smoke = get_profile("smoke")
    empty = conventions_trained(smoke, models=("L-G-DCNN",), store=store)
    assert len(empty.missing) == 12 and len(empty.commands) == 6
    assert "--conventions matfusion-v1+gate=value --recipe plateau" in empty.commands[3]
    trained = conventions_trained(smoke, models=("L-G-DCNN",), store=store, train_missing=True)
    assert not trained.missing and trained.total == 12
    runs = store.records(experiment="train")
    assert sorted(r["config"]["conventions"]["name"] for r in runs) == sorted(
        trained.table["conventions"]
    )
    table = trained.table.loc["L-G-DCNN"]
    assert table.loc["none", "MAE change %"] == 0 and table.loc["none", "CECV change"] == 0
    gate = table.loc["gate"]
    assert gate["MAE change %"] == pytest.approx(
        100 * (gate["test MAE"] / table.loc["none", "test MAE"] - 1)
    )
    again = conventions_trained(smoke, models=("L-G-DCNN",), store=store)
    assert again.table.equals(trained.table)
