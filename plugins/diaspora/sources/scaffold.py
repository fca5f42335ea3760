"""``diaspora new-source NAME``: a new source folder with a small working source in it.

The folder it writes is a complete source: an indicator table (country, indicator, year, value)
fetched as CSV from ``DIASPORA_<NAME>_URL`` (by default its bundled SYNTHETIC sample), landed,
parsed into ``dw.dim_indicator`` and ``dw.fact_indicator_value``, checked by its own suite, with a
DAG and an Asset from the registry. It passes the contract test as written; its author then
replaces the fetch, the parse and the suite with the real source's. It never overwrites a file.
"""

from __future__ import annotations

import json
import keyword
import re
from pathlib import Path
from string import Template

from diaspora.errors import DiasporaError
from diaspora.settings import PROJECT_ROOT
from diaspora.sources.contract import SOURCES_DIR

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")

INIT = Template('''"""$title: indicator values per country and year (a new source; describe it here).

What: which figures, for which countries and years. From whom: the publisher, the dataset and
its licence. How often: the publisher's release cycle and this DAG's schedule. The bundled sample
(``sample/values.csv``) is SYNTHETIC: replace it with a small real extract, labelled as such.
"""

from diaspora.sources.contract import Source

SOURCE = Source(
    key="$key",
    publisher="$title publisher (replace)",
    dataset="$title dataset (replace)",
    licence="state the licence",
    citation="How to cite the dataset (replace).",
    schedule="@monthly",
    fact_table="dw.fact_indicator_value",
    value_column="value",
    dimension_tables=("dw.dim_indicator",),
    tags=("$key",),
    cadence_days=365,
    sample="plugins/diaspora/sources/$key/sample/values.csv",
    sample_setting="${key}_url",
    description=__doc__ or "",
)
''')

EXTRACT = Template('''"""Land the CSV of $key unchanged: one file per release."""

from __future__ import annotations

from datetime import date
from pathlib import PurePosixPath
from urllib.parse import urlsplit

import requests

from diaspora.errors import SourceError
from diaspora.http_client import fetch
from diaspora.landing import Landing
from diaspora.settings import Settings
from diaspora.sources import get_source


def extract(settings: Settings, session: requests.Session, landing: Landing) -> str | None:
    """Fetch the CSV and land it; its release label is the date in its first line's ``release``
    field (``# release: 2026-01-31``), when it has one."""
    url = release_url(settings)
    fetched = fetch(session, url, settings)
    if not fetched.content.strip():
        raise SourceError(f"{fetched.url}: the file is empty. Nothing was loaded; check the URL.")
    name = PurePosixPath(urlsplit(url).path).name or "values.csv"
    landing.store(name, fetched.url, fetched.content, fetched.fetched_at)
    first = fetched.content.split(b"\\n", 1)[0].decode("utf-8", "replace")
    return first.split("release:", 1)[1].strip() if first.startswith("#") and "release:" in first else None


def release_url(settings: Settings) -> str:
    return get_source("$key").setting(settings, "${key}_url")


def release_date(label: str | None) -> date | None:
    try:
        return date.fromisoformat(label) if label else None
    except ValueError:
        return None
''')

PARSE = Template('''"""Parse the landed CSV of $key into dim_indicator and fact_indicator_value rows."""

from __future__ import annotations

import pandas as pd

from diaspora.errors import ParseError
from diaspora.landing import Manifest
from diaspora.settings import Settings
from diaspora.sources import get_source
from diaspora.sources.base import ParsedDataset

COLUMNS = ["country_code", "indicator_code", "indicator_name", "unit", "year", "value"]


def parse(manifest: Manifest, settings: Settings) -> ParsedDataset:
    """One fact row per CSV row; an empty value is NULL (not available), never 0."""
    (landed,) = manifest.files
    path = manifest.path_of(landed.name)
    frame = pd.read_csv(path, comment="#", dtype={"country_code": str, "indicator_code": str})
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ParseError(f"{path}: column(s) {missing} missing; expected {COLUMNS}")
    years = pd.to_numeric(frame["year"], errors="coerce")
    if years.isna().any():
        rows = list(frame.index[years.isna()] + 2)[:10]
        raise ParseError(f"{path}: column year holds a non-year on row(s) {rows}")
    fact = pd.DataFrame(
        {
            "country_code": frame["country_code"].str.strip().str.upper(),
            "indicator_code": frame["indicator_code"].str.strip(),
            "year": years.astype("int64"),
            "value": pd.to_numeric(frame["value"], errors="coerce").astype("float64"),
            "obs_status": None,
        }
    )
    indicators = frame.drop_duplicates("indicator_code")
    dimension = pd.DataFrame(
        {
            "indicator_code": indicators["indicator_code"].str.strip(),
            "name": indicators["indicator_name"],
            "unit": indicators["unit"],
            "is_percentage": indicators["unit"].astype(str).str.contains("%"),
            "topic": "$key",
            "publisher": get_source("$key").publisher,
        }
    )
    return ParsedDataset(frames={"dw.dim_indicator": dimension, "dw.fact_indicator_value": fact})


def expectation_parameters(parsed: ParsedDataset, settings: Settings) -> dict:
    """The suite's run-time values: none beyond those every source gets (row counts, revisions)."""
    return {}
''')

