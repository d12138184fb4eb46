"""The compute plan: samples are epochs x rows, hours come only from measured rates, and the
chapters' cell lists are registered names the chapters themselves use."""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from matfusion import compute_plan as cp
from matfusion.baselines import is_peer
from matfusion.book import GENERATED_DIR, chapter_parameters, resolve_chapter, write_generated_pages
from matfusion.chapters import cells
from matfusion.cli import main
from matfusion.config import repo_root
from matfusion.data import DATASETS, load_split
from matfusion.models import MODELS
from matfusion.profiles import get_profile
from matfusion.train.recipes import get_recipe


@pytest.fixture()
def rows_file(tmp_path: Path) -> Path:
    """Hand-made training-row counts, so a cell's size is known without the data."""
    path = tmp_path / "rows.json"
    path.write_text(json.dumps({"rows": {"matbench_steels/0": 1000, "mp_e_hull": 3000}}))
    return path


def one_cell(rows_file: Path, profile, model: str = "L-G-DCNN", **group) -> cp.PlannedCell:
    group.setdefault("folds", (0,))
    dataset = "matbench_steels" if group["folds"] else "mp_e_hull"
    spec = cells.CellGroup("test", (model,), (dataset,), **group)
    (cell,) = cp.plan_cells("99_test", [spec], profile, rows_file)
    return cell


def test_samples_are_epoch_cap_times_training_rows(rows_file: Path) -> None:
    fixed = one_cell(rows_file, replace(get_profile("paper"), epochs=7))
    assert (fixed.n_train, fixed.epochs, fixed.samples) == (1000, 7, 7000)
    paper = get_profile("paper")
    ruled = one_cell(rows_file, paper)
    recipe = get_recipe(paper.recipe)
    assert ruled.epochs == recipe.epochs(1000, recipe.batch_size(1000))
    assert ruled.samples == ruled.epochs * 1000
    capped = one_cell(rows_file, paper, folds=None, train_rows=(300,))
    assert capped.n_train == 300 and capped.samples == capped.epochs * 300
    rerun = one_cell(rows_file, paper, recipe="plateau", epochs=300)
    assert (rerun.recipe, rerun.samples) == ("plateau", 300 * 1000)


def test_hours_use_the_rate_and_an_unmeasured_model_is_not_a_number(rows_file: Path) -> None:
    paper = replace(get_profile("paper"), epochs=9)
    lg = one_cell(rows_file, paper)
    crab = one_cell(rows_file, get_profile("paper"), model="CrabNet")
    assert crab.epochs == cp.CRABNET_DEFAULT_EPOCHS  # paper: CrabNet keeps its own cap
    assert one_cell(rows_file, paper, model="CrabNet").epochs == 8  # whole cycles of 9
    rates = [cp.Rate("L-G-DCNN", "cpu", 250.0, "hand.json")]
    table = cp.rate_table(rates)
    hours, unmeasured = cp._total([lg, crab], table, "cpu")
    assert hours == pytest.approx(lg.samples / 250.0 / 3600)
    assert unmeasured == [crab]
    assert cp._total([crab], table, "cuda")[1] == [crab]
    assert cp._hours(*cp._total([crab], table, "cpu"), [crab]) == cp.NOT_MEASURED

    page = cp.plan_markdown("paper", "08", rates=rates)
    (crab_row,) = [line for line in page.splitlines() if line.startswith("| CrabNet |")]
    assert crab_row.split("|")[3].strip() == cp.NOT_MEASURED  # CPU rate
    assert crab_row.split("|")[4].strip() == cp.NOT_MEASURED  # GPU rate
    (chapter_row,) = [line for line in page.splitlines() if line.startswith("| 08_matbench")]
    assert chapter_row.split("|")[-2].strip() == cp.NOT_MEASURED  # no GPU rate at all
    assert "cells not measured" in chapter_row.split("|")[-3]  # CPU: only L-G-DCNN priced


def test_same_network_shares_a_rate_and_a_run(rows_file: Path) -> None:
    alias = next(name for name, spec in MODELS.items() if spec.same_as)
    assert cp.same_network(alias) == MODELS[alias].same_as
    paper = get_profile("paper")
    a = one_cell(rows_file, paper, model=alias)
    b = one_cell(rows_file, paper, model=str(MODELS[alias].same_as))
    assert a.key == b.key


