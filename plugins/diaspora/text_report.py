"""Short text reports read from the ``reporting`` views: what ``diaspora report`` and ``make demo`` print."""

from __future__ import annotations

from diaspora.settings import Settings
from diaspora.warehouse.engine import fetch_dicts, get_engine
from diaspora.warehouse.published import reading_url

NOT_AVAILABLE = "not available"


def _rows(settings: Settings, sql: str, **params: object) -> list[dict]:
    with get_engine(reading_url(settings)).connect() as conn:
        return fetch_dicts(conn, sql, **params)


def latest_remittances(settings: Settings, years: int = 3) -> list[dict]:
    """The ``years`` latest years of ``reporting.remittances`` per country (aggregates excluded)."""
    query = (
        "SELECT country_code, country_name, year, remittances_received_usd,"
        " remittances_received_pct_gdp, gdp_usd, release_label, source_dataset, licence"
        " FROM (SELECT r.*, row_number() OVER (PARTITION BY country_code ORDER BY year DESC) AS n"
        "       FROM reporting.remittances AS r"
        "       WHERE NOT is_aggregate AND remittances_received_usd IS NOT NULL) AS ranked"
        " WHERE n <= :years ORDER BY country_name, year"
    )
    return _rows(settings, query, years=years)


def usd_millions(value: float | None) -> str:
    """US$ as millions with thousands separators and one decimal ("4,633.8")."""
    return NOT_AVAILABLE if value is None else f"{value / 1e6:,.1f}"


def one_decimal(value: float | None) -> str:
    """Percentages and shares: one decimal ("38.4")."""
    return NOT_AVAILABLE if value is None else f"{value:.1f}"


def format_remittances(rows: list[dict]) -> str:
    if not rows:
        return "reporting.remittances is empty: run a source DAG first (make demo or make run)."
    header = f"{'Country':<18} {'Year':>4} {'Received, USD m':>16} {'% of GDP':>14} {'GDP, USD m':>14}"
    lines = ["Personal remittances received (reporting.remittances)", header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row['country_name'][:18]:<18} {row['year']:>4} "
            f"{usd_millions(row['remittances_received_usd']):>16} "
            f"{one_decimal(row['remittances_received_pct_gdp']):>14} "
            f"{usd_millions(row['gdp_usd']):>14}"
        )
    sources = sorted({(r["source_dataset"], r["release_label"], r["licence"]) for r in rows})
    lines.append("")
    lines += [
        f"Source: {dataset}, release {release}; licence {licence}." for dataset, release, licence in sources
    ]
    return "\n".join(lines)


def latest_profiles(settings: Settings) -> list[dict]:
    """The latest year of ``reporting.diaspora_profile`` per country."""
    query = (
        "SELECT * FROM (SELECT p.*, row_number() OVER (PARTITION BY country_code ORDER BY year DESC) AS n"
        "               FROM reporting.diaspora_profile AS p WHERE emigrants IS NOT NULL) AS latest"
        " WHERE n = 1 ORDER BY country_name"
    )
    return _rows(settings, query)


def count(value: float | None) -> str:
    """Counts with thousands separators ("514,478")."""
    return NOT_AVAILABLE if value is None else f"{value:,.0f}"


def format_profiles(rows: list[dict]) -> str:
    if not rows:
        return "reporting.diaspora_profile is empty: run the undesa_migrant_stock DAG."
    lines = ["Diaspora profiles (reporting.diaspora_profile, latest year)"]
    for row in rows:
        population = (
            f"{one_decimal(row['emigrants_pct_of_population'])}% of the population"
            f" of {row['population_year']}"
            if row["population"] is not None
            else f"population {NOT_AVAILABLE}"
        )
        received = usd_millions(row["remittances_received_usd"])
        remittances = (
            f"remittances received in {row['remittances_year']}: USD {received} m, "
            f"{one_decimal(row['remittances_received_pct_gdp'])}% of GDP [{row['remittances_release']}]"
            if row["remittances_year"] is not None
            else f"remittances {NOT_AVAILABLE}"
        )
        lines += [
            f"{row['country_name']}, {row['year']}: {count(row['emigrants'])} emigrants ({population}); "
            f"female {one_decimal(row['female_pct'])}%, male {one_decimal(row['male_pct'])}% "
            f"[{row['stock_release']}]",
            f"  top destinations: {row['top_destinations'] or NOT_AVAILABLE}",
            f"  in the EEA: {count(row['eea_emigrants'])} "
            f"({one_decimal(row['eea_pct_of_emigrants'])}% of emigrants; "
            f"female {one_decimal(row['eea_female_pct'])}%)",
            f"  {remittances}",
        ]
    return "\n".join(lines)


def survey_estimates(settings: Settings) -> list[dict]:
    """Two headline estimates per survey: households with a member abroad, mean remittances."""
    query = (
        "SELECT e.survey_id, e.survey_title AS title, e.survey_data_note AS data_note, e.question_code,"
        " e.category_code, e.estimate_type, e.estimate, e.standard_error, e.unweighted_n"
        " FROM reporting.survey_estimates AS e WHERE e.breakdown_question IS NULL"
        " AND ((e.question_code = 'member_abroad' AND e.category_code = '1')"
        "      OR e.question_code = 'remittances_usd')"
        " ORDER BY e.survey_id, e.question_code"
    )
    return _rows(settings, query)


def format_survey_estimates(rows: list[dict]) -> str:
    if not rows:
        return "reporting.survey_estimates is empty: drop survey files in the inbox and run survey_files."
    lines = ["Survey estimates (reporting.survey_estimates, weighted; ± standard error, Kish)"]
    for row in rows:
        if row["estimate_type"] == "share_pct":
            text = (
                f"households with a member working abroad: {row['estimate']:.1f}%"
                f" ± {row['standard_error']:.1f}"
            )
        else:
            text = (
                f"mean remittances received in the last 12 months: USD {row['estimate']:,.0f}"
                f" ± {row['standard_error']:,.0f}"
            )
        lines.append(f"{row['title']}: {text} (n = {row['unweighted_n']:,}) — {row['data_note']}")
    return "\n".join(lines)
