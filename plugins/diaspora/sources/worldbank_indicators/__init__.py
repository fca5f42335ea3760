"""World Bank Indicators API v2: country metadata and indicator values for every country.

Extract follows pagination to the last page and checks the rows received against the API's
``total``; an HTTP 200 whose body is an API error message is a failure that shows the message.
Parse turns the landed pages into ``dim_country``, ``dim_indicator`` and
``fact_indicator_value`` frames; nulls stay null and negative values are kept."""

from diaspora.sources.contract import Source

SOURCE = Source(
    key="worldbank_indicators",
    publisher="World Bank",
    dataset="World Development Indicators",
    licence="CC BY 4.0",
    citation="World Bank, World Development Indicators (https://data.worldbank.org), CC BY 4.0.",
    fact_table="dw.fact_indicator_value",
    value_column="value",
    dimension_tables=("dw.dim_country", "dw.dim_indicator"),
    validation_only_columns=("is_percentage", "non_negative", "change_vs_previous_year"),
    schedule="@weekly",
    tags=("worldbank",),
    sample="plugins/diaspora/sources/worldbank_indicators/sample/api",
    sample_setting="worldbank_base_url",
    description=__doc__ or "",
)
