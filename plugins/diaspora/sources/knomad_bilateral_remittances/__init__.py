"""World Bank/KNOMAD Bilateral Remittance Matrix: published estimates of remittances per corridor.

From whom: the World Bank and KNOMAD (CC BY 4.0), which share each country's recorded inflow of
remittances among the places its migrants live (the method of Ratha and Shaw 2007, from migrant
stocks and host and origin incomes). How often: an edition now and then (2017, 2018, 2021 …),
one workbook per edition, each estimating one year; the DAG checks the configured workbook
(``DIASPORA_KNOMAD_MATRIX_URL``) monthly and loads it when its bytes change.

Extract lands the workbook unchanged and reads its edition from the title ("… Estimates for 2017
… (April 2018 Version)" → ``KNOMAD 2017 (April 2018 version)``). Parse finds the sheet whose
header reads ``receiving (across) / sending (down)``, reads receivers across and senders down to
the ``WORLD`` row, and makes every cell a ``fact_published_remittance`` row, zeros included, in
US$ (the workbook's millions × 1,000,000): a ``-`` cell (a corridor the publisher does not
estimate) is NULL with status ``not_estimated``, the WORLD row and column are totals (counterpart
``M49:900``), any other text is refused naming its cell. Names (World Bank spellings) resolve
through :func:`diaspora.countries.resolve_name`; a name that does not loads as an unmapped area
and the suite warns. These are the publisher's model estimates: they are kept apart from observed
figures and from this project's own corridor model, and shown beside them. Each edition covers
its own year, so a new year's edition adds values and the older years stay current.
"""

from diaspora.sources.contract import Source

SOURCE = Source(
    key="knomad_bilateral_remittances",
    publisher="World Bank / KNOMAD",
    dataset="Bilateral Remittance Matrix",
    licence="CC BY 4.0",
    citation=(
        "World Bank/KNOMAD, Bilateral Remittance Matrix (the edition's year), based on Ratha, D. and "
        "Shaw, W. (2007), South-South Migration and Remittances, World Bank Working Paper 102. CC BY 4.0."
    ),
    fact_table="dw.fact_published_remittance",
    value_column="remittances_usd",
    dimension_tables=("dw.dim_country",),
    validation_only_columns=("total_gap_usd", "unresolved_name"),
    schedule="@monthly",
    release_covers_own_years=True,
    cadence_days=1100,
    tags=("knomad", "remittances"),
    sample="plugins/diaspora/sources/knomad_bilateral_remittances/sample/bilateral_remittance_matrix_2017_extract.xlsx",
    sample_setting="knomad_matrix_url",
    description=__doc__ or "",
)
