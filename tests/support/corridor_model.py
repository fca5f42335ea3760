"""The bilateral remittance model written again in pandas, for tests to compute expected figures.

An independent reading of the rule the warehouse computes in ``sql/mart/06_remittance_corridors.sql``:
a country's inflow is shared among the places its emigrants live in proportion to the migrants
(``stock_shares``) or to the migrants weighted by ``Y_o + (Y_h - Y_o) ** exponent`` where the host's
GDP per head in PPP ``Y_h`` exceeds the origin's ``Y_o``, else ``Y_o`` (``published_method``). A host
without income gets the migrant-weighted mean weight of the origin's other hosts; an origin without
income gets stock shares. Also: the World Bank/KNOMAD published matrices read into long frames,
names resolved with the country library's patterns.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np
import pandas as pd

EXPONENT = 0.75  # reference/remittance_corridors.yml
WORLD = "M49:900"
# The publisher's exclusions the model follows (reference/remittance_corridors.yml; the 2017 matrix's
# '-' cells, tests/unit/test_remittance_model.py) and the stocks it borrows.
EXCLUDED = {("IND", "PAK"), ("PAK", "IND"), ("LBN", "ISR"), ("ISR", "LBN")}
STOCK_PROXIES = {"XKX": "SRB"}  # UN DESA counts Kosovo within Serbia


def method_shares(
    migrants: pd.Series, origin_income: float | None, host_income: pd.Series, exponent: float = EXPONENT
) -> pd.DataFrame:
    """Each host's share of one origin's inflow under both methods (``migrants`` by host, > 0)."""
    hosts = host_income.reindex(migrants.index)
    if origin_income is None or pd.isna(origin_income):
        weight = pd.Series(np.nan, index=migrants.index)
    else:
        gap = (hosts - origin_income).clip(lower=0)
        weight = origin_income + np.where(hosts > origin_income, np.power(gap, exponent), 0.0)
        weight = pd.Series(weight, index=migrants.index).where(hosts.notna())
    known = weight.notna()
    mean = (migrants[known] * weight[known]).sum() / migrants[known].sum() if known.any() else 1.0
    weighted = migrants * weight.fillna(mean)
    return pd.DataFrame(
        {"stock_shares": migrants / migrants.sum(), "published_method": weighted / weighted.sum()}
    )


@functools.lru_cache(maxsize=1)
def _name_patterns() -> list[tuple[re.Pattern, str]]:
    import country_converter

    data = pd.read_csv(
        Path(country_converter.__file__).parent / "country_data.tsv",
        sep="\t",
        dtype=str,
        keep_default_na=False,
    )
    data = data[data["ISO3"].str.fullmatch(r"[A-Z]{3}")]
    return [
        (re.compile(regex, re.IGNORECASE), iso3)
        for regex, iso3 in zip(data["regex"], data["ISO3"], strict=True)
    ]


def resolve(name: str) -> str | None:
    """The ISO3 code of a World Bank country name; ``WORLD`` is the UN World area."""
    name = str(name).strip()
    if name.upper() == "WORLD":
        return WORLD
    codes = {iso3 for pattern, iso3 in _name_patterns() if pattern.search(name)}
    return codes.pop() if len(codes) == 1 else None


def read_matrix(path: Path, rows_are: str, columns_are: str) -> pd.DataFrame:
    """A KNOMAD matrix workbook as long rows (``rows_are``, ``columns_are``, ``value``): the first
    sheet, names in row 2 and column A, data until the first empty name; '-' cells kept as text."""
    sheet = pd.read_excel(path, sheet_name=0, header=None, engine="calamine")
    columns = [resolve(n) if isinstance(n, str) else None for n in sheet.iloc[1, 1:]]
    long = []
    for _, row in sheet.iloc[2:].iterrows():
        if not isinstance(row.iloc[0], str) or not row.iloc[0].strip():
            break
        code = resolve(row.iloc[0])
        for column, value in zip(columns, row.iloc[1:], strict=True):
            if column is not None:
                long.append((code, column, value))
    return pd.DataFrame(long, columns=[rows_are, columns_are, "value"])


def published_shares(remittances: pd.DataFrame) -> pd.DataFrame:
    """Per corridor of a remittance matrix (rows ``sending``, columns ``receiving``): the published
    US$ (millions × 1e6) and its share of the receiving country's WORLD total."""
    cells = remittances[(remittances["sending"] != WORLD) & (remittances["receiving"] != WORLD)].copy()
    cells["usd"] = pd.to_numeric(cells["value"], errors="coerce") * 1e6
    totals = remittances[(remittances["sending"] == WORLD) & (remittances["receiving"] != WORLD)]
    total = dict(zip(totals["receiving"], pd.to_numeric(totals["value"]) * 1e6, strict=True))
    cells["share"] = cells["usd"] / cells["receiving"].map(total)
    return cells.drop(columns="value")


def share_differences(published: pd.DataFrame, model: pd.DataFrame, column: str) -> pd.Series:
    """|model share - published share| in percentage points over the corridors of at least US$ 100 m
    whose origin the model estimates (a corridor without model row: share 0)."""
    large = published[published["usd"] >= 1e8]
    estimated = set(model["origin"])
    large = large[large["receiving"].isin(estimated)]
    shares = model.set_index(["origin", "destination"])[column]
    got = [shares.get((o, d), 0.0) for o, d in zip(large["receiving"], large["sending"], strict=True)]
    return (pd.Series(got, index=large.index) - large["share"]).abs() * 100


def matrix_stock(path: Path) -> pd.DataFrame:
    """A KNOMAD bilateral migration matrix (origins down, destinations across) as rows
    (``origin``, ``destination``, ``migrants`` > 0), its Other North/South and World rows left out."""
    stock = read_matrix(path, "origin", "destination").dropna(subset=["origin", "destination"])
    stock = stock[(stock["origin"] != WORLD) & (stock["destination"] != WORLD)]
    stock["migrants"] = pd.to_numeric(stock.pop("value"), errors="coerce")
    return stock[stock["migrants"] > 0].reset_index(drop=True)


def write_model_inputs(
    conn, stock: pd.DataFrame, wdi: pd.DataFrame, year: int, release_ids: tuple[int, int]
) -> None:  # noqa: ANN001 - a SQLAlchemy connection
    """The World Bank's own inputs of a published matrix as warehouse facts, each in a release
    labelled so: WDI values (``iso3, indicator, year, value``) and the migration matrix's stocks as
    the migrant stock of ``year`` (both sexes); then the reporting layer recomputed."""
    from diaspora.warehouse import mart
    from diaspora.warehouse.load import bulk_insert
    from tests.support.sql import insert_release

    wdi_release, stock_release = release_ids
    insert_release(conn, wdi_release, "worldbank_indicators", f"WDI {year} inputs", "REAL: World Bank WDI")
    insert_release(
        conn, stock_release, "undesa_migrant_stock", f"Bilateral Migration Matrix {year}", "REAL: World Bank"
    )
    values = wdi.rename(columns={"iso3": "country_code", "indicator": "indicator_code"})
    values = values.assign(release_id=wdi_release)[
        ["country_code", "indicator_code", "year", "release_id", "value"]
    ]
    bulk_insert(conn, "dw.fact_indicator_value", values)
    stocks = stock.rename(columns={"origin": "origin_code", "destination": "destination_code"})
    bulk_insert(conn, "dw.fact_migrant_stock", stocks.assign(year=year, sex="both", release_id=stock_release))
    mart.refresh_all(conn)