SAMPLE = """# release: 2026-01-31
# SYNTHETIC sample values, not published figures: replace with a small real extract, labelled.
country_code,indicator_code,indicator_name,unit,year,value
TJK,EXAMPLE.INDICATOR,Example indicator,persons,2022,1000
TJK,EXAMPLE.INDICATOR,Example indicator,persons,2023,1100
KGZ,EXAMPLE.INDICATOR,Example indicator,persons,2022,800
KGZ,EXAMPLE.INDICATOR,Example indicator,persons,2023,
UZB,EXAMPLE.INDICATOR,Example indicator,persons,2022,1500
UZB,EXAMPLE.INDICATOR,Example indicator,persons,2023,1550
"""


def _expectation(kind: str, severity: str = "critical", **kwargs: object) -> dict:
    return {"type": kind, "kwargs": kwargs, "severity": severity, "meta": {}}


def suite(key: str) -> dict:
    """Critical: keys present and unique, a known country code, at least the rows of the last
    release less the tolerance; warning: values that moved too far against the previous release."""
    changed = {"$PARAMETER": "unchanged_share"}
    return {
        "name": key,
        "expectations": [
            *(
                _expectation("expect_column_values_to_not_be_null", column=c)
                for c in ("country_code", "indicator_code", "year")
            ),
            _expectation(
                "expect_compound_columns_to_be_unique", column_list=["country_code", "indicator_code", "year"]
            ),
            _expectation("expect_column_values_to_match_regex", column="country_code", regex="^[A-Z]{3}$"),
            _expectation("expect_table_row_count_to_be_between", min_value={"$PARAMETER": "min_rows"}),
            {
                **_expectation(
                    "expect_column_values_to_be_between",
                    "warning",
                    column="change_vs_previous",
                    min_value={"$PARAMETER": "min_change"},
                    max_value={"$PARAMETER": "max_change"},
                    mostly=changed,
                ),
                "meta": {"flag": "revised_vs_previous"},
            },
        ],
        "meta": {"source": key},
    }


def planned_files(key: str) -> dict[Path, str]:
    """Every file the source folder gets, with its content."""
    if not KEY_PATTERN.match(key) or keyword.iskeyword(key):
        raise DiasporaError(
            f"{key!r} is not a source key: use <publisher>_<dataset> in lower case, e.g. ilo_migrant_workers"
        )
    folder = SOURCES_DIR / key
    title = key.replace("_", " ").title()
    return {
        folder / "__init__.py": INIT.substitute(key=key, title=title),
        folder / "extract.py": EXTRACT.substitute(key=key),
        folder / "parse.py": PARSE.substitute(key=key),
        folder / "suite.json": json.dumps(suite(key), indent=2) + "\n",
        folder / "sample" / "values.csv": SAMPLE,
    }


def new_source(key: str, dry_run: bool = False) -> list[Path]:
    """Write the folder of source ``key`` (or, with ``dry_run``, only say which files); refuse if
    the folder exists."""
    files = planned_files(key)
    folder = SOURCES_DIR / key
    if folder.exists():
        raise DiasporaError(f"{folder.relative_to(PROJECT_ROOT)} exists: a source is never overwritten")
    if not dry_run:
        for path, content in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
    return list(files)
