"""The built book renders in a real browser: every chapter, its figures, no tracebacks.

Needs ``_build/html`` (``matfusion book``). CI builds it first and sets
``MATFUSION_REQUIRE_BOOK=1`` so a missing book fails instead of skipping.
"""

from __future__ import annotations

import functools
import html
import json
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


def render(page: Path, *, window: tuple[int, int] | None = None) -> str:
    """The DOM after chromium has loaded and run the page's scripts (laid out in a window
    of ``window`` pixels, width and height, when given)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        if REQUIRED:
            pytest.fail("chromium is not installed (scripts/setup.sh --browser installs it)")
        pytest.skip("chromium not installed")
    size = [f"--window-size={window[0]},{window[1]}", "--hide-scrollbars"] if window else []
    with tempfile.TemporaryDirectory() as profile_dir:
        result = subprocess.run(
            [
                chromium,
                *size,
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


#: The desktop window the layout checks use, and the least a figure may measure on it.
WINDOW = (1280, 900)
MIN_FIGURE_PX = 150

#: Run once the page has loaded (or its images have, half a second on): opens every
#: <details>, measures each figure image and each table of the article, and writes the sizes
#: into the DOM as JSON.
#: A wide table counts as scrolled when an element between it and the article scrolls
#: sideways, is no wider than the article, and is at most a window high (so its scroll bar
#: is on screen with the table's top: a long table's bar at its bottom, a few thousand pixels
#: down, leaves the table cut at the right edge for a reader).
LAYOUT_SCRIPT = """
<script>
function matfusionLayout() {
  document.querySelectorAll("details").forEach(function (d) { d.open = true; });
  var article = document.querySelector("article.bd-article") || document.body;
  var column = article.getBoundingClientRect().width;
  var images = [], tables = [];
  article.querySelectorAll(".cell_output img, figure img").forEach(function (img) {
    var r = img.getBoundingClientRect();
    images.push({src: img.getAttribute("src").slice(-60), width: r.width, height: r.height});
  });
  article.querySelectorAll("table").forEach(function (table) {
    var scrolled = null;
    for (var el = table.parentElement; el && el !== article; el = el.parentElement) {
      var style = getComputedStyle(el), box = el.getBoundingClientRect();
      if ((style.overflowX === "auto" || style.overflowX === "scroll")
          && box.width <= column + 1 && box.height <= window.innerHeight) {
        scrolled = el.className || el.tagName;
        break;
      }
    }
    tables.push({width: table.getBoundingClientRect().width, scrolled: scrolled,
                 text: (table.innerText || "").replace(/\\s+/g, " ").slice(0, 80)});
  });
  var out = document.createElement("pre");
  out.id = "matfusion-layout";
  out.textContent = JSON.stringify({column: column, images: images, tables: tables});
  document.body.appendChild(out);
}
(function wait(waited) {
  var images = Array.prototype.slice.call(document.images);
  var loaded = images.every(function (img) { return img.complete; });
  if (document.readyState === "complete" || (loaded && waited >= 500)) {
    matfusionLayout();
  } else {
    setTimeout(function () { wait(waited + 100); }, 100);
  }
})(0);
</script>
"""


@functools.cache
def layout(page: Path) -> dict:
    """Sizes in pixels of a page's content column, figure images and tables, as a reader's
    browser lays them out in a :data:`WINDOW` (a copy of the page with :data:`LAYOUT_SCRIPT`
    added, its links resolved against the original's folder)."""
    text = page.read_text(encoding="utf-8")
    base = f'<base href="{page.parent.resolve().as_uri()}/">'
    text = text.replace("<head>", "<head>" + base, 1).replace(
        "</body>", LAYOUT_SCRIPT + "</body>", 1
    )
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / page.name
        copy.write_text(text, encoding="utf-8")
        for _attempt in range(2):  # a machine busy enough to outlast the time budget: again
            dom = render(copy, window=WINDOW)
            found = re.search(r'<pre id="matfusion-layout"[^>]*>(.*?)</pre>', dom, re.S)
            if found:
                break
    assert found, f"the layout script did not run on {page.name}"
    return json.loads(html.unescape(found.group(1)))


def small_figures(sizes: dict) -> list[str]:
    """The figure images of :func:`layout`'s ``sizes`` drawn under MIN_FIGURE_PX either way."""
    return [
        f"{i['src']} is {i['width']:.0f} x {i['height']:.0f} px"
        for i in sizes["images"]
        if min(i["width"], i["height"]) < MIN_FIGURE_PX
    ]


def cut_tables(sizes: dict) -> list[str]:
    """The tables of :func:`layout`'s ``sizes`` wider than the content column and not in a
    box that scrolls them within one window."""
    return [
        f"table '{t['text'][:50]}...' is {t['width']:.0f} px in a {sizes['column']:.0f} px column"
        for t in sizes["tables"]
        if t["width"] > sizes["column"] + 1 and not t["scrolled"]
    ]


def executed_chapters() -> list[str]:
    return [c for c in toc_files() if c.startswith("book/executed/")]


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


@pytest.mark.book
@pytest.mark.parametrize("chapter", executed_chapters())
def test_figures_render_large_enough_to_read(built: Path, chapter: str) -> None:
    """A figure squeezed into the column (e.g. ten panels in one row) is a strip nobody
    can read: every figure image is at least MIN_FIGURE_PX wide and high on a desktop."""
    page = built / f"{chapter}.html"
    sizes = layout(page)
    assert sizes["images"], f"{chapter} shows no figure"
    assert not small_figures(sizes), small_figures(sizes)


@pytest.mark.book
@pytest.mark.parametrize("chapter", executed_chapters())
def test_wide_tables_scroll_in_their_own_box(built: Path, chapter: str) -> None:
    sizes = layout(built / f"{chapter}.html")
    assert sizes["column"] > 300, "no content column found"
    assert not cut_tables(sizes), cut_tables(sizes)


@pytest.mark.book
@pytest.mark.parametrize("chapter", executed_chapters())
def test_tables_whole_and_no_log_lines(built: Path, chapter: str) -> None:
    """No table is cut to `...` by pandas, and no progress or log line reaches the page."""
    dom = render(built / f"{chapter}.html")
    cells = [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", dom, re.S)
    ]
    assert "..." not in cells, "a table is truncated with '...' (pandas display options)"
    assert not re.search(r"\.\.\.\s*</td>", dom), "a table cell is cut with '...'"
    # code (the chapters' own source) may name a log prefix; the rest of the page may not
    code = r'<div class="highlight-ipython3.*?</pre>'
    text = re.sub(r"<[^>]+>", " ", re.sub(code, " ", dom, flags=re.S))
    assert not re.search(r"\b(ecd data|prepare_inputs|\[matfusion[^\]]*\]):", text), (
        "a log line is on the page"
    )
    streams = re.findall(r'<div class="output (?:stream|stderr)[^"]*"', dom)
    assert not streams, f"{len(streams)} printed output block(s) on the page"


@pytest.mark.book
def test_layout_checks_catch_a_broken_page(tmp_path: Path) -> None:
    """The two layout checks fail where they should: on a page with a strip of a figure and
    a wide table outside any scrolling box (and pass its figure and table that are fine)."""
    from PIL import Image

    Image.new("RGB", (2000, 200), "white").save(tmp_path / "strip.png")
    Image.new("RGB", (600, 400), "white").save(tmp_path / "fine.png")
    row = "".join(f"<td>column_{i}_with_a_long_name</td>" for i in range(30))
    page = tmp_path / "broken.html"
    page.write_text(
        "<html><head></head><body><article class='bd-article' style='width:700px'>"
        "<div class='cell_output'><img src='strip.png' style='width:100%'>"
        "<img src='fine.png'></div>"
        f"<div class='cell_output'><table id='cut'><tr>{row}</tr></table></div>"
        f"<div style='overflow-x:auto'><table><tr>{row}</tr></table></div>"
        "</article></body></html>",
        encoding="utf-8",
    )
    sizes = layout(page)
    assert len(sizes["images"]) == 2 and len(sizes["tables"]) == 2
    assert [s.split(" is ")[0] for s in small_figures(sizes)] == ["strip.png"]
    assert len(cut_tables(sizes)) == 1 and "column_0" in cut_tables(sizes)[0]
