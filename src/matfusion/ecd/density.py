"""Charge densities on a fixed grid: one interface, three providers.

Paper B feeds a CNN the electronic charge density of the unit cell, interpolated to a fixed
60 x 60 x 60 grid over the cell's fractional axes. Every provider here returns that array in
electrons per cubic angstrom, so ``grid.mean() * cell_volume`` is the electron count:

* ``promolecular`` (fast, offline): a superposition of spherical free-atom all-electron PBE
  densities from GPAW's atomic solver (``gpaw.atom.aeatom.AllElectronAtom``), cached per
  element. Without GPAW it falls back to ``free_atoms.npz`` shipped with the package, which is
  the same solver's output tabulated once (see :func:`write_free_atom_table`). It is *not* a
  DFT density of the crystal: no bonding, no charge transfer.
* ``gpaw`` (real DFT, optional extra ``matfusion[dft]``): a self-consistent PBE plane-wave
  density of the primitive cell, all-electron (PAW reconstruction), with a documented cutoff
  and k-point rule recorded in the metadata.
* ``chgcar``: a VASP CHGCAR read with pymatgen (e.g. downloaded from the Materials Project,
  or the paper's own VASP densities). VASP's CHGCAR is a valence (pseudo) density: its count
  is the number of valence electrons.

The promolecular sum is done in reciprocal space: the Fourier coefficient of the crystal
density is ``(1/V) sum_atoms f_Z(|G|) exp(-i G.r)`` with ``f_Z`` the free atom's form factor.
That places every periodic image exactly, gives a grid mean of exactly N/V (the G = 0 term),
and avoids the nuclear cusp: the density is smoothed by a Gaussian of 1.5 voxels (about what a
grid of that spacing can represent), so the grid never samples the singular core directly.
The width matters: at one voxel the Gaussian still passes 0.7% of the core form factor at the
grid's Nyquist frequency, and the truncated spectrum rings to -0.1 e/A^3 between heavy atoms;
at 1.5 voxels that factor is 2e-5 and the ringing is negligible (``min_before_clip`` in
each result's metadata records it).

Densities are cached on disk per (structure hash, provider, settings, grid) and computed in
parallel processes with a progress bar; an interrupted batch resumes where it stopped.

Valence densities (``valence=True`` on the promolecular and gpaw providers). The paper's
VASP CHGCAR holds only the valence electrons; our default densities are all-electron and
dominated by the core peaks. "Valence" is defined per element once, for both providers, by
GPAW's PBE PAW setup (the one the gpaw provider uses): its valence states ``(n, l)`` are
valence, every other occupied state of the free atom is core (so Na has 7 valence electrons,
2p6 3s1; Mg 10; Cl 7; :func:`valence_electrons`). An element without a setup (Tc, Po, At,
Fr, Ra, the actinides) borrows the valence shells of its homologue one period up, one shell
higher (Tc from Mn: 4s 4p 4d 5s, 15 electrons). The promolecular valence density sums the
free atom's valence orbitals only (same solver and run as the all-electron table, shipped in
``free_atom_valence.npz``); the gpaw valence density is GPAW's all-electron density without
the frozen cores (``skip_core=True``: PAW-reconstructed valence orbitals, not VASP's smooth
pseudo density) on the SCF grid refined four times, not twice: without the cores GPAW does
not repair the grid's integration error of the sharp valence partial waves (for the full
density it adds the missing charge at the nucleus), and that error is 1.5 % at twofold
refinement (MgO: 16.24 of 16 electrons) but 0.1 % at fourfold (16.02). The remainder is
removed by rescaling to the setups' valence count (``native_electrons`` in the metadata
records the count before). Both providers' valence densities hold exactly the valence count.

A *density source* (:data:`DENSITY_SOURCES`) names a provider with its valence setting
(``promolecular-all-electron``, ``promolecular-valence``, ``gpaw-all-electron``,
``gpaw-valence``): what the comparisons of densities compare, on the same folds.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from matfusion.config import cache_dir
from matfusion.io import atomic_write
from matfusion.registry import Registry

__all__ = [
    "DENSITY_SOURCES",
    "PROVIDERS",
    "ChgcarProvider",
    "DensityError",
    "DensityProvider",
    "DensityResult",
    "DensitySource",
    "GpawProvider",
    "PromolecularProvider",
    "compute_densities",
    "density_difference",
    "density_for",
    "electron_count",
    "free_atom_density",
    "free_atom_valence_density",
    "get_provider",
    "get_source",
    "gpaw_available",
    "gpaw_setup_elements",
    "gpaw_unsupported",
    "parse_sources",
    "resample",
    "source_name",
    "structure_hash",
    "valence_electrons",
    "valence_states",
]

BOHR = 0.52917721067  # angstrom
#: Bump when cached densities change meaning.
_CACHE_VERSION = 1


class DensityError(RuntimeError):
    """A density could not be computed or read (bad file, missing code, failed SCF)."""


@dataclass
class DensityResult:
    """A density on a grid over the cell's fractional axes, in electrons per cubic angstrom."""

    rho: np.ndarray
    volume: float
    expected_electrons: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def electrons(self) -> float:
        """Integrated electron count (grid mean times cell volume)."""
        return float(self.rho.mean(dtype=np.float64) * self.volume)


