"""Device choice (``--device``), bf16 autocast, CUDA repeatability settings, the hardware in
provenance, and the GPU script: a CPU machine answers as before, a GPU run is its own record."""

from __future__ import annotations

import importlib.util
import json
import os
import sys

import pandas as pd
import pytest
import torch

import matfusion.train.device as device_module
from matfusion import provenance
from matfusion.cli import main
from matfusion.config import repo_root
from matfusion.experiments import RECORD_VERSION, run_config, run_conventions
from matfusion.profiles import get_profile
from matfusion.results import ResultsStore
from matfusion.train import TrainConfig, deterministic_mode, resolve_device

TINY = ["--dataset", "matbench_steels", "--fold", "0", "--profile", "smoke", "--quiet"]
PEERS = ("CrabNet", "Roost", "RF-Magpie")


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def fake_gpu(monkeypatch):
    """torch says a GPU is there (nothing here starts CUDA); the cuBLAS variable it sets is
    removed afterwards."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", "unset")
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG")
    monkeypatch.setattr(device_module, "_cublas_in_force", None)


@pytest.fixture
def store_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MATFUSION_RESULTS", str(tmp_path / "results"))
    return tmp_path / "results"


# ------------------------------------------------------------------------- resolving a device


def test_auto_is_the_cpu_without_a_gpu(no_gpu):
    assert resolve_device("auto") == "cpu"
    assert resolve_device("CPU") == "cpu" and resolve_device(None) == "cpu"


def test_auto_is_cuda_with_a_gpu_and_sets_the_cublas_workspace(fake_gpu):
    assert resolve_device("auto") == "cuda"
    assert resolve_device("cuda") == "cuda"
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"


def test_cuda_without_a_gpu_is_one_clear_error_unless_unchecked(no_gpu):
    with pytest.raises(ValueError, match="no CUDA GPU is available") as err:
        resolve_device("cuda")
    assert "\n" not in str(err.value)
    assert resolve_device("cuda", check=False) == "cuda"  # a SLURM submission names its nodes'
    with pytest.raises(ValueError, match="one of auto, cpu, cuda"):
        resolve_device("gpu")


def test_train_config_holds_a_resolved_device_only():
    with pytest.raises(ValueError, match="resolved"):
        TrainConfig(device="auto")
    with pytest.raises(ValueError, match="not a torch device"):
        TrainConfig(device="quantum")
    with pytest.raises(ValueError, match="True or False"):
        TrainConfig(bucket="yes")
    assert TrainConfig(device="cuda").device == "cuda"  # no GPU needed to describe a GPU run


# -------------------------------------------------------------------- configs and record keys

#: ``config["train"]`` of a default run of our models, as every stored record has it.
DEFAULT_TRAIN = {
    "recipe": "fast",
    "epochs": 30,
    "batch_size": None,
    "lr": None,
    "weight_decay": None,
    "patience": None,
    "seed": 0,
    "jitter": 0.02,
    "num_threads": None,
    "device": "cpu",
}

#: Keys of default runs, computed by matfusion before the device options existed (commit
#: 0ae68d9). A change that moves them on purpose changes every stored record's identity
#: (and needs a migration): update them together.
KEYS_BEFORE = {
    ("LSTM", "aflow__Egap", "standard", None): "b603ac33bd0b041e",
    ("L-G-DCNN", "OQMD_Formation_Enthalpy", "paper", None): "8d103665fcf9deee",
    ("L-G-DCNN-V1", "matbench_steels", "smoke", 2): "c551da17acb9f556",
    ("CrabNet", "aflow__Egap", "standard", None): "1fb43478bed3f4b1",
    ("Roost", "mp_e_hull", "paper", None): "ce7bf65f2dc332e5",
    ("RF-Magpie", "aflow__Egap", "smoke", None): "fce78df33bc42d14",
}


def test_the_default_cpu_config_is_what_it_was(tmp_path, no_gpu):
    """A run without a device option, with ``cpu`` and with ``auto`` on a machine without a
    GPU: one configuration, the one made before these options existed."""
    store = ResultsStore(tmp_path)
    standard = get_profile("standard")
    assert TrainConfig().to_dict() == {**DEFAULT_TRAIN, "recipe": "crabnet", "epochs": None}
    assert run_config("LSTM", "aflow__Egap", profile=standard)["train"] == DEFAULT_TRAIN
    for (model, dataset, profile, fold), key in KEYS_BEFORE.items():
        prof = get_profile(profile)
        default = run_config(model, dataset, profile=prof, fold=fold)
        assert store.key_for(default) == key, (model, dataset, profile)
        for device in ("cpu", "auto"):
            assert run_config(model, dataset, profile=prof, fold=fold, device=device) == default


def test_every_stored_record_is_answered_by_its_default_config():
    """The stored runs keep their keys: each record's config is rebuilt exactly (the same
    rebuild ``trained_model`` makes) and is keyed by its file name."""
    from dataclasses import replace

    root = repo_root() / "results" / "train"
    paths = sorted(root.glob("*/*.json"))
    if not paths:
        pytest.skip("no stored training records in this checkout")
    store, checked = ResultsStore(repo_root() / "results"), 0
    for path in paths:
        cfg = json.loads(path.read_text())["config"]
        if cfg.get("record_version") != RECORD_VERSION:
            continue
        base = get_profile(cfg["profile"])
        prof = replace(
            base,
            max_train_rows=cfg["max_train_rows"],
            max_eval_rows=cfg["max_eval_rows"],
            d_model=cfg["d_model"] or base.d_model,
        )
        if cfg["model"] in PEERS:
            epochs = cfg["train"].get("epochs_requested", cfg["train"].get("epochs"))
        else:
            prof = replace(
                prof, recipe=cfg["train"]["recipe"], conventions=run_conventions(cfg).name
            )
            epochs = cfg["train"]["epochs"]
            assert cfg["train"]["device"] == "cpu" and "autocast" not in cfg["train"]
        rebuilt = run_config(
            cfg["model"], cfg["dataset"], profile=prof, fold=cfg["fold"], seed=cfg["seed"],
            epochs=epochs,
        )  # fmt: skip
        assert rebuilt == cfg, path
        assert store.key_for(rebuilt) == path.stem
        checked += 1
    assert checked > 0


def test_a_gpu_or_bf16_run_is_its_own_record(tmp_path, fake_gpu):
    store = ResultsStore(tmp_path)
    prof = get_profile("smoke")
    cpu = run_config("LSTM", "aflow__Egap", profile=prof)
    gpu = run_config("LSTM", "aflow__Egap", profile=prof, device="auto")
    bf16 = run_config("LSTM", "aflow__Egap", profile=prof, autocast=True)
    assert gpu["train"] == {**cpu["train"], "device": "cuda"}
    assert bf16["train"] == {**cpu["train"], "autocast": True}
    assert len({store.key_for(c) for c in (cpu, gpu, bf16)}) == 3
    assert TrainConfig(**bf16["train"]).autocast is True  # the record rebuilds its settings


def test_torch_peers_take_the_device_only_off_the_cpu(tmp_path):
    prof = get_profile("smoke")
    for peer in PEERS:
        cpu = run_config(peer, "aflow__Egap", profile=prof)
        gpu = run_config(peer, "aflow__Egap", profile=prof, device="cuda")
        assert "device" not in cpu["train"]  # as the stored peer runs
        if peer == "RF-Magpie":  # scikit-learn: the same run on any device
            assert gpu == cpu
        else:
            assert gpu["train"] == {**cpu["train"], "device": "cuda"}


def test_crabnet_is_built_on_the_settings_device(monkeypatch):
    """CrabNet gets ``compute_device`` from its settings, inside the CUDA repeatability
    settings, which are restored when it stops (here: at construction)."""
    from matfusion.baselines import crabnet

    seen = {}

    class Built(Exception):
        pass

    def fake(progress=False, total_epochs=None):
        def build(**kwargs):
            seen["device"] = kwargs["compute_device"]
            seen["deterministic"] = torch.are_deterministic_algorithms_enabled()
            raise Built

        return build

    monkeypatch.setattr(crabnet, "make_tracked_crabnet", fake)
    frame = pd.DataFrame({"formula": ["NaCl", "MgO", "Fe2O3"], "target": [1.0, 2.0, 3.0]})
    settings = crabnet.crabnet_settings(get_profile("smoke"), seed=0)
    with pytest.raises(Built):
        crabnet.fit_predict(frame, frame, frame, {**settings, "device": "cuda"}, False)
    assert seen == {"device": torch.device("cuda"), "deterministic": True}
    assert not torch.are_deterministic_algorithms_enabled()
    with pytest.raises(Built):
        crabnet.fit_predict(frame, frame, frame, settings, False)
    assert seen["device"] == torch.device("cpu")


# --------------------------------------------------------------------- repeatability settings


def test_deterministic_mode_on_cuda_sets_and_restores(fake_gpu):
    cudnn = torch.backends.cudnn
    before = (cudnn.deterministic, cudnn.benchmark, torch.are_deterministic_algorithms_enabled())
    with deterministic_mode("cuda") as info:
        assert cudnn.deterministic and not cudnn.benchmark
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.is_deterministic_algorithms_warn_only_enabled()
        assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    assert info["cublas_workspace_config"] == ":4096:8" and info["cublas_workspace_in_force"]
    assert info["deterministic_algorithms"] == "warn_only"
    assert (
        cudnn.deterministic,
        cudnn.benchmark,
        torch.are_deterministic_algorithms_enabled(),
    ) == before


def test_deterministic_mode_on_the_cpu_changes_nothing(monkeypatch):
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    benchmark = torch.backends.cudnn.benchmark
    with deterministic_mode("cpu") as info:
        assert not torch.are_deterministic_algorithms_enabled()
        assert torch.backends.cudnn.benchmark == benchmark
    assert info == {"device": "cpu", "deterministic_algorithms": False}
    assert "CUBLAS_WORKSPACE_CONFIG" not in os.environ


# ---------------------------------------------------------------------------------- provenance


def test_provenance_names_the_device_and_the_slurm_job(monkeypatch):
    for var in ("SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID"):
        monkeypatch.delenv(var, raising=False)
    hardware = provenance.collect(device="cpu")["hardware"]
    assert hardware["device"] == "cpu" and hardware["slurm"] is None
    assert provenance.collect()["hardware"]["device"] == "cpu"  # CUDA never started here
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    assert provenance.collect()["hardware"]["slurm"] == {"job_id": "4242"}
    monkeypatch.setenv("SLURM_ARRAY_JOB_ID", "4240")
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "2")
    assert provenance.slurm_job() == {
        "job_id": "4242",
        "array_job_id": "4240",
        "array_task_id": "2",
    }


# ------------------------------------------------------------------------------ command line


def _one_error_line(capsys, command: str) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith(f"matfusion {command}: error:")
    return err


def test_cli_cuda_without_a_gpu_is_one_line_and_exit_2(store_dir, capsys, no_gpu):
    assert main(["train", "--model", "LSTM", *TINY, "--device", "cuda"]) == 2
    assert "no CUDA GPU" in _one_error_line(capsys, "train")
    grid = ["grid", "--models", "LSTM", "--datasets", "matbench_steels", "--folds", "0"]
    assert main([*grid, "--profile", "smoke", "--device", "cuda", "--quiet"]) == 2
    assert "no CUDA GPU" in _one_error_line(capsys, "grid")
    assert main([*grid, "--profile", "smoke", "--device", "auto", "--executor", "slurm"]) == 2
    assert "name the tasks' device" in _one_error_line(capsys, "grid")
    assert not store_dir.exists() or not list(store_dir.rglob("*.json"))


def test_cli_auto_and_bf16_on_the_cpu(store_dir, capsys, no_gpu):
    """``--device auto`` here is the CPU run; ``--bf16`` is its own record, which says so;
    a GPU listing finds neither (a CPU run never answers for a GPU one)."""
    assert main(["train", "--model", "LSTM", *TINY, "--epochs", "1", "--device", "auto"]) == 0
    assert main(["train", "--model", "LSTM", *TINY, "--epochs", "1", "--bf16"]) == 0
    records = [json.loads(p.read_text()) for p in sorted(store_dir.glob("train/smoke/*.json"))]
    assert len(records) == 2
    by_flag = {"autocast" in r["config"]["train"]: r for r in records}
    plain, bf16 = by_flag[False], by_flag[True]
    assert plain["config"]["train"]["device"] == bf16["config"]["train"]["device"] == "cpu"
    assert bf16["config"]["train"]["autocast"] is True
    assert bf16["train_settings"]["autocast"] == "bfloat16"
    assert plain["train_settings"]["autocast"] is None
    assert plain["provenance"]["hardware"]["device"] == "cpu"
    assert "slurm" in plain["provenance"]["hardware"]  # where it ran: provenance, not config
    assert not {"gpu", "slurm"} & set(plain["config"]["train"])
    assert plain["train_settings"]["determinism"] == {
        "device": "cpu",
        "deterministic_algorithms": False,
    }
    capsys.readouterr()
    grid = ["grid", "--models", "LSTM", "--datasets", "matbench_steels", "--folds", "0"]
    grid += ["--profile", "smoke", "--epochs", "1", "--dry-run"]
    assert main([*grid, "--device", "auto"]) == 0
    assert "1 stored, 0 to train" in capsys.readouterr().out
    assert main([*grid, "--device", "cuda"]) == 0  # a listing needs no GPU
    assert "0 stored, 1 to train" in capsys.readouterr().out


# ----------------------------------------------------------------------------- the GPU script


def _gpu_script():
    """``scripts/gpu_paper_runs.py`` as a module (registered: it defines a dataclass)."""
    if "gpu_paper_runs" in sys.modules:
        return sys.modules["gpu_paper_runs"]
    path = repo_root() / "scripts" / "gpu_paper_runs.py"
    spec = importlib.util.spec_from_file_location("gpu_paper_runs", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules["gpu_paper_runs"] = module
    spec.loader.exec_module(module)
    return module


def test_gpu_script_without_cuda_says_so_and_exits_2(no_gpu, capsys):
    assert _gpu_script().main(["--budget-minutes", "5"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no CUDA GPU" in err and "nothing run" in err


def test_gpu_script_order_figure3_then_figure4():
    cells = _gpu_script().priority_cells()
    assert cells[:4] == [
        (m, "OQMD_Formation_Enthalpy") for m in ("LSTM", "DCNN-K1", "LDCNN", "L-G-DCNN")
    ]
    rest = cells[4:]
    assert {m for m, _ in rest} == {"L-G-DCNN", "L-G-DCNN-V1"}
    assert len({d for _, d in rest}) == 18 and len(cells) == len(set(cells)) == 4 + 36 - 1


def test_gpu_script_starts_only_cells_that_fit(tmp_path):
    """A cell whose estimate exceeds what is left is skipped, a later cheaper one still
    runs, a stored one costs nothing, and a slow cell raises the overhead used after it."""
    gpu = _gpu_script()
    cells = [
        gpu.PlannedCell("A", "d1", n_train=100, batch_size=10, epochs=10),  # 1000 samples
        gpu.PlannedCell("B", "d2", n_train=1000, batch_size=10, epochs=10),  # 10000
        gpu.PlannedCell("C", "d3", n_train=100, batch_size=10, epochs=10),  # stored
        gpu.PlannedCell("D", "d4", n_train=100, batch_size=10, epochs=10),  # 1000
    ]
    now = [0.0]
    trained = []

    def train(cell):
        trained.append(cell.model)
        now[0] += 30.0 if cell.model == "A" else 5.0  # A: 30 s for 10 s of pure training
        return {"epochs_run": 10, "train_samples_per_s": 100.0, "metrics": {"test_mae": 0.1}}

    rows = gpu.run_cells(
        cells,
        budget_s=100.0,
        stored=lambda c: {"train_samples_per_s": 1.0} if c.model == "C" else None,
        speed=lambda c: 100.0,
        train=train,
        clock=lambda: now[0],
        log=lambda line: None,
    )
    assert [r["status"] for r in rows] == ["trained", "skipped", "stored", "trained"]
    assert trained == ["A", "D"]
    assert rows[0]["estimate_s"] == pytest.approx(10.0 * gpu.START_OVERHEAD)
    assert rows[3]["estimate_s"] == pytest.approx(10.0 * 3.0)  # overhead grew to 30 / 10
    assert not gpu.fits(float("inf"), 1e9) and gpu.fits(5.0, 5.0)


def test_gpu_script_speed_probe_runs_the_paper_step():
    """The probe that prices a cell (on the CPU here, tiny): a positive samples/s."""
    sps = _gpu_script().measure_samples_per_s(
        "LSTM", "aflow__ael_bulk_modulus_vrh", batch_size=16, d_model=8, steps=2, device="cpu"
    )
    assert sps > 0


def test_gpu_script_plan_uses_the_paper_recipe_sizes():
    gpu = _gpu_script()
    (cell,) = gpu.plan([("L-G-DCNN", "aflow__ael_bulk_modulus_vrh")])
    assert (cell.n_train, cell.batch_size, cell.epochs) == (3428, 256, 714)
    assert cell.samples == 714 * 3428
