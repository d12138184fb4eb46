#!/usr/bin/env bash
# The test job: set up (with chromium, and Debian's SLURM for the tests that start a private
# one-node cluster), lint, execute every notebook with the smoke profile and build the book
# (warnings are errors), then run the test suite, which also opens the built pages in
# headless chromium. Note: this rebuilds _build/ with smoke runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser --slurm
# CI tests the GPAW density provider on tiny cells, so GPAW (the dft extra) must be there
# unless the caller opted out of it with MATFUSION_NO_DFT=1.
if [ "${MATFUSION_NO_DFT:-0}" != 1 ] && ! .venv/bin/python -c "import gpaw" 2>/dev/null; then
  echo "test: GPAW did not install (see setup output); set MATFUSION_NO_DFT=1 to test without it" >&2
  exit 1
fi
.venv/bin/ruff check src tests notebooks benchmarks
.venv/bin/ruff format --check src tests notebooks benchmarks
start=$(date +%s)
.venv/bin/matfusion book --profile smoke
echo "test: smoke book built in $(( $(date +%s) - start )) s"
MATFUSION_REQUIRE_BOOK=1 .venv/bin/python -m pytest -q "$@"
