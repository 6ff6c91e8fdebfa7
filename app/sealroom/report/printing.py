"""Printers: a CUPS queue through ``lp``, or a PDF file written once (rehearsals)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from sealroom.ceremony.ports import Printer, PrinterCheck, PrintJob
from sealroom.errors import OutputExistsError, PrinterError

LP_TIMEOUT_SECONDS: Final = 60
LPSTAT_TIMEOUT_SECONDS: Final = 15
_REQUEST_ID: Final = re.compile(r"request id is (\S+) \(\d+ file\(s\)\)")
_DEFAULT: Final = re.compile(r"system default destination: (\S+)")
_SAFE_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
# A local socket path (/run/cups/cups.sock) or host[:port]; never an option (no leading dash).
_SAFE_SERVER: Final = re.compile(
    r"^(/[A-Za-z0-9._/-]{1,200}|[A-Za-z0-9][A-Za-z0-9.-]{0,252}(:[0-9]{1,5})?)$"
)


class FilePrinter:
    """The ``Printer`` port for rehearsals: writes the PDF to ``directory/filename``, once."""

    def __init__(self, directory: Path, filename: str = "report.pdf") -> None:
        if not _SAFE_NAME.match(filename):
            raise PrinterError(f"The report file name {filename!r} is not a plain file name.")
        self.path = directory / filename

    def check(self) -> PrinterCheck:
        """Require the folder to exist and the file not to: the rehearsal's printer is ready."""
        if not self.path.parent.is_dir():
            raise PrinterError(f"The report folder {self.path.parent} does not exist.")
        if self.path.exists():
            raise OutputExistsError(
                f"{self.path} already exists; Sealroom never overwrites a printed report. "
                "Choose a new output folder."
            )
        return PrinterCheck(
            printer="file",
            make_and_model="PDF file (rehearsal, no printer)",
            destination=str(self.path),
        )

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

    ``printer`` None means the system's default destination. ``server`` is passed to every CUPS
    command as ``-h`` (a local socket path such as /run/cups/cups.sock, or host[:port]); None
    leaves the choice to CUPS (``CUPS_SERVER``, client.conf, the local scheduler). Before every
    job, and in ``check`` at the opening, ``lpstat`` must show that the printer exists, is
    enabled and accepts requests; a refusal is a ``PrinterError`` naming the printer.
    """

    def __init__(self, printer: str | None = None, *, server: str | None = None) -> None:
        if printer is not None and not _SAFE_NAME.match(printer):
            raise PrinterError(f"{printer!r} is not a CUPS printer name.")
        if server is not None and not _SAFE_SERVER.match(server):
            raise PrinterError(
                f"{server!r} is not a CUPS server: give a socket path or host[:port]."
            )
        self.printer = printer
        self.server = server

    def check(self) -> PrinterCheck:
        """Require the printer to be present, enabled and accepting; return its make and model."""
        name = self.printer or self._default_printer()
        self._require_ready(name)
        result = self._run(
            ["lpoptions", "-p", name],
            timeout=LPSTAT_TIMEOUT_SECONDS,
            what=f"asking for the model of the printer {name}",
        )
        model = _options(result.stdout.decode("utf-8", "replace")).get("printer-make-and-model")
        return PrinterCheck(
            printer=name,
            make_and_model=_CONTROL.sub(" ", model).strip() if model else "not reported by CUPS",
            destination=f"cups:{name}",
        )

    def print_document(self, title: str, pdf: bytes) -> PrintJob:
        """Submit ``pdf`` to the printer; return the CUPS request id (``<printer>-<n>``) as job."""
        name = self.printer or self._default_printer()
        self._require_ready(name)
        clean_title = _CONTROL.sub(" ", title).strip() or "Sealroom document"
        result = self._run(
            ["lp", "-d", name, "-t", clean_title],
            stdin=pdf,
            timeout=LP_TIMEOUT_SECONDS,
            what=f"printing to {name}",
        )
        if result.returncode != 0:
            raise PrinterError(
                f"The printer {name} refused the job: {_message(result)}. Check the printer "
                "and print the document again."
            )
        match = _REQUEST_ID.search(result.stdout.decode("utf-8", "replace"))
        if match is None:
            raise PrinterError(
                f"lp gave no request id for the job on {name} ({_message(result)}); check the "
                "printer queue ('lpstat -o') before printing again."
            )
        return PrintJob(printer=name, job=match.group(1), destination=f"cups:{name}")

    def _default_printer(self) -> str:
        result = self._run(["lpstat", "-d"], timeout=LPSTAT_TIMEOUT_SECONDS, what="asking CUPS")
        match = _DEFAULT.search(result.stdout.decode("utf-8", "replace"))
        if result.returncode != 0 or match is None:
            raise PrinterError(
                "No printer was named and CUPS has no default printer; name one with --printer."
            )
        return match.group(1)

    def _require_ready(self, name: str) -> None:
        result = self._run(
            ["lpstat", "-p", name, "-a", name],
            timeout=LPSTAT_TIMEOUT_SECONDS,
            what=f"checking the printer {name}",
        )
        text = result.stdout.decode("utf-8", "replace")
        if result.returncode != 0 or not text.strip():
            said = _message(result)
            if self._scheduler_down():
                where = self.server or os.environ.get("CUPS_SERVER") or "the local scheduler"
                raise PrinterError(
                    f"CUPS does not answer at {where}, so the printer {name} cannot be checked. "
                    "Start CUPS or correct the server, check with 'lpstat -r', and try again."
                )
            if "Invalid destination" in said or "does not exist" in said:
                raise PrinterError(
                    f"CUPS does not know a printer named {name}. Name a printer that "
                    "'lpstat -p' lists, or set this one up, and try again."
                )
            raise PrinterError(
                f"CUPS did not answer about the printer {name}: {said}. Check that CUPS is "
                "running ('lpstat -r') and try again."
            )
        status = _queue_status(text, name)
        if status.enabled is None or status.accepting is None:
            raise PrinterError(
                f"CUPS did not say whether the printer {name} is enabled and accepting jobs "
                f"({_first_line(text)}); check it with 'lpstat -p {name} -a {name}'."
            )
        if not status.enabled:
            raise PrinterError(
                f"The printer {name} is disabled{_because(status.enabled_reason)}; enable it "
                f"('cupsenable {name}') and try again."
            )
        if not status.accepting:
            raise PrinterError(
                f"The printer {name} is not accepting jobs{_because(status.accepting_reason)}; "
                f"accept them ('cupsaccept {name}') and try again."
            )

    def _scheduler_down(self) -> bool:
        """True only when ``lpstat -r`` says the scheduler is not running (lpstat cannot tell)."""
        result = self._run(["lpstat", "-r"], timeout=LPSTAT_TIMEOUT_SECONDS, what="asking CUPS")
        return result.stdout.decode("utf-8", "replace").strip() == "scheduler is not running"

    def _run(
        self, argv: list[str], *, timeout: float, what: str, stdin: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        server = ["-h", self.server] if self.server is not None else []
        return _run([argv[0], *server, *argv[1:]], timeout=timeout, what=what, stdin=stdin)


@dataclass(frozen=True)
class _QueueStatus:
    enabled: bool | None
    enabled_reason: str
    accepting: bool | None
    accepting_reason: str


def _queue_status(text: str, name: str) -> _QueueStatus:
    """Parse ``LC_ALL=C lpstat -p NAME -a NAME``: each state line, then its tab-indented reasons."""
    enabled: bool | None = None
    accepting: bool | None = None
    reasons: dict[str, list[str]] = {"p": [], "a": []}
    current = ""
    for line in text.splitlines():
        if line.startswith(("\t", " ")):
            if current:
                reasons[current].append(line.strip())
            continue
        current = ""
        if line.startswith(f"printer {name} "):
            current = "p"
            enabled = " disabled since " not in line
        elif line.startswith(f"{name} accepting requests"):
            current, accepting = "a", True
        elif line.startswith(f"{name} not accepting requests"):
            current, accepting = "a", False
    return _QueueStatus(
        enabled=enabled,
        enabled_reason=_reason(reasons["p"]),
        accepting=accepting,
        accepting_reason=_reason(reasons["a"]),
    )


def _reason(lines: list[str]) -> str:
    text = _CONTROL.sub(" ", " ".join(line for line in lines if line)).strip()
    return "" if text in ("", "-", "reason unknown") else text[:200]


def _because(reason: str) -> str:
    return f" (CUPS says: {reason})" if reason else ""


def _first_line(text: str) -> str:
    return _CONTROL.sub(" ", text.strip().splitlines()[0] if text.strip() else "").strip()[:200]


def _options(text: str) -> dict[str, str]:
    """Parse ``lpoptions -p NAME``: space-separated name=value, values quoted as in a shell."""
    try:
        words = shlex.split(text)
    except ValueError:
        return {}
    return dict(word.split("=", 1) for word in words if "=" in word)


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
            argv,
            executable=program,  # found on PATH once; lp still calls itself "lp" in its messages
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
    """What a CUPS command said, on one line, without its final full stop."""
    text = (result.stderr or result.stdout).decode("utf-8", "replace").strip()
    first = " ".join(_CONTROL.sub(" ", text).split())
    first = first.rstrip(".")
    return first[:300] or f"exit status {result.returncode}"


if TYPE_CHECKING:

    def _implements_the_port(file: FilePrinter, cups: CupsPrinter) -> tuple[Printer, Printer]:
        return file, cups  # mypy proves both printers satisfy the engine's Printer Protocol
