"""``python -m matfusion.ecd ...``: the same as ``matfusion ecd ...`` (kept for old notes)."""

from __future__ import annotations

import sys

from matfusion.cli import main

sys.exit(main(["ecd", *sys.argv[1:]]))
