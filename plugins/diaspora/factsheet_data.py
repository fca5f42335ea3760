"""What the factsheets show, read from the ``reporting`` views only: one query per view for every
country at once (reading 235 countries one query at a time took 5–15 s on DuckDB), and, for a
factsheet pinned to releases, the same queries over the views computed as of those releases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from diaspora.warehouse.engine import fetch_dicts

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


def _one(conn: sa.Connection, sql: str, **params) -> dict | None:
    row = conn.execute(sa.text(sql), params).first()
    return dict(row._mapping) if row else None


def _read_as_of(sql: str, relations: dict[str, str] | None) -> str:
    """``sql`` reading, for each reporting view in ``relations``, that relation instead (the view's
    figures as pinned releases published them)."""
    from diaspora.warehouse.mart import replace_relation

    for view, select in (relations or {}).items():
        sql = replace_relation(sql, view, select)
    return sql


def countries_with_data(conn: sa.Connection, relations: dict[str, str] | None = None) -> list[dict]:
    """Every country or territory with an emigrant stock, a remittance or a refugee figure."""
    return fetch_dicts(
        conn,
        _read_as_of(
            "SELECT a.country_code, a.name FROM reporting.areas AS a"
            " WHERE a.area_type IN ('country', 'territory') AND ("
            "  EXISTS (SELECT 1 FROM reporting.diaspora_profile AS p"
            "          WHERE p.country_code = a.country_code AND p.emigrants IS NOT NULL)"
            "  OR EXISTS (SELECT 1 FROM reporting.remittances AS r"
            "             WHERE r.country_code = a.country_code AND r.remittances_received_usd IS NOT NULL)"
            "  OR EXISTS (SELECT 1 FROM reporting.refugees AS f WHERE f.country_code = a.country_code))"
            " ORDER BY a.name",
            relations,
        ),
    )


def _for_countries(conn: sa.Connection, sql: str, countries: list[str], **params) -> dict[str, list[dict]]:
    """Rows of ``sql`` (filtered by ``country_code IN :codes``) grouped by their country_code."""
    statement = sa.text(sql).bindparams(sa.bindparam("codes", expanding=True))
    grouped: dict[str, list[dict]] = {code: [] for code in countries}
    for row in conn.execute(statement, {"codes": countries, **params}):
        record = dict(row._mapping)
        grouped[record.pop("country_code")].append(record)
    return grouped


def _share(part: float | None, whole: float | None) -> float | None:
    return 100 * part / whole if whole and part is not None else None


def _latest(rows: list[dict], key: str) -> dict:
    """The row with the latest year among those where ``key`` is known."""
    known = [r for r in rows if r[key] is not None]
    return max(known, key=lambda r: r["year"]) if known else {}


# The five corridors that send the most under the published method, in the latest year with
# estimates, with what the stock-only method estimates for the same corridors.
_REMITTANCE_SOURCES = (
    "WITH latest AS (SELECT origin_code, max(year) AS year FROM reporting.remittance_corridors"
    "  WHERE origin_code IN :codes GROUP BY origin_code),"
    " top AS (SELECT c.origin_code, c.year, c.destination_code, c.corridor_rank"
    "  FROM reporting.remittance_corridors AS c JOIN latest AS l ON l.origin_code = c.origin_code"
    "  AND l.year = c.year WHERE c.method = 'published_method' AND c.corridor_rank <= 5)"
    " SELECT c.origin_code AS country_code, c.year, c.method, c.destination_code AS code,"
    " c.destination_name AS name, c.estimated_usd AS usd, c.share_of_inflow_pct AS pct,"
    " t.corridor_rank, c.origin_inflow_usd, c.stock_basis, c.inflow_release, c.stock_release"
    " FROM reporting.remittance_corridors AS c JOIN top AS t ON t.origin_code = c.origin_code"
    "  AND t.year = c.year AND t.destination_code = c.destination_code"
    " ORDER BY t.corridor_rank, c.destination_name"
)
# The latest published edition's estimates for the country (the World Bank/KNOMAD matrix).
_PUBLISHED_SOURCES = (
    "WITH latest AS (SELECT origin_code, max(year) AS year FROM reporting.published_remittance_comparison"
    "  WHERE origin_code IN :codes GROUP BY origin_code)"
    " SELECT p.origin_code AS country_code, p.year, p.destination_code AS code, p.destination_name AS name,"
    " p.published_usd AS usd, p.published_share_pct AS pct, p.published_status, p.published_release"
    " FROM reporting.published_remittance_comparison AS p JOIN latest AS l ON l.origin_code = p.origin_code"
    "  AND l.year = p.year WHERE p.method = 'published_method'"
)
_EXCLUDED_SOURCES = (
    "SELECT origin_code AS country_code, destination_code AS code, destination_name AS name, why"
    " FROM reporting.remittance_corridor_exclusions WHERE origin_code IN :codes ORDER BY destination_name"
)
KNOMAD = "World Bank/KNOMAD Bilateral Remittance Matrix"


def remittance_sources(rows: list[dict], published: list[dict], excluded: list[dict]) -> dict:
    """Where a country's remittances come from: the top five sending places of the latest year as
    MODEL ESTIMATES under each method, beside the latest edition of the PUBLISHED matrix for the
    same places, and the corridors the model does not estimate (the publisher's exclusions)."""
    by_place = {row["code"]: row for row in published}
    edition = published[0] if published else {}
    out = {
        "published_year": edition.get("year"),
        "published_release": edition.get("published_release"),
        "published_source_line": f"Published: {KNOMAD}, {edition['published_release']}" if edition else None,
        "excluded": [
            {
                "code": x["code"],
                "name": x["name"],
                "why": x["why"],
                "published_status": by_place.get(x["code"], {}).get("published_status"),
            }
            for x in excluded
        ],
    }
    if not rows:
        return out | {"year": None, "rows": [], "inflow_usd": None, "stock_basis": None, "source_line": None}
    places: dict[str, dict] = {}
    for row in rows:
        place = places.setdefault(
            row["code"], {"code": row["code"], "name": row["name"], "rank": row["corridor_rank"]}
        )
        place[row["method"]] = row["usd"]
        place[f"{row['method']}_pct"] = row["pct"]
    for code, place in places.items():
        cell = by_place.get(code, {})
        place["published"] = cell.get("usd")
        place["published_pct"] = cell.get("pct")
    first = rows[0]
    return out | {
        "year": first["year"],
        "rows": sorted(places.values(), key=lambda place: (place["rank"], place["name"])),
        "inflow_usd": first["origin_inflow_usd"],
        "stock_basis": first["stock_basis"],
        "source_line": f"Inflow: {WDI}, release {first['inflow_release']}; migrant stock: {IMS}, "
        f"{first['stock_release']}",
    }


class ReportingReads:
    """What the factsheets of ``countries`` show, read with one query per reporting view (reading
    235 countries one query at a time took 5–15 s on DuckDB)."""

    def __init__(
        self,
        conn: sa.Connection,
        countries: list[str],
        group: str,
        relations: dict[str, str] | None = None,
        pinned: list[str] | None = None,
    ) -> None:
        """``relations`` and ``pinned``: read the views as pinned releases published them
        (:func:`diaspora.warehouse.mart.as_of_relations`), and name those releases on the page."""
        self.group = group
        self.pinned = pinned or []
        self._relations = relations
        self.names = self._rows(
            conn, "SELECT country_code, name FROM reporting.areas WHERE country_code IN :codes", countries
        )
        group_row = _one(
            conn,
            "SELECT max(group_name) AS name FROM reporting.country_groups WHERE group_code = :g",
            g=group,
        )
        self.group_name = group_row["name"] if group_row and group_row["name"] else group
        self.remittances = self._rows(
            conn,
            "SELECT country_code, year, remittances_received_usd AS usd, remittances_received_pct_gdp AS pct,"
            " release_label FROM reporting.remittances"
            " WHERE country_code IN :codes AND remittances_received_usd IS NOT NULL ORDER BY year",
            countries,
        )
        self.profiles = self._rows(
            conn,
            "SELECT * FROM reporting.diaspora_profile WHERE country_code IN :codes ORDER BY year",
            countries,
        )
        self.in_group = self._rows(
            conn,
            "SELECT origin_code AS country_code, year, sex, migrants, share_of_origin_total_pct AS pct,"
            " release_label FROM reporting.emigrants_in_group"
            " WHERE origin_code IN :codes AND group_code = :g",
            countries,
            g=group,
        )
        self.top = self._rows(
            conn,
            "SELECT origin_code AS country_code, year, destination_code AS code, destination_name AS name,"
            " migrants FROM reporting.emigrants_by_destination WHERE origin_code IN :codes AND sex = 'both'"
            " AND destination_rank <= 5 AND migrants IS NOT NULL ORDER BY destination_rank, destination_name",
            countries,
        )
        self.refugees = self._rows(
            conn, "SELECT * FROM reporting.refugees WHERE country_code IN :codes", countries
        )
        self.sources = self._rows(conn, _REMITTANCE_SOURCES, countries)
        self.published = self._rows(conn, _PUBLISHED_SOURCES, countries)
        self.excluded = self._rows(conn, _EXCLUDED_SOURCES, countries)
        self.engagement = self._rows(
            conn,
            "SELECT country_code, item_type, name, category, detail, host_country_name, status, valid_from,"
            " valid_to, source FROM reporting.diaspora_engagement WHERE country_code IN :codes"
            " ORDER BY item_type, valid_from NULLS LAST, name",
            countries,
        )
        self.rights = self._rows(
            conn, "SELECT * FROM reporting.political_rights WHERE country_code IN :codes", countries
        )
        self.quality = fetch_dicts(
            conn, "SELECT source, last_success_at FROM reporting.data_quality ORDER BY source"
        )

    def _rows(self, conn: sa.Connection, sql: str, countries: list[str], **params) -> dict[str, list[dict]]:
        return _for_countries(conn, _read_as_of(sql, self._relations), countries, **params)

    def facts(self, country: str) -> dict:
        """Every figure of the factsheet of ``country``."""
        remit = _latest(self.remittances[country], "usd")
        trend = [{"year": r["year"], "usd": r["usd"]} for r in self.remittances[country] if r["year"] >= 2000]
        series = self.profiles[country]
        profile = _latest(series, "emigrants")
        year = profile.get("year")
        in_group = {r["sex"]: r for r in self.in_group[country] if r["year"] == year}
        refugees = _latest(self.refugees[country], "year")
        stock_release = profile.get("stock_release")
        both = in_group.get("both", {})

        def stock(value, unit="persons"):
            return Figure(value, unit, year, IMS, stock_release)

        def unhcr(key: str) -> Figure:
            release = refugees.get("release_label")
            return Figure(refugees.get(key), "persons", refugees.get("year"), UNHCR, release)

        def group_share(sex: str) -> Figure:
            return stock(_share(in_group.get(sex, {}).get("migrants"), both.get("migrants")), "%")

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
            "group_female_pct": group_share("female"),
            "group_male_pct": group_share("male"),
            "refugees_from": unhcr("refugees_from"),
            "asylum_seekers_from": unhcr("asylum_seekers_from"),
            "refugees_hosted": unhcr("refugees_hosted"),
            "stateless_hosted": unhcr("stateless_hosted"),
        }
        engagement = self.engagement[country]
        names = self.names[country]
        rights = self.rights[country]
        return {
            "country_code": country,
            "country_name": names[0]["name"] if names else country,
            "group_code": self.group,
            "group_name": self.group_name,
            "figures": figures,
            "remittances_trend": trend,
            "remittance_sources": remittance_sources(
                self.sources[country], self.published[country], self.excluded[country]
            ),
            "top_destinations": [
                {k: r[k] for k in ("code", "name", "migrants")}
                for r in self.top[country]
                if r["year"] == year
            ],
            "emigrant_stock": [
                {k: r[k] for k in ("year", "emigrants", "female_emigrants", "male_emigrants")} for r in series
            ],
            "institutions": [e for e in engagement if e["item_type"] == "institution"],
            "organisations": [e for e in engagement if e["item_type"] == "organisation"],
            "policies": [e for e in engagement if e["item_type"] == "policy"],
            "political_rights": rights[0] if rights else None,
            "data_quality": [
                {
                    "source": q["source"],
                    "last_success": q["last_success_at"].strftime("%Y-%m-%d %H:%M UTC")
                    if q["last_success_at"]
                    else None,
                }
                for q in self.quality
            ],
            "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "pinned_releases": self.pinned,
            "licences": "World Bank WDI (CC BY 4.0); UN DESA International Migrant Stock (CC BY 3.0 IGO); "
            "UNHCR (CC BY 4.0); World Bank/KNOMAD Bilateral Remittance Matrices (CC BY 4.0)",
        }


