#!/usr/bin/env bash
# Create (or update) the project's virtual environment and fetch the data.
# Idempotent: a second run only checks that everything is in place.
#   bash scripts/setup.sh              # library, notebooks, book
#   bash scripts/setup.sh --browser    # also Debian's chromium for the rendered-page tests
#   bash scripts/setup.sh --slurm      # also Debian's SLURM and munge (tests/test_slurm.py)
# Flags combine (--browser --slurm).
set -euo pipefail
cd "$(dirname "$0")/.."
with_browser=0
with_slurm=0
for flag in "$@"; do
  case "$flag" in
    --browser) with_browser=1 ;;
    --slurm) with_slurm=1 ;;
    *) echo "setup: unknown option $flag (known: --browser, --slurm)" >&2; exit 2 ;;
  esac
done
PYTHON=${PYTHON:-python3}
VENV=.venv

if ! "$PYTHON" -c 'import sys; assert sys.version_info[:2] in ((3, 11), (3, 12))' 2>/dev/null; then
  echo "setup: need Python 3.11 or 3.12 (got $("$PYTHON" --version 2>&1)); set PYTHON=..." >&2
  exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
# GPAW (paper B's DFT, the `dft` extra) compiles against libxc and OpenBLAS; skip with
# MATFUSION_NO_DFT=1, and everything except the GPAW density provider still works.
with_dft=1
[ "${MATFUSION_NO_DFT:-0}" = 1 ] && with_dft=0
if [ "$with_dft" = 1 ] && ! { dpkg -s libxc-dev && dpkg -s libopenblas-dev; } >/dev/null 2>&1; then
  echo "setup: installing libxc-dev and libopenblas-dev (for GPAW)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
      --no-install-recommends libxc-dev libopenblas-dev >/dev/null; }; then
    echo "setup: could not install them; continuing without GPAW" >&2
    with_dft=0
  fi
fi
stamp="$VENV/.matfusion-deps"
want="$(sha256sum pyproject.toml | cut -c1-16)-dft$with_dft"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing dependencies into $VENV (torch pinned to the 2.13.0 CPU build)"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  # torch first, pinned, so nothing later pulls a CUDA build.
  "$VENV/bin/python" -m pip install -q "torch==2.13.0"
  "$VENV/bin/python" -m pip install -q -e ".[dev]"
  if [ "$with_dft" = 1 ]; then
    # plain `pip install gpaw` fails to compile with the default C compiler
    CC=g++ "$VENV/bin/python" -m pip install -q -e ".[dev,dft]" \
      || echo "setup: GPAW did not install; the gpaw density provider is unavailable" >&2
  fi
  # Warm numba's cache for umap once here, not in every notebook.
  "$VENV/bin/python" -c "import umap" 2>/dev/null || true
  echo "$want" > "$stamp"
fi

if [ "$with_browser" = 1 ] && ! command -v chromium >/dev/null 2>&1; then
  echo "setup: installing Debian's chromium for the rendered-page tests"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

# The SLURM tests start a private one-node cluster from these binaries (they configure and
# stop their own daemons; the packages' system services are not used).
if [ "$with_slurm" = 1 ] && ! dpkg -s slurmctld slurmd slurm-client munge >/dev/null 2>&1; then
  echo "setup: installing Debian's slurmctld, slurmd, slurm-client and munge for the SLURM tests"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    slurmctld slurmd slurm-client munge >/dev/null
fi

echo "setup: fetching and verifying data"
"$VENV/bin/python" -c "from matfusion.data import crabnet_data_root; print('data:', crabnet_data_root())"

# The CrabNet peer (paper A's main baseline) runs from the same verified wheel that ships the
# data. Its declared requirements (old torch/numpy pins, Python < 3.11) cannot resolve here,
# so it goes in with --no-deps --ignore-requires-python; it runs unmodified on the pinned
# torch/numpy/pandas (matfusion.baselines.crabnet documents the runtime workarounds).
if [ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("crabnet"))' 2>/dev/null)" != "2.0.8" ]; then
  echo "setup: installing crabnet 2.0.8 (no deps) from the verified wheel"
  wheel=$("$VENV/bin/python" -c "from matfusion.data.crabnet_wheel import ensure_wheel; print(ensure_wheel())")
  "$VENV/bin/python" -m pip install -q --no-deps --ignore-requires-python "$wheel"
fi
