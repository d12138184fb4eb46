"""The CrabNet peer: the ``crabnet==2.0.8`` package driven through its own fit/predict API.

CrabNet is installed from the wheel :mod:`matfusion.data.crabnet_wheel` already verifies
(``pip install --no-deps --ignore-requires-python``, see ``scripts/setup.sh``). It runs
unmodified on torch 2.13 / numpy 2 / pandas 2; what this adapter adds, without patching the
package:

* it runs ``fit`` inside a temporary working directory, because CrabNet always writes
  ``figures/lc_data/<name>_lc.csv`` into the current directory (and weights when ``save``);
* it passes ``n_elements`` = the longest composition over train, val *and* test, because
  CrabNet's default infers it from the training set and silently truncates longer test
  compositions;
* it passes copies of the frames (CrabNet adds a ``count`` column to the frame it is given);
* it gives CrabNet's ``SWA``/``Lookahead`` optimiser wrappers the hook dictionaries torch 2
  expects (:func:`_patch_optimizer_hooks`); without that only the first fit in a process
  works;
* a subclass records the validation MAE and wall time after every epoch (CrabNet itself
  checks in only every 20 epochs), so the book can plot convergence against time;
* epochs are whole learning-rate cycles (``2 * epochs_step``; CrabNet would otherwise round
  them up silently): see :func:`crabnet_settings`; the values are in the run's settings;
* it runs on the CPU unless the settings name another ``device`` (a GPU run of the grid sets
  ``cuda``, under :func:`matfusion.train.device.deterministic_mode`).

The final weights are CrabNet's: the stochastic weight average it swaps in at the end.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from matfusion.profiles import Profile

from .result import PeerResult

__all__ = ["crabnet_efms", "crabnet_settings", "fit_predict", "import_crabnet"]

#: CrabNet's default learning-rate half-cycle, in epochs.
EPOCHS_STEP = 10


def _patch_optimizer_hooks() -> None:
    """Give CrabNet's optimiser wrappers the hook dictionaries torch >= 2 expects.

    ``SWA`` and ``Lookahead`` subclass ``torch.optim.Optimizer`` without calling its
    ``__init__``. The first ``zero_grad`` then wraps the *class's* ``step`` in torch's
    profiling hook, which reads ``self._optimizer_step_pre_hooks``: the first CrabNet fit in a
    process survives (its CyclicLR captured the unwrapped method), every later one raises
    ``AttributeError``. Setting the (empty) dictionaries after ``__init__`` fixes that; the
    package on disk is not modified. Idempotent.
    """
    from collections import OrderedDict

    from crabnet.utils.optim import SWA
    from crabnet.utils.utils import Lookahead

    for cls in (SWA, Lookahead):
        if getattr(cls, "_matfusion_patched", False):
            continue
        original = cls.__init__

        def __init__(self, *args, _original=original, **kwargs):
            _original(self, *args, **kwargs)
            for name in ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks"):
                if name not in self.__dict__:
                    setattr(self, name, OrderedDict())

        cls.__init__ = __init__
        cls._matfusion_patched = True


def import_crabnet():
    """The ``CrabNet`` class (with :func:`_patch_optimizer_hooks` applied), or a
    ``RuntimeError`` saying how to install it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from crabnet.crabnet_ import CrabNet

            _patch_optimizer_hooks()
    except ImportError as err:
        raise RuntimeError(
            "the crabnet package is not installed; run `bash scripts/setup.sh` or "
            "`.venv/bin/pip install --no-deps --ignore-requires-python "
            "crabnet==2.0.8` (its declared requirements are too old to resolve)"
        ) from err
    return CrabNet


def crabnet_settings(profile: Profile, *, seed: int, epochs: int | None = None) -> dict[str, Any]:
    """CrabNet's settings under a profile.

    Epochs: the same budget as our models get (the profile's, or ``epochs``), rounded down
    to an even number (CrabNet needs whole learning-rate cycles). The half-cycle
    (``epochs_step``, CrabNet's default 10) becomes the largest value <= 10 that makes the
    epochs whole cycles, so ``standard``'s 30 epochs run as 3 cycles of 10 with a stochastic
    weight average at the end of each, as CrabNet does with its default 20-epoch cycles
    (``smoke``: 2 epochs, half-cycle 1, the least CrabNet runs). ``None`` (``paper``) keeps
    CrabNet's default: up to 300 epochs with its own early stopping. Width: the profile's
    ``d_model`` (CrabNet's default is 512, as ``standard`` and ``paper``), feed-forward 4x
    wider as CrabNet's default. Batch size: CrabNet's own rule (a power of two near
    n_train / 16, between 128 and 4096).
    """
    requested = epochs if epochs is not None else profile.epochs
    if requested is None:
        epochs_step, n_epochs = EPOCHS_STEP, None
    elif requested < 1:
        raise ValueError(f"epochs must be >= 1, got {requested}")
    else:
        n_epochs = max(2, requested - requested % 2)
        epochs_step = max(s for s in range(1, EPOCHS_STEP + 1) if n_epochs % (2 * s) == 0)
    return {
        "peer": "CrabNet",
        "package": "crabnet==2.0.8",
        "epochs": n_epochs,
        "epochs_requested": requested,
        "epochs_step": epochs_step,
        "batch_size": None,
        "d_model": profile.d_model,
        "dim_feedforward": 4 * profile.d_model,
        "N": 3,
        "heads": 4,
        "elem_prop": "mat2vec",
        "seed": seed,
    }


