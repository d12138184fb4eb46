"""The built book renders in a real browser: every chapter, its figures, no tracebacks.

Needs ``_build/html`` (``matfusion book``). CI builds it first and sets
``MATFUSION_REQUIRE_BOOK=1`` so a missing book fails instead of skipping.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
REQUIRED = os.environ.get("MATFUSION_REQUIRE_BOOK") == "1"


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def render(page: Path) -> str:
    """The DOM after chromium has loaded and run the page's scripts."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        if REQUIRED:
            pytest.fail("chromium is not installed (scripts/setup.sh --browser installs it)")
        pytest.skip("chromium not installed")
    with tempfile.TemporaryDirectory() as profile_dir:
        result = subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile_dir}",
                "--virtual-time-budget=3000",
                "--dump-dom",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.fixture(scope="module")
def built() -> Path:
    if not (HTML / "index.html").exists():
        if REQUIRED:
            pytest.fail("the book was not built (_build/html/index.html missing)")
        pytest.skip("book not built; run `matfusion book --profile smoke`")
    return HTML


@pytest.mark.book
@pytest.mark.parametrize("chapter", toc_files())
def test_chapter_renders_without_traceback(built: Path, chapter: str) -> None:
    page = built / f"{chapter}.html"
    assert page.exists(), f"chapter {chapter} was not rendered"
    dom = render(page)
    text = re.sub(r"<[^>]+>", " ", dom)
    assert "Traceback (most recent call last)" not in text
    assert not re.search(r"\b\w+Error: ", text), "an exception message is on the page"
    assert "<h1" in dom, "no title rendered"
    if chapter.startswith("book/executed/"):
        images = re.findall(r'<img[^>]+src="([^"]+)"', dom)
        assert images, f"{chapter} shows no figure"
        for src in images:
            if not src.startswith(("data:", "http")):
                assert (page.parent / src).resolve().exists(), f"missing image file {src}"
        assert "Run profile:" in text, "the page does not say which profile produced it"
