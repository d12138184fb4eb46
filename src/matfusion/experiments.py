"""One training run = one record in the results store.

This is the seam between the library's parts: it loads a split from the data registry,
encodes it, builds a registered model, trains it with a recipe and writes a record with
provenance. Notebooks and the CLI call :func:`run_training`; a rerun with the same
configuration is answered from the store instead of retraining.
"""

from __future__ import annotations

import copy
import operator
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from matfusion import provenance
from matfusion.baselines import PEERS, get_peer, is_peer
from matfusion.config import checkpoints_dir
from matfusion.data import element_table, get_dataset, load_split, split_sha256
from matfusion.featurize import EncodedCompositions, encode_formulas
from matfusion.io import atomic_write, sha256_file
from matfusion.models import MODELS, build_model, encoding_order, get_conventions
from matfusion.profiles import Profile, get_profile
from matfusion.registry import unknown_name
from matfusion.results import CorruptRecordError, ResultsStore, key_for
from matfusion.train import (
    TrainConfig,
    configure_threads,
    cuda_available,
    fit,
    load_checkpoint,
    no_cuda_message,
    predict,
    regression_metrics,
    resolve_device,
    save_checkpoint,
    set_seed,
)

#: Bump when the meaning of a record changes (invalidates the cache on purpose).
RECORD_VERSION = 1

#: Peers that train with torch and take a device in their settings (``RF-Magpie`` is
#: scikit-learn on the CPU whatever the device: its run is the same either way).
DEVICE_PEERS: tuple[str, ...] = ("CrabNet", "Roost")


@dataclass
class SplitData:
    """A split after subsampling, with what it took to get there."""

    frame: pd.DataFrame
    encoded: EncodedCompositions
    sha256: str
    n_full: int


def subsample(frame: pd.DataFrame, max_rows: int | None, seed: int) -> pd.DataFrame:
    """Seeded subsample without replacement, in the file's order (``None`` = keep all)."""
    if max_rows is None or len(frame) <= max_rows:
        return frame.reset_index(drop=True)
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(len(frame), size=max_rows, replace=False))
    return frame.iloc[keep].reset_index(drop=True)


def load_encoded(
    dataset: str,
    split: str,
    *,
    fold: int | None,
    max_rows: int | None,
    seed: int,
    embedding: str = "mat2vec",
    order: str = "atomic_number",
) -> SplitData:
    """Load, subsample and encode one split of a registered dataset (elements in ``order``,
    see :func:`matfusion.models.encoding_order`)."""
    frame = load_split(dataset, split, fold=fold)
    n_full = len(frame)
    frame = subsample(frame, max_rows, seed)
    encoded = encode_formulas(frame["formula"].tolist(), element_table(embedding), order=order)
    return SplitData(frame, encoded, split_sha256(dataset, split, fold=fold), n_full)


def model_embedding(model: str) -> str:
    """Which element table a registered model expects."""
    return MODELS[model].embedding


def train_config_for(
    profile: Profile,
    *,
    seed: int,
    epochs: int | None = None,
    device: str = "cpu",
    autocast: bool = False,
) -> TrainConfig:
    """The training settings a profile implies (``epochs`` overrides the profile's) on
    ``device`` (``cpu`` or ``cuda``; ``autocast``: bfloat16)."""
    return TrainConfig(
        recipe=profile.recipe,
        epochs=epochs if epochs is not None else profile.epochs,
        seed=seed,
        device=device,
        autocast=autocast,
    )


def run_config(
    model: str,
    dataset: str,
    *,
    profile: Profile,
    fold: int | None = None,
    seed: int | None = None,
    epochs: int | None = None,
    experiment: str = "train",
    device: str = "cpu",
    autocast: bool = False,
) -> dict[str, Any]:
    """The configuration that identifies a run (and keys it in the results store).

    A peer (:mod:`matfusion.baselines`) has the same fields; ``train`` holds its own
    settings and ``embedding`` its input representation. ``device`` (``cpu``, ``cuda`` or
    ``auto``, resolved here for this machine) is part of the run: a GPU run is its own
    record; the default CPU run's configuration is the one stored runs have. ``autocast``
    (bfloat16) applies to our models and appears in the configuration only when on."""
    device = resolve_device(device, check=False)
    if is_peer(model):
        return peer_config(
            model, dataset, profile=profile, fold=fold, seed=seed, epochs=epochs,
            experiment=experiment, device=device,
        )  # fmt: skip
    if model not in MODELS:  # --model takes models and peers: suggest from both
        raise unknown_name("model", model, [*MODELS, *PEERS])
    seed = profile.seed if seed is None else seed
    train_cfg = train_config_for(
        profile, seed=seed, epochs=epochs, device=device, autocast=autocast
    )
    config = _config(
        experiment, model, dataset, profile, fold, seed,
        d_model=profile.d_model, embedding=model_embedding(model), train=train_cfg.to_dict(),
    )  # fmt: skip
    # where paper A is silent, which reading built the model (peers have their own code)
    config["conventions"] = get_conventions(profile.conventions).to_dict()
    return config


