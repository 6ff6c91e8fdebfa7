"""key-backup rehearsed on SoftHSM: sheets, media, a real restore test, and no secret left."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from shamir_mnemonic import combine_mnemonics

from sealroom.backup.kek import kek_check_value
from sealroom.report.share_sheet import read_share_sheet_words
from tests.fakes import ROOT_SCRIPT
from tests.leaks import share_run_in

SEALROOM = str(Path(sys.executable).with_name("sealroom"))
SCRIPT = ROOT_SCRIPT.parent / "key-backup.yaml"

pytestmark = pytest.mark.softhsm


def _entries(out: Path) -> list[dict[str, object]]:
    lines = (out / "journal.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _data(out: Path, event: str) -> list[dict[str, object]]:
    return [e["data"] for e in _entries(out) if e["event"] == event]  # type: ignore[misc]


@pytest.fixture(scope="module")
def rehearsed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("key-backup") / "out"
    env = dict(os.environ)
    env.pop("SOFTHSM2_CONF", None)
    result = subprocess.run(
        [SEALROOM, "rehearse", str(SCRIPT), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    return out


def test_the_restore_test_really_unwrapped_signed_verified_and_emptied_the_token(
    rehearsed: Path,
) -> None:
    made = _data(rehearsed, "backup.made")[0]
    tested = _data(rehearsed, "restore.tested")[0]
    assert tested["passed"] is True and tested["verified"] is True
    assert tested["check_value"] == made["check_value"]
    assert tested["blob_sha256"] == made["blob_sha256"]
    assert tested["unwrapped_as"] == "session object"
    restored = tested["restored_fingerprint"]
    assert isinstance(restored, dict)
    fingerprint = made["fingerprint"]
    assert isinstance(fingerprint, dict) and restored["hex"] == fingerprint["hex"]
    assert tested["objects_after_zeroise"] == 0
    token = tested["restore_token"]
    assert isinstance(token, dict) and token["stand_in"] is True
    assert _data(rehearsed, "ceremony.closed")


def test_the_blob_on_every_medium_is_the_journaled_one(rehearsed: Path) -> None:
    import hashlib

    made = _data(rehearsed, "backup.made")[0]
    for material in ("media-c", "media-d"):
        blob = (rehearsed / "media" / material / "r2-backup-b.sealroom-backup").read_bytes()
        assert hashlib.sha256(blob).hexdigest() == made["blob_sha256"]
        assert blob.startswith(b"-----BEGIN SEALROOM WRAPPED KEY-----")


def test_the_words_on_the_sheets_combine_to_a_kek_with_the_printed_kcv(rehearsed: Path) -> None:
    made = _data(rehearsed, "backup.made")[0]
    sheets = sorted((rehearsed / "share-sheets").glob("share-backup-r2-backup-b-*.pdf"))
    assert len(sheets) == 5
    words = [read_share_sheet_words(sheet) for sheet in sheets]
    assert all(len(w) == 33 for w in words)
    for chosen in ((0, 1, 2), (2, 3, 4), (0, 2, 4)):
        kek = combine_mnemonics([" ".join(words[i]) for i in chosen])
        assert kek_check_value(kek) == made["check_value"]
    # the KCV is printed on each sheet
    text = subprocess.run(
        ["pdftotext", str(sheets[0]), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert str(made["check_value"]) in text


def test_no_file_the_ceremony_wrote_holds_a_share_word_or_the_kek(rehearsed: Path) -> None:
    sheets = sorted((rehearsed / "share-sheets").glob("*.pdf"))
    words = [read_share_sheet_words(sheet) for sheet in sheets]
    kek = combine_mnemonics([" ".join(w) for w in words[:3]])
    for path in rehearsed.rglob("*"):
        if not path.is_file() or path.parent.name == "share-sheets" or "softhsm" in path.parts:
            continue
        data = path.read_bytes()
        assert kek not in data, path
        text = data.decode("latin-1").lower()
        for share in words:
            assert share_run_in(share, text) is None, path


def test_each_sheet_rendered_to_png_decodes_its_qr_to_its_words_which_combine_to_the_kcv(
    rehearsed: Path, tmp_path: Path
) -> None:
    from sealroom.transfer.scan import decode_image

    made = _data(rehearsed, "backup.made")[0]
    sheets = sorted((rehearsed / "share-sheets").glob("share-backup-r2-backup-b-*.pdf"))
    scanned: list[str] = []
    for number, sheet in enumerate(sheets):
        prefix = tmp_path / f"sheet-{number}"
        subprocess.run(
            ["pdftoppm", "-r", "150", "-gray", "-png", str(sheet), str(prefix)],
            check=True,
            timeout=120,
        )
        pages = sorted(tmp_path.glob(f"sheet-{number}*.png"))
        assert len(pages) == 1, "a share sheet is one page"
        texts = decode_image(pages[0])
        assert len(texts) == 1, "one QR code per sheet"
        # The QR holds the same words, in the same order, as the numbered columns.
        assert texts[0].split() == list(read_share_sheet_words(sheet))
        scanned.append(texts[0])
    kek = combine_mnemonics(scanned[:3])
    assert kek_check_value(kek) == made["check_value"]
