"""Paper B's experiments: 5-fold CV, leave-one-element-out, the external structures and the
comparisons of density sources (provider and valence setting), one stored record per run.

Every (model, target, fold or element, repeat) run is one record in the results store
(experiments ``ecd_cv``, ``ecd_loeo``, ``ecd_external``, ``ecd_density_diff``), keyed by its
full configuration (:func:`_config`) and carrying its test predictions, so tables and parity
plots are rebuilt from files (:mod:`matfusion.ecd.tables`), an interrupted sweep resumes, and
the book reuses committed runs instead of retraining. Records are stored through
:func:`matfusion.results.cached_run` (one process per config, under the store's lock); a
config's text must not change for the same settings, or the stored runs stop resolving.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from matfusion import provenance
from matfusion.ecd.data import (
    contains_any,
    load_ecd_dataset,
    load_external_set,
    loeo_elements,
    loeo_split,
    structures,
)
from matfusion.ecd.density import DENSITY_SOURCES, PROVIDERS, get_provider, parse_sources
from matfusion.ecd.fitting import (
    RECORD_VERSION,
    TARGETS,
    EcdInputs,
    ecd_magpie,
    ensure_density,
    fit_predict,
    kfold_indices,
    prepare_inputs,
)
from matfusion.ecd.models import ECD_MODELS, get_ecd_model
from matfusion.ecd.settings import (
    EcdProfile,
    comparison_profile,
    ecd_profile,
    profile_source,
    provider_settings,
    with_source,
)
from matfusion.ecd.tables import at_cap, cv_summary, loeo_summary
from matfusion.registry import unknown_name
from matfusion.results import ResultsStore, cached_run
from matfusion.train.metrics import regression_metrics

__all__ = [
    "DENSITY_MODELS",
    "LOEO_MODELS",
    "RECORD_VERSION",
    "comparison_left_out",
    "comparison_sources",
    "pair_sources",
    "run_all",
    "run_cv",
    "run_density_comparison",
    "run_external",
    "run_loeo",
    "run_provider_comparison",
    "select_sources",
]

#: The paper's LOEO tables compare these four (its fifth, CGCNN, is not reproduced here).
LOEO_MODELS = ("RF+Magpie", "CNN+Magpie", "3D-CNN+ECD", "2D-CNN+ECD")
#: The models whose input is a density: what the provider comparison is about.
DENSITY_MODELS = tuple(m for m, spec in ECD_MODELS.items() if "density" in spec.inputs)


def _check_missing(missing: str) -> None:
    """``missing`` says what to do about a run not stored: "train" it or "skip" it."""
    if missing not in {"train", "skip"}:
        raise ValueError(f"missing must be 'train' or 'skip', not {missing!r}")


def _stored(store: ResultsStore, config: dict[str, Any]) -> dict[str, Any] | None:
    """The stored record of ``config`` marked as a cache hit, or None: the read-only path of
    ``missing="skip"`` (the book's standard profile: no training)."""
    hit = store.get(config)
    return None if hit is None else {**hit, "cache_hit": True}


def _store_run(
    store: ResultsStore,
    config: dict[str, Any],
    compute: Callable[[], dict[str, Any]],
    *,
    force: bool = False,
) -> dict[str, Any]:
    """Compute and store one run through :func:`cached_run` (locked per record)."""
    waiting = (
        f"[matfusion] waiting for another process running {config['experiment']} "
        f"{config.get('model', '')} {config.get('target', '')}; its record will answer this run"
    )
    return cached_run(store, config, compute, force=force, waiting=waiting)


def _part_tag(config: dict[str, Any]) -> dict[str, Any]:
    """The run's checkpoint tag (see :func:`matfusion.ecd.fitting.checkpoint_tag`): its config
    without "experiment", "model" and "density", so a fusion run finds its parts' checkpoints
    under the same tag as the stand-alone CNN+Magpie run (whose config has density=None)."""
    return {k: v for k, v in config.items() if k not in ("experiment", "model", "density")}


def _config(
    experiment: str, name: str, target: str, inputs: EcdInputs, repeat: int, **extra: Any
) -> dict[str, Any]:
    """The config (the record's identity) of one run of ``name`` on ``target``: every setting
    that changes its numbers. Its text must stay the same for the same settings: the stored
    records are found by its hash."""
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
    """One CV or LOEO run: the stored record, or (unless ``missing="skip"``) train, score
    and store it."""
    if missing == "skip":
        return None if force else _stored(store, config)

    def compute() -> dict[str, Any]:
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
            tag=_part_tag(config),
        )
        y = inputs.frame[TARGETS[config["target"]]].to_numpy(dtype=float)[test_rows]
        return {
            "metrics": regression_metrics(y, pred),
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

    return _store_run(store, config, compute, force=force)


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
    _check_missing(missing)
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
    magpie = np.concatenate([inputs.magpie, ecd_magpie(ext["formula"].tolist())])
    combined = EcdInputs(frame, magpie, None, [], prof, inputs.data_sha256)
    train_rows = np.arange(len(inputs.frame))
    test_rows = np.arange(len(inputs.frame), len(frame))
    ids = hashlib.sha256("\n".join(ext["mp_id"]).encode()).hexdigest()[:16]
    out = []
    for t in targets:
        for m in models:
            config = _config("ecd_external", m, t, inputs, 0, external_ids=ids, n_external=len(ext))
            if missing == "skip":
                hit = _stored(store, config)
                if hit is not None:
                    out.append(hit)
                continue

            def compute(m: str = m, t: str = t, seed: int = config["seed"]) -> dict[str, Any]:
                if m in DENSITY_MODELS:
                    ensure_density(combined, progress=progress)
                started = time.perf_counter()
                pred, info = fit_predict(
                    m,
                    combined,
                    t,
                    train_rows,
                    test_rows,
                    seed=seed,
                    progress=progress,
                    tag={"external": ids, "n_materials": len(inputs.frame)},
                )
                return {
                    "predictions": {
                        "id": ext["mp_id"].tolist(),
                        "formula": ext["formula"].tolist(),
                        "pred": [round(float(v), 4) for v in pred],
                    },
                    "best_epoch": info.get("best_epoch"),
                    "wall_time_s": time.perf_counter() - started,
                    "provenance": provenance.collect(),
                }

            out.append(_store_run(store, config, compute))
    return out


def _comparison(profile: str | EcdProfile) -> EcdProfile:
    """The settings of ``profile``'s density-source comparisons
    (:func:`~matfusion.ecd.settings.comparison_profile`)."""
    return comparison_profile(ecd_profile(profile) if isinstance(profile, str) else profile)


def pair_sources(profile: str | EcdProfile = "standard") -> tuple[str, str]:
    """The two-provider comparison: promolecular and GPAW densities under the profile's
    valence setting (``standard``: both all-electron, as its stored comparison runs; the
    comparisons run under :func:`~matfusion.ecd.settings.comparison_profile`)."""
    prof = _comparison(profile)
    return profile_source(prof, "promolecular"), profile_source(prof, "gpaw")


def comparison_sources(profile: str | EcdProfile = "standard", design: str = "cv") -> tuple:
    """The density sources a comparison runs by default (CV and LOEO alike): the promolecular
    density of the profile's valence setting, GPAW with the same setting and GPAW with the
    other one (``standard``: ``promolecular-all-electron``, ``gpaw-all-electron``,
    ``gpaw-valence``), so that one pair changes only the provider (DFT or free atoms) and the
    other only the valence setting (cores or not)."""
    if design not in ("cv", "loeo"):
        raise ValueError(f"design must be 'cv' or 'loeo', not {design!r}")
    prof = _comparison(profile)
    pair = pair_sources(prof)
    other = replace(prof, valence=not prof.valence)
    return (*pair, profile_source(other, "gpaw"))


def _provider_of(name: str) -> str:
    """A source's provider; a provider's name is its own (older callers name providers)."""
    return DENSITY_SOURCES[name].provider if name in DENSITY_SOURCES else PROVIDERS[name].name


def select_sources(only: Sequence[str] | None, sources: Sequence[str]) -> list[str]:
    """The ``sources`` that ``only`` names: source names, or a provider's name for its
    sources among them (``gpaw``: ``gpaw-all-electron`` and ``gpaw-valence``). None: all. A
    name outside ``sources`` is a ``ValueError``."""
    if only is None:
        return list(sources)
    chosen = set()
    for name in only:
        hits = [s for s in sources if name in (s, _provider_of(s))]
        if not hits and name not in DENSITY_SOURCES and name not in PROVIDERS:
            raise unknown_name("density source", name, [*DENSITY_SOURCES, *PROVIDERS])
        if not hits:
            raise ValueError(f"only={list(only)}: {name!r} names no source of {list(sources)} "
                             "(it is outside the comparison)")  # fmt: skip
        chosen.update(hits)
    return [s for s in sources if s in chosen]


def _comparison_set(
    prof: EcdProfile, sources: Sequence[str]
) -> tuple[pd.DataFrame, list[str], list[str] | None]:
    """The full dataset, the elements left out of a comparison of density sources, and the
    kept ids (None: every material without those elements)."""
    full = load_ecd_dataset(verbose=False)
    lacking = _lacking(prof, sources)
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


def _lacking(prof: EcdProfile, sources: Sequence[str]) -> list[str]:
    gpaw = any(_provider_of(s) == "gpaw" for s in sources)
    return sorted(prof.gpaw_exclude_elements) if gpaw else []


def comparison_left_out(
    profile: str | EcdProfile = "standard", sources: Sequence[str] = ("promolecular", "gpaw")
) -> dict[str, Any]:
    """What a comparison of ``sources`` (density sources, or providers' names) leaves out for
    every source: ``left_out_elements`` (those GPAW has no PAW setup for, when a GPAW source
    takes part) and ``left_out_materials`` (how many contain one)."""
    prof = _comparison(profile)
    lacking = _lacking(prof, sources)
    full = load_ecd_dataset(verbose=False)
    return {
        "left_out_elements": lacking,
        "left_out_materials": int(contains_any(full, lacking).sum()),
    }


def run_provider_comparison(
    targets: Sequence[str],
    profile: str | EcdProfile = "standard",
    sources: Sequence[str] | str | None = None,
    *,
    design: str = "cv",
    models: Sequence[str] | None = None,
    only: Sequence[str] | None = None,
    store: ResultsStore | None = None,
    progress: bool = True,
    missing: str = "train",
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The same CV (same materials, folds and seeds) with each density source (names of
    :data:`~matfusion.ecd.density.DENSITY_SOURCES`, or ``"a,b"``; default
    :func:`comparison_sources`); with ``design="loeo"`` the same leave-one-element-out runs
    instead (models ``LOEO_MODELS``, elements chosen once from the shared material set, so
    every source leaves out the same ones). ``only`` runs just those sources' part of the
    comparison (source names, or a provider's name for its sources), on the material set the
    whole comparison uses (one source per process). A source's runs are those of the profile
    with its provider and valence setting (:func:`~matfusion.ecd.settings.with_source`), so
    the stored runs of such a profile answer them; the Magpie-only models read no density and
    share one run between sources. The registered ``standard`` profile runs its comparisons
    under the settings of its first runs (:func:`~matfusion.ecd.settings.comparison_profile`).

    Materials GPAW cannot compute (``gpaw_exclude_elements``: no PAW setup) are left out for
    every source when a GPAW source takes part, so the comparison is paired;
    ``compare_max_materials`` caps the set to the materials with the fewest electrons per
    primitive cell (smoke: a few cheap SCFs). Returns one row per (target, model, source)
    with R2, its spread, RMSE and runs, and the columns ``source`` and ``provider`` (for LOEO:
    one row per element x target x model x source, as :func:`loeo_summary`), and a dict
    saying which elements were left out, how many materials each source ran on
    (``materials``), the ``sources`` in order, and each run's R2 and RMSE (``per_fold``:
    target, model, repeat, fold or element, source, provider, R2, RMSE, at_cap: whether a
    network run trained up to its epoch cap, None for the forest) for paired
    differences; for LOEO also ``elements``, the left-out elements.
    """

    if design not in ("cv", "loeo"):
        raise ValueError(f"design must be 'cv' or 'loeo', not {design!r}")
    prof = _comparison(profile)
    sources = parse_sources(sources) if sources is not None else comparison_sources(prof, design)
    chosen = select_sources(only, sources)
    models = list(models or (ECD_MODELS if design == "cv" else LOEO_MODELS))
    unknown = [m for m in models if m not in ECD_MODELS]
    if unknown:
        raise KeyError(f"unknown ECD model(s) {unknown}; known: {list(ECD_MODELS)}")
    _, lacking, ids = _comparison_set(prof, sources)
    split_key = "fold" if design == "cv" else "element"
    rows, sizes, per_fold, elements = [], {}, [], None
    for source in chosen:
        provider = DENSITY_SOURCES[source].provider
        inputs = prepare_inputs(
            with_source(prof, source),
            need_density=False,
            exclude_elements=lacking,
            mp_ids=ids,
            progress=progress,
            verbose=False,
        )
        sizes[source] = len(inputs.frame)
        if design == "cv":
            records = run_cv(
                models, targets, inputs, store=store, progress=progress, missing=missing
            )
            summary = cv_summary(records).reset_index() if records else None
        else:
            if elements is None:  # the same material set for every source: choose once
                elements = _profile_loeo_elements(inputs.frame, prof)
            records = run_loeo(
                models, targets, inputs, elements, store=store, progress=progress,
                missing=missing,
            )  # fmt: skip
            summary = loeo_summary(records) if records else None
        if summary is not None:
            rows.append(summary.assign(source=source, provider=provider))
        per_fold += [
            {
                **{k: r["config"][k] for k in ("target", "model", "repeat", split_key)},
                "source": source,
                "provider": provider,
                "R2": r["metrics"]["r2"],
                "RMSE": r["metrics"]["rmse"],
                "at_cap": at_cap(r),
            }
            for r in records
        ]
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    columns = ["target", "model", "repeat", split_key, "source", "provider", "R2", "RMSE",
               "at_cap"]  # fmt: skip
    info = {
        **comparison_left_out(prof, sources),
        "sources": list(sources),
        "materials": sizes,
        "per_fold": pd.DataFrame(per_fold, columns=columns),
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

    _check_missing(missing)
    prof = _comparison(profile)
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
    if missing == "skip":
        hit = _stored(store, config)
        return None if hit is None else pd.DataFrame(hit["rows"])

    def compute() -> dict[str, Any]:
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
        return {
            "rows": rows,
            "wall_time_s": time.perf_counter() - started,
            "provenance": provenance.collect(),
        }

    return pd.DataFrame(_store_run(store, config, compute)["rows"])


def run_all(
    profile: str = "standard",
    what: Sequence[str] = ("cv", "loeo"),
    *,
    targets: Sequence[str] = ("bulk", "shear"),
    models: Sequence[str] | None = None,
    progress: bool = True,
) -> dict[str, list[dict[str, Any]]]:
    """Every CV, LOEO and external-set run of a profile (``what``; stored ones are reused):
    what the book reads. ``models`` keeps those of each sweep's models (LOEO has no fusion)."""
    unknown = sorted(set(what) - {"cv", "loeo", "external"})
    if unknown:
        raise ValueError(f"unknown ECD sweep(s) {unknown}; known: cv, loeo, external")

    def chosen(design: Sequence[str]) -> list[str]:
        return [m for m in design if models is None or m in models]

    inputs = prepare_inputs(profile, progress=progress)
    out: dict[str, list[dict[str, Any]]] = {}
    if "cv" in what:
        out["cv"] = run_cv(chosen(ECD_MODELS), targets, inputs, progress=progress)
    if "loeo" in what:
        out["loeo"] = run_loeo(chosen(LOEO_MODELS), targets, inputs, progress=progress)
    if "external" in what:
        external = load_external_set(verbose=False)
        out["external"] = run_external(chosen(ECD_MODELS), targets, inputs, external,
                                       progress=progress)  # fmt: skip
    return out
