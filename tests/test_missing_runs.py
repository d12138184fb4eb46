"""A chapter never crashes on a missing run: it says how many are stored, which are not and
the command that makes them, and paper B's chapters fall back to sizes that exist."""

from __future__ import annotations

import nbformat
import pytest

from matfusion.cli import build_parser
from matfusion.ecd.settings import ECD_PROFILES, ecd_profile, ecd_profile_for
from matfusion.grid import Cell, grid_cells, parse_folds, parse_seeds, parse_sizes
from matfusion.notebook import (
    analysis_within_reach,
    grid_commands,
    missing_runs_note,
    retrain_command,
)
from matfusion.results import ResultsStore


def test_note_counts_names_and_commands() -> None:
    assert missing_runs_note([], "matfusion grid ...", 5) == "**5 of 5 runs stored.**"

    note = missing_runs_note(["LSTM / X", "RNN / X"], "matfusion grid --models LSTM,RNN", 5)
    assert note.startswith("**3 of 5 runs stored.**")
    assert "Missing: LSTM / X, RNN / X" in note
    assert "`matfusion grid --models LSTM,RNN` computes them" in note
    assert "<details>" not in note

    one = missing_runs_note(["LSTM / X"], ["cmd a", "cmd b"], 2, what="CV runs")
    assert "1 of 2 CV runs stored" in one
    assert "these commands compute it: `cmd a`; `cmd b`" in one


def test_a_long_list_is_collapsed_and_escaped() -> None:
    labels = [f"model {i} / set" for i in range(9)] + ["A<B / set"]
    note = missing_runs_note(labels, "matfusion ecd cv --profile standard", 50)
    assert note.startswith("**40 of 50 runs stored.** 10 are missing (listed below)")
    assert "<details><summary>The 10 missing runs</summary>" in note
    assert "<li>A&lt;B / set</li>" in note
    assert "`matfusion ecd cv --profile standard`" in note


def test_note_rejects_impossible_counts_and_a_missing_command() -> None:
    with pytest.raises(ValueError, match="3 missing of only 2"):
        missing_runs_note(["a", "b", "c"], "cmd", 2)
    with pytest.raises(ValueError, match="name the command"):
        missing_runs_note(["a"], [], 2)


def test_grid_commands_train_exactly_the_missing_cells() -> None:
    cells = [
        Cell("LSTM", "OQMD_Bandgap", None, None),
        Cell("RNN", "OQMD_Bandgap", None, None),
        Cell("LSTM", "mp_e_hull", None, None),
        Cell("RNN", "mp_e_hull", None, None),
        Cell("L-G-DCNN", "mp_shear_modulus", None, 3),
    ]
    commands = grid_commands(cells, "standard")
    assert commands == [
        "matfusion grid --models LSTM,RNN --datasets OQMD_Bandgap,mp_e_hull --profile standard",
        "matfusion grid --models L-G-DCNN --datasets mp_shear_modulus --seeds 3 --profile standard",
    ]
    listed = set()
    for command in commands:
        args = build_parser().parse_args(command.split()[1:])
        listed |= set(
            grid_cells(
                args.models.split(","),
                args.datasets.split(","),
                parse_folds(args.folds),
                parse_seeds(args.seeds),
                parse_sizes(args.train_rows),
            )
        )
    assert listed == set(cells)
    assert grid_commands([], "standard") == []


def test_grid_commands_join_sizes_seeds_and_folds() -> None:
    sized = [
        Cell(m, "OQMD_Bandgap", None, None, rows)
        for rows in (100, 300)
        for m in ("L-G-DCNN", "CrabNet")
    ]
    assert grid_commands(sized, "standard") == [
        "matfusion grid --models L-G-DCNN,CrabNet --datasets OQMD_Bandgap "
        "--train-rows 100,300 --profile standard"
    ]
    seeded = [Cell("LSTM", "OQMD_Bandgap", None, s) for s in (0, 1)]
    assert grid_commands(seeded, "smoke") == [
        "matfusion grid --models LSTM --datasets OQMD_Bandgap --seeds 0,1 --profile smoke"
    ]
    folds = [Cell("L-G-DCNN", "matbench_steels", f, None) for f in (3, 1)]
    assert grid_commands(folds, "paper") == [
        "matfusion grid --models L-G-DCNN --datasets matbench_steels --folds 1,3 --profile paper"
    ]


