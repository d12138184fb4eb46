#!/usr/bin/env bash
# The test job: set up (with chromium), lint, execute every notebook with the smoke
# profile and build the book (warnings are errors), then run the test suite, which also
# opens the built pages in headless chromium. Note: this rebuilds _build/ with smoke runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser
.venv/bin/ruff check src tests notebooks benchmarks
.venv/bin/ruff format --check src tests notebooks benchmarks
start=$(date +%s)
.venv/bin/matfusion book --profile smoke
echo "test: smoke book built in $(( $(date +%s) - start )) s"
MATFUSION_REQUIRE_BOOK=1 .venv/bin/python -m pytest -q "$@"
