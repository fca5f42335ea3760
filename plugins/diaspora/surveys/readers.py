"""Read a survey file whatever software wrote it: CSV, XLSX, SPSS .sav, Stata .dta.

The format is decided by the file's content (magic bytes), and must agree with its extension;
value labels are kept. Every failure is an :class:`IntakeError` with a reason for the quarantine
report — never any other exception, whatever the bytes.

Before a byte is parsed, :class:`IntakeLimits` bounds the file: its size; for XLSX (a zip) the
uncompressed size, the expansion ratio and the sheet's declared width; for CSV the header's
width. CSV, SPSS and Stata files are then read in chunks (memory bounded by one chunk); an XLSX
sheet is read whole by calamine, which the uncompressed-size limit bounds.
"""

from __future__ import annotations

import codecs
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from diaspora.surveys.definitions import FormatOptions

EXTENSIONS = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".sav": "sav", ".dta": "dta"}
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,200}$")


class IntakeError(Exception):
    """A file that cannot be read as what it claims to be; ``reasons`` go to the quarantine report."""

    def __init__(self, *reasons: str):
        super().__init__("; ".join(reasons))
        self.reasons = list(reasons)


@dataclass(frozen=True)
class IntakeLimits:
    """What a survey file may be before it is read (settings ``DIASPORA_SURVEY_MAX_*``)."""

    max_bytes: int = 512 * 1024**2
    max_uncompressed_bytes: int = 1024**3
    max_expansion: float = 100.0
    max_columns: int = 2000
    max_rows: int = 2_000_000

    @classmethod
    def from_settings(cls, settings) -> IntakeLimits:  # noqa: ANN001 - diaspora.settings.Settings
        return cls(
            max_bytes=settings.survey_max_bytes,
            max_uncompressed_bytes=settings.survey_max_uncompressed_bytes,
            max_expansion=settings.survey_max_expansion,
            max_columns=settings.survey_max_columns,
            max_rows=settings.survey_max_rows,
        )


@dataclass
class SurveyTable:
    frame: pd.DataFrame
    value_labels: dict[str, dict] = field(default_factory=dict)  # column → {code: label}
    format: str = "csv"


def check_name(file_name: str) -> None:
    """Names with path separators, '..' or odd characters are refused before anything else."""
    if "/" in file_name or "\\" in file_name or ".." in file_name or not SAFE_NAME.match(file_name):
        raise IntakeError(
            f"unsafe file name {file_name!r}: use letters, digits, '.', '_', '-' and spaces only"
        )


def sniff(content: bytes) -> str:
    """The format the bytes are actually in: zip (xlsx), SPSS, Stata (new or old binary), else text."""
    if content.startswith(b"PK\x03\x04"):
        return "xlsx"
    if content[:4] in (b"$FL2", b"$FL3"):
        return "sav"
    if content.startswith(b"<stata_dta>"):
        return "dta"
    if len(content) > 1 and 104 <= content[0] <= 115 and content[1] in (1, 2):  # Stata 4–13 header
        return "dta"
    return "csv"


CHUNK_ROWS = 10_000
HEAD_BYTES = 65_536


def _encoding(options: FormatOptions) -> str:
    normalised = options.encoding.lower().replace("_", "-")
    return "utf-8-sig" if normalised in ("utf-8", "utf8") else options.encoding


def _refuse_utf8_declared_otherwise(head: bytes, options: FormatOptions) -> None:
    """A file declared in a single-byte encoding (cp1251, latin-1…) whose non-ASCII bytes are valid
    UTF-8 is UTF-8: those encodings decode any byte, so it would load as mojibake without error.
    Real Cyrillic or accented text in those encodings is practically never valid UTF-8."""
    if _encoding(options) == "utf-8-sig" or max(head, default=0) < 0x80:
        return
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)  # the head may end mid-character
    except UnicodeDecodeError:
        return
    raise IntakeError(
        f"the file is UTF-8, not {options.encoding} as its survey definition declares: "
        "set 'encoding: utf-8' in the definition, or ask for the file in the declared encoding"
    )


