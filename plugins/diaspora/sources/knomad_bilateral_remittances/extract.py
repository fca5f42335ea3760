"""Land the World Bank/KNOMAD bilateral remittance matrix workbook unchanged."""

from __future__ import annotations

import re
from datetime import date

import requests

from diaspora.landing import Landing
from diaspora.settings import Settings
from diaspora.sources.workbook import edition_label, land_workbook

_LABEL = re.compile(r"^KNOMAD (?P<year>\d{4})(?: \((?P<version>.*) version\))?$")
_MONTHS = {
    name: number
    for number, name in enumerate(
        (
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ),
        start=1,
    )
}
_MONTH_YEAR = re.compile(r"\b(" + "|".join(_MONTHS) + r")\s+((?:19|20)\d{2})\b", re.IGNORECASE)
_YEAR = re.compile(r"\b((?:19|20)\d{2})\b")


def extract(settings: Settings, session: requests.Session, landing: Landing) -> str | None:
    """Land the workbook (anything that is not an xlsx is refused, naming the URL and the setting);
    return the edition the title names (None when it names none: parse says why)."""
    from diaspora.sources.knomad_bilateral_remittances.parse import edition_of

    path = land_workbook(
        settings,
        session,
        landing,
        settings.knomad_matrix_url,
        "the World Bank/KNOMAD bilateral remittance matrix",
        "DIASPORA_KNOMAD_MATRIX_URL",
        "bilateral_remittance_matrix.xlsx",
    )
    return edition_label(path, settings, edition_of)


def release_url(settings: Settings) -> str:
    return settings.knomad_matrix_url


def release_date(label: str | None) -> date | None:
    """The edition's version month ('(April 2018 version)' → 2018-04-01), else the end of the year
    its estimates are for (a version only ever follows that year)."""
    match = _LABEL.match(label or "")
    if match is None:
        return None
    version = match.group("version") or ""
    month_year = _MONTH_YEAR.search(version)
    if month_year:
        return date(int(month_year.group(2)), _MONTHS[month_year.group(1).lower()], 1)
    year = _YEAR.search(version)
    if year:
        return date(int(year.group(1)), 1, 1)
    return date(int(match.group("year")), 12, 31)
