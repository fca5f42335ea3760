"""A source whose each release covers its own year (``Source.release_covers_own_years``): a new
year's edition is compared with the release before it only on the years it carries, so it loads as
added values, is not quarantined for "losing" the older year, and the older year stays current.

On DuckDB, with the bundled extract of the real World Bank/KNOMAD 2017 matrix and a SYNTHETIC 2018
copy of it (every figure × 1.1, the title saying 2018 and SYNTHETIC).
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from diaspora import pipeline
from diaspora.health import health_for
from diaspora.revisions import diff_releases, judge
from diaspora.sources import get_source
from diaspora.warehouse.facts import grain_of
from tests.support import sample_path
from tests.support.knomad import changed_copy
from tests.support.sql import rows

KEY = "knomad_bilateral_remittances"
SYNTHETIC_TITLE = (
    "Bilateral Remittance Estimates for 2018 using Migrant Stocks, Host Country Incomes, and Origin "
    "Country Incomes (millions of US$) (SYNTHETIC test copy: the 2017 figures × 1.1, April 2019 Version)"
)
SYNTHETIC_LABEL = "KNOMAD 2018 (SYNTHETIC test copy: the 2017 figures × 1.1, April 2019 version)"


def synthetic_2018(rows_: list[list[object]]) -> None:
    """The extract's title says 2018 (SYNTHETIC) and every figure is × 1.1; '-' stays '-'."""
    rows_[0][0] = SYNTHETIC_TITLE
    world = next(i for i, row in enumerate(rows_) if row and row[0] == "WORLD")
    for row in rows_[2 : world + 1]:
        row[1:] = [v * 1.1 if isinstance(v, int | float) else v for v in row[1:]]


def test_a_new_years_edition_adds_values_and_the_older_year_stays_current(tmp_path, make_settings):
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    first = pipeline.run_source(
        KEY, make_settings(warehouse_url=url, knomad_matrix_url=f"file://{sample_path(KEY)}")
    )
    copy = changed_copy(
        tmp_path / "matrix_2018.xlsx", synthetic_2018, "Bilateral_Remittances_2018", sample_path(KEY)
    )
    settings = make_settings(warehouse_url=url, knomad_matrix_url=f"file://{copy}")
    second = pipeline.run_source(KEY, settings)  # neither quarantined nor held

    assert first["load"]["rows"] == second["load"]["rows"] == 256
    assert rows(
        url,
        "SELECT status, rows_old, added, removed, revised FROM reporting.release_changes"
        " WHERE new_release_label = :label",
        label=SYNTHETIC_LABEL,
    ) == [("loaded", 0, 256, 0, 0)]
    assert rows(
        url,
        "SELECT year, count(*), count(remittances_usd) FROM mart.current_published_remittance"
        " GROUP BY year ORDER BY year",
    ) == [(2017, 256, 252), (2018, 256, 252)]
    tajikistan = rows(
        url,
        "SELECT year, remittances_usd, release_label FROM reporting.published_remittances_by_release"
        " WHERE receiving_code = 'TJK' AND sending_code = 'RUS' ORDER BY year",
    )
    assert [(y, round(v / 1e6, 2), label) for y, v, label in tajikistan] == [
        (2017, 1686.57, "KNOMAD 2017 (April 2018 version)"),
        (2018, round(1686.5741055743408 * 1.1, 2), SYNTHETIC_LABEL),
    ]
    assert rows(
        url,
        "SELECT r.release_label, c.release_rank FROM mart.current_release AS c"
        " JOIN dw.dim_source_release AS r ON r.release_id = c.release_id"
        " WHERE c.fact_table = 'dw.fact_published_remittance' ORDER BY c.release_rank",
    ) == [(SYNTHETIC_LABEL, 1), ("KNOMAD 2017 (April 2018 version)", 2)]

    compared = pipeline.compare_releases(KEY, settings=settings)  # `diaspora diff`, the two latest
    assert compared.diff.counts == {"added": 256, "removed": 0, "revised": 0, "unchanged": 0}
    assert not compared.verdict.quarantine


def test_without_the_flag_the_new_years_edition_would_lose_every_older_value():
    """The same two releases judged as a source that restates its series: quarantined."""
    source = get_source(KEY)
    grain = grain_of(source.fact_table)
    keys = {"receiving_code": ["TJK", "TJK"], "sending_code": ["RUS", "M49:900"]}
    old = pd.DataFrame({**keys, "year": [2017, 2017], "remittances_usd": [1.0, 2.0]})
    new = old.assign(year=2018)
    policy = health_for(pipeline.get_settings().source_health_file, KEY).revisions

    own_years = diff_releases(pipeline.comparable_values(source, old, new), new, grain)
    assert own_years.counts["removed"] == 0 and not judge(own_years, policy).quarantine

    restating = dataclasses.replace(source, release_covers_own_years=False)
    whole = diff_releases(pipeline.comparable_values(restating, old, new), new, grain)
    assert whole.counts["removed"] == 2 and judge(whole, policy).quarantine

    same_year = new.assign(remittances_usd=[1.0, 3.0])  # a re-published 2018: compared value by value
    revised = diff_releases(pipeline.comparable_values(source, new, same_year), same_year, grain)
    assert revised.counts == {"added": 0, "removed": 0, "revised": 1, "unchanged": 1}