def _record(checkpoint: str | None = None, seed: int = 0) -> dict:
    config = {
        "experiment": "train",
        "model": "LSTM",
        "dataset": "OQMD_Bandgap",
        "fold": None,
        "profile": "standard",
        "seed": seed,
    }
    return {"config": config, "checkpoint": checkpoint}


def test_retrain_command_names_the_run() -> None:
    assert retrain_command(_record()) == (
        "matfusion train --model LSTM --dataset OQMD_Bandgap --profile standard --force"
    )
    assert retrain_command(_record(seed=4)).endswith("--seed 4 --profile standard --force")


def test_an_analysis_is_within_reach_from_a_checkpoint_or_a_stored_record(tmp_path) -> None:
    store = ResultsStore(tmp_path / "store")
    weights = tmp_path / "run.pt"
    weights.write_bytes(b"weights")
    assert analysis_within_reach([_record(str(weights))], "cecv", store=store)
    bare = _record()  # committed record, checkpoint on another machine
    assert not analysis_within_reach([bare], "cecv", store=store, anchor="Si")
    cecv = {
        "experiment": "cecv",
        "profile": "standard",
        "train_key": store.key_for(bare["config"]),
        "anchor": "Si",
    }
    store.put(cecv, {"cecv": [1, 2]})
    assert analysis_within_reach([bare], "cecv", store=store, anchor="Si")
    assert not analysis_within_reach([bare], "cecv", store=store, anchor="O")
    analysis = {
        "experiment": "interpret",
        "profile": "standard",
        "kind": "parity",
        "train_keys": {"model": store.key_for(bare["config"])},
    }
    store.put(analysis, {"result": {}})
    assert analysis_within_reach([bare], "interpret", store=store, kind="parity")
    assert not analysis_within_reach([bare], "interpret", store=store, kind="efm_umap")


def test_ecd_profile_for_falls_back_to_standard_sizes() -> None:
    for name in ECD_PROFILES:
        assert ecd_profile_for(name) == (ecd_profile(name), None)
    sizes, note = ecd_profile_for("large")
    assert sizes == ecd_profile("standard")
    assert note == "Paper B has no `large` sizes; this chapter shows its `standard` runs."
    with pytest.raises(KeyError, match="unknown profile 'huge'"):
        ecd_profile_for("huge")


@pytest.mark.slow  # two chapters under papermill, reading an empty store: about 30 s
@pytest.mark.parametrize("stem", ["02_reference_models", "11_ecd_cv_loeo"])
def test_chapter_renders_from_an_empty_store(stem, tmp_path, monkeypatch) -> None:
    from matfusion.book import execute_notebook
    from matfusion.config import repo_root

    store = tmp_path / "store"
    store.mkdir()
    monkeypatch.setenv("MATFUSION_RESULTS", str(store))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    notebooks = repo_root() / "notebooks"
    output = tmp_path / f"{stem}.ipynb"
    seconds = execute_notebook(
        notebooks / f"{stem}.py",
        output,
        {"profile": "standard", "progress": False},
        cwd=notebooks,
    )
    executed = nbformat.read(output, as_version=4)
    text = "".join(
        str(o.get("data", {}).get("text/markdown", "")) + str(o.get("text", ""))
        for cell in executed.cells
        for o in cell.get("outputs", [])
    )
    assert "runs stored" in text
    assert "0 of " in text
    assert not any(store.rglob("*.json")), "the chapter trained a run instead of listing it"
    assert seconds < 120
