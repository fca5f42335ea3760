"""The parsed form every source hands to validation and load."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

RELEASE_FILE = "release.json"
NOTICES_FILE = "notices.json"


@dataclass(frozen=True)
class ReleaseAbout:
    """What a payload says about its own release (an edition's title rows, say), over what the
    extract could tell: the label, and the citation and licence that travel with the release."""

    label: str | None = None
    citation: str | None = None
    licence: str | None = None
    details: dict = field(default_factory=dict)  # e.g. the edition's reference years


@dataclass(frozen=True)
class ParseNotice:
    """Something in the payload that the parser keeps out of the warehouse without refusing the
    release (a field it does not know): validation reports it as a warning, the landing keeps it."""

    kind: str  # e.g. unknown_field
    field: str  # the field, column or code concerned
    count: int  # items or rows that carry it
    why: str  # what it means and what to decide


@dataclass
class ParsedDataset:
    """Frames keyed by target table (``dw.dim_country``, ``dw.fact_…``), as parquet between tasks,
    with what the payload says about its release and the notices the parser raised."""

    frames: dict[str, pd.DataFrame]
    release: ReleaseAbout | None = None
    notices: list[ParseNotice] = field(default_factory=list)

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for table, frame in self.frames.items():
            frame.to_parquet(directory / f"{table}.parquet", index=False)
        if self.release is not None:
            (directory / RELEASE_FILE).write_text(json.dumps(asdict(self.release), indent=1))
        else:  # a re-parse by a parser that says nothing about the release
            (directory / RELEASE_FILE).unlink(missing_ok=True)
        (directory / NOTICES_FILE).write_text(json.dumps([asdict(n) for n in self.notices], indent=1))

    @classmethod
    def read(cls, directory: Path, tables: tuple[str, ...] | None = None) -> ParsedDataset:
        """Every frame in ``directory``, or only those of ``tables``."""
        directory = Path(directory)
        paths = sorted(directory.glob("*.parquet"))
        if not paths:
            raise FileNotFoundError(f"No parsed frames in {directory}: run the parse step first")
        release = directory / RELEASE_FILE
        notices = directory / NOTICES_FILE
        return cls(
            frames={p.stem: pd.read_parquet(p) for p in paths if tables is None or p.stem in tables},
            release=ReleaseAbout(**json.loads(release.read_text())) if release.exists() else None,
            notices=[ParseNotice(**n) for n in json.loads(notices.read_text())] if notices.exists() else [],
        )
