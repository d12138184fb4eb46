"""Paper B's dataset, rebuilt from public Materials Project elasticity files.

The paper's FCC2170 set (VASP densities and moduli) is not public. We merge three public MP
elasticity files by mp id (newest MP release wins, each row keeps its source), derive VRH
moduli from the elastic tensor where a file only has the tensor, keep Fm-3m structures without
lanthanides/actinides (the filter is a parameter) and drop unusable moduli with a printed count.
Symmetry analysis of ~5,000 structures takes minutes, so the filtered table is cached on disk
as JSON (data, never code), keyed by the hashes of the input files and the filter settings.

The table's identity in results records (:func:`dataset_sha256`) comes from the same inputs
(file sha256s, filter, the kept mp ids), never from the moduli: those are computed with
``np.linalg.inv``, whose last bits depend on the BLAS kernel of the machine.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from matfusion.config import cache_dir
from matfusion.data.shared import shared_path
from matfusion.io import atomic_write, json_default, sha256_file

__all__ = [
    "ELASTICITY_SOURCES",
    "LANTHANIDES_ACTINIDES",
    "contains_any",
    "dataset_sha256",
    "PAPER_LOEO_ELEMENTS",
    "StructureFilter",
    "apply_filter",
    "composition_shares",
    "element_counts",
    "load_ecd_dataset",
    "load_external_set",
    "loeo_elements",
    "loeo_split",
    "merge_sources",
    "read_source",
    "vrh_from_tensor",
]

#: The three MP elasticity files, newest first: earlier entries win when mp ids collide.
ELASTICITY_SOURCES: tuple[tuple[str, str], ...] = (
    ("mp2025", "elasticity/mp_binary_elasticity_2025.1.json.gz"),
    ("mp_val_clean", "elasticity/mp_elastic_tensors_val_clean.json"),
    ("mp2015", "elasticity/elastic_tensor_2015.json.gz"),
)
EXTERNAL_SOURCE = "external/wbm_random_pbe54_equilibrium_2025.1.json.gz"

#: Elements the paper excludes (La-Lu, Ac-Lr).
LANTHANIDES_ACTINIDES: frozenset[str] = frozenset(
    [
        "La",
        "Ce",
        "Pr",
        "Nd",
        "Pm",
        "Sm",
        "Eu",
        "Gd",
        "Tb",
        "Dy",
        "Ho",
        "Er",
        "Tm",
        "Yb",
        "Lu",
        "Ac",
        "Th",
        "Pa",
        "U",
        "Np",
        "Pu",
        "Am",
        "Cm",
        "Bk",
        "Cf",
        "Es",
        "Fm",
        "Md",
        "No",
        "Lr",
    ]
)

#: The 11 elements of the paper's leave-one-element-out study (present in >= 200 of 2170).
PAPER_LOEO_ELEMENTS: tuple[str, ...] = (
    "F",
    "K",
    "Rb",
    "Cs",
    "Na",
    "Cl",
    "In",
    "Br",
    "Li",
    "Sc",
    "Tl",
)

#: Bump when the meaning or format of the cached table changes (3: JSON instead of pickle).
_CACHE_VERSION = 3
#: Bump when the meaning of :func:`dataset_sha256` changes (records then need a migration).
DATASET_ID_VERSION = 2


# --------------------------------------------------------------------------- moduli


def vrh_from_tensor(tensors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Voigt-Reuss-Hill bulk and shear moduli (GPa) of stacked 6x6 Voigt stiffness tensors.

    Needed because one source gives only the tensor. Shape ``(n, 6, 6)`` -> two ``(n,)``
    arrays; a singular tensor gives NaN (dropped later with a count), never an exception.
    """
    c = np.asarray(tensors, dtype=float)
    if c.ndim == 2:
        c = c[None]
    if c.shape[1:] != (6, 6):
        raise ValueError(f"elastic tensors must be 6x6 (Voigt), got shape {c.shape[1:]}")
    d = np.diagonal(c, axis1=1, axis2=2)
    off = c[:, 0, 1] + c[:, 1, 2] + c[:, 0, 2]
    k_voigt = (d[:, :3].sum(1) + 2 * off) / 9
    g_voigt = (d[:, :3].sum(1) - off + 3 * d[:, 3:].sum(1)) / 15
    s = np.full_like(c, np.nan)
    det = np.linalg.det(c)
    ok = np.isfinite(det) & (np.abs(det) > 1e-12)
    s[ok] = np.linalg.inv(c[ok])
    sd = np.diagonal(s, axis1=1, axis2=2)
    soff = s[:, 0, 1] + s[:, 1, 2] + s[:, 0, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        k_reuss = 1.0 / (sd[:, :3].sum(1) + 2 * soff)
        g_reuss = 15.0 / (4 * sd[:, :3].sum(1) - 4 * soff + 3 * sd[:, 3:].sum(1))
    return (k_voigt + k_reuss) / 2, (g_voigt + g_reuss) / 2


# --------------------------------------------------------------------------- reading


def _structure_json(obj: Any) -> str:
    """A structure as pymatgen-dict JSON text (sources store dicts or their repr)."""
    if isinstance(obj, str):
        import ast

        obj = ast.literal_eval(obj)
    return json.dumps(obj)


def _cif_to_json(cif: str) -> str:
    import warnings

    from pymatgen.core import Structure

    with warnings.catch_warnings():  # "coordinates rounded to ideal values": expected here
        warnings.simplefilter("ignore", UserWarning)
        return json.dumps(Structure.from_str(cif, fmt="cif").as_dict())


def _load_json(path: Path) -> Any:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return json.load(fh)


def read_source(name: str, path: Path) -> pd.DataFrame:
    """One elasticity file as ``mp_id, formula, structure_json, bulk_modulus, shear_modulus,
    source`` (moduli in GPa; VRH, from the tensor where the file has no VRH columns)."""
    doc = _load_json(path)
    if name == "mp2025":
        frame = pd.DataFrame(
            {
                "mp_id": [d["mp_id"] for d in doc],
                "formula": [d["formula"] for d in doc],
                "structure_json": [_structure_json(d["structure"]) for d in doc],
                "bulk_modulus": pd.to_numeric([d["bulk_modulus_vrh"] for d in doc], "coerce"),
                "shear_modulus": pd.to_numeric([d["shear_modulus_vrh"] for d in doc], "coerce"),
            }
        )
    elif name == "mp2015":
        raw = pd.DataFrame(doc["data"], columns=doc["columns"])
        frame = pd.DataFrame(
            {
                "mp_id": raw["material_id"],
                "formula": raw["formula"],
                "structure_json": [_structure_json(s) for s in raw["structure"]],
                "bulk_modulus": pd.to_numeric(raw["K_VRH"], errors="coerce"),
                "shear_modulus": pd.to_numeric(raw["G_VRH"], errors="coerce"),
            }
        )
    elif name == "mp_val_clean":
        ids = list(doc["material_id"])
        tensors = np.array([doc["elasticity.elastic_tensor"][i] for i in ids], dtype=float).reshape(
            -1, 6, 6
        )
        k, g = vrh_from_tensor(tensors)
        structures = [_cif_to_json(doc["cif"][i]) for i in ids]
        frame = pd.DataFrame(
            {
                "mp_id": [doc["material_id"][i] for i in ids],
                "formula": [_formula(s) for s in structures],
                "structure_json": structures,
                "bulk_modulus": k,
                "shear_modulus": g,
            }
        )
    else:
        raise KeyError(f"unknown elasticity source {name!r}")
    frame["source"] = name
    return frame


def _formula(structure_json: str) -> str:
    from pymatgen.core import Structure

    return Structure.from_dict(json.loads(structure_json)).composition.reduced_formula


def merge_sources(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Union by ``mp_id``; the first frame holding an id wins (pass newest first)."""
    if not frames:
        raise ValueError("no elasticity sources to merge")
    merged = pd.concat(frames, ignore_index=True)
    merged = merged.drop_duplicates("mp_id", keep="first").reset_index(drop=True)
    return merged


def drop_bad_moduli(frame: pd.DataFrame, *, verbose: bool = True) -> pd.DataFrame:
    """Drop rows whose bulk or shear modulus is non-finite or <= 0, printing how many."""
    k = frame["bulk_modulus"].to_numpy(float)
    g = frame["shear_modulus"].to_numpy(float)
    good = np.isfinite(k) & np.isfinite(g) & (k > 0) & (g > 0)
    if verbose:
        print(
            f"ecd data: dropped {int((~good).sum())} of {len(frame)} rows with non-positive or "
            "non-finite bulk/shear modulus",
            flush=True,
        )
    return frame.loc[good].reset_index(drop=True)


# --------------------------------------------------------------------------- filtering


@dataclass(frozen=True)
class StructureFilter:
    """Which structures enter the dataset: a space group (or None for any) and excluded elements.

    The default is the paper's: Fm-3m (225) at symprec 0.1, no lanthanides or actinides.
    """

    spacegroup: int | None = 225
    symprec: float = 0.1
    exclude_elements: frozenset[str] = field(default_factory=lambda: LANTHANIDES_ACTINIDES)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["exclude_elements"] = sorted(self.exclude_elements)
        return d


def _spacegroup_number(structure_json: str, symprec: float) -> int:
    from pymatgen.core import Structure
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    structure = Structure.from_dict(json.loads(structure_json))
    try:
        return int(SpacegroupAnalyzer(structure, symprec=symprec).get_space_group_number())
    except Exception:  # spglib failure on odd cells: not Fm-3m, counted below
        return -1


def apply_filter(
    frame: pd.DataFrame, filt: StructureFilter, *, progress: bool = False, verbose: bool = True
) -> pd.DataFrame:
    """Rows passing ``filt``, with ``elements`` and ``spacegroup`` columns added."""
    from pymatgen.core import Composition
    from tqdm.auto import tqdm

    elements = [
        tuple(sorted({el.symbol for el in Composition(f).elements})) for f in frame["formula"]
    ]
    keep = np.array([not (set(e) & filt.exclude_elements) for e in elements], dtype=bool)
    out = frame.assign(elements=[" ".join(e) for e in elements]).loc[keep].reset_index(drop=True)
    if verbose:
        print(f"ecd data: {int((~keep).sum())} rows removed by the element exclusion", flush=True)
    if filt.spacegroup is not None:
        numbers = [
            _spacegroup_number(s, filt.symprec)
            for s in tqdm(out["structure_json"], desc="space groups", disable=not progress)
        ]
        out["spacegroup"] = numbers
        match = out["spacegroup"] == filt.spacegroup
        if verbose:
            print(
                f"ecd data: {int(match.sum())} of {len(out)} rows are space group "
                f"{filt.spacegroup} (symprec {filt.symprec}); "
                f"{int((out['spacegroup'] < 0).sum())} failed symmetry analysis",
                flush=True,
            )
        out = out.loc[match].reset_index(drop=True)
    return out


# --------------------------------------------------------------------------- the dataset


def _source_payload(paths: Iterable[Path], filt: StructureFilter) -> dict[str, Any]:
    """What the table is made from: the input files' sha256s and the filter settings."""
    return {"files": [sha256_file(p) for p in paths], "filter": filt.to_dict()}


def _cache_key(paths: Iterable[Path], filt: StructureFilter) -> str:
    payload = {"version": _CACHE_VERSION, **_source_payload(paths, filt)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def _write_table(path: Path, frame: pd.DataFrame, log: list[str] | None = None) -> None:
    """A table as JSON (column names, dtypes, rows; floats round-trip exactly)."""
    doc = {
        "columns": list(frame.columns),
        "dtypes": {c: str(t) for c, t in frame.dtypes.items()},
        "rows": frame.to_numpy(dtype=object).tolist(),
        "log": log or [],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as fh:
        json.dump(doc, fh, default=json_default)


def _read_table(path: Path) -> tuple[pd.DataFrame, list[str]] | None:
    """The table :func:`_write_table` wrote, or None if the file is unreadable (recomputed)."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
        frame = pd.DataFrame(doc["rows"], columns=doc["columns"]).astype(doc["dtypes"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return frame, list(doc["log"])


def load_ecd_dataset(
    filt: StructureFilter | None = None,
    *,
    sources: Sequence[tuple[str, str]] = ELASTICITY_SOURCES,
    progress: bool = False,
    verbose: bool = True,
    use_cache: bool = True,
    reader: Callable[[str, Path], pd.DataFrame] = read_source,
) -> pd.DataFrame:
    """The merged, filtered elasticity table (one row per material).

    Columns: ``mp_id, formula, structure_json, bulk_modulus, shear_modulus, source,
    elements`` (space-separated symbols) and ``spacegroup`` when filtered by it.
    Sorted by ``mp_id`` so row order does not depend on the file order. How it was made
    (the sources' sizes and what each filter removed) is printed with ``verbose`` and kept in
    ``frame.attrs["log"]`` either way, one line each, for a page to show as text.
    """
    filt = filt or StructureFilter()
    paths = [shared_path(rel) for _name, rel in sources]
    key = _cache_key(paths, filt)
    cache = cache_dir() / "ecd" / f"dataset-{key}.json"
    stored = _read_table(cache) if use_cache and cache.is_file() else None
    if stored is not None:
        frame, log = stored
        if verbose:
            print("\n".join(log), flush=True)
        frame.attrs["log"] = log
        return frame
    frames = [reader(name, path) for (name, _rel), path in zip(sources, paths, strict=True)]
    sizes = {name: len(f) for (name, _rel), f in zip(sources, frames, strict=True)}
    merged = merge_sources(frames)
    log = [
        "ecd data: sources (newest first) "
        + ", ".join(f"{n} {c}" for n, c in sizes.items())
        + f"; {len(merged)} unique mp ids"
    ]
    if verbose:
        print(log[0], flush=True)
    buffer = io.StringIO()  # the counts are printed now and again on every cache hit
    with contextlib.redirect_stdout(buffer):  # tqdm writes to stderr: progress stays visible
        filtered = apply_filter(merged, filt, progress=progress, verbose=True)
        frame = drop_bad_moduli(filtered, verbose=True)
    log += buffer.getvalue().strip().splitlines()
    log.append(f"ecd data: {len(frame)} materials after filtering")
    if verbose:
        print("\n".join(log[1:]), flush=True)
    frame = frame.sort_values("mp_id").reset_index(drop=True)
    if use_cache:
        _write_table(cache, frame, log)
    frame.attrs["log"] = log
    return frame


def dataset_sha256(
    frame: pd.DataFrame,
    filt: StructureFilter | None = None,
    *,
    sources: Sequence[tuple[str, str]] = ELASTICITY_SOURCES,
) -> str:
    """16 hex digits naming a table in results records: the sha256s of the source files, the
    filter and the table's mp ids in row order (a subsample or exclusion is another table).

    Built from inputs only, so every machine computes the same identity; the moduli do not
    enter it (their last bits depend on the BLAS kernel, see the module docstring).
    """
    payload = {
        "version": DATASET_ID_VERSION,
        **_source_payload([shared_path(rel) for _name, rel in sources], filt or StructureFilter()),
        "mp_ids": [str(i) for i in frame["mp_id"]],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def structures(frame: pd.DataFrame) -> list[Any]:
    """pymatgen Structures of a table's rows."""
    from pymatgen.core import Structure

    return [Structure.from_dict(json.loads(s)) for s in frame["structure_json"]]


# --------------------------------------------------------------------------- LOEO


def element_counts(frame: pd.DataFrame) -> pd.Series:
    """How many materials contain each element, most common first."""
    exploded = frame["elements"].str.split().explode()
    return exploded.value_counts().rename("materials")


#: Names of the composition classes of :func:`composition_shares`, by element count.
COMPOSITION_CLASSES = {1: "elements", 2: "binaries", 3: "ternaries", 4: "quaternaries"}


def composition_shares(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Share of elements, binaries, ternaries, quaternaries and materials of five or more
    elements in each named frame (columns: the names; a last row ``materials``: the count).

    Models trained on one mix of compositions and judged on another extrapolate: this states
    how far apart the training set and the external set are (chapter 12)."""
    columns = {}
    for name, frame in frames.items():
        n = frame["elements"].str.split().str.len()
        label = n.map(lambda k: COMPOSITION_CLASSES.get(k, "5 or more elements"))
        order = [*COMPOSITION_CLASSES.values(), "5 or more elements"]
        shares = label.value_counts(normalize=True).reindex(order, fill_value=0.0)
        columns[name] = [*shares.tolist(), float(len(frame))]
    index = [*COMPOSITION_CLASSES.values(), "5 or more elements", "materials"]
    return pd.DataFrame(columns, index=index)


def loeo_elements(
    frame: pd.DataFrame, *, min_count: int = 30, always: Sequence[str] = PAPER_LOEO_ELEMENTS
) -> pd.DataFrame:
    """The LOEO elements: the paper's 11 (where present) plus any with ``>= min_count``
    materials. Columns ``element, test_size, train_size, paper_element``."""
    counts = element_counts(frame)
    chosen = [e for e in always if counts.get(e, 0) > 0]
    chosen += [e for e, c in counts.items() if c >= min_count and e not in chosen]
    return pd.DataFrame(
        {
            "element": chosen,
            "test_size": [int(counts[e]) for e in chosen],
            "train_size": [len(frame) - int(counts[e]) for e in chosen],
            "paper_element": [e in always for e in chosen],
        }
    )


def contains_any(frame: pd.DataFrame, elements: Iterable[str]) -> np.ndarray:
    """Boolean mask of the materials containing at least one of ``elements``."""
    wanted = set(elements)
    return np.array([bool(wanted & set(e.split())) for e in frame["elements"]], dtype=bool)


def loeo_split(frame: pd.DataFrame, element: str) -> tuple[np.ndarray, np.ndarray]:
    """Train and test row indices: test = every material containing ``element``."""
    has = contains_any(frame, [element])
    if not has.any():
        raise ValueError(f"no material in the table contains {element!r}")
    return np.flatnonzero(~has), np.flatnonzero(has)


# --------------------------------------------------------------------------- external set


def load_external_set(filt: StructureFilter | None = None, *, verbose: bool = True) -> pd.DataFrame:
    """The WBM structures passing ``filt`` (not in MP; no moduli: our DFT computes them)."""
    filt = filt or StructureFilter()
    source = shared_path(EXTERNAL_SOURCE)
    cache = cache_dir() / "ecd" / f"external-{_cache_key([source], filt)}.json"
    stored = _read_table(cache) if cache.is_file() else None
    if stored is not None:
        return stored[0]
    doc = _load_json(source)
    frame = pd.DataFrame(
        {
            "mp_id": [d["material_id"] for d in doc],
            "formula": [d["formula"] for d in doc],
            "structure_json": [_structure_json(d["structure"]) for d in doc],
            "source": "wbm",
        }
    )
    out = apply_filter(frame, filt, verbose=verbose)
    out = out.sort_values("mp_id").reset_index(drop=True)
    _write_table(cache, out)
    return out
