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


class ReleaseQuarantined(ValidationFailed):
    """A release breaks its source's revision policy (it drops too many values or whole countries):
    nothing was loaded; an operator may load it on purpose after review (``diaspora accept``)."""

    def __init__(
        self,
        message: str,
        breaches: list[str],
        changes: dict,
        *,
        source: str,
        release: str | None,
        landing_dir: str,
    ):
        super().__init__(message, [], source=source, release=release)
        self.breaches = breaches
        self.changes = changes
        self.landing_dir = landing_dir


class ReleaseHeld(DiasporaError):
    """A new edition of a source that publishes editions, within its revision policy, waits for an
    operator's review before it replaces every figure: nothing was loaded, nothing failed; the alert
    said what it changes and how to accept it (``diaspora accept``)."""

    def __init__(self, message: str, *, source: str, release: str | None, landing_dir: str):
        super().__init__(message)
        self.source = source
        self.release = release
        self.landing_dir = landing_dir


class ConfigError(DiasporaError):
    """A configuration file or setting is missing or invalid."""


class WarehouseError(DiasporaError):
    """The warehouse failed (unreachable, out of memory, locked): retry, nothing is wrong with the data."""


class LoadCountMismatch(DiasporaError):
    """Rows counted in a table after a write differ from the rows prepared for it.

    A loader or database defect, never a data problem: the transaction is rolled back, so nothing
    of the release stays in the warehouse. Retrying does not help; the task fails at once.
    """

    def __init__(self, table: str, prepared: int, landed: int, scope: str):
        super().__init__(
            f"{table}: {prepared:,} rows were prepared ({scope}) but {landed:,} are in the table after "
            "the write. The load was rolled back: nothing of this release is in the warehouse. This "
            "is a loader or database defect, not a data problem; report it with this task's log."
        )
        self.table = table
        self.prepared = prepared
        self.landed = landed
        self.scope = scope


class ReportingCheckFailed(DiasporaError):
    """A table of the reporting layer broke one of its invariants after its refresh.

    The refresh runs in the load's transaction, so the load is rolled back: the warehouse keeps
    the layer it had. The rows named are the first that break it.
    """

    def __init__(self, table: str, check: str, broken: list[dict]):
        shown = "; ".join(", ".join(f"{k}={v}" for k, v in row.items()) for row in broken[:5])
        super().__init__(
            f"{table}: rows break its check {check}, e.g. {shown}. The load was rolled "
            "back: the reporting layer is as it was before it. Look at the inputs of these rows; if "
            "they are right, the definition in sql/mart/ is wrong: report it with this task's log."
        )
        self.table = table
        self.broken = broken


class WarehouseNotReady(DiasporaError):
    """The warehouse's schema or reference data are behind the deployed code: run `diaspora migrate`.

    Migrations run once per deploy, never from DAG runs (two runs migrating one DuckDB file at
    once collide); a task that finds the warehouse behind fails at once, saying what to run.
    """


class InboxError(DiasporaError):
    """The file system failed around a survey file (a move after its publish): retry, the file is fine."""


class UsageError(DiasporaError):
    """A command was asked for what is not there — an unknown source, country or release, nothing
    to compare, a warehouse missing or not migrated — or given a malformed argument. The message
    is one line naming what is wrong and what to run; the CLI prints it and exits 2."""


class UnknownSource(UsageError, KeyError):
    """No registered source has this key (also a KeyError, for code that looks sources up)."""

    def __str__(self) -> str:  # KeyError quotes its message; this one is for people
        return str(self.args[0]) if self.args else ""
