"""The backup media in folders: written once, read back, and an abandoned blob destroyed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sealroom.backup.keybackup import FolderKeyBackup, MediaError
from sealroom.errors import OutputExistsError

NAME = "root-backup-a.sealroom-backup"


def _media(tmp_path: Path) -> FolderKeyBackup:
    (tmp_path / "a").mkdir()
    return FolderKeyBackup({"media-a": tmp_path / "a"})


def test_a_blob_is_written_once_and_read_back(tmp_path: Path) -> None:
    media = _media(tmp_path)
    path = media.write_medium("media-a", NAME, b"blob")
    assert Path(path).read_bytes() == media.read_medium("media-a", NAME) == b"blob"
    with pytest.raises(OutputExistsError, match="never overwrites a backup"):
        media.write_medium("media-a", NAME, b"other")
    assert media.read_medium("media-a", NAME) == b"blob"


def test_the_blob_this_ceremony_wrote_is_destroyed_and_only_that_one(tmp_path: Path) -> None:
    media = _media(tmp_path)
    assert media.discard_medium("media-a", NAME, "00" * 32) is None  # nothing there
    path = media.write_medium("media-a", NAME, b"the abandoned blob")
    with pytest.raises(MediaError, match="is not the blob this ceremony wrote"):
        media.discard_medium("media-a", NAME, hashlib.sha256(b"another").hexdigest())
    assert Path(path).read_bytes() == b"the abandoned blob"  # left untouched
    digest = hashlib.sha256(b"the abandoned blob").hexdigest()
    assert media.discard_medium("media-a", NAME, digest) == path
    assert not Path(path).exists()
