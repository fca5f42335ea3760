"""UNHCR Refugee Population Statistics: people by origin, country of asylum, year and population type.

Extract pages through ``{base}/population/`` to ``maxPages`` with the project's one HTTP client
(same retries and error rules as every source); a body that is not the API's ``{"page", "maxPages",
"items"}`` shape, or a page shorter than the limit before the last, fails the extract. Parse turns
each item into one row per population type it reports; counts may come as integers or strings; ``"-"``
as a code marks a dimension that was not broken down and becomes ``UNHCR:ALL``, never a country.
UNHCR's codes for what is not a country (``UNK`` unknown, ``XXA`` stateless, ``TIB`` Tibetan) are
reference members with their kind; a code never seen before loads as ``unmapped`` and warns."""

from diaspora.sources.contract import Source

SOURCE = Source(
    key="unhcr_refugees",
    publisher="UNHCR, the UN Refugee Agency",
    dataset="Refugee Population Statistics",
    licence="CC BY 4.0",
    citation="UNHCR Refugee Population Statistics Database (www.unhcr.org/refugee-statistics), CC BY 4.0.",
    fact_table="dw.fact_refugee_population",
    value_column="persons",
    dimension_tables=("dw.dim_country",),
    validation_only_columns=(),
    schedule="@monthly",
    tags=("unhcr", "refugees"),
    sample="plugins/diaspora/sources/unhcr_refugees/sample/api",
    sample_setting="unhcr_base_url",
    description=__doc__ or "",
)
