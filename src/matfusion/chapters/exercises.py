"""Exercises that end a chapter: questions a student answers by rerunning the chapter with
other parameters, each with its ``matfusion run`` line, its cost under ``smoke`` and the
observed answer for the teacher, computed when the book is built.

A chapter's exercises live in its own module, ``matfusion.chapters.<stem without the
number>`` (``03_rational_design`` -> :mod:`matfusion.chapters.rational_design`), as a tuple
``EXERCISES`` of :class:`Exercise`. An answer is computed from stored results by a library
function (never by training), so building the book stays cheap; the student's rerun under
``smoke`` shows the mechanics, the teacher's block shows what the stored ``standard`` runs
say.
"""

from __future__ import annotations

import html
import importlib
import json
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matfusion.book import EXECUTED_DIR, chapter_parameters, profile_timings
from matfusion.config import repo_root
from matfusion.profiles import Profile

__all__ = ["Exercise", "chapter_exercises", "exercises_markdown", "module_for"]


@dataclass(frozen=True)
class Exercise:
    """One question, the parameters that answer it, and how the answer is computed."""

    question: str
    parameters: dict[str, Any]
    answer: Callable[[Profile], str]
    #: What to look for on the rerun page (a section name), so the student knows where.
    look_at: str = ""
    tags: tuple[str, ...] = field(default=())


def module_for(stem: str) -> str:
    """The module holding ``stem``'s exercises: the stem without its number."""
    name = stem.split("_", 1)[1] if stem[:2].isdigit() and "_" in stem else stem
    return f"matfusion.chapters.{name}"


def chapter_exercises(stem: str) -> tuple[Exercise, ...]:
    """The exercises of chapter ``stem``, checked against its parameters cell: an exercise
    that sets a parameter the chapter does not have is an error, not a dead command."""
    try:
        module = importlib.import_module(module_for(stem))
    except ModuleNotFoundError as err:
        raise KeyError(f"no exercises for {stem!r}: {module_for(stem)} does not exist") from err
    exercises = tuple(getattr(module, "EXERCISES", ()))
    if not exercises:
        raise KeyError(f"no exercises for {stem!r}: {module_for(stem)} has no EXERCISES")
    source = repo_root() / "notebooks" / f"{stem}.py"
    known = {p.name for p in chapter_parameters(source)}
    for exercise in exercises:
        unknown = sorted(set(exercise.parameters) - known)
        if unknown:
            raise ValueError(
                f"{stem}: an exercise sets {', '.join(unknown)}, which the chapter's "
                f"parameters cell does not have (it has {', '.join(sorted(known))})"
            )
    return exercises


def _command(stem: str, parameters: dict[str, Any]) -> str:
    words = ["matfusion", "run", stem[:2], "--profile", "smoke"]
    for name, value in parameters.items():
        text = value if isinstance(value, str) else repr(value)
        words += ["-p", name, text]
    return " ".join(shlex.quote(w) for w in words)


def _smoke_cost(stem: str, root: Path) -> str:
    path = root / EXECUTED_DIR / "timings.json"
    entry = json.loads(path.read_text()).get(stem) if path.is_file() else None
    seconds = profile_timings(entry).get("smoke")
    if seconds is None:
        return "not measured yet under `smoke`"
    return f"about {seconds:.0f} s under `smoke` (the chapter's last smoke execution)"


def exercises_markdown(stem: str, profile: Profile, root: Path | None = None) -> str:
    """Markdown for a chapter's exercises: numbered questions with their command and smoke
    cost, each followed by a collapsed block with the answer computed now from ``profile``'s
    stored runs (an answer that cannot be computed says why)."""
    from matfusion.results import optional_lookups

    root = root or repo_root()
    cost = _smoke_cost(stem, root)
    parts = []
    for i, exercise in enumerate(chapter_exercises(stem), 1):
        try:
            with optional_lookups():  # an answer reads what is stored; a miss is expected
                answer = exercise.answer(profile)
        except (KeyError, ValueError, FileNotFoundError) as err:
            answer = f"Not computable from the stored `{profile.name}` runs here: {err}"
        look = f" Look at *{exercise.look_at}*." if exercise.look_at else ""
        parts += [
            f"{i}. {exercise.question}{look}",
            "",
            "   ```bash",
            f"   {_command(stem, exercise.parameters)}",
            "   ```",
            "",
            f"   Cost: {cost}; with `--profile {profile.name}` it reads the stored runs.",
            "",
            "   <details><summary>Answer for the teacher (computed when this page was built, "
            f"from the `{html.escape(profile.name)}` runs)</summary>",
            "",
            f"   {answer}",
            "",
            "   </details>",
            "",
        ]
    return "\n".join(parts)


def check_all(stems: Sequence[str]) -> dict[str, int]:
    """The number of exercises of each chapter in ``stems`` (raises on a broken one)."""
    return {stem: len(chapter_exercises(stem)) for stem in stems}
