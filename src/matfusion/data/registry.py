"""Registry of the benchmark datasets shipped in the CrabNet wheel.

One place names every dataset of paper A with its property and unit, so notebooks and the CLI
refer to datasets by name (and get a close-match hint for a typo) instead of by file path.

* 18 "extended" sets (``benchmark_data/<name>/{train,val,test}.csv``): one fixed split,
  ``fold`` must be None.
* 10 Matbench regression tasks (``matbench_cv/<dir>/{train,val,test}{fold}.csv``), named by
  their Matbench name, with 5 folds (``fold`` 0..4 required). Folder names follow the
  ``crabnet_cv_dir`` column of ``paper_numbers/matbench_mae.csv``.
"""

from __future__ import annotations

import hashlib
import operator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from matfusion.data.crabnet_wheel import CRABNET_VERSION, crabnet_data_root
from matfusion.data.formulas import DuplicatePolicy, InvalidPolicy, validate_frame
from matfusion.registry import Registry

__all__ = [
    "DATASETS",
    "DatasetInfo",
    "dataset_summary",
    "get_dataset",
    "list_datasets",
    "load_split",
    "split_path",
    "split_sha256",
]

Split = Literal["train", "val", "test"]
SPLITS: tuple[str, ...] = ("train", "val", "test")


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset measures and where its CSVs live inside ``crabnet/data``.

    ``n_folds`` is 5 for Matbench tasks and None for the extended sets (one fixed split);
    iterate over :attr:`folds` to treat both kinds alike.
    """

    name: str
    kind: Literal["extended", "matbench"]
    folder: str
    property: str
    unit: str
    source: str
    n_folds: int | None = None

    @property
    def folds(self) -> list[int | None]:
        """Valid ``fold`` arguments: ``[None]`` for extended sets, ``[0..n_folds-1]`` else."""
        return [None] if self.n_folds is None else list(range(self.n_folds))

    @property
    def relative_dir(self) -> str:
        """Folder relative to ``crabnet/data``."""
        parent = "benchmark_data" if self.kind == "extended" else "matbench_cv"
        return f"{parent}/{self.folder}"


_AFLOW = "AFLOW (AEL-AGL), via CrabNet benchmark_data"
_MP = "Materials Project, via CrabNet benchmark_data"
_OQMD = "OQMD, via CrabNet benchmark_data"
_BARTEL = "Bartel et al. 2020 (npj Comput. Mater.), MP-derived, via CrabNet benchmark_data"
_MATBENCH = "Matbench v0.1 (Dunn et al. 2020), 5-fold splits from CrabNet matbench_cv"

# name: (property, unit, source)
_EXTENDED: dict[str, tuple[str, str, str]] = {
    "aflow__ael_bulk_modulus_vrh": ("bulk modulus (AEL, VRH)", "GPa", _AFLOW),
    "aflow__ael_debye_temperature": ("Debye temperature (AEL)", "K", _AFLOW),
    "aflow__ael_shear_modulus_vrh": ("shear modulus (AEL, VRH)", "GPa", _AFLOW),
    "aflow__agl_thermal_conductivity_300K": ("thermal conductivity at 300 K (AGL)", "W/mK", _AFLOW),
    "aflow__agl_thermal_expansion_300K": ("thermal expansion at 300 K (AGL)", "1/K", _AFLOW),
    "aflow__Egap": ("band gap", "eV", _AFLOW),
    "aflow__energy_atom": ("energy per atom", "eV/atom", _AFLOW),
    "CritExam__Ed": ("decomposition enthalpy", "eV/atom", _BARTEL),
    "CritExam__Ef": ("formation enthalpy", "eV/atom", _BARTEL),
    "mp_e_hull": ("energy above the convex hull", "eV/atom", _MP),
    "mp_mu_b": ("magnetization of the unit cell", "mu_B", _MP),
    "mp_bulk_modulus": ("bulk modulus (VRH)", "GPa", _MP),
    "mp_shear_modulus": ("shear modulus (VRH)", "GPa", _MP),
    "mp_elastic_anisotropy": ("universal elastic anisotropy", "unitless", _MP),
    "OQMD_Bandgap": ("band gap", "eV", _OQMD),
    "OQMD_Energy_per_atom": ("energy per atom", "eV/atom", _OQMD),
    "OQMD_Formation_Enthalpy": ("formation enthalpy", "eV/atom", _OQMD),
    "OQMD_Volume_per_atom": ("volume per atom", "A^3/atom", _OQMD),
}

# name: (crabnet_cv_dir, property, unit)
_MATBENCH_TASKS: dict[str, tuple[str, str, str]] = {
    "matbench_dielectric": ("dielectric", "refractive index n", "unitless"),
    "matbench_expt_gap": ("expt_gap", "experimental band gap", "eV"),
    "matbench_jdft2d": ("jdft2d", "exfoliation energy", "meV/atom"),
    "matbench_log_gvrh": ("elasticity_log10(G_VRH)", "log10 shear modulus (VRH)", "log10(GPa)"),
    "matbench_log_kvrh": ("elasticity_log10(K_VRH)", "log10 bulk modulus (VRH)", "log10(GPa)"),
    "matbench_mp_e_form": ("mp_e_form", "formation energy", "eV/atom"),
    "matbench_mp_gap": ("mp_gap", "band gap (PBE)", "eV"),
    "matbench_perovskites": ("castelli", "heat of formation of the perovskite cell", "eV/cell"),
    "matbench_phonons": ("phonons", "frequency of the last phonon DOS peak", "cm^-1"),
    "matbench_steels": ("steels_yield", "yield strength", "MPa"),
}

#: Every dataset, by name: the 18 extended sets, then the 10 Matbench tasks.
DATASETS: Registry[DatasetInfo] = Registry(
    "dataset",
    [
        *(
            (name, DatasetInfo(name, "extended", name, prop, unit, source, None))
            for name, (prop, unit, source) in _EXTENDED.items()
        ),
        *(
            (name, DatasetInfo(name, "matbench", folder, prop, unit, _MATBENCH, 5))
            for name, (folder, prop, unit) in _MATBENCH_TASKS.items()
        ),
    ],
)


def list_datasets(kind: Literal["extended", "matbench"] | None = None) -> list[str]:
    """Registered dataset names (registry order: the 18 extended sets, then Matbench)."""
    return [n for n, info in DATASETS.items() if kind is None or info.kind == kind]


def get_dataset(name: str) -> DatasetInfo:
    """Look a dataset up by name; a typo is one line naming the closest names."""
    return DATASETS[name]


def split_path(name: str, split: Split, fold: int | None = None) -> Path:
    """Path of one split's CSV inside the extracted CrabNet data (downloaded on first use)."""
    info = get_dataset(name)
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    if info.kind == "matbench":
        n_folds = info.n_folds or 0
        try:
            fold = operator.index(fold)  # type: ignore[arg-type]  # accepts numpy ints
        except TypeError:
            fold = None
        if fold is None or not 0 <= fold < n_folds:
            raise ValueError(f"{name} is a Matbench task: fold must be 0..{n_folds - 1}")
        filename = f"{split}{fold}.csv"
    else:
        if fold is not None:
            raise ValueError(f"{name} has one fixed split: fold must be None, not {fold!r}")
        filename = f"{split}.csv"
    return crabnet_data_root() / info.relative_dir / filename


