"""Files move into place without replacing one, also where there are no hard links (FAT)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from sealroom import files
from sealroom.errors import OutputExistsError, TransferError
from sealroom.files import move_no_replace
from sealroom.outputs import OutputFolder
from sealroom.transfer.cli import write_new_file


@pytest.fixture(params=["hard links", "FAT"])
def filesystem(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test runs here, and again as on the evidence medium: link(2) refused with EPERM."""
    if request.param == "FAT":

        def no_link(src: object, dst: object) -> None:
            raise OSError(errno.EPERM, "Operation not permitted")

        monkeypatch.setattr(files.os, "link", no_link)
    return str(request.param)


def test_a_file_moves_to_a_free_name(tmp_path: Path, filesystem: str) -> None:
    (tmp_path / "a").write_bytes(b"evidence")
    move_no_replace(tmp_path / "a", tmp_path / "b")
    assert not (tmp_path / "a").exists()
    assert (tmp_path / "b").read_bytes() == b"evidence"


def test_an_existing_file_is_never_replaced(tmp_path: Path, filesystem: str) -> None:
    (tmp_path / "a").write_bytes(b"new")
    (tmp_path / "b").write_bytes(b"recorded before")
    with pytest.raises(FileExistsError):
        move_no_replace(tmp_path / "a", tmp_path / "b")
    assert (tmp_path / "b").read_bytes() == b"recorded before"
    assert (tmp_path / "a").read_bytes() == b"new"


def test_other_failures_are_not_mistaken_for_a_missing_hard_link(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        move_no_replace(tmp_path / "missing", tmp_path / "b")


def test_a_resumed_ceremony_sets_an_output_aside_on_either_filesystem(
    tmp_path: Path, filesystem: str
) -> None:
    folder = OutputFolder(tmp_path)
    folder.write_once("report.pdf", b"half a report")
    aside = folder.set_aside("report.pdf", ".interrupted-1")
    assert aside == str(tmp_path / "report.pdf.interrupted-1")
    assert sorted(os.listdir(tmp_path)) == ["report.pdf.interrupted-1"]
    folder.write_once("report.pdf", b"half again")
    (tmp_path / "report.pdf.interrupted-2").write_bytes(b"")
    with pytest.raises(OutputExistsError, match="that file exists too"):
        folder.set_aside("report.pdf", ".interrupted-2")
    assert (tmp_path / "report.pdf").read_bytes() == b"half again"


def test_the_companion_writes_a_received_file_on_either_filesystem(
    tmp_path: Path, filesystem: str
) -> None:
    write_new_file(tmp_path / "csr.der", b"payload")
    assert (tmp_path / "csr.der").read_bytes() == b"payload"
    assert os.listdir(tmp_path) == ["csr.der"]  # no temporary file left behind
    with pytest.raises(TransferError, match="already exists"):
        write_new_file(tmp_path / "csr.der", b"other")
    assert (tmp_path / "csr.der").read_bytes() == b"payload"