def test_figure4_onehot_column_is_priced_once_with_chapter_07() -> None:
    paper = get_profile("paper")
    assert "L-G-DCNN-onehot" in cells.EXTENDED_MODELS
    assert MODELS["L-G-DCNN-onehot"].same_as == "Model-1"
    (group,) = cells.chapter_cell_groups(paper)["06_extended_benchmarks"]
    assert group.models == cells.EXTENDED_MODELS
    planned = cp.plan_cells("06_extended_benchmarks", [group], paper)
    assert len(planned) == len(cells.EXTENDED_MODELS) * len(group.datasets)
    onehot = {c.key for c in planned if c.model == "L-G-DCNN-onehot"}
    assert len(onehot) == len(group.datasets)
    ablation = cp.plan_cells(
        "07_ablations", cells.chapter_cell_groups(paper)["07_ablations"], paper
    )
    shared = onehot & {c.key for c in ablation if c.model == "Model-1"}
    assert len(shared) == 4  # Table 2's four sets are Figure 4 sets: one run answers both


def test_chapter_cell_lists_are_registered_and_not_empty() -> None:
    groups = cells.chapter_cell_groups(get_profile("paper"))
    assert {s.stem for s in resolve_all()} == set(groups) | set(cells.UNPRICED_CHAPTERS)
    for chapter, specs in groups.items():
        assert specs, chapter
        for spec in specs:
            assert spec.models and spec.datasets, (chapter, spec.what)
            for model in spec.models:
                assert model in MODELS or is_peer(model), (chapter, model)
            for dataset in spec.datasets:
                assert dataset in DATASETS, (chapter, dataset)


def resolve_all() -> list[Path]:
    return sorted((repo_root() / "notebooks").glob("[0-9][0-9]_*.py"))


def test_chapters_take_their_defaults_from_the_cell_lists() -> None:
    uses = {
        "02": "REFERENCE_MODELS",
        "03": "RATIONAL_DESIGN_MODELS",
        "04": "BAND_GAP_MODELS",
        "05": "INTERPRETABILITY_MODELS",
        "06": "EXTENDED_MODELS",
        "08": "MATBENCH_MODELS",
        "09": "SAMPLE_EFFICIENCY_SIZES",
    }
    import importlib
    import inspect

    from matfusion.chapters.exercises import module_for

    for number, name in uses.items():
        chapter = resolve_chapter(number)
        # the notebook, or the chapter module it calls, takes the list from chapters.cells
        sources = [chapter.read_text(), inspect.getsource(importlib.import_module(
            module_for(chapter.stem)))]  # fmt: skip
        assert any(
            "from matfusion.chapters.cells import" in text and name in text for text in sources
        ), number

    def defaults(number: str) -> dict[str, str]:
        return {p.name: p.default_source for p in chapter_parameters(resolve_chapter(number))}

    nine = defaults("09")
    assert eval(nine["convergence_datasets"]) == list(cells.CONVERGENCE_DATASETS)  # noqa: S307
    assert eval(nine["dataset"]) == cells.SAMPLE_EFFICIENCY_DATASET  # noqa: S307
    five = defaults("05")
    for section, dataset in cells.INTERPRETABILITY_DATASETS.items():
        assert eval(five[f"{section}_dataset"]) == dataset  # noqa: S307


def test_cached_training_rows_are_load_split_counts() -> None:
    cached = json.loads(cp.TRAINING_ROWS_PATH.read_text())["rows"]
    expected = {cp._rows_key(n, f) for n, info in DATASETS.items() for f in info.folds}
    assert set(cached) == expected
    for name, fold in (("matbench_steels", 3), ("matbench_jdft2d", 0)):
        assert cp.training_rows(name, fold) == len(load_split(name, "train", fold, verbose=False))
    with pytest.raises(KeyError, match="refresh-rows"):
        cp.training_rows("matbench_steels", 9)