def open_survey_file(
    path: Path, options: FormatOptions, chunk_rows: int | None = None, limits: IntakeLimits | None = None
) -> tuple[str, Iterator]:
    """The file's format and an iterator of ``(frame, value_labels)`` chunks of at most ``chunk_rows``.

    Only the head of the file is read up front, and the file is checked against ``limits`` before
    anything parses it. Any failure, now or while iterating, is an :class:`IntakeError`.
    """
    path = Path(path)
    limits = limits or IntakeLimits()
    check_name(path.name)
    claimed = EXTENSIONS.get(path.suffix.lower())
    if claimed is None:
        raise IntakeError(f"unsupported extension {path.suffix!r}: expected one of {sorted(EXTENSIONS)}")
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise IntakeError(
            f"the file has {size:,} bytes, more than DIASPORA_SURVEY_MAX_BYTES ({limits.max_bytes:,})"
        )
    with open(path, "rb") as handle:
        head = handle.read(HEAD_BYTES)
    if not head.strip():
        raise IntakeError("the file is empty")
    actual = sniff(head)
    if actual != claimed:
        raise IntakeError(f"the file's content is {actual}, not what its extension {path.suffix} claims")
    if actual == "csv":
        _refuse_utf8_declared_otherwise(head, options)
        _check_csv_width(path, options, limits)
    if actual == "xlsx":
        _check_zip(path, size, limits)
    chunk_rows = chunk_rows or CHUNK_ROWS  # read at call time, so it can be tuned
    readers = {"csv": _csv_chunks, "xlsx": _xlsx_chunks, "sav": _stat_chunks, "dta": _stat_chunks}
    return actual, _guarded(actual, _bounded_rows(readers[actual](path, options, chunk_rows, actual), limits))


HEADER_MAX_BYTES = 1024**2  # a header line longer than this is no survey's


def _check_csv_width(path: Path, options: FormatOptions, limits: IntakeLimits) -> None:
    """The header's columns, counted on at most HEADER_MAX_BYTES of the first line."""
    with open(path, "rb") as handle:
        first = handle.readline(HEADER_MAX_BYTES + 1)
    if len(first) > HEADER_MAX_BYTES and not first.endswith(b"\n"):
        raise IntakeError(f"the header line is longer than {HEADER_MAX_BYTES:,} bytes: not a survey table")
    columns = first.count(options.delimiter.encode("utf-8") or b",") + 1  # delimiters are ASCII
    if columns > limits.max_columns:
        raise IntakeError(
            f"the header has {columns:,} columns, more than DIASPORA_SURVEY_MAX_COLUMNS "
            f"({limits.max_columns:,})"
        )


_DIMENSION = re.compile(rb'<dimension ref="[A-Z]+\d+:([A-Z]+)\d+"')


