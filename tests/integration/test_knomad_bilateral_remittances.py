"""The REAL World Bank/KNOMAD Bilateral Remittance Matrix 2017 (April 2018 version) through the real
pipeline steps (extract over a real local HTTP server, parse, validate, load) on real DuckDB and
real PostgreSQL, read back from the database; then a SYNTHETIC 2018 edition (the 2017 figures
× 1.1, labelled so in its title) at the same URL, which adds a year and keeps 2017 current.

Skips without ``../shared/data/real/knomad_bilateral_remittances_2017.xlsx``.
"""

from __future__ import annotations

from datetime import date

from diaspora import pipeline
from tests.support.knomad import XLSX_TYPE, changed_copy, require_knomad_2017
from tests.support.sql import rows, scalar

KEY = "knomad_bilateral_remittances"
PATH = "/en/705611533661084197/bilateralremittancematrix2017-Apr2018.xlsx"
LABEL_2017 = "KNOMAD 2017 (April 2018 version)"
CELLS = 215 * 215  # 214 senders and WORLD × 214 receivers and WORLD


def serve(httpserver, content: bytes) -> str:
    httpserver.clear_all_handlers()
    httpserver.expect_request(PATH).respond_with_data(content, content_type=XLSX_TYPE)
    return httpserver.url_for(PATH)


def synthetic_2018(rows_: list[list[object]]) -> None:
    rows_[0][0] = (
        rows_[0][0]
        .replace("for 2017", "for 2018")
        .replace("(April 2018 Version)", "(SYNTHETIC: the 2017 figures × 1.1, April 2019 Version)")
    )
    world = next(i for i, row in enumerate(rows_) if row and row[0] == "WORLD")
    for row in rows_[2 : world + 1]:
        row[1:] = [v * 1.1 if isinstance(v, int | float) else v for v in row[1:]]


def test_the_real_2017_matrix_loads_every_cell_and_reads_back(
    httpserver, make_settings, warehouse_url, alert_webhook, tmp_path
):
    real = require_knomad_2017()
    settings = make_settings(
        knomad_matrix_url=serve(httpserver, real.read_bytes()),
        warehouse_url=warehouse_url,
        alert_webhook_url=alert_webhook.url,
    )
    result = pipeline.run_source(KEY, settings)

    assert result["load"]["rows"] == CELLS == 46_225
    assert scalar(warehouse_url, "SELECT count(*) FROM dw.fact_published_remittance") == CELLS
    assert rows(
        warehouse_url,
        "SELECT estimate_status, count(*), count(remittances_usd) FROM dw.fact_published_remittance"
        " GROUP BY estimate_status ORDER BY estimate_status",
    ) == [("estimated", 45_792, 45_792), ("not_estimated", 4, 0), ("total", 429, 429)]
    assert rows(
        warehouse_url,
        "SELECT receiving_code, sending_code FROM dw.fact_published_remittance"
        " WHERE estimate_status = 'not_estimated' AND remittances_usd IS NULL ORDER BY 1",
    ) == [("IND", "PAK"), ("ISR", "LBN"), ("LBN", "ISR"), ("PAK", "IND")]
    tajikistan = dict(
        rows(
            warehouse_url,
            "SELECT sending_code, remittances_usd FROM reporting.published_remittances_by_release"
            " WHERE receiving_code = 'TJK' AND sending_code IN ('M49:900', 'RUS')",
        )
    )
    assert round(tajikistan["M49:900"] / 1e6, 1) == 2219.7
    assert round(tajikistan["RUS"] / 1e6, 2) == 1686.57
    assert round(100 * tajikistan["RUS"] / tajikistan["M49:900"], 1) == 76.0
    assert rows(
        warehouse_url,
        "SELECT value_kind, release_label, licence, count(*) FROM reporting.published_remittances_by_release"
        " GROUP BY value_kind, release_label, licence",
    ) == [("published estimate", LABEL_2017, "CC BY 4.0", CELLS)]
    assert rows(
        warehouse_url,
        "SELECT r.release_date, l.rows_loaded FROM dw.dim_source_release AS r"
        " JOIN etl.load_run AS l ON l.release_id = r.release_id AND l.status = 'success'"
        " WHERE r.source = :s",
        s=KEY,
    ) == [(date(2018, 4, 1), CELLS)]
    assert scalar(warehouse_url, "SELECT count(*) FROM dw.fact_indicator_value") == 0  # kept apart
    assert alert_webhook.problems == []  # no validation warning on the real workbook

    # The same bytes again: nothing to load.
    assert pipeline.run_source(KEY, settings)["skipped"]

    # A SYNTHETIC 2018 edition at the same URL: a new year, added values, 2017 still current.
    copy = changed_copy(tmp_path / "matrix_2018.xlsx", synthetic_2018, "Bilateral_Remittances_2018")
    settings = make_settings(knomad_matrix_url=serve(httpserver, copy.read_bytes()))
    assert pipeline.run_source(KEY, settings)["load"]["rows"] == CELLS
    assert rows(
        warehouse_url,
        "SELECT status, old_release_label, added, removed, revised FROM reporting.release_changes"
        " WHERE source = :s ORDER BY diff_id",
        s=KEY,
    ) == [("loaded", None, CELLS, 0, 0), ("loaded", LABEL_2017, CELLS, 0, 0)]
    assert rows(
        warehouse_url,
        "SELECT year, count(*) FROM mart.current_published_remittance GROUP BY year ORDER BY year",
    ) == [(2017, CELLS), (2018, CELLS)]
