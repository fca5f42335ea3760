"""Raw landing: every payload is kept unchanged, with its sha256, URL, fetch time and release.

Layout: ``<data_dir>/raw/<source>/<landing_id>/<file>`` plus ``manifest.json`` in the same
folder. A landing folder is written once and never modified; the manifest is written last,
so a folder without a manifest is an interrupted fetch and is never read.

A landing is trusted only where it was written: :func:`verified_landing` reads one only from a
folder directly under ``<raw_dir>/<source>/`` (no link on the way, no ``..``), with file names
that stay inside it, and recomputes every file's sha256 and size against the manifest before
anything reads the payloads (a forged or edited landing cannot pass as a genuine release).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from diaspora.errors import DiasporaError

MANIFEST_NAME = "manifest.json"
# What Landing writes (a UTC timestamp), and what a folder or file name may be: no separator, no "..".
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class LandingRefused(DiasporaError):
    """A landing that is not where this deploy writes landings, or whose files are not what its
    manifest says: nothing in it is read."""


def sha256_bytes(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def file_sha256(path: Path) -> str:
    """The sha256 of a file, read in 1 MiB blocks (a landed workbook or a survey file)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
        manifest = cls(**payload)
        if not SAFE_NAME.match(manifest.landing_id) or not SAFE_NAME.match(manifest.source):
            raise LandingRefused(
                f"{path}: source {manifest.source!r} or landing_id {manifest.landing_id!r} is not a plain "
                "folder name"
            )
        manifest.directory = str(path.parent)  # where it is, not where the manifest says it was
        return manifest


class Landing:
    """Writes the payloads of one extract run into a new, immutable landing folder."""

    def __init__(self, raw_dir: Path, source: str, now: datetime | None = None):
        now = now or datetime.now(UTC)
        landing_id = now.strftime("%Y%m%dT%H%M%S%fZ")
        self.directory = Path(raw_dir) / source / landing_id
        self.directory.mkdir(parents=True, exist_ok=False)
        self.manifest = Manifest(source=source, landing_id=landing_id, directory=str(self.directory))

    def store(self, name: str, url: str, content: bytes, fetched_at: datetime, **meta) -> LandedFile:
        """Write one payload byte for byte; refuses to overwrite, and a name that is not a plain
        relative path (it would be refused when the landing is read)."""
        if Path(name).is_absolute() or not all(SAFE_NAME.match(part) for part in Path(name).parts):
            raise LandingRefused(f"{self.directory}: {name!r} is not a plain file name for a landed payload")
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


def verified_landing(raw_dir: Path, folder: Path | str, source: str | None = None) -> Manifest:
    """The manifest of the landing in ``folder``, once the folder is known to be a landing this
    deploy wrote (directly under ``raw_dir/<source>/``, its own name its landing id, no link) and
    every file's sha256 and size are recomputed and equal to the manifest's."""
    folder = Path(folder)
    root = Path(raw_dir).resolve()
    where = f"landings are read only from {root}/<source>/<landing id>/"
    if ".." in folder.parts:
        raise LandingRefused(f"{folder}: '..' is refused in a landing reference; {where}")
    if folder.is_symlink() or (folder / MANIFEST_NAME).is_symlink():
        raise LandingRefused(f"{folder} is a link: {where}")
    if folder.resolve().parent.parent != root:  # nothing outside the landing folder is even opened
        raise LandingRefused(f"{folder} is not a landing of this deploy: {where}")
    manifest = Manifest.read(folder)
    expected = root / manifest.source / manifest.landing_id
    if folder.resolve() != expected:  # a link on the way, or a manifest naming another folder
        raise LandingRefused(f"{folder} is not a landing of this deploy: {where}")
    if source is not None and manifest.source != source:
        raise LandingRefused(f"{folder} is a landing of {manifest.source}, not of {source}")
    for landed in manifest.files:
        _verify_file(expected, landed)
    manifest.directory = str(expected)
    return manifest


def _verify_file(folder: Path, landed: LandedFile) -> None:
    parts = Path(landed.name).parts
    if not parts or Path(landed.name).is_absolute() or not all(SAFE_NAME.match(p) for p in parts):
        raise LandingRefused(f"{folder / MANIFEST_NAME}: file name {landed.name!r} leaves the landing folder")
    path = folder.joinpath(*parts)
    if any(p.is_symlink() for p in [path, *path.parents] if p.is_relative_to(folder)):
        raise LandingRefused(f"{path} is a link: a landed file is read only as it was written")
    try:
        size, digest = path.stat().st_size, file_sha256(path)
    except FileNotFoundError as exc:
        raise LandingRefused(f"{path}: listed in the landing's manifest but missing") from exc
    if size != landed.size or digest != landed.sha256:
        raise LandingRefused(
            f"{path}: sha256 {digest} ({size:,} bytes) differs from the manifest's {landed.sha256} "
            f"({landed.size:,} bytes): the landed file was changed after it was fetched; nothing is read"
        )
