"""``python -m matfusion.ecd [--profile standard] [cv] [loeo] [compare]``: run (or resume) the
sweeps; ``compare`` is the CV once per density provider (promolecular and GPAW)."""

from __future__ import annotations

import argparse

from matfusion.ecd.train import run_all, run_density_comparison, run_provider_comparison

parser = argparse.ArgumentParser(prog="python -m matfusion.ecd", description=__doc__)
parser.add_argument("what", nargs="*", default=["cv", "loeo"], choices=["cv", "loeo", "compare"])
parser.add_argument("--profile", default="standard")
parser.add_argument("--quiet", action="store_true")
args = parser.parse_args()
sweeps = [w for w in args.what if w != "compare"]
if sweeps:
    results = run_all(args.profile, sweeps, progress=not args.quiet)
    for name, records in results.items():
        print(f"{name}: {len(records)} records ({sum(not r['cache_hit'] for r in records)} new)")
if "compare" in args.what:
    table, info = run_provider_comparison(["bulk", "shear"], args.profile, progress=not args.quiet)
    print(f"materials per provider: {info['materials']}; left out: {info['left_out_elements']}")
    print(table.round(3).to_string(index=False))
    moved = run_density_comparison(args.profile, progress=not args.quiet)
    print(f"density differences stored for {len(moved)} materials")
