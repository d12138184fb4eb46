"""``matfusion density``: one structure (or CHGCAR) to a density grid saved as ``.npy``.

Checks made before any density is computed, so a long run never ends in an avoidable error:

* ``grid`` is between 2 and :data:`MAX_GRID` (256; paper B uses 60), and its estimated peak
  memory (:func:`grid_memory_estimate`) fits in the memory available now.
* the output folder accepts a new file (probed with a temporary file).
* no two atoms of the structure, periodic images included, are closer than
  :data:`MIN_DISTANCE` (0.5 A): pymatgen accepts a duplicated site in POSCAR and JSON
  silently, and the density would count that atom twice.

The output is written to exactly the path given (also without a ``.npy`` suffix; ``np.load``
reads it either way), atomically: a temp file in the same folder, then ``os.replace``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from matfusion.ecd.density import ChgcarProvider, DensityError, get_provider
from matfusion.io import atomic_write

__all__ = [
    "MAX_GRID",
    "MIN_DISTANCE",
    "WORKING_COPIES",
    "available_memory",
    "check_overlaps",
    "density_command",
    "grid_memory_estimate",
    "read_structure",
]

#: Largest accepted ``--grid``: 256^3 = 16.8 M points, ~1.9 GB for the promolecular provider.
MAX_GRID = 256
#: Smallest accepted distance between two atoms (angstrom); shorter than any real bond
#: (H2: 0.74 A), so a closer pair is a duplicated or misplaced site.
MIN_DISTANCE = 0.5
#: float64 arrays of grid^3 values a provider holds at its peak: measured with tracemalloc,
#: plus one for margin. Promolecular: 104 bytes per point (G vectors x3, |G|, damping,
#: complex coefficients and structure factor, interpolated form factor), so grid 400 needs
#: ~6.7 GB (6.6 GB observed). GPAW/CHGCAR: 48 bytes per point to resample onto the grid;
#: their own native grid comes on top and is not counted (unknown before the run).
WORKING_COPIES = {"promolecular": 14, "gpaw": 7, "chgcar": 7}
_BYTES_PER_VALUE = 8


def grid_memory_estimate(grid: int, provider: str = "promolecular") -> int:
    """Bytes a ``grid``^3 density needs at its peak: grid^3 x 8 bytes x working copies."""
    return int(grid) ** 3 * _BYTES_PER_VALUE * WORKING_COPIES.get(provider, 14)


def available_memory() -> int | None:
    """Bytes available to this process now (psutil, else /proc/meminfo; the cgroup limit
    when lower), or None when it cannot be told."""
    avail: int | None = None
    try:
        import psutil

        avail = int(psutil.virtual_memory().available)
    except Exception:
        with contextlib.suppress(OSError, ValueError, StopIteration):
            with open("/proc/meminfo") as fh:
                line = next(ln for ln in fh if ln.startswith("MemAvailable:"))
            avail = int(line.split()[1]) * 1024
    with contextlib.suppress(OSError, ValueError):
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = Path("/sys/fs/cgroup/memory.current").read_text().strip()
        if limit != "max":
            room = max(int(limit) - int(used), 0)
            avail = room if avail is None else min(avail, room)
    return avail


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB"


def _check_grid(grid: int, provider: str) -> None:
    """Refuse a grid out of bounds or too large for the memory available now."""
    if grid < 2:
        raise ValueError(f"--grid must be at least 2, got {grid}")
    if grid > MAX_GRID:
        raise ValueError(
            f"--grid must be at most {MAX_GRID} (paper B uses 60), got {grid}: "
            f"it would need about {_gb(grid_memory_estimate(grid, provider))}"
        )
    need = grid_memory_estimate(grid, provider)
    avail = available_memory()
    if avail is not None and need > avail:
        raise ValueError(
            f"--grid {grid} needs about {_gb(need)} for the {provider} density "
            f"({grid}^3 points x {_BYTES_PER_VALUE} bytes x {WORKING_COPIES.get(provider, 14)} "
            f"working copies) but only {_gb(avail)} is available; use a smaller --grid"
        )


def _check_writable(out: Path) -> None:
    """Make sure ``out`` can be written (folder exists or is created, accepts a new file)
    before the density is computed."""
    if out.is_dir():
        raise DensityError(f"--out {out} is a directory; give a file name, e.g. {out / 'rho.npy'}")
    for folder in out.parents:
        if folder.exists() and not folder.is_dir():
            raise DensityError(f"cannot write --out {out}: {folder} is a file, not a folder")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".probe", dir=out.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise DensityError(f"cannot write --out {out}: {exc.strerror or exc}") from None


def check_overlaps(structure: Any, min_distance: float = MIN_DISTANCE) -> None:
    """Raise :class:`DensityError` naming the closest pair of sites (a site and its own
    periodic image included) when they are nearer than ``min_distance`` angstrom."""
    if len(structure) == 0:
        raise DensityError("the structure has no atoms")
    centers, points, images, dists = structure.get_neighbor_list(min_distance)
    if len(dists) == 0:
        return
    k = int(np.argmin(dists))
    i, j, d = int(centers[k]), int(points[k]), float(dists[k])
    i, j = min(i, j), max(i, j)

    def site(n: int) -> str:
        frac = ", ".join(f"{x:.3f}" for x in structure[n].frac_coords)
        return f"site {n} ({structure[n].species_string} at {frac})"

    other = f"its own periodic image (image {tuple(int(x) for x in images[k])})"
    pair = f"{site(i)} and {other if i == j else site(j)}"
    raise DensityError(
        f"atoms overlap: {pair} are {d:.3f} A apart, below the minimum {min_distance} A "
        "(a duplicated site or a wrong cell?)"
    )


def read_structure(path: str | Path) -> Any:
    """A pymatgen Structure from CIF, POSCAR/CONTCAR or pymatgen JSON; one clear error else,
    also for overlapping atoms (see :func:`check_overlaps`)."""
    from pymatgen.core import Structure

    path = Path(path)
    if not path.is_file():
        raise DensityError(f"no such structure file: {path}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if path.suffix.lower() == ".json":
                structure = Structure.from_dict(json.loads(path.read_text()))
            else:
                structure = Structure.from_file(str(path))
        except Exception as exc:  # pymatgen raises many types; the user needs one message
            notes = [" ".join(str(w.message).split()) for w in caught]
            why = f" ({notes[0]})" if notes else ""
            raise DensityError(
                f"cannot read {path} as a structure (CIF, POSCAR or pymatgen JSON): "
                f"{type(exc).__name__}: {' '.join(str(exc).split())}{why}"
            ) from exc
    try:
        check_overlaps(structure)
    except DensityError as exc:
        raise DensityError(f"{path}: {exc}") from None
    return structure


def _save(out: Path, rho: np.ndarray) -> None:
    """``np.save`` to exactly ``out`` (no ``.npy`` appended), all or nothing."""
    try:
        with atomic_write(out, binary=True) as fh:
            np.save(fh, rho)
    except OSError as exc:
        raise DensityError(f"cannot write --out {out}: {exc.strerror or exc}") from None


def density_command(
    path: str | Path, provider: str = "promolecular", grid: int = 60, out: str | Path | None = None
) -> dict[str, Any]:
    """Compute (or read) a density on ``grid``^3, save it to ``out`` and return a summary."""
    _check_grid(grid, provider)
    out = Path(out) if out is not None else None
    if out is not None:
        _check_writable(out)
    try:
        if provider == "chgcar":
            result = ChgcarProvider().read(path, grid)
            formula = result.meta["formula"]
            try:
                check_overlaps(result.meta["structure"])
            except DensityError as exc:
                raise DensityError(f"{path}: {exc}") from None
        else:
            structure = read_structure(path)
            result = get_provider(provider).compute(structure, grid)
            formula = structure.composition.reduced_formula
    except MemoryError:
        raise DensityError(
            f"out of memory computing the {provider} density on a {grid}^3 grid "
            f"(estimated {_gb(grid_memory_estimate(grid, provider))}); use a smaller --grid"
        ) from None
    if out is not None:
        _save(out, result.rho)
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


SWEEPS = ("cv", "loeo", "external", "compare", "compare-loeo")


def add_sweep_arguments(parser: Any) -> None:
    """The options of ``matfusion ecd`` (``matfusion ecd dft`` is ``matfusion dft``)."""
    from matfusion.ecd.models import ECD_VARIANTS

    parser.add_argument("what", nargs="*", default=["cv", "loeo"], choices=SWEEPS)
    parser.add_argument("--profile", default="standard", help="smoke | standard | paper")
    parser.add_argument(
        "--sources",
        default=None,
        help="density sources of compare/compare-loeo, comma-separated, from "
        "promolecular-all-electron, promolecular-valence, gpaw-all-electron, gpaw-valence "
        "(default: the profile's promolecular, GPAW with the same valence setting and GPAW "
        "with the other; the two-provider comparison of standard alone: "
        "promolecular-all-electron,gpaw-all-electron)",
    )
    parser.add_argument(
        "--only",
        default=None,
        help="run only these sources' part of compare/compare-loeo, comma-separated (a "
        "provider's name, e.g. gpaw, stands for its sources), on the whole comparison's "
        "materials",
    )
    parser.add_argument(
        "--models",
        default=None,
        help="models to run, comma-separated (default: all of each sweep's design); with "
        "--targets this splits one sweep between processes without overlap",
    )
    parser.add_argument(
        "--targets",
        default="bulk,shear",
        help="moduli to model, comma-separated: bulk, shear (default: both)",
    )
    parser.add_argument(
        "--variant", choices=sorted(ECD_VARIANTS), help="CNN architecture (default: the profile's)"
    )
    parser.add_argument(
        "--valence",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="valence-only densities (default: the profile's)",
    )
    parser.add_argument("--repeats", type=int, help="CV/LOEO repeats (default: the profile's)")
    parser.add_argument("--epochs", type=int, help="CNN epoch cap (default: the profile's)")
    parser.add_argument(
        "--patience", type=int, help="epochs without a better validation MAE before stopping"
    )
    parser.add_argument("--quiet", action="store_true")


def sweep_command(args: Any) -> int:
    """Run (or resume) the sweeps ``args.what`` of paper B; stored runs are reused."""
    from matfusion.ecd.density import parse_sources
    from matfusion.ecd.experiments import (
        comparison_sources,
        pair_sources,
        run_all,
        run_density_comparison,
        run_provider_comparison,
        select_sources,
    )
    from matfusion.ecd.models import ECD_MODELS
    from matfusion.ecd.settings import ecd_profile

    for option in ("repeats", "epochs", "patience"):
        value = getattr(args, option)
        if value is not None and value < 1:
            raise ValueError(f"--{option} must be at least 1, got {value}")
    models = [m for m in args.models.split(",") if m] if args.models else None
    unknown = sorted(set(models or ()) - set(ECD_MODELS))
    if unknown:
        raise KeyError(f"--models: unknown {unknown}; known: {', '.join(ECD_MODELS)}")
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    if not targets or set(targets) - {"bulk", "shear"}:
        raise ValueError(f"--targets must name bulk and/or shear, got {args.targets!r}")
    sources = parse_sources(args.sources) if args.sources is not None else None
    only = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else None
    prof = ecd_profile(
        args.profile,
        variant=args.variant,
        valence=args.valence,
        repeats=args.repeats,
        epochs=args.epochs,
        patience=args.patience,
    )
    progress = not args.quiet
    for what, design in (("compare", "cv"), ("compare-loeo", "loeo")):
        if what in args.what:  # a name outside the comparison: one line, before any run
            select_sources(only, sources or comparison_sources(prof, design))
    sweeps = [w for w in args.what if w in ("cv", "loeo", "external")]
    if sweeps:
        results = run_all(prof, sweeps, targets=targets, models=models, progress=progress)
        for name, records in results.items():
            new = sum(not r["cache_hit"] for r in records)
            print(f"{name}: {len(records)} records ({new} new)")
    for what, design in (("compare", "cv"), ("compare-loeo", "loeo")):
        if what not in args.what:
            continue
        table, info = run_provider_comparison(
            targets,
            prof,
            sources,
            design=design,
            models=models,
            only=only,
            progress=progress,
        )
        print(
            f"{what}: materials per density source: {info['materials']}; "
            f"left out: {info['left_out_elements']}"
        )
        print(table.round(3).to_string(index=False))
        ran = sources or comparison_sources(prof, design)
        if design == "cv" and only is None and set(pair_sources(prof)) <= set(ran):
            moved = run_density_comparison(prof, progress=progress)
            print(f"density differences stored for {len(moved)} materials")
    return 0
