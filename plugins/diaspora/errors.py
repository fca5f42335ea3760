"""Errors that say what broke and what to do; each names the file, URL, column or field at fault."""


class DiasporaError(Exception):
    """Base class of every error this package raises on purpose."""


class SourceError(DiasporaError):
    """A source could not be fetched, or answered something that is not data."""


class ParseError(DiasporaError):
    """A landed payload does not have the shape its parser expects (schema drift)."""


class ValidationFailed(DiasporaError):
    """A dataset broke its expectation suite; nothing was loaded (the release is held back)."""

    def __init__(
        self,
        message: str,
        failures: list[dict] | None = None,
        *,
        source: str | None = None,
        release: str | None = None,
        docs_url: str | None = None,
    ):
        super().__init__(message)
        self.failures = failures or []
        self.source = source
        self.release = release
        self.docs_url = docs_url


class ConfigError(DiasporaError):
    """A configuration file or setting is missing or invalid."""


class WarehouseError(DiasporaError):
    """The warehouse failed (unreachable, out of memory, locked): retry, nothing is wrong with the data."""
