"""What a release changed against another release of its source, and the policy that judges it.

A release is a vintage: the World Bank restates past years in every WDI update, UNHCR revises
earlier years (refugees from Tajikistan in 2024: 3,945 in one release, 4,045 in a later one) and
UN DESA replaces whole series in each edition. :func:`diff_releases` compares two releases of one
fact table key by key (added, removed, revised values, and the country totals they move);
:func:`judge` applies the source's revision policy (``config/source_health.yml``): totals revised
beyond a threshold are a warning, a release that drops too many values or whole countries is
quarantined (critical).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from diaspora.warehouse.facts import FactGrain

CHANGE_KINDS = ("added", "removed", "revised")
# Values equal to this relative precision are the same value (a double read back from either
# engine is exact; the tolerance only absorbs a publisher's float formatting).
SAME_VALUE_RTOL = 1e-12
LISTED = 20  # values an alert or a summary lists in full; the rest are counted


@dataclass(frozen=True)
class RevisionPolicy:
    """Per source: when revisions warn and when a release is quarantined (critical).

    A new edition of a source that publishes editions (each re-estimates the whole series: UN
    DESA) is judged apart: it drops many small values by design (IMS 2020 → IMS 2024: 21 % of the
    values, 0.6 % of their sum), so the share of *values* it removes says nothing; the share of
    their *sum* and whole countries or years lost do. A new edition within those limits is held for
    review (one command accepts it); beyond them it is quarantined as broken.
    """

    total_change_warning: float = 0.10  # a country total revised by more than this share warns
    min_total: float = 0.0  # totals below this in both releases are not judged (noise)
    max_removed_share: float = 0.05  # values of the previous release missing from the new one
    max_removed_countries: int = 0  # countries of the previous release absent from the new one
    # A new edition: the removed values' sum as a share of the previous edition's sum of values.
    edition_max_removed_value_share: float = 0.02


@dataclass
class ReleaseDiff:
    """Two releases of one fact table compared key by key."""

    grain: FactGrain
    changes: pd.DataFrame  # key columns, old_value, new_value, change_kind (no unchanged rows)
    rows_old: int
    rows_new: int
    new_relative_change: np.ndarray  # per row of the new release: (new − old) ÷ |old|, NaN if none
    totals: pd.DataFrame  # total key columns, old_total, new_total, relative_change
    countries_added: list[str] = field(default_factory=list)
    countries_removed: list[str] = field(default_factory=list)
    years_added: list[int] = field(default_factory=list)
    years_removed: list[int] = field(default_factory=list)
    old_value_sum: float = 0.0  # Σ |value| of the previous release

    @property
    def removed_value_share(self) -> float:
        """The removed values' Σ |value| as a share of the previous release's (0 for a first one)."""
        removed = self.changes.loc[self.changes["change_kind"] == "removed", "old_value"]
        return float(np.nansum(np.abs(removed))) / self.old_value_sum if self.old_value_sum else 0.0

    def largest_totals(self, n: int = 5) -> pd.DataFrame:
        """The ``n`` countries whose totals moved most in absolute terms, each by its total that
        moved most (what a revision means for a country; the largest cells only say where)."""
        change = (self.totals["new_total"] - self.totals["old_total"]).abs()
        order = change.sort_values(ascending=False, na_position="last", kind="stable")
        per_country = self.totals.loc[order.index].drop_duplicates(self.grain.country, keep="first")
        return per_country.iloc[:n]

    @property
    def counts(self) -> dict[str, int]:
        kinds = self.changes["change_kind"].value_counts()
        counts = {kind: int(kinds.get(kind, 0)) for kind in CHANGE_KINDS}
        counts["unchanged"] = self.rows_new - counts["added"] - counts["revised"]
        return counts

    def largest(self, n: int = 10, by: str = "absolute") -> pd.DataFrame:
        """The ``n`` revised values that moved most, by absolute or relative change."""
        revised = self.changes[self.changes["change_kind"] == "revised"]
        column = {"absolute": "change", "relative": "relative_change"}[by]
        order = revised[column].abs().sort_values(ascending=False, na_position="last", kind="stable")
        return revised.loc[order.index[:n]]

    def describe(self, row: pd.Series | dict, total: bool = False) -> str:
        """A value's key in words: 'TJK refugees 2024 in RUS', 'TJK migrants (female) 2020 in RUS'."""
        grain = self.grain
        measure = row[grain.measure] if grain.measure else grain.measure_name
        text = f"{row[grain.country]} {measure}"
        if grain.breakdown:
            text += f" ({row[grain.breakdown]})"
        text += f" {row['year']}"
        if total:
            return text + (" (all counterparts)" if grain.counterpart and not grain.total_counterpart else "")
        if grain.counterpart:
            text += f" in {row[grain.counterpart]}"
        return text

    def summary(self, top: int = 5) -> dict:
        """JSON-ready: the counts, what appeared or vanished, and the largest revisions."""
        return {
            "rows_old": self.rows_old,
            "rows_new": self.rows_new,
            **self.counts,
            "countries_added": self.countries_added,
            "countries_removed": self.countries_removed,
            "years_added": self.years_added,
            "years_removed": self.years_removed,
            "removed_value_share": self.removed_value_share,
            "largest_absolute": [self._item(r) for _, r in self.largest(top, "absolute").iterrows()],
            "largest_relative": [self._item(r) for _, r in self.largest(top, "relative").iterrows()],
            "largest_totals": [total_item(self, r) for _, r in self.largest_totals(top).iterrows()],
        }

    def _item(self, row: pd.Series) -> dict:
        return {
            "value": self.describe(row),
            "old": _number(row["old_value"]),
            "new": _number(row["new_value"]),
            "relative_change": _number(row["relative_change"]),
        }

    def value_rows(self) -> pd.DataFrame:
        """The changes in the shape of ``etl.value_revision`` (one row per added, removed or
        revised value; the roles of the key columns named the same for every fact table)."""
        grain, changes = self.grain, self.changes
        return pd.DataFrame(
            {
                "change_kind": changes["change_kind"].astype(object),
                "country_code": changes[grain.country].astype(object),
                "counterpart_code": changes[grain.counterpart].astype(object) if grain.counterpart else None,
                "measure": changes[grain.measure].astype(object) if grain.measure else grain.measure_name,
                "breakdown": changes[grain.breakdown].astype(object) if grain.breakdown else None,
                "year": changes["year"].astype("int64"),
                "old_value": changes["old_value"].astype("float64"),
                "new_value": changes["new_value"].astype("float64"),
            }
        )


