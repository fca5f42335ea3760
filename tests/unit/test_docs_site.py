"""The manual: its reference pages come from the code and the configuration, and the site builds
strictly (a broken link or anchor fails it), as `make docs` builds it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from markdown.extensions.toc import slugify

from diaspora import docs_site
from diaspora.settings import Settings
from diaspora.sources import registry
from tests.support import ROOT

# The same build as `make docs`, without MkDocs 2's notice on every run.
ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}


def build(config: Path, site: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)]
    return subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=120)


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return docs_site.reference_pages()


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    result = build(ROOT / "mkdocs.yml", folder)
    assert result.returncode == 0, result.stderr
    return folder


def test_the_dag_reference_lists_every_dag(pages):
    declared = re.findall(r'dag_id="(\w+)"', "".join(p.read_text() for p in (ROOT / "dags").glob("*.py")))
    dag_ids = set(registry()) | set(declared)
    assert {"worldbank_indicators", "survey_files", "diaspora_reporting"} <= dag_ids
    headings = set(re.findall(r"^#{2,3} (\w+)$", pages["reference/dags.md"], re.M))
    assert dag_ids <= headings
    for source in registry().values():  # each with what its contract declares
        section = pages["reference/dags.md"].split(f"### {source.key}\n", 1)[1].split("\n### ", 1)[0]
        for fact in (source.publisher, source.licence, source.citation, source.schedule, source.fact_table):
            assert fact in section, (source.key, fact)


def test_the_configuration_reference_lists_every_setting(pages):
    page = pages["reference/configuration.md"]
    read_directly = set(
        re.findall(
            r'os\.environ\.get\("(DIASPORA_\w+)"',
            "".join(p.read_text() for p in (ROOT / "plugins" / "diaspora").rglob("*.py")),
        )
    )
    variables = {f"DIASPORA_{name.upper()}" for name in Settings.model_fields} | read_directly
    assert "DIASPORA_TASK_RETRIES" in variables
    missing = sorted(v for v in variables if f"| `{v}` |" not in page)
    assert missing == []


def test_a_configuration_note_for_a_setting_nothing_reads_fails_the_build(monkeypatch, tmp_path):
    notes = tmp_path / "notes.yml"
    notes.write_text("DIASPORA_NO_SUCH_SETTING: a note that outlived its setting\n")
    monkeypatch.setattr(docs_site, "CONFIGURATION_NOTES", notes)
    with pytest.raises(ValueError, match="DIASPORA_NO_SUCH_SETTING"):
        docs_site.configuration_page()


def test_the_data_dictionary_lists_every_reporting_view(pages):
    sql = "".join(p.read_text() for p in (ROOT / "sql" / "views").rglob("*.sql"))
    views = set(re.findall(r"CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+reporting\.(\w+)", sql, re.I))
    assert {"remittances", "diaspora_profile", "data_quality"} <= views
    documented = set(re.findall(r"^## reporting\.(\w+)$", pages["reference/data-dictionary.md"], re.M))
    assert views <= documented


def test_the_indicator_reference_lists_every_configured_indicator(pages):
    config = yaml.safe_load((ROOT / "config" / "worldbank_indicators.yml").read_text())
    codes = [i["code"] for i in config["indicators"]]
    assert "BX.TRF.PWKR.CD.DT" in codes
    assert [c for c in codes if f"| `{c}` |" not in pages["reference/indicators.md"]] == []


def test_the_command_reference_lists_every_make_target_and_diaspora_command(pages):
    page = pages["reference/commands.md"]
    for target in ("demo", "test", "docs", "validation-docs"):
        assert f"| `make {target}` |" in page
    for command in ("migrate", "diff", "backfill", "accept", "new-source", "factsheet"):
        assert f"### diaspora {command}\n" in page


def test_no_page_names_this_machine(pages, site):
    built = [p.read_text(errors="replace") for p in site.rglob("*.html")]
    assert [path for path, text in pages.items() if str(ROOT) in text] == []
    assert sum(str(ROOT) in text for text in built) == 0


def test_the_site_builds_strictly_with_every_page_and_its_search(site):
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]

    def files(entry) -> list[str]:
        if isinstance(entry, str):
            return [entry]
        if isinstance(entry, list):
            return [f for item in entry for f in files(item)]
        return [f for value in entry.values() for f in files(value)]

    assert set(docs_site.PAGES) <= set(files(nav))
    for page in files(nav):
        assert (site / page).with_suffix(".html").exists(), page
    # The two questions an operator asks most are found by the search, each as its own section.
    titles = {doc["title"] for doc in json.loads((site / "search" / "search_index.json").read_text())["docs"]}
    assert {"Add a country group", "What a quarantine alert means"} <= titles


def test_a_broken_link_or_anchor_fails_the_build(tmp_path):
    """The hand-written pages with this site's configuration, the generated pages left out (the
    links to them are not what this test breaks; without them the build takes half the time)."""
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    del config["hooks"]
    for generated in docs_site.PAGES:
        (tmp_path / "docs" / generated).write_text(f"# {generated}\n")
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(config, allow_unicode=True))
    page = tmp_path / "docs" / "guides" / "bi.md"
    page.write_text(page.read_text() + "\n[gone](no-such-page.md), [moved](alerts.md#no-such-section)\n")
    result = build(tmp_path / "mkdocs.yml", tmp_path / "site")
    warnings = [line for line in result.stderr.splitlines() if line.startswith("WARNING")]
    assert result.returncode != 0
    assert len(warnings) == 2, warnings  # those two, nothing else
    assert "'no-such-page.md'" in warnings[0] and "'#no-such-section'" in warnings[1]


def test_the_readme_is_the_first_ten_minutes_and_its_links_resolve():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 200
    assert "make demo   # runs every DAG once" in readme and "make test   # the whole test suite" in readme
    assert "make docs" in readme
    for target, anchor in re.findall(r"\]\((?!https?:)([^)#\s]+)(?:#([^)\s]+))?\)", readme):
        path = ROOT / target
        assert path.exists(), target
        if anchor:
            headings = re.findall(r"^#+ (.+)$", path.read_text(), re.M)
            assert anchor in {slugify(re.sub(r"`", "", h), "-") for h in headings}, (target, anchor)
