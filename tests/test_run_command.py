"""`matfusion run`: one chapter with other parameters, and the rerun box that documents it."""

from __future__ import annotations

import ast
import json
import shlex
import sys

import nbformat
import pytest

from matfusion.book import (
    NotebookExecutionError,
    Parameter,
    chapter_parameters,
    execute_notebooks,
    notebook_sources,
    parse_parameter_value,
    profile_timings,
    resolve_chapter,
    run_chapter,
)
from matfusion.chapters.rerun_box import cli_value, rerun_box
from matfusion.cli import main
from matfusion.config import repo_root

TINY = """# %% [markdown]
# # A tiny chapter

# %% tags=["parameters"]
profile = "standard"
anchor = "Si"  # element the compounds contain
thresholds = [
    0.05,
    0.1,
]  # CECV thresholds
epochs: int | None = None
progress = True

# %%
not_a_parameter = 1  # cells without the tag are not parameters
print(f"{profile!r} {anchor!r} {thresholds!r} {epochs!r} {progress!r}")
"""

BROKEN = """# %% tags=["parameters"]
profile = "standard"

# %%
raise ValueError("boom\\nin two lines")
"""


@pytest.fixture
def tiny_root(tmp_path, monkeypatch):
    """A checkout with two synthetic chapters, standing in for the repository's."""
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "01_tiny.py").write_text(TINY)
    (tmp_path / "notebooks" / "02_broken.py").write_text(BROKEN)
    monkeypatch.setattr("matfusion.book.repo_root", lambda: tmp_path)
    return tmp_path


def _printed(path) -> str:
    notebook = nbformat.read(path, as_version=4)
    return "".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []))


def test_parameters_are_read_with_defaults_and_comments(tiny_root) -> None:
    assert chapter_parameters(tiny_root / "notebooks" / "01_tiny.py") == [
        Parameter("profile", '"standard"', ""),
        Parameter("anchor", '"Si"', "element the compounds contain"),
        Parameter("thresholds", "[\n    0.05,\n    0.1,\n]", "CECV thresholds"),
        Parameter("epochs", "None", ""),
        Parameter("progress", "True", ""),
    ]


def test_a_real_chapter_parameters_cell() -> None:
    found = {p.name: p for p in chapter_parameters(repo_root() / "notebooks/03_rational_design.py")}
    assert found["profile"].default_source == '"standard"'
    assert found["anchor"].default_source == '"Si"'
    assert found["mode"].default_source == '"authors"'
    assert found["mode"].comment.startswith('"authors" (|r| for ternaries')
    assert "EFM layer" in found["layer"].comment
    assert found["progress"].default_source == "True"
    for source in notebook_sources():
        names = [p.name for p in chapter_parameters(source)]
        assert names[0] == "profile" and "progress" in names, source.stem


def test_a_chapter_without_parameters_cell_is_an_error(tmp_path) -> None:
    source = tmp_path / "01_none.py"
    source.write_text("# %%\nx = 1\n")
    with pytest.raises(ValueError, match="01_none.py has no cell tagged `parameters`"):
        chapter_parameters(source)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Ge", "Ge"),
        ("[0.05, 0.1]", [0.05, 0.1]),
        ("['LSTM', 'DCNN-K1']", ["LSTM", "DCNN-K1"]),
        ("5", 5),
        ("0.5", 0.5),
        ("True", True),
        ("None", None),
        ("'5'", "5"),
        ("OQMD_Bandgap", "OQMD_Bandgap"),
        ("L-G-DCNN", "L-G-DCNN"),
        ("1 +", "1 +"),
    ],
)
def test_values_parse_as_literals_else_text(text, value) -> None:
    assert parse_parameter_value(text) == value
    assert type(parse_parameter_value(text)) is type(value)


