"""CupsPrinter against a real, private CUPS daemon with a cups-pdf queue (see cups_fixture)."""

from __future__ import annotations

import io
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from sealroom.errors import PrinterError
from sealroom.report.printing import CupsPrinter
from tests.integration.cups_fixture import PrivateCups, private_cups

pytestmark = pytest.mark.cups

__all__ = ["private_cups"]  # the session fixture, imported so that pytest finds it

CUPS_PDF_MODEL = "Generic CUPS-PDF Printer (w/ options)"


def _pdf(text: str) -> bytes:
    """A one-page PDF with ``text`` in Helvetica, made with reportlab like Sealroom's documents."""
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    page.setFont("Helvetica", 14)
    page.drawString(72, 760, text)
    page.showPage()
    page.save()
    return buffer.getvalue()


def _pdftotext(path: str) -> str:
    result = subprocess.run(
        ["pdftotext", "-layout", path, "-"], capture_output=True, text=True, check=True
    )
    return result.stdout


@pytest.fixture
def queue(private_cups: PrivateCups, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh cups-pdf queue of the private daemon for one test, removed afterwards."""
    words = request.node.name.removeprefix("test_").split("_")[:4]
    name = "-".join(["sealroom", *words])
    private_cups.add_queue(name)
    yield name
    private_cups.run("lpadmin", "-x", name)


def _no_job_reached(cups: PrivateCups, name: str) -> None:
    """Nothing was queued on ``name``, nothing printed, and nothing reached the page log."""
    active = cups.run("lpstat", "-o", name).stdout
    assert active == ""
    assert not [p for p in cups.output.rglob("*.pdf") if name in p.name]
    page_log = cups.root / "log" / "page_log"
    assert name not in (page_log.read_text() if page_log.exists() else "")


def test_check_finds_the_queue_and_returns_its_make_and_model(private_cups: PrivateCups) -> None:
    check = CupsPrinter(private_cups.printer).check()

    assert check.printer == private_cups.printer
    assert check.make_and_model == CUPS_PDF_MODEL
    assert check.destination == f"cups:{private_cups.printer}"


def test_a_printed_pdf_comes_out_of_cups_pdf_with_its_text(private_cups: PrivateCups) -> None:
    text = f"Sealroom print test {uuid.uuid4().hex[:12]}"

    job = CupsPrinter(private_cups.printer).print_document("Ceremony report", _pdf(text))

    assert job.printer == private_cups.printer
    assert job.destination == f"cups:{private_cups.printer}"
    printed = private_cups.wait_for_pdf(job.job)
    assert text in _pdftotext(str(printed))


def test_the_job_is_the_cups_request_id(private_cups: PrivateCups) -> None:
    job = CupsPrinter(private_cups.printer).print_document("Request id", _pdf("request id"))

    match = re.fullmatch(rf"{re.escape(private_cups.printer)}-(\d+)", job.job)
    assert match is not None, job.job
    private_cups.wait_for_pdf(job.job)
    # CUPS's page log: "<printer> <user> <job-id> [date] total <pages> - <host> <title> - -"
    page_log = (private_cups.root / "log" / "page_log").read_text().splitlines()
    entries = [line.split() for line in page_log if "Request id" in line]
    assert [(e[0], e[2]) for e in entries] == [(private_cups.printer, match.group(1))]


def test_an_explicit_server_is_used_instead_of_cups_server(
    private_cups: PrivateCups, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUPS_SERVER", str(private_cups.root / "no-such.sock"))
    printer = CupsPrinter(private_cups.printer, server=str(private_cups.socket))

    assert printer.check().make_and_model == CUPS_PDF_MODEL
    job = printer.print_document("Explicit server", _pdf("explicit server"))
    assert "explicit server" in _pdftotext(str(private_cups.wait_for_pdf(job.job)))


def test_an_unreachable_server_is_refused_with_a_sentence(
    private_cups: PrivateCups, monkeypatch: pytest.MonkeyPatch
) -> None:
    nowhere = private_cups.root / "no-such.sock"
    monkeypatch.setenv("CUPS_SERVER", str(nowhere))

    with pytest.raises(PrinterError) as refused:
        CupsPrinter(private_cups.printer).check()

    assert str(refused.value) == (
        f"CUPS does not answer at {nowhere}, so the printer {private_cups.printer} cannot be "
        "checked. Start CUPS or correct the server, check with 'lpstat -r', and try again."
    )


def test_a_disabled_printer_is_refused_before_any_job(
    private_cups: PrivateCups, queue: str
) -> None:
    private_cups.run("cupsdisable", "-r", "toner replaced", queue)
    printer = CupsPrinter(queue)
    expected = (
        f"The printer {queue} is disabled (CUPS says: toner replaced); enable it "
        f"('cupsenable {queue}') and try again."
    )

    with pytest.raises(PrinterError) as at_opening:
        printer.check()
    with pytest.raises(PrinterError) as at_printing:
        printer.print_document("Disabled", _pdf("must not print"))

    assert str(at_opening.value) == expected
    assert str(at_printing.value) == expected
    _no_job_reached(private_cups, queue)


def test_a_rejecting_printer_is_refused_before_any_job(
    private_cups: PrivateCups, queue: str
) -> None:
    private_cups.run("cupsreject", "-r", "paper jam", queue)
    printer = CupsPrinter(queue)
    expected = (
        f"The printer {queue} is not accepting jobs (CUPS says: paper jam); accept them "
        f"('cupsaccept {queue}') and try again."
    )

    with pytest.raises(PrinterError) as at_opening:
        printer.check()
    with pytest.raises(PrinterError) as at_printing:
        printer.print_document("Rejecting", _pdf("must not print"))

    assert str(at_opening.value) == expected
    assert str(at_printing.value) == expected
    _no_job_reached(private_cups, queue)


def test_a_printer_enabled_again_prints(private_cups: PrivateCups, queue: str) -> None:
    private_cups.run("cupsdisable", queue)
    with pytest.raises(PrinterError):
        CupsPrinter(queue).check()
    private_cups.run("cupsenable", queue)

    job = CupsPrinter(queue).print_document("Retry", _pdf("printed on retry"))

    assert "printed on retry" in _pdftotext(str(private_cups.wait_for_pdf(job.job)))


def test_a_job_held_on_a_tests_own_queue_is_waited_for(
    private_cups: PrivateCups, queue: str, tmp_path: Path
) -> None:
    """wait_for_pdf sees jobs on every queue, not only the fixture's default printer (a PDF was
    once read while cups-pdf was still writing it)."""
    document = tmp_path / "held.pdf"
    document.write_bytes(_pdf("held until enabled"))
    private_cups.run("cupsdisable", queue)
    said = private_cups.run("lp", "-d", queue, "-t", "Held", str(document)).stdout
    job = said.split("request id is ", 1)[1].split()[0]
    assert job.startswith(f"{queue}-")
    assert private_cups._job_active(job)
    private_cups.run("cupsenable", queue)
    assert "held until enabled" in _pdftotext(str(private_cups.wait_for_pdf(job)))
    assert not private_cups._job_active(job)


def test_an_unknown_printer_is_refused(private_cups: PrivateCups) -> None:
    expected = (
        "CUPS does not know a printer named sealroom-nosuch. Name a printer that 'lpstat -p' "
        "lists, or set this one up, and try again."
    )

    with pytest.raises(PrinterError) as at_opening:
        CupsPrinter("sealroom-nosuch").check()
    with pytest.raises(PrinterError) as at_printing:
        CupsPrinter("sealroom-nosuch").print_document("Unknown", _pdf("must not print"))

    assert str(at_opening.value) == expected
    assert str(at_printing.value) == expected


@pytest.mark.parametrize("server", ["-oFoo", "host name", "/run/cups/\nsock", ""])
def test_a_server_that_is_not_a_socket_path_or_host_is_refused(server: str) -> None:
    with pytest.raises(PrinterError, match="is not a CUPS server"):
        CupsPrinter("sealroom-test", server=server)


def test_a_job_cups_refuses_is_a_printer_error_with_what_lp_said(
    private_cups: PrivateCups, queue: str
) -> None:
    # Enabled and accepting, so the readiness check passes; but root may not print to it.
    private_cups.run("lpadmin", "-p", queue, "-u", "deny:root")

    with pytest.raises(PrinterError) as refused:
        CupsPrinter(queue).print_document("Denied", _pdf("must not print"))

    message = str(refused.value)
    assert message.startswith(f"The printer {queue} refused the job: lp: ")
    assert message.endswith(". Check the printer and print the document again.")
    _no_job_reached(private_cups, queue)