def split_sha256(name: str, split: Split, fold: int | None = None) -> str:
    """sha256 of the raw CSV bytes, recorded with results so a run names its exact data."""
    return hashlib.sha256(split_path(name, split, fold).read_bytes()).hexdigest()


def _split_label(name: str, split: str, fold: int | None) -> str:
    return f"{name}/{split}" + ("" if fold is None else f"{fold}")


def load_split(
    name: str,
    split: Split,
    fold: int | None = None,
    *,
    duplicates: DuplicatePolicy = "average",
    invalid: InvalidPolicy = "reject",
    verbose: bool = True,
) -> pd.DataFrame:
    """One split as a validated frame with columns ``formula`` (str) and ``target`` (float).

    Every row is checked by :func:`~matfusion.data.formulas.validate_frame` (policies
    documented there); the raw CSV is never modified.
    """
    path = split_path(name, split, fold)
    raw = pd.read_csv(
        path,
        dtype={"formula": str},
        keep_default_na=False,  # a formula is never NA; empty cells stay "" and are rejected
        na_values={"target": ["", "NA", "NaN", "nan", "null"]},
    )
    return validate_frame(
        raw,
        duplicates=duplicates,
        invalid=invalid,
        source=f"{_split_label(name, split, fold)} ({path.name})",
        verbose=verbose,
    )


def _count_rows(path: Path) -> int:
    """Data rows of a CSV without parsing it (newlines minus the header)."""
    data = path.read_bytes()
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    return max(lines - 1, 0)


def dataset_summary() -> pd.DataFrame:
    """One row per dataset: name, kind, property, unit, raw row counts (Matbench: fold 0).

    Counts are raw CSV rows (before duplicate averaging), read without parsing, so the table
    is cheap enough for a notebook's first cell.
    """
    root = crabnet_data_root()
    rows = []
    for info in DATASETS.values():
        fold = None if info.kind == "extended" else 0
        counts = {}
        for split in SPLITS:
            fname = f"{split}.csv" if fold is None else f"{split}{fold}.csv"
            counts[f"n_{split}"] = _count_rows(root / info.relative_dir / fname)
        rows.append(
            {
                "name": info.name,
                "kind": info.kind,
                "property": info.property,
                "unit": info.unit,
                **counts,
                "n_folds": info.n_folds,
                "folder": info.relative_dir,
            }
        )
    frame = pd.DataFrame(rows)
    frame["n_folds"] = frame["n_folds"].astype("Int64")
    frame.attrs["source"] = f"crabnet=={CRABNET_VERSION}"
    return frame
