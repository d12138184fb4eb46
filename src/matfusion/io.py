"""Small I/O helpers shared by the data, results and checkpoint code."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """sha256 hex digest of a file, streamed (wheels and data files can be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_write(path: Path, *, binary: bool = False) -> Iterator[Any]:
    """Write ``path`` all-or-nothing: a temp file in the same folder, fsync, then rename.

    An interrupted writer leaves the old file (or none) and no half-written one.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb" if binary else "w", encoding=None if binary else "utf-8") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def json_default(obj: Any) -> Any:
    """``json.dump`` fallback for numpy scalars/arrays and paths."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")


#: A JSON array of scalars (numbers, literals, strings without brackets or braces).
_FLAT_ARRAY = re.compile(
    r'\[(?:\s*(?:-?[0-9][0-9.eE+-]*|true|false|null|NaN|-?Infinity|"(?:[^"\\\[\]{}]|\\.)*")\s*,?)*\s*\]'
)


def dumps_readable(doc: Any) -> str:
    """JSON indented for review, but with arrays of scalars kept on one line (analysis
    records hold thousands of numbers; one per line would bloat every diff)."""
    text = json.dumps(doc, indent=2, sort_keys=True, default=json_default)
    return _FLAT_ARRAY.sub(
        lambda m: re.sub(r"\s*\n\s*", " ", m.group(0)).replace("[ ", "[").replace(" ]", "]"), text
    )


def pip_download(
    requirement: str, dest: Path, extra_args: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    """``pip download --no-deps`` one distribution into ``dest``.

    Going through pip (not a hard-coded URL) means the user's index and proxy settings apply.
    """
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--ignore-requires-python",
        "--disable-pip-version-check",
        "-q",
        *extra_args,
        requirement,
        "-d",
        str(dest),
    ]
    return subprocess.run(cmd, capture_output=True, text=True)
