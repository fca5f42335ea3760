"""Land the UN DESA International Migrant Stock workbook unchanged."""

from __future__ import annotations

import re
from datetime import date

import requests

from diaspora.landing import Landing
from diaspora.settings import Settings
from diaspora.sources.workbook import edition_label, land_workbook


def extract(settings: Settings, session: requests.Session, landing: Landing) -> str | None:
    """Land the workbook (anything that is not an xlsx is refused with the reason); return the
    edition its title rows name."""
    from diaspora.sources.undesa_migrant_stock.parse import edition_of

    path = land_workbook(
        settings,
        session,
        landing,
        settings.undesa_ims_url,
        "the UN DESA International Migrant Stock workbook",
        "DIASPORA_UNDESA_IMS_URL",
        "migrant_stock.xlsx",
    )
    return edition_label(path, settings, edition_of)


def release_url(settings: Settings) -> str:
    return settings.undesa_ims_url


def release_date(label: str | None) -> date | None:
    match = re.search(r"(19|20)\d{2}", label or "")
    return date(int(match.group(0)), 1, 1) if match else None