@contextlib.contextmanager
def _in_temporary_directory() -> Iterator[str]:
    """CrabNet writes loss-curve files into the working directory: give it a scratch one."""
    with tempfile.TemporaryDirectory(prefix="matfusion-crabnet-") as tmp:
        old = os.getcwd()
        os.chdir(tmp)
        try:
            yield tmp
        finally:
            os.chdir(old)


def _max_elements(*frames: pd.DataFrame) -> int:
    from crabnet.utils.composition import _element_composition

    return max(len(_element_composition(f)) for frame in frames for f in frame["formula"])


def _frame(df: pd.DataFrame) -> pd.DataFrame:
    return df[["formula", "target"]].copy().reset_index(drop=True)


def make_tracked_crabnet(progress: bool = False, total_epochs: int | None = None):
    """A CrabNet subclass that scores the validation set after every epoch and keeps the
    history in the trainer's format (epoch, val_mae, seconds) plus pure training seconds."""
    from tqdm.auto import tqdm

    base = import_crabnet()

    class TrackedCrabNet(base):
        def _train(self):  # noqa: D401 - CrabNet's hook
            if not hasattr(self, "history"):
                self.history = []
                self.train_seconds = 0.0
                self.samples_seen = 0
                self.bar = tqdm(
                    total=total_epochs or self.epochs, desc="CrabNet", disable=not progress
                )
            self._epoch_started = time.perf_counter()
            super()._train()
            self.train_seconds += time.perf_counter() - self._epoch_started
            self.samples_seen += self.train_len

        def _track_stats(self, epochs, checkin, learningcurve, epoch):
            super()._track_stats(epochs, checkin, learningcurve, epoch)
            pred, true = self.predict(loader=self.data_loader, return_true=True)
            val_mae = float(np.mean(np.abs(pred - true)))
            self.history.append(
                {
                    "epoch": epoch,
                    "val_mae": val_mae,
                    "lr": float(self.optimizer.param_groups[0]["lr"]),
                    "seconds": time.perf_counter() - self._epoch_started,
                    "swa_discards": int(self.optimizer.discard_count),
                }
            )
            self.bar.update(1)
            self.bar.set_postfix(val_mae=f"{val_mae:.4g}")

    return TrackedCrabNet


def fit_predict(
    train: pd.DataFrame,
    val: pd.DataFrame,
    test: pd.DataFrame,
    settings: dict[str, Any],
    progress: bool = True,
    after_fit: Callable[[Any], Any] | None = None,
) -> PeerResult:
    """Train CrabNet on ``train`` (``val`` drives its SWA/early stopping, as in CrabNet's own
    benchmark scripts) and predict all three splits with CrabNet's uncertainty.

    ``after_fit(model)`` runs on the trained CrabNet (its final SWA weights) after the
    predictions; what it returns is ``result.after_fit``. Peers keep no weights, so this is
    the one place an analysis of the trained model (e.g. :func:`crabnet_efms`) can run."""
    import torch

    from matfusion.train import deterministic_mode

    device = torch.device(settings.get("device", "cpu"))
    with deterministic_mode(device) as determinism:
        result = _fit_predict(train, val, test, settings, progress, device, after_fit)
    result.settings["determinism"] = determinism
    return result


