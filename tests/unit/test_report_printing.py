"""Printers: the rehearsal file printer writes once; the CUPS printer talks to a fake lp/lpstat."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from sealroom.ceremony.ports import PrintJob
from sealroom.errors import OutputExistsError, PrinterError
from sealroom.report.printing import CupsPrinter, FilePrinter

PDF = b"%PDF-1.4 sample\n%%EOF\n"

READY = """printer ceremony-laser is idle.  enabled since Fri 15 Jan 2027 08:00:00
ceremony-laser accepting requests since Fri 15 Jan 2027 08:00:00"""


def test_file_printer_writes_the_pdf_once(tmp_path: Path) -> None:
    printer = FilePrinter(tmp_path)
    job = printer.print_document("EXR ceremony report", PDF)
    path = tmp_path / "report.pdf"
    assert job == PrintJob(printer="file", job="report.pdf", destination=str(path))
    assert path.read_bytes() == PDF
    with pytest.raises(OutputExistsError, match="never overwrites"):
        printer.print_document("again", b"%PDF-other")
    assert path.read_bytes() == PDF


def test_file_printer_refuses_a_path_as_file_name(tmp_path: Path) -> None:
    with pytest.raises(PrinterError, match="not a plain file name"):
        FilePrinter(tmp_path, "../report.pdf")


def test_file_printer_reports_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(PrinterError, match="cannot be written"):
        FilePrinter(tmp_path / "missing").print_document("t", PDF)


def _tool(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def fake_cups(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH with only fake ``lp`` and ``lpstat``; the scripts' behaviour is set per test."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return bin_dir


def _ready_lpstat(bin_dir: Path, status: str = READY, default: str = "ceremony-laser") -> None:
    log = bin_dir.parent / "lpstat.args"
    _tool(
        bin_dir,
        "lpstat",
        f'echo "$@" >> {log}\n'
        f'if [ "$1" = "-d" ]; then echo "system default destination: {default}"; exit 0; fi\n'
        f"cat <<'EOF'\n{status}\nEOF\n",
    )


def _lp(bin_dir: Path, output: str, code: int = 0, stderr: str = "") -> None:
    log = bin_dir.parent
    _tool(
        bin_dir,
        "lp",
        f'for a in "$@"; do echo "$a"; done > {log}/lp.args\n'
        f"cat > {log}/lp.stdin\n"
        f'echo "$LC_ALL" > {log}/lp.locale\n'
        f"echo '{output}'\n" + (f"echo '{stderr}' >&2\n" if stderr else "") + f"exit {code}\n",
    )


def test_cups_printer_submits_with_lp_and_parses_the_request_id(fake_cups: Path) -> None:
    _ready_lpstat(fake_cups)
    _lp(fake_cups, "request id is ceremony-laser-12 (1 file(s))")
    job = CupsPrinter("ceremony-laser").print_document("EXR-RKG-2027-01 ceremony report", PDF)
    assert job == PrintJob(
        printer="ceremony-laser", job="ceremony-laser-12", destination="cups:ceremony-laser"
    )
    log = fake_cups.parent
    assert (log / "lp.args").read_text().splitlines() == [
        "-d",
        "ceremony-laser",
        "-t",
        "EXR-RKG-2027-01 ceremony report",
    ]
    assert (log / "lp.stdin").read_bytes() == PDF
    assert (log / "lp.locale").read_text().strip() == "C"
    assert "-p ceremony-laser -a ceremony-laser" in (log / "lpstat.args").read_text()


def test_cups_printer_uses_the_default_destination(fake_cups: Path) -> None:
    _ready_lpstat(fake_cups)
    _lp(fake_cups, "request id is ceremony-laser-3 (0 file(s))")
    job = CupsPrinter(None).print_document("report", PDF)
    assert job.printer == "ceremony-laser"
    assert job.job == "ceremony-laser-3"


def test_cups_printer_without_a_default_destination(fake_cups: Path) -> None:
    _tool(fake_cups, "lpstat", 'echo "no system default destination"\n')
    with pytest.raises(PrinterError, match="no default printer"):
        CupsPrinter().print_document("report", PDF)


def test_lp_failure_is_a_printer_error_with_lps_message(fake_cups: Path) -> None:
    _ready_lpstat(fake_cups)
    _lp(fake_cups, "", code=1, stderr="lp: Unable to send data to printer.")
    with pytest.raises(PrinterError, match="refused the job: lp: Unable to send data to printer"):
        CupsPrinter("ceremony-laser").print_document("report", PDF)


def test_lp_without_a_request_id_is_an_error(fake_cups: Path) -> None:
    _ready_lpstat(fake_cups)
    _lp(fake_cups, "something unexpected")
    with pytest.raises(PrinterError, match="no request id"):
        CupsPrinter("ceremony-laser").print_document("report", PDF)


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (
            "printer ceremony-laser disabled since Fri 15 Jan 2027 -\n\tPaused\n"
            "ceremony-laser accepting requests since Fri 15 Jan 2027",
            "is disabled",
        ),
        (
            "printer ceremony-laser is idle.  enabled since Fri 15 Jan 2027\n"
            "ceremony-laser not accepting requests since Fri 15 Jan 2027 -\n\tRejecting Jobs",
            "not accepting jobs",
        ),
    ],
)
def test_a_printer_that_cannot_take_jobs_is_refused_before_lp(
    fake_cups: Path, status: str, message: str
) -> None:
    _ready_lpstat(fake_cups, status)
    _lp(fake_cups, "request id is ceremony-laser-1 (1 file(s))")
    with pytest.raises(PrinterError, match=message):
        CupsPrinter("ceremony-laser").print_document("report", PDF)
    assert not (fake_cups.parent / "lp.args").exists()


def test_an_unknown_printer_is_refused(fake_cups: Path) -> None:
    _tool(
        fake_cups,
        "lpstat",
        "echo 'lpstat: Invalid destination name in list \"nope\".' >&2\nexit 1\n",
    )
    with pytest.raises(PrinterError, match="does not know a printer named nope"):
        CupsPrinter("nope").print_document("report", PDF)


def test_missing_cups_is_a_printer_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(PrinterError, match="CUPS is not installed"):
        CupsPrinter("ceremony-laser").print_document("report", PDF)


def test_a_hanging_lp_times_out(fake_cups: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _ready_lpstat(fake_cups)
    _tool(fake_cups, "lp", "sleep 5\n")
    monkeypatch.setattr("sealroom.report.printing.LP_TIMEOUT_SECONDS", 0.3)
    with pytest.raises(PrinterError, match="did not answer"):
        CupsPrinter("ceremony-laser").print_document("report", PDF)


def test_printer_names_are_checked() -> None:
    with pytest.raises(PrinterError, match="not a CUPS printer name"):
        CupsPrinter("-o evil")
