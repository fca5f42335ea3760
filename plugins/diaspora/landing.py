"""Raw landing: every payload is kept unchanged, with its sha256, URL, fetch time and release.

Layout: ``<data_dir>/raw/<source>/<landing_id>/<file>`` plus ``manifest.json`` in the same
folder. A landing folder is written once and never modified; the manifest is written last,
so a folder without a manifest is an interrupted fetch and is never read.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from diaspora.errors import DiasporaError

MANIFEST_NAME = "manifest.json"


def sha256_bytes(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@dataclass
class LandedFile:
    name: str
    url: str
    sha256: str
    size: int
    fetched_at: str
    meta: dict = field(default_factory=dict)


@dataclass
class Manifest:
    """What one extract run fetched, and the release the publisher says it is."""

    source: str
    landing_id: str
    directory: str
    release_label: str | None = None
    files: list[LandedFile] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    @property
    def content_sha256(self) -> str:
        """Hash of the whole payload set: equal iff every file is byte-identical."""
        digest = hashlib.sha256()
        for landed in sorted(self.files, key=lambda f: f.name):
            digest.update(f"{landed.name}\0{landed.sha256}\n".encode())
        return digest.hexdigest()

    @property
    def fetched_at(self) -> str:
        return min((f.fetched_at for f in self.files), default=self.landing_id)

    def path_of(self, name: str) -> Path:
        return Path(self.directory) / name

    def to_json(self) -> str:
        payload = asdict(self)
        payload["content_sha256"] = self.content_sha256
        return json.dumps(payload, indent=2, sort_keys=True)

    @classmethod
    def read(cls, path: Path | str) -> Manifest:
        path = Path(path)
        if path.is_dir():
            path = path / MANIFEST_NAME
        try:
            payload = json.loads(path.read_text())
        except FileNotFoundError as exc:
            raise DiasporaError(f"No landing manifest at {path}: the extract did not finish.") from exc
        payload.pop("content_sha256", None)
        payload["files"] = [LandedFile(**f) for f in payload["files"]]
        return cls(**payload)


class Landing:
    """Writes the payloads of one extract run into a new, immutable landing folder."""

    def __init__(self, raw_dir: Path, source: str, now: datetime | None = None):
        now = now or datetime.now(UTC)
        landing_id = now.strftime("%Y%m%dT%H%M%S%fZ")
        self.directory = Path(raw_dir) / source / landing_id
        self.directory.mkdir(parents=True, exist_ok=False)
        self.manifest = Manifest(source=source, landing_id=landing_id, directory=str(self.directory))

    def store(self, name: str, url: str, content: bytes, fetched_at: datetime, **meta) -> LandedFile:
        """Write one payload byte for byte; refuses to overwrite."""
        target = self.directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "xb") as handle:
            handle.write(content)
        landed = LandedFile(
            name=name,
            url=url,
            sha256=sha256_bytes(content),
            size=len(content),
            fetched_at=fetched_at.isoformat(),
            meta=meta,
        )
        self.manifest.files.append(landed)
        return landed

    def finish(self, release_label: str | None, **meta) -> Manifest:
        """Record the release and write the manifest atomically: the landing is now complete."""
        self.manifest.release_label = release_label
        self.manifest.meta.update(meta)
        tmp = self.directory / (MANIFEST_NAME + ".tmp")
        tmp.write_text(self.manifest.to_json())
        os.replace(tmp, self.directory / MANIFEST_NAME)
        return self.manifest
