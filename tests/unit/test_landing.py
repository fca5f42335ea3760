"""A landing is trusted only where this deploy wrote it, and only while its files are what its
manifest says (synthetic payloads: the bytes do not matter, their hashes do)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from diaspora import pipeline
from diaspora.landing import MANIFEST_NAME, Landing, LandingRefused, verified_landing

SOURCE = "undesa_migrant_stock"


def _land(raw_dir: Path, files: dict[str, bytes], label: str = "IMS 2024") -> Path:
    landing = Landing(raw_dir, SOURCE)
    for name, content in files.items():
        landing.store(name, f"https://example.org/{name}", content, datetime.now(UTC))
    return Path(landing.finish(label).directory)


def _rewrite_manifest(folder: Path, **changes) -> None:
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    manifest.update(changes)
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest))


def test_a_landing_written_here_and_unchanged_is_read(tmp_path):
    folder = _land(tmp_path / "raw", {"stock.xlsx": b"PK synthetic", "pages/page-0001.json": b"[]"})

    manifest = verified_landing(tmp_path / "raw", folder, SOURCE)

    assert manifest.directory == str(folder.resolve())
    assert [f.name for f in manifest.files] == ["stock.xlsx", "pages/page-0001.json"]


def test_a_file_changed_after_it_was_fetched_is_refused_naming_it(tmp_path):
    folder = _land(tmp_path / "raw", {"stock.xlsx": b"PK synthetic"})
    (folder / "stock.xlsx").write_bytes(b"PK forged rows")

    with pytest.raises(LandingRefused, match=r"stock\.xlsx: sha256 .* differs from the manifest's"):
        verified_landing(tmp_path / "raw", folder)


def test_a_file_missing_from_its_landing_is_refused(tmp_path):
    folder = _land(tmp_path / "raw", {"stock.xlsx": b"PK synthetic"})
    (folder / "stock.xlsx").unlink()

    with pytest.raises(LandingRefused, match="listed in the landing's manifest but missing"):
        verified_landing(tmp_path / "raw", folder)


def test_a_self_consistent_landing_outside_the_landing_folder_is_refused(tmp_path):
    """A forged landing with correct hashes and a genuine label, written anywhere else."""
    forged = _land(tmp_path / "elsewhere", {"stock.xlsx": b"PK forged"})

    with pytest.raises(LandingRefused, match="not a landing of this deploy"):
        verified_landing(tmp_path / "raw", forged, SOURCE)


def test_a_link_to_a_landing_is_refused(tmp_path):
    real = _land(tmp_path / "raw", {"stock.xlsx": b"PK synthetic"})
    (tmp_path / "raw" / SOURCE / "20990101T000000000000Z").symlink_to(real)
    forged = _land(tmp_path / "elsewhere", {"stock.xlsx": b"PK forged"})
    link = tmp_path / "raw" / SOURCE / forged.name
    shutil.rmtree(link, ignore_errors=True)
    link.symlink_to(forged)

    with pytest.raises(LandingRefused, match="is a link"):
        verified_landing(tmp_path / "raw", tmp_path / "raw" / SOURCE / "20990101T000000000000Z")
    with pytest.raises(LandingRefused, match="is a link"):
        verified_landing(tmp_path / "raw", link)


def test_a_landed_file_replaced_by_a_link_is_refused(tmp_path):
    folder = _land(tmp_path / "raw", {"stock.xlsx": b"PK synthetic"})
    secret = tmp_path / "secret"
    secret.write_bytes(b"PK synthetic")  # same bytes, same hash: only the link gives it away
    (folder / "stock.xlsx").unlink()
    (folder / "stock.xlsx").symlink_to(secret)

    with pytest.raises(LandingRefused, match=r"stock\.xlsx is a link"):
        verified_landing(tmp_path / "raw", folder)


@pytest.mark.parametrize("name", ["../../secret", "/etc/passwd", "a/../../b", ".hidden"])
def test_a_file_name_that_leaves_the_landing_is_refused(tmp_path, name):
    folder = _land(tmp_path / "raw", {"stock.xlsx": b"PK synthetic"})
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    manifest["files"][0]["name"] = name
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest))

    with pytest.raises(LandingRefused, match="leaves the landing folder"):
        verified_landing(tmp_path / "raw", folder)


def test_a_landing_id_or_source_that_is_a_path_is_refused(tmp_path):
    folder = _land(tmp_path / "raw", {"stock.xlsx": b"PK synthetic"})
    _rewrite_manifest(folder, landing_id="../../../tmp/x")

    with pytest.raises(LandingRefused, match="is not a plain folder name"):
        verified_landing(tmp_path / "raw", folder)


def test_landing_store_refuses_a_name_that_is_not_plain(tmp_path):
    landing = Landing(tmp_path / "raw", SOURCE)
    with pytest.raises(LandingRefused, match="not a plain file name"):
        landing.store("../escape.json", "https://example.org/x", b"{}", datetime.now(UTC))
    assert not (tmp_path / "raw" / SOURCE / "escape.json").exists()


def test_a_backfill_reference_is_a_label_an_id_or_a_folder_of_the_source(tmp_path, make_settings):
    settings = make_settings()
    genuine = _land(settings.raw_dir, {"stock.xlsx": b"PK synthetic"})
    forged = _land(tmp_path / "forged", {"stock.xlsx": b"PK forged"})

    assert pipeline.stored_landing(SOURCE, genuine.name, settings) == str(genuine.resolve())
    assert pipeline.stored_landing(SOURCE, str(genuine), settings) == str(genuine.resolve())
    escapes = (str(forged), f"../../{forged.relative_to(tmp_path)}", f"{genuine}/../{genuine.name}/..")
    for reference in escapes:
        with pytest.raises(LandingRefused):
            pipeline.stored_landing(SOURCE, reference, settings)


def test_parse_recomputes_the_hashes_before_reading_a_byte(tmp_path, make_settings):
    settings = make_settings()
    folder = _land(settings.raw_dir, {"stock.xlsx": b"PK synthetic"})
    (folder / "stock.xlsx").write_bytes(b"PK synthetic, edited")

    with pytest.raises(LandingRefused, match="changed after it was fetched"):
        pipeline.parse(str(folder), settings)
    assert not (settings.parsed_dir / SOURCE).exists()
