"""Chapter 10's comparison of all-electron and valence densities of the same crystals.

The paper's VASP CHGCAR holds the valence (pseudo) density; our providers give all-electron
densities unless asked for valence. Side by side, the slices show what the CNN loses and
keeps: the core peaks that dominate the all-electron cube (and mostly encode which element
sits where) against the valence cloud between the atoms.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

__all__ = ["electron_table", "valence_pairs"]


def valence_pairs(rows: pd.DataFrame, grid: int, *, plane: int = 0) -> list[dict[str, Any]]:
    """For each material of ``rows`` (an ECD data frame): the z = ``plane`` slice of its
    promolecular all-electron and valence densities on ``grid``^3, their electron counts
    and the share of the valence electrons that lies between the atoms (voxels below
    1 e/A^3 in the all-electron density)."""
    from matfusion.ecd.data import structures
    from matfusion.ecd.density import density_for, get_provider

    providers = {
        "all-electron": get_provider("promolecular"),
        "valence": get_provider("promolecular", valence=True),
    }
    out = []
    for structure, (_, row) in zip(structures(rows), rows.iterrows(), strict=True):
        dens = {name: density_for(structure, p, grid) for name, p in providers.items()}
        voxel = dens["valence"].volume / grid**3
        between = dens["all-electron"].rho < 1.0
        out.append(
            {
                "formula": row["formula"],
                **{f"{name} slice": d.rho[:, :, plane] for name, d in dens.items()},
                **{
                    f"{name} electrons": float(d.rho.sum() * d.volume / grid**3)
                    for name, d in dens.items()
                },
                "valence share between atoms": float(
                    dens["valence"].rho[between].sum() * voxel / (dens["valence"].rho.sum() * voxel)
                ),
            }
        )
    return out


def electron_table(pairs: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The counts of :func:`valence_pairs` as a table, one row per material."""
    columns = ["all-electron electrons", "valence electrons", "valence share between atoms"]
    return pd.DataFrame([{k: p[k] for k in columns} for p in pairs],
                        index=[p["formula"] for p in pairs])  # fmt: skip