def collect_many(
    conn: sa.Connection, countries: list[str], group: str, as_of: AsOf | None = None
) -> list[dict]:
    """The factsheet figures of each of ``countries``, from the ``reporting`` views only (as the
    releases pinned in ``as_of`` published them, when given)."""
    relations, pinned = (as_of.relations, as_of.names) if as_of else (None, None)
    reads = ReportingReads(conn, countries, group, relations, pinned)
    return [reads.facts(country) for country in countries]


@dataclass(frozen=True)
class AsOf:
    """Factsheets pinned to releases: the relations to read and the releases to name."""

    relations: dict[str, str]
    names: list[str]
    folder_name: str


def pin_releases(conn: sa.Connection, pins: dict[str, str]) -> AsOf:
    """``pins``: source key → release (id or label), e.g. {"unhcr_refugees": "UNHCR population 2024"}."""
    from diaspora.sources import get_source
    from diaspora.warehouse.mart import pinned_relations
    from diaspora.warehouse.releases import find_release

    pinned, names, parts = {}, [], []
    for source, reference in sorted(pins.items()):
        release = find_release(conn, source, reference)
        pinned[get_source(source).fact_table] = release.release_id
        names.append(f"{source}: {release.name}")
        parts.append(f"{source}-{release.release_id}")
    return AsOf(pinned_relations(conn, pinned), names, "as-published/" + "_".join(parts))


def collect(conn: sa.Connection, country: str, group: str) -> dict:
    """Every figure of the factsheet of ``country`` (ISO3), from the ``reporting`` views only."""
    return collect_many(conn, [country], group)[0]


# --- charts ---------------------------------------------------------------------------------------
