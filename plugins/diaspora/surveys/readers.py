"""Read a survey file whatever software wrote it: CSV, XLSX, SPSS .sav, Stata .dta.

The format is decided by the file's content (magic bytes), and must agree with its extension;
value labels are kept. Every failure is an :class:`IntakeError` with a reason for the quarantine
report — never any other exception, whatever the bytes.
"""

from __future__ import annotations

import codecs
import re
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
    path: Path, options: FormatOptions, chunk_rows: int | None = None
) -> tuple[str, Iterator]:
    """The file's format and an iterator of ``(frame, value_labels)`` chunks of at most ``chunk_rows``.

    Only the head of the file is read up front, so memory stays bounded by one chunk. Any failure,
    now or while iterating, is an :class:`IntakeError`.
    """
    path = Path(path)
    check_name(path.name)
    claimed = EXTENSIONS.get(path.suffix.lower())
    if claimed is None:
        raise IntakeError(f"unsupported extension {path.suffix!r}: expected one of {sorted(EXTENSIONS)}")
    with open(path, "rb") as handle:
        head = handle.read(HEAD_BYTES)
    if not head.strip():
        raise IntakeError("the file is empty")
    actual = sniff(head)
    if actual != claimed:
        raise IntakeError(f"the file's content is {actual}, not what its extension {path.suffix} claims")
    if actual == "csv":
        _refuse_utf8_declared_otherwise(head, options)
    chunk_rows = chunk_rows or CHUNK_ROWS  # read at call time, so it can be tuned
    readers = {"csv": _csv_chunks, "xlsx": _xlsx_chunks, "sav": _stat_chunks, "dta": _stat_chunks}
    return actual, _guarded(actual, readers[actual](path, options, chunk_rows, actual))


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
