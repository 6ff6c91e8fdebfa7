"""custodian-change rehearses on SoftHSM: new sheets give the backup's KCV, the old set is void."""

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

SEALROOM = str(Path(sys.executable).with_name("sealroom"))
SCRIPT = Path(__file__).resolve().parents[2] / "ceremony_scripts" / "custodian-change.yaml"

pytestmark = pytest.mark.softhsm


def _journal(out: Path) -> list[dict[str, object]]:
    lines = (out / "journal.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_custodian_change_rehearses_and_the_new_sheets_open_the_backup(tmp_path: Path) -> None:
    out = tmp_path / "cc"
    env = dict(os.environ)
    env.pop("SOFTHSM2_CONF", None)
    result = subprocess.run(
        [SEALROOM, "rehearse", "--out", str(out), str(SCRIPT)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    entries = _journal(out)
    events = [e["event"] for e in entries]
    voided = next(e["data"] for e in entries if e["event"] == "shares.voided")
    resplit = next(e["data"] for e in entries if e["event"] == "backup.resplit")
    assert isinstance(voided, dict) and isinstance(resplit, dict)
    assert events.index("shares.voided") < events.index("backup.resplit")
    # the journal names the voided set, its holders (the leaver too) and why
    assert voided["backup_id"] == "r2-backup-a"
    assert voided["set_identifier"] == resplit["old_set_identifier"]
    assert voided["set_identifier"] != resplit["set_identifier"]
    assert [h["custodian"] for h in voided["holders"]][-1] == "kemal"
    assert "Kemal Aydin" in str(voided["reason"])
    assert resplit["unwrapped_as"] == "session object"
    assert resplit["objects_before"] == resplit["objects_after"]
    # three of the new sheets, read off their PDFs, combine to a KEK with the backup's KCV
    sheets = out / "share-sheets"
    new = [
        sheets / f"share-backup-r2-backup-a-key-encryption-key-share-{i}-of-5.pdf"
        for i in (1, 3, 5)
    ]
    words = [read_share_sheet_words(path) for path in new]
    kek = combine_mnemonics([" ".join(w) for w in words])
    assert kek_check_value(kek).upper() == str(resplit["check_value"]).upper()
    # no new word in the journal
    text = (out / "journal.jsonl").read_text().lower()
    for share in words:
        assert " ".join(share[:3]) not in text
