"""Releases of a source in the warehouse: their order, the one before a new release, their values,
and the record of what each new release changed (``etl.release_diff``, ``etl.value_revision``).

Release order is publication order: the newest release is the one published last (then fetched
last). "The previous release" of a release is the loaded release just before it in that order,
so a backfill of an older release is compared with the release before *it*, not with the newest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pandas as pd
import sqlalchemy as sa

from diaspora.errors import UsageError
from diaspora.warehouse.audit import to_json_text
from diaspora.warehouse.facts import FactGrain
from diaspora.warehouse.load import bulk_insert, verify_count

RELEASE_ORDER = "release_date DESC NULLS LAST, fetched_at DESC, release_id DESC"


@dataclass(frozen=True)
class LoadedRelease:
    """A release of a source whose load succeeded."""

    release_id: int
    label: str | None
    release_date: date | None
    fetched_at: datetime
    content_sha256: str
    raw_location: str
    rows: int | None

    @property
    def name(self) -> str:
        return f"{self.label or '(unlabelled)'} (release_id {self.release_id})"


def loaded_releases(conn: sa.Connection, source: str) -> list[LoadedRelease]:
    """Every successfully loaded release of ``source``, newest first."""
    rows = conn.execute(
        sa.text(
            "SELECT r.release_id, r.release_label, r.release_date, r.fetched_at, r.content_sha256,"
            " r.raw_location, (SELECT max(l.rows_loaded) FROM etl.load_run AS l WHERE l.release_id ="
            " r.release_id AND l.status = 'success') AS rows_loaded"
            " FROM dw.dim_source_release AS r WHERE r.source = :s AND EXISTS (SELECT 1 FROM etl.load_run"
            f" AS l WHERE l.release_id = r.release_id AND l.status = 'success') ORDER BY {RELEASE_ORDER}"
        ),
        {"s": source},
    ).all()
    return [
        LoadedRelease(r[0], r[1], r[2], _utc(r[3]), r[4], r[5], None if r[6] is None else int(r[6]))
        for r in rows
    ]


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _newest_first_key(release_date: date | None, fetched_at: datetime, release_id: float) -> tuple:
    return (release_date is not None, release_date or date.min, _utc(fetched_at), release_id)


def preceding_release(
    conn: sa.Connection, source: str, release_date: date | None, fetched_at: datetime, content_sha256: str
) -> LoadedRelease | None:
    """The loaded release just before the release described (which may be loaded already: a
    re-load is compared with the release before it, never with itself)."""
    this = _newest_first_key(release_date, fetched_at, float("inf"))
    earlier = [
        r
        for r in loaded_releases(conn, source)
        if r.content_sha256 != content_sha256
        and _newest_first_key(r.release_date, r.fetched_at, r.release_id) < this
    ]
    return earlier[0] if earlier else None


def find_release(conn: sa.Connection, source: str, reference: str | int) -> LoadedRelease:
    """A loaded release of ``source`` by its release_id or its label; errors list what exists."""
    releases = loaded_releases(conn, source)
    text = str(reference).strip()
    matches = [r for r in releases if str(r.release_id) == text or r.label == text]
    if len(matches) == 1:
        return matches[0]
    known = "; ".join(r.name for r in releases) or "none"
    if not matches:
        raise UsageError(f"{source} has no loaded release {text!r}; loaded releases, newest first: {known}")
    raise UsageError(
        f"{source}: {len(matches)} loaded releases are labelled {text!r}; name one by its release_id: "
        + "; ".join(r.name for r in matches)
    )


def release_values(conn: sa.Connection, grain: FactGrain, release_id: int) -> pd.DataFrame:
    """Key columns and value of every row of one release."""
    columns = ", ".join(f'"{c}"' for c in [*grain.keys, grain.value])
    query = sa.text(f"SELECT {columns} FROM {grain.table} WHERE release_id = :r")
    return pd.read_sql(query, conn, params={"r": release_id})


@dataclass(frozen=True)
class DiffRecord:
    """One row of ``etl.release_diff``: what a release changed against the one before it."""

    source: str
    fact_table: str
    old_release_id: int | None
    old_release_label: str | None
    new_release_label: str | None
    new_content_sha256: str
    status: str  # loaded | accepted (loaded on purpose after review) | quarantined | held (new edition)
    summary: dict
    revised_totals: list[dict]
    revised_totals_count: int
    breaches: list[str]


def record_diff(
    conn: sa.Connection, record: DiffRecord, new_release_id: int | None, values: pd.DataFrame | None
) -> int:
    """Insert the diff's summary and (for a loaded release) its changed values; count them back."""
    summary = record.summary
    if new_release_id is not None:  # a re-load of the release replaces its diff
        conn.execute(
            sa.text(
                "DELETE FROM etl.value_revision WHERE diff_id IN"
                " (SELECT diff_id FROM etl.release_diff WHERE new_release_id = :r)"
            ),
            {"r": new_release_id},
        )
        conn.execute(sa.text("DELETE FROM etl.release_diff WHERE new_release_id = :r"), {"r": new_release_id})
    diff_id = conn.execute(sa.text("SELECT nextval('etl.release_diff_id_seq')")).scalar_one()
    conn.execute(
        sa.text(
            "INSERT INTO etl.release_diff (diff_id, source, fact_table, old_release_id, new_release_id,"
            " old_release_label, new_release_label, new_content_sha256, status, rows_old, rows_new, added,"
            " removed, revised, unchanged, countries_added, countries_removed, years_added, years_removed,"
            " largest_revisions, revised_totals, revised_totals_count, policy_breaches, computed_at)"
            " VALUES (:diff_id, :source, :fact_table, :old_release_id, :new_release_id, :old_label,"
            " :new_label, :sha, :status, :rows_old, :rows_new, :added, :removed, :revised, :unchanged,"
            " :countries_added, :countries_removed, :years_added, :years_removed, :largest, :totals,"
            " :totals_count, :breaches, :computed_at)"
        ),
        {
            "diff_id": diff_id,
            "source": record.source,
            "fact_table": record.fact_table,
            "old_release_id": record.old_release_id,
            "new_release_id": new_release_id,
            "old_label": record.old_release_label,
            "new_label": record.new_release_label,
            "sha": record.new_content_sha256,
            "status": record.status,
            **{k: summary[k] for k in ("rows_old", "rows_new", "added", "removed", "revised", "unchanged")},
            **{
                k: json.dumps(summary[k])
                for k in ("countries_added", "countries_removed", "years_added", "years_removed")
            },
            "largest": to_json_text(
                {
                    "absolute": summary["largest_absolute"],
                    "relative": summary["largest_relative"],
                    "totals": summary.get("largest_totals", []),
                }
            ),
            "totals": to_json_text(record.revised_totals),
            "totals_count": record.revised_totals_count,
            "breaches": to_json_text(record.breaches),
            "computed_at": datetime.now(UTC),
        },
    )
    if values is not None and not values.empty:
        bulk_insert(conn, "etl.value_revision", values.assign(diff_id=diff_id))
        landed = conn.execute(
            sa.text("SELECT count(*) FROM etl.value_revision WHERE diff_id = :d"), {"d": diff_id}
        ).scalar_one()
        verify_count("etl.value_revision", len(values), int(landed), f"diff {diff_id}")
    return int(diff_id)


def last_withheld(conn: sa.Connection, source: str) -> tuple[str | None, str] | None:
    """(label, content sha256) of the release the policy held back last (held for review or
    quarantined), if that is still the source's latest verdict; None when the latest was loaded."""
    row = conn.execute(
        sa.text(
            "SELECT status, new_release_label, new_content_sha256 FROM etl.release_diff WHERE source = :s"
            " ORDER BY computed_at DESC, diff_id DESC LIMIT 1"
        ),
        {"s": source},
    ).first()
    if row is None or row[0] not in ("held", "quarantined"):
        return None
    return row[1], row[2]
