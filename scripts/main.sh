#!/usr/bin/env bash
# The main job: set up, execute every notebook with papermill under a profile
# (default: standard), and build the book into _build/html.
#   bash scripts/main.sh [smoke|standard|paper]
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${1:-standard}
bash scripts/setup.sh
start=$(date +%s)
.venv/bin/matfusion book --profile "$profile"
echo "main: book built with profile $profile in $(( $(date +%s) - start )) s: $(pwd)/_build/html/index.html"
