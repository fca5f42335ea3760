"""The published method against the published matrix, on the REAL data and both engines.

The World Bank/KNOMAD Bilateral Remittance Matrix 2017 is loaded through the pipeline from its
published workbook; the World Bank's own inputs for it are written into the warehouse as facts: its
Bilateral Migration Matrix 2017 (the stocks the published matrix was computed from, written as a
migrant stock release labelled so) and the WDI 2017 inflows and GDP per head in PPP. Every expected
figure is computed here with pandas from the CSV and XLSX files (tests/support/corridor_model.py):
the warehouse's shares under the published method, corridor by corridor, and the summary view's
median, 90th percentile and share within 5 points; the median is under 0.6 percentage points.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from diaspora import pipeline
from diaspora.warehouse.engine import get_engine
from tests.support.corridor_model import (
    EXCLUDED,
    matrix_stock,
    method_shares,
    published_shares,
    read_matrix,
    share_differences,
    write_model_inputs,
)
from tests.support.real_sources import REAL_DATA_DIR, load_real, require_real_data
from tests.support.sql import dicts

REMITTANCES = REAL_DATA_DIR / "knomad_bilateral_remittances_2017.xlsx"
MIGRATION = REAL_DATA_DIR / "knomad_bilateral_migration_2017.xlsx"
YEAR = 2017
WDI_RELEASE, STOCK_RELEASE = 9101, 9102
INFLOW, PPP = "BX.TRF.PWKR.CD.DT", "NY.GDP.PCAP.PP.KD"


@pytest.fixture(scope="module")
def inputs() -> dict:
    """The 2017 inputs as the World Bank had them: stocks, inflows and incomes; the published cells."""
    require_real_data()
    if not (REMITTANCES.is_file() and MIGRATION.is_file()):
        pytest.skip(f"the KNOMAD workbooks are not in {REAL_DATA_DIR}")
    stock = matrix_stock(MIGRATION)
    wdi = load_real().wdi
    wdi = wdi[(wdi["year"] == YEAR) & wdi["indicator"].isin([INFLOW, PPP])]
    wdi = wdi[pd.to_numeric(wdi["value"], errors="coerce").notna()].astype({"value": "float64"})
    published = published_shares(read_matrix(REMITTANCES, "sending", "receiving"))
    return {"stock": stock, "wdi": wdi, "published": published}


def _expected_model(inputs: dict) -> pd.DataFrame:
    """Every corridor's 2017 shares under both methods, from the inputs with pandas."""
    wdi = inputs["wdi"]
    inflow = wdi[wdi["indicator"] == INFLOW].set_index("iso3")["value"]
    income = wdi[(wdi["indicator"] == PPP) & (wdi["value"] > 0)].set_index("iso3")["value"]
    stock = inputs["stock"]
    stock = stock[
        [(o, d) not in EXCLUDED for o, d in zip(stock["origin"], stock["destination"], strict=True)]
    ]
    frames = []
    shared_out = inflow[inflow > 0]  # an inflow of 0 has no shares
    for origin, hosts in stock[stock["origin"].isin(shared_out.index)].groupby("origin"):
        migrants = hosts.set_index("destination")["migrants"]
        shares = method_shares(migrants, income.get(origin), income)
        frames.append(shares.rename_axis("destination").reset_index().assign(origin=origin))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture
def warehouse_2017(inputs, warehouse_url, make_settings, tmp_path):
    settings = make_settings(warehouse_url=warehouse_url, knomad_matrix_url=f"file://{REMITTANCES}")
    assert not pipeline.run_source("knomad_bilateral_remittances", settings)["skipped"]
    with get_engine(warehouse_url).begin() as conn:
        write_model_inputs(conn, inputs["stock"], inputs["wdi"], YEAR, (WDI_RELEASE, STOCK_RELEASE))
    return warehouse_url


def test_the_published_method_reproduces_the_published_2017_shares(inputs, warehouse_2017):
    model = _expected_model(inputs)
    published = inputs["published"]
    differences = share_differences(published, model, "published_method")
    summary = {
        row["method"]: row
        for row in dicts(
            warehouse_2017, "SELECT * FROM reporting.published_remittance_accuracy WHERE year = :y", y=YEAR
        )
    }
    got = summary["published_method"]
    assert got["published_release"].startswith("KNOMAD 2017")
    # Iran, Syria and Venezuela: an observed 2017 inflow of 0, so no share to compare (8 corridors).
    assert got["corridors_compared"] == len(differences) == got["corridors_published"] - 8
    assert got["median_abs_difference_pp"] == pytest.approx(differences.median(), abs=1e-9)
    assert got["p90_abs_difference_pp"] == pytest.approx(np.percentile(differences, 90), abs=1e-9)
    assert got["within_5pp_pct"] == pytest.approx(100 * (differences <= 5).mean(), abs=1e-9)
    assert got["median_abs_difference_pp"] < 0.6  # the rule reproduces the publisher's allocation
    stock_only = share_differences(published, model, "stock_shares")
    assert summary["stock_shares"]["median_abs_difference_pp"] == pytest.approx(stock_only.median(), abs=1e-9)
    assert got["median_abs_difference_pp"] < summary["stock_shares"]["median_abs_difference_pp"]


def test_corridor_by_corridor_the_comparison_equals_pandas(inputs, warehouse_2017):
    model = _expected_model(inputs).set_index(["origin", "destination"])
    published = inputs["published"].set_index(["receiving", "sending"])
    found = dicts(
        warehouse_2017,
        "SELECT origin_code, destination_code, published_usd, published_share_pct, model_share_pct,"
        " share_difference_pp, model_status, published_status FROM reporting.published_remittance_comparison"
        " WHERE year = :y AND method = 'published_method'",
        y=YEAR,
    )
    assert len(found) == len(published)  # every cell of the matrix, once per method
    by_corridor = {(r["origin_code"], r["destination_code"]): r for r in found}
    tajikistan = by_corridor[("TJK", "RUS")]
    assert tajikistan["published_usd"] == pytest.approx(1_686.574106e6, rel=1e-9)
    assert tajikistan["published_share_pct"] == pytest.approx(
        100 * published.loc[("TJK", "RUS"), "share"], abs=1e-9
    )
    assert round(tajikistan["published_share_pct"], 1) == 76.0
    assert tajikistan["model_share_pct"] == pytest.approx(
        100 * model.loc[("TJK", "RUS"), "published_method"], abs=1e-9
    )
    assert 75 < tajikistan["model_share_pct"] < 76
    large = published[published["usd"] >= 1e8]
    for (origin, destination), cell in large.iterrows():
        row = by_corridor[(origin, destination)]
        expected = model["published_method"].get((origin, destination), 0.0)
        if row["model_status"] == "estimated":
            assert row["model_share_pct"] == pytest.approx(100 * expected, abs=1e-9), (origin, destination)
            assert row["share_difference_pp"] == pytest.approx(100 * (expected - cell["share"]), abs=1e-9)
    # The publisher's '-': not estimated, not zero, and the model follows it.
    for origin, destination in EXCLUDED:
        row = by_corridor[(origin, destination)]
        assert row["published_status"] == "not_estimated" and row["published_usd"] is None
        assert row["model_status"] == "excluded" and row["model_share_pct"] is None
