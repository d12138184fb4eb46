"""The Roost peer: Goodall & Lee's Roost (Nat. Commun. 2020) from ``aviary-models==1.2.1``.

The model, its featurisation and its loss are aviary's, used as the package ships them:
``aviary.roost.model.Roost`` (message passing over the dense weighted graph of a
composition's elements, then weighted attention pooling and a residual output network),
``aviary.roost.data.CompositionData`` + ``collate_batch`` (pymatgen ``Composition`` ->
fractional weights, atomic numbers and all element pairs), the ``matscholar200`` element
embedding that ships inside the package (no download), aviary's ``Normalizer`` on the
targets, its ``robust_l1_loss`` (the robust head predicts a mean and a log standard deviation
per row; the L1 loss is attenuated by that aleatoric std, as in the paper) and its own training
step, ``BaseModelClass.evaluate(..., action="train")``. Hidden sizes, optimiser (AdamW, lr
3e-4, weight decay 1e-6), batch size 128 and the constant learning rate are aviary's defaults
(its ``roost-example.py`` and ``initialize_optim``).

What this adapter adds, without patching the package:

* aviary's ``fit`` is not used: it saves a checkpoint per epoch under the installed package's
  parent directory unless told not to, keeps the *last* epoch's weights, and swallows
  ``KeyboardInterrupt``. Here each epoch is one call of aviary's training step, the
  validation MAE is computed exactly (aviary averages per batch) and the weights of the epoch
  with the lowest validation MAE are restored before predicting;
* ``WANDB_MODE=disabled`` is set (unless already set) before importing aviary, which imports
  ``wandb`` at module level; nothing is logged and nothing goes over the network;
* formulas are checked before training: pymatgen parses an unknown symbol such as ``Qq`` as a
  dummy species whose "atomic number" would index outside (or silently into) the embedding
  table, so any element missing from ``matscholar200`` (H-Lr) is a ``ValueError`` naming the
  formula;
* every row is featurised once up front (aviary caches ``CompositionData.__getitem__``), so
  the epoch timings are of training, not of pymatgen parsing;
* the model is built on the settings' ``device`` explicitly, the CPU unless a GPU run sets
  ``cuda`` (aviary would pick CUDA whenever it sees one), and the shuffling uses a seeded
  ``torch.Generator``, so a seed repeats a run on one machine.

Predictions are ``normalizer.denorm(mean)`` and the std ``exp(log_std) * normalizer.std``,
as aviary's own ``results_multitask`` reports them.
"""

from __future__ import annotations

import copy
import math
import os
import time
import warnings
from functools import cache
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from matfusion.profiles import Profile

from .result import PeerResult

__all__ = [
    "AVIARY_VERSION",
    "DEFAULT_WIDTH",
    "SMOKE_WIDTH",
    "check_formulas",
    "fit_predict",
    "import_aviary",
    "roost_settings",
]

#: The aviary-models release this adapter is written against (pinned in pyproject.toml).
AVIARY_VERSION = "1.2.1"
#: Epochs when the profile sets none (``paper``): aviary's ``roost-example.py`` default.
DEFAULT_EPOCHS = 100
#: aviary's default Roost hidden sizes (``Roost.__init__`` and ``roost-example.py``).
DEFAULT_WIDTH: dict[str, Any] = {
    "elem_fea_len": 64,
    "n_graph": 3,
    "elem_heads": 3,
    "elem_gate": [256],
    "elem_msg": [256],
    "cry_heads": 3,
    "cry_gate": [256],
    "cry_msg": [256],
    "trunk_hidden": [1024, 512],
    "out_hidden": [256, 128, 64],
}
#: Under ``smoke``: the same architecture, narrower (a test trains in seconds).
SMOKE_WIDTH: dict[str, Any] = {
    "elem_fea_len": 32,
    "n_graph": 3,
    "elem_heads": 3,
    "elem_gate": [64],
    "elem_msg": [64],
    "cry_heads": 3,
    "cry_gate": [64],
    "cry_msg": [64],
    "trunk_hidden": [128, 64],
    "out_hidden": [64, 32],
}
_TARGET = "target"


