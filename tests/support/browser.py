"""A real headless Chromium for the factsheet tests: the page as a browser lays it out, its chart
texts, a screenshot, and the text of a printed PDF."""

from __future__ import annotations

import html
import os
import re
import subprocess
import tempfile
import unicodedata
from pathlib import Path

import pytest

from diaspora.printing import find_chromium


def chromium() -> str:
    found = find_chromium()
    if not found:
        if os.environ.get("DIASPORA_REQUIRE_CHROMIUM") == "1":
            pytest.fail(
                "DIASPORA_REQUIRE_CHROMIUM=1 but chromium is not installed (apt-get install chromium)"
            )
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


def run_chromium(*args: str) -> subprocess.CompletedProcess:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}",
    ]
    return subprocess.run([chromium(), *flags, *args], capture_output=True, text=True, timeout=120)


def laid_out_dom(page: Path) -> str:
    """The page's DOM after Chromium laid it out and its checks ran (``data-checked``)."""
    dom = run_chromium("--virtual-time-budget=3000", "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'data-checked="yes"' in dom.stdout, "the page's layout checks did not run"
    return dom.stdout


def body_attribute(dom: str, name: str) -> str:
    match = re.search(rf'<body[^>]*\s{name}="([^"]*)"', dom)
    assert match, f"<body> has no {name}"
    return html.unescape(match.group(1))


def chart_texts(dom: str, chart: str) -> list[str]:
    """Every text drawn in one chart's SVG (tick labels, axis labels, bar labels, legend)."""
    start = dom.index(f'data-chart="{chart}"')
    svg = dom[start : dom.index("</svg>", start)]
    texts = re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", t)).strip() for t in texts if t.strip()]


def screenshot(page: Path, target: Path, height: int = 2600) -> Path:
    shot = run_chromium(f"--window-size=900,{height}", f"--screenshot={target}", page.as_uri())
    assert shot.returncode == 0 and target.exists(), shot.stderr[-2000:]
    return target


def pdf_pages_and_text(pdf: Path) -> tuple[int, str, list[tuple[float, float]]]:
    """Page count, the text of every page (ligatures unfolded), and each page's size in points."""
    from pypdf import PdfReader

    reader = PdfReader(str(pdf))
    sizes = [(float(p.mediabox.width), float(p.mediabox.height)) for p in reader.pages]
    text = "\n".join(p.extract_text() or "" for p in reader.pages)
    return len(reader.pages), unicodedata.normalize("NFKC", text), sizes  # ligatures: "ﬁ" → "fi"
