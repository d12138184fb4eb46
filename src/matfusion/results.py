"""The results store: one JSON file per (experiment, config), keyed by the config's hash.

A record is found again from the config that produced it, so notebooks can re-run cheaply
(:func:`cached_run`) and tables are built from files rather than from memory. Files are
written atomically and never silently overwritten.

Layout: ``<root>/<config["experiment"]>/[<config["profile"]>/]<key>.json`` where
``key = key_for(config)``; the profile level keeps throw-away ``smoke`` records (ignored by
git) apart from the committed full-scale ones. Each file
holds ``{"key": ..., "config": {...}, **record}``; a record usually has ``metrics`` (a flat
dict such as ``{"test_mae": ...}``) and ``provenance``.

A corrupt file stops only the work that needs it: :meth:`ResultsStore.get` of its config
raises :class:`CorruptRecordError` (with the repair), while listings skip it with one
warning line. :meth:`ResultsStore.lock` serialises the writers of one config across
processes (``.<key>.json.lock`` beside the record, removed on release).

With ``$MATFUSION_LOOKUP_LOG`` set, every lookup appends one JSON line there (the chapter,
the experiment, profile and key, and whether it was found): the portability test compares
these logs across machines and checks that a chapter finds every run it reads.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import errno
import fcntl
import hashlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import results_dir
from .io import atomic_write, dumps_readable, json_default

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CorruptRecordError",
    "RecordExistsError",
    "ResultsStore",
    "cached_run",
    "canonical_json",
    "key_for",
    "log_lookup",
    "optional_lookups",
]

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_RESERVED = ("key", "config")

#: How to repair a corrupt record, appended to every message about one.
#: File that :func:`log_lookup` appends to (unset: no log).
ENV_LOOKUP_LOG = "MATFUSION_LOOKUP_LOG"
#: Set by :func:`matfusion.book.execute_notebooks` to the chapter being executed.
ENV_CHAPTER = "MATFUSION_CHAPTER"

REPAIR_HINT = "delete the file, or rerun that config with --force (force=True)"

#: Corrupt files already warned about in this process, by (path, mtime, size): a grid looks
#: the store up once per cell and should say so once.
_WARNED: set[tuple[str, int, int]] = set()


class RecordExistsError(FileExistsError):
    """``put`` found a record for this config and ``overwrite`` was not requested."""


class CorruptRecordError(ValueError):
    """A record file exists but is not valid JSON or not a record."""


def canonical_json(config: dict[str, Any]) -> str:
    """Sorted keys, no whitespace, numpy scalars as numbers: equal configs, equal text."""
    return json.dumps(config, sort_keys=True, separators=(",", ":"), default=json_default)


def key_for(config: dict[str, Any]) -> str:
    """First 16 hex digits of the sha256 of the canonical JSON of ``config``."""
    return hashlib.sha256(canonical_json(config).encode("utf-8")).hexdigest()[:16]


def _experiment(config: dict[str, Any]) -> str:
    try:
        name = config["experiment"]
    except KeyError:
        raise KeyError("config needs an 'experiment' entry (it names the results folder)") from None
    if not isinstance(name, str) or not _SAFE_NAME.match(name):
        raise ValueError(f"experiment name {name!r} is not a safe folder name")
    return name


#: ``flock`` errors of a file system that cannot lock (Lustre ``noflock``, some NFS).
_NO_FLOCK = {errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOLCK}
_warned_no_flock: set[Path] = set()


def _warn_no_flock(folder: Path) -> None:
    if folder not in _warned_no_flock:
        _warned_no_flock.add(folder)
        print(
            f"[matfusion] warning: {folder} cannot be locked (no flock on this file system); "
            "runs go on unlocked: start each config once",
            file=sys.stderr,
            flush=True,
        )


_optional = contextvars.ContextVar("matfusion_optional_lookups", default=False)


@contextlib.contextmanager
def optional_lookups() -> Iterator[None]:
    """Mark the lookups inside as optional in the lookup log: a page section that shows runs
    still being computed (and says how many are stored) rather than runs the page needs.
    The portability test requires every other lookup of the ``standard`` book to be found."""
    token = _optional.set(True)
    try:
        yield
    finally:
        _optional.reset(token)


def log_lookup(event: str, **fields: Any) -> None:
    """Append ``{"event": event, "chapter": ..., **fields}`` as one line to
    ``$MATFUSION_LOOKUP_LOG``, if set (one short ``write`` in append mode per event, so
    concurrent processes do not interleave lines)."""
    target = os.environ.get(ENV_LOOKUP_LOG)
    if not target:
        return
    if _optional.get():
        fields = {**fields, "optional": True}
    line = json.dumps(
        {"event": event, "chapter": os.environ.get(ENV_CHAPTER), **fields},
        sort_keys=True,
        default=str,
    )
    with open(target, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, f"{name}."))
        else:
            out[name] = v
    return out


class ResultsStore:
    """Records under ``root`` (default :func:`matfusion.config.results_dir`)."""

    key_for = staticmethod(key_for)

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else results_dir()

    def path_for(self, config: dict[str, Any]) -> Path:
        folder = self.root / _experiment(config)
        profile = config.get("profile")
        if profile is not None:
            if not isinstance(profile, str) or not _SAFE_NAME.match(profile):
                raise ValueError(f"profile name {profile!r} is not a safe folder name")
            folder = folder / profile
        return folder / f"{key_for(config)}.json"

    @staticmethod
    def _read(path: Path) -> dict[str, Any]:
        try:
            with open(path, encoding="utf-8") as fh:
                doc = json.load(fh)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CorruptRecordError(
                f"corrupt results record {path} ({exc}): {REPAIR_HINT}"
            ) from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("config"), dict):
            raise CorruptRecordError(
                f"corrupt results record {path} (no 'config' object): {REPAIR_HINT}"
            )
        return doc

    @staticmethod
    def _warn_skipped(path: Path, err: CorruptRecordError) -> None:
        """One stderr line per corrupt file and process: a listing goes on without it."""
        try:
            st = path.stat()
            seen = (str(path), st.st_mtime_ns, st.st_size)
        except OSError:
            seen = (str(path), 0, 0)
        if seen not in _WARNED:
            _WARNED.add(seen)
            print(f"[matfusion] warning: skipped {err}", file=sys.stderr, flush=True)

    def get(self, config: dict[str, Any], *, skip_corrupt: bool = False) -> dict[str, Any] | None:
        """The stored record for ``config``, or None if there is none.

        A corrupt file raises :class:`CorruptRecordError` naming it and the repair; with
        ``skip_corrupt`` (an optional lookup, e.g. a stand-in run) it warns and answers None."""
        path = self.path_for(config)
        log_lookup(
            "get",
            experiment=config.get("experiment"),
            profile=config.get("profile"),
            key=path.stem,
            found=path.is_file(),
        )
        if not path.is_file():
            return None
        try:
            doc = self._read(path)
            if canonical_json(doc["config"]) != canonical_json(config):
                raise CorruptRecordError(
                    f"corrupt results record {path} (it holds a different config than its "
                    f"key says): {REPAIR_HINT}"
                )
        except CorruptRecordError as err:
            if not skip_corrupt:
                raise
            self._warn_skipped(path, err)
            return None
        return doc

    @contextlib.contextmanager
    def lock(self, config: dict[str, Any], *, waiting: str | None = None) -> Iterator[Path]:
        """Hold an exclusive lock on ``config``'s record across processes, so that "look up,
        compute, put" runs once per config: a second process blocks here (printing
        ``waiting`` to stderr, once) and then finds the first one's record.

        The lock is ``flock`` on ``.<key>.json.lock`` beside the record; the holder removes
        the file on release, and a waiter that wakes on a removed file locks the new one.
        Where the file system has no ``flock`` (Lustre mounted ``noflock``) the work goes on
        unlocked, with one warning: a scheduler sends each config once, and :meth:`put`
        still refuses to overwrite a record."""
        path = self.path_for(config)
        lock_path = path.with_name(f".{path.name}.lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        announced = False
        while True:
            fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o644)
            current: bool | None = None  # None: this file system cannot lock
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    locked = True
                except BlockingIOError:
                    if waiting and not announced:
                        print(waiting, file=sys.stderr, flush=True)
                        announced = True
                    fcntl.flock(fd, fcntl.LOCK_EX)
                    locked = True
                except OSError as err:
                    if err.errno not in _NO_FLOCK:
                        raise
                    locked = False
                if locked:
                    try:
                        current = os.path.samestat(os.fstat(fd), os.stat(lock_path))
                    except FileNotFoundError:
                        current = False
            except BaseException:
                os.close(fd)
                raise
            if current is None:
                os.close(fd)
                _warn_no_flock(lock_path.parent)
                yield lock_path
                return
            if current:
                break
            os.close(fd)  # the previous holder removed this file: lock the one there now
        try:
            yield lock_path
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(lock_path)
            os.close(fd)

    def put(self, config: dict[str, Any], record: dict[str, Any], overwrite: bool = False) -> Path:
        """Store ``record`` for ``config``; refuses to replace an existing one unless
        ``overwrite=True``. The write is atomic (temp file in the same folder + os.replace)."""
        for name in _RESERVED:
            if name in record and not (
                name == "config" and canonical_json(record["config"]) == canonical_json(config)
            ):
                raise ValueError(f"record must not set {name!r}: the store fills it in")
        path = self.path_for(config)
        if path.exists() and not overwrite:
            raise RecordExistsError(
                f"a record for this config already exists: {path} (pass overwrite=True)"
            )
        doc = {**record, "key": key_for(config), "config": json.loads(canonical_json(config))}
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as fh:
            fh.write(dumps_readable(doc) + "\n")
        return path

    def records(self, experiment: str | None = None, **filters: Any) -> list[dict[str, Any]]:
        """All records (of one experiment), keeping those whose config (or, failing that, the
        record itself) has each ``name == value`` in ``filters``. Sorted by path.

        A ``profile`` filter reads only that profile's folder (and the profile-less records
        at the experiment's top); a corrupt file is skipped with one warning line."""
        if experiment is not None:
            _experiment({"experiment": experiment})
            folders = [self.root / experiment]
        else:
            folders = sorted(p for p in self.root.glob("*") if p.is_dir())
        patterns: tuple[str, ...] = ("[!.]*.json", "*/[!.]*.json")
        profile = filters.get("profile", "*")
        if profile is None:
            patterns = ("[!.]*.json",)
        elif isinstance(profile, str) and _SAFE_NAME.match(profile):
            patterns = ("[!.]*.json", f"{profile}/[!.]*.json")
        paths = sorted(
            path for folder in folders for pattern in patterns for path in folder.glob(pattern)
        )
        missing = object()
        out = []
        for path in paths:
            try:
                doc = self._read(path)
            except CorruptRecordError as err:
                self._warn_skipped(path, err)
                continue
            ok = True
            for name, want in filters.items():
                have = doc["config"].get(name, doc.get(name, missing))
                if have is missing or have != want:
                    ok = False
                    break
            if ok:
                out.append(doc)
        log_lookup("list", experiment=experiment, filters=filters, keys=[d["key"] for d in out])
        return out

    def frame(self, experiment: str | None = None, **filters: Any) -> pd.DataFrame:
        """One row per record: ``key``, the config fields (nested ones as ``a.b``), the
        ``metrics`` entries by their own names, then other top-level scalars. A name already
        taken gets its section as a prefix (``metrics.seed``)."""
        import pandas as pd

        rows = []
        for doc in self.records(experiment, **filters):
            row: dict[str, Any] = {"key": doc["key"]}
            sections = [("config", doc["config"]), ("metrics", doc.get("metrics") or {})]
            scalars = {
                k: v
                for k, v in doc.items()
                if k not in ("key", "config", "metrics") and not isinstance(v, dict | list)
            }
            sections.append(("record", scalars))
            for section, values in sections:
                for name, value in _flatten(values).items():
                    row[name if name not in row else f"{section}.{name}"] = value
            rows.append(row)
        return pd.DataFrame(rows)


def cached_run(
    store: ResultsStore,
    config: dict[str, Any],
    fn: Callable[[], dict[str, Any]],
    *,
    force: bool = False,
    waiting: str | None = None,
) -> dict[str, Any]:
    """Return the stored record for ``config`` or compute it with ``fn()``, store it and
    return it. The returned copy carries ``cache_hit`` (True/False); the file never does.
    A record without ``provenance`` gets :func:`matfusion.provenance.collect` added.

    The compute-and-store step holds :meth:`ResultsStore.lock` on ``config`` (``waiting`` is
    printed by a process that has to wait), and looks the record up again once it holds it:
    two processes asking for one config compute it once. ``force`` recomputes and replaces
    a stored record."""
    if not force:
        found = store.get(config)
        if found is not None:
            return {**found, "cache_hit": True}
    with store.lock(config, waiting=waiting):
        found = None if force else store.get(config)  # stored while we waited?
        if found is not None:
            return {**found, "cache_hit": True}
        record = dict(fn())
        if "provenance" not in record:
            from .provenance import collect

            record["provenance"] = collect()
        store.put(config, record, overwrite=force)
    stored = store.get(config)
    assert stored is not None
    return {**copy.deepcopy(stored), "cache_hit": False}