def run_conventions(config: dict[str, Any]):
    """The :class:`~matfusion.models.Conventions` a run's config names (a config made before
    conventions were recorded has none: it means ``matfusion-v1``)."""
    return get_conventions(config.get("conventions") or "matfusion-v1")


def _config(
    experiment: str,
    model: str,
    dataset: str,
    profile: Profile,
    fold: int | None,
    seed: int,
    *,
    d_model: int | None,
    embedding: str,
    train: dict[str, Any],
) -> dict[str, Any]:
    """The fields every run configuration has, models and peers alike."""
    return {
        "experiment": experiment,
        "record_version": RECORD_VERSION,
        "model": model,
        "dataset": get_dataset(dataset).name,
        "fold": fold,
        "profile": profile.name,
        "max_train_rows": profile.max_train_rows,
        "max_eval_rows": profile.max_eval_rows,
        "d_model": d_model,
        "embedding": embedding,
        "seed": seed,
        "train": train,
    }


def peer_config(
    model: str,
    dataset: str,
    *,
    profile: Profile,
    fold: int | None = None,
    seed: int | None = None,
    epochs: int | None = None,
    experiment: str = "train",
    device: str = "cpu",
) -> dict[str, Any]:
    """The configuration of a peer run: same fields as :func:`run_config`. A torch peer
    (:data:`DEVICE_PEERS`) off the CPU has ``device`` in its settings; on the CPU its
    settings are those of the stored runs (they predate the option)."""
    spec = get_peer(model)
    seed = profile.seed if seed is None else seed
    settings = spec.settings_for(profile, seed, epochs)
    device = resolve_device(device, check=False)
    if device != "cpu" and model in DEVICE_PEERS:
        settings["device"] = device
    return _config(
        experiment, model, dataset, profile, fold, seed,
        d_model=settings.get("d_model"), embedding=spec.features, train=settings,
    )  # fmt: skip


def score_splits(
    frames: dict[str, pd.DataFrame],
    predictions: dict[str, tuple[np.ndarray, np.ndarray | None]],
) -> tuple[dict[str, float], pd.DataFrame]:
    """Metrics per split (``<split>_<metric>``) and the test predictions as a frame
    (formula, target, prediction, uncertainty; NaN uncertainty when a model gives none)."""
    metrics: dict[str, float] = {}
    for split, frame in frames.items():
        mean, _std = predictions[split]
        for name, value in regression_metrics(frame["target"].to_numpy(), mean).items():
            metrics[f"{split}_{name}"] = value
    mean, std = predictions["test"]
    test_frame = pd.DataFrame(
        {
            "formula": frames["test"]["formula"],
            "target": frames["test"]["target"].to_numpy(),
            "prediction": mean,
            "uncertainty": std if std is not None else np.nan,
        }
    )
    return metrics, test_frame


def compact_test_values(test_frame: pd.DataFrame) -> dict[str, list[float]]:
    """Targets and predictions on the test split, in its order, to 6 significant digits: kept
    in the record (a few kB per thousand compounds) so paired bootstrap intervals and the
    spread over seeds need no checkpoint and no user cache."""

    def rounded(values: Any) -> list[float]:
        return [float(f"{v:.6g}") for v in np.asarray(values, dtype=float)]

    return {
        "target": rounded(test_frame["target"]),
        "prediction": rounded(test_frame["prediction"]),
    }