def density_difference(a: DensityResult, b: DensityResult, core_cutoff: float = 1.0) -> dict:
    """How far two densities of one cell (same grid) differ, in electrons.

    ``moved``: half the integral of ``|a - b|``, the electrons that sit elsewhere in one
    density than in the other (both hold the same count, so what one lacks the other has).
    ``moved_between_atoms``: the same over voxels below ``core_cutoff`` e/A^3 in both, away
    from the atomic cores, where the two providers' different core sampling does not count:
    the bonding and charge-transfer part. Both also as a fraction of the electron count.
    """
    if a.rho.shape != b.rho.shape:
        raise ValueError(f"densities on different grids: {a.rho.shape} vs {b.rho.shape}")
    diff = np.abs(a.rho.astype(np.float64) - b.rho.astype(np.float64))
    between = (a.rho < core_cutoff) & (b.rho < core_cutoff)
    moved = 0.5 * diff.mean() * a.volume
    moved_between = 0.5 * (diff * between).mean() * a.volume
    electrons = a.electrons
    return {
        "moved": float(moved),
        "moved_between_atoms": float(moved_between),
        "moved_fraction": float(moved / electrons),
        "moved_between_atoms_fraction": float(moved_between / electrons),
    }


def electron_count(rho: np.ndarray, volume: float) -> float:
    """Grid mean times cell volume: the electrons a density on the cell holds."""
    return float(np.asarray(rho).mean(dtype=np.float64) * volume)


def gpaw_available() -> bool:
    """Whether GPAW imports (the optional ``dft`` extra)."""
    try:
        import gpaw  # noqa: F401
    except ImportError:
        return False
    return True


def gpaw_setup_elements() -> frozenset[str]:
    """Elements with a PBE PAW setup on GPAW's search path (gpaw-data ships none for Tc,
    for example); empty without GPAW."""
    if not gpaw_available():
        return frozenset()
    from gpaw import setup_paths

    found = set()
    for folder in setup_paths:
        for path in Path(folder).glob("*.PBE*"):
            found.add(path.name.split(".")[0])
    return frozenset(found)


def gpaw_unsupported(structures: Sequence[Any]) -> list[str]:
    """The elements of ``structures`` that GPAW has no PBE setup for, sorted."""
    have = gpaw_setup_elements()
    return sorted({el.symbol for s in structures for el in s.composition.elements} - have)


# --------------------------------------------------------------------------- resampling


def resample(rho: np.ndarray, grid: int | Sequence[int]) -> np.ndarray:
    """Periodic trilinear resampling of a cell density to ``grid`` points per axis.

    Conserves the electron count: when coarsening, the density is first smoothed with a
    periodic Gaussian (about half the coarsening factor, against aliasing), and the result is
    rescaled so its mean equals the input's mean (same cell, so same electron count).
    """
    from scipy import ndimage

    rho = np.asarray(rho, dtype=np.float64)
    if rho.ndim != 3:
        raise ValueError(f"density must be a 3-D array, got shape {rho.shape}")
    shape = (grid,) * 3 if isinstance(grid, int | np.integer) else tuple(int(g) for g in grid)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"grid must be a positive int or three of them, got {grid!r}")
    if tuple(rho.shape) == shape:
        return rho.astype(np.float32)
    ratio = np.array(rho.shape) / np.array(shape)
    sigma = np.where(ratio > 1, 0.5 * ratio, 0.0)
    src = ndimage.gaussian_filter(rho, sigma=sigma, mode="wrap") if sigma.any() else rho
    axes = [np.arange(n) * r for n, r in zip(shape, ratio, strict=True)]
    coords = np.stack(np.meshgrid(*axes, indexing="ij"))
    out = ndimage.map_coordinates(src, coords, order=1, mode="grid-wrap")
    mean_out = out.mean()
    if mean_out > 0:
        out *= rho.mean() / mean_out
    return out.astype(np.float32)


