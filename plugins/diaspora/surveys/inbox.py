"""The survey inbox: files dropped in, moved out to archive/<date>/ or quarantine/ — never lost.

A quarantined file gets ``<file>.error.json`` beside it listing every reason. A name already
taken in the target folder is kept apart with a time suffix, so no file overwrites another.

A file is taken only once it is complete: not hidden, not ``.tmp``/``.part``, and unchanged
(size and mtime) for ``settle_seconds``: a file still being copied keeps changing. Links are
never followed (a link in the inbox is left where it is, with a warning), and nothing outside
the inbox is read or moved. ``attempts/`` beside the inbox counts the tries at each file that
ended with the worker gone (killed, out of memory), so such a file is quarantined after
``DIASPORA_SURVEY_MAX_ATTEMPTS`` instead of being retried forever.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from datetime import UTC, date, datetime
from pathlib import Path

from diaspora.errors import DiasporaError
from diaspora.landing import file_sha256

log = logging.getLogger(__name__)


class InboxRefused(DiasporaError):
    """A path that is not a regular file of the inbox (a link, or elsewhere): never read or moved."""


class Inbox:
    """``inbox/`` (where files land), ``archive/<date>/`` and ``quarantine/`` beside it."""

    def __init__(self, inbox: Path):
        self.inbox = Path(inbox)
        self.archive_root = self.inbox.parent / "archive"
        self.quarantine_dir = self.inbox.parent / "quarantine"
        self.attempts_dir = self.inbox.parent / "attempts"
        self.inbox.mkdir(parents=True, exist_ok=True)

    def pending(self, settle_seconds: float = 0.0) -> list[Path]:
        """Files waiting, oldest first; hidden, partial (.tmp, .part) and still-changing files are
        still arriving; links are left alone."""
        files = []
        for path in self.inbox.iterdir():
            if path.name.startswith(".") or path.suffix in (".tmp", ".part"):
                continue
            if path.is_symlink():
                log.warning(
                    "Survey inbox: %s is a link; links are never followed: replace it with the file", path
                )
                continue
            if path.is_file() and self.settled(path, settle_seconds):
                files.append(path)
        return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))

    @staticmethod
    def settled(path: Path, settle_seconds: float) -> bool:
        """Unchanged for ``settle_seconds``: its mtime is that old (a copy in progress keeps touching it)."""
        return time.time() - path.stat().st_mtime >= settle_seconds

    def own(self, path: Path) -> Path:
        """``path`` if it is a regular file directly in the inbox; InboxRefused otherwise."""
        path = Path(path)
        if path.is_symlink():
            raise InboxRefused(f"{path} is a link: survey files are read only as regular files of the inbox")
        if path.resolve().parent != self.inbox.resolve() or not path.is_file():
            raise InboxRefused(
                f"{path} is not a file of the survey inbox {self.inbox}: it is neither read nor moved"
            )
        return path

    def attempt(self, path: Path) -> int:
        """Count one more try at ``path`` (as it is now: name, size, mtime); return the tries so far."""
        marker = self._attempt_marker(path)
        tries = int(marker.read_text() or 0) + 1 if marker.exists() else 1
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(str(tries))
        return tries

    def forget_attempts(self, path: Path) -> None:
        """The try ended in Python (loaded, quarantined, or an error that will be retried)."""
        self._attempt_marker(path).unlink(missing_ok=True)

    def _attempt_marker(self, path: Path) -> Path:
        stat = path.stat()
        key = hashlib.sha256(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()[:24]
        return self.attempts_dir / key

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
