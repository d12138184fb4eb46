"""Paper B's model fitting: inputs, folds, torch training and prediction, part checkpoints.

What every experiment of :mod:`matfusion.ecd.experiments` trains through: the dataset with
its Magpie features (:func:`matfusion.featurize.magpie.magpie_features`) and densities
(:func:`prepare_inputs`), the seeded splits (:func:`kfold_indices`), and :func:`fit_predict`,
which trains one model on some rows and predicts others. The fusion model's pre-trained parts
are cached as checkpoints keyed by their run (:func:`checkpoint_tag`), so a fusion run reuses
the stand-alone parts' weights.

Training choices the paper leaves open (ours, recorded in each run's config): targets are
standardised on the training rows; density inputs are ``log1p(rho)`` standardised by the
training mean and spread (the raw all-electron density spans five decades); 10% of the
training rows are held out to pick the best epoch (early stopping with patience); SGD (the
2D-CNN) uses momentum 0.9 and halves its learning rate every 10 epochs as the paper says.

The loop is paper B's own rather than :func:`matfusion.train.fit`: that one trains
composition models (``forward(elements, fractions) -> (B, 2)``, robust L1, per-batch
schedules, torch-generator shuffles, 1-based epochs); routing paper B through it would change
the stored runs' numbers (see :func:`_train_torch`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from matfusion.config import checkpoints_dir
from matfusion.ecd.data import (
    StructureFilter,
    contains_any,
    dataset_sha256,
    load_ecd_dataset,
    structures,
)
from matfusion.ecd.density import compute_densities
from matfusion.ecd.models import FusionNet, build_ecd_model, get_ecd_model
from matfusion.ecd.settings import EcdProfile, ecd_profile, provider_settings
from matfusion.featurize.magpie import magpie_features
from matfusion.io import atomic_write, json_default
from matfusion.train import TargetScaler, configure_threads

__all__ = [
    "PRETRAINED_PARTS",
    "RECORD_VERSION",
    "TARGETS",
    "EcdInputs",
    "checkpoint_tag",
    "ecd_magpie",
    "ensure_density",
    "fit_predict",
    "kfold_indices",
    "prepare_inputs",
]

#: Bump when the meaning of a record changes (2: the table's identity comes from its inputs;
#: 3: density models record their CNN variant; :mod:`matfusion.migrations` moves older ones).
RECORD_VERSION = 3
TARGETS = {"bulk": "bulk_modulus", "shear": "shear_modulus"}
#: The fusion model's pre-trained parts (their weights are cached as checkpoints).
PRETRAINED_PARTS = ("CNN+Magpie", "2D-CNN+ECD")


@dataclass
class EcdInputs:
    """Everything the models eat, row-aligned with ``frame``."""

    frame: pd.DataFrame
    magpie: np.ndarray
    density: np.ndarray | None
    density_info: list[dict[str, Any]]
    profile: EcdProfile
    data_sha256: str


def ecd_magpie(formulas: Sequence[str]) -> np.ndarray:
    """Paper B's Magpie inputs: the shared featurizer, float32 (what its torch models read),
    a value still missing after matminer's imputation set to 0 (``missing="zero"``, as the
    stored runs were made) so that no material is dropped."""
    return magpie_features(formulas, missing="zero", dtype=np.float32, progress=False)


def prepare_inputs(
    profile: str | EcdProfile = "standard",
    *,
    need_density: bool = True,
    filt: StructureFilter | None = None,
    exclude_elements: Sequence[str] = (),
    mp_ids: Sequence[str] | None = None,
    progress: bool = True,
    verbose: bool = True,
) -> EcdInputs:
    """Load the dataset (subsampled per profile), Magpie features and densities.

    ``exclude_elements`` drops the materials containing any of them after loading (cheaper
    than a new ``filt``, which re-reads every source structure), with a printed count when
    ``verbose`` (callers that run quietly state it themselves, e.g. with
    :func:`left_out_sentence`); ``mp_ids`` keeps only those materials (instead of the
    profile's random subsample)."""
    prof = ecd_profile(profile) if isinstance(profile, str) else profile
    frame = load_ecd_dataset(filt, verbose=verbose, progress=progress)
    if exclude_elements:
        hit = contains_any(frame, exclude_elements)
        if verbose:
            print(
                f"prepare_inputs: left out {int(hit.sum())} materials containing "
                f"{', '.join(sorted(set(exclude_elements)))}"
            )
        frame = frame.loc[~hit].reset_index(drop=True)
    if mp_ids is not None:
        unknown = sorted(set(mp_ids) - set(frame["mp_id"]))
        if unknown:
            raise KeyError(f"not in the ECD dataset (after exclusions): {unknown[:5]}")
        frame = frame[frame["mp_id"].isin(set(mp_ids))].reset_index(drop=True)
    elif prof.max_materials is not None and len(frame) > prof.max_materials:
        rng = np.random.default_rng(prof.seed)
        keep = np.sort(rng.choice(len(frame), size=prof.max_materials, replace=False))
        frame = frame.iloc[keep].reset_index(drop=True)
    magpie = ecd_magpie(frame["formula"].tolist())
    density, info = None, []
    if need_density:
        density, info = compute_densities(
            structures(frame),
            prof.provider,
            prof.grid,
            settings=provider_settings(prof),
            workers=prof.workers,
            progress=progress,
        )
    return EcdInputs(frame, magpie, density, info, prof, dataset_sha256(frame, filt))


def ensure_density(inputs: EcdInputs, *, progress: bool = True) -> np.ndarray:
    """Compute (or load) the densities of ``inputs`` if they were not loaded yet."""
    if inputs.density is None:
        prof = inputs.profile
        inputs.density, inputs.density_info = compute_densities(
            structures(inputs.frame),
            prof.provider,
            prof.grid,
            settings=provider_settings(prof),
            workers=prof.workers,
            progress=progress,
        )
    return inputs.density


def kfold_indices(n: int, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Shuffled K-fold (train, test) row indices, seeded."""
    from sklearn.model_selection import KFold

    return list(KFold(folds, shuffle=True, random_state=seed).split(np.arange(n)))


# --------------------------------------------------------------------------- training


def _tensor(a: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32)


class _Inputs:
    """Model inputs for a set of rows, normalised with training statistics (the Magpie
    columns by their mean and spread, densities as standardised ``log1p``)."""

    def __init__(self, inputs: EcdInputs, train_rows: np.ndarray) -> None:
        mu = inputs.magpie[train_rows].mean(0)
        sd = inputs.magpie[train_rows].std(0)
        self.magpie = (inputs.magpie - mu) / np.where(sd > 0, sd, 1.0)
        self.density = None
        if inputs.density is not None:
            logd = np.log1p(np.clip(inputs.density, 0, None))
            m, s = float(logd[train_rows].mean()), float(logd[train_rows].std())
            self.density = ((logd - m) / (s if s > 0 else 1.0)).astype(np.float32)

    def batch(self, rows: np.ndarray, names: Sequence[str]) -> list[torch.Tensor]:
        """The float32 tensors of ``rows`` for a model reading ``names`` (its inputs)."""
        out = []
        for name in names:
            if name == "magpie":
                out.append(_tensor(self.magpie[rows]))
            else:
                if self.density is None:
                    raise ValueError("this model needs densities: prepare_inputs(need_density)")
                out.append(_tensor(self.density[rows]))
        return out


def _train_torch(
    model: torch.nn.Module,
    spec_inputs: Sequence[str],
    optimizer_name: str,
    lr: float,
    data: _Inputs,
    y: np.ndarray,
    fit_rows: np.ndarray,
    val_rows: np.ndarray,
    prof: EcdProfile,
    seed: int,
    progress: bool,
    desc: str,
) -> dict[str, Any]:
    """Minibatch MAE training; keeps the weights of the best validation epoch.

    Not :func:`matfusion.train.fit`, whose loop would change every stored run's numbers: it
    shuffles with a torch generator (here numpy's ``default_rng(seed)``), keeps batches of
    one (skipped here), steps its schedules per batch (StepLR here steps per epoch), picks
    the best epoch on the float64 MAE in target units of a (B, 2) output (here the float32
    MAE in z units of a (B,) output, in batches of 128), counts epochs from 1 (the stored
    ``best_epoch`` counts from 0), and trains composition inputs only. The standardisation is
    the shared :class:`~matfusion.train.TargetScaler`'s."""
    from tqdm.auto import tqdm

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    scaler = TargetScaler.fit(y[fit_rows])
    mean, std = scaler.mean, scaler.std
    yz = torch.as_tensor(scaler.transform(y), dtype=torch.float32)
    params = [p for p in model.parameters() if p.requires_grad]
    if optimizer_name == "sgd":
        opt: torch.optim.Optimizer = torch.optim.SGD(params, lr=lr, momentum=0.9)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
    else:
        opt = torch.optim.Adam(params, lr=lr)
        sched = None
    loss_fn = torch.nn.L1Loss()
    best = (float("inf"), -1)
    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    history = []
    bar = tqdm(range(prof.epochs), desc=desc, disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        order = rng.permutation(fit_rows)
        total = 0.0
        for start in range(0, len(order), prof.batch_size):
            rows = order[start : start + prof.batch_size]
            if len(rows) < 2:  # batch of one: skip (no information in MAE noise, BN-free)
                continue
            opt.zero_grad()
            loss = loss_fn(model(*data.batch(rows, spec_inputs)), yz[rows])
            loss.backward()
            opt.step()
            total += loss.item() * len(rows)
        if sched is not None:
            sched.step()
        val = float(
            np.abs(_predict(model, spec_inputs, data, val_rows) - yz[val_rows].numpy()).mean()
        )
        history.append({"epoch": epoch, "train_mae_z": total / len(order), "val_mae_z": val})
        bar.set_postfix(val_mae_gpa=f"{val * std:.2f}")
        if val < best[0]:
            best = (val, epoch)
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        elif epoch - best[1] >= prof.patience:
            break
    model.load_state_dict(best_state)
    return {"mean": mean, "std": std, "history": history, "best_epoch": best[1]}


def _predict(
    model: torch.nn.Module, names: Sequence[str], data: _Inputs, rows: np.ndarray
) -> np.ndarray:
    """Model output (z units) for ``rows``, in order, in eval mode (batches of 128)."""
    model.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(rows), 128):
            out.append(model(*data.batch(rows[start : start + 128], names)).numpy())
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def _split_val(train_rows: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(fit, validation) rows: a seeded ``fraction`` of ``train_rows`` picks the best epoch."""
    rng = np.random.default_rng(seed + 7919)
    shuffled = rng.permutation(train_rows)
    n_val = max(1, int(round(fraction * len(train_rows))))
    return np.sort(shuffled[n_val:]), np.sort(shuffled[:n_val])


def _checkpoint_path(tag: dict[str, Any]) -> Path:
    """Where the checkpoint of the model ``tag`` names lives (hash of its sorted JSON)."""
    key = hashlib.sha256(json.dumps(tag, sort_keys=True).encode()).hexdigest()[:16]
    return checkpoints_dir() / "ecd" / f"{tag['model']}-{key}.pt".replace("+", "_")


def _load_checkpoint(path: Path) -> dict[str, Any] | None:
    """A cached part checkpoint, loaded as data (``weights_only``: a planted file cannot run
    code); None when there is none or it is unreadable or of an older format (retrained)."""
    if not path.is_file():
        return None
    try:
        saved = torch.load(path, weights_only=True, map_location="cpu")
    except Exception:  # pickle-based or truncated: not ours to trust, train again
        return None
    if not isinstance(saved, dict) or not isinstance(saved.get("info"), str):
        return None
    return saved


def _fit_torch_model(
    name: str,
    inputs: EcdInputs,
    data: _Inputs,
    y: np.ndarray,
    train_rows: np.ndarray,
    seed: int,
    progress: bool,
    tag: dict[str, Any],
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Train (or load a cached checkpoint of) one torch model on ``train_rows``."""
    prof = inputs.profile
    spec = get_ecd_model(name)
    path = _checkpoint_path({**tag, "model": name})
    if name == "Fusion(Magpie+ECD)":
        parts = [
            _fit_torch_model(part, inputs, data, y, train_rows, seed, progress, tag)[0]
            for part in PRETRAINED_PARTS
        ]
        torch.manual_seed(seed)
        model: torch.nn.Module = FusionNet(*parts)
    else:
        model = build_ecd_model(
            name, grid=prof.grid, width=prof.width, seed=seed, variant=prof.variant
        )
    saved = _load_checkpoint(path)
    if saved is not None:
        model.load_state_dict(saved["state"])
        return model, json.loads(saved["info"])
    fit_rows, val_rows = _split_val(train_rows, prof.val_fraction, seed)
    optimizer, lr = spec.optimizer, spec.lr
    if optimizer == "sgd" and not prof.paper_sgd:
        optimizer, lr = "adam", 5e-4  # see EcdProfile.paper_sgd
    info = _train_torch(
        model,
        spec.inputs,
        optimizer,
        lr,
        data,
        y,
        fit_rows,
        val_rows,
        prof,
        seed,
        progress,
        desc=name,
    )
    if name in PRETRAINED_PARTS:  # only the fusion's parts are needed again
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path, binary=True) as fh:
            # info as JSON text: the file holds tensors and text only (weights_only loads)
            torch.save(
                {"state": model.state_dict(), "info": json.dumps(info, default=json_default)}, fh
            )
    return model, info


#: Profile fields that do not identify a trained model (see :func:`checkpoint_tag`).
_NOT_IN_TAG = ("description", "repeats")


def checkpoint_tag(
    inputs: EcdInputs,
    target: str,
    train_rows: np.ndarray,
    seed: int,
    tag: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What identifies a trained torch model (``model`` is added per part): the caller's
    ``tag``, the target, seed, training rows, data, the profile's settings and the record
    version. A cached part checkpoint is found again by it, so its text must not change for
    the same run. The profile's description (prose) and repeat count (the sweep's size; the
    run's own repeat is in ``tag``) are left out: editing either trains nothing anew."""
    settings = {k: v for k, v in inputs.profile.to_dict().items() if k not in _NOT_IN_TAG}
    return {
        **(tag or {}),
        "target": target,
        "seed": seed,
        "train_rows": hashlib.sha256(np.asarray(train_rows).tobytes()).hexdigest()[:16],
        "data": inputs.data_sha256,
        "profile": settings,
        "version": RECORD_VERSION,
    }


def fit_predict(
    name: str,
    inputs: EcdInputs,
    target: str,
    train_rows: np.ndarray,
    test_rows: np.ndarray,
    *,
    seed: int,
    progress: bool = False,
    tag: dict[str, Any] | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Train ``name`` on ``train_rows`` and predict ``test_rows`` (GPa): the one step every
    experiment runs. ``tag`` identifies the run for the fusion parts' checkpoints (see
    :func:`checkpoint_tag`); ``progress`` shows the epochs."""
    spec = get_ecd_model(name)
    y = inputs.frame[TARGETS[target]].to_numpy(dtype=np.float64)
    if spec.kind == "sklearn":
        model = build_ecd_model(name, grid=inputs.profile.grid, seed=seed)
        model.fit(inputs.magpie[train_rows], y[train_rows])
        return model.predict(inputs.magpie[test_rows]), {"best_epoch": None, "history": []}
    configure_threads(None)  # $MATFUSION_NUM_THREADS, else the usable cores
    data = _Inputs(inputs, train_rows)
    tag = checkpoint_tag(inputs, target, train_rows, seed, tag)
    model, info = _fit_torch_model(name, inputs, data, y, train_rows, seed, progress, tag)
    z = _predict(model, spec.inputs, data, np.asarray(test_rows))
    # float32 z times Python floats stays float32, as the stored predictions were made
    return z * info["std"] + info["mean"], info