def stored_test_values(record: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """``(target, prediction)`` on a run's test split: from the record, else from the
    predictions file a run of an older version left in the user cache."""
    stored = record.get("test_values")
    if stored is not None:
        return np.asarray(stored["target"]), np.asarray(stored["prediction"])
    frame = load_test_predictions(record)
    return frame["target"].to_numpy(), frame["prediction"].to_numpy()


def run_peer(
    config: dict[str, Any], store: ResultsStore, *, force: bool = False, progress: bool = True
) -> dict[str, Any]:
    """Train and score a peer on the same (subsampled) splits our models see and store a
    record with the same schema as :func:`run_training`'s (``checkpoint`` is None: peers
    keep no weights)."""
    spec = get_peer(config["model"])
    started = time.perf_counter()
    splits = _peer_splits(config)
    result = spec.fit_predict()(
        splits["train"][0], splits["val"][0], splits["test"][0], dict(config["train"]), progress
    )
    for split, (frame, _n, _sha) in splits.items():
        mean, _std = result.predictions[split]
        if len(mean) != len(frame):
            raise RuntimeError(
                f"{config['model']} returned {len(mean)} {split} predictions for {len(frame)} rows"
            )
    metrics, test_frame = score_splits({s: v[0] for s, v in splits.items()}, result.predictions)
    wall = time.perf_counter() - started
    stem = _run_stem(config, store)
    predictions_file = stem.with_name(stem.name + "-test-predictions.csv")
    with atomic_write(predictions_file) as fh:
        test_frame.to_csv(fh, index=False)
    record = {
        "config": config,
        "metrics": metrics,
        "sizes": {s: len(v[0]) for s, v in splits.items()},
        "full_sizes": {s: v[1] for s, v in splits.items()},
        "data_sha256": {s: v[2] for s, v in splits.items()},
        "history": result.history,
        "best_epoch": result.best_epoch,
        "epochs_run": len(result.history),
        "train_wall_time_s": result.train_wall_time_s,
        "wall_time_s": wall,
        "train_samples_per_s": result.train_samples_per_s,
        "inference_samples_per_s": (
            sum(len(v[0]) for v in splits.values()) / result.inference_s
            if result.inference_s
            else None
        ),
        "n_parameters": result.n_parameters,
        "train_settings": result.settings,
        "peer": spec.description,
        "checkpoint": None,
        "test_predictions": str(predictions_file),
        "test_values": compact_test_values(test_frame),
        "test_predictions_sha256": sha256_file(predictions_file),
        "provenance": provenance.collect(device=config["train"].get("device", "cpu")),
    }
    _put_last(store, config, record, force=force, written=[predictions_file])
    return {**record, "cache_hit": False}


def _peer_splits(
    config: dict[str, Any], *, verbose: bool = True
) -> dict[str, tuple[pd.DataFrame, int, str]]:
    """The (subsampled) splits a peer run trains on: {split: (frame, full rows, sha256)}."""
    splits = {}
    for split in ("train", "val", "test"):
        frame = load_split(config["dataset"], split, fold=config["fold"], verbose=verbose)
        limit = config["max_train_rows"] if split == "train" else config["max_eval_rows"]
        splits[split] = (
            subsample(frame, limit, config["seed"]),
            len(frame),
            split_sha256(config["dataset"], split, fold=config["fold"]),
        )
    return splits


def _run_stem(config: dict[str, Any], store: ResultsStore) -> Path:
    """Where one run's side files go: ``<experiment>-<key>-<run id>`` in the checkpoints
    folder. The run id keeps two runs of one config (a ``--force`` rerun, a process that
    did not take the lock) from writing over each other's files or the stored record's."""
    key = store.key_for(config)
    return checkpoints_dir() / f"{config['experiment']}-{key}-{uuid.uuid4().hex[:8]}"


def _put_last(
    store: ResultsStore,
    config: dict[str, Any],
    record: dict[str, Any],
    *,
    force: bool,
    written: list[Path],
) -> None:
    """Store ``record`` after its side files (``written``) are in place, so a record never
    names a file that is not (yet) there. If the put fails the run's files go; after a
    forced replace the replaced run's own files go (they belong to no record any more)."""
    old = None
    if force:
        try:
            old = store.get(config)
        except CorruptRecordError:
            old = None  # what --force is for: the corrupt record is replaced below
    try:
        store.put(config, record, overwrite=force)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    if old is None:
        return
    prefix = f"{config['experiment']}-{store.key_for(config)}"
    folder = checkpoints_dir().resolve()
    for name in ("checkpoint", "test_predictions"):
        if not old.get(name):
            continue
        path = Path(old[name])
        if path in written or path.parent.resolve() != folder:
            continue
        if path.name.startswith(prefix):
            path.unlink(missing_ok=True)


#: Config fields a larger profile's run may differ in when it stands in for a smaller
#: profile's: the profile's name and its row caps. In ``train`` the recipe and the epoch
#: settings (names starting with ``epochs``) may differ too: see :func:`find_reusable`.
SIZE_FIELDS: tuple[str, ...] = ("profile", "max_train_rows", "max_eval_rows")


def _is_budget_setting(name: str) -> bool:
    """A ``train`` setting that is part of a profile's size (its training budget)."""
    return name == "recipe" or name.startswith("epochs")


def standin_config(config: dict[str, Any], larger: Profile) -> dict[str, Any]:
    """The configuration a run of the ``larger`` profile must have to answer ``config``:
    ``config`` with only the size replaced by ``larger``'s (see :func:`find_reusable`)."""
    theirs = run_config(
        config["model"], config["dataset"], profile=larger, fold=config["fold"],
        seed=config["seed"], experiment=config["experiment"],
    )  # fmt: skip
    want = copy.deepcopy(config)
    for name in SIZE_FIELDS:
        want[name] = theirs[name]
    budget = {k: v for k, v in theirs["train"].items() if _is_budget_setting(k)}
    want["train"] = {**want["train"], **budget}
    return want


def find_reusable(
    store: ResultsStore, config: dict[str, Any], profiles: tuple[str, ...]
) -> dict[str, Any] | None:
    """A stored run of a larger profile (the first of ``profiles`` that has one) that may
    answer for ``config``, marked ``reused_for_profile``; None if there is none.

    It must match ``config`` in every setting but the size, so it is the same experiment
    grown, never another seed or width. The size is: the profile's name, ``max_train_rows``
    and ``max_eval_rows``, and in ``train`` the recipe and the epoch budget (``epochs``, and
    for peers ``epochs_requested``/``epochs_step``), taken from the larger profile. Everything
    else must be equal: experiment, record version, model, dataset, fold, seed, ``d_model``,
    embedding and the rest of ``train`` (its seed, jitter, device, a peer's width or trees).
    The lookup is one read by key; a corrupt candidate is skipped with a warning."""
    for name in profiles:
        record = store.get(standin_config(config, get_profile(name)), skip_corrupt=True)
        if record is not None:
            return {**record, "reused_for_profile": config["profile"]}
    return None


def check_seed(seed: Any) -> int | None:
    """``seed`` as an int, or None (the profile's): a negative or fractional seed is an
    error here rather than numpy's when a split is subsampled."""
    if seed is None:
        return None
    try:
        value = operator.index(seed)
    except TypeError:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}") from None
    if value < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return value


