"""The CrabNet wheel as a pinned, verified data source.

Paper A's datasets (18 extended sets, 5-fold Matbench splits) and element tables ship inside the
`crabnet==2.0.8` wheel on PyPI. Rather than copying them, we fetch that exact wheel with pip
(which honours the user's index configuration), check its sha256 against a pinned value, and
extract only ``crabnet/data/**`` into the cache. The extraction is committed by an atomic
rename of a finished temp folder that already holds a marker file, so an interrupted or
concurrent run can never leave a half-extracted folder that looks complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import zipfile
from pathlib import Path, PurePosixPath

from matfusion.config import cache_dir
from matfusion.data.errors import DataIntegrityError, MissingDataError
from matfusion.io import pip_download, sha256_file

__all__ = [
    "CRABNET_SHA256",
    "CRABNET_VERSION",
    "ENV_CRABNET_WHEEL",
    "DataIntegrityError",
    "cached_wheel_path",
    "ensure_wheel",
    "crabnet_data_root",
    "sha256_file",
]

CRABNET_VERSION = "2.0.8"
CRABNET_SHA256 = "4901565abaa5b4cd1a7841b9de647a3906df21676b226a7abf972d113f92054a"
#: Point this at a local copy of the wheel to skip the download (it is still hash-verified).
ENV_CRABNET_WHEEL = "MATFUSION_CRABNET_WHEEL"

_MEMBER_PREFIX = "crabnet/data/"
_MARKER = ".matfusion-extracted.json"


def cached_wheel_path() -> Path:
    """Where a verified download of the wheel is kept (tests and the CrabNet peer reuse it)."""
    return cache_dir() / "wheels" / f"crabnet-{CRABNET_VERSION}-py3-none-any.whl"


def _verify(wheel: Path) -> Path:
    actual = sha256_file(wheel)
    if actual != CRABNET_SHA256:
        raise DataIntegrityError(
            f"sha256 mismatch for {wheel}: expected {CRABNET_SHA256}, actual {actual}"
        )
    return wheel


def ensure_wheel() -> Path:
    """A verified copy of the wheel: ``$MATFUSION_CRABNET_WHEEL``, else the cached download,
    else a fresh download with pip (kept in the cache for the next caller)."""
    local = os.environ.get(ENV_CRABNET_WHEEL)
    if local:
        wheel = Path(local).expanduser()
        if not wheel.is_file():
            raise MissingDataError(f"{ENV_CRABNET_WHEEL}={local} is not a file")
        return _verify(wheel)
    kept = cached_wheel_path()
    if kept.is_file():
        return _verify(kept)
    kept.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".crabnet-dl-", dir=kept.parent) as tmp:
        wheel = _verify(_download_wheel(Path(tmp)))
        os.replace(wheel, kept)
    return kept


def _install_dir() -> Path:
    return cache_dir() / f"crabnet-{CRABNET_VERSION}"


def _is_complete(folder: Path) -> bool:
    """A folder counts as extracted only if its marker names the pinned hash."""
    marker = folder / _MARKER
    try:
        meta = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    return meta.get("sha256") == CRABNET_SHA256 and (folder / "crabnet" / "data").is_dir()


def _download_wheel(dest: Path) -> Path:
    """Fetch the pinned wheel with pip, so index/proxy settings of the user apply."""
    print(
        f"matfusion: downloading crabnet=={CRABNET_VERSION} (35 MB, datasets + element "
        f"tables) into {_install_dir()} ...",
        flush=True,
    )
    proc = pip_download(f"crabnet=={CRABNET_VERSION}", dest, ["--only-binary", ":all:"])
    wheels = sorted(dest.glob(f"crabnet-{CRABNET_VERSION}-*.whl"))
    if proc.returncode != 0 or not wheels:
        tail = (proc.stderr or proc.stdout).strip()[-1500:]
        raise MissingDataError(
            f"could not download crabnet=={CRABNET_VERSION} with pip (exit {proc.returncode}). "
            f"Set {ENV_CRABNET_WHEEL} to a local copy of the wheel to work offline.\n{tail}"
        )
    return wheels[0]


def _extract(wheel: Path, staging: Path) -> int:
    """Extract only crabnet/data/** from the wheel, refusing unsafe member paths."""
    count = 0
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            name = info.filename
            if not name.startswith(_MEMBER_PREFIX) or name.endswith("/"):
                continue
            parts = PurePosixPath(name).parts
            if ".." in parts or name.startswith("/"):
                raise DataIntegrityError(f"unsafe path in wheel {wheel.name}: {name!r}")
            target = staging.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            count += 1
    if count == 0:
        raise DataIntegrityError(f"{wheel.name} holds no {_MEMBER_PREFIX} files")
    return count


def crabnet_data_root() -> Path:
    """Path of the extracted ``crabnet/data`` folder, fetching and verifying it on first use.

    Fast path: one small JSON marker read. The wheel is re-hashed only when it has to be
    (re-)extracted. A wheel whose sha256 differs from the pinned one raises
    :class:`DataIntegrityError` naming both hashes, and nothing is written to the cache.
    """
    final = _install_dir()
    data = final / "crabnet" / "data"
    if _is_complete(final):
        return data

    base = final.parent
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".crabnet-dl-", dir=base) as tmp:
        tmp_path = Path(tmp)
        t0 = time.perf_counter()
        wheel = ensure_wheel()
        staging = tmp_path / "staging"
        staging.mkdir()
        n_files = _extract(wheel, staging)
        meta = {
            "package": f"crabnet=={CRABNET_VERSION}",
            "sha256": CRABNET_SHA256,
            "wheel": wheel.name,
            "files": n_files,
            "seconds": round(time.perf_counter() - t0, 2),
        }
        (staging / _MARKER).write_text(json.dumps(meta, indent=1))

        if final.exists() and not _is_complete(final):
            # Stale or partial folder from an older run: move it aside, then delete it.
            trash = tmp_path / "stale"
            os.replace(final, trash)
        try:
            os.replace(staging, final)
        except OSError:
            # Another process committed first; its folder is as good as ours.
            if not _is_complete(final):
                raise
    return data
