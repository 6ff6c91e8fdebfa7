"""Printers: a CUPS queue through ``lp``, or a PDF file written once (rehearsals)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Final

from sealroom.ceremony.ports import Printer, PrintJob
from sealroom.errors import OutputExistsError, PrinterError

LP_TIMEOUT_SECONDS: Final = 60
LPSTAT_TIMEOUT_SECONDS: Final = 15
_REQUEST_ID: Final = re.compile(r"request id is (\S+) \(\d+ file\(s\)\)")
_DEFAULT: Final = re.compile(r"system default destination: (\S+)")
_SAFE_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")


class FilePrinter:
    """The ``Printer`` port for rehearsals: writes the PDF to ``directory/filename``, once."""

    def __init__(self, directory: Path, filename: str = "report.pdf") -> None:
        if not _SAFE_NAME.match(filename):
            raise PrinterError(f"The report file name {filename!r} is not a plain file name.")
        self.path = directory / filename

    def print_document(self, title: str, pdf: bytes) -> PrintJob:
        """Write ``pdf`` to the file and fsync it; an existing file is never overwritten."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(self.path, flags, 0o644)
        except FileExistsError as exc:
            raise OutputExistsError(
                f"{self.path} already exists; Sealroom never overwrites a printed report. "
                "Choose a new output folder."
            ) from exc
        except OSError as exc:
            raise PrinterError(
                f"The report cannot be written to {self.path}: {exc.strerror}."
            ) from exc
        try:
            view = memoryview(pdf)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except OSError as exc:
            raise PrinterError(
                f"The report could not be written to {self.path}: {exc.strerror}."
            ) from exc
        finally:
            os.close(fd)
        return PrintJob(printer="file", job=self.path.name, destination=str(self.path))


class CupsPrinter:
    """The ``Printer`` port for a CUPS queue: ``lp -d <printer> -t <title>`` with the PDF on stdin.

    ``printer`` None means the system's default destination. Before printing, ``lpstat`` must
    show the printer exists, is enabled and accepts requests.
    """

    def __init__(self, printer: str | None = None) -> None:
        if printer is not None and not _SAFE_NAME.match(printer):
            raise PrinterError(f"{printer!r} is not a CUPS printer name.")
        self.printer = printer

    def print_document(self, title: str, pdf: bytes) -> PrintJob:
        """Submit ``pdf`` to the printer; return the CUPS request id as the job."""
        name = self.printer or self._default_printer()
        self._require_ready(name)
        clean_title = _CONTROL.sub(" ", title).strip() or "Sealroom document"
        result = _run(
            ["lp", "-d", name, "-t", clean_title],
            stdin=pdf,
            timeout=LP_TIMEOUT_SECONDS,
            what=f"printing to {name}",
        )
        if result.returncode != 0:
            raise PrinterError(
                f"The printer {name} refused the job: {_message(result)}. Check the printer "
                "and print the report again."
            )
        match = _REQUEST_ID.search(result.stdout.decode("utf-8", "replace"))
        if match is None:
            raise PrinterError(
                f"lp gave no request id for the job on {name} ({_message(result)}); check the "
                "printer queue ('lpstat -o') before printing again."
            )
        return PrintJob(printer=name, job=match.group(1), destination=f"cups:{name}")

    def _default_printer(self) -> str:
        result = _run(["lpstat", "-d"], timeout=LPSTAT_TIMEOUT_SECONDS, what="asking CUPS")
        match = _DEFAULT.search(result.stdout.decode("utf-8", "replace"))
        if result.returncode != 0 or match is None:
            raise PrinterError(
                "No printer was named and CUPS has no default printer; name one with --printer."
            )
        return match.group(1)

    def _require_ready(self, name: str) -> None:
        result = _run(
            ["lpstat", "-p", name, "-a", name],
            timeout=LPSTAT_TIMEOUT_SECONDS,
            what=f"checking the printer {name}",
        )
        text = result.stdout.decode("utf-8", "replace")
        if result.returncode != 0 or f"printer {name} " not in text:
            raise PrinterError(f"CUPS does not know a printer named {name}: {_message(result)}.")
        if f"printer {name} disabled" in text:
            raise PrinterError(f"The printer {name} is disabled; enable it ('cupsenable {name}').")
        if f"{name} not accepting" in text or f"{name} accepting" not in text:
            raise PrinterError(
                f"The printer {name} is not accepting jobs; accept them ('cupsaccept {name}')."
            )


def _run(
    argv: list[str], *, timeout: float, what: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    program = shutil.which(argv[0])
    if program is None:
        raise PrinterError(
            f"CUPS is not installed ({argv[0]} not found); install cups-client or print to file."
        )
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    try:
        return subprocess.run(
            [program, *argv[1:]],
            input=stdin if stdin is not None else b"",
            capture_output=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise PrinterError(f"CUPS did not answer within {timeout:.0f} s when {what}.") from exc
    except OSError as exc:
        raise PrinterError(f"{argv[0]} could not be run when {what}: {exc.strerror}.") from exc


def _message(result: subprocess.CompletedProcess[bytes]) -> str:
    text = (result.stderr or result.stdout).decode("utf-8", "replace").strip()
    first = " ".join(text.split())
    return first[:300] or f"exit status {result.returncode}"


if TYPE_CHECKING:

    def _implements_the_port(file: FilePrinter, cups: CupsPrinter) -> tuple[Printer, Printer]:
        return file, cups  # mypy proves both printers satisfy the engine's Printer Protocol
