"""Our own DFT elastic moduli with GPAW, for paper B's external validation (its Figure 5).

The external structures (WBM Fm-3m entries) have no published moduli, so we compute them:

* bulk modulus ``K_eos``: seven PBE energies at volumes V0 x (0.94 ... 1.06) of the primitive
  cell, fitted with the Birch-Murnaghan equation of state (``ase.eos``);
* for insulators, cubic ``C11``, ``C12`` (stresses under +/- 1% normal strain) and ``C44``
  (+/- 1% shear) at the fitted equilibrium volume, giving Voigt-Reuss-Hill ``K`` and ``G``.
  The cutoff is checked by the residual stress at the fitted volume, for metals too: above
  2 GPa it is raised in 300 eV steps (to at most 1100 eV) and the E-V scan is repeated, then
  the strains are applied at that cutoff (``ecut_eos_eV``, ``ecut_cij_eV``; rows stored
  before the check covered the E-V scan have no ``ecut_eos_eV``: their E-V used 500 eV).
  Ions are clamped: exact for atoms on m-3m sites (rock salt, fcc), an upper bound for C44
  where a site has lower symmetry (fluorite's 8c), which the row flags.
* a lattice that fails the cubic Born criteria (e.g. C44 < 0) gets no shear modulus
  (``stable`` False): several WBM structures are hypothetical;
* compounds of Cr, Mn, Fe, Co or Ni (``spin_risk``) are often magnetic: the default batch
  leaves them out, ``--magnetic`` computes them spin-polarised from a ferromagnetic start
  (``INITIAL_MOMENT_MUB`` per such atom; ``spin_polarized`` and the final ``magmom_muB``
  recorded). Rows of theirs computed without spin polarisation stay flagged and are kept out
  of the validation metrics (``usable`` False);
* metals (zero PBE gap) are unreliable at these k-point densities for shear: we compute
  ``K_eos`` with denser k-points and leave the C_ij empty (flagged).

Settings are recorded with every row; the book reads the stored CSV
(``src/matfusion/ecd/dft_moduli.csv``) and recomputes only when asked.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from matfusion.ecd.density import DensityError, gpaw_available, gpaw_unsupported

__all__ = [
    "DFT_CSV",
    "DftSettings",
    "compute_moduli",
    "cubic_vrh",
    "load_dft_moduli",
    "load_failures",
]

DFT_CSV = Path(__file__).with_name("dft_moduli.csv")
#: Elements whose compounds are often magnetic (``spin_risk``): computed spin-polarised
#: (``--magnetic``); a row of theirs without spin polarisation is left out of the metrics.
MAGNETIC_ELEMENTS = frozenset({"Cr", "Mn", "Fe", "Co", "Ni"})
#: Ferromagnetic starting moment on each atom of MAGNETIC_ELEMENTS in a spin-polarised run
#: (muB); the SCF relaxes it, to zero where the compound is not magnetic.
INITIAL_MOMENT_MUB = 3.0
#: How many E-V points may be added beyond the window when its lowest energy is at an end:
#: up to x1.30 (x0.70) of the input volume. A ferromagnetic start can expand a cell that much
#: (spin-polarised rock-salt MnP: minimum near x1.19; 6 points, to x1.18, fell just short).
MAX_EXTRA_EOS_POINTS = 12


class DftSettings(dict):
    """Plain-dict settings with the defaults used for the stored CSV."""

    DEFAULTS = {
        "xc": "PBE",
        "ecut_eV": 500.0,
        "kpt_density_insulator": 3.0,
        "kpt_density_metal": 5.0,
        "smearing_eV": 0.1,
        "eos_volume_range": 0.06,
        "eos_points": 7,
        "strain": 0.01,
        "cij_max_residual_GPa": 2.0,
        "cij_ecut_step_eV": 300.0,
        "cij_ecut_max_eV": 1100.0,
    }

    def __init__(self, **overrides: Any) -> None:
        unknown = set(overrides) - set(self.DEFAULTS)
        if unknown:
            raise ValueError(f"unknown DFT settings {sorted(unknown)}")
        super().__init__({**self.DEFAULTS, **overrides})


def cubic_vrh(c11: float, c12: float, c44: float) -> tuple[float, float]:
    """VRH bulk and shear moduli of a cubic crystal from C11, C12, C44 (same units)."""
    k = (c11 + 2 * c12) / 3
    g_v = (c11 - c12 + 3 * c44) / 5
    g_r = 5 * (c11 - c12) * c44 / (4 * c44 + 3 * (c11 - c12))
    return k, (g_v + g_r) / 2


def spin_risk(formula: str) -> bool:
    """Whether a compound contains an element that is often magnetic (see MAGNETIC_ELEMENTS)."""
    from pymatgen.core import Composition

    return any(el.symbol in MAGNETIC_ELEMENTS for el in Composition(formula).elements)


def initial_magmoms(symbols: list[str]) -> list[float]:
    """Ferromagnetic start: INITIAL_MOMENT_MUB on each magnetic-element atom, 0 elsewhere."""
    return [INITIAL_MOMENT_MUB if s in MAGNETIC_ELEMENTS else 0.0 for s in symbols]


def annotate(table: pd.DataFrame) -> pd.DataFrame:
    """Derived flags, also for rows stored before they existed: ``stable``, ``spin_risk``,
    ``spin_polarized`` (False where not recorded), ``usable`` (no magnetic element, or
    computed spin-polarised: the rows the validation metrics use) and ``ecut_eos_eV`` (NaN
    where the E-V fit predates its cutoff check)."""
    table = table.copy()
    table["spin_risk"] = [spin_risk(f) for f in table["formula"]]
    if "ecut_eos_eV" not in table.columns:
        table["ecut_eos_eV"] = float("nan")
    if "spin_polarized" not in table.columns:
        table["spin_polarized"] = False
    table["spin_polarized"] = table["spin_polarized"].eq(True)  # NaN (not recorded): False
    table["usable"] = ~table["spin_risk"] | table["spin_polarized"]
    has = table["C11"].notna()
    table["stable"] = [
        born_stable(a, b, c) if h else None
        for a, b, c, h in zip(table["C11"], table["C12"], table["C44"], has, strict=True)
    ]
    table.loc[has & (table["stable"] == False), "G_vrh_GPa"] = None  # noqa: E712
    return table


def born_stable(c11: float, c12: float, c44: float) -> bool:
    """Born stability of a cubic crystal: C11 - C12 > 0, C11 + 2 C12 > 0, C44 > 0."""
    return bool(c11 - c12 > 0 and c11 + 2 * c12 > 0 and c44 > 0)


def _calculator(settings: DftSettings, kpt_density: float, txt: IO[str] | None = None):
    from gpaw import GPAW, PW, FermiDirac

    return GPAW(
        mode=PW(settings["ecut_eV"]),
        xc=settings["xc"],
        kpts={"density": kpt_density, "gamma": True},
        occupations=FermiDirac(settings["smearing_eV"]),
        txt=txt,
    )


def _low_symmetry_sites(structure: Any) -> bool:
    """Whether any site lacks full cubic m-3m symmetry (then clamped-ion C44 is an upper bound)."""
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    data = SpacegroupAnalyzer(structure, symprec=0.1).get_symmetry_dataset()
    return any(s != "m-3m" for s in data.site_symmetry_symbols)


def compute_moduli(
    structure: Any,
    *,
    label: str = "",
    settings: DftSettings | None = None,
    elastic: bool = True,
    spin_polarized: bool | None = None,
    progress: bool = False,
    gpaw_log: Path | None = None,
) -> dict[str, Any]:
    """K from an E-V fit and, for insulators, C11/C12/C44 -> VRH K and G (GPa).

    ``spin_polarized`` (default: whether the compound has a magnetic element) starts every
    SCF from ferromagnetic moments (:func:`initial_magmoms`). One crystal is 8 (metal) to 13
    or more (insulator) SCF runs, minutes to an hour or more on one core: ``progress`` shows
    a bar over those runs, naming the stage, and ``gpaw_log`` takes GPAW's own text output
    (each SCF iteration: energy, density change, magnetic moment), where a slow magnetic SCF
    can be watched.
    """
    if not gpaw_available():
        raise DensityError("DFT moduli need GPAW: pip install 'matfusion[dft]'")
    from gpaw import ConvergenceError
    from tqdm.auto import tqdm

    who = label or structure.composition.reduced_formula
    missing = gpaw_unsupported([structure])
    if missing:  # say so before any SCF, not with GPAW's file-not-found deep inside one
        raise DensityError(f"{who}: GPAW has no PBE PAW setup for {', '.join(missing)}")
    settings = settings or DftSettings()
    # total known after the probe (metal: no C_ij); a raised cutoff adds a scan and a check
    steps = tqdm(
        total=1 + settings["eos_points"],
        desc=f"{who}: probe",
        unit="SCF",
        leave=False,
        disable=not progress,
    )
    # one stream for all the cell's SCFs, in order (GPAW given a path would reopen it per run)
    log = open(gpaw_log, "w", encoding="utf-8") if gpaw_log is not None else None  # noqa: SIM115
    try:
        return _moduli(structure, label, who, settings, elastic, spin_polarized, steps, log)
    except ConvergenceError as err:  # GPAW gave up on one SCF: one error the batch can note
        stage = steps.desc.removeprefix(f"{who}: ")
        why = str(err) or "GPAW stopped at its iteration limit"  # its usual error has no text
        raise DensityError(f"{who}: the SCF did not converge ({stage}): {why}") from err
    finally:
        steps.close()
        if log is not None:
            log.close()


def _moduli(
    structure: Any,
    label: str,
    who: str,
    settings: DftSettings,
    elastic: bool,
    spin_polarized: bool | None,
    steps: Any,
    log: IO[str] | None,
) -> dict[str, Any]:
    """The work of :func:`compute_moduli`, which owns the progress bar ``steps``."""
    from ase.dft.bandgap import bandgap
    from ase.eos import EquationOfState
    from ase.units import GPa
    from pymatgen.io.ase import AseAtomsAdaptor
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    def calculator(current: DftSettings, kpt_density: float):
        return _calculator(current, kpt_density, txt=log)

    started = time.perf_counter()
    n = settings["eos_points"]

    def step(stage: str) -> None:
        steps.update()
        steps.set_description_str(f"{who}: {stage}")

    # the standard primitive cell is aligned with the cubic axes, so Cartesian strains are
    # strains along the cube edges
    prim = SpacegroupAnalyzer(structure, symprec=0.1).get_primitive_standard_structure()
    atoms0 = AseAtomsAdaptor.get_atoms(prim)
    if spin_polarized is None:
        spin_polarized = spin_risk(prim.composition.reduced_formula)
    # GPAW runs spin-polarised when any initial moment is non-zero; copies keep the moments
    atoms0.set_initial_magnetic_moments(
        initial_magmoms(atoms0.get_chemical_symbols()) if spin_polarized else None
    )
    # a first SCF at the given volume decides metal or insulator (k-points follow)
    probe = atoms0.copy()
    probe.calc = calculator(settings, settings["kpt_density_insulator"])
    with contextlib.redirect_stdout(io.StringIO()):
        probe.get_potential_energy()
        gap = float(bandgap(probe.calc, output=None)[0])
    metal = gap < 0.05
    kd = settings["kpt_density_metal" if metal else "kpt_density_insulator"]
    steps.total += 1 + (4 if elastic and not metal else 0)  # residual stress, strained cells
    steps.refresh()
    step("E-V 1")

    scales = np.linspace(1 - settings["eos_volume_range"], 1 + settings["eos_volume_range"], n)
    spacing = scales[1] - scales[0]

    def scan(current: DftSettings) -> dict[str, Any]:
        """E-V points at one cutoff, the window moved until it holds the minimum, and the fit."""
        points: dict[float, tuple[float, float, float]] = {}  # scale -> volume, energy, moment
        kpts: list[str] = []

        def energy_at(scale: float) -> None:
            atoms = atoms0.copy()
            atoms.set_cell(atoms0.cell * scale ** (1 / 3), scale_atoms=True)
            atoms.calc = calculator(current, kd)
            energy = atoms.get_potential_energy()
            moment = float(atoms.calc.get_magnetic_moment()) if spin_polarized else 0.0
            points[float(scale)] = (atoms.get_volume(), energy, moment)
            kpts.append("x".join(str(int(k)) for k in atoms.calc.wfs.kd.N_c))
            step(f"E-V {len(points) + 1}")  # the next stage; set after the scan when it is not

        for scale in scales:
            energy_at(scale)
        # The lowest energy at an end of the window: the equilibrium lies outside it (a
        # magnetic state's larger volume, a poorly relaxed input). Step outwards until inside.
        extra = 0
        while True:
            ordered = sorted(points)
            lowest = int(np.argmin([points[k][1] for k in ordered]))
            if 0 < lowest < len(ordered) - 1:
                break
            if extra == MAX_EXTRA_EOS_POINTS:
                raise DensityError(
                    f"{who}: the E-V minimum lies outside volumes x{ordered[0]:.2f}-x"
                    f"{ordered[-1]:.2f} of the input cell even after {extra} extra points"
                )
            steps.total += 1
            energy_at(ordered[0] - spacing if lowest == 0 else ordered[-1] + spacing)
            extra += 1
        # fit the eos_points points around the minimum
        first = min(max(lowest - n // 2, 0), len(ordered) - n)
        window = [points[k] for k in ordered[first : first + n]]
        volumes, energies, moments = (list(column) for column in zip(*window, strict=True))
        steps.set_description_str(f"{who}: residual stress")
        try:
            v0, _e0, b0 = EquationOfState(volumes, energies, eos="birchmurnaghan").fit()
        except RuntimeError as err:  # scipy's curve_fit: e.g. noisy energies of a metal
            shown = ", ".join(f"{e:.4f}" for e in energies)
            raise DensityError(
                f"{who}: Birch-Murnaghan fit failed ({err}); energies {shown} eV at volumes "
                f"{volumes[0]:.2f}-{volumes[-1]:.2f} A^3 (noisy energies: raise the k-points)"
            ) from err
        nearest = int(np.argmin(np.abs(np.array(volumes) - v0)))
        return {"v0": float(v0), "b0": float(b0), "magmom": moments[nearest], "extra": extra,
                "kpts": kpts[-1]}  # fmt: skip

    # The stress at the E-V minimum should vanish; a large residual means the plane-wave basis
    # is too small (Pulay stress), for the E-V curve as for the C_ij: raise the cutoff and
    # scan again (MgO and the fluorides need 800 eV where most cells are fine at 500).
    current = DftSettings(**settings)
    while True:
        fit = scan(current)
        eq = atoms0.copy()
        eq.set_cell(atoms0.cell * (fit["v0"] / atoms0.get_volume()) ** (1 / 3), scale_atoms=True)
        eq.calc = calculator(current, kd)
        worst = float(np.abs((eq.get_stress(voigt=True) / GPa)[:3]).max())
        next_ecut = current["ecut_eV"] + current["cij_ecut_step_eV"]
        if worst <= current["cij_max_residual_GPa"] or next_ecut > current["cij_ecut_max_eV"]:
            step("strains" if elastic and not metal else "done")
            break
        current = DftSettings(**{**current, "ecut_eV": next_ecut})
        steps.total += n + 1
        step(f"E-V at {next_ecut:.0f} eV")
    v0 = fit["v0"]
    row: dict[str, Any] = {
        "id": label,
        "formula": prim.composition.reduced_formula,
        "spin_risk": spin_risk(prim.composition.reduced_formula),
        "n_atoms": len(prim),
        "pbe_gap_eV": gap,
        "metal": metal,
        "V0_A3": v0,
        "V_input_A3": float(atoms0.get_volume()),
        "K_eos_GPa": fit["b0"] / GPa,
        "kpts": fit["kpts"],
        "spin_polarized": bool(spin_polarized),
        # total moment of the cell at the E-V point nearest the fitted volume
        "magmom_muB": fit["magmom"],
        "eos_extra_points": fit["extra"],
        # the cutoff of the stored E-V fit, checked by the residual stress at its minimum
        "ecut_eos_eV": current["ecut_eV"],
        "residual_GPa": worst,
    }
    row.update({k: None for k in ("C11", "C12", "C44", "K_vrh_GPa", "G_vrh_GPa")})
    row["ecut_cij_eV"] = None
    row["stable"] = None
    row["c44_upper_bound"] = _low_symmetry_sites(prim)
    if elastic and not metal:
        row["ecut_cij_eV"] = current["ecut_eV"]
        e = settings["strain"]
        stresses = {}
        for name, strain in (("xx", np.diag([e, 0, 0])), ("yz", None)):
            if strain is None:  # engineering shear gamma_yz = 2e: symmetric tensor entries e
                strain = np.zeros((3, 3))
                strain[1, 2] = strain[2, 1] = e
            for sign in (1, -1):
                atoms = eq.copy()
                deform = np.eye(3) + sign * strain
                atoms.set_cell(eq.cell @ deform.T, scale_atoms=True)
                atoms.calc = calculator(current, kd)
                stresses[(name, sign)] = atoms.get_stress(voigt=True) / GPa
                step("strains")
        # ASE stress is +dE/(V d strain): tension positive, so sigma = C eps
        d_xx = (stresses[("xx", 1)] - stresses[("xx", -1)]) / (2 * e)
        d_yz = (stresses[("yz", 1)] - stresses[("yz", -1)]) / (2 * 2 * e)
        c11, c12, c44 = float(d_xx[0]), float(0.5 * (d_xx[1] + d_xx[2])), float(d_yz[3])
        k, g = cubic_vrh(c11, c12, c44)
        row["stable"] = born_stable(c11, c12, c44)
        if not row["stable"]:
            g = None  # a shear modulus of an unstable lattice means nothing
        row.update(
            {
                "C11": c11,
                "C12": c12,
                "C44": c44,
                "K_vrh_GPa": k,
                "G_vrh_GPa": g,
            }
        )
    row["seconds"] = time.perf_counter() - started
    row.update({f"setting_{k}": v for k, v in settings.items()})
    return row


def load_dft_moduli(path: Path | None = None) -> pd.DataFrame:
    """The stored DFT moduli (our own GPAW runs), one row per structure."""
    path = path or DFT_CSV
    if not path.is_file():
        raise FileNotFoundError(f"no stored DFT moduli at {path}; compute them with compute_moduli")
    table = pd.read_csv(path, comment="#")
    if {"formula", "C11", "C12", "C44", "G_vrh_GPa"} <= set(table.columns):
        table = annotate(table)
    return table


def _update_csv(path: Path, update: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    """Read ``path`` (empty frame if new), apply ``update`` and write it back.

    Writers take an exclusive lock (a ``.<name>.lock`` file beside it), so several processes
    (one per core, :func:`claim_job`) can change the same file without losing each other's
    rows; the new file replaces the old in one rename, so a reader, which takes no lock,
    never sees it half-written."""
    import fcntl

    from matfusion.io import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        frame = load_dft_moduli(path) if path.is_file() and path.stat().st_size else None
        with atomic_write(path) as handle:
            update(pd.DataFrame() if frame is None else frame).to_csv(
                handle, index=False, float_format="%.6g"
            )


def _replace_row(frame: pd.DataFrame, row: dict[str, Any]) -> pd.DataFrame:
    new = pd.DataFrame([{k: (str(v) if isinstance(v, list) else v) for k, v in row.items()}])
    if frame.empty:
        return new
    frame = frame[frame["id"] != row["id"]]
    columns = list(dict.fromkeys([*frame.columns, *new.columns]))
    # all-empty columns (e.g. no C_ij for a metal) are left to the reindex: pandas is
    # deprecating their part in the concatenated dtypes
    return pd.concat([frame, new.dropna(axis=1, how="all")], ignore_index=True).reindex(
        columns=columns
    )


def append_row(row: dict[str, Any], path: Path | None = None) -> None:
    """Add (or replace, by id) one row in the stored CSV (under a lock: :func:`_update_csv`)."""
    # ``usable`` is derived on load (annotate); storing it could contradict the row later
    _update_csv(
        path or DFT_CSV,
        lambda frame: _replace_row(frame, row).drop(columns=["usable"], errors="ignore"),
    )


def failures_path(path: Path | None = None) -> Path:
    """The file of cells a batch could not compute, beside the moduli CSV ``path``."""
    path = path or DFT_CSV
    return path.with_name(f"{path.stem}_failures.csv")


def load_failures(path: Path | None = None) -> pd.DataFrame:
    """Cells our GPAW runs could not compute (id, formula, n_atoms, spin_polarized, seconds
    spent, error), stored like the moduli so the chapter can say which and why; a later
    batch skips them until ``redo`` names them."""
    where = failures_path(path)
    if not where.is_file() or not where.stat().st_size:
        return pd.DataFrame(
            columns=["id", "formula", "n_atoms", "spin_polarized", "seconds", "error"]
        )
    return pd.read_csv(where)


def _store_failure(failure: dict[str, Any], path: Path) -> None:
    _update_csv(failures_path(path), lambda frame: _replace_row(frame, failure))


def _forget_failure(path: Path, ident: str) -> None:
    where = failures_path(path)
    if ident in set(load_failures(path)["id"]):
        _update_csv(where, lambda frame: frame[frame["id"] != ident])


def _stored_rows(path: Path, magnetic: bool) -> dict[str, str]:
    """Stored rows that count as done (for ``magnetic``: computed spin-polarised), as id ->
    the row's text: a changed text tells a row another process has just rewritten
    (``redo``) from the row that was there before."""
    if not path.is_file() or not path.stat().st_size:
        return {}
    stored = load_dft_moduli(path)
    if magnetic and "usable" in stored.columns:  # a magnetic compound's non-spin row is not done
        stored = stored[stored["usable"].astype(bool)]
    # NaN reads "nan", so equal rows compare equal
    text = [",".join(map(str, row)) for row in stored.itertuples(index=False)]
    return dict(zip(stored["id"], text, strict=True))


def _batch_folder(path: Path) -> Path:
    """Where the batches writing ``path`` keep their claims (not part of the repository)."""
    folder = path.with_name(f".{path.name}.claims")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextlib.contextmanager
def claim_job(path: Path, ident: str) -> Iterator[bool]:
    """Claim one cell of a batch writing ``path``: yields True if this process holds it.

    The claim is an exclusive ``flock`` on a per-cell file beside the CSV
    (``.<csv name>.claims/<id>.lock``), held while the cell is computed; the system drops
    it when the process ends, however it ends, so a killed batch leaves no stale claim.
    """
    import fcntl

    with open(_batch_folder(path) / f"{ident}.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


#: Materials Project check materials: rock salt insulators and an fcc metal.
CHECK_FORMULAS = ("NaCl", "MgO", "Al")


def run_batch(
    check: tuple[str, ...] = CHECK_FORMULAS,
    n_external: int = 0,
    *,
    path: Path | None = None,
    settings: DftSettings | None = None,
    progress: bool = True,
    magnetic: bool = False,
    redo: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Compute the check materials and the ``n_external`` smallest WBM cells not yet stored.

    ``magnetic`` False takes the external cells without a magnetic element; True takes only
    those with one, spin-polarised, and redoes any of theirs stored without spin polarisation.

    External cells with an element GPAW has no setup for (Tc) are left out of the job list,
    with a printed line naming them, so one such cell cannot stop a long batch.
    Resumable: each finished structure is appended to the CSV at once; stored ids are skipped.
    Several processes (one per core) may run the same batch: each claims a cell before
    computing it (:func:`claim_job`) and takes the next unclaimed one, so the cores stay busy
    until the list is done (a fixed split left one core idle while the other still had the
    large cells) and no cell is computed twice. A cell that fails is stored with its error
    (:func:`load_failures`) and later batches skip it. ``redo`` ids are computed again (their
    stored rows replaced, failed cells retried) when they are in this batch's job list.
    """
    from tqdm.auto import tqdm

    from matfusion.ecd.data import contains_any, load_ecd_dataset, load_external_set, structures

    path = path or DFT_CSV
    listed = _stored_rows(path, magnetic)
    done = set(listed) - set(redo)
    mp = load_ecd_dataset(verbose=False)
    checks, externals = [], []
    for formula in check:
        rows = mp[mp["formula"] == formula]
        if rows.empty:
            raise ValueError(f"check material {formula} is not in the MP set")
        checks.append(rows.iloc[[0]])
    if n_external:
        ext = load_external_set(verbose=False)
        structs = structures(ext)  # parsed once: sizes and setups both come from them
        missing = set(gpaw_unsupported(structs))
        ext = ext.assign(n_sites=[len(s) for s in structs]).sort_values(["n_sites", "mp_id"])
        ext = ext[[spin_risk(f) == magnetic for f in ext["formula"]]]
        lacking = contains_any(ext, missing)
        if lacking.any():
            names = [
                f"{f} ({', '.join(sorted(missing & set(e.split())))})"
                for f, e in zip(ext["formula"][lacking], ext["elements"][lacking], strict=True)
            ]
            print(f"GPAW has no PAW setup for: {'; '.join(names)}; left out", flush=True)
            ext = ext[~lacking]
        externals = [ext.iloc[[i]] for i in range(len(ext))]

    known_failures = load_failures(path).set_index("id")["error"]

    def pending(jobs: list[pd.DataFrame]) -> list[pd.DataFrame]:
        out = []
        for job in jobs:
            ident = job["mp_id"].iloc[0]
            if ident in done:
                continue
            if ident in known_failures.index and ident not in redo:
                print(f"{ident}: failed before, left out (--redo {ident} retries): "
                      f"{known_failures[ident]}", flush=True)  # fmt: skip
                continue
            out.append(job)
        return out

    todo = pending(checks) + pending(externals)[:n_external]
    failed = []
    for job in tqdm(todo, desc="GPAW moduli", disable=not progress):
        ident = job["mp_id"].iloc[0]
        with claim_job(path, ident) as mine:
            if not mine:
                print(f"{ident}: being computed by another process; next cell", flush=True)
                continue
            # another process may have stored it, or failed on it, since this one listed its jobs
            now = _stored_rows(path, magnetic)
            if ident in now and (ident not in redo or now[ident] != listed.get(ident)):
                continue
            if ident not in redo and ident in set(load_failures(path)["id"]):
                print(f"{ident}: failed in another process; next cell", flush=True)
                continue
            structure = structures(job)[0]
            started = time.perf_counter()
            try:
                row = compute_moduli(
                    structure,
                    label=ident,
                    settings=settings,
                    progress=progress,
                    gpaw_log=_batch_folder(path) / f"{ident}.gpaw.txt",
                )
            except DensityError as err:  # one cell's failure (a fit, a window) must not end it
                failed.append(ident)
                failure = {
                    "id": ident,
                    "formula": structure.composition.reduced_formula,
                    "n_atoms": len(structure.get_primitive_structure()),
                    "spin_polarized": spin_risk(structure.composition.reduced_formula),
                    "seconds": round(time.perf_counter() - started, 1),
                    "error": str(err),
                }
                _store_failure(failure, path)
                print(f"FAILED {err}", flush=True)
                continue
            append_row(row, path)
            _forget_failure(path, ident)
        print(
            f"{ident} {row['formula']}: K_eos {row['K_eos_GPa']:.1f} GPa, "
            f"G_vrh {row['G_vrh_GPa'] if row['G_vrh_GPa'] is not None else '-'} "
            f"({row['seconds']:.0f} s)",
            flush=True,
        )
    if failed:
        print(
            f"{len(failed)} cell(s) failed, nothing stored for them: {', '.join(failed)}; "
            "later batches skip them unless named in --redo"
        )
    return load_dft_moduli(path)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(
        description="GPAW moduli of check and external materials",
        epilog="Run the same command once per core: each process claims the next free cell.",
    )
    parser.add_argument("--check", default=",".join(CHECK_FORMULAS))
    parser.add_argument(
        "--external", type=int, default=0, help="how many WBM cells to add (all processes together)"
    )
    parser.add_argument(
        "--magnetic",
        action="store_true",
        help="external cells with Cr, Mn, Fe, Co or Ni instead, spin-polarised",
    )
    parser.add_argument("--redo", default="", help="ids to compute again (comma-separated)")
    args = parser.parse_args()
    checks = tuple(c for c in args.check.split(",") if c)
    redo = tuple(i for i in args.redo.split(",") if i)
    run_batch(checks, args.external, magnetic=args.magnetic, redo=redo)
