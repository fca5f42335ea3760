"""The parsed form every source hands to validation and load."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd


@dataclass
class ParsedDataset:
    """Frames keyed by target table (``dw.dim_country``, ``dw.fact_…``), as parquet between tasks."""

    frames: dict[str, pd.DataFrame]

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for table, frame in self.frames.items():
            frame.to_parquet(directory / f"{table}.parquet", index=False)

    @classmethod
    def read(cls, directory: Path, tables: tuple[str, ...] | None = None) -> ParsedDataset:
        """Every frame in ``directory``, or only those of ``tables``."""
        paths = sorted(Path(directory).glob("*.parquet"))
        if not paths:
            raise FileNotFoundError(f"No parsed frames in {directory}: run the parse step first")
        return cls(frames={p.stem: pd.read_parquet(p) for p in paths if tables is None or p.stem in tables})
