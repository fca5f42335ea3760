"""The corridor model's rules file: validated with errors that name the file, the entry and the
field, and its exclusions exactly the corridors the published 2017 matrix marks '-'."""

from __future__ import annotations

import pytest

from diaspora.errors import ConfigError
from diaspora.remittance_model import RULES_FILE, load_rules, rule_frames
from tests.support.corridor_model import read_matrix
from tests.support.real_sources import REAL_DATA_DIR

GOOD = """
parameters:
  - name: income_gap_exponent
    value: 0.75
    why: the published matrices' rule, inferred
exclusions:
  - origin: IND
    destination: PAK
    why: not estimated by the publisher
stock_proxies:
  - country: XKX
    proxy: SRB
    why: UN DESA counts Kosovo within Serbia
"""


def test_the_shipped_rules_load_into_three_tables():
    frames = rule_frames()
    assert frames["dw.remittance_model_parameter"].to_dict("records")[0]["value"] == 0.75
    assert len(frames["dw.remittance_corridor_exclusion"]) == 4
    assert frames["dw.remittance_stock_proxy"][["country_code", "proxy_code"]].values.tolist() == [
        ["XKX", "SRB"]
    ]


def test_the_exclusions_are_the_published_matrix_not_estimated_cells():
    workbook = REAL_DATA_DIR / "knomad_bilateral_remittances_2017.xlsx"
    if not workbook.is_file():
        pytest.skip(f"the KNOMAD workbook is not in {REAL_DATA_DIR}")
    cells = read_matrix(workbook, "sending", "receiving")
    dashes = {
        (r, s) for r, s, v in cells[["receiving", "sending", "value"]].itertuples(index=False) if v == "-"
    }
    assert {(e.origin, e.destination) for e in load_rules().exclusions} == dashes


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("destination: PAK", "destination: QQQ"),
            r"exclusions\.0\.destination: .*unknown country code 'QQQ'",
        ),
        (("value: 0.75", "value: 1.5"), r"income_gap_exponent must be in \(0, 1\], got 1.5"),
        (("name: income_gap_exponent", "name: gap"), r"parameters must be exactly \['income_gap_exponent'\]"),
        (("why: UN DESA counts Kosovo within Serbia", "why: ''"), r"stock_proxies\.0\.why"),
    ],
)
def test_a_broken_rule_is_refused_naming_the_file_and_field(tmp_path, change, message):
    path = tmp_path / "remittance_corridors.yml"
    path.write_text(GOOD.replace(*change))
    with pytest.raises(ConfigError, match=message) as raised:
        load_rules(path)
    assert str(path) in str(raised.value)


def test_the_example_is_valid_and_the_shipped_file_is_where_the_docs_say(tmp_path):
    path = tmp_path / "rules.yml"
    path.write_text(GOOD)
    assert load_rules(path).parameter("income_gap_exponent") == 0.75
    assert RULES_FILE.name == "remittance_corridors.yml" and RULES_FILE.parent.name == "reference"
