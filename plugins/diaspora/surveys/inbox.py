"""The survey inbox: files dropped in, moved out to archive/<date>/ or quarantine/ — never lost.

A quarantined file gets ``<file>.error.json`` beside it listing every reason. A name already
taken in the target folder is kept apart with a time suffix, so no file overwrites another.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Inbox:
    """``inbox/`` (where files land), ``archive/<date>/`` and ``quarantine/`` beside it."""

    def __init__(self, inbox: Path):
        self.inbox = Path(inbox)
        self.archive_root = self.inbox.parent / "archive"
        self.quarantine_dir = self.inbox.parent / "quarantine"
        self.inbox.mkdir(parents=True, exist_ok=True)

    def pending(self) -> list[Path]:
        """Files waiting, oldest first; hidden and partial (.tmp, .part) files are still arriving."""
        files = [
            p
            for p in self.inbox.iterdir()
            if p.is_file() and not p.name.startswith(".") and p.suffix not in (".tmp", ".part")
        ]
        return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))

    def archive(self, path: Path, day: date | None = None) -> Path:
        target_dir = self.archive_root / (day or datetime.now(UTC).date()).isoformat()
        return self._move(path, target_dir)

    def quarantine(self, path: Path, reasons: list[str], survey_id: str | None = None) -> Path:
        """Move ``path`` to quarantine/ with a JSON report of every reason."""
        sha256 = file_sha256(path)
        target = self._move(path, self.quarantine_dir)
        report = {
            "file": path.name,
            "quarantined_as": target.name,
            "sha256": sha256,
            "survey_id": survey_id,
            "reasons": reasons,
            "quarantined_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        target.with_name(target.name + ".error.json").write_text(
            json.dumps(report, indent=2, ensure_ascii=False)
        )
        return target

    @staticmethod
    def _move(path: Path, target_dir: Path) -> Path:
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / path.name
        if target.exists():
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            target = target_dir / f"{path.stem}.{stamp}{path.suffix}"
        shutil.move(str(path), target)
        return target
