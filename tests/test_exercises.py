"""Every chapter's exercises: valid parameters, and answers computed from stored results."""

from __future__ import annotations

import types

import pytest

from matfusion.book import notebook_sources
from matfusion.chapters import exercises as ex
from matfusion.profiles import get_profile

CHAPTERS = [s.stem for s in notebook_sources() if s.stem != "00_what_holds"]


@pytest.mark.parametrize("stem", CHAPTERS)
def test_each_chapter_has_two_or_three_answered_exercises(stem: str) -> None:
    exercises = ex.chapter_exercises(stem)
    assert 2 <= len(exercises) <= 3
    standard = get_profile("standard")
    for exercise in exercises:
        try:
            answer = exercise.answer(standard)
        except ValueError as err:  # a checkout without the stored runs it reads
            pytest.skip(str(err))
        assert isinstance(answer, str) and len(answer.strip()) > 40
    text = ex.exercises_markdown(stem, standard)
    assert text.count("<details>") == len(exercises)
    assert f"matfusion run {stem[:2]} --profile smoke -p" in text


def test_an_exercise_with_a_parameter_the_chapter_lacks_is_an_error(monkeypatch) -> None:
    fake = types.SimpleNamespace(
        EXERCISES=(ex.Exercise("q?", {"anchr": "Ge"}, lambda profile: "a"),)
    )
    monkeypatch.setattr(ex.importlib, "import_module", lambda name: fake)
    with pytest.raises(ValueError, match="sets anchr, which the chapter's parameters cell"):
        ex.chapter_exercises("03_rational_design")


def test_an_answer_that_needs_missing_runs_says_so(monkeypatch) -> None:
    def missing(profile):
        raise ValueError("no band-gap rerun is stored yet")

    fake = types.SimpleNamespace(
        EXERCISES=(
            ex.Exercise("q?", {"anchor": "Ge"}, missing),
            ex.Exercise("r?", {"dataset": "OQMD_Bandgap"}, lambda p: "fine"),
        )  # fmt: skip
    )
    monkeypatch.setattr(ex.importlib, "import_module", lambda name: fake)
    text = ex.exercises_markdown("03_rational_design", get_profile("standard"))
    assert "Not computable from the stored `standard` runs here: no band-gap rerun" in text
    assert "-p anchor Ge" in text and "-p dataset OQMD_Bandgap" in text
