"""Read a survey file whatever software wrote it: CSV, XLSX, SPSS .sav, Stata .dta.

The format is decided by the file's content (magic bytes), and must agree with its extension;
value labels are kept. Every failure is an :class:`IntakeError` with a reason for the quarantine
report — never any other exception, whatever the bytes.
"""

from __future__ import annotations

import io
import re
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


def read_survey_file(path: Path, options: FormatOptions) -> SurveyTable:
    path = Path(path)
    check_name(path.name)
    claimed = EXTENSIONS.get(path.suffix.lower())
    if claimed is None:
        raise IntakeError(f"unsupported extension {path.suffix!r}: expected one of {sorted(EXTENSIONS)}")
    content = path.read_bytes()
    if not content.strip():
        raise IntakeError("the file is empty")
    actual = sniff(content)
    if actual != claimed:
        raise IntakeError(f"the file's content is {actual}, not what its extension {path.suffix} claims")
    try:
        reader = {"csv": _csv, "xlsx": _xlsx, "sav": _sav, "dta": _dta}[actual]
        table = reader(path, content, options)
    except IntakeError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure is a reason, never a crash
        raise IntakeError(f"cannot read the {actual} file: {type(exc).__name__}: {str(exc)[:300]}") from None
    if table.frame.empty or len(table.frame.columns) == 0:
        raise IntakeError("the file has no data rows")
    return table


def _csv(path: Path, content: bytes, options: FormatOptions) -> SurveyTable:
    encoding = (
        "utf-8-sig" if options.encoding.lower().replace("_", "-") in ("utf-8", "utf8") else options.encoding
    )
    try:
        text = content.decode(encoding)
    except UnicodeDecodeError as exc:
        raise IntakeError(
            f"not valid {options.encoding} at byte {exc.start}: set 'encoding' in the survey "
            "definition to the file's real encoding"
        ) from None
    if "\x00" in text:
        raise IntakeError("the text contains NUL bytes: not a CSV file")
    frame = pd.read_csv(
        io.StringIO(text),
        sep=options.delimiter,
        dtype=str,
        keep_default_na=False,
        na_values=[""],
        skipinitialspace=True,
    )
    return SurveyTable(frame=frame, format="csv")


def _xlsx(path: Path, content: bytes, options: FormatOptions) -> SurveyTable:
    frame = pd.read_excel(io.BytesIO(content), sheet_name=options.sheet, dtype=str, engine="calamine")
    return SurveyTable(frame=frame, format="xlsx")


def _sav(path: Path, content: bytes, options: FormatOptions) -> SurveyTable:
    import pyreadstat

    frame, meta = pyreadstat.read_sav(str(path))
    return SurveyTable(frame=frame, value_labels=meta.variable_value_labels, format="sav")


def _dta(path: Path, content: bytes, options: FormatOptions) -> SurveyTable:
    import pyreadstat

    frame, meta = pyreadstat.read_dta(str(path))
    return SurveyTable(frame=frame, value_labels=meta.variable_value_labels, format="dta")
