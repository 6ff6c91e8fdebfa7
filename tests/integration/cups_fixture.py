"""A private CUPS daemon for the tests: its own config, spool and socket, and a cups-pdf queue.

``private_cups`` (session scope) starts ``cupsd -f`` as a subprocess with everything under one
temporary folder: a ServerRoot, a spool, a cache, logs, and a Unix socket as its only listener (no
network port, no browsing, no web interface). It adds the queue ``sealroom-test`` on the cups-pdf
backend and points clients at the socket through ``CUPS_SERVER`` for the whole session.

cups-pdf reads its settings only from /etc/cups (the path is compiled in): the device URI
``cups-pdf:/<suffix>`` selects /etc/cups/cups-pdf-<suffix>.conf. The fixture writes such a file,
named after its temporary folder, sending the PDFs (``Out``), cups-pdf's spool and its log into
that folder, and removes it at teardown. (A PPD ``*DefaultOut:`` cannot carry a path: libcups cuts
PPD default values at the first ``/``.)

The cups-pdf backend is installed root-only (mode 0700) and cupsd runs it as root, so the daemon
needs root; elsewhere the fixture skips and says why. As root (CI, the appliance) it must start:
a failure there fails the test with the end of cupsd's error log.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PRINTER = "sealroom-test"
CUPS_PDF_BACKEND = Path("/usr/lib/cups/backend/cups-pdf")
CUPS_PDF_PPD = Path("/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd")
CUPS_PDF_MODEL = "lsb/usr/cups-pdf/CUPS-PDF_opt.ppd"  # `lpinfo -m` name of that PPD
START_TIMEOUT_SECONDS = 10.0
CUPS_PDF_CONF_DIR = Path("/etc/cups")  # compiled into cups-pdf (CP_CONFIG_PATH)

CUPSD_CONF = """\
# Test-only scheduler: one Unix socket, no network, no browsing, no job files kept.
Listen {socket}
Browsing No
BrowseLocalProtocols none
WebInterface No
DefaultShared No
LogLevel info
PreserveJobFiles No
PreserveJobHistory No
MaxJobs 100
<Policy default>
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
"""

CUPS_FILES_CONF = """\
ServerRoot {root}/conf
RequestRoot {root}/spool
TempDir {root}/spool/tmp
CacheDir {root}/cache
StateDir {root}/state
ErrorLog {root}/log/error_log
AccessLog {root}/log/access_log
PageLog {root}/log/page_log
Printcap {root}/state/printcap
FileDevice No
"""


@dataclass(frozen=True)
class PrivateCups:
    """A running private cupsd: where its socket is, its cups-pdf queue, and where PDFs land."""

    root: Path
    socket: Path
    printer: str
    output: Path

    def env(self) -> dict[str, str]:
        """The environment for a CUPS client command talking to this daemon only."""
        return {**os.environ, "CUPS_SERVER": str(self.socket), "LC_ALL": "C", "LANG": "C"}

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """Run a CUPS client command (lpadmin, cupsdisable...) on this daemon; it must succeed."""
        result = subprocess.run(
            [*argv], env=self.env(), capture_output=True, text=True, timeout=30, check=False
        )
        assert result.returncode == 0, f"{' '.join(argv)} failed: {result.stderr or result.stdout}"
        return result

    def add_queue(self, name: str) -> str:
        """Add (or reset) a cups-pdf queue named ``name``, enabled and accepting jobs."""
        uri = f"cups-pdf:/{self.root.name}"  # selects /etc/cups/cups-pdf-<root name>.conf
        self.run("lpadmin", "-p", name, "-E", "-v", uri, "-m", CUPS_PDF_MODEL)
        return name

    def wait_for_pdf(self, job: str, timeout: float = 30.0) -> Path:
        """The PDF cups-pdf wrote for CUPS request ``job`` (e.g. ``sealroom-test-3``).

        cups-pdf names it ``<title>-job_<number>.pdf`` (``Label 2``). The job is done when it has
        left the queue (``PreserveJobHistory No`` forgets it at once) and its PDF is there.
        """
        suffix = f"-job_{job.rsplit('-', 1)[-1]}.pdf"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [p for p in self.output.rglob("*.pdf") if p.name.endswith(suffix)]
            if found and not self._job_active(job):
                return found[0]
            time.sleep(0.1)
        files = sorted(p.name for p in self.output.rglob("*"))
        raise AssertionError(f"no PDF for {job} after {timeout} s in {files}:\n{self.log_tail()}")

    def log_tail(self) -> str:
        """The end of cupsd's and cups-pdf's logs, for a failure message."""
        logs = sorted((self.root / "log").iterdir()) if (self.root / "log").exists() else []
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}" for p in logs)

    def _job_active(self, job: str) -> bool:
        """Whether ``job`` is still queued or printing, on whichever queue it was sent to.

        Every queue is listed: asking only this fixture's default printer never saw a job sent
        to a test's own queue, so its PDF was read while cups-pdf was still writing it.
        """
        result = subprocess.run(
            ["lpstat", "-o"],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
        )
        return any(line.split()[:1] == [job] for line in result.stdout.splitlines())


def _cups_pdf_conf(root: Path) -> Path:
    """A cups-pdf configuration for this run only, writing inside ``root``; removed at teardown."""
    conf = CUPS_PDF_CONF_DIR / f"cups-pdf-{root.name}.conf"
    conf.write_text(
        "# Written by Sealroom's CUPS test fixture; removed when the tests end.\n"
        f"Out {root}/pdf\n"
        f"AnonDirName {root}/pdf\n"
        f"Spool {root}/pdfspool\n"
        f"Log {root}/log\n"
        "LogType 7\n"
        "Grp lp\n"
        "Label 2\n"
    )
    return conf


def _skip_or_fail(reason: str) -> None:
    """Skip where cupsd cannot run (not root); as root the daemon must start, so fail."""
    if os.geteuid() != 0:
        pytest.skip(f"{reason} (not root: the cups-pdf backend is installed root-only, mode 0700)")
    pytest.fail(f"{reason}: run `make setup` (Debian packages cups, printer-driver-cups-pdf).")


@pytest.fixture(scope="session")
def private_cups() -> Iterator[PrivateCups]:
    """A private cupsd with an enabled, accepting cups-pdf queue ``sealroom-test``."""
    missing = [c for c in ("cupsd", "lpadmin", "lp", "lpstat") if shutil.which(c) is None]
    if missing:
        _skip_or_fail(f"CUPS is not installed ({', '.join(missing)} not found)")
    if not CUPS_PDF_BACKEND.exists() or not CUPS_PDF_PPD.exists():
        _skip_or_fail("cups-pdf is not installed (printer-driver-cups-pdf)")
    if os.geteuid() != 0:
        _skip_or_fail("cupsd with the cups-pdf backend cannot run here")

    root = Path(tempfile.mkdtemp(prefix="srcups-", dir="/tmp"))
    # Filters run as the unprivileged CUPS user: it must traverse (not list) the folder.
    root.chmod(0o711)
    cups = PrivateCups(root=root, socket=root / "cups.sock", printer=PRINTER, output=root / "pdf")
    saved = os.environ.get("CUPS_SERVER")
    process: subprocess.Popen[bytes] | None = None
    conf: Path | None = None
    try:
        for sub in ("conf", "spool", "spool/tmp", "cache", "state", "log", "pdf", "pdfspool"):
            (root / sub).mkdir(mode=0o755, exist_ok=True)
        (root / "conf" / "cupsd.conf").write_text(CUPSD_CONF.format(socket=cups.socket))
        (root / "conf" / "cups-files.conf").write_text(CUPS_FILES_CONF.format(root=root))
        conf = _cups_pdf_conf(root)
        with (root / "log" / "cupsd.stderr").open("wb") as stderr:
            process = subprocess.Popen(
                [
                    shutil.which("cupsd") or "cupsd",
                    "-f",
                    "-c",
                    str(root / "conf" / "cupsd.conf"),
                    "-s",
                    str(root / "conf" / "cups-files.conf"),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        _wait_until_listening(process, cups)
        cups.add_queue(PRINTER)
        os.environ["CUPS_SERVER"] = str(cups.socket)
        yield cups
    finally:
        if saved is None:
            os.environ.pop("CUPS_SERVER", None)
        else:
            os.environ["CUPS_SERVER"] = saved
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if conf is not None:
            conf.unlink(missing_ok=True)
        shutil.rmtree(root, ignore_errors=True)


def _wait_until_listening(process: subprocess.Popen[bytes], cups: PrivateCups) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if cups.socket.exists():
            probe = subprocess.run(
                ["lpstat", "-r"], env=cups.env(), capture_output=True, text=True, check=False
            )
            if "is running" in probe.stdout:
                return
        time.sleep(0.05)
    tail = cups.log_tail()
    _skip_or_fail(f"the private cupsd did not start (exit {process.poll()}):\n{tail}")