def import_aviary() -> SimpleNamespace:
    """aviary's Roost pieces, or a ``RuntimeError`` saying how to install the pinned release."""
    import importlib.metadata

    os.environ.setdefault("WANDB_MODE", "disabled")
    try:
        version = importlib.metadata.version("aviary-models")
    except importlib.metadata.PackageNotFoundError:
        version = None
    if version != AVIARY_VERSION:
        found = f"version {version} is installed" if version else "it is not installed"
        raise RuntimeError(
            f"the Roost peer needs aviary-models=={AVIARY_VERSION} ({found}); run "
            f"`bash scripts/setup.sh` or `.venv/bin/pip install aviary-models=={AVIARY_VERSION}`"
        )
    from aviary import PKG_DIR
    from aviary.data import Normalizer
    from aviary.losses import robust_l1_loss
    from aviary.roost.data import CompositionData, collate_batch
    from aviary.roost.model import Roost

    return SimpleNamespace(
        Roost=Roost,
        CompositionData=CompositionData,
        collate_batch=collate_batch,
        Normalizer=Normalizer,
        robust_l1_loss=robust_l1_loss,
        embedding_dir=os.path.join(PKG_DIR, "embeddings", "element"),
    )


def roost_settings(profile: Profile, *, seed: int, epochs: int | None = None) -> dict[str, Any]:
    """Roost's settings under a profile.

    Epochs: the profile's budget (or ``epochs``); ``None`` (``paper``) means aviary's example
    default of 100. The weights kept are those of the epoch with the lowest validation MAE.
    Width: aviary's defaults (:data:`DEFAULT_WIDTH`), narrower under ``smoke``
    (:data:`SMOKE_WIDTH`). Optimiser, learning rate, weight decay and batch size are aviary's
    defaults: AdamW, 3e-4, 1e-6, 128, with a constant learning rate.
    """
    requested = epochs if epochs is not None else profile.epochs
    if requested is not None and requested < 1:
        raise ValueError(f"epochs must be >= 1, got {requested}")
    width = SMOKE_WIDTH if profile.name == "smoke" else DEFAULT_WIDTH
    return {
        "peer": "Roost",
        "package": f"aviary-models=={AVIARY_VERSION}",
        "epochs": DEFAULT_EPOCHS if requested is None else int(requested),
        "epochs_requested": requested,
        "batch_size": 128,
        "optimizer": "AdamW",
        "learning_rate": 3e-4,
        "weight_decay": 1e-6,
        "lr_schedule": "constant",
        "loss": "robust_l1",
        "robust": True,
        "elem_embedding": "matscholar200",
        **copy.deepcopy(width),
        "seed": seed,
    }


@cache
def _embedding_symbols(path: str) -> frozenset[str]:
    import json

    with open(path) as fh:
        return frozenset(json.load(fh))


def check_formulas(formulas: list[str], embedding: str = "matscholar200") -> None:
    """Raise ``ValueError`` naming the first formula Roost cannot featurise: one pymatgen
    cannot parse, an empty one, or one with an element missing from the embedding table."""
    from pymatgen.core import Composition

    symbols = _embedding_symbols(os.path.join(import_aviary().embedding_dir, f"{embedding}.json"))
    for formula in dict.fromkeys(formulas):
        try:
            composition = Composition(formula)
        except Exception as err:  # pymatgen raises several types
            raise ValueError(f"Roost cannot featurise {formula!r}: {err}") from err
        if len(composition) == 0 or composition.num_atoms <= 0:
            raise ValueError(f"Roost cannot featurise {formula!r}: empty composition")
        missing = [str(el) for el in composition if getattr(el, "symbol", None) not in symbols]
        if missing:
            raise ValueError(
                f"Roost cannot featurise {formula!r}: {', '.join(missing)} not in the "
                f"{embedding} element embedding"
            )


