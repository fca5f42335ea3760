"""Sources: each module extracts (lands raw payloads) and parses them into warehouse frames.

A source module provides ``INFO`` (:class:`~diaspora.sources.base.SourceInfo`) and the
functions ``extract``, ``parse`` and ``expectation_parameters``; see ``base.py``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# source key (= DAG id) → module; a new source adds one line here.
SOURCE_MODULES: dict[str, str] = {
    "worldbank_indicators": "diaspora.sources.worldbank",
    "undesa_migrant_stock": "diaspora.sources.undesa",
    "unhcr_refugees": "diaspora.sources.unhcr",
}


def get_source(key: str) -> ModuleType:
    try:
        return importlib.import_module(SOURCE_MODULES[key])
    except KeyError as exc:
        raise KeyError(f"Unknown source {key!r}; known: {sorted(SOURCE_MODULES)}") from exc
