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


# Chromium with every network request refused: host names resolve to nothing and whatever is left
# (an IP address, localhost) goes to a proxy on a port where nothing listens.
OFFLINE = (
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
)


def offline_dom(page: Path) -> str:
    """The page's DOM after an offline Chromium laid it out and its checks ran (``data-checked``)."""
    dom = run_chromium(*OFFLINE, "--virtual-time-budget=3000", "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'data-checked="yes"' in dom.stdout, "the page's checks did not run"
    return dom.stdout


def pdf_page_lines(pdf: Path, tolerance: float = 2.0) -> list[list[str]]:
    """Each page's text as printed, line by line from the top: fragments on one baseline (within
    ``tolerance`` points) make one line, left to right; ligatures unfolded. By position, not by the
    order the text was drawn in (a chart's SVG draws its labels in its own order)."""
    from pypdf import PdfReader

    pages = []
    for page in PdfReader(str(pdf)).pages:
        fragments: list[tuple[float, float, str]] = []

        def keep(text, cm, tm, _font, _size, fragments=fragments):  # noqa: ANN001 - pypdf's visitor
            if text.strip():
                x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
                y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
                fragments.append((y, x, unicodedata.normalize("NFKC", text)))

        page.extract_text(visitor_text=keep)
        lines: list[tuple[float, list[tuple[float, str]]]] = []
        for y, x, text in sorted(fragments, key=lambda f: (-f[0], f[1])):
            if lines and abs(lines[-1][0] - y) <= tolerance:
                lines[-1][1].append((x, text))
            else:
                lines.append((y, [(x, text)]))
        pages.append([" ".join(t.strip() for _, t in sorted(parts)) for _, parts in lines])
    return pages


def heading_texts(page_html: str, levels: str = "23") -> list[str]:
    """The text of every heading of the given levels (h2 and h3 by default), as printed."""
    found = re.findall(rf"<h([{levels}])\b[^>]*>(.*?)</h\1>", page_html, flags=re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", "", text)).split()) for _, text in found]


def pages_ending_with(pdf: Path, titles: list[str]) -> list[str]:
    """Every printed page whose last lines are one of ``titles`` (a heading with nothing after it
    on its page), as 'file page N ends with …'; spaces are ignored (a heading wraps, and a PDF
    splits a line into pieces at its own places)."""

    def squeezed(text: str) -> str:
        return re.sub(r"\s+", "", text)

    found = []
    for number, lines in enumerate(pdf_page_lines(pdf), start=1):
        tail = squeezed(" ".join(lines[-3:]))  # a heading wraps over two lines at most
        found += [f"{pdf.name} page {number} ends with {t!r}" for t in titles if tail.endswith(squeezed(t))]
    return found