def _dataset(av: SimpleNamespace, frame: pd.DataFrame):
    """aviary's ``CompositionData`` over ``frame``, every row featurised once (aviary caches
    its items); ``material_id`` is the row position, so predictions can be checked for order."""
    df = pd.DataFrame(
        {
            "material_id": np.arange(len(frame)),
            "composition": frame["formula"].astype(str).to_numpy(),
            _TARGET: frame["target"].to_numpy(dtype=np.float64),
        }
    )
    data = av.CompositionData(df, task_dict={_TARGET: "regression"})
    for i, formula in enumerate(df["composition"]):
        try:
            data[i]
        except Exception as err:
            raise ValueError(f"Roost cannot featurise {formula!r}: {err}") from err
    return data


def _predict(model, loader, normalizer) -> tuple[np.ndarray, np.ndarray]:
    """Means and aleatoric stds in target units, in the loader's (= input) order, on the
    model's device (as aviary's own ``evaluate`` moves each batch)."""
    import torch

    model.eval()
    means, stds, ids = [], [], []
    with torch.inference_mode():
        for inputs, _targets, material_ids, _compositions in loader:
            inputs = [t.to(model.device) if hasattr(t, "to") else t for t in inputs]
            (output,) = model(*inputs)
            mean, log_std = output.unbind(dim=1)
            means.append(normalizer.denorm(mean))
            stds.append(torch.exp(log_std) * normalizer.std)
            ids.extend(material_ids)
    if list(ids) != list(range(len(ids))):
        raise RuntimeError("aviary returned Roost predictions out of input order")
    return (
        torch.cat(means).double().cpu().numpy(),
        torch.cat(stds).double().cpu().numpy(),
    )


def fit_predict(
    train: pd.DataFrame,
    val: pd.DataFrame,
    test: pd.DataFrame,
    settings: dict[str, Any],
    progress: bool = True,
) -> PeerResult:
    """Train Roost on ``train`` for ``settings["epochs"]`` epochs, keep the weights of the
    epoch with the lowest ``val`` MAE, and predict all three splits with the robust head's
    aleatoric std.

    Runs with torch's deterministic algorithms: Roost's attention pooling sums over
    scatter indices, and with two threads on a busy machine the default kernels gave
    last-bit differences between runs with the same seed (about 1 run in 10 here). On CUDA
    they are :func:`matfusion.train.device.deterministic_mode`'s (an operation without a
    deterministic CUDA kernel warns instead of failing)."""
    import torch

    from matfusion.train import deterministic_mode

    device = str(settings.get("device", "cpu"))
    if torch.device(device).type == "cuda":
        with deterministic_mode(device) as determinism:
            result = _fit_predict(train, val, test, settings, progress, device)
        result.settings["determinism"] = determinism
        return result
    previous = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        return _fit_predict(train, val, test, settings, progress, device)
    finally:
        torch.use_deterministic_algorithms(previous)