# --------------------------------------------------------------------------- free atoms


def _table_path() -> Path:
    return Path(str(resources.files("matfusion.ecd") / "free_atoms.npz"))


def _valence_table_path() -> Path:
    return Path(str(resources.files("matfusion.ecd") / "free_atom_valence.npz"))


def _solve_atom(symbol: str) -> tuple[np.ndarray, np.ndarray]:
    """Radial all-electron PBE density of a free, spherical, non-spin-polarised atom."""
    from gpaw.atom.aeatom import AllElectronAtom

    with contextlib.redirect_stdout(io.StringIO()):
        atom = AllElectronAtom(symbol, xc="PBE", log=None)
        atom.run()
    r = atom.rgd.r_g * BOHR
    n = atom.n_sg.sum(0) / BOHR**3
    return r, n


@functools.cache
def free_atom_density(symbol: str, source: str = "auto") -> tuple[np.ndarray, np.ndarray, str]:
    """``(r [A], rho [e/A^3], source_used)`` for a free atom.

    ``source``: ``"gpaw"`` (solve now, cached on disk per element), ``"table"`` (the packaged
    table from the same solver) or ``"auto"`` (the table where it has the element, else GPAW).
    The table is preferred by ``auto`` so that results do not depend on whether GPAW is
    installed.
    """
    if source not in ("auto", "gpaw", "table"):
        raise ValueError(f"free-atom source must be auto, gpaw or table, not {source!r}")
    if source in ("auto", "table"):
        table = _table_path()
        if table.is_file():
            with np.load(table) as data:
                if f"{symbol}_r" in data:
                    r = data[f"{symbol}_r"].astype(np.float64)
                    return r, data[f"{symbol}_rho"].astype(np.float64), "table"
        if source == "table":
            raise DensityError(f"no tabulated free-atom density for {symbol!r} in {table}")
    if not gpaw_available():
        raise DensityError(
            f"free-atom density of {symbol!r} needs GPAW (pip install 'matfusion[dft]'); "
            "it is not in the packaged table"
        )
    path = cache_dir() / "ecd" / "atoms" / f"gpaw-pbe-{symbol}.npz"
    if path.is_file():
        with np.load(path) as data:
            return data["r"], data["rho"], "gpaw"
    r, rho = _solve_atom(symbol)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, binary=True) as fh:
        np.savez(fh, r=r, rho=rho)
    return r, rho, "gpaw"


def _homologue(symbol: str) -> str:
    """The same-group element one period up (Tc -> Mn, Po -> Te, Th -> Ce)."""
    from pymatgen.core import Element

    z = Element(symbol).Z
    if z <= 36:
        raise DensityError(f"{symbol} should have a GPAW setup of its own")
    return Element.from_Z(z - 18 if z <= 54 else z - 32).symbol


def valence_states(symbol: str) -> tuple[frozenset[tuple[int, int]], str]:
    """The ``(n, l)`` states counted as valence for ``symbol``, and where the rule came from.

    GPAW's PBE PAW setup of the element (its bound valence states); without one, the
    homologue's one period up with ``n`` raised by one. Needs GPAW.
    """
    from gpaw.setup_data import SetupData

    if symbol in gpaw_setup_elements():
        data = SetupData(symbol, "PBE", "paw")
        states = {(int(n), int(ell)) for n, ell in zip(data.n_j, data.l_j, strict=True) if n > 0}
        return frozenset(states), f"GPAW PBE PAW setup of {symbol}"
    homologue = _homologue(symbol)
    states, _ = valence_states(homologue)
    return (
        frozenset((n + 1, ell) for n, ell in states),
        f"GPAW PBE PAW setup of {homologue} (homologue), one shell up",
    )


