"""``matfusion density``: one structure (or CHGCAR) to a density grid saved as ``.npy``."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from matfusion.ecd.density import ChgcarProvider, DensityError, get_provider

__all__ = ["density_command", "read_structure"]


def read_structure(path: str | Path) -> Any:
    """A pymatgen Structure from CIF, POSCAR/CONTCAR or pymatgen JSON; one clear error else."""
    from pymatgen.core import Structure

    path = Path(path)
    if not path.is_file():
        raise DensityError(f"no such structure file: {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if path.suffix.lower() == ".json":
                return Structure.from_dict(json.loads(path.read_text()))
            return Structure.from_file(str(path))
    except Exception as exc:  # pymatgen raises many types; the user needs one message
        raise DensityError(
            f"cannot read {path} as a structure (CIF, POSCAR or pymatgen JSON): "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def density_command(
    path: str | Path, provider: str = "promolecular", grid: int = 60, out: str | Path | None = None
) -> dict[str, Any]:
    """Compute (or read) a density on ``grid``^3, save it to ``out`` and return a summary."""
    if grid < 2:
        raise ValueError(f"--grid must be at least 2, got {grid}")
    if provider == "chgcar":
        result = ChgcarProvider().read(path, grid)
        formula = result.meta["formula"]
    else:
        structure = read_structure(path)
        result = get_provider(provider).compute(structure, grid)
        formula = structure.composition.reduced_formula
    if out is not None:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        np.save(out, result.rho)
    return {
        "formula": formula,
        "provider": provider,
        "shape": tuple(result.rho.shape),
        "volume": result.volume,
        "electrons": result.electrons,
        "expected_electrons": result.expected_electrons,
        "all_electron": result.meta.get("all_electron"),
        "out": str(out) if out is not None else None,
    }