def _check_zip(path: Path, size: int, limits: IntakeLimits) -> None:
    """An XLSX file's uncompressed size, expansion ratio and declared sheet width, from the zip's
    directory and each sheet's first bytes: a zip bomb is refused before it is expanded."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            expanded = sum(m.file_size for m in members)
            if expanded > limits.max_uncompressed_bytes:
                raise IntakeError(
                    f"the workbook expands to {expanded:,} bytes, more than "
                    f"DIASPORA_SURVEY_MAX_UNCOMPRESSED_BYTES ({limits.max_uncompressed_bytes:,})"
                )
            if expanded > limits.max_expansion * max(size, 1):
                raise IntakeError(
                    f"the workbook expands {expanded / max(size, 1):,.0f} times "
                    f"({size:,} to {expanded:,} bytes), "
                    f"more than DIASPORA_SURVEY_MAX_EXPANSION ({limits.max_expansion:,.0f}): a zip bomb?"
                )
            for member in (m for m in members if m.filename.startswith("xl/worksheets/sheet")):
                with archive.open(member) as sheet:
                    found = _DIMENSION.search(sheet.read(4096))
                width = _column_number(found.group(1).decode()) if found else 0
                if width > limits.max_columns:
                    raise IntakeError(
                        f"sheet {member.filename.rsplit('/', 1)[-1]} declares {width:,} columns, more than "
                        f"DIASPORA_SURVEY_MAX_COLUMNS ({limits.max_columns:,})"
                    )
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise IntakeError(f"cannot read the xlsx file: {type(exc).__name__}: {str(exc)[:200]}") from None


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def _bounded_rows(chunks: Iterator, limits: IntakeLimits) -> Iterator:
    """The chunks, until the rows pass ``limits.max_rows`` or a chunk is wider than ``max_columns``."""
    rows = 0
    for frame, labels in chunks:
        rows += len(frame)
        if rows > limits.max_rows:
            raise IntakeError(
                f"the file has more than {limits.max_rows:,} data rows (DIASPORA_SURVEY_MAX_ROWS)"
            )
        if len(frame.columns) > limits.max_columns:
            raise IntakeError(
                f"the file has {len(frame.columns):,} columns, more than DIASPORA_SURVEY_MAX_COLUMNS "
                f"({limits.max_columns:,})"
            )
        yield frame, labels


def _guarded(file_format: str, chunks: Iterator) -> Iterator:
    """Re-raise any parser failure as an IntakeError; refuse a file without data rows."""
    produced = False
    try:
        for frame, labels in chunks:
            if len(frame.columns) == 0:
                raise IntakeError("the file has no columns")
            if not frame.empty:
                produced = True
                yield frame.reset_index(drop=True), labels  # positions within the chunk
    except IntakeError:
        raise
    except UnicodeDecodeError as exc:
        raise IntakeError(
            f"not valid {exc.encoding} text ({exc.reason}): set 'encoding' in the survey "
            "definition to the file's real encoding"
        ) from None
    except Exception as exc:  # noqa: BLE001 - any parser failure is a reason, never a crash
        raise IntakeError(
            f"cannot read the {file_format} file: {type(exc).__name__}: {str(exc)[:300]}"
        ) from None
    if not produced:
        raise IntakeError("the file has no data rows")


def _csv_chunks(path: Path, options: FormatOptions, chunk_rows: int, _: str) -> Iterator:
    with open(path, encoding=_encoding(options), newline="") as handle:
        reader = pd.read_csv(
            handle,
            sep=options.delimiter,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skipinitialspace=True,
            chunksize=chunk_rows,
        )
        for frame in reader:
            if any(frame[column].str.contains("\x00", regex=False).any() for column in frame.columns):
                raise IntakeError("the text contains NUL bytes: not a CSV file")
            yield frame, {}


def _xlsx_chunks(path: Path, options: FormatOptions, chunk_rows: int, _: str) -> Iterator:
    frame = pd.read_excel(path, sheet_name=options.sheet, dtype=str, engine="calamine")
    for start in range(0, max(len(frame), 1), chunk_rows):
        yield frame.iloc[start : start + chunk_rows], {}


def _stat_chunks(path: Path, options: FormatOptions, chunk_rows: int, file_format: str) -> Iterator:
    import pyreadstat

    read = pyreadstat.read_sav if file_format == "sav" else pyreadstat.read_dta
    for frame, meta in pyreadstat.read_file_in_chunks(read, str(path), chunksize=chunk_rows):
        yield frame, meta.variable_value_labels


def read_survey_file(path: Path, options: FormatOptions) -> SurveyTable:
    """The whole file at once (small files, tests); the pipeline iterates chunks instead."""
    file_format, chunks = open_survey_file(path, options)
    frames, labels = [], {}
    for frame, chunk_labels in chunks:
        frames.append(frame)
        labels = labels or chunk_labels
    return SurveyTable(frame=pd.concat(frames, ignore_index=True), value_labels=labels, format=file_format)