def _solve_atom_valence(symbol: str) -> tuple[np.ndarray, np.ndarray, int, str]:
    """Radial valence density of the free atom: its valence orbitals only (no core).

    Same solver and settings as :func:`_solve_atom`. Returns ``(r [A], rho [e/A^3],
    valence electrons, core states)``; the core count is checked against the setup's.
    """
    from gpaw.atom.aeatom import AllElectronAtom

    valence, _ = valence_states(symbol)
    with contextlib.redirect_stdout(io.StringIO()):
        atom = AllElectronAtom(symbol, xc="PBE", log=None)
        atom.run()
    rho = np.zeros_like(atom.rgd.r_g)
    core, n_valence, n_core = [], 0.0, 0.0
    for channel in atom.channels:
        for i, occupation in enumerate(channel.f_n):
            n = channel.l + 1 + i  # the channel's i-th orbital
            if occupation == 0:
                continue
            if (n, channel.l) in valence:
                rho += occupation * channel.calculate_density(i)
                n_valence += occupation
            else:
                core.append(f"{n}{'spdf'[channel.l]}{occupation:g}")
                n_core += occupation
    if abs(n_valence + n_core - structure_z(symbol)) > 1e-9:
        raise DensityError(f"{symbol}: occupations sum to {n_valence + n_core}")
    if symbol in gpaw_setup_elements():
        from gpaw.setup_data import SetupData

        if abs(SetupData(symbol, "PBE", "paw").Nc - n_core) > 1e-9:
            raise DensityError(f"{symbol}: core {core} differs from the GPAW setup's")
    return atom.rgd.r_g * BOHR, rho / BOHR**3, int(round(n_valence)), " ".join(core)


@functools.cache
def free_atom_valence_density(
    symbol: str, source: str = "auto"
) -> tuple[np.ndarray, np.ndarray, int, str]:
    """``(r [A], rho [e/A^3], valence electrons, source_used)``: the free atom's valence
    density (see the module docstring for which states are valence).

    ``source`` as in :func:`free_atom_density`: the packaged ``free_atom_valence.npz`` or
    GPAW's atomic solver (cached on disk per element).
    """
    if source not in ("auto", "gpaw", "table"):
        raise ValueError(f"free-atom source must be auto, gpaw or table, not {source!r}")
    if source in ("auto", "table"):
        table = _valence_table_path()
        if table.is_file():
            with np.load(table) as data:
                if f"{symbol}_r" in data:
                    return (
                        data[f"{symbol}_r"].astype(np.float64),
                        data[f"{symbol}_rho"].astype(np.float64),
                        int(data[f"{symbol}_nvalence"]),
                        "table",
                    )
        if source == "table":
            raise DensityError(f"no tabulated free-atom valence density for {symbol!r}")
    if not gpaw_available():
        raise DensityError(
            f"free-atom valence density of {symbol!r} needs GPAW (pip install "
            "'matfusion[dft]'); it is not in the packaged table"
        )
    path = cache_dir() / "ecd" / "atoms" / f"gpaw-pbe-{symbol}-valence.npz"
    if path.is_file():
        with np.load(path) as data:
            return data["r"], data["rho"], int(data["nvalence"]), "gpaw"
    r, rho, n_valence, _ = _solve_atom_valence(symbol)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, binary=True) as fh:
        np.savez(fh, r=r, rho=rho, nvalence=n_valence)
    return r, rho, n_valence, "gpaw"


def valence_electrons(symbol: str) -> int:
    """Valence electrons of ``symbol`` (GPAW's PBE setup rule; Na 7, Mg 10, O 6, Cl 7)."""
    return free_atom_valence_density(symbol)[2]


def write_valence_table(path: Path, symbols: Sequence[str], stride: int = 4) -> dict[str, Any]:
    """Tabulate free-atom valence densities (every ``stride``-th radial point) for use
    without GPAW; returns per element the valence count, its integral on the stored grid and
    the core states (a check)."""
    arrays: dict[str, np.ndarray] = {}
    info: dict[str, Any] = {}
    for symbol in symbols:
        r, rho, n_valence, core = _solve_atom_valence(symbol)
        r, rho = r[::stride], rho[::stride]
        arrays[f"{symbol}_r"] = r.astype(np.float32)
        arrays[f"{symbol}_rho"] = rho.astype(np.float32)
        arrays[f"{symbol}_nvalence"] = np.array(n_valence)
        arrays[f"{symbol}_core"] = np.array(core)
        arrays[f"{symbol}_rule"] = np.array(valence_states(symbol)[1])
        info[symbol] = {
            "valence": n_valence,
            "integral": float(np.trapezoid(4 * np.pi * r**2 * rho, r)),
            "core": core,
        }
    with atomic_write(path, binary=True) as fh:
        np.savez_compressed(fh, **arrays)
    return info


def structure_z(symbol: str) -> int:
    """Atomic number of an element symbol."""
    from pymatgen.core import Element

    return int(Element(symbol).Z)


