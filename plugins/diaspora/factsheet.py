"""The diaspora factsheet: one static HTML page per country, with the same figures as JSON and CSV.

Every figure is read from the ``reporting`` views and carries its source, release and reference
year; missing figures say "not available", never 0. Charts are matplotlib SVG embedded in the
page (no network, no CDN), and the page prints on A4.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from diaspora.reporting import NOT_AVAILABLE, count, one_decimal, usd_millions
from diaspora.settings import PROJECT_ROOT, Settings
from diaspora.warehouse.engine import fetch_dicts, get_engine

TEMPLATE = PROJECT_ROOT / "plugins" / "diaspora" / "templates" / "factsheet.html.j2"
WDI = "World Bank, World Development Indicators"
IMS = "UN DESA, International Migrant Stock"
UNHCR = "UNHCR, Refugee Population Statistics"


@dataclass
class Figure:
    value: float | None
    unit: str
    year: int | None
    source: str
    release: str | None

    @property
    def source_line(self) -> str:
        if self.value is None:
            return f"{self.source}: not available."
        return f"Source: {self.source}, release {self.release}, reference year {self.year}."


class Formats:
    """Numbers for people, as in the text report: thousands separators, one decimal for percentages."""

    count = staticmethod(count)

    @staticmethod
    def pct(value: float | None) -> str:
        return NOT_AVAILABLE if value is None else f"{one_decimal(value)}%"

    @staticmethod
    def usd(value: float | None) -> str:
        return NOT_AVAILABLE if value is None else f"USD {usd_millions(value)} million"


def _one(conn: sa.Connection, sql: str, **params) -> dict | None:
    row = conn.execute(sa.text(sql), params).first()
    return dict(row._mapping) if row else None


def _has_view(conn: sa.Connection, view: str) -> bool:
    return bool(
        _one(
            conn,
            "SELECT 1 AS x FROM information_schema.tables WHERE table_schema = 'reporting'"
            " AND table_name = :v",
            v=view,
        )
    )


def collect(conn: sa.Connection, country: str, group: str) -> dict:
    """Every figure of the factsheet of ``country`` (ISO3), from the reporting views."""
    name = _one(conn, "SELECT name FROM dw.dim_country WHERE country_code = :c", c=country)
    group_row = _one(conn, "SELECT name FROM dw.dim_country_group WHERE group_code = :g", g=group)
    remit = (
        _one(
            conn,
            "SELECT year, remittances_received_usd AS usd, remittances_received_pct_gdp AS pct,"
            " release_label FROM reporting.remittances WHERE country_code = :c"
            " AND remittances_received_usd IS NOT NULL ORDER BY year DESC LIMIT 1",
            c=country,
        )
        or {}
    )
    trend = fetch_dicts(
        conn,
        "SELECT year, remittances_received_usd AS usd FROM reporting.remittances"
        " WHERE country_code = :c AND year >= 2000 AND remittances_received_usd IS NOT NULL"
        " ORDER BY year",
        c=country,
    )
    profile = (
        _one(
            conn,
            "SELECT * FROM reporting.diaspora_profile WHERE country_code = :c"
            " AND emigrants IS NOT NULL ORDER BY year DESC LIMIT 1",
            c=country,
        )
        or {}
    )
    year = profile.get("year")
    in_group = {
        r["sex"]: r
        for r in fetch_dicts(
            conn,
            "SELECT sex, migrants, share_of_origin_total_pct AS pct, release_label"
            " FROM reporting.emigrants_in_group"
            " WHERE origin_code = :c AND group_code = :g AND year = :y",
            c=country,
            g=group,
            y=year or -1,
        )
    }
    top = fetch_dicts(
        conn,
        "SELECT destination_code AS code, destination_name AS name, migrants"
        " FROM reporting.emigrants_by_destination WHERE origin_code = :c AND year = :y AND sex = 'both'"
        " AND destination_rank <= 5 AND migrants IS NOT NULL ORDER BY destination_rank, destination_name",
        c=country,
        y=year or -1,
    )
    series = fetch_dicts(
        conn,
        "SELECT year, emigrants, female_emigrants, male_emigrants FROM reporting.diaspora_profile"
        " WHERE country_code = :c ORDER BY year",
        c=country,
    )
    refugees = {}
    if _has_view(conn, "refugees"):  # the UNHCR source adds this view
        refugees = (
            _one(
                conn,
                "SELECT * FROM reporting.refugees WHERE country_code = :c ORDER BY year DESC LIMIT 1",
                c=country,
            )
            or {}
        )
    stock_release = profile.get("stock_release")
    both, female = in_group.get("both", {}), in_group.get("female", {})
    group_female_pct = (
        100 * female["migrants"] / both["migrants"]
        if both.get("migrants") and female.get("migrants") is not None
        else None
    )
    group_male = in_group.get("male", {})
    group_male_pct = (
        100 * group_male["migrants"] / both["migrants"]
        if both.get("migrants") and group_male.get("migrants") is not None
        else None
    )

    def stock(value, unit="persons"):
        return Figure(value, unit, year, IMS, stock_release)

    figures = {
        "remittances_received_usd": Figure(
            remit.get("usd"), "current US$", remit.get("year"), WDI, remit.get("release_label")
        ),
        "remittances_received_pct_gdp": Figure(
            remit.get("pct"), "% of GDP", remit.get("year"), WDI, remit.get("release_label")
        ),
        "emigrants": stock(profile.get("emigrants")),
        "emigrants_pct_of_population": Figure(
            profile.get("emigrants_pct_of_population"),
            "% of population",
            profile.get("population_year"),
            f"{IMS}; population: {WDI}",
            f"{stock_release}; {profile.get('population_release')}",
        ),
        "female_pct": stock(profile.get("female_pct"), "%"),
        "male_pct": stock(profile.get("male_pct"), "%"),
        "group_emigrants": stock(both.get("migrants")),
        "group_pct_of_emigrants": stock(both.get("pct"), "%"),
        "group_female_pct": stock(group_female_pct, "%"),
        "group_male_pct": stock(group_male_pct, "%"),
        "refugees_from": Figure(
            refugees.get("refugees_from"),
            "persons",
            refugees.get("year"),
            UNHCR,
            refugees.get("release_label"),
        ),
        "asylum_seekers_from": Figure(
            refugees.get("asylum_seekers_from"),
            "persons",
            refugees.get("year"),
            UNHCR,
            refugees.get("release_label"),
        ),
        "refugees_hosted": Figure(
            refugees.get("refugees_hosted"),
            "persons",
            refugees.get("year"),
            UNHCR,
            refugees.get("release_label"),
        ),
        "stateless_hosted": Figure(
            refugees.get("stateless_hosted"),
            "persons",
            refugees.get("year"),
            UNHCR,
            refugees.get("release_label"),
        ),
    }
    engagement = fetch_dicts(
        conn,
        "SELECT item_type, name, category, detail, host_country_name, status, valid_from, valid_to, source"
        " FROM reporting.diaspora_engagement WHERE country_code = :c"
        " ORDER BY item_type, valid_from NULLS LAST, name",
        c=country,
    )
    rights = _one(conn, "SELECT * FROM reporting.political_rights WHERE country_code = :c", c=country)
    quality = fetch_dicts(conn, "SELECT source, last_success_at FROM reporting.data_quality ORDER BY source")
    return {
        "country_code": country,
        "country_name": name["name"] if name else country,
        "group_code": group,
        "group_name": group_row["name"] if group_row else group,
        "figures": figures,
        "remittances_trend": trend,
        "top_destinations": top,
        "emigrant_stock": series,
        "institutions": [e for e in engagement if e["item_type"] == "institution"],
        "organisations": [e for e in engagement if e["item_type"] == "organisation"],
        "policies": [e for e in engagement if e["item_type"] == "policy"],
        "political_rights": rights,
        "data_quality": [
            {
                "source": q["source"],
                "last_success": q["last_success_at"].strftime("%Y-%m-%d %H:%M UTC")
                if q["last_success_at"]
                else None,
            }
            for q in quality
        ],
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "licences": "World Bank WDI (CC BY 4.0); UN DESA International Migrant Stock (CC BY 3.0 IGO); "
        "UNHCR (CC BY 4.0)",
    }


# --- charts ---------------------------------------------------------------------------------------


def _svg(draw) -> str:  # noqa: ANN001 - a function drawing on an Axes
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: crisp and searchable
    fig, ax = plt.subplots(figsize=(7.0, 2.6), dpi=100)
    try:
        draw(ax)
        thousands = matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:,.0f}")
        ax.xaxis.set_major_formatter(thousands)  # thousands separators on the axes too
        ax.yaxis.set_major_formatter(thousands)
        ax.spines[["top", "right"]].set_visible(False)
        fig.tight_layout()
        out = io.StringIO()
        fig.savefig(out, format="svg")
    finally:
        plt.close(fig)
    svg = out.getvalue()
    return svg[svg.index("<svg") :]


def _no_data(ax, what: str) -> None:  # noqa: ANN001
    ax.text(0.5, 0.5, f"{what}: not available", ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def charts(facts: dict) -> dict[str, str]:
    def trend(ax):
        rows = facts["remittances_trend"]
        if not rows:
            return _no_data(ax, "Remittances")
        ax.plot([r["year"] for r in rows], [r["usd"] / 1e6 for r in rows], marker="o", color="#1f6fb2")
        ax.set_ylabel("USD million")

    def top(ax):
        rows = facts["top_destinations"]
        if not rows:
            return _no_data(ax, "Destinations")
        ax.barh([r["name"] for r in rows][::-1], [r["migrants"] for r in rows][::-1], color="#2c8c6a")
        ax.set_xlabel("emigrants")

    def stock(ax):
        rows = [r for r in facts["emigrant_stock"] if r["emigrants"] is not None]
        if not rows:
            return _no_data(ax, "Emigrant stock")
        years = [r["year"] for r in rows]
        ax.plot(years, [r["female_emigrants"] for r in rows], marker="o", label="women", color="#b2451f")
        ax.plot(years, [r["male_emigrants"] for r in rows], marker="o", label="men", color="#1f6fb2")
        ax.set_ylabel("emigrants")
        ax.legend(frameon=False)

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


def render_all(settings: Settings) -> dict[str, dict[str, str]]:
    """Factsheets of every configured country under ``<data_dir>/factsheets/<ISO3>/``."""
    written = {}
    with get_engine(settings.warehouse_url).connect() as conn:
        for country in settings.factsheet_country_codes:
            facts = collect(conn, country, settings.factsheet_group)
            written[country] = write_factsheet(facts, settings.data_dir / "factsheets" / country)
    return written
