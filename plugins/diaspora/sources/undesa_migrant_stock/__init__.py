"""UN DESA International Migrant Stock: migrants by destination, origin and sex, every edition.

A new edition every two to four years re-estimates the whole series and adds a reference year
(IMS 2020: 1990–2020; IMS 2024: 1990–2024). Extract lands the workbook unchanged and reads its
edition from the title rows. Parse reads the edition's layout, reference years and sex bands from
the header (a changed layout is refused, naming each difference), turns ``..`` and
empty cells into NULL, strips footnote markers from names, drops the exact duplicate rows the
workbook carries (Australia/New Zealand), resolves UN M49 location codes to conformed
countries, aggregates and residual categories (a code no reference file knows loads as
``M49:<code>``, kind unmapped, and the suite warns), and melts the year × sex columns into
``fact_migrant_stock`` rows. Consistency checks (male + female = both, a destination's sum over
origins = its total row) are computed here as helper columns that the suite then checks. The
newest edition alone is current; each older one stays readable as published."""

from diaspora.sources.contract import Source

SOURCE = Source(
    key="undesa_migrant_stock",
    publisher="United Nations, Department of Economic and Social Affairs, Population Division",
    dataset="International Migrant Stock",
    licence="CC BY 3.0 IGO",
    citation=(
        "United Nations Department of Economic and Social Affairs, Population Division (2024). "
        "International Migrant Stock 2024. CC BY 3.0 IGO."
    ),
    fact_table="dw.fact_migrant_stock",
    value_column="migrants",
    dimension_tables=("dw.dim_country",),
    validation_only_columns=("sex_gap", "destination_total_gap", "unresolved_location"),
    schedule="@monthly",
    editions=True,
    tags=("undesa", "migration"),
    sample="plugins/diaspora/sources/undesa_migrant_stock/sample/undesa_pd_2024_ims_stock_by_sex_destination_and_origin.xlsx",
    sample_setting="undesa_ims_url",
    description=__doc__ or "",
)