def write_free_atom_table(path: Path, symbols: Sequence[str], stride: int = 4) -> dict[str, float]:
    """Tabulate GPAW free-atom densities (every ``stride``-th radial point) for the fallback.

    Returns each element's integrated electron count on the stored grid (a check).
    """
    arrays: dict[str, np.ndarray] = {}
    counts = {}
    for symbol in symbols:
        r, rho = _solve_atom(symbol)
        r, rho = r[::stride], rho[::stride]
        arrays[f"{symbol}_r"] = r.astype(np.float32)
        arrays[f"{symbol}_rho"] = rho.astype(np.float32)
        counts[symbol] = float(np.trapezoid(4 * np.pi * r**2 * rho, r))
    with atomic_write(path, binary=True) as fh:
        np.savez_compressed(fh, **arrays)
    return counts


def _form_factor(symbol: str, q: np.ndarray, source: str, valence: bool = False) -> np.ndarray:
    """``f(q) = 4 pi int r^2 rho(r) sin(qr)/(qr) dr`` (f(0) = electron count of the atom)."""
    if valence:
        r, rho = free_atom_valence_density(symbol, source)[:2]
    else:
        r, rho, _ = free_atom_density(symbol, source)
    weight = 4 * np.pi * r**2 * rho
    out = np.empty_like(q)
    for start in range(0, len(q), 512):  # chunks: bounded memory, still vectorised
        qq = q[start : start + 512, None]
        out[start : start + 512] = np.trapezoid(weight * np.sinc(qq * r / np.pi), r, axis=1)
    return out


# --------------------------------------------------------------------------- providers


@runtime_checkable
class DensityProvider(Protocol):
    """What the sweeps and the cache need of a provider: a ``name`` and ``settings()`` that
    key the disk cache (and the stored runs' configs), and ``compute`` for one structure.
    Declared so a new provider (e.g. another DFT code) says what it must offer."""

    name: str

    def settings(self) -> dict[str, Any]:
        """Everything the density depends on, JSON-serialisable."""
        ...

    def compute(self, structure: Any, grid: int) -> DensityResult:
        """The density of ``structure`` on ``grid``^3 points over its cell."""
        ...


