"""Errors that say what broke and what to do; each names the file, URL, column or field at fault."""


class DiasporaError(Exception):
    """Base class of every error this package raises on purpose."""


class SourceError(DiasporaError):
    """A source could not be fetched, or answered something that is not data."""


class ParseError(DiasporaError):
    """A landed payload does not have the shape its parser expects (schema drift)."""


class ValidationFailed(DiasporaError):
    """A dataset broke its expectation suite; nothing was loaded."""

    def __init__(self, message: str, failures: list[dict] | None = None):
        super().__init__(message)
        self.failures = failures or []


class ConfigError(DiasporaError):
    """A configuration file or setting is missing or invalid."""