def _fit_predict(
    train: pd.DataFrame,
    val: pd.DataFrame,
    test: pd.DataFrame,
    settings: dict[str, Any],
    progress: bool,
    device: str = "cpu",
) -> PeerResult:
    import torch
    from torch.utils.data import DataLoader
    from tqdm.auto import tqdm

    from matfusion.train import configure_threads, set_seed

    av = import_aviary()
    threads = configure_threads(None)
    seed = int(settings["seed"])
    frames = {"train": train, "val": val, "test": test}
    if len(train) < 2 or len(val) < 1:
        raise ValueError("Roost needs at least 2 training rows and 1 validation row")
    embedding = settings["elem_embedding"]
    check_formulas(
        [str(f) for frame in frames.values() for f in frame["formula"]], embedding=embedding
    )
    datasets = {name: _dataset(av, frame) for name, frame in frames.items()}

    set_seed(seed)
    width = {key: settings[key] for key in DEFAULT_WIDTH}
    model = av.Roost(
        robust=bool(settings["robust"]),
        n_targets=[1],
        task_dict={_TARGET: "regression"},
        elem_embedding=embedding,
        device=device,
        **width,
    )
    normalizer = av.Normalizer()
    normalizer.fit(torch.tensor(train["target"].to_numpy(dtype=np.float32)))
    if not (torch.isfinite(normalizer.std) and normalizer.std > 0):
        normalizer.std = torch.tensor(1.0)  # constant training targets: centre only
    optimizer = torch.optim.AdamW(
        model.parameters(),
        lr=float(settings["learning_rate"]),
        weight_decay=float(settings["weight_decay"]),
    )
    loss_dict = {_TARGET: ("regression", av.robust_l1_loss)}
    batch_size = int(settings["batch_size"])
    train_loader = DataLoader(
        datasets["train"],
        batch_size=batch_size,
        shuffle=True,
        collate_fn=av.collate_batch,
        generator=torch.Generator().manual_seed(seed),
        num_workers=0,
    )

    def eval_loader(name: str) -> DataLoader:
        return DataLoader(
            datasets[name], batch_size=16 * batch_size, shuffle=False, collate_fn=av.collate_batch
        )

    val_loader = eval_loader("val")
    y_val = val["target"].to_numpy(dtype=np.float64)

    epochs = int(settings["epochs"])
    history: list[dict[str, Any]] = []
    best_mae, best_epoch, best_state = math.inf, None, None
    train_seconds, samples_seen = 0.0, 0
    started = time.perf_counter()
    bar = tqdm(range(1, epochs + 1), desc="Roost", unit="epoch", disable=not progress)
    for epoch in bar:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            # aviary logs float(loss tensor) per batch; torch warns, harmlessly
            warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad")
            metrics = model.evaluate(
                train_loader,
                loss_dict=loss_dict,
                optimizer=optimizer,
                normalizer_dict={_TARGET: normalizer},
                action="train",
            )[_TARGET]
        train_seconds += time.perf_counter() - t0
        samples_seen += len(datasets["train"])
        model.epoch = epoch
        mean, _std = _predict(model, val_loader, normalizer)
        val_mae = float(np.mean(np.abs(mean - y_val)))
        if best_state is None or val_mae < best_mae:  # NaN never beats a finite MAE
            best_mae, best_epoch = val_mae, epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        history.append(
            {
                "epoch": epoch,
                "train_loss": float(metrics["Loss"]),
                "train_mae": float(metrics["MAE"]),
                "val_mae": val_mae,
                "lr": float(optimizer.param_groups[0]["lr"]),
                "seconds": time.perf_counter() - t0,
            }
        )
        bar.set_postfix(val_mae=f"{val_mae:.4g}")
    bar.close()
    wall = time.perf_counter() - started

    assert best_state is not None  # epochs >= 1
    model.load_state_dict(best_state)
    predictions = {}
    t0 = time.perf_counter()
    for name in frames:
        predictions[name] = _predict(model, eval_loader(name), normalizer)
    inference_s = time.perf_counter() - t0
    return PeerResult(
        predictions=predictions,
        history=history,
        best_epoch=best_epoch,
        train_wall_time_s=wall,
        train_samples_per_s=samples_seen / train_seconds if train_seconds > 0 else None,
        n_parameters=int(sum(p.numel() for p in model.parameters())),
        settings={
            **settings,
            "num_threads": threads,
            "device": device,
            "n_train": len(train),
            "best_source": "epoch (weights of the epoch with the lowest validation MAE)",
            "best_val_mae": best_mae,
            "target_mean": float(normalizer.mean),
            "target_std": float(normalizer.std),
            "train_seconds": train_seconds,
        },
        inference_s=inference_s,
    )
