"""A rehearsal's share sheets are found again by a resumed process, from the sheets folder alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from shamir_mnemonic.wordlist import WORDLIST

from sealroom.ceremony.backup import kek_what
from sealroom.ceremony.loader import load_script
from sealroom.ceremony.ports import ShareSheet
from sealroom.ceremony.script import Script
from sealroom.errors import CeremonyError
from sealroom.rehearsal import RecordingSheets
from sealroom.report.share_sheet import FileSheetPrinter, read_share_sheet_words

ROOT = Path(__file__).resolve().parents[2] / "ceremony_scripts"


def _script(name: str) -> Script:
    return load_script(ROOT / f"{name}.yaml").script


def _print_backup_sheets(script: Script, folder: Path) -> dict[str, tuple[str, ...]]:
    """Print every custodian's sheet of the script's first backup; the words each got."""
    backup = script.backups[0]
    what = kek_what(backup)
    printer = RecordingSheets(FileSheetPrinter(folder), read_share_sheet_words, script)
    printed: dict[str, tuple[str, ...]] = {}
    count = len(backup.shares)
    for index, holder in enumerate(backup.shares, start=1):
        name = script.participant(holder.custodian).name
        words = tuple(WORDLIST[(index * 37 + n * 11) % len(WORDLIST)] for n in range(33))
        printer.print_share_sheet(
            ShareSheet(
                ceremony_id=script.ceremony.id,
                title=f"{what} share",
                subject=f"backup {backup.id}",
                custodian=name,
                member_index=index,
                member_count=count,
                threshold=backup.threshold,
                set_identifier=4321,
                check_value="0a1b2c",
                rehearsal=True,
                key_check_value="A1B2C3",
            ),
            words,
        )
        printed[name] = words
    return printed


def test_a_resumed_process_reads_each_custodian_sheet_printed_by_the_earlier_one(
    tmp_path: Path,
) -> None:
    script = _script("root-key-generation")
    printed = _print_backup_sheets(script, tmp_path)
    what = kek_what(script.backups[0])
    # A new process: nothing in memory, only the folder the earlier process printed into.
    resumed = RecordingSheets(FileSheetPrinter(tmp_path), read_share_sheet_words, script)
    assert resumed.paths == {}
    for name, words in printed.items():
        assert resumed.words(name, what) == words


def test_the_sheet_path_is_the_file_printer_naming_by_member_order(tmp_path: Path) -> None:
    script = _script("root-key-generation")
    backup = script.backups[0]
    sheets = RecordingSheets(FileSheetPrinter(tmp_path), read_share_sheet_words, script)
    third = script.participant(backup.shares[2].custodian).name
    assert sheets.sheet_path(third, kek_what(backup)) == (
        tmp_path / f"share-backup-{backup.id}-key-encryption-key-share-3-of-5.pdf"
    )


def test_a_user_pin_sheet_of_an_m_of_n_script_is_found_by_its_holder_order(
    tmp_path: Path,
) -> None:
    script = _script("hsm-initialisation")
    activation = script.hsm_required().activation
    assert activation is not None
    holders = activation.user_pin.shares
    sheets = RecordingSheets(FileSheetPrinter(tmp_path), read_share_sheet_words, script)
    last = script.participant(holders[-1].custodian).name
    n = len(holders)
    assert sheets.sheet_path(last, "HSM user PIN") == (
        tmp_path / f"share-hsm-user-pin-share-{n}-of-{n}.pdf"
    )


def test_a_sheet_never_printed_is_refused_with_the_path_it_looked_for(tmp_path: Path) -> None:
    script = _script("root-key-generation")
    backup = script.backups[0]
    sheets = RecordingSheets(FileSheetPrinter(tmp_path), read_share_sheet_words, script)
    name = script.participant(backup.shares[0].custodian).name
    with pytest.raises(
        CeremonyError, match=r"No share sheet .* for Frank Liu .*1-of-5\.pdf does not"
    ):
        sheets.words(name, kek_what(backup))


def test_someone_who_holds_no_share_has_no_sheet(tmp_path: Path) -> None:
    script = _script("root-key-generation")
    _print_backup_sheets(script, tmp_path)
    sheets = RecordingSheets(FileSheetPrinter(tmp_path), read_share_sheet_words, script)
    what = kek_what(script.backups[0])
    assert sheets.sheet_path("Alice Martin", what) is None
    with pytest.raises(CeremonyError, match=r"No share sheet of the .* for Alice Martin"):
        sheets.words("Alice Martin", what)


def test_without_the_script_only_sheets_printed_by_this_process_are_known(tmp_path: Path) -> None:
    script = _script("root-key-generation")
    printed = _print_backup_sheets(script, tmp_path)
    sheets = RecordingSheets(FileSheetPrinter(tmp_path), read_share_sheet_words)
    with pytest.raises(CeremonyError, match="No share sheet"):
        sheets.words(next(iter(printed)), kek_what(script.backups[0]))


def test_a_sheet_of_the_set_a_resplit_replaces_is_found_by_the_old_holder_order(
    tmp_path: Path,
) -> None:
    from sealroom.ceremony.resplit import old_kek_what

    script = _script("custodian-change")
    backup = script.backups[0]
    assert backup.resplit is not None
    old = backup.resplit.old_shares
    sheets = RecordingSheets(FileSheetPrinter(tmp_path), read_share_sheet_words, script)
    last = script.participant(old[-1].custodian).name
    path = sheets.sheet_path(last, old_kek_what(backup))
    assert path is not None
    assert path.name.endswith(f"-{len(old)}-of-{len(old)}.pdf")  # the printer shortens titles
    assert "set-being-replaced" in path.name