def test_chapters_resolve_by_number_name_or_unique_part() -> None:
    rational = repo_root() / "notebooks" / "03_rational_design.py"
    for name in ("03", "3", "03_rational_design", "03_rational_design.py", "rational", "RATIONAL"):
        assert resolve_chapter(name) == rational
    with pytest.raises(
        ValueError, match=r"unknown chapter 'nope'; the chapters: 00_what_holds, 01_data_overview"
    ):
        resolve_chapter("nope")
    with pytest.raises(ValueError, match=r"'ecd' is ambiguous, it matches 10_ecd_data, 11_ecd"):
        resolve_chapter("ecd")


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (
            ["run", "99"],
            ["unknown chapter '99'", "00_what_holds", "01_data_overview", "12_ecd_dft_validation"],
        ),
        (["run", "ecd"], ["ambiguous", "10_ecd_data", "11_ecd_cv_loeo", "12_ecd_dft_validation"]),
        (
            ["run", "03", "-p", "anchr", "Ge"],
            ["unknown parameter anchr for 03_rational_design", 'anchor = "Si"', "layer = None"],
        ),
        (["run", "03", "-p", "anchor", "Ge", "-p", "anchor", "Si"], ["anchor given twice"]),
        (["run", "03", "--profile", "huge"], ["unknown profile 'huge'", "smoke"]),
        (["run", "03", "--profile", "smoke", "-p", "profile", "paper"], ["disagree"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, needles, capsys) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("matfusion run: error: ")
    for needle in needles:
        assert needle in lines[0]


def test_html_without_nbconvert_fails_before_running(monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "nbconvert", None)  # as if it were not installed
    assert main(["run", "03", "--profile", "smoke", "--html"]) == 2
    assert "--html needs nbconvert" in capsys.readouterr().err


def test_run_writes_a_named_notebook_with_the_parameters(tiny_root, tmp_path) -> None:
    rerun = run_chapter(
        "tiny",
        {"anchor": "Ge", "thresholds": [0.2], "epochs": 5},
        profile="smoke",
        out_dir=tmp_path / "out",
    )
    assert rerun.notebook == tmp_path / "out" / "01_tiny-smoke.ipynb"
    assert rerun.parameters == {
        "anchor": "Ge",
        "thresholds": [0.2],
        "epochs": 5,
        "profile": "smoke",
        "progress": False,
    }
    assert "'smoke' 'Ge' [0.2] 5 False" in _printed(rerun.notebook)


def test_cli_run_reports_the_output_and_a_failure_in_one_line(
    tiny_root, tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["run", "1", "-p", "profile", "smoke", "-p", "thresholds", "[0.3, 0.4]"]) == 0
    out = capsys.readouterr().out
    assert "written: reruns/01_tiny-smoke.ipynb" in out
    assert "[0.3, 0.4] None False" in _printed(tmp_path / "reruns" / "01_tiny-smoke.ipynb")

    assert main(["run", "broken", "--out", "elsewhere"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    failed = tmp_path / "elsewhere" / "02_broken-standard.failed.ipynb"
    assert err == [
        "matfusion run: error: 02_broken.py failed in cell 3: ValueError: boom in two lines; "
        f"partial notebook: {failed.relative_to(tmp_path)}"
    ]
    assert failed.exists()
    assert not (tmp_path / "elsewhere" / "02_broken-standard.ipynb").exists()
    with pytest.raises(NotebookExecutionError) as caught:
        run_chapter("02", out_dir=tmp_path / "again")
    assert caught.value.failed == tmp_path / "again" / "02_broken-standard.failed.ipynb"


def test_html_copy_beside_the_notebook(tiny_root, tmp_path) -> None:
    pytest.importorskip("nbconvert")
    rerun = run_chapter("tiny", profile="smoke", out_dir=tmp_path / "out", html=True)
    assert rerun.html == tmp_path / "out" / "01_tiny-smoke.html"
    assert "&#39;Si&#39;" in rerun.html.read_text() or "'Si'" in rerun.html.read_text()


def test_the_rerun_box_lists_every_parameter_and_the_command() -> None:
    for source in notebook_sources():
        box = rerun_box(source.stem)
        assert box.startswith("<details>") and box.rstrip().endswith("</details>")
        for parameter in chapter_parameters(source):
            assert f"| `{parameter.name}` |" in box, (source.stem, parameter.name)
        assert f"matfusion run {source.stem[:2]} --profile smoke" in box
        assert f"reruns/{source.stem}-<profile>.ipynb" in box
        assert "**Time" in box


def test_every_chapter_ends_with_its_rerun_box() -> None:
    import jupytext

    for source in notebook_sources():
        last = jupytext.read(source).cells[-1]
        assert f'rerun_box("{source.stem}")' in last.source
        assert "remove-input" in last.metadata["tags"]
        assert last.metadata["mystnb"] == {"markdown_format": "gfm"}  # the table needs GFM


def test_box_commands_round_trip_through_the_shell() -> None:
    for source in notebook_sources():
        for parameter in chapter_parameters(source):
            word = cli_value(parameter.default_source)
            if word is None:
                continue
            (text,) = shlex.split(word)
            assert parse_parameter_value(text) == ast.literal_eval(parameter.default_source)


def test_the_box_quotes_measured_times_per_profile(tiny_root) -> None:
    assert "**Time:** not measured yet" in rerun_box("01_tiny", root=tiny_root)
    executed = tiny_root / "book" / "executed"
    executed.mkdir(parents=True)
    (executed / "timings.json").write_text(
        json.dumps({"01_tiny": {"seconds": 185.0, "profile": "standard"}})
    )
    assert profile_timings({"seconds": 185.0, "profile": "standard"}) == {"standard": 185.0}
    box = rerun_box("01_tiny", root=tiny_root)
    assert "`standard` 3 min; `smoke`, `large`, `paper`: not measured yet" in box
    assert '| `anchor` | `"Si"` | element the compounds contain |' in box
    assert "matfusion run 01 --profile smoke -p anchor Si" in box


def test_the_book_keeps_each_profiles_time(tiny_root) -> None:
    (tiny_root / "notebooks" / "02_broken.py").unlink()
    execute_notebooks(profile="smoke", root=tiny_root)
    execute_notebooks(profile="standard", root=tiny_root)
    entry = json.loads((tiny_root / "book" / "executed" / "timings.json").read_text())["01_tiny"]
    assert entry["profile"] == "standard"
    assert set(profile_timings(entry)) == {"smoke", "standard"}
    assert "`smoke`" in rerun_box("01_tiny", root=tiny_root)


@pytest.mark.slow  # trains chapter 02's smoke models unless the store has them: up to ~60 s
def test_a_real_chapter_reruns_into_its_named_notebook(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    argv = ["run", "02", "--profile", "smoke", "-p", "datasets", "['OQMD_Bandgap']"]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    written = tmp_path / "02_reference_models-smoke.ipynb"
    assert f"written: {written}" in capsys.readouterr().out
    executed = nbformat.read(written, as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert 'datasets = ["OQMD_Bandgap"]' in injected[0].source
    assert "matfusion run 02 --profile smoke" in json.dumps(executed.cells[-1].outputs)
