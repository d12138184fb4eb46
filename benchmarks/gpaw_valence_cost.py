"""What GPAW valence densities cost: measured on a few small materials, extrapolated to all.

Chapter 11's comparison of density sources needs the GPAW valence density
(:class:`matfusion.ecd.density.GpawProvider` with ``valence=True``) of every material GPAW
has a PBE PAW setup for, at the profile's grid. This script times the first ``--materials``
of the comparison's own order (fewest electrons per primitive cell first, the materials
without a setup left out), one thread, valence and all-electron on the same structures, and
extrapolates the valence densities of all of them two ways:

* ``estimate`` (the number the book cites): per material, the measured valence CPU seconds
  scaled by its valence electrons per primitive cell, ``t = t0 (N_v / N_v0)^p``, with the
  exponent ``p`` fitted (log-log least squares) to the all-electron GPAW seconds stored for
  every material in the ``ecd_density_diff`` record (same SCF settings; the valence run adds
  only a finer grid for the density), anchored at the measured materials (geometric mean of
  their ``t / N_v^p``).
* ``cross_check``: the stored all-electron seconds of every material times the measured
  valence / all-electron CPU-time ratio (mean over the measured materials).

Nothing is written to the density cache (the providers' ``compute`` is called directly). Run::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/gpaw_valence_cost.py [--materials 2]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "gpaw_valence_cost_cpu.json"


def _valence_count(structure: Any) -> int:
    """Valence electrons of the primitive cell (GPAW's PBE setups' rule)."""
    from matfusion.ecd.density import valence_electrons

    prim = structure.get_primitive_structure()
    return int(sum(valence_electrons(site.specie.symbol) for site in prim))


def _timed(provider: Any, structure: Any, grid: int) -> dict[str, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = provider.compute(structure, grid)
    return {
        "wall_s": round(time.perf_counter() - wall, 3),
        "cpu_s": round(time.process_time() - cpu, 3),
        "electrons": round(result.electrons, 4),
        "expected_electrons": result.expected_electrons,
        "native_grid": result.meta.get("native_grid"),
        "kpts": result.meta.get("kpts"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--materials", type=int, default=2, help="how many to time")
    parser.add_argument("--profile", default="standard", help="ECD profile (grid, exclusions)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    import gpaw

    from matfusion import provenance
    from matfusion.ecd.data import contains_any, load_ecd_dataset, structures
    from matfusion.ecd.density import get_provider
    from matfusion.ecd.settings import ecd_profile
    from matfusion.results import ResultsStore

    prof = ecd_profile(args.profile)
    full = load_ecd_dataset(verbose=False, progress=False)
    usable = full[~contains_any(full, prof.gpaw_exclude_elements)].reset_index(drop=True)
    structs = structures(usable)
    electrons = np.array([sum(s.specie.Z for s in x.get_primitive_structure()) for x in structs])
    valence = np.array([_valence_count(x) for x in structs])
    order = np.lexsort((usable["mp_id"].to_numpy(), electrons))  # the comparison's order

    started = datetime.now(UTC).isoformat(timespec="seconds")
    load_before = os.getloadavg()
    measured = []
    for i in order[: args.materials]:
        row = usable.iloc[i]
        entry: dict[str, Any] = {
            "mp_id": row["mp_id"],
            "formula": row["formula"],
            "atoms_primitive": len(structs[i].get_primitive_structure()),
            "electrons_primitive": int(electrons[i]),
            "valence_electrons_primitive": int(valence[i]),
        }
        for name, valence_only in (("valence", True), ("all_electron", False)):
            provider = get_provider("gpaw", valence=valence_only)
            entry[name] = _timed(provider, structs[i], prof.grid)
            print(f"{row['formula']:>8} {name:>12}: {entry[name]}", flush=True)
        entry["valence_over_all_electron_cpu"] = round(
            entry["valence"]["cpu_s"] / entry["all_electron"]["cpu_s"], 3
        )
        measured.append(entry)

    # the stored all-electron seconds of every material (one record, made on 2 shared cores)
    diff = [
        r for r in ResultsStore().records("ecd_density_diff")
        if r["config"]["profile"] == prof.name and r["config"]["grid"] == prof.grid
    ]  # fmt: skip
    stored, stored_on = {}, None
    if diff:
        stored = {row["mp_id"]: row["seconds_gpaw"] for row in diff[0]["rows"]}
        made = diff[0].get("provenance", {})
        stored_on = f"{made.get('hardware', {}).get('cpu')}, {made.get('timestamp', '')[:10]}"
    for m in measured:  # the same material's stored all-electron seconds (wall, other CPU)
        m["stored_all_electron_wall_s"] = stored.get(m["mp_id"])
    ids = usable["mp_id"].to_numpy()
    have = np.array([stored.get(i) is not None for i in ids])
    ae_seconds = np.array([stored.get(i) or np.nan for i in ids], dtype=float)

    exponent, fit_note = 1.0, "no stored all-electron seconds: linear in valence electrons"
    if have.sum() >= 10:
        exponent = float(np.polyfit(np.log(valence[have]), np.log(ae_seconds[have]), 1)[0])
        fit_note = (
            f"log-log fit of the stored all-electron GPAW seconds of {int(have.sum())} "
            "materials against their valence electrons per primitive cell"
        )
    anchors = [m["valence"]["cpu_s"] / m["valence_electrons_primitive"] ** exponent
               for m in measured]  # fmt: skip
    scale = float(np.exp(np.mean(np.log(anchors))))
    per_material = scale * valence.astype(float) ** exponent
    ratio = float(np.mean([m["valence_over_all_electron_cpu"] for m in measured]))
    cross = float(np.nansum(ae_seconds) * ratio) if have.any() else None

    out = {
        "what": "GPAW (PBE, PAW) valence densities of the MP moduli set, one thread",
        "command": "OMP_NUM_THREADS=1 .venv/bin/python benchmarks/gpaw_valence_cost.py",
        "date": started,
        "profile": prof.name,
        "grid": prof.grid,
        "provider_settings": get_provider("gpaw", valence=True).settings(),
        "hardware": {
            **provenance.collect()["hardware"],
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "note": "shared machine: other jobs ran on both cores; CPU seconds are the "
            "process's own, wall seconds include waiting",
        },
        "gpaw": gpaw.__version__,
        "threads": 1,
        "measured": measured,
        "materials": int(len(usable)),
        "left_out_elements": sorted(prof.gpaw_exclude_elements),
        "valence_electrons_per_cell": {
            "median": float(np.median(valence)),
            "max": int(valence.max()),
            "sum": int(valence.sum()),
        },
        "estimate": {
            "cpu_hours": round(float(per_material.sum()) / 3600, 2),
            "scaling": f"CPU seconds proportional to (valence electrons per primitive cell)"
            f"^{exponent:.2f}",
            "exponent": round(exponent, 3),
            "exponent_from": fit_note,
            "anchored_at": [m["mp_id"] for m in measured],
        },
        "cross_check": {
            "cpu_hours": round(cross / 3600, 2) if cross is not None else None,
            "rule": "stored all-electron seconds of every material x the measured valence / "
            f"all-electron CPU ratio ({ratio:.2f})",
            "stored_all_electron_hours": round(float(np.nansum(ae_seconds)) / 3600, 2),
            "stored_on": stored_on,
            "note": "the stored seconds are wall seconds of another machine and session, so "
            "this check is in that machine's time; the estimate takes only the exponent from "
            "them and its scale from the CPU seconds measured here",
            "materials_with_stored_seconds": int(have.sum()),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: out[k] for k in ("estimate", "cross_check")}, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
