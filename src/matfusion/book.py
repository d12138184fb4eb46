"""Execute the Jupytext notebooks with papermill and build the Jupyter Book.

Notebooks live in ``notebooks/`` as ``py:percent`` files (reviewable diffs, no outputs in
git). Papermill cannot read ``.py``, so each one is converted in memory, executed with the
profile as a parameter, and written to ``book/executed/`` where ``_toc.yml`` points.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from matfusion.config import repo_root

EXECUTED_DIR = Path("book") / "executed"


class NotebookExecutionError(RuntimeError):
    """A chapter raised while papermill ran it; the partly executed notebook is kept."""


def notebook_sources(root: Path | None = None) -> list[Path]:
    """The chapter notebooks, in book order (their file names start with a number)."""
    root = root or repo_root()
    return sorted((root / "notebooks").glob("[0-9][0-9]_*.py"))


def execute_notebook(
    source: Path,
    output: Path,
    parameters: dict[str, Any],
    *,
    cwd: Path | None = None,
) -> float:
    """Run one notebook under papermill; returns the seconds it took."""
    import jupytext
    import nbformat
    import papermill

    notebook = jupytext.read(source, fmt="py:percent")
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / source.with_suffix(".ipynb").name
        nbformat.write(notebook, staged)
        partial = output.with_suffix(".partial.ipynb")
        try:
            papermill.execute_notebook(
                str(staged),
                str(partial),
                parameters=parameters,
                kernel_name="python3",
                cwd=str(cwd or source.parent),
                progress_bar=False,
            )
        except papermill.PapermillExecutionError as err:
            failed = output.with_suffix(".failed.ipynb")
            if partial.exists():
                partial.replace(failed)
            raise NotebookExecutionError(
                f"{source.name} failed in cell {err.exec_count}: {err.ename}: {err.evalue}\n"
                f"the partly executed notebook is {failed}"
            ) from None
        partial.replace(output)
    return time.perf_counter() - started


def execute_notebooks(
    profile: str = "standard",
    only: list[str] | None = None,
    root: Path | None = None,
    executed_dir: Path | None = None,
) -> dict[str, float]:
    """Execute every chapter notebook (or those whose name contains an ``only`` entry) into
    ``executed_dir`` (default ``book/executed``, where the book is built from). Each chapter
    runs with ``$MATFUSION_CHAPTER`` set to its name, so store lookups can be traced to it."""
    import os

    from matfusion.profiles import get_profile
    from matfusion.results import ENV_CHAPTER

    get_profile(profile)  # fail early on an unknown profile
    root = root or repo_root()
    timings: dict[str, float] = {}
    sources = notebook_sources(root)
    if only:
        sources = [s for s in sources if any(o in s.stem for o in only)]
        if not sources:
            raise ValueError(f"no notebook matches {only}")
    out_dir = executed_dir or root / EXECUTED_DIR
    previous_chapter = os.environ.get(ENV_CHAPTER)
    for source in sources:
        target = out_dir / source.with_suffix(".ipynb").name
        print(f"[matfusion book] executing {source.name} (profile {profile}) ...", flush=True)
        os.environ[ENV_CHAPTER] = source.stem
        try:
            seconds = execute_notebook(
                source, target, {"profile": profile, "progress": False}, cwd=root / "notebooks"
            )
        finally:
            if previous_chapter is None:
                os.environ.pop(ENV_CHAPTER, None)
            else:
                os.environ[ENV_CHAPTER] = previous_chapter
        timings[source.stem] = seconds
        print(f"[matfusion book]   done in {seconds:.0f} s", flush=True)
    log = out_dir / "timings.json"
    previous = json.loads(log.read_text()) if log.exists() else {}
    previous.update({k: {"seconds": v, "profile": profile} for k, v in timings.items()})
    log.write_text(json.dumps(previous, indent=1))
    return timings


def build_book(root: Path | None = None, warnings_as_errors: bool = True) -> Path:
    """Build the HTML book with Jupyter Book (Sphinx); returns ``_build/html``."""
    root = root or repo_root()
    missing = [
        s.stem
        for s in notebook_sources(root)
        if not (root / EXECUTED_DIR / f"{s.stem}.ipynb").exists()
    ]
    if missing:
        raise FileNotFoundError(
            f"notebooks not executed yet: {missing}; run `matfusion book` without --no-execute"
        )
    command = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(root)]
    if warnings_as_errors:
        command += ["--warningiserror", "--keep-going"]
    subprocess.run(command, check=True, cwd=root)
    return root / "_build" / "html"