@dataclass
class Verdict:
    """What the policy says about a diff: breaches quarantine the release; a new edition within
    the policy is held for review; revised totals warn."""

    breaches: list[str]
    revised_totals: list[dict]
    revised_totals_count: int
    new_edition: str | None = None  # why a new edition is held for review (None: not one)

    @property
    def quarantine(self) -> bool:
        return bool(self.breaches)

    @property
    def hold(self) -> bool:
        return self.new_edition is not None and not self.breaches


def total_item(diff: ReleaseDiff, row: pd.Series) -> dict:
    return {
        "value": diff.describe(row, total=True),
        "old": _number(row["old_total"]),
        "new": _number(row["new_total"]),
        "relative_change": _number(row["relative_change"]),
    }


def _number(value: object) -> float | None:
    return None if value is None or (isinstance(value, float) and not math.isfinite(value)) else float(value)


def _with_object_keys(frame: pd.DataFrame, keys: list[str], value: str) -> pd.DataFrame:
    """Key columns as plain objects (categoricals and strings merge alike), year as int64."""
    typed = {k: ("int64" if k == "year" else object) for k in keys}
    return frame[[*keys, value]].astype(typed)


def _differs(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    old_missing, new_missing = np.isnan(old), np.isnan(new)
    with np.errstate(invalid="ignore"):
        apart = np.abs(new - old) > SAME_VALUE_RTOL * np.maximum(np.abs(old), np.abs(new))
    return (old_missing != new_missing) | (~old_missing & ~new_missing & apart)


def _relative(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(old != 0, (new - old) / np.abs(old), np.nan)


def _codes(frame: pd.DataFrame, grain: FactGrain) -> set[str]:
    columns = [grain.country] + ([grain.counterpart] if grain.counterpart else [])
    return {str(code) for column in columns for code in pd.unique(frame[column].astype(object)) if code}


def _totals(frame: pd.DataFrame, grain: FactGrain) -> pd.DataFrame:
    """A country total per (country, measure, breakdown, year): the total counterpart's row, the
    sum over every counterpart, or the value itself for a fact without counterparts."""
    keys = list(grain.total_keys)
    if not grain.counterpart:
        return frame[[*keys, grain.value]].rename(columns={grain.value: "total"})
    if grain.total_counterpart:
        rows = frame[frame[grain.counterpart] == grain.total_counterpart]
        return rows[[*keys, grain.value]].rename(columns={grain.value: "total"})
    summed = frame.groupby(keys, observed=True, sort=False)[grain.value].sum(min_count=1)
    return summed.rename("total").reset_index()


def diff_releases(old: pd.DataFrame, new: pd.DataFrame, grain: FactGrain) -> ReleaseDiff:
    """Compare the ``old`` and ``new`` rows of one fact table (key columns and value) key by key.

    ``new_relative_change`` is aligned with ``new``'s rows: validation flags the values that moved
    too far with it, so the release is compared with its predecessor once.
    """
    keys = list(grain.keys)
    old = _with_object_keys(old, keys, grain.value).rename(columns={grain.value: "old_value"})
    new = _with_object_keys(new, keys, grain.value).rename(columns={grain.value: "new_value"})
    new["_position"] = np.arange(len(new))
    merged = new.merge(old, how="outer", on=keys, indicator=True, sort=False)
    side = merged.pop("_merge").astype(object).to_numpy()
    old_values = merged["old_value"].to_numpy(dtype="float64")
    new_values = merged["new_value"].to_numpy(dtype="float64")
    kind = np.where(side == "left_only", "added", np.where(side == "right_only", "removed", "revised"))
    both = side == "both"
    relative = _relative(old_values, new_values)
    new_relative_change = np.full(len(new), np.nan)
    positions = merged["_position"].to_numpy()
    new_relative_change[positions[both].astype("int64")] = relative[both]
    changed = ~both | _differs(old_values, new_values)
    changes = merged.loc[changed, keys].reset_index(drop=True)
    changes["old_value"] = old_values[changed]
    changes["new_value"] = new_values[changed]
    changes["change_kind"] = kind[changed]
    changes["change"] = changes["new_value"] - changes["old_value"]
    changes["relative_change"] = relative[changed]
    old_codes, new_codes = _codes(old, grain), _codes(new, grain)
    old_years, new_years = set(old["year"].unique().tolist()), set(new["year"].unique().tolist())
    return ReleaseDiff(
        grain=grain,
        changes=changes,
        rows_old=len(old),
        rows_new=len(new),
        new_relative_change=new_relative_change,
        totals=_compare_totals(old, new, grain),
        countries_added=sorted(new_codes - old_codes) if len(old) else [],
        countries_removed=sorted(old_codes - new_codes),
        years_added=sorted(int(y) for y in new_years - old_years) if len(old) else [],
        years_removed=sorted(int(y) for y in old_years - new_years),
        old_value_sum=float(np.nansum(np.abs(old["old_value"].to_numpy(dtype="float64")))),
    )


def _compare_totals(old: pd.DataFrame, new: pd.DataFrame, grain: FactGrain) -> pd.DataFrame:
    keys = list(grain.total_keys)
    old_totals = _totals(old.rename(columns={"old_value": grain.value}), grain).rename(
        columns={"total": "old_total"}
    )
    new_totals = _totals(new.rename(columns={"new_value": grain.value}), grain).rename(
        columns={"total": "new_total"}
    )
    totals = new_totals.merge(old_totals, how="inner", on=keys, sort=False)
    old_values = totals["old_total"].to_numpy(dtype="float64")
    new_values = totals["new_total"].to_numpy(dtype="float64")
    totals["relative_change"] = _relative(old_values, new_values)
    return totals[_differs(old_values, new_values)].reset_index(drop=True)


def judge(diff: ReleaseDiff, policy: RevisionPolicy, new_edition: str | None = None) -> Verdict:
    """Breaches of the policy (each a sentence naming what and how much) and the revised totals.

    ``new_edition`` names a new edition of a source that publishes editions ('IMS 2020 → IMS
    2024'): its removals are judged by their sum, not their number, and within the policy it is
    held for review rather than loaded unseen.
    """
    breaches = _edition_breaches(diff, policy) if new_edition else _release_breaches(diff, policy)
    removed_countries = diff.countries_removed
    if len(removed_countries) > policy.max_removed_countries:
        listed = ", ".join(removed_countries[:LISTED])
        more = len(removed_countries) - LISTED
        breaches.append(
            f"{len(removed_countries)} country code(s) of the previous release absent from this release: "
            f"{listed}{f' and {more} more' if more > 0 else ''}; at most {policy.max_removed_countries} may "
            "be (max_removed_countries)"
        )
    totals = diff.totals
    old, new = totals["old_total"].abs(), totals["new_total"].abs()
    large_enough = np.maximum(old.fillna(0), new.fillna(0)) >= policy.min_total
    moved = totals["relative_change"].abs() > policy.total_change_warning
    appeared = (totals["old_total"] == 0) & (new > 0)
    flagged = totals[large_enough & (moved | appeared)]
    order = flagged["relative_change"].abs().fillna(np.inf).sort_values(ascending=False, kind="stable")
    revised = [total_item(diff, row) for _, row in flagged.loc[order.index[:LISTED]].iterrows()]
    held = _edition_sentence(diff, new_edition) if new_edition else None
    return Verdict(breaches, revised, len(flagged), new_edition=held)


def _release_breaches(diff: ReleaseDiff, policy: RevisionPolicy) -> list[str]:
    """A release of the same series: more values lost than ``max_removed_share`` allows."""
    if not diff.rows_old:
        return []
    removed = diff.counts["removed"]
    share = removed / diff.rows_old
    if share <= policy.max_removed_share:
        return []
    return [
        f"{removed:,} of the previous release's {diff.rows_old:,} values ({share:.1%}) are missing "
        f"from this release; at most {policy.max_removed_share:.1%} may be (max_removed_share)"
    ]


def _edition_breaches(diff: ReleaseDiff, policy: RevisionPolicy) -> list[str]:
    """A new edition: a reference year lost, or removed values summing to more of the previous
    edition than ``edition_max_removed_value_share`` allows, mean a broken edition."""
    breaches = []
    if diff.years_removed:
        breaches.append(
            f"reference year(s) {', '.join(map(str, diff.years_removed))} of the previous edition are absent "
            "from this edition (an edition adds years; it never drops one)"
        )
    share = diff.removed_value_share
    if share > policy.edition_max_removed_value_share:
        breaches.append(
            f"the {diff.counts['removed']:,} values missing from this edition sum to {share:.2%} of the "
            f"previous edition's values; at most {policy.edition_max_removed_value_share:.2%} may "
            "(edition_max_removed_value_share)"
        )
    return breaches


def _edition_sentence(diff: ReleaseDiff, editions: str) -> str:
    counts = diff.counts
    text = (
        f"{editions} is a new edition: it re-estimates the whole series ({counts['revised']:,} values "
        f"revised, {counts['removed']:,} removed, {counts['added']:,} added, {counts['unchanged']:,} "
        f"unchanged; the removed values are {diff.removed_value_share:.2%} of the previous edition's sum"
    )
    if diff.years_added:
        text += f"; years added: {', '.join(map(str, diff.years_added))}"
    if diff.countries_added:
        text += f"; countries added: {', '.join(diff.countries_added[:LISTED])}"
    return text + ")"


def change_line(item: dict) -> str:
    """'TJK refugees 2024: 3,945 → 4,045 (+2.5 %)' for an item of a summary or a verdict."""
    relative = item.get("relative_change")
    change = "" if relative is None else f" ({relative:+.1%})".replace("%", " %")
    return f"{item['value']}: {_shown(item['old'])} → {_shown(item['new'])}{change}"


def summary_sentence(release: str | None, summary: dict) -> str:
    """'UNHCR population 2025: 1,204 values revised, 10,230 added, 312 removed; largest: …'"""
    text = (
        f"{release}: {summary['revised']:,} values revised, {summary['added']:,} added, "
        f"{summary['removed']:,} removed (of {summary['rows_old']:,} in the previous release)"
    )
    if summary.get("largest_absolute"):
        text += "; largest: " + change_line(summary["largest_absolute"][0])
    return text


def _shown(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 100 or value == int(value) else f"{value:,.4g}"


def format_diff(diff: ReleaseDiff, old_name: str, new_name: str, verdict: Verdict, top: int = 10) -> str:
    """The diff as ``diaspora diff`` prints it: counts, what appeared or vanished, the largest
    revisions by absolute and by relative change, and the totals the policy flags."""
    counts = diff.counts
    lines = [
        f"{old_name} → {new_name}",
        f"values: {diff.rows_old:,} → {diff.rows_new:,}",
        f"  added     {counts['added']:>12,}"
        + (f"   years added: {', '.join(map(str, diff.years_added))}" if diff.years_added else ""),
        f"  removed   {counts['removed']:>12,}"
        + (f"   countries removed: {', '.join(diff.countries_removed)}" if diff.countries_removed else ""),
        f"  revised   {counts['revised']:>12,}",
        f"  unchanged {counts['unchanged']:>12,}",
    ]
    if diff.countries_added:
        lines.append(f"  countries added: {', '.join(diff.countries_added)}")
    if diff.years_removed:
        lines.append(f"  years removed: {', '.join(map(str, diff.years_removed))}")
    if diff.rows_old and counts["removed"]:
        lines.append(f"  removed values' sum: {diff.removed_value_share:.2%} of the previous release's")
    totals = diff.largest_totals(top)
    if not totals.empty:
        lines += ["", "Largest revisions of country totals (absolute change):"]
        lines += [f"  {change_line(total_item(diff, row))}" for _, row in totals.iterrows()]
    for by in ("absolute", "relative"):
        largest = diff.largest(top, by)
        if largest.empty:
            continue
        lines += ["", f"Largest revisions of single values ({by} change):"]
        width = max(len(diff.describe(row)) for _, row in largest.iterrows())
        for _, row in largest.iterrows():
            relative = row["relative_change"]
            pct = "" if math.isnan(relative) else f"{relative:+.1%}".replace("%", " %")
            lines.append(
                f"  {diff.describe(row):<{width}}  {_shown(row['old_value']):>16} → "
                f"{_shown(row['new_value']):>16}  {pct:>9}"
            )
    if verdict.revised_totals:
        lines += [
            "",
            f"Country totals revised beyond the policy's threshold: {verdict.revised_totals_count:,}",
        ]
        lines += [f"  {change_line(item)}" for item in verdict.revised_totals[:top]]
    if verdict.breaches:
        lines += ["", "The revision policy quarantines such a release:"]
        lines += [f"  {breach}" for breach in verdict.breaches]
    elif verdict.hold:
        lines += ["", "The revision policy holds such a release for review:", f"  {verdict.new_edition}"]
    return "\n".join(lines)
