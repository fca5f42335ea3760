"""The grain of each fact table, and the role each key column plays in it.

A value's key (without ``release_id``) names one figure that every release of its source may
publish again: the reporting layer shows each key's newest value, and the release diff compares
two releases key by key. The roles say how to read a key the same way across fact tables: the
country the figure is about, the other country of a pair, what is measured, a breakdown, a year.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FactGrain:
    """One fact table's key, value and the role of each key column."""

    table: str
    keys: tuple[str, ...]  # the value's key without release_id; the first is the country
    value: str
    country: str  # the country the figure is about (of origin for pairs)
    counterpart: str | None = None  # the other country of a pair (destination, asylum)
    measure: str | None = None  # the column naming what is measured; None: ``measure_name``
    measure_name: str = ""
    breakdown: str | None = None  # a breakdown of the measure (sex)
    # The counterpart whose row is the country's total (UN DESA's World row); None: the total is
    # the sum over every counterpart (or the value itself, without a counterpart).
    total_counterpart: str | None = None

    @property
    def total_keys(self) -> tuple[str, ...]:
        """The columns of a country total: the key without the counterpart."""
        return tuple(k for k in self.keys if k != self.counterpart)


FACT_GRAINS: dict[str, FactGrain] = {
    grain.table: grain
    for grain in (
        FactGrain(
            table="dw.fact_indicator_value",
            keys=("country_code", "indicator_code", "year"),
            value="value",
            country="country_code",
            measure="indicator_code",
        ),
        FactGrain(
            table="dw.fact_migrant_stock",
            keys=("origin_code", "destination_code", "year", "sex"),
            value="migrants",
            country="origin_code",
            counterpart="destination_code",
            measure_name="migrants",
            breakdown="sex",
            total_counterpart="M49:900",
        ),
        FactGrain(
            table="dw.fact_refugee_population",
            keys=("origin_code", "asylum_code", "year", "population_type"),
            value="persons",
            country="origin_code",
            counterpart="asylum_code",
            measure="population_type",
        ),
        # The World Bank/KNOMAD bilateral remittance matrices: published estimates, one edition a
        # year. The country is the one receiving (the migrants' origin), the counterpart the one
        # sending (where they live); the WORLD row (sending M49:900) is the receiver's total.
        FactGrain(
            table="dw.fact_published_remittance",
            keys=("receiving_code", "sending_code", "year"),
            value="remittances_usd",
            country="receiving_code",
            counterpart="sending_code",
            measure_name="published remittances",
            total_counterpart="M49:900",
        ),
    )
}


def grain_of(fact_table: str) -> FactGrain:
    try:
        return FACT_GRAINS[fact_table]
    except KeyError as exc:
        raise KeyError(f"no grain declared for {fact_table}; known: {sorted(FACT_GRAINS)}") from exc
