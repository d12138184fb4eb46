"""``python -m matfusion.ecd [--profile standard] [cv] [loeo]``: run (or resume) the sweeps."""

from __future__ import annotations

import argparse

from matfusion.ecd.train import run_all

parser = argparse.ArgumentParser(prog="python -m matfusion.ecd", description=__doc__)
parser.add_argument("what", nargs="*", default=["cv", "loeo"], choices=["cv", "loeo"])
parser.add_argument("--profile", default="standard")
parser.add_argument("--quiet", action="store_true")
args = parser.parse_args()
results = run_all(args.profile, args.what, progress=not args.quiet)
for name, records in results.items():
    print(f"{name}: {len(records)} records ({sum(not r['cache_hit'] for r in records)} new)")
