"""Execute the Jupytext notebooks with papermill and build the Jupyter Book.

Notebooks live in ``notebooks/`` as ``py:percent`` files (reviewable diffs, no outputs in
git). Papermill cannot read ``.py``, so each one is converted in memory, executed with the
profile as a parameter, and written to ``book/executed/`` where ``_toc.yml`` points.
"""

from __future__ import annotations

import ast
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import tokenize
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matfusion.config import repo_root

EXECUTED_DIR = Path("book") / "executed"
#: Where ``matfusion run`` writes its notebooks, relative to the working directory.
RERUN_DIR = Path("reruns")
#: What the book's own execution passes besides the profile (a rerun does the same).
BOOK_PARAMETERS: dict[str, Any] = {"progress": False}


class NotebookExecutionError(RuntimeError):
    """A chapter raised while papermill ran it; the partly executed notebook is kept.

    ``summary`` is the failure on one line and ``failed`` the kept notebook, so a command
    can report both in one line."""

    def __init__(self, message: str, *, summary: str = "", failed: Path | None = None) -> None:
        super().__init__(message)
        self.summary = summary or message.splitlines()[0]
        self.failed = failed


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
            summary = " ".join(
                f"{source.name} failed in cell {err.exec_count}: {err.ename}: {err.evalue}".split()
            )
            raise NotebookExecutionError(
                f"{source.name} failed in cell {err.exec_count}: {err.ename}: {err.evalue}\n"
                f"the partly executed notebook is {failed}",
                summary=summary,
                failed=failed if failed.exists() else None,
            ) from None
        _hide_injected_parameters(partial)
        partial.replace(output)
    return time.perf_counter() - started


def _hide_injected_parameters(path: Path) -> None:
    """Tag papermill's injected parameters cell ``remove-cell``: the page shows the chapter's
    own parameters cell (the defaults) once, and its rerun box says what was replaced."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
    nbformat.write(notebook, path)


def execute_notebooks(
    profile: str = "standard",
    only: list[str] | None = None,
    root: Path | None = None,
    executed_dir: Path | None = None,
) -> dict[str, float]:
    """Execute every chapter notebook (or those whose name contains an ``only`` entry) into
    ``executed_dir`` (default ``book/executed``, where the book is built from). Each chapter
    runs with ``$MATFUSION_CHAPTER`` set to its name, so store lookups can be traced to it.
    ``timings.json`` there keeps each chapter's latest time and, under ``by_profile``, its
    latest time per profile (what a chapter's rerun box quotes)."""
    from matfusion.profiles import get_profile

    get_profile(profile)  # fail early on an unknown profile
    root = root or repo_root()
    timings: dict[str, float] = {}
    sources = notebook_sources(root)
    if only:
        sources = [s for s in sources if any(o in s.stem for o in only)]
        if not sources:
            raise ValueError(f"no notebook matches {only}")
    out_dir = executed_dir or root / EXECUTED_DIR
    for source in sources:
        target = out_dir / source.with_suffix(".ipynb").name
        print(f"[matfusion book] executing {source.name} (profile {profile}) ...", flush=True)
        with _as_chapter(source.stem):
            seconds = execute_notebook(
                source, target, {"profile": profile, **BOOK_PARAMETERS}, cwd=root / "notebooks"
            )
        timings[source.stem] = seconds
        print(f"[matfusion book]   done in {seconds:.0f} s", flush=True)
    log = out_dir / "timings.json"
    previous = json.loads(log.read_text()) if log.exists() else {}
    for stem, seconds in timings.items():
        by_profile = dict(profile_timings(previous.get(stem)))
        by_profile[profile] = seconds
        previous[stem] = {"seconds": seconds, "profile": profile, "by_profile": by_profile}
    log.write_text(json.dumps(previous, indent=1))
    return timings


def profile_timings(entry: dict[str, Any] | None) -> dict[str, float]:
    """Seconds per profile from one chapter's ``timings.json`` entry (an entry written before
    ``by_profile`` existed holds its one profile's time)."""
    if not entry:
        return {}
    if "by_profile" in entry:
        return {str(k): float(v) for k, v in entry["by_profile"].items()}
    return {str(entry["profile"]): float(entry["seconds"])}


@contextmanager
def _as_chapter(stem: str) -> Iterator[None]:
    """Set ``$MATFUSION_CHAPTER`` while a chapter runs, so store lookups name it."""
    from matfusion.results import ENV_CHAPTER

    previous = os.environ.get(ENV_CHAPTER)
    os.environ[ENV_CHAPTER] = stem
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(ENV_CHAPTER, None)
        else:
            os.environ[ENV_CHAPTER] = previous


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
    write_generated_pages(root)
    command = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(root)]
    if warnings_as_errors:
        command += ["--warningiserror", "--keep-going"]
    subprocess.run(command, check=True, cwd=root)
    return root / "_build" / "html"


