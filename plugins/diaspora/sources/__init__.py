"""Sources: one folder per source, each declaring a :class:`~diaspora.sources.contract.Source`.

The registry is every sub-folder of this package whose ``__init__.py`` defines ``SOURCE``: a new
source is one new folder (``diaspora new-source NAME`` writes one), and nothing else lists it.
Importing the registry imports each folder's ``__init__.py`` only (no pandas, no requests): the
DAG factory runs it at every parse.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from diaspora.errors import UnknownSource
from diaspora.sources.contract import SOURCES_DIR, Source


@cache
def registry() -> dict[str, Source]:
    """Every registered source by key, in key order."""
    sources = {}
    for module in sorted(pkgutil.iter_modules([str(SOURCES_DIR)]), key=lambda m: m.name):
        if not module.ispkg:
            continue
        declared = getattr(importlib.import_module(f"diaspora.sources.{module.name}"), "SOURCE", None)
        if not isinstance(declared, Source):
            continue
        if declared.key != module.name:
            raise ValueError(
                f"{SOURCES_DIR / module.name}: SOURCE.key is {declared.key!r}; it must be the folder name"
            )
        sources[declared.key] = declared
    return sources


def get_source(key: str) -> Source:
    try:
        return registry()[key]
    except KeyError as exc:
        known = ", ".join(sorted(registry()))
        raise UnknownSource(f"unknown source {key!r}; the sources are: {known}") from exc