def structure_hash(structure: Any) -> str:
    """16 hex digits identifying a structure (lattice, species, fractional coordinates)."""
    payload = {
        "lattice": np.round(structure.lattice.matrix, 6).tolist(),
        "species": [site.species_string for site in structure],
        "frac": np.round(np.mod(structure.frac_coords, 1.0), 6).tolist(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


class PromolecularProvider:
    """Superposed free-atom densities (not a DFT density of the crystal).

    ``valence=True`` superposes the free atoms' valence densities instead (no core orbitals;
    the module docstring defines valence); the cell then holds the valence count.
    """

    name = "promolecular"

    def __init__(self, smoothing: float = 1.5, atoms: str = "auto", valence: bool = False) -> None:
        self.smoothing = float(smoothing)
        self.atoms = atoms
        self.valence = bool(valence)

    def settings(self) -> dict[str, Any]:
        """What the density depends on (enters the cache key); ``valence`` only when set, so
        all-electron densities keep their cache keys."""
        out: dict[str, Any] = {
            "smoothing_voxels": self.smoothing,
            "free_atoms": self.atoms,
            "xc": "PBE",
        }
        if self.valence:
            out["valence"] = True
        return out

    def compute(self, structure: Any, grid: int) -> DensityResult:
        """Density on ``grid``^3 points over the cell (reciprocal-space superposition)."""
        n = int(grid)
        if n < 2:
            raise ValueError(f"grid must be at least 2, got {grid}")
        structure = structure.get_primitive_structure()  # same cell as the gpaw provider
        lattice = structure.lattice
        volume = float(lattice.volume)
        freq = np.fft.fftfreq(n, d=1.0 / n)  # integer Miller indices in FFT order
        recip = lattice.reciprocal_lattice.matrix  # rows b_i, includes 2 pi
        g_vec = (
            freq[:, None, None, None] * recip[0]
            + freq[None, :, None, None] * recip[1]
            + freq[None, None, :, None] * recip[2]
        )
        g_norm = np.linalg.norm(g_vec, axis=-1)
        spacing = (volume / n**3) ** (1 / 3)
        damping = np.exp(-0.5 * (self.smoothing * spacing * g_norm) ** 2)
        q_table = np.linspace(0.0, float(g_norm.max()) * 1.001 + 1e-9, 2048)
        coeff = np.zeros((n, n, n), dtype=np.complex128)
        expected = 0.0
        sources = set()
        frac = np.mod(structure.frac_coords, 1.0)
        species = [site.specie.symbol for site in structure]
        for symbol in sorted(set(species)):
            idx = [i for i, s in enumerate(species) if s == symbol]
            phase = np.exp(-2j * np.pi * frac[idx, :, None] * freq[None, None, :])  # (a, 3, n)
            s_g = np.einsum("ah,ak,al->hkl", phase[:, 0], phase[:, 1], phase[:, 2])
            f_table = _form_factor(symbol, q_table, self.atoms, self.valence)
            if self.valence:
                count = free_atom_valence_density(symbol, self.atoms)[2]
                sources.add(free_atom_valence_density(symbol, self.atoms)[3])
            else:
                count = structure_z(symbol)
                sources.add(free_atom_density(symbol, self.atoms)[2])
            f_table *= count / f_table[0]  # exact neutral-atom (or valence) count
            coeff += np.interp(g_norm, q_table, f_table) * s_g
            expected += len(idx) * float(f_table[0])
        coeff *= damping / volume
        rho = np.real(np.fft.ifftn(coeff)) * n**3
        min_before = float(rho.min())
        rho = np.clip(rho, 0.0, None)  # tiny Fourier ringing near cores; count restored below
        rho *= (expected / volume) / rho.mean()
        return DensityResult(
            rho=rho.astype(np.float32),
            volume=volume,
            expected_electrons=float(expected),
            meta={
                "provider": self.name,
                **self.settings(),
                "free_atom_source": sorted(sources),
                "min_before_clip": min_before,
                "all_electron": not self.valence,
            },
        )


class GpawProvider:
    """Self-consistent PBE density from GPAW (plane waves, PAW, all-electron reconstruction).

    Settings rule (recorded in each result's ``meta``): the primitive cell; plane-wave cutoff
    ``ecut`` eV (default 400, above the PBE PAW setups' recommended cutoffs for s-p elements;
    350 eV already converges NaCl's density); Monkhorst-Pack k-points with density
    ``kpt_density`` points per reciprocal angstrom (``kpts={'density': ..., 'gamma': True}``;
    2.0 gives 4x4x4 for NaCl's primitive cell); Fermi-Dirac smearing 0.1 eV (metals and
    insulators alike); no spin polarisation; real-space grid ``gpts`` = half the target
    grid (at least 0.2 A spacing), refined twice for the all-electron density.

    ``valence=True``: the all-electron density without the frozen cores (GPAW's
    ``skip_core``) refined four times, rescaled to the setups' valence count (module
    docstring).
    """

    name = "gpaw"

    def __init__(
        self,
        ecut: float = 400.0,
        kpt_density: float = 2.0,
        smearing: float = 0.1,
        valence: bool = False,
    ) -> None:
        self.ecut = float(ecut)
        self.kpt_density = float(kpt_density)
        self.smearing = float(smearing)
        self.valence = bool(valence)

    def settings(self) -> dict[str, Any]:
        """What the density depends on (enters the cache key); ``valence`` only when set, so
        all-electron densities keep their cache keys."""
        out: dict[str, Any] = {
            "xc": "PBE",
            "ecut_eV": self.ecut,
            "kpt_density_per_A": self.kpt_density,
            "smearing_eV": self.smearing,
            "spin": False,
            "cell": "primitive",
        }
        if self.valence:
            out["valence"] = True
        return out

    def compute(self, structure: Any, grid: int) -> DensityResult:
        if not gpaw_available():
            raise DensityError(
                "the gpaw provider needs GPAW: apt-get install libxc-dev libopenblas-dev, "
                "then CC=g++ pip install 'matfusion[dft]'"
            )
        from gpaw import GPAW, PW, FermiDirac
        from pymatgen.io.ase import AseAtomsAdaptor

        lacking = gpaw_unsupported([structure])
        if lacking:
            raise DensityError(
                f"GPAW has no PBE PAW setup for {', '.join(lacking)} "
                f"({structure.composition.reduced_formula}); leave such materials out, e.g. "
                "with StructureFilter(exclude_elements=...)"
            )
        prim = structure.get_primitive_structure()
        atoms = AseAtomsAdaptor.get_atoms(prim)
        lengths = atoms.cell.lengths()
        gpts = [max(int(np.ceil(grid / 2)), int(np.ceil(L / 0.2))) for L in lengths]
        gpts = [g + (g % 2) for g in gpts]
        started = time.perf_counter()
        calc = GPAW(
            mode=PW(self.ecut),
            xc="PBE",
            kpts={"density": self.kpt_density, "gamma": True},
            occupations=FermiDirac(self.smearing),
            gpts=gpts,
            txt=None,
            symmetry={"point_group": True},
        )
        atoms.calc = calc
        try:
            energy = atoms.get_potential_energy()
            rho = calc.get_all_electron_density(
                gridrefinement=4 if self.valence else 2, skip_core=self.valence
            )
            n_valence = [int(round(setup.Nv)) for setup in calc.setups]
        except Exception as exc:  # SCF failure: one clear error naming the structure
            raise DensityError(f"GPAW failed on {prim.composition.reduced_formula}: {exc}") from exc
        seconds = time.perf_counter() - started
        volume = float(atoms.get_volume())
        native = rho.shape
        native_count = electron_count(rho, volume)
        if self.valence:
            expected = float(sum(n_valence))
            rho = rho * (expected / native_count)  # what the grid misses of the partial waves
        else:
            expected = float(sum(site.specie.Z for site in prim))
        out = resample(rho, grid)
        kpts = calc.wfs.kd.N_c.tolist() if hasattr(calc.wfs.kd, "N_c") else None
        return DensityResult(
            rho=out,
            volume=volume,
            expected_electrons=expected,
            meta={
                "provider": self.name,
                **self.settings(),
                "kpts": kpts,
                "gpts": gpts,
                "native_grid": list(native),
                "native_electrons": native_count,
                "energy_eV": float(energy),
                "seconds": seconds,
                "n_atoms_primitive": len(prim),
                "all_electron": not self.valence,
                **({"valence_electrons": n_valence} if self.valence else {}),
            },
        )


class ChgcarProvider:
    """VASP CHGCAR files (valence density; ``total`` channel for spin-polarised files)."""

    name = "chgcar"

    def settings(self) -> dict[str, Any]:
        return {"channel": "total"}

    def read(self, path: str | os.PathLike[str], grid: int | None = None) -> DensityResult:
        """Read ``path`` (plain or gzipped); resample to ``grid`` if given."""
        from pymatgen.io.vasp.outputs import Chgcar

        path = Path(path)
        if not path.is_file():
            raise DensityError(f"no such CHGCAR file: {path}")
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                chg = Chgcar.from_file(str(path))
            total = np.asarray(chg.data["total"], dtype=np.float64)
        except Exception as exc:
            raise DensityError(f"cannot read {path} as a VASP CHGCAR: {exc}") from exc
        volume = float(chg.structure.volume)
        rho = total / volume  # VASP stores rho * V_cell
        native = rho.shape
        if grid is not None:
            rho = resample(rho, grid)
        return DensityResult(
            rho=rho.astype(np.float32),
            volume=volume,
            expected_electrons=None,
            meta={
                "provider": self.name,
                "native_grid": list(native),
                "spin_polarised": "diff" in chg.data,
                "all_electron": False,
                "formula": chg.structure.composition.reduced_formula,
                "structure": chg.structure,
            },
        )

    def compute(self, structure: Any, grid: int) -> DensityResult:
        raise DensityError(
            "the chgcar provider reads files: call ChgcarProvider().read(path, grid) or "
            "`matfusion density CHGCAR --provider chgcar`"
        )


#: Every density provider class, by name (:func:`get_provider` constructs one).
PROVIDERS: Registry[type[DensityProvider]] = Registry.named(
    "density provider", [PromolecularProvider, GpawProvider, ChgcarProvider]
)


def get_provider(name: str, **settings: Any) -> DensityProvider:
    """A provider by name (``promolecular``, ``gpaw``, ``chgcar``) with its settings; an
    unknown name is one line with the close matches."""
    return PROVIDERS[name](**settings)


@dataclass(frozen=True)
class DensitySource:
    """A density a CNN can read: a provider and whether it holds the valence electrons only
    (the module docstring defines valence). What a comparison of densities compares: the
    same provider all-electron and valence-only are two sources."""

    name: str
    provider: str
    valence: bool
    label: str

    def settings(self) -> dict[str, Any]:
        """The provider's settings this source implies (those of
        :func:`matfusion.ecd.settings.provider_settings` for a profile with this provider and
        valence setting, so a source's runs are the stored runs of such a profile)."""
        return {"valence": True} if self.valence else {}

    def provider_instance(self) -> DensityProvider:
        return get_provider(self.provider, **self.settings())


#: Every density source, by name; ``promolecular-*`` are superposed free atoms (not DFT),
#: ``gpaw-*`` self-consistent PBE densities. The chgcar provider reads what a file holds
#: (VASP's valence density) and is no source of its own.
DENSITY_SOURCES: Registry[DensitySource] = Registry.named(
    "density source",
    [
        DensitySource("promolecular-all-electron", "promolecular", False,
                      "promolecular, all-electron"),
        DensitySource("promolecular-valence", "promolecular", True, "promolecular, valence"),
        DensitySource("gpaw-all-electron", "gpaw", False, "GPAW, all-electron"),
        DensitySource("gpaw-valence", "gpaw", True, "GPAW, valence"),
    ],
)  # fmt: skip


def get_source(name: str) -> DensitySource:
    """A density source by name; an unknown name is one line with the close matches."""
    return DENSITY_SOURCES[name]


def source_name(provider: str, valence: bool) -> str:
    """The name of the source of ``provider`` with (or without) ``valence``: what a profile
    with these settings reads (``gpaw``, False: ``gpaw-all-electron``)."""
    for source in DENSITY_SOURCES.values():
        if source.provider == provider and source.valence == bool(valence):
            return source.name
    if provider not in PROVIDERS:
        raise PROVIDERS.unknown(provider)
    raise ValueError(f"the {provider} provider has no density source (it reads files as they are)")


def parse_sources(text: str | Sequence[str]) -> list[str]:
    """Source names from ``"a,b,c"`` (or a list), in order, each checked: an unknown name is
    one line with the close matches, a repeated name or an empty list a ``ValueError``."""
    names = [n.strip() for n in text.split(",")] if isinstance(text, str) else list(text)
    names = [n for n in names if n]
    if not names:
        raise ValueError(f"name at least one density source (valid: {', '.join(DENSITY_SOURCES)})")
    for name in names:
        DENSITY_SOURCES[name]  # unknown: UnknownNameError with the close matches
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"density source(s) named twice: {', '.join(repeated)}")
    return names


# --------------------------------------------------------------------------- cached batches


def _cache_path(provider: DensityProvider, structure: Any, grid: int) -> Path:
    settings = json.dumps(
        {"v": _CACHE_VERSION, "provider": provider.name, **provider.settings()}, sort_keys=True
    )
    tag = hashlib.sha256(settings.encode()).hexdigest()[:10]
    return (
        cache_dir()
        / "ecd"
        / "densities"
        / f"{provider.name}-{tag}"
        / f"g{grid}"
        / f"{structure_hash(structure)}.npz"
    )


def density_for(structure: Any, provider: DensityProvider, grid: int) -> DensityResult:
    """A structure's density on ``grid``^3, from the disk cache or computed and cached."""
    path = _cache_path(provider, structure, grid)
    if path.is_file():
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            return DensityResult(
                data["rho"], float(data["volume"]), meta.pop("expected_electrons"), meta
            )
    started = time.perf_counter()
    result = provider.compute(structure, grid)
    result.meta.setdefault("seconds", time.perf_counter() - started)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {**result.meta, "expected_electrons": result.expected_electrons}
    with atomic_write(path, binary=True) as fh:
        np.savez(fh, rho=result.rho, volume=result.volume, meta=json.dumps(meta))
    return result


def _worker(structure_dict: dict[str, Any], provider_name: str, settings: dict, grid: int):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from pymatgen.core import Structure

    provider = get_provider(provider_name, **settings)
    result = density_for(Structure.from_dict(structure_dict), provider, grid)
    return result.electrons, result.expected_electrons, result.meta.get("seconds")


def compute_densities(
    structures: Sequence[Any],
    provider: str = "promolecular",
    grid: int = 60,
    *,
    settings: dict[str, Any] | None = None,
    workers: int = 1,
    progress: bool = True,
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Densities of many structures as one ``(N, grid, grid, grid)`` float32 array.

    Cached per structure, so an interrupted call resumes; missing ones are computed in
    ``workers`` processes (one thread each). Returns the array and one summary dict per
    structure (electrons, expected electrons, seconds to compute).
    """
    from tqdm.auto import tqdm

    settings = settings or {}
    prov = get_provider(provider, **settings)
    todo = [i for i, s in enumerate(structures) if not _cache_path(prov, s, grid).is_file()]
    bar = tqdm(total=len(todo), desc=f"{provider} densities ({grid}^3)", disable=not progress)
    if todo and workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [
                pool.submit(_worker, structures[i].as_dict(), provider, settings, grid)
                for i in todo
            ]
            for fut in as_completed(futures):
                fut.result()
                bar.update()
    else:
        for i in todo:
            density_for(structures[i], prov, grid)
            bar.update()
    bar.close()
    out = np.empty((len(structures), grid, grid, grid), dtype=np.float32)
    info = []
    for i, s in enumerate(structures):
        res = density_for(s, prov, grid)
        out[i] = res.rho
        info.append(
            {
                "electrons": res.electrons,
                "expected_electrons": res.expected_electrons,
                "seconds": res.meta.get("seconds"),
            }
        )
    return out, info
