"""Resolving the names publishers give places (World Bank spellings) to conformed dim_country keys."""

from __future__ import annotations

import pytest

from diaspora.countries import reference_area_codes, resolve_name


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Russian Federation", "RUS"),
        ("Kyrgyz Republic", "KGZ"),
        ("Korea, Rep.", "KOR"),
        ("Korea, Dem. People's Rep.", "PRK"),
        ("Egypt, Arab Rep.", "EGY"),
        ("Congo, Dem. Rep.", "COD"),
        ("Congo, Rep.", "COG"),
        ("Kosovo", "XKX"),
        ("Channel Islands", "CHI"),
        ("  Tajikistan ", "TJK"),
        ("WORLD", "M49:900"),
        ("World", "M49:900"),
    ],
)
def test_world_bank_spellings_resolve_to_one_member(name, code):
    assert resolve_name(name) == code and code in reference_area_codes()


@pytest.mark.parametrize("name", ["Newland", "Other North", "", "   "])
def test_a_name_no_reference_knows_resolves_to_nothing(name):
    assert resolve_name(name) is None