def trained_as(model: str) -> str:
    """The model whose runs answer for ``model``: its ``same_as`` target, else itself."""
    spec = MODELS.get(model, None)
    return spec.same_as if spec is not None and spec.same_as else model


def stored_training(
    model: str,
    dataset: str,
    *,
    profile: str | Profile = "standard",
    fold: int | None = None,
    seed: int | None = None,
    epochs: int | None = None,
    store: ResultsStore | None = None,
    reuse_larger: bool = True,
    device: str = "cpu",
    autocast: bool = False,
) -> dict[str, Any] | None:
    """The record :func:`run_training` would return from the store, or None where it would
    have to train: chapters that must not train under a profile show such cells as missing.
    A ``same_as`` alias is answered with its target's record, marked ``alias``.
    ``reuse_larger=False`` refuses a larger profile's run (a learning-curve point needs a run
    of its own size). ``device``/``autocast``: as :func:`run_config` (a CUDA run answers only
    for CUDA)."""
    target = trained_as(model)
    seed = check_seed(seed)
    prof = get_profile(profile) if isinstance(profile, str) else profile
    store = store or ResultsStore()
    config = run_config(
        target, dataset, profile=prof, fold=fold, seed=seed, epochs=epochs, device=device,
        autocast=autocast,
    )  # fmt: skip
    record = store.get(config)
    # A larger profile's run stands in only for the profile as named: a run asked for with
    # other caps (e.g. 300 training rows) or epochs is its own experiment.
    reusable = reuse_larger and epochs is None and prof == get_profile(prof.name)
    if record is None and reusable:
        record = find_reusable(store, config, prof.reuse_profiles)
    if record is None:
        return None
    record = {**record, "cache_hit": True}
    return record if target == model else {**record, "alias": model}


