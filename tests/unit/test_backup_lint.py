"""Lint of backups: media are media, the restore token an HSM, the restore custodians k holders."""

from __future__ import annotations

from pathlib import Path

from sealroom.ceremony.loader import lint_findings
from sealroom.ceremony.source import Finding

SCRIPT = Path(__file__).resolve().parents[2] / "ceremony_scripts" / "key-backup.yaml"
TEXT = SCRIPT.read_text()


def _lint(tmp_path: Path, old: str, new: str) -> list[Finding]:
    assert TEXT.count(old) == 1, old
    path = tmp_path / "key-backup.yaml"
    path.write_text(TEXT.replace(old, new))
    return lint_findings(path)[2]


def _messages(findings: list[Finding]) -> list[str]:
    return [f"{f.rule} {f.message}" for f in findings]


def test_the_key_backup_script_lints_clean() -> None:
    assert lint_findings(SCRIPT)[2] == []


def test_restore_custodians_must_be_exactly_the_threshold(tmp_path: Path) -> None:
    found = _messages(
        _lint(
            tmp_path,
            "restore_test_custodians: [frank, hana, ines]",
            "restore_test_custodians: [frank, hana]",
        )
    )
    assert found == [
        "S-QUORUM backups[0].restore_test_custodians lists 2 custodian(s); the restore test "
        "uses exactly the threshold, 3"
    ]


def test_restore_custodians_must_hold_a_share_once(tmp_path: Path) -> None:
    found = _messages(
        _lint(
            tmp_path,
            "restore_test_custodians: [frank, hana, ines]",
            "restore_test_custodians: [frank, frank, dan]",
        )
    )
    assert any("[1]: 'frank' is named twice" in m for m in found)
    assert any("[2]: 'dan' holds no share of r2-backup-b" in m for m in found)


def test_a_restore_tested_backup_names_its_custodians(tmp_path: Path) -> None:
    found = _messages(_lint(tmp_path, "    restore_test_custodians: [frank, hana, ines]\n", ""))
    assert any("names no restore_test_custodians" in m for m in found)


def test_media_must_be_media_and_the_restore_token_an_hsm(tmp_path: Path) -> None:
    found = _messages(
        _lint(
            tmp_path,
            "    media: [media-c, media-d]\n    restore_test_token: backup-hsm\n",
            "    media: [media-c, printer]\n    restore_test_token: media-d\n",
        )
    )
    assert any("'printer' is a printer, not media" in m for m in found)
    assert any("'media-d' is a media, not an hsm" in m for m in found)


def test_share_holders_hold_the_custodian_role(tmp_path: Path) -> None:
    found = _messages(
        _lint(tmp_path, "{share: share-b5, custodian: lena}", "{share: share-b5, custodian: dan}")
    )
    assert any("'dan' holds no custodian role" in m for m in found)


def test_the_backed_up_key_must_be_extractable_for_backup(tmp_path: Path) -> None:
    found = _messages(_lint(tmp_path, "    backup: true\n", "    backup: false\n"))
    assert any(
        "S-KEY-USE backups[0].key: 'r2-key' is generated non-extractable" in m for m in found
    )
