"""The papermill step: parameters reach the notebook, failures are reported, not hidden."""

from __future__ import annotations

import json

import nbformat
import pytest

from matfusion.book import NotebookExecutionError, build_book, execute_notebooks

GOOD = """# %% tags=["parameters"]
profile = "standard"
progress = True

# %%
print(f"profile={profile} progress={progress}")
"""

BAD = """# %% tags=["parameters"]
profile = "standard"

# %%
raise ValueError("boom in chapter")
"""


def test_parameters_are_injected_and_failures_keep_the_partial_notebook(tmp_path) -> None:
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "01_good.py").write_text(GOOD)
    timings = execute_notebooks(profile="smoke", root=tmp_path)
    assert set(timings) == {"01_good"}
    executed = nbformat.read(tmp_path / "book" / "executed" / "01_good.ipynb", as_version=4)
    outputs = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert "profile=smoke progress=False" in outputs
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "remove-cell" in injected[0].metadata["tags"]
    own = [c for c in executed.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(own) == 1 and "remove-cell" not in own[0].metadata["tags"]
    log = json.loads((tmp_path / "book" / "executed" / "timings.json").read_text())
    assert log["01_good"]["profile"] == "smoke"

    (tmp_path / "notebooks" / "02_bad.py").write_text(BAD)
    with pytest.raises(NotebookExecutionError, match="02_bad.py failed.*boom in chapter"):
        execute_notebooks(profile="smoke", only=["02_bad"], root=tmp_path)
    assert (tmp_path / "book" / "executed" / "02_bad.failed.ipynb").exists()
    assert not (tmp_path / "book" / "executed" / "02_bad.ipynb").exists()


def test_unknown_profile_and_unexecuted_book_are_clear_errors(tmp_path) -> None:
    with pytest.raises(KeyError, match="unknown profile"):
        execute_notebooks(profile="huge", root=tmp_path)
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "01_good.py").write_text(GOOD)
    with pytest.raises(FileNotFoundError, match="not executed yet"):
        build_book(root=tmp_path)
