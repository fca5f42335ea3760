"""The diaspora factsheet: one static HTML page per country, with the same figures as JSON and CSV.

Every figure is read from the ``reporting`` views (by :mod:`diaspora.factsheet_data`) and carries
its source, release and reference year; missing figures say "not available", never 0. Charts are
matplotlib SVG embedded in the page (no network, no CDN), and the page prints on A4.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from diaspora.factsheet_data import collect_many, countries_with_data, pin_releases
from diaspora.progress import Progress
from diaspora.settings import PROJECT_ROOT, Settings
from diaspora.text_report import NOT_AVAILABLE, count, one_decimal
from diaspora.warehouse.engine import get_engine
from diaspora.warehouse.published import reading_url

TEMPLATE = PROJECT_ROOT / "plugins" / "diaspora" / "templates" / "factsheet.html.j2"
INDEX_TEMPLATE = TEMPLATE.with_name("factsheet_index.html.j2")
log = logging.getLogger(__name__)


class Formats:
    """Numbers for people, as in the text report: thousands separators, one decimal for percentages."""

    count = staticmethod(count)

    @staticmethod
    def pct(value: float | None) -> str:
        return NOT_AVAILABLE if value is None else f"{one_decimal(value)}%"

    @staticmethod
    def usd(value: float | None) -> str:
        return NOT_AVAILABLE if value is None else f"US$ {human_usd(value)}"


def human_count(value: float, _position: object = None) -> str:
    """Persons for people: 415,676."""
    return f"{value:,.0f}"


def human_usd(value: float, _position: object = None) -> str:
    """US$ for people: 4.6 bn, 850 m, 12,000."""
    size = abs(value)
    if size >= 1e9:
        return f"{value / 1e9:,.1f} bn"
    if size >= 1e6:
        return f"{value / 1e6:,.0f} m" if size >= 1e8 else f"{value / 1e6:,.1f} m"
    return f"{value:,.0f}"


def plain_year(value: float, _position: object = None) -> str:
    """A year as printed: 2015, never 2,015."""
    return f"{value:.0f}"


def _svg(draw) -> str:  # noqa: ANN001 - a function drawing on an Axes
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: readable, searchable, testable
    matplotlib.rcParams["svg.hashsalt"] = "diaspora"  # the same figures give the same SVG
    fig, ax = plt.subplots(figsize=(7.0, 2.6), dpi=100)
    try:
        draw(ax)
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(axis="x", pad=6)  # year labels clear of the value axis's "0"
        # Fixed margins, the left one sized to the longest label: tight_layout took a third of
        # the time of drawing a chart, which counts when every country gets a factsheet.
        longest = max((len(label.get_text()) for label in ax.get_yticklabels()), default=6)
        fig.subplots_adjust(left=min(0.42, (7.5 * longest + 45) / 700), right=0.97, top=0.95, bottom=0.2)
        out = io.StringIO()
        fig.savefig(out, format="svg")
    finally:
        plt.close(fig)
    svg = out.getvalue()
    return svg[svg.index("<svg") :]


def _years_axis(ax) -> None:  # noqa: ANN001
    import matplotlib.ticker

    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True, nbins=8))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(plain_year))


def _value_axis(axis, formatter, bins: int = 6) -> None:  # noqa: ANN001
    import matplotlib.ticker

    axis.set_major_locator(matplotlib.ticker.MaxNLocator(nbins=bins))
    axis.set_major_formatter(matplotlib.ticker.FuncFormatter(formatter))


def _no_data(ax, what: str) -> None:  # noqa: ANN001
    ax.text(0.5, 0.5, f"{what}: not available", ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _short(name: str, width: int = 26) -> str:
    return name if len(name) <= width else name[: width - 1].rstrip() + "…"


def charts(facts: dict) -> dict[str, str]:
    def trend(ax):
        rows = facts["remittances_trend"]
        if not rows:
            return _no_data(ax, "Remittances")
        ax.plot(
            [r["year"] for r in rows], [r["usd"] for r in rows], marker="o", color="#1f6fb2", gid="data-usd"
        )
        ax.set_ylabel("US$")
        ax.set_ylim(bottom=0)
        _years_axis(ax)
        _value_axis(ax.yaxis, human_usd)

    def top(ax):
        rows = facts["top_destinations"][::-1]  # largest at the top
        if not rows:
            return _no_data(ax, "Destinations")
        bars = ax.barh([_short(r["name"]) for r in rows], [r["migrants"] for r in rows], color="#2c8c6a")
        for bar in bars:
            bar.set_gid("data-bar")
        ax.bar_label(bars, labels=[human_count(r["migrants"]) for r in rows], padding=3, fontsize=8)
        ax.set_xlim(0, max(r["migrants"] for r in rows) * 1.22)  # room for the labels
        ax.set_xlabel("emigrants")
        _value_axis(ax.xaxis, human_count, bins=4)

    def stock(ax):
        rows = [r for r in facts["emigrant_stock"] if r["emigrants"] is not None]
        if not rows:
            return _no_data(ax, "Emigrant stock")
        years = [r["year"] for r in rows]
        series = (("female_emigrants", "women", "#b2451f"), ("male_emigrants", "men", "#1f6fb2"))
        for column, label, colour in series:
            values = [r[column] for r in rows]
            ax.plot(years, values, marker="o", label=label, color=colour, gid=f"data-{label}")
        ax.set_ylabel("emigrants")
        ax.set_ylim(bottom=0)
        ax.legend(frameon=False, loc="lower right")
        _years_axis(ax)
        _value_axis(ax.yaxis, human_count)

    return {"remittances_trend": _svg(trend), "top_destinations": _svg(top), "emigrant_stock": _svg(stock)}


# --- output ---------------------------------------------------------------------------------------


def render_html(facts: dict) -> str:
    import jinja2

    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = environment.from_string(TEMPLATE.read_text())
    return template.render(f=facts, charts=charts(facts), fmt=Formats)


def as_records(facts: dict) -> list[dict]:
    return [
        {"figure": key, **asdict(fig), "source_line": fig.source_line}
        for key, fig in facts["figures"].items()
    ]


def write_factsheet(facts: dict, directory: Path) -> dict[str, str]:
    """factsheet.html, factsheet.json and factsheet.csv for one country; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    records = as_records(facts)
    html_path, json_path, csv_path = (directory / f"factsheet.{ext}" for ext in ("html", "json", "csv"))
    html_path.write_text(render_html(facts))
    payload = {k: v for k, v in facts.items() if k != "figures"} | {"figures": records}
    json_path.write_text(json.dumps(payload, indent=2, default=str))
    with open(csv_path, "w", newline="") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=["figure", "value", "unit", "year", "source", "release"], extrasaction="ignore"
        )
        writer.writeheader()
        writer.writerows(records)
    return {"html": str(html_path), "json": str(json_path), "csv": str(csv_path)}


