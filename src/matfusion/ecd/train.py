"""Paper B's experiments: 5-fold CV and leave-one-element-out, one stored record per run.

Every (model, target, fold or element, repeat) run is one record in the results store
(experiments ``ecd_cv`` and ``ecd_loeo``), keyed by its full configuration and carrying its
test predictions, so tables and parity plots are rebuilt from files, an interrupted sweep
resumes, and the book reuses committed runs instead of retraining.

Training choices the paper leaves open (ours, recorded in each config): targets are
standardised on the training rows; density inputs are ``log1p(rho)`` standardised by the
training mean and spread (the raw all-electron density spans five decades); 10% of the
training rows are held out to pick the best epoch (early stopping with patience); SGD (the
2D-CNN) uses momentum 0.9 and halves its learning rate every 10 epochs as the paper says.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from matfusion import provenance
from matfusion.config import cache_dir, checkpoints_dir
from matfusion.ecd.data import (
    StructureFilter,
    contains_any,
    dataset_sha256,
    load_ecd_dataset,
    loeo_elements,
    loeo_split,
    structures,
)
from matfusion.ecd.density import compute_densities, get_provider
from matfusion.ecd.models import (
    ECD_MODELS,
    FusionNet,
    build_ecd_model,
    get_ecd_model,
    magpie_features,
)
from matfusion.ecd.reported import EXTERNAL_MODEL
from matfusion.ecd.settings import EcdProfile, ecd_profile, provider_settings
from matfusion.io import atomic_write, json_default
from matfusion.results import ResultsStore
from matfusion.train import configure_threads

__all__ = [
    "TARGETS",
    "EcdInputs",
    "comparison_left_out",
    "cv_summary",
    "density_note",
    "external_per_structure",
    "external_predictions",
    "fit_predict",
    "fusion_gain",
    "kfold_indices",
    "left_out_sentence",
    "loeo_summary",
    "metrics",
    "paired_provider_gain",
    "prepare_inputs",
    "run_cv",
    "run_external",
    "run_loeo",
    "run_density_comparison",
    "run_provider_comparison",
    "run_caption",
]

#: Bump when the meaning of a record changes (2: the table's identity comes from its inputs;
#: 3: density models record their CNN variant; :mod:`matfusion.migrations` moves older ones).
RECORD_VERSION = 3
TARGETS = {"bulk": "bulk_modulus", "shear": "shear_modulus"}
#: The paper's LOEO tables compare these four (its fifth, CGCNN, is not reproduced here).
LOEO_MODELS = ("RF+Magpie", "CNN+Magpie", "3D-CNN+ECD", "2D-CNN+ECD")
#: The models whose input is a density: what the provider comparison is about.
DENSITY_MODELS = tuple(m for m, spec in ECD_MODELS.items() if "density" in spec.inputs)
#: The fusion model's pre-trained parts (their weights are cached as checkpoints).
_PRETRAINED_PARTS = ("CNN+Magpie", "2D-CNN+ECD")


@dataclass
class EcdInputs:
    """Everything the models eat, row-aligned with ``frame``."""

    frame: pd.DataFrame
    magpie: np.ndarray
    density: np.ndarray | None
    density_info: list[dict[str, Any]]
    profile: EcdProfile
    data_sha256: str


def metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """R2, RMSE and MAE (GPa); non-finite input is an error, not a silent NaN."""
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    if not (np.isfinite(y_true).all() and np.isfinite(y_pred).all()):
        raise ValueError("metrics: non-finite values in targets or predictions")
    resid = y_true - y_pred
    ss_tot = float(((y_true - y_true.mean()) ** 2).sum())
    return {
        "r2": 1.0 - float((resid**2).sum()) / ss_tot if ss_tot > 0 else float("nan"),
        "rmse": float(np.sqrt((resid**2).mean())),
        "mae": float(np.abs(resid).mean()),
        "n": len(y_true),
    }


def _magpie_cached(formulas: list[str]) -> np.ndarray:
    key = hashlib.sha256("\n".join(formulas).encode()).hexdigest()[:16]
    path = cache_dir() / "ecd" / f"magpie-{key}.npy"
    if path.is_file():
        return np.load(path)
    feats = magpie_features(formulas)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, binary=True) as fh:
        np.save(fh, feats)
    return feats


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
    magpie = _magpie_cached(frame["formula"].tolist())
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
    """Model inputs for a set of rows, normalised with training statistics."""

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
    """Minibatch MAE training; keeps the weights of the best validation epoch."""
    from tqdm.auto import tqdm

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    mean, std = float(y[fit_rows].mean()), float(y[fit_rows].std()) or 1.0
    yz = torch.as_tensor((y - mean) / std, dtype=torch.float32)
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
    model.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(rows), 128):
            out.append(model(*data.batch(rows[start : start + 128], names)).numpy())
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def _split_val(train_rows: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed + 7919)
    shuffled = rng.permutation(train_rows)
    n_val = max(1, int(round(fraction * len(train_rows))))
    return np.sort(shuffled[n_val:]), np.sort(shuffled[:n_val])


def _checkpoint_path(tag: dict[str, Any]) -> Path:
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
            for part in _PRETRAINED_PARTS
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
    if name in _PRETRAINED_PARTS:  # only the fusion's parts are needed again
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path, binary=True) as fh:
            # info as JSON text: the file holds tensors and text only (weights_only loads)
            torch.save(
                {"state": model.state_dict(), "info": json.dumps(info, default=json_default)}, fh
            )
    return model, info


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
    """Train ``name`` on ``train_rows`` and predict ``test_rows`` (GPa)."""
    spec = get_ecd_model(name)
    y = inputs.frame[TARGETS[target]].to_numpy(dtype=np.float64)
    if spec.kind == "sklearn":
        model = build_ecd_model(name, grid=inputs.profile.grid, seed=seed)
        model.fit(inputs.magpie[train_rows], y[train_rows])
        return model.predict(inputs.magpie[test_rows]), {"best_epoch": None, "history": []}
    configure_threads(None)  # $MATFUSION_NUM_THREADS, else the usable cores
    data = _Inputs(inputs, train_rows)
    tag = {
        **(tag or {}),
        "target": target,
        "seed": seed,
        "train_rows": hashlib.sha256(np.asarray(train_rows).tobytes()).hexdigest()[:16],
        "data": inputs.data_sha256,
        "profile": inputs.profile.to_dict(),
        "version": RECORD_VERSION,
    }
    model, info = _fit_torch_model(name, inputs, data, y, train_rows, seed, progress, tag)
    z = _predict(model, spec.inputs, data, np.asarray(test_rows))
    return z * info["std"] + info["mean"], info


# --------------------------------------------------------------------------- experiments


def _config(
    experiment: str, name: str, target: str, inputs: EcdInputs, repeat: int, **extra: Any
) -> dict[str, Any]:
    prof = inputs.profile
    get_ecd_model(name)
    if target not in TARGETS:
        raise KeyError(f"unknown target {target!r}; choose one of {sorted(TARGETS)}")
    density = None
    if name in DENSITY_MODELS:
        density = {
            "provider": prof.provider,
            "grid": prof.grid,
            "settings": get_provider(prof.provider, **provider_settings(prof)).settings(),
        }
    return {
        "experiment": experiment,
        "record_version": RECORD_VERSION,
        "profile": prof.name,
        "model": name,
        "target": target,
        "repeat": repeat,
        "seed": prof.seed + repeat,
        "data_sha256": inputs.data_sha256,
        "n_materials": len(inputs.frame),
        "density": density,
        "train": {
            k: getattr(prof, k)
            for k in ("epochs", "patience", "width", "batch_size", "val_fraction", "paper_sgd")
        }
        # the CNN architecture only where a model has one
        | ({"variant": prof.variant} if name in DENSITY_MODELS else {}),
        **extra,
    }


def _run_one(
    store: ResultsStore,
    config: dict[str, Any],
    inputs: EcdInputs,
    train_rows: np.ndarray,
    test_rows: np.ndarray,
    progress: bool,
    force: bool,
    missing: str = "train",
) -> dict[str, Any] | None:
    hit = None if force else store.get(config)
    if hit is not None:
        return {**hit, "cache_hit": True}
    if missing == "skip":
        return None
    if config["model"] in DENSITY_MODELS:
        ensure_density(inputs, progress=progress)
    started = time.perf_counter()
    pred, info = fit_predict(
        config["model"],
        inputs,
        config["target"],
        train_rows,
        test_rows,
        seed=config["seed"],
        progress=progress,
        # without "density": the fusion run must find its parts' checkpoints under the
        # same tag as the stand-alone CNN+Magpie run (whose config has density=None)
        tag={k: v for k, v in config.items() if k not in ("experiment", "model", "density")},
    )
    y = inputs.frame[TARGETS[config["target"]]].to_numpy(dtype=float)[test_rows]
    record = {
        "metrics": metrics(y, pred),
        "sizes": {"train": len(train_rows), "test": len(test_rows)},
        "predictions": {
            "mp_id": inputs.frame["mp_id"].to_numpy()[test_rows].tolist(),
            "formula": inputs.frame["formula"].to_numpy()[test_rows].tolist(),
            "y": [round(float(v), 4) for v in y],
            "pred": [round(float(v), 4) for v in pred],
        },
        "best_epoch": info.get("best_epoch"),
        "epochs_run": len(info.get("history", [])),
        "wall_time_s": time.perf_counter() - started,
        "provenance": provenance.collect(),
    }
    store.put(config, record, overwrite=force)
    return {**store.get(config), "cache_hit": False}


def run_cv(
    models: Sequence[str],
    targets: Sequence[str],
    inputs: EcdInputs,
    *,
    store: ResultsStore | None = None,
    progress: bool = True,
    force: bool = False,
    missing: str = "train",
) -> list[dict[str, Any]]:
    """K-fold CV records for every model x target x fold x repeat (stored runs are reused).

    ``missing="skip"`` returns only stored records (the book's standard profile: no training).
    """
    if missing not in ("train", "skip"):
        raise ValueError(f"missing must be 'train' or 'skip', not {missing!r}")
    from tqdm.auto import tqdm

    store = store or ResultsStore()
    prof = inputs.profile
    jobs = [
        (m, t, r, f)
        for r in range(prof.repeats)
        for t in targets
        for f in range(prof.folds)
        for m in models
    ]
    out = []
    for m, t, r, f in tqdm(jobs, desc="ECD CV runs", disable=not progress):
        splits = kfold_indices(len(inputs.frame), prof.folds, prof.seed + r)
        train_rows, test_rows = splits[f]
        config = _config("ecd_cv", m, t, inputs, r, fold=f, folds=prof.folds)
        rec = _run_one(store, config, inputs, train_rows, test_rows, progress, force, missing)
        if rec is not None:
            out.append(rec)
    return out


def run_loeo(
    models: Sequence[str],
    targets: Sequence[str],
    inputs: EcdInputs,
    elements: Sequence[str] | None = None,
    *,
    store: ResultsStore | None = None,
    progress: bool = True,
    force: bool = False,
    missing: str = "train",
) -> list[dict[str, Any]]:
    """Leave-one-element-out records: test = every material containing the element
    (``missing`` as in :func:`run_cv`)."""
    from tqdm.auto import tqdm

    store = store or ResultsStore()
    prof = inputs.profile
    if elements is None:
        elements = _profile_loeo_elements(inputs.frame, prof)
    jobs = [
        (m, t, e, r) for r in range(prof.repeats) for e in elements for t in targets for m in models
    ]
    out = []
    for m, t, e, r in tqdm(jobs, desc="ECD LOEO runs", disable=not progress):
        train_rows, test_rows = loeo_split(inputs.frame, e)
        config = _config("ecd_loeo", m, t, inputs, r, element=e)
        rec = _run_one(store, config, inputs, train_rows, test_rows, progress, force, missing)
        if rec is not None:
            out.append(rec)
    return out


def _profile_loeo_elements(frame: pd.DataFrame, prof: EcdProfile) -> list[str]:
    """The elements a profile leaves out one at a time from ``frame``."""
    table = loeo_elements(frame, min_count=prof.loeo_min_count)
    return table["element"].tolist()[: prof.loeo_max_elements]


def run_external(
    models: Sequence[str],
    targets: Sequence[str],
    inputs: EcdInputs,
    external: pd.DataFrame,
    *,
    store: ResultsStore | None = None,
    progress: bool = True,
    missing: str = "train",
) -> list[dict[str, Any]]:
    """Train on every row of ``inputs`` and predict the ``external`` structures (paper B's
    Figure 5). One record per model and target (experiment ``ecd_external``) holding the
    predictions by id; the DFT values they are compared with live in ``dft_moduli.csv``."""
    store = store or ResultsStore()
    prof = inputs.profile
    ext = external.assign(bulk_modulus=np.nan, shear_modulus=np.nan)
    frame = pd.concat([inputs.frame, ext], ignore_index=True)
    magpie = np.concatenate([inputs.magpie, _magpie_cached(ext["formula"].tolist())])
    combined = EcdInputs(frame, magpie, None, [], prof, inputs.data_sha256)
    train_rows = np.arange(len(inputs.frame))
    test_rows = np.arange(len(inputs.frame), len(frame))
    ids = hashlib.sha256("\n".join(ext["mp_id"]).encode()).hexdigest()[:16]
    out = []
    for t in targets:
        for m in models:
            config = _config("ecd_external", m, t, inputs, 0, external_ids=ids, n_external=len(ext))
            hit = store.get(config)
            if hit is not None:
                out.append({**hit, "cache_hit": True})
                continue
            if missing == "skip":
                continue
            if m in DENSITY_MODELS:
                ensure_density(combined, progress=progress)
            started = time.perf_counter()
            pred, info = fit_predict(
                m,
                combined,
                t,
                train_rows,
                test_rows,
                seed=config["seed"],
                progress=progress,
                tag={"external": ids, "n_materials": len(inputs.frame)},
            )
            record = {
                "predictions": {
                    "id": ext["mp_id"].tolist(),
                    "formula": ext["formula"].tolist(),
                    "pred": [round(float(v), 4) for v in pred],
                },
                "best_epoch": info.get("best_epoch"),
                "wall_time_s": time.perf_counter() - started,
                "provenance": provenance.collect(),
            }
            store.put(config, record)
            out.append({**store.get(config), "cache_hit": False})
    return out


# --------------------------------------------------------------------------- tables


def cv_summary(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Per target and model (in the paper's order): R2 and RMSE (GPa) averaged over folds and
    repeats, with the R2 spread and the number of runs."""
    rows = []
    for rec in records:
        c = rec["config"]
        rows.append({"target": c["target"], "model": c["model"], **rec["metrics"]})
    frame = pd.DataFrame(rows)
    grouped = frame.groupby(["target", "model"], sort=False)
    table = grouped.agg(
        R2=("r2", "mean"), R2_sd=("r2", "std"), RMSE_GPa=("rmse", "mean"), runs=("r2", "size")
    )
    order = [(t, m) for t in TARGETS for m in ECD_MODELS if (t, m) in table.index]
    return table.reindex(order)


def loeo_summary(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per element x target x model: sizes, R2, RMSE (mean over repeats)."""
    rows = []
    for rec in records:
        c = rec["config"]
        rows.append(
            {
                "element": c["element"],
                "target": c["target"],
                "model": c["model"],
                "train_size": rec["sizes"]["train"],
                "test_size": rec["sizes"]["test"],
                "R2": rec["metrics"]["r2"],
                "RMSE": rec["metrics"]["rmse"],
            }
        )
    frame = pd.DataFrame(rows)
    table = frame.groupby(["element", "target", "model"], sort=False).mean().reset_index()
    # the sizes are the same in every repeat: whole numbers, not means
    return table.astype({"train_size": int, "test_size": int})


#: Our DFT column behind each target of the external validation (``dft_moduli.csv``): the
#: E-V bulk modulus (every structure has one) and the VRH shear modulus (insulators only).
EXTERNAL_DFT_COLUMNS = {"bulk": "K_eos_GPa", "shear": "G_vrh_GPa"}


def external_predictions(records: list[dict[str, Any]]) -> pd.DataFrame:
    """The predictions of :func:`run_external` records as one long table: id, formula,
    model, target, pred (GPa)."""
    frames = [
        pd.DataFrame(rec["predictions"]).assign(
            model=rec["config"]["model"], target=rec["config"]["target"]
        )
        for rec in records
    ]
    columns = ["id", "formula", "model", "target", "pred"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def external_per_structure(
    dft: pd.DataFrame,
    predictions: pd.DataFrame,
    target: str = "bulk",
    *,
    reference: str = EXTERNAL_MODEL,
) -> pd.DataFrame:
    """One row per external structure with a stored DFT value: our DFT modulus beside every
    model's prediction and the ``reference`` model's error, largest miss first (so a reader
    sees which structures are hard: magnetic, unstable, unusual chemistry). The reference is
    by default the model behind the paper's own figure.

    ``dft`` is :func:`matfusion.ecd.dft.load_dft_moduli` rows of the external set (id
    column), ``predictions`` :func:`external_predictions`. Rows the metrics leave out
    (``usable`` False) stay in the table, flagged."""
    if target not in EXTERNAL_DFT_COLUMNS:
        raise ValueError(f"unknown target {target!r}; expected one of {list(EXTERNAL_DFT_COLUMNS)}")
    values = dft.set_index("id")
    truth = values[EXTERNAL_DFT_COLUMNS[target]].dropna()
    wide = (
        predictions[predictions["target"] == target]
        .pivot(index="id", columns="model", values="pred")
        .reindex(truth.index)
    )
    models = [m for m in ECD_MODELS if m in wide.columns]
    flags = ["formula", "n_atoms", "metal", "spin_polarized", "magmom_muB", "ecut_eos_eV", "usable"]
    table = values.loc[truth.index, [c for c in flags if c in values.columns]].copy()
    table["DFT (GPa)"] = truth
    for model in models:
        table[model] = wide[model]
    if reference in models:
        table[f"{reference} - DFT"] = table[reference] - truth
        order = table[f"{reference} - DFT"].abs().sort_values(ascending=False, na_position="last")
        table = table.loc[order.index]
    return table


def fusion_gain(r2: pd.Series) -> float | None:
    """R2 of the fusion model minus the better of its two pre-trained parts (CNN+Magpie and
    2D-CNN+ECD), from one target's R2 by model; None when any of the three is missing."""
    names = ["Fusion(Magpie+ECD)", *_PRETRAINED_PARTS]
    if not set(names) <= set(r2.index) or not np.isfinite(r2[names].to_numpy(float)).all():
        return None
    return float(r2[names[0]] - max(r2[p] for p in _PRETRAINED_PARTS))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def density_note(provider: str, grid: int) -> str:
    """``provider`` densities on a grid, saying when they are not DFT."""
    return f"`{provider}` densities on a {grid}^3 grid" + (
        " (superposed free atoms, not DFT)" if provider == "promolecular" else ""
    )


def run_caption(inputs: EcdInputs, design: str, *, elements: Sequence[str] = ()) -> str:
    """One line stating what a table's runs used: the density provider and grid (density
    models only), the number of materials, and the split (``design``: "cv" or "loeo", with
    the left-out ``elements``); built from the profile and the data, for the line above a
    table."""
    prof = inputs.profile
    if design == "cv":
        split = f"{prof.folds}-fold CV, {_plural(prof.repeats, 'repeat')}"
    elif design == "loeo":
        split = (
            f"{_plural(len(elements), 'element')} left out one at a time "
            f"(test set: every material containing it), {_plural(prof.repeats, 'repeat')}"
        )
    else:
        raise ValueError(f"design must be 'cv' or 'loeo', not {design!r}")
    return (
        f"*Runs: {len(inputs.frame)} materials (Materials Project moduli), {split}; the "
        f"density models read {density_note(prof.provider, prof.grid)}.*"
    )


def _comparison_set(
    prof: EcdProfile, providers: Sequence[str]
) -> tuple[pd.DataFrame, list[str], list[str] | None]:
    """The full dataset, the elements left out of a provider comparison, and the kept ids
    (None: every material without those elements)."""
    full = load_ecd_dataset(verbose=False)
    lacking = _lacking(prof, providers)
    ids = None
    if prof.compare_max_materials is not None:
        usable = full[~contains_any(full, lacking)]
        # electrons per primitive cell: what an SCF's cost grows with
        electrons = [
            sum(site.specie.Z for site in s.get_primitive_structure()) for s in structures(usable)
        ]
        order = np.lexsort((usable["mp_id"].to_numpy(), np.asarray(electrons)))
        ids = usable["mp_id"].to_numpy()[order[: prof.compare_max_materials]].tolist()
    return full, lacking, ids


def _lacking(prof: EcdProfile, providers: Sequence[str]) -> list[str]:
    return sorted(prof.gpaw_exclude_elements) if "gpaw" in providers else []


def comparison_left_out(
    profile: str | EcdProfile = "standard", providers: Sequence[str] = ("promolecular", "gpaw")
) -> dict[str, Any]:
    """What the provider comparison leaves out for every provider: ``left_out_elements``
    (those GPAW has no PAW setup for) and ``left_out_materials`` (how many contain one)."""
    prof = ecd_profile(profile) if isinstance(profile, str) else profile
    lacking = _lacking(prof, providers)
    full = load_ecd_dataset(verbose=False)
    return {
        "left_out_elements": lacking,
        "left_out_materials": int(contains_any(full, lacking).sum()),
    }


def left_out_sentence(info: dict[str, Any]) -> str:
    """The exclusion of :func:`comparison_left_out` (or the comparison's info) as a sentence;
    empty when nothing is left out."""
    elements = list(info["left_out_elements"])
    if not elements:
        return ""
    n = int(info["left_out_materials"])
    names = ", ".join(elements)
    return (
        f"{_plural(n, 'material')} containing {names} "
        f"{'is' if n == 1 else 'are'} left out (GPAW ships no PBE PAW setup for "
        f"{'it' if len(elements) == 1 else 'them'})."
    )


def run_provider_comparison(
    targets: Sequence[str],
    profile: str | EcdProfile = "standard",
    providers: Sequence[str] = ("promolecular", "gpaw"),
    *,
    design: str = "cv",
    models: Sequence[str] | None = None,
    only: Sequence[str] | None = None,
    store: ResultsStore | None = None,
    progress: bool = True,
    missing: str = "train",
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The same CV (same materials, folds and seeds) with each density provider; with
    ``design="loeo"`` the same leave-one-element-out runs instead (models ``LOEO_MODELS``,
    elements chosen once from the shared material set, so every provider leaves out the
    same ones). ``only`` runs just those providers' half of the comparison, on the material
    set the whole comparison uses (one provider per process).

    Materials GPAW cannot compute (``gpaw_exclude_elements``: no PAW setup) are left out for
    every provider, so the comparison is paired; ``compare_max_materials`` caps the set to the
    materials with the fewest electrons per primitive cell (smoke: a few cheap SCFs).
    Returns one row per (target, model, provider) with R2, its spread, RMSE and runs (for
    LOEO: one row per element x target x model x provider, as :func:`loeo_summary`), and a
    dict saying which elements were left out, how many materials remain, and each run's R2
    and RMSE (``per_fold``: target, model, provider, repeat, fold or element, R2, RMSE) for
    paired differences; for LOEO also ``elements``, the left-out elements.
    """

    if design not in ("cv", "loeo"):
        raise ValueError(f"design must be 'cv' or 'loeo', not {design!r}")
    if only is not None and not set(only) <= set(providers):
        raise ValueError(f"only={list(only)} names providers outside {list(providers)}")
    prof = ecd_profile(profile) if isinstance(profile, str) else profile
    models = list(models or (ECD_MODELS if design == "cv" else LOEO_MODELS))
    unknown = [m for m in models if m not in ECD_MODELS]
    if unknown:
        raise KeyError(f"unknown ECD model(s) {unknown}; known: {list(ECD_MODELS)}")
    _, lacking, ids = _comparison_set(prof, providers)
    split_key = "fold" if design == "cv" else "element"
    rows, sizes, per_fold, elements = [], {}, [], None
    for provider in providers:
        if only is not None and provider not in only:
            continue
        inputs = prepare_inputs(
            replace(prof, provider=provider),
            need_density=False,
            exclude_elements=lacking,
            mp_ids=ids,
            progress=progress,
            verbose=False,
        )
        sizes[provider] = len(inputs.frame)
        if design == "cv":
            records = run_cv(
                models, targets, inputs, store=store, progress=progress, missing=missing
            )
            summary = cv_summary(records).reset_index() if records else None
        else:
            if elements is None:  # the same material set for every provider: choose once
                elements = _profile_loeo_elements(inputs.frame, prof)
            records = run_loeo(
                models, targets, inputs, elements, store=store, progress=progress,
                missing=missing,
            )  # fmt: skip
            summary = loeo_summary(records) if records else None
        if summary is not None:
            rows.append(summary.assign(provider=provider))
        per_fold += [
            {
                **{k: r["config"][k] for k in ("target", "model", "repeat", split_key)},
                "provider": provider,
                "R2": r["metrics"]["r2"],
                "RMSE": r["metrics"]["rmse"],
            }
            for r in records
        ]
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    info = {
        **comparison_left_out(prof, providers),
        "materials": sizes,
        "per_fold": pd.DataFrame(per_fold),
        **({"elements": elements} if design == "loeo" else {}),
    }  # fmt: skip
    return table, info


def run_density_comparison(
    profile: str | EcdProfile = "standard",
    providers: tuple[str, str] = ("promolecular", "gpaw"),
    *,
    store: ResultsStore | None = None,
    progress: bool = True,
    missing: str = "train",
) -> pd.DataFrame | None:
    """Per material of the provider comparison: how many electrons the two densities place
    differently (:func:`~matfusion.ecd.density.density_difference`), with the spread of
    Pauling electronegativities as a measure of ionicity.

    Stored as one record (experiment ``ecd_density_diff``), so the book shows it without
    recomputing the DFT densities; ``missing="skip"`` returns None when nothing is stored.
    """
    from pymatgen.core import Element

    from matfusion.ecd.density import density_difference, density_for

    if missing not in ("train", "skip"):
        raise ValueError(f"missing must be 'train' or 'skip', not {missing!r}")
    prof = ecd_profile(profile) if isinstance(profile, str) else profile
    store = store or ResultsStore()
    _, lacking, ids = _comparison_set(prof, providers)
    inputs = prepare_inputs(
        prof, need_density=False, exclude_elements=lacking, mp_ids=ids, progress=progress,
        verbose=False,
    )  # fmt: skip
    config = {
        "experiment": "ecd_density_diff",
        "record_version": RECORD_VERSION,
        "profile": prof.name,
        "grid": prof.grid,
        "providers": {
            p: get_provider(p, **provider_settings(replace(prof, provider=p))).settings()
            for p in providers
        },
        "data_sha256": inputs.data_sha256,
        "n_materials": len(inputs.frame),
    }
    hit = store.get(config)
    if hit is None and missing == "skip":
        return None
    if hit is None:
        from tqdm.auto import tqdm

        started = time.perf_counter()
        first, second = (
            get_provider(p, **provider_settings(replace(prof, provider=p))) for p in providers
        )
        rows = []
        frame = inputs.frame
        for structure, row in tqdm(
            list(zip(structures(frame), frame.itertuples(), strict=True)),
            desc="density differences",
            disable=not progress,
        ):
            a, b = (
                density_for(structure, first, prof.grid),
                density_for(structure, second, prof.grid),
            )
            chi = [Element(e).X for e in row.elements.split()]
            rows.append(
                {
                    "mp_id": row.mp_id,
                    "formula": row.formula,
                    "electrons": round(a.electrons, 3),
                    "electronegativity_spread": round(max(chi) - min(chi), 3),
                    "bulk_modulus": row.bulk_modulus,
                    **{k: round(v, 5) for k, v in density_difference(a, b).items()},
                    # compute time of each density, as recorded when it was made (cache meta)
                    **{
                        f"seconds_{name}": res.meta.get("seconds")
                        for name, res in zip(providers, (a, b), strict=True)
                    },
                    "atoms": len(structure.get_primitive_structure()),
                }
            )
        record = {
            "rows": rows,
            "wall_time_s": time.perf_counter() - started,
            "provenance": provenance.collect(),
        }
        store.put(config, record)
        hit = store.get(config)
    return pd.DataFrame(hit["rows"])


def run_all(
    profile: str = "standard",
    what: Sequence[str] = ("cv", "loeo"),
    *,
    targets: Sequence[str] = ("bulk", "shear"),
    progress: bool = True,
) -> dict[str, list[dict[str, Any]]]:
    """Every CV and LOEO run of a profile (stored ones are reused): what the book reads."""
    inputs = prepare_inputs(profile, progress=progress)
    out: dict[str, list[dict[str, Any]]] = {}
    if "cv" in what:
        out["cv"] = run_cv(list(ECD_MODELS), targets, inputs, progress=progress)
    if "loeo" in what:
        out["loeo"] = run_loeo(list(LOEO_MODELS), targets, inputs, progress=progress)
    return out


def win_counts(table: pd.DataFrame, metric: str = "R2") -> pd.Series:
    """How often each model is best (highest R2 or lowest RMSE) per element and target.

    Cases without a finite value (R2 of a one-material test set) are left out."""
    models = table["model"].unique()
    table = table[np.isfinite(table[metric].to_numpy(dtype=float))]
    best = (
        table.loc[table.groupby(["element", "target"])[metric].idxmax()]
        if metric == "R2"
        else table.loc[table.groupby(["element", "target"])[metric].idxmin()]
    )
    return best["model"].value_counts().reindex(models, fill_value=0)


def paired_provider_gain(
    per_run: pd.DataFrame,
    split_key: str,
    providers: tuple[str, str] = ("promolecular", "gpaw"),
) -> pd.DataFrame:
    """Per target and model: each provider's median R2 and mean RMSE over the paired runs
    (``per_fold`` of :func:`run_provider_comparison`; ``split_key`` "fold" or "element"),
    the mean RMSE change (second minus first provider, GPa) and in how many runs the second
    provider is better. Runs share their test set, so a lower RMSE is a higher R2: the count
    holds for both. Medians of R2 because one LOEO test set far from the training data can
    give an R2 of -10 and swamp a mean. Only runs present for both providers are paired."""
    first, second = providers
    index = ["target", "model", "repeat", split_key]
    if per_run.empty or not {first, second} <= set(per_run["provider"]):
        return pd.DataFrame()
    wide = per_run.set_index([*index, "provider"])[["R2", "RMSE"]].unstack("provider")
    # paired: both providers ran (a one-material test set has an RMSE but no R2)
    wide = wide[wide[("RMSE", first)].notna() & wide[("RMSE", second)].notna()]
    wide.columns = [f"{metric} {provider}" for metric, provider in wide.columns]
    wide["delta"] = wide[f"RMSE {second}"] - wide[f"RMSE {first}"]
    grouped = wide.groupby(["target", "model"], sort=False)
    table = pd.DataFrame(
        {
            f"R2 median, {first}": grouped[f"R2 {first}"].median(),
            f"R2 median, {second}": grouped[f"R2 {second}"].median(),
            f"RMSE mean, {first}": grouped[f"RMSE {first}"].mean(),
            f"RMSE mean, {second}": grouped[f"RMSE {second}"].mean(),
            f"RMSE change, {second} - {first}": grouped["delta"].mean(),
            f"runs {second} better": grouped["delta"].apply(lambda d: int((d < 0).sum())),
            "runs": grouped["delta"].size(),
        }
    )
    order = [(t, m) for t in TARGETS for m in ECD_MODELS if (t, m) in table.index]
    return table.reindex(order)
