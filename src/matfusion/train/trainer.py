"""Fit and predict for composition models (``forward(elements, fractions) -> (B, 2)``).

The whole encoded set lives on the device as two tensors; each epoch shuffles indices with a
seeded generator, slices batches and trims each batch to its longest row (row lengths are
computed once). With ``TrainConfig.bucket`` the shuffle keeps rows of similar length together
(:func:`epoch_batches`), so batches carry almost no padding. Validation runs every epoch under
``torch.inference_mode`` on length-sorted batches, so padding is nearly free. Nothing loops
over elements in Python.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import random
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import nn
from torch.optim.swa_utils import AveragedModel
from tqdm.auto import tqdm

from .device import deterministic_mode
from .loss import robust_l1
from .recipes import get_recipe

__all__ = [
    "BUCKET_BATCHES",
    "EncodedLike",
    "FitResult",
    "TargetScaler",
    "TrainConfig",
    "configure_threads",
    "epoch_batches",
    "fit",
    "predict",
    "set_seed",
]


class EncodedLike(Protocol):
    """What the trainer needs of ``matfusion.featurize.EncodedCompositions``."""

    elements: np.ndarray  # int64 (N, L), 0 = padding
    fractions: np.ndarray  # float32 (N, L), 0 at padding


@dataclass(frozen=True)
class TargetScaler:
    """Standardisation fitted on the training targets (models learn ``(y - mean) / std``)."""

    mean: float
    std: float

    @classmethod
    def fit(cls, y: ArrayLike) -> TargetScaler:
        """A constant target gets ``std = 1`` so that scaling stays finite."""
        arr = np.asarray(y, dtype=np.float64)
        std = float(arr.std())
        return cls(float(arr.mean()), std if std > 1e-12 else 1.0)

    def transform(self, y: ArrayLike) -> np.ndarray:
        return (np.asarray(y, dtype=np.float64) - self.mean) / self.std

    def inverse(self, z: ArrayLike) -> np.ndarray:
        return np.asarray(z, dtype=np.float64) * self.std + self.mean

    def to_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "std": self.std}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TargetScaler:
        return cls(float(d["mean"]), float(d["std"]))


@dataclass
class TrainConfig:
    """How to train; ``None`` means "the recipe's default" (resolved values land in
    ``FitResult.settings``). For ``crabnet``, ``lr`` is the top of the learning-rate cycle
    (the bottom keeps the paper's 1:60 ratio); ``patience`` enables early stopping for any
    recipe.

    ``device`` is ``cpu`` or ``cuda`` (resolve ``auto`` with
    :func:`matfusion.train.device.resolve_device` first: the config keys a stored run).
    ``autocast`` trains forward and loss under bfloat16 autocast; ``bucket`` batches rows of
    similar length together (:func:`epoch_batches`). Both came after runs were stored, so
    :meth:`to_dict` leaves them out while they are off: a run that does not use them keeps
    its key, and its meaning."""

    recipe: str = "crabnet"
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    weight_decay: float | None = None
    patience: int | None = None
    seed: int = 0
    jitter: float = 0.02
    num_threads: int | None = None
    device: str = "cpu"
    autocast: bool = False
    bucket: bool = False

    #: Off-by-default fields that :meth:`to_dict` omits while False (see the class docstring).
    OPTIONAL_FLAGS = ("autocast", "bucket")

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "patience"):
            value = getattr(self, name)
            if value is not None and int(value) < 1:
                raise ValueError(f"TrainConfig.{name} must be >= 1 or None, got {value}")
        for name in ("lr",):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"TrainConfig.{name} must be > 0 or None, got {value}")
        if self.weight_decay is not None and self.weight_decay < 0:
            raise ValueError(f"TrainConfig.weight_decay must be >= 0, got {self.weight_decay}")
        if self.jitter < 0:
            raise ValueError(f"TrainConfig.jitter must be >= 0, got {self.jitter}")
        if str(self.device).lower() == "auto":
            raise ValueError(
                "TrainConfig.device 'auto' must be resolved to cpu or cuda before a run is "
                "configured (matfusion.train.device.resolve_device)"
            )
        try:
            torch.device(self.device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(f"TrainConfig.device: not a torch device: {self.device!r}") from exc
        for name in self.OPTIONAL_FLAGS:
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"TrainConfig.{name} must be True or False")

    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict, without the optional flags that are off."""
        out = dataclasses.asdict(self)
        for name in self.OPTIONAL_FLAGS:
            if not out[name]:
                del out[name]
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an error (typos do not pass silently)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise TypeError(f"unknown TrainConfig field(s): {unknown}")
        return cls(**d)


@dataclass
class FitResult:
    """The trained model (best weights loaded, eval mode) and what happened on the way."""

    model: nn.Module
    scaler: TargetScaler
    history: list[dict[str, Any]]
    best_epoch: int
    best_val_mae: float
    wall_time_s: float
    samples_per_s: float
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (everything but the model)."""
        return {
            "scaler": self.scaler.to_dict(),
            "history": self.history,
            "best_epoch": self.best_epoch,
            "best_val_mae": self.best_val_mae,
            "wall_time_s": self.wall_time_s,
            "samples_per_s": self.samples_per_s,
            "settings": self.settings,
        }


def set_seed(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA) so runs repeat."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def usable_cores() -> int:
    """Cores this process may run on (respects taskset/cgroup affinity, unlike cpu_count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def configure_threads(n: int | None = None) -> int:
    """Set torch's intra-op threads to ``n`` (default: ``$MATFUSION_NUM_THREADS``, else the
    usable cores) and inter-op to 1.

    Oversubscription (torch's default can exceed the affinity mask) makes small-batch
    training slower, not faster; the environment variable lets two runs share a machine.
    Returns the thread count in force.
    """
    if n is None:
        n = int(os.environ.get("MATFUSION_NUM_THREADS", 0)) or usable_cores()
    n = int(n)
    if n < 1:
        raise ValueError(f"num_threads must be >= 1, got {n}")
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    try:
        if torch.get_num_interop_threads() != 1:
            torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # only settable before the first inter-op work; keep what is there
    return torch.get_num_threads()


# ----------------------------------------------------------------------------- data handling


@dataclass
class _Packed:
    """An encoded set as device tensors plus per-row lengths (on the CPU, for slicing)."""

    elements: torch.Tensor
    fractions: torch.Tensor
    lengths: torch.Tensor  # int64 (N,) on CPU: index of the last real element + 1

    def __len__(self) -> int:
        return int(self.elements.shape[0])


def _pack(
    encoded: EncodedLike, device: torch.device, what: str, allow_empty: bool = False
) -> _Packed:
    try:
        el_np, fr_np = np.asarray(encoded.elements), np.asarray(encoded.fractions)
    except AttributeError as exc:
        raise TypeError(f"{what}: expected an EncodedCompositions (elements, fractions)") from exc
    if el_np.ndim != 2 or el_np.shape != fr_np.shape:
        raise ValueError(
            f"{what}: elements and fractions must be 2-D of one shape, "
            f"got {el_np.shape} and {fr_np.shape}"
        )
    if el_np.shape[0] == 0:
        if allow_empty:
            empty = torch.zeros(el_np.shape, dtype=torch.long)
            return _Packed(empty.to(device), empty.float().to(device), empty[:, 0])
        raise ValueError(f"{what} set is empty")
    if not np.isfinite(fr_np).all():
        raise ValueError(f"{what}: fractions contain NaN or inf")
    elements = torch.as_tensor(el_np, dtype=torch.long)
    fractions = torch.as_tensor(fr_np, dtype=torch.float32)
    if elements.shape[1] == 0:
        raise ValueError(f"{what}: compositions have no elements (width 0)")
    positions = torch.arange(1, elements.shape[1] + 1, dtype=torch.long)
    lengths = ((elements != 0).long() * positions).amax(1)
    empty = (lengths == 0).nonzero().flatten()
    if len(empty):
        raise ValueError(f"{what}: row {int(empty[0])} has no elements (all padding)")
    return _Packed(elements.to(device), fractions.to(device), lengths)


def _check_targets(y: ArrayLike, n: int, what: str) -> np.ndarray:
    arr = np.asarray(y, dtype=np.float64).reshape(-1)
    if arr.shape[0] != n:
        raise ValueError(f"{what}: {n} compositions but {arr.shape[0]} targets")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(
            f"{what} targets contain {int(bad.sum())} NaN/inf value(s), "
            f"first at row {int(np.flatnonzero(bad)[0])}"
        )
    return arr


def _model_device(model: nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def _forward_all(model: nn.Module, data: _Packed, batch_size: int) -> torch.Tensor:
    """Model output (N, 2) for a whole set, in length-sorted trimmed batches, eval mode."""
    was_training = model.training
    model.eval()
    order_cpu = torch.argsort(data.lengths, stable=True)
    sorted_lengths = data.lengths[order_cpu].tolist()
    order = order_cpu.to(data.elements.device)
    n = len(data)
    out = torch.empty(n, 2, device=data.elements.device)
    with torch.inference_mode():
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            width = sorted_lengths[stop - 1]
            idx = order[start:stop]
            out[idx] = model(data.elements[idx, :width], data.fractions[idx, :width]).float()
    model.train(was_training)
    return out


def _val_mae(
    model: nn.Module, data: _Packed, y: torch.Tensor, scaler: TargetScaler, batch_size: int
) -> float:
    pred = _forward_all(model, data, batch_size)[:, 0].double() * scaler.std + scaler.mean
    return float((pred - y).abs().mean())


def _clone_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


#: Length bucketing sorts each run of ``BUCKET_BATCHES * batch_size`` shuffled rows by length.
BUCKET_BATCHES = 50


def epoch_batches(
    lengths: torch.Tensor, batch_size: int, generator: torch.Generator, bucket: bool = False
) -> tuple[torch.Tensor, list[tuple[int, int, int]]]:
    """One epoch's row order and its batches as ``(start, stop, width)`` slices of it, where
    ``width`` is the batch's longest row (the batch is trimmed to it).

    Plain: a random permutation cut into consecutive batches. Bucketed: the permutation is
    cut into chunks of :data:`BUCKET_BATCHES` batches, each chunk is sorted by length (stable,
    so equal lengths stay in random order), batches are cut from that and their order is
    shuffled. Batches then hold rows of one or two lengths and are trimmed to little more
    than their own rows, while which rows meet and the order of batches stay random. The
    plain path draws exactly what the trainer drew before bucketing existed."""
    n = int(lengths.shape[0])
    steps = math.ceil(n / batch_size)
    perm = torch.randperm(n, generator=generator)
    if bucket:
        chunk = BUCKET_BATCHES * batch_size
        perm = torch.cat(
            [part[torch.argsort(lengths[part], stable=True)] for part in perm.split(chunk)]
        )
    padded = steps * batch_size - n
    widths = torch.nn.functional.pad(lengths[perm], (0, padded))
    widths = widths.view(steps, batch_size).amax(1).tolist()
    sizes = [batch_size] * (steps - 1) + [n - (steps - 1) * batch_size]
    if bucket:
        order = torch.randperm(steps, generator=generator).tolist()
        pieces = perm.split(batch_size)
        perm = torch.cat([pieces[i] for i in order])
        widths = [widths[i] for i in order]
        sizes = [sizes[i] for i in order]
    spans, start = [], 0
    for size, width in zip(sizes, widths, strict=True):
        spans.append((start, start + size, int(width)))
        start += size
    return perm, spans


# ----------------------------------------------------------------------------- public API


def fit(
    model: nn.Module,
    train: EncodedLike,
    y_train: ArrayLike,
    val: EncodedLike,
    y_val: ArrayLike,
    config: TrainConfig | None = None,
    progress: bool = True,
    eval_batch_size: int = 4096,
) -> FitResult:
    """Train ``model`` in place with the recipe named by ``config.recipe``.

    Targets are standardised on the training set; validation MAE (target units) is measured
    every epoch and the best weights (a plain epoch or, for ``crabnet``, a weight average) are
    loaded into the model before returning. Inputs are checked before any training: empty sets
    and NaN/inf targets raise ``ValueError``. On CUDA the run uses PyTorch's deterministic
    settings (:func:`matfusion.train.device.deterministic_mode`); the settings record them.
    With ``config.autocast`` the training forward pass and loss run under bfloat16 autocast
    (validation and :func:`predict` stay in float32, so the MAE that picks the best epoch is
    exact).
    """
    config = config or TrainConfig()
    with deterministic_mode(config.device) as determinism:
        result = _fit(model, train, y_train, val, y_val, config, progress, eval_batch_size)
    result.settings["determinism"] = determinism
    return result


def _fit(
    model: nn.Module,
    train: EncodedLike,
    y_train: ArrayLike,
    val: EncodedLike,
    y_val: ArrayLike,
    config: TrainConfig,
    progress: bool,
    eval_batch_size: int,
) -> FitResult:
    """:func:`fit` under its device settings."""
    from matfusion.featurize import jitter_fractions  # lazy: featurize pulls in pymatgen

    recipe = get_recipe(config.recipe)
    device = torch.device(config.device)
    tr = _pack(train, device, "train")
    va = _pack(val, device, "validation")
    y_tr_np = _check_targets(y_train, len(tr), "train")
    y_va_np = _check_targets(y_val, len(va), "validation")

    threads = configure_threads(config.num_threads)
    set_seed(config.seed)
    scaler = TargetScaler.fit(y_tr_np)
    n = len(tr)
    batch_size = int(config.batch_size or recipe.batch_size(n))
    steps_per_epoch = math.ceil(n / batch_size)
    epochs = int(config.epochs or recipe.epochs(n, batch_size))
    lr = float(config.lr if config.lr is not None else recipe.default_lr)
    wd = float(
        config.weight_decay if config.weight_decay is not None else recipe.default_weight_decay
    )
    patience = config.patience if config.patience is not None else recipe.default_patience

    model.to(device)
    optimizer = recipe.optimizer(model.parameters(), lr=lr, weight_decay=wd)
    scheduler = recipe.scheduler(optimizer, steps_per_epoch=steps_per_epoch, epochs=epochs, lr=lr)
    y_tr = torch.as_tensor(scaler.transform(y_tr_np), dtype=torch.float32, device=device)
    y_va = torch.as_tensor(y_va_np, dtype=torch.float64, device=device)
    shuffle_gen = torch.Generator().manual_seed(config.seed)
    jitter_gen = torch.Generator(device=device).manual_seed(config.seed + 1)

    def autocast() -> contextlib.AbstractContextManager[Any]:
        if not config.autocast:
            return contextlib.nullcontext()
        return torch.autocast(device.type, dtype=torch.bfloat16)

    history: list[dict[str, Any]] = []
    best_mae, best_epoch, best_source = math.inf, 0, "epoch"
    best_state: dict[str, torch.Tensor] | None = None
    since_best = 0
    swa_model: AveragedModel | None = None
    train_seconds, samples_seen = 0.0, 0
    cells_seen, real_per_epoch = 0, int(tr.lengths.sum())
    stopped_early = diverged = False
    t_start = time.perf_counter()

    bar = tqdm(range(1, epochs + 1), disable=not progress, desc=f"fit[{recipe.name}]", unit="epoch")
    for epoch in bar:
        t0 = time.perf_counter()
        model.train()
        perm, spans = epoch_batches(tr.lengths, batch_size, shuffle_gen, config.bucket)
        perm = perm.to(device)
        cells_seen += sum(width * (stop - start) for start, stop, width in spans)
        total = torch.zeros((), device=device)
        for start, stop, width in spans:
            idx = perm[start:stop]
            el = tr.elements[idx, :width]
            fr = tr.fractions[idx, :width]
            if config.jitter > 0:
                fr = jitter_fractions(fr, config.jitter, jitter_gen)
            with autocast():
                loss = robust_l1(model(el, fr).float(), y_tr[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if recipe.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.grad_clip)
            optimizer.step()
            scheduler.step()
            total += loss.detach() * idx.numel()
        train_loss = float(total) / n
        t1 = time.perf_counter()
        train_seconds += t1 - t0
        samples_seen += n

        val_mae = _val_mae(model, va, y_va, scaler, eval_batch_size)
        recipe.epoch_end(scheduler, val_mae)
        if val_mae < best_mae:
            best_mae, best_epoch, best_source = val_mae, epoch, "epoch"
            best_state = _clone_state(model)
            since_best = 0
        else:
            since_best += 1

        swa_mae: float | None = None
        swa_now = recipe.swa_due(epoch)
        if swa_now:
            if swa_model is None:
                swa_model = AveragedModel(model, use_buffers=True)
            swa_model.update_parameters(model)
            swa_mae = _val_mae(swa_model.module, va, y_va, scaler, eval_batch_size)
            if swa_mae < best_mae:  # keep an average only when it is the best so far
                best_mae, best_epoch, best_source = swa_mae, epoch, "swa"
                best_state = _clone_state(swa_model.module)
                since_best = 0

        history.append(
            {
                "epoch": epoch,
                "train_loss": train_loss,
                "val_mae": val_mae,
                "lr": float(optimizer.param_groups[0]["lr"]),
                "seconds": time.perf_counter() - t0,
                "swa": swa_now,
                "swa_val_mae": swa_mae,
            }
        )
        bar.set_postfix(loss=f"{train_loss:.4g}", val_mae=f"{val_mae:.4g}", best=f"{best_mae:.4g}")

        if not math.isfinite(train_loss):
            diverged = True
            warnings.warn(
                f"training loss is not finite at epoch {epoch}; stopping and keeping the best "
                f"weights (epoch {best_epoch})",
                RuntimeWarning,
                stacklevel=2,
            )
            break
        if patience is not None and since_best >= patience:
            stopped_early = True
            break
    bar.close()

    if best_state is None:
        raise FloatingPointError("training diverged before any finite validation MAE")
    model.load_state_dict(best_state)
    model.eval()
    wall = time.perf_counter() - t_start
    # share of the element slots in training batches that were padding (bucketing's saving)
    padding_share = 1.0 - real_per_epoch * len(history) / cells_seen if cells_seen else 0.0
    settings = {
        "recipe": recipe.name,
        "batch_size": batch_size,
        "steps_per_epoch": steps_per_epoch,
        "epochs": epochs,
        "epochs_run": len(history),
        "lr": lr,
        "weight_decay": wd,
        "grad_clip": recipe.grad_clip,
        "patience": patience,
        "jitter": config.jitter,
        "seed": config.seed,
        "device": str(device),
        "autocast": "bfloat16" if config.autocast else None,
        "bucket": config.bucket,
        "padding_share": padding_share,
        "num_threads": threads,
        "n_train": n,
        "n_val": len(va),
        "best_source": best_source,
        "stopped_early": stopped_early,
        "diverged": diverged,
        "train_seconds": train_seconds,
    }
    return FitResult(
        model=model,
        scaler=scaler,
        history=history,
        best_epoch=best_epoch,
        best_val_mae=best_mae,
        wall_time_s=wall,
        samples_per_s=samples_seen / train_seconds if train_seconds > 0 else float("nan"),
        settings=settings,
    )


def predict(
    model: nn.Module, scaler: TargetScaler, encoded: EncodedLike, batch_size: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Predictions and uncertainties in target units: ``(mean, std)``, ``std = exp(s) * scaler.std``.

    Runs under ``torch.inference_mode`` on the model's device, in length-sorted batches.
    """
    data = _pack(encoded, _model_device(model), "predict", allow_empty=True)
    out = _forward_all(model, data, batch_size).double().cpu().numpy()
    mean = out[:, 0] * scaler.std + scaler.mean
    std = np.exp(out[:, 1]) * scaler.std
    return mean, std