def run_training(
    model: str,
    dataset: str,
    *,
    profile: str | Profile = "standard",
    fold: int | None = None,
    seed: int | None = None,
    epochs: int | None = None,
    store: ResultsStore | None = None,
    force: bool = False,
    progress: bool = True,
    keep_checkpoint: bool = True,
    reuse_larger: bool = True,
    device: str = "cpu",
    autocast: bool = False,
) -> dict[str, Any]:
    """Train ``model`` on ``dataset`` under ``profile`` and return its record.

    ``device`` is ``cpu`` (default: the stored runs' device), ``cuda`` or ``auto`` (CUDA
    when torch sees a GPU); it is part of the run's configuration, so a GPU run is its own
    record (with the GPU and any SLURM job in its provenance). ``cuda`` without a GPU is a
    ``ValueError`` when the run has to train. ``autocast`` trains our models under bfloat16
    autocast (another record too).

    The store is consulted first: an identical configuration is a cache hit; for a
    profile that reuses larger ones (``standard`` reuses ``paper``), a stored larger run
    stands in (unless ``reuse_larger`` is False) and the record says so
    (``reused_for_profile``). ``force`` retrains and
    overwrites. A model registered ``same_as`` another is answered with that model's run,
    marked ``alias``.

    Look-up, training and storing run under the config's lock in the store, so a second
    process with the same config waits and is answered by the first one's record; the run's
    files get run-unique names and the record is written last.
    """
    # the public entry point: a profile name is resolved here, once (callees take a Profile)
    prof = get_profile(profile) if isinstance(profile, str) else profile
    target = trained_as(model)
    if target != model:
        record = run_training(
            target,
            dataset,
            profile=prof,
            fold=fold,
            seed=seed,
            epochs=epochs,
            store=store,
            force=force,
            progress=progress,
            keep_checkpoint=keep_checkpoint,
            reuse_larger=reuse_larger,
            device=device,
            autocast=autocast,
        )
        return {**record, "alias": model}
    seed = check_seed(seed)
    store = store or ResultsStore()
    device = resolve_device(device, check=False)
    config = run_config(
        model, dataset, profile=prof, fold=fold, seed=seed, epochs=epochs, device=device,
        autocast=autocast,
    )  # fmt: skip
    lookup = {
        "profile": prof, "fold": fold, "seed": seed, "epochs": epochs, "store": store,
        "reuse_larger": reuse_larger, "device": device, "autocast": autocast,
    }  # fmt: skip
    if not force:
        found = stored_training(model, dataset, **lookup)
        if found is not None:
            return found
    if config["train"].get("device") == "cuda" and not cuda_available():
        raise ValueError(no_cuda_message())  # before the lock: one line, nothing written
    waiting = (
        f"[matfusion] waiting for another process training the same config ({model} on "
        f"{config['dataset']}, profile {prof.name}); its record will answer this run"
    )
    with store.lock(config, waiting=waiting):
        if not force:
            found = stored_training(model, dataset, **lookup)  # stored while we waited?
            if found is not None:
                return found
        if is_peer(model):
            return run_peer(config, store, force=force, progress=progress)
        return _train_model(
            config, prof, store, force=force, progress=progress, keep_checkpoint=keep_checkpoint
        )


def _train_model(
    config: dict[str, Any],
    prof: Profile,
    store: ResultsStore,
    *,
    force: bool,
    progress: bool,
    keep_checkpoint: bool,
) -> dict[str, Any]:
    """Train, score and store one registered model's run (the caller holds the lock)."""
    dataset, fold, model = config["dataset"], config["fold"], config["model"]
    configure_threads(None)
    set_seed(config["seed"])
    started = time.perf_counter()
    embedding = config["embedding"]
    conventions = run_conventions(config)
    splits = {
        split: load_encoded(
            dataset,
            split,
            fold=fold,
            max_rows=prof.max_train_rows if split == "train" else prof.max_eval_rows,
            seed=config["seed"],
            embedding=embedding,
            order=encoding_order(conventions),
        )
        for split in ("train", "val", "test")
    }
    table = element_table(embedding)
    net = build_model(model, table.vectors, d_model=prof.d_model, conventions=conventions)
    train_cfg = TrainConfig(**config["train"])
    result = fit(
        net,
        splits["train"].encoded,
        splits["train"].frame["target"].to_numpy(),
        splits["val"].encoded,
        splits["val"].frame["target"].to_numpy(),
        train_cfg,
        progress=progress,
    )
    t0 = time.perf_counter()
    outputs = {
        split: predict(result.model, result.scaler, data.encoded) for split, data in splits.items()
    }
    inference_s = time.perf_counter() - t0
    n_inferred = sum(len(data.frame) for data in splits.values())
    metrics, test_frame = score_splits({s: d.frame for s, d in splits.items()}, outputs)
    wall = time.perf_counter() - started

    stem = _run_stem(config, store)
    written: list[Path] = []
    try:
        checkpoint = None
        if keep_checkpoint:
            checkpoint = stem.with_suffix(".pt")
            save_checkpoint(checkpoint, result.model, result.scaler, {"config": config})
            written.append(checkpoint)
        # Predictions are large for the OQMD sets: kept beside the checkpoint, not in the repo.
        predictions_file = stem.with_name(stem.name + "-test-predictions.csv")
        with atomic_write(predictions_file) as fh:
            test_frame.to_csv(fh, index=False)
        written.append(predictions_file)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    record = {
        "config": config,
        "metrics": metrics,
        "sizes": {s: len(d.frame) for s, d in splits.items()},
        "full_sizes": {s: d.n_full for s, d in splits.items()},
        "data_sha256": {s: d.sha256 for s, d in splits.items()},
        "history": result.history,
        "best_epoch": result.best_epoch,
        "epochs_run": len(result.history),
        "train_wall_time_s": result.wall_time_s,
        "wall_time_s": wall,
        "train_samples_per_s": result.samples_per_s,
        "inference_samples_per_s": n_inferred / inference_s if inference_s > 0 else None,
        "n_parameters": int(sum(p.numel() for p in result.model.parameters())),
        "train_settings": result.settings,
        "checkpoint": str(checkpoint) if checkpoint else None,
        "checkpoint_sha256": sha256_file(checkpoint) if checkpoint else None,
        "test_predictions": str(predictions_file),
        "test_values": compact_test_values(test_frame),
        "test_predictions_sha256": sha256_file(predictions_file),
        "provenance": provenance.collect(device=train_cfg.device),
    }
    _put_last(store, config, record, force=force, written=written)
    return {**record, "cache_hit": False}