def _render_one(job: tuple[dict, str]) -> dict[str, str]:
    facts, directory = job
    return write_factsheet(facts, Path(directory))


def render_countries(
    settings: Settings,
    countries: list[str] | None = None,
    workers: int | None = None,
    pdf: bool = True,
    pins: dict[str, str] | None = None,
    progress: bool = False,
) -> dict:
    """Factsheets under ``<data_dir>/factsheets/<ISO3>/``, an index page, and a PDF beside each page.

    ``pins`` (source key → release id or label) renders the figures as those releases published
    them, under ``factsheets/as-published/<source>-<release_id>…/``; each page names the releases.

    ``countries``: ISO3 codes, or None for every country with data. Figures are read in this
    process (quick queries on the reporting layer); the pages, whose charts cost most of the time,
    are drawn by ``workers`` processes; the PDFs are printed by one Chromium. Without Chromium the
    pages and the index are written and the result says why there is no PDF.
    """
    import os
    from concurrent.futures import ProcessPoolExecutor

    started = time.perf_counter()
    folder = settings.data_dir / "factsheets"
    # Current figures from the readers' copy (DuckDB: never blocked by a load); figures as a pinned
    # release published them are computed from the warehouse's facts.
    url = settings.warehouse_url if pins else reading_url(settings)
    with get_engine(url).connect() as conn:
        as_of = pin_releases(conn, pins) if pins else None
        folder = folder / as_of.folder_name if as_of else folder
        every = countries_with_data(conn, as_of.relations if as_of else None)
        names = {row["country_code"]: row["name"] for row in every}
        codes = countries if countries is not None else [row["country_code"] for row in every]
        facts = collect_many(conn, codes, settings.factsheet_group, as_of)
    timings = {"read_s": time.perf_counter() - started}
    jobs = [(f, str(folder / f["country_code"])) for f in facts]
    shown = Progress("factsheets", len(jobs) + (1 if pdf else 0), enabled=progress)
    shown.start(f"drawing {len(jobs)} pages")
    workers = workers or min(len(jobs), os.cpu_count() or 1) or 1
    written = []
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for (fact, _), paths in zip(jobs, pool.map(_render_one, jobs, chunksize=4), strict=True):
                written.append(paths)
                shown.done(fact["country_code"], announce=False)
                shown.start(f"drawing pages ({len(written)} of {len(jobs)} drawn)")
    else:
        for job in jobs:
            written.append(_render_one(job))
            shown.done(job[0]["country_code"], announce=False)
    pages = dict(zip(codes, written, strict=True))
    index = write_index(folder, facts, names)
    timings["pages_s"] = time.perf_counter() - started - timings["read_s"]
    result = {"countries": len(pages), "index": str(index), "pdfs": 0, "pdf_problem": None}
    if pdf:
        from diaspora.printing import ChromiumMissing, print_pdfs

        try:
            shown.start(f"printing {len(pages)} PDFs")
            printed = print_pdfs([Path(p["html"]) for p in pages.values()])
            shown.done()
            for paths in pages.values():
                paths["pdf"] = str(Path(paths["html"]).with_suffix(".pdf"))
            result["pdfs"] = len(printed)
        except ChromiumMissing as missing:
            log.warning("%s", missing)
            result["pdf_problem"] = str(missing)
    shown.finish()
    result["seconds"] = round(time.perf_counter() - started, 2)
    timings["pdf_s"] = result["seconds"] - timings["read_s"] - timings["pages_s"]
    result |= {name: round(value, 2) for name, value in timings.items()}
    log.info(
        "Factsheets: %s countries, %s PDFs, index %s, in %.1f s",
        result["countries"],
        result["pdfs"],
        index,
        result["seconds"],
    )
    return result


def write_index(folder: Path, facts: list[dict], names: dict[str, str]) -> Path:
    """``index.html``: every factsheet with its headline figures and links to the page and its PDF."""
    import jinja2

    rows = sorted(
        (
            {
                "code": f["country_code"],
                "name": f["country_name"] or names.get(f["country_code"], f["country_code"]),
                "emigrants": f["figures"]["emigrants"],
                "remittances": f["figures"]["remittances_received_usd"],
            }
            for f in facts
        ),
        key=lambda row: row["name"],
    )
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = environment.from_string(INDEX_TEMPLATE.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "index.html"
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    path.write_text(template.render(rows=rows, fmt=Formats, generated_at=generated))
    return path


def render_all(settings: Settings) -> dict:
    """The factsheets of ``DIASPORA_FACTSHEET_COUNTRIES`` (``all``: every country with data)."""
    return render_countries(settings, settings.factsheet_country_codes or None)
