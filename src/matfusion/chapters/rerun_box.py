"""The "Rerun this chapter" box that ends every chapter: its parameters, the one-line command
and the measured time per profile, built from the chapter's own ``parameters`` cell
(:func:`matfusion.book.chapter_parameters`) and ``book/executed/timings.json``, so the box
cannot drift from what ``matfusion run`` accepts.
"""

from __future__ import annotations

import ast
import html
import json
import shlex
from pathlib import Path

from matfusion.book import (
    EXECUTED_DIR,
    RERUN_DIR,
    Parameter,
    chapter_parameters,
    parse_parameter_value,
    profile_timings,
    rerun_path,
)
from matfusion.config import repo_root
from matfusion.profiles import PROFILES

__all__ = ["SHARED_MEANINGS", "cli_value", "format_seconds", "rerun_box"]

#: Meanings of names every chapter shares, for parameter lines that carry no comment.
SHARED_MEANINGS = {
    "profile": "run profile: " + ", ".join(f"`{p}`" for p in PROFILES) + " (see How to rerun)",
    "progress": "progress bars (the book build turns them off)",
    "epochs": "override the profile's epochs",
    "seed": "override the profile's seed",
    "dataset": "the dataset this chapter trains on (`matfusion datasets` lists the names)",
    "datasets": "list of dataset names (`matfusion datasets` lists them)",
    "models": "list of the model names this chapter shows",
    "anchor": "element every compound of the CECV analysis contains",
    "mode": '"authors" (|r| for ternaries, signed beyond), "signed" or "absolute"',
}
#: Parameters the example command leaves out: the book sets them itself.
_NOT_EXAMPLES = {"profile", "progress"}


def cli_value(default_source: str) -> str | None:
    """A shell word that ``matfusion run -p NAME WORD`` reads back as this default, or None
    for a default that is not a literal (an expression the command line cannot give)."""
    try:
        value = ast.literal_eval(default_source)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    text = value if isinstance(value, str) and parse_parameter_value(value) == value else None
    text = text if text is not None else repr(value)
    if parse_parameter_value(text) != value:
        return None
    if shlex.quote(text) == text:
        return text
    if not any(c in text for c in '"$`\\!'):
        return f'"{text}"'
    return shlex.quote(text)


def format_seconds(seconds: float) -> str:
    """Seconds under two minutes, minutes beyond."""
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def _cell(text: str) -> str:
    """Table-cell text: pipes escaped, line breaks flattened."""
    return " ".join(text.replace("|", "\\|").split())


def _example(number: str, parameters: list[Parameter]) -> str | None:
    """A command that sets one parameter (to its default), to show the ``-p`` syntax."""
    for p in parameters:
        if p.name in _NOT_EXAMPLES or p.default_source == "None":
            continue
        word = cli_value(p.default_source)
        if word is not None:
            return (
                f"matfusion run {number} --profile smoke -p {p.name} {word}"
                "  # any parameter; here its default"
            )
    return None


def _timing_line(stem: str, root: Path) -> str:
    """Seconds per profile from the last ``matfusion book`` runs, or that none are measured."""
    log = root / EXECUTED_DIR / "timings.json"
    try:
        entry = json.loads(log.read_text()).get(stem) if log.exists() else None
        measured = profile_timings(entry)
    except (ValueError, KeyError, TypeError, AttributeError):  # a damaged log measures nothing
        measured = {}
    if not measured:
        return (
            "**Time:** not measured yet (`matfusion book` records each chapter's time in "
            "`book/executed/timings.json`)."
        )
    known = [p for p in PROFILES if p in measured] + sorted(set(measured) - set(PROFILES))
    times = ", ".join(f"`{p}` {format_seconds(measured[p])}" for p in known)
    missing = [p for p in PROFILES if p not in measured]
    tail = f"; {', '.join(f'`{p}`' for p in missing)}: not measured yet" if missing else ""
    return (
        f"**Time** (this chapter's last execution by `matfusion book` per profile, on the "
        f"machine that built this page): {times}{tail}."
    )


def rerun_box(stem: str, root: Path | None = None) -> str:
    """Markdown for a chapter's closing box: a collapsed ``<details>`` block with its
    parameters (name, default, meaning) as a table, the ``matfusion run`` commands and the
    expected time per profile. Needs GitHub-flavoured markdown for the table (the notebook
    cell sets ``mystnb.markdown_format`` to ``gfm``)."""
    root = root or repo_root()
    source = root / "notebooks" / f"{stem}.py"
    if not source.exists():
        raise ValueError(f"no chapter {stem!r} in {source.parent}")
    parameters = chapter_parameters(source)
    number = stem[:2] if stem[:2].isdigit() else stem
    rows = "\n".join(
        f"| `{p.name}` | `{_cell(p.default_source)}` | "
        f"{_cell(p.comment or SHARED_MEANINGS.get(p.name, '–'))} |"
        for p in parameters
    )
    commands = [f"matfusion run {number} --profile smoke"]
    example = _example(number, parameters)
    if example:
        commands.append(example)
    commands.append(f"matfusion run {number} --profile standard --html")
    written = rerun_path(source, "<profile>", RERUN_DIR)
    return "\n".join(
        [
            "<details>",
            f"<summary>Parameters, command and time to rerun {html.escape(stem)}</summary>",
            "",
            f"The cell tagged `parameters` in `notebooks/{stem}.py` sets these; "
            "`-p NAME VALUE` replaces one (VALUE is read as a Python literal where it is one, "
            "else as text; give `--profile` or `-p profile`):",
            "",
            "| parameter | default | meaning |",
            "| --- | --- | --- |",
            rows,
            "",
            "```bash",
            *commands,
            "```",
            "",
            f"The executed notebook is written to `{written}` in the current folder "
            "(`--out DIR` for another); `--html` adds an HTML copy beside it (needs nbconvert). "
            "A chapter that fails exits 1 and names its partly executed notebook.",
            "",
            _timing_line(stem, root),
            "",
            "</details>",
        ]
    )
