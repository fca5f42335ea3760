"""Releases as vintages on small frames, without a database: the diff of two releases and the
revision policy read per source (SYNTHETIC figures). The loads, alerts and backfills of releases are
in tests/integration/test_release_vintages.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from diaspora import pipeline
from diaspora.errors import ConfigError
from diaspora.health import load_health
from diaspora.revisions import RevisionPolicy, diff_releases, judge
from diaspora.warehouse.facts import grain_of

UNHCR = "unhcr_refugees"


def _stock(values: dict[tuple[str, str, int, str], float | None]) -> pd.DataFrame:
    keys = pd.DataFrame(list(values), columns=["origin_code", "destination_code", "year", "sex"])
    return keys.assign(migrants=list(values.values()))


def test_the_diff_finds_exactly_what_changed_and_aligns_the_changes_with_the_new_rows():
    grain = grain_of("dw.fact_migrant_stock")
    old = _stock(
        {
            ("TJK", "M49:900", 2020, "both"): 1000.0,
            ("TJK", "RUS", 2020, "both"): 800.0,
            ("TJK", "KAZ", 2020, "both"): 200.0,
            ("KGZ", "M49:900", 2020, "both"): 500.0,
            ("KGZ", "RUS", 2020, "both"): None,
            ("UZB", "M49:900", 2020, "both"): 50.0,  # SYNTHETIC figures throughout
        }
    )
    new = _stock(
        {
            ("TJK", "M49:900", 2020, "both"): 1200.0,  # revised +20 %
            ("TJK", "RUS", 2020, "both"): 1000.0,  # revised
            ("TJK", "KAZ", 2020, "both"): 200.0,  # unchanged
            ("KGZ", "M49:900", 2020, "both"): 500.0,  # unchanged
            ("KGZ", "RUS", 2020, "both"): 300.0,  # became available: revised
            ("KGZ", "M49:900", 2024, "both"): 550.0,  # a year added
        }
    )

    diff = diff_releases(old, new, grain)

    assert diff.counts == {"added": 1, "removed": 1, "revised": 3, "unchanged": 2}
    assert diff.countries_removed == ["UZB"] and diff.countries_added == []
    assert diff.years_added == [2024] and diff.years_removed == []
    revised = diff.changes[diff.changes["change_kind"] == "revised"]
    assert sorted(
        zip(revised["origin_code"], revised["destination_code"], revised["new_value"], strict=True)
    ) == [
        ("KGZ", "RUS", 300.0),
        ("TJK", "M49:900", 1200.0),
        ("TJK", "RUS", 1000.0),
    ]
    assert np.allclose(diff.new_relative_change, [0.2, 0.25, 0.0, 0.0, np.nan, np.nan], equal_nan=True)
    assert diff.largest(1, "relative")["new_value"].tolist() == [1000.0]  # +25 % beats +20 %
    verdict = judge(diff, RevisionPolicy(total_change_warning=0.1, min_total=100, max_removed_countries=0))
    assert [t["value"] for t in verdict.revised_totals] == ["TJK migrants (both) 2020"]
    assert verdict.revised_totals[0]["relative_change"] == pytest.approx(0.2)
    assert len(verdict.breaches) == 2  # 1 of 6 values removed (16.7 % > 5 %) and the country UZB
    assert "UZB" in verdict.breaches[1] and "16.7%" in verdict.breaches[0]
    assert not judge(diff, RevisionPolicy(max_removed_share=0.5, max_removed_countries=1)).quarantine


def test_the_revision_policy_is_read_per_source_and_bad_entries_name_the_field(tmp_path):
    policy = load_health(pipeline.get_settings().source_health_file)[UNHCR].revisions
    assert policy == RevisionPolicy(
        total_change_warning=0.10, min_total=1000, max_removed_share=0.05, max_removed_countries=0
    )
    bad = tmp_path / "health.yml"
    base = "s:\n  cadence_days: 1\n  value_jump: 0.5\n  max_jump_share: 0.1\n  revisions:\n"
    bad.write_text(base + "    max_removed_share: 2\n")
    with pytest.raises(ConfigError, match=r"health.yml: source s: revisions: 'max_removed_share'"):
        load_health(bad)
    bad.write_text(base + "    total_change: 0.1\n")
    with pytest.raises(ConfigError, match=r"unknown field\(s\) \['total_change'\]"):
        load_health(bad)