#: Markdown the book's hand-written pages include, written at build time from the library.
GENERATED_DIR = Path("book") / "_generated"


def write_generated_pages(root: Path | None = None) -> list[Path]:
    """Write the pages ``book/*.md`` include (``{include}``): the compute plan of the
    ``paper`` profile on "Running at scale", from the measured rates of this checkout."""
    from matfusion.compute_plan import write_plan_page

    root = root or repo_root()
    return [write_plan_page(root / GENERATED_DIR / "compute_plan.md", profile="paper")]


# --- rerunning one chapter (`matfusion run`) -------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    """One name a chapter's ``parameters`` cell assigns: what papermill may replace.

    ``default_source`` is the assigned expression as written, ``comment`` the ``#`` comment
    on its line (its meaning; empty when the line has none)."""

    name: str
    default_source: str
    comment: str


def chapter_parameters(source: Path) -> list[Parameter]:
    """The names, defaults and meanings of a chapter's cell tagged ``parameters``, read from
    its ``py:percent`` file, so the command line and the chapter's rerun box cannot drift
    from what papermill actually replaces."""
    import jupytext

    notebook = jupytext.read(source, fmt="py:percent")
    cells = [
        c
        for c in notebook.cells
        if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])
    ]
    if not cells:
        raise ValueError(f"{Path(source).name} has no cell tagged `parameters`")
    code = cells[0].source
    tree = ast.parse(code)
    comments = {
        token.start[0]: token.string.lstrip("#").strip()
        for token in tokenize.generate_tokens(io.StringIO(code).readline)
        if token.type == tokenize.COMMENT
    }
    parameters: list[Parameter] = []
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        else:
            continue
        default = ast.get_source_segment(code, node.value) or ast.unparse(node.value)
        end = node.end_lineno or node.lineno
        comment = " ".join(
            comments[line] for line in range(node.lineno, end + 1) if comments.get(line)
        )
        parameters += [
            Parameter(t.id, default, comment) for t in targets if isinstance(t, ast.Name)
        ]
    return parameters


def resolve_chapter(chapter: str, root: Path | None = None) -> Path:
    """The chapter source named by its number (``03`` or ``3``), its stem or file name, or a
    substring of its stem matching exactly one chapter; anything else is a ValueError
    listing the chapters."""
    sources = notebook_sources(root)
    stems = ", ".join(s.stem for s in sources) or "none found"
    key = chapter.strip()
    if key.endswith(".py"):
        key = Path(key).stem
    exact = [
        s
        for s in sources
        if key == s.stem or (key.isdigit() and s.stem[:2].isdigit() and int(key) == int(s.stem[:2]))
    ]
    matches = exact or [s for s in sources if key and key.lower() in s.stem.lower()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ValueError(f"unknown chapter {chapter!r}; the chapters: {stems}")
    raise ValueError(
        f"chapter {chapter!r} is ambiguous, it matches "
        f"{', '.join(s.stem for s in matches)}; the chapters: {stems}"
    )


def parse_parameter_value(text: str) -> Any:
    """A command-line value as a Python literal where it parses as one (``5``, ``True``,
    ``None``, ``"[0.05, 0.1]"``), else the text itself (``Ge``), like papermill's ``-p``."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def describe_parameters(parameters: list[Parameter]) -> str:
    """``name = default`` for each parameter, on one line (for error messages)."""
    return ", ".join(f"{p.name} = {p.default_source}" for p in parameters) or "none"


