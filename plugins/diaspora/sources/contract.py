"""The contract every source meets, and the one object that declares a source.

A source is one folder, ``plugins/diaspora/sources/<key>/``:

- ``__init__.py``: a docstring (what, from whom, how often) and ``SOURCE``, a :class:`Source`;
- ``extract.py``: ``extract(settings, session, landing) -> release label | None``,
  ``release_url(settings) -> str`` and ``release_date(label) -> date | None``;
- ``parse.py``: ``parse(manifest, settings) -> ParsedDataset`` (offline) and
  ``expectation_parameters(parsed, settings) -> dict`` (the suite's run-time ``$PARAMETER``\\ s);
- ``suite.json``: its Great Expectations suite.

``__init__.py`` imports nothing heavy: the scheduler imports every source's ``SOURCE`` to build
the DAGs, and the functions are imported only when a task calls them.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

from diaspora.errors import ConfigError

if TYPE_CHECKING:  # type names only: importing them costs pandas and requests
    import requests

    from diaspora.landing import Landing, Manifest
    from diaspora.settings import Settings
    from diaspora.sources.base import ParsedDataset

SOURCES_DIR = Path(__file__).resolve().parent


class SourceContract(Protocol):
    """What the pipeline, the DAG factory and the contract test need from a source."""

    key: str
    publisher: str
    dataset: str
    licence: str
    citation: str
    schedule: str
    fact_table: str
    value_column: str
    dimension_tables: tuple[str, ...]
    validation_only_columns: tuple[str, ...]

    @property
    def suite_path(self) -> Path: ...

    def extract(self, settings: Settings, session: requests.Session, landing: Landing) -> str | None: ...

    def release_url(self, settings: Settings) -> str: ...

    def release_date(self, label: str | None) -> date | None: ...

    def parse(self, manifest: Manifest, settings: Settings) -> ParsedDataset: ...

    def expectation_parameters(self, parsed: ParsedDataset, settings: Settings) -> dict: ...


@dataclass(frozen=True)
class Source:
    """A source's static facts (its licence and citation travel with every release) and its
    schedule; its functions are those of the folder's ``extract.py`` and ``parse.py``."""

    key: str  # <publisher>_<dataset>: folder, DAG id, Asset, suite and health entry
    publisher: str
    dataset: str
    licence: str
    citation: str
    schedule: str  # the DAG's schedule
    fact_table: str  # e.g. dw.fact_indicator_value
    value_column: str  # the measure compared with the previous release
    dimension_tables: tuple[str, ...] = ()  # loaded before the fact, in this order
    validation_only_columns: tuple[str, ...] = ()  # helper columns of the fact frame, not loaded
    tags: tuple[str, ...] = ()  # DAG tags beside "diaspora" and "source"
    # True: each release is an edition that re-estimates the whole series (UN DESA): the newest
    # edition alone is current (an older edition's values never fill its gaps) and a new edition is
    # held for review before it replaces every figure. False: a release restates values, and a value
    # no newer release carries stays current from the release that has it.
    editions: bool = False
    # True: each release covers its own year(s) only (the World Bank/KNOMAD matrices: the 2018
    # edition estimates 2018, not 2017 again). A release is then compared with the one before it
    # only on the years it carries: a new year's edition adds values and loses none, and the values
    # of the years it does not carry stay current from the release that has them. False: a release
    # restates the series, and a value missing from it counts as removed.
    release_covers_own_years: bool = False
    retries: int | None = None  # task retries; None: DIASPORA_TASK_RETRIES (default 3)
    cadence_days: int = 365  # a release older than this is stale (config/source_health.yml may say otherwise)
    sample: str = ""  # the bundled offline sample, relative to the project (make demo, contract test)
    sample_setting: str = ""  # the setting whose file:// URL points the source at its sample
    description: str = ""  # the folder's docstring: the DAG's documentation

    @property
    def folder(self) -> Path:
        return SOURCES_DIR / self.key

    @property
    def suite_path(self) -> Path:
        return self.folder / "suite.json"

    def setting(self, settings: Settings, name: str) -> str:
        """A setting of this source: the settings object's field, else ``DIASPORA_<NAME>`` from the
        environment (a new source needs no field in the shared settings class)."""
        value = getattr(settings, name, None) or os.environ.get(f"DIASPORA_{name.upper()}")
        if not value:
            raise ConfigError(f"source {self.key}: set DIASPORA_{name.upper()} (its {name})")
        return str(value)

    def _module(self, name: str) -> ModuleType:
        return importlib.import_module(f"diaspora.sources.{self.key}.{name}")

    def _call(self, module: str, function: str, *args: Any) -> Any:
        return getattr(self._module(module), function)(*args)

    def extract(self, settings: Settings, session: requests.Session, landing: Landing) -> str | None:
        """Land every payload of one release; return the publisher's release label."""
        return self._call("extract", "extract", settings, session, landing)

    def release_url(self, settings: Settings) -> str:
        return self._call("extract", "release_url", settings)

    def release_date(self, label: str | None) -> date | None:
        return self._call("extract", "release_date", label)

    def parse(self, manifest: Manifest, settings: Settings) -> ParsedDataset:
        """The landed payloads as frames per target table (offline)."""
        return self._call("parse", "parse", manifest, settings)

    def expectation_parameters(self, parsed: ParsedDataset, settings: Settings) -> dict:
        return self._call("parse", "expectation_parameters", parsed, settings)
