"""Renamed :mod:`diaspora.text_report`; kept only for ``factsheet.py``'s import, until it imports that."""

from diaspora.text_report import NOT_AVAILABLE, count, one_decimal

__all__ = ["NOT_AVAILABLE", "count", "one_decimal"]