@dataclass(frozen=True)
class Rerun:
    """What ``run_chapter`` wrote and how long the chapter took."""

    source: Path
    profile: str
    parameters: dict[str, Any]
    notebook: Path
    html: Path | None
    seconds: float


def rerun_plan(
    chapter: str,
    parameters: dict[str, Any],
    profile: str | None = None,
    root: Path | None = None,
) -> tuple[Path, str, dict[str, Any]]:
    """Check a rerun before it starts: the chapter's source, the profile and the parameters
    papermill gets. Unknown chapters, profiles and parameter names are ValueErrors (KeyError
    for the profile) naming what exists; ``profile`` may come from ``--profile`` or ``-p``."""
    from matfusion.profiles import get_profile

    source = resolve_chapter(chapter, root)
    declared = chapter_parameters(source)
    names = {p.name for p in declared}
    unknown = [n for n in parameters if n not in names]
    if unknown:
        raise ValueError(
            f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} for "
            f"{source.stem}; its parameters: {describe_parameters(declared)}"
        )
    chosen = dict(parameters)
    given = chosen.pop("profile", None)
    if given is not None and profile is not None and given != profile:
        raise ValueError(f"--profile {profile} and -p profile {given} disagree; give one")
    name = str(profile or given or "standard")
    get_profile(name)  # an unknown profile fails before the kernel starts
    if "profile" in names:
        chosen["profile"] = name
    for key, value in BOOK_PARAMETERS.items():
        if key in names:
            chosen.setdefault(key, value)
    return source, name, chosen


def rerun_path(source: Path, profile: str, out_dir: Path) -> Path:
    """``<out>/<chapter stem>-<profile>.ipynb``: one file per chapter and profile."""
    return Path(out_dir) / f"{source.stem}-{profile}.ipynb"


def run_chapter(
    chapter: str,
    parameters: dict[str, Any] | None = None,
    *,
    profile: str | None = None,
    out_dir: Path = RERUN_DIR,
    html: bool = False,
    root: Path | None = None,
) -> Rerun:
    """Execute one chapter with papermill, as the book does but with the given parameters,
    into :func:`rerun_path` (and an HTML copy beside it with ``html``).

    Everything that can be checked is checked before the kernel starts; a chapter that
    raises is a :class:`NotebookExecutionError` whose ``failed`` is the partial notebook."""
    root = root or repo_root()
    source, name, chosen = rerun_plan(chapter, parameters or {}, profile, root)
    if html:
        require_nbconvert()
    output = rerun_path(source, name, out_dir)
    with _as_chapter(source.stem):
        seconds = execute_notebook(source, output, chosen, cwd=root / "notebooks")
    page = notebook_html(output) if html else None
    return Rerun(source, name, chosen, output, page, seconds)


def require_nbconvert() -> None:
    """``--html`` needs nbconvert, which is not a dependency: say so before a long run."""
    import importlib.util

    if importlib.util.find_spec("nbconvert") is None:
        raise ValueError(
            "--html needs nbconvert, which this environment lacks "
            "(`.venv/bin/pip install nbconvert`); without --html the notebook is still written"
        )


def notebook_html(notebook: Path) -> Path:
    """An HTML copy of an executed notebook beside it (nbconvert's HTML exporter)."""
    require_nbconvert()
    from nbconvert import HTMLExporter

    body, _resources = HTMLExporter().from_filename(str(notebook))
    target = Path(notebook).with_suffix(".html")
    target.write_text(body, encoding="utf-8")
    return target
