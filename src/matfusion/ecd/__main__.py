"""``python -m matfusion.ecd [--profile standard] [cv] [loeo] [compare] [compare-loeo]``: run
(or resume) the sweeps; ``compare`` is the CV once per density provider (promolecular and
GPAW), ``compare-loeo`` the leave-one-element-out runs once per provider (``--only`` and
``--models`` pick what one process runs, e.g. one provider each)."""

from __future__ import annotations

import argparse

from matfusion.ecd.models import ECD_MODELS
from matfusion.ecd.train import run_all, run_density_comparison, run_provider_comparison

parser = argparse.ArgumentParser(prog="python -m matfusion.ecd", description=__doc__)
parser.add_argument(
    "what", nargs="*", default=["cv", "loeo"], choices=["cv", "loeo", "compare", "compare-loeo"]
)
parser.add_argument("--profile", default="standard")
parser.add_argument(
    "--only",
    default=None,
    choices=["promolecular", "gpaw"],
    help="run one provider's half of compare/compare-loeo (same materials as the whole)",
)
parser.add_argument(
    "--models",
    default=None,
    help="models of compare and compare-loeo, comma-separated (default: all of that design)",
)
parser.add_argument("--quiet", action="store_true")
args = parser.parse_args()
models = [m for m in args.models.split(",") if m] if args.models else None
unknown = sorted(set(models or ()) - set(ECD_MODELS))
if unknown:
    parser.error(f"--models: unknown {unknown}; known: {', '.join(ECD_MODELS)}")
sweeps = [w for w in args.what if w in ("cv", "loeo")]
if sweeps:
    results = run_all(args.profile, sweeps, progress=not args.quiet)
    for name, records in results.items():
        print(f"{name}: {len(records)} records ({sum(not r['cache_hit'] for r in records)} new)")
for what, design in (("compare", "cv"), ("compare-loeo", "loeo")):
    if what not in args.what:
        continue
    table, info = run_provider_comparison(
        ["bulk", "shear"],
        args.profile,
        design=design,
        models=models,
        only=[args.only] if args.only else None,
        progress=not args.quiet,
    )
    print(
        f"{what}: materials per provider: {info['materials']}; left out: {info['left_out_elements']}"
    )
    print(table.round(3).to_string(index=False))
    if design == "cv" and args.only is None:
        moved = run_density_comparison(args.profile, progress=not args.quiet)
        print(f"density differences stored for {len(moved)} materials")