def test_rates_are_read_from_one_thread_cpu_files_and_cuda_runs(tmp_path: Path) -> None:
    bench, results = tmp_path / "bench", tmp_path / "results"
    bench.mkdir()
    one = {"L-G-DCNN": {"train_samples_per_cpu_s": 300.0}, "CrabNet": {"train_samples_per_s": 9}}
    (bench / "peer_cpu.json").write_text(json.dumps({"equal_batch": {"1_threads": one}}))
    rows = {"CrabNet": {"train_samples_per_cpu_s": 100.0},
            "L-G-DCNN plain": {"train_samples_per_cpu_s": 500.0},
            "L-G-DCNN bucketed": {"train_samples_per_cpu_s": 9e9}}  # fmt: skip
    (bench / "bucket_cpu.json").write_text(
        json.dumps({"equal_batch": {"threads": 1, "dataset": "mp_e_hull", "rows": rows}})
    )
    two = {"models": {"LSTM": {"train_samples_per_s": 4000.0}}, "settings": {"threads": 2}}
    (bench / "throughput_cpu.json").write_text(json.dumps(two))
    gpu = {"settings": {"device": "cuda", "gpu": "Test GPU"},
           "cells": [{"model": "LSTM", "measured_samples_per_s": 8e4},
                     {"model": "LSTM", "train_samples_per_s": 6e4, "status": "trained"}]}  # fmt: skip
    (bench / "gpu_paper_runs_cuda.json").write_text(json.dumps(gpu))
    bf16 = {**gpu, "settings": {"device": "cuda", "bf16": True}}
    (bench / "gpu_paper_runs_bf16_cuda.json").write_text(json.dumps(bf16))
    store = results / "train" / "paper"
    store.mkdir(parents=True)
    record = {"config": {"model": "DCNN", "train": {}}, "train_samples_per_s": 2e4,
              "provenance": {"hardware": {"device": "cuda", "gpu": "Test GPU"}}}  # fmt: skip
    (store / "a.json").write_text(json.dumps(record))
    cpu_record = {**record, "provenance": {"hardware": {"device": "cpu"}}}
    (store / "b.json").write_text(json.dumps(cpu_record))

    table = cp.rate_table(cp.measured_rates(bench, results))
    assert table[("L-G-DCNN", "cpu")][0] == pytest.approx(400.0)  # median of 300 and 500
    assert table[("CrabNet", "cpu")][0] == pytest.approx(100.0)
    assert ("LSTM", "cpu") not in table  # two threads, wall clock only
    assert table[("LSTM", "cuda")][0] == pytest.approx(7e4)
    assert table[("LSTM", "cuda")][1] == ["gpu_paper_runs_cuda.json (Test GPU)"] * 2
    assert table[("DCNN", "cuda")][0] == pytest.approx(2e4)
    assert ("DCNN", "cpu") not in table


def test_gpu_script_writes_where_the_plan_reads() -> None:
    path = repo_root() / "scripts" / "gpu_paper_runs.py"
    spec = importlib.util.spec_from_file_location("gpu_paper_runs_plan", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_paper_runs_plan"] = module
    spec.loader.exec_module(module)
    assert module.DEFAULT_OUT.parent == cp._bench_dir()
    assert module.DEFAULT_OUT.match(cp.GPU_PATTERN)


def test_cli_prints_the_table_and_rejects_an_unknown_chapter(capsys) -> None:
    assert main(["plan", "--chapter", "06"]) == 0
    out = capsys.readouterr().out
    assert "| chapter | cells | new cells | samples |" in out
    (row,) = [line for line in out.splitlines() if line.startswith("| 06_extended_benchmarks")]
    n_cells = len(cells.EXTENDED_MODELS) * len(
        cells.chapter_cell_groups(get_profile("paper"))["06_extended_benchmarks"][0].datasets
    )
    assert row.split("|")[2].strip() == str(n_cells)
    assert main(["plan", "--chapter", "01"]) == 2
    assert "no training cells for chapter '01'" in capsys.readouterr().err


def test_book_writes_the_page_scale_md_includes(tmp_path: Path) -> None:
    (written,) = write_generated_pages(tmp_path)
    assert written == tmp_path / GENERATED_DIR / "compute_plan.md"
    text = written.read_text()
    assert "**total (new cells)**" in text and "samples / (one-thread" in text
    scale = (repo_root() / "book" / "scale.md").read_text()
    include = written.relative_to(tmp_path / "book").as_posix()
    assert f"```{{include}} {include}" in scale