def _fit_predict(
    train: pd.DataFrame,
    val: pd.DataFrame,
    test: pd.DataFrame,
    settings: dict[str, Any],
    progress: bool,
    device: Any,
    after_fit: Callable[[Any], Any] | None = None,
) -> PeerResult:
    """:func:`fit_predict` on ``device`` under its repeatability settings."""
    from matfusion.train import configure_threads, set_seed

    threads = configure_threads(None)
    set_seed(int(settings["seed"]))
    frames = {"train": _frame(train), "val": _frame(val), "test": _frame(test)}
    if len(frames["train"]) < 2 or len(frames["val"]) < 1:
        raise ValueError("CrabNet needs at least 2 training rows and 1 validation row")
    n_elements = _max_elements(*frames.values())
    cls = make_tracked_crabnet(progress=progress, total_epochs=settings["epochs"])
    model = cls(
        model_name="matfusion_crabnet",
        compute_device=device,
        n_elements=n_elements,
        verbose=False,
        batch_size=settings["batch_size"],
        epochs=settings["epochs"],
        epochs_step=int(settings["epochs_step"]),
        d_model=int(settings["d_model"]),
        dim_feedforward=int(settings["dim_feedforward"]),
        N=int(settings["N"]),
        heads=int(settings["heads"]),
        elem_prop=settings["elem_prop"],
        random_state=int(settings["seed"]),
        losscurve=False,
        learningcurve=False,
        save=False,
    )
    started = time.perf_counter()
    with _in_temporary_directory(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(frames["train"], frames["val"])
        wall = time.perf_counter() - started
        predictions = {}
        t0 = time.perf_counter()
        for name, frame in frames.items():
            mean, std = model.predict(frame, return_uncertainty=True)
            predictions[name] = (np.asarray(mean, dtype=np.float64), np.asarray(std))
        inference_s = time.perf_counter() - t0
        analysis = after_fit(model) if after_fit is not None else None
    model.bar.close()
    history = list(model.history)
    return PeerResult(
        predictions=predictions,
        history=history,
        best_epoch=history[-1]["epoch"] if history else None,
        train_wall_time_s=wall,
        train_samples_per_s=(
            model.samples_seen / model.train_seconds if model.train_seconds > 0 else None
        ),
        n_parameters=int(sum(p.numel() for p in model.model.parameters())),
        settings={
            **settings,
            "epochs": model.epochs,
            "batch_size": int(model.batch_size),
            "n_elements": n_elements,
            "num_threads": threads,
            "device": str(device),
            "n_train": len(frames["train"]),
            "best_source": "swa (CrabNet's final stochastic weight average)",
            "stopped_early": len(history) < model.epochs,
            "train_seconds": model.train_seconds,
        },
        inference_s=inference_s,
        after_fit=analysis,
    )


def crabnet_efms(
    model: Any, formulas: Sequence[str], order: str = "atomic_number"
) -> list[np.ndarray]:
    """CrabNet's element feature matrix (EFM) of each formula: the transformer encoder's
    output (CrabNet's EDM'', one ``d_model`` row per element, before the residual output
    network), one ``(n_elements, d_model)`` array per formula, in the formulas' order.

    A forward hook on ``model.model.encoder`` records the encoder's output and its ``src``
    input while CrabNet's own ``predict`` runs, so CrabNet builds its inputs as in training.
    Its loader pads every compound to the longest one with element 0 and lists elements by
    descending amount (ties: first appearance in the formula); the padding rows are dropped
    and the rows are put in ``order`` (:func:`matfusion.featurize.encode_formulas`'s
    ``"atomic_number"`` or ``"fraction_desc"``), the convention the CECV compares in. A
    compound whose elements differ from ours (CrabNet truncated or misparsed it) is an error.
    """
    import torch

    from matfusion.featurize import encode_formulas

    ours = encode_formulas(list(formulas), order=order)  # type: ignore[arg-type]
    frame = pd.DataFrame({"formula": list(formulas), "target": 0.0})
    longest = int(ours.lengths.max()) if len(ours) else 0
    old_n = model.n_elements
    model.n_elements = max(int(old_n), longest)  # CrabNet truncates longer compounds silently
    outputs: list[np.ndarray] = []
    sources: list[np.ndarray] = []

    def hook(_module: Any, args: tuple[Any, ...], output: torch.Tensor) -> None:
        outputs.append(output.detach().cpu().double().numpy())
        sources.append(args[0].detach().cpu().numpy())

    handle = model.model.encoder.register_forward_hook(hook)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.predict(frame)
    finally:
        handle.remove()
        model.n_elements = old_n
    if not outputs:
        return []
    width = max(o.shape[1] for o in outputs)
    feats = np.concatenate([np.pad(o, ((0, 0), (0, width - o.shape[1]), (0, 0))) for o in outputs])
    src = np.concatenate([np.pad(s, ((0, 0), (0, width - s.shape[1]))) for s in sources])
    if len(feats) != len(ours):
        raise RuntimeError(f"CrabNet encoded {len(feats)} compounds for {len(ours)} formulas")
    efms = []
    for i, formula in enumerate(formulas):
        theirs = src[i].astype(np.int64)
        want = ours.elements[i][ours.elements[i] != 0]
        row_of = {int(z): j for j, z in enumerate(theirs) if z != 0}
        if sorted(row_of) != sorted(int(z) for z in want):
            raise RuntimeError(
                f"CrabNet encoded {formula!r} as elements {sorted(row_of)}, expected "
                f"{sorted(int(z) for z in want)}"
            )
        efms.append(feats[i][[row_of[int(z)] for z in want]])
    return efms