def load_test_predictions(record: dict[str, Any]) -> pd.DataFrame:
    """The test-set predictions of a run (formula, target, prediction, uncertainty).

    They live in the user cache beside the checkpoint; a record from another machine
    has none there, which is a clear error rather than an empty plot.
    """
    path = record.get("test_predictions")
    if not path or not Path(path).is_file():
        raise FileNotFoundError(
            f"no stored test predictions for {record['config']['model']} on "
            f"{record['config']['dataset']} (rerun with force=True to recreate them)"
        )
    return pd.read_csv(path)


def load_trained(checkpoint: str | Path):
    """Rebuild a model and its target scaler from a checkpoint written by a run."""

    def build(name: str, config: dict[str, Any]):
        table = element_table(model_embedding(name))
        return build_model(
            name, table.vectors, d_model=config["d_model"], **config.get("params", {})
        )

    return load_checkpoint(Path(checkpoint), build)


def results_table(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Flatten run records into one row each: the columns notebooks print."""
    rows = []
    for rec in records:
        cfg = rec["config"]
        rows.append(
            {
                "model": rec.get("alias") or cfg["model"],
                "trained_as": cfg["model"],
                "dataset": cfg["dataset"],
                "fold": cfg["fold"],
                "profile": cfg["profile"],
                "n_train": rec["sizes"]["train"],
                "epochs_run": rec["epochs_run"],
                "best_epoch": rec["best_epoch"],
                **{k: v for k, v in rec["metrics"].items()},
                "train_samples_per_s": rec.get("train_samples_per_s"),
                "wall_time_s": rec.get("wall_time_s"),
                "source": (
                    f"stored {cfg['profile']} run"
                    if rec.get("reused_for_profile")
                    else ("stored (cache hit)" if rec.get("cache_hit") else "trained now")
                ),
            }
        )
    return pd.DataFrame(rows)


def trained_model(record: dict[str, Any], *, progress: bool = False):
    """The model behind a training record, retraining it when its checkpoint is not on
    this machine (records are committed, checkpoints are not). Same seed and machine give
    the same weights; the retrained record replaces the stored one and says so."""
    if is_peer(record["config"]["model"]):
        raise ValueError(
            f"{record['config']['model']} is a peer model: its runs keep predictions, not weights"
        )
    path = record.get("checkpoint")
    if not path or not Path(path).is_file():
        cfg = record["config"]
        print(
            f"[matfusion] checkpoint of {cfg['model']} on {cfg['dataset']} ({cfg['profile']}) "
            "is not on this machine: retraining it",
            flush=True,
        )
        profile = replace(
            get_profile(cfg["profile"]),
            max_train_rows=cfg["max_train_rows"],
            max_eval_rows=cfg["max_eval_rows"],
            d_model=cfg["d_model"],
            recipe=cfg["train"]["recipe"],
            conventions=run_conventions(cfg).name,
        )
        record = run_training(
            cfg["model"],
            cfg["dataset"],
            profile=profile,
            fold=cfg["fold"],
            seed=cfg["seed"],
            epochs=cfg["train"]["epochs"],
            force=True,
            progress=progress,
            device=cfg["train"].get("device", "cpu"),
            autocast=cfg["train"].get("autocast", False),
        )
        if record["config"] != cfg:
            raise RuntimeError("retraining did not reproduce the stored configuration")
        path = record["checkpoint"]
    model, scaler, _meta = load_trained(path)
    return model, scaler


def run_cecv(
    train_record: dict[str, Any],
    *,
    anchor: str | None = "Si",
    split: str = "test",
    thresholds: tuple[float, ...] | None = None,
    mode: str = "authors",
    layer: str | None = None,
    store: ResultsStore | None = None,
    progress: bool = False,
    retrain: bool = True,
) -> dict[str, Any] | None:
    """CECV of a trained run over the ``split`` compounds containing ``anchor``, stored in the
    results store (experiment ``cecv``) so the book reuses it without the checkpoint.

    Not stored: computed from the run's checkpoint (seconds); where the checkpoint is not on
    this machine the model is retrained (minutes), or, with ``retrain=False``, None."""
    from matfusion.analysis.cecv import DEFAULT_THRESHOLDS, model_cecv

    store = store or ResultsStore()
    train_cfg = train_record["config"]
    config = {
        "experiment": "cecv",
        "record_version": RECORD_VERSION,
        "profile": train_cfg["profile"],
        "train_key": store.key_for(train_cfg),
        "model": train_cfg["model"],
        "dataset": train_cfg["dataset"],
        "fold": train_cfg["fold"],
        "split": split,
        "anchor": anchor,
        "thresholds": list(thresholds or DEFAULT_THRESHOLDS),
        "mode": mode,
        "layer": layer,
    }
    hit = store.get(config)
    if hit is not None:
        return {**hit, "cache_hit": True}
    if not retrain and not Path(train_record.get("checkpoint") or "").is_file():
        return None
    model, _scaler = trained_model(train_record, progress=progress)
    started = time.perf_counter()
    frame = load_split(train_cfg["dataset"], split, fold=train_cfg["fold"], verbose=False)
    encoded = encode_formulas(
        frame["formula"].tolist(),
        element_table(train_cfg["embedding"]),
        order=encoding_order(model),
    )
    result = model_cecv(
        model, encoded, anchor=anchor, layer=layer, thresholds=config["thresholds"], mode=mode
    )
    record = {
        **result.as_dict(),
        "layer_used": layer or model.default_efm_layer,
        "n_split": len(frame),
        "seconds": time.perf_counter() - started,
        "provenance": provenance.collect(),
    }
    store.put(config, record)
    return {**store.get(config), "cache_hit": False}


def run_analysis(
    kind: str,
    train_records: dict[str, dict[str, Any]],
    params: dict[str, Any],
    compute,
    *,
    store: ResultsStore | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """An analysis of trained models, stored in the results store (experiment ``interpret``).

    ``train_records`` maps labels to training records; ``compute(models)`` receives
    ``{label: (model, scaler)}`` and returns a JSON-able dict. The configuration (kind,
    params and the keys of the training runs) identifies the record, so the book redraws a
    figure from the store without checkpoints, and a changed model or parameter recomputes.
    """
    store = store or ResultsStore()
    profiles = {rec["config"]["profile"] for rec in train_records.values()}
    if len(profiles) != 1:
        raise ValueError(f"runs of one analysis must share a profile, got {sorted(profiles)}")
    config = {
        "experiment": "interpret",
        "record_version": RECORD_VERSION,
        "kind": kind,
        "profile": profiles.pop(),
        "train_keys": {label: store.key_for(rec["config"]) for label, rec in train_records.items()},
        "models": {label: rec["config"]["model"] for label, rec in train_records.items()},
        "datasets": {label: rec["config"]["dataset"] for label, rec in train_records.items()},
        "params": params,
    }
    hit = store.get(config)
    if hit is not None:
        return {**hit, "cache_hit": True}
    models = {label: trained_model(rec, progress=progress) for label, rec in train_records.items()}
    started = time.perf_counter()
    result = compute(models)
    record = {
        "result": result,
        "seconds": time.perf_counter() - started,
        "provenance": provenance.collect(),
    }
    store.put(config, record)
    return {**store.get(config), "cache_hit": False}


#: Peers whose element features the CECV can read (a hook on their encoder).
CECV_PEERS: tuple[str, ...] = ("CrabNet",)


def peer_cecv_config(
    model: str,
    dataset: str,
    *,
    profile: Profile | str,
    fold: int | None = None,
    seed: int | None = None,
    anchor: str | None = "Si",
    mode: str = "authors",
    thresholds: tuple[float, ...] | None = None,
    order: str | None = None,
) -> dict[str, Any]:
    """The configuration of a peer's CECV (experiment ``peer_cecv``): the peer run's own
    configuration (profile, settings, seed, data hashes) plus what the CECV is taken over.
    Built from inputs only, so a lookup needs no training. ``order`` (the EFM row order the
    CECV compares in) defaults to the profile's conventions, the order of the models the
    book draws beside the peer."""
    from matfusion.analysis.cecv import DEFAULT_THRESHOLDS, MODES
    from matfusion.featurize import ELEMENT_ORDERS

    if model not in CECV_PEERS:
        raise ValueError(f"the CECV of a peer is implemented for {CECV_PEERS}, not {model!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    prof = get_profile(profile) if isinstance(profile, str) else profile
    order = order or encoding_order(prof.conventions)
    if order not in ELEMENT_ORDERS:
        raise ValueError(f"order must be one of {ELEMENT_ORDERS}, got {order!r}")
    run = peer_config(model, dataset, profile=prof, fold=fold, seed=check_seed(seed))
    return {
        **run,
        "experiment": "peer_cecv",
        "train_key": key_for(run),
        "data_sha256": {
            s: split_sha256(run["dataset"], s, fold=run["fold"]) for s in ("train", "val", "test")
        },
        "cecv": {
            "split": "test",
            "anchor": anchor,
            "thresholds": list(thresholds or DEFAULT_THRESHOLDS),
            "mode": mode,
            "order": order,
        },
    }


def run_peer_cecv(
    model: str,
    dataset: str,
    *,
    profile: Profile | str,
    fold: int | None = None,
    seed: int | None = None,
    anchor: str | None = "Si",
    mode: str = "authors",
    thresholds: tuple[float, ...] | None = None,
    order: str | None = None,
    store: ResultsStore | None = None,
    force: bool = False,
    missing: str = "compute",
    progress: bool = False,
) -> dict[str, Any] | None:
    """CECV of a peer's own element features (Figures 7b and 11b), stored in the results
    store so the book reads it without retraining.

    Peers keep no weights, so the peer is trained again exactly as its grid run
    (:func:`peer_config`: same profile, settings, seed and subsampled splits) and its EFMs
    are read in the same process (:func:`matfusion.baselines.crabnet.crabnet_efms`) over the
    full test split's compounds containing ``anchor``, as :func:`run_cecv` does for our
    models. The record also keeps the retrained run's test MAE (to compare with the grid
    run's) and the CECV in the other element order. ``missing="skip"``: None instead of
    training when the record is not stored."""
    from matfusion.analysis.cecv import anchor_mask, cecv
    from matfusion.baselines.crabnet import crabnet_efms, fit_predict
    from matfusion.featurize import ELEMENT_ORDERS
    from matfusion.results import cached_run

    if missing not in ("compute", "skip"):
        raise ValueError(f"missing must be 'compute' or 'skip', not {missing!r}")
    store = store or ResultsStore()
    config = peer_cecv_config(
        model, dataset, profile=profile, fold=fold, seed=seed, anchor=anchor, mode=mode,
        thresholds=thresholds, order=order,
    )  # fmt: skip
    if not force and store.get(config) is None and missing == "skip":
        return None
    spec = config["cecv"]

    def compute() -> dict[str, Any]:
        started = time.perf_counter()
        splits = _peer_splits(config, verbose=progress)
        full_test = load_split(config["dataset"], "test", fold=config["fold"], verbose=False)
        encoded = encode_formulas(full_test["formula"].tolist(), order=spec["order"])
        keep = np.flatnonzero(anchor_mask(encoded.elements, spec["anchor"]))
        if len(keep) == 0:
            raise ValueError(f"no test compound of {config['dataset']} contains {anchor}")
        formulas = full_test["formula"].iloc[keep].tolist()
        result = fit_predict(
            splits["train"][0], splits["val"][0], splits["test"][0], dict(config["train"]),
            progress, after_fit=lambda net: crabnet_efms(net, formulas, spec["order"]),
        )  # fmt: skip
        efms = result.after_fit
        metrics, _ = score_splits({s: v[0] for s, v in splits.items()}, result.predictions)
        main = cecv(efms, spec["thresholds"], spec["mode"])
        by_order = {spec["order"]: main.counts}
        for other in ELEMENT_ORDERS:
            if other != spec["order"]:
                other_rows = encode_formulas(formulas, order=other).elements
                by_order[other] = cecv(
                    [_reorder(e, encoded.elements[i], other_rows[j])
                     for j, (i, e) in enumerate(zip(keep, efms, strict=True))],
                    spec["thresholds"], spec["mode"],
                ).counts  # fmt: skip
        return {
            **main.as_dict(),
            "cecv_by_order": by_order,
            "n_split": len(full_test),
            "n_anchor_compounds": len(formulas),
            "efm": "CrabNet's encoder output (EDM'' after the transformer), padding dropped",
            "efm_width": int(efms[0].shape[1]),
            "retrained_metrics": {k: v for k, v in metrics.items() if k.startswith("test_")},
            "train_settings": result.settings,
            "train_wall_time_s": result.train_wall_time_s,
            "seconds": time.perf_counter() - started,
            "provenance": provenance.collect(device=config["train"].get("device", "cpu")),
        }

    waiting = f"[matfusion] waiting for another process computing {model}'s CECV on {dataset}"
    return cached_run(store, config, compute, force=force, waiting=waiting)


def _reorder(efm: np.ndarray, elements: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rows of ``efm`` (one per element of ``elements``, padding excluded) in the order of
    ``target`` (the same compound's atomic numbers in another order, 0 = padding)."""
    row_of = {int(z): j for j, z in enumerate(elements[elements != 0])}
    return efm[[row_of[int(z)] for z in target[target != 0]]]
