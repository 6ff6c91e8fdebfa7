"""key-recovery and key-migration rehearsed on SoftHSM; a backup recovered in another process."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sealroom.report.share_sheet import read_share_sheet_words
from tests.fakes import ROOT_SCRIPT

SEALROOM = str(Path(sys.executable).with_name("sealroom"))
SCRIPTS = ROOT_SCRIPT.parent

pytestmark = pytest.mark.softhsm


def _rehearse(script: Path, out: Path, *extra: str) -> None:
    env = dict(os.environ)
    env.pop("SOFTHSM2_CONF", None)
    result = subprocess.run(
        [SEALROOM, "rehearse", str(script), "--out", str(out), *extra],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr


def _data(out: Path, event: str) -> list[dict[str, object]]:
    lines = (out / "journal.jsonl").read_text().splitlines()
    entries = [json.loads(line) for line in lines if line.strip()]
    return [e["data"] for e in entries if e["event"] == event]


def test_key_recovery_rehearses_with_a_stand_in_backup(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _rehearse(SCRIPTS / "key-recovery.yaml", out)
    recovered = _data(out, "key.recovered")[0]
    assert recovered["verified"] is True and recovered["fingerprint_matched"] is True
    assert recovered["unwrapped_as"] == "token object"
    assert recovered["objects_before"] == 0 and recovered["objects_after"] == 2
    expected = recovered["expected"]
    assert isinstance(expected, dict) and expected["stand_in"] is True
    stand_ins = json.loads((out / "rehearsal-inputs" / "stand-in-backups.json").read_text())
    fingerprint = recovered["fingerprint"]
    assert isinstance(fingerprint, dict)
    assert fingerprint["hex"] == stand_ins["r2-backup-b"]["fingerprint"]
    key = recovered["key"]
    assert isinstance(key, dict)
    attributes = key["attributes"]
    assert isinstance(attributes, dict)
    assert attributes.get("SENSITIVE") is True and attributes.get("EXTRACTABLE") is False
    assert _data(out, "ceremony.closed")


def test_key_migration_moves_the_key_and_leaves_the_source_empty(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _rehearse(SCRIPTS / "key-migration.yaml", out)
    made = _data(out, "backup.made")[0]
    moved = _data(out, "key.recovered")[0]
    assert moved["migration"] is True
    assert moved["fingerprint"]["hex"] == made["fingerprint"]["hex"]  # type: ignore[index]
    source, target = moved["source_token"], moved["target_token"]
    assert isinstance(source, dict) and isinstance(target, dict)
    assert source["serial"] != target["token"]["serial"]  # type: ignore[index]
    assert _data(out, "key.destroyed")
    zeroised = _data(out, "token.zeroised")
    assert zeroised and all(not z.get("after") for z in zeroised)
    assert _data(out, "ceremony.closed")


def _member_index(words: tuple[str, ...]) -> int:
    from shamir_mnemonic.share import Share

    return int(Share.from_mnemonic(" ".join(words)).index) + 1


def test_a_backup_is_recovered_in_another_process_and_token_directory(tmp_path: Path) -> None:
    """key-backup rehearsed into DIR1; a separate process recovers into DIR2 from its media."""
    dir1, dir2 = tmp_path / "dir1", tmp_path / "dir2"
    _rehearse(SCRIPTS / "key-backup.yaml", dir1)
    made = _data(dir1, "backup.made")[0]
    spki_der = base64.b64decode(str(made["spki_der_b64"]))
    # The recovery script states what DIR1's backup ceremony journaled.
    text = (SCRIPTS / "key-recovery.yaml").read_text()
    start = text.index("    recovery:\n")
    end = text.index("\n\n", start)
    text = (
        text[:start]
        + "    recovery:\n"
        + f"      made_in: {made.get('backup_id')}-dir1\n"
        + f"      check_value: {made['check_value']}\n"
        + f"      blob_sha256: {made['blob_sha256']}\n"
        + f"      fingerprint: {made['fingerprint']['hex']}\n"  # type: ignore[index]
        + f"      public_key: {made['spki_der_b64']}\n"
        + text[end + 1 :]
    )
    script = tmp_path / "recover-dir1.yaml"
    script.write_text(text)
    # Medium C is DIR1's medium C (the blob as the backup ceremony wrote it).
    (dir2 / "media" / "media-c").mkdir(parents=True)
    name = "r2-backup-b.sealroom-backup"
    shutil.copyfile(dir1 / "media" / "media-c" / name, dir2 / "media" / "media-c" / name)
    # Frank, Hana and Judit type the words on DIR1's printed sheets.
    holders = ["frank", "hana", "ines", "judit", "lena"]
    typed: dict[str, str] = {}
    for sheet in sorted((dir1 / "share-sheets").glob("share-backup-r2-backup-b-*.pdf")):
        words = read_share_sheet_words(sheet)
        custodian = holders[_member_index(words) - 1]
        if custodian in {"frank", "hana", "judit"}:
            typed[custodian] = " ".join(words)
    assert len(typed) == 3
    answers = (SCRIPTS / "key-recovery.answers.yaml").read_text()
    shares = "".join(f"      {c}: [{json.dumps(w)}]\n" for c, w in typed.items())
    answers = re.sub(
        r"(  recover-r2-key:\n(?:    .*\n)*)",
        lambda m: m.group(1) + "    shares:\n" + shares,
        answers,
        count=1,
    )
    answers_path = tmp_path / "recover-dir1.answers.yaml"
    answers_path.write_text(answers)
    _rehearse(script, dir2, "--answers", str(answers_path))
    recovered = _data(dir2, "key.recovered")[0]
    expected = recovered["expected"]
    assert isinstance(expected, dict) and expected["stand_in"] is False
    assert recovered["check_value"] == made["check_value"]
    assert recovered["blob_sha256"] == made["blob_sha256"]
    assert recovered["custodians"] == ["frank", "hana", "judit"]
    assert not (dir2 / "rehearsal-inputs" / "stand-in-backups.json").exists()
    # The recovered key, in DIR2's token, signs; the signature verifies with DIR1's public key.
    message = b"signed in DIR2 by the key DIR1 backed up"
    signature = _sign_in(dir2, message)
    public = serialization.load_der_public_key(spki_der)
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(signature, message, ec.ECDSA(hashes.SHA384()))


def _sign_in(out: Path, message: bytes) -> bytes:
    """Sign ``message`` with the recovered key on ``out``'s rehearsal token, in a new process."""
    code = f"""
import sys
from pathlib import Path
from sealroom.ceremony.loader import load_script
from sealroom.hsm.softhsm import SOFTHSM_MODULE
from sealroom.hsm.token import Pkcs11Hsm
spec = load_script(Path({str(SCRIPTS / "key-recovery.yaml")!r})).script.key("r2-key")
with Pkcs11Hsm.open(SOFTHSM_MODULE, "exr-root-r2", max_pin_attempts=3) as hsm:
    hsm.login("7209-2027")
    key = hsm.find_key(spec)
    sys.stdout.write(key.sign({message!r}, "sha384").hex())
    hsm.logout()
"""
    env = dict(os.environ, SOFTHSM2_CONF=str(out / "softhsm" / "softhsm2.conf"))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    return bytes.fromhex(result.stdout.strip())
