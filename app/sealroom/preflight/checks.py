"""The preflight adapter: runs the checks by id against a SystemView and returns their results."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sealroom.ceremony.ports import Printer
from sealroom.ceremony.preflight import CHECK_IDS, CheckResult, MaterialRef
from sealroom.errors import SealroomError
from sealroom.preflight.clock import clock_result
from sealroom.preflight.devices import devices_result
from sealroom.preflight.errors import PreflightError
from sealroom.preflight.evidence import evidence_result, free_bytes
from sealroom.preflight.hsm import hsm_result
from sealroom.preflight.image import image_result
from sealroom.preflight.network import network_result
from sealroom.preflight.software import software_result
from sealroom.preflight.system import SystemView


def _utc_now() -> datetime:
    return datetime.now(UTC)


def printer_result(printer: Printer | None) -> CheckResult:
    """PASS when the printer port's own check (CUPS: lpstat) finds the queue accepting jobs."""
    if printer is None:
        return CheckResult("printer", False, "no printer to check")
    try:
        check = printer.check()
    except SealroomError as exc:
        return CheckResult("printer", False, exc.message)
    facts: dict[str, str | tuple[str, ...]] = {
        "printer": check.printer,
        "make_and_model": check.make_and_model,
        "destination": check.destination,
    }
    return CheckResult(
        "printer",
        True,
        f"{check.printer} ({check.make_and_model}) accepts jobs at {check.destination}",
        facts,
    )


@dataclass(frozen=True)
class SystemPreflight:
    """Implements the engine's ``Preflight`` port on a real (or fake) system.

    ``printer`` is a Printer port (the report's CUPS adapter); ``module``/``token`` name the
    PKCS#11 module and token label for the ``hsm`` check; ``python_paths`` and ``sealroom_root``
    say which environment the ``software`` check hashes (default: the running one); ``out_dir``
    is the run's output folder the ``evidence`` check measures (``free_space`` reads its room).
    """

    view: SystemView = field(default_factory=SystemView)
    printer: Printer | None = None
    module: str | None = None
    token: str | None = None
    rehearsal: bool = False
    now: Callable[[], datetime] = _utc_now
    python_paths: Sequence[str] | None = None
    sealroom_root: Path | None = None
    out_dir: Path = Path(".")
    free_space: Callable[[Path], int] = free_bytes

    def _runners(
        self, materials: Sequence[MaterialRef] | None
    ) -> dict[str, Callable[[], CheckResult]]:
        return {
            "network": lambda: network_result(self.view),
            "image": lambda: image_result(self.view),
            "software": lambda: software_result(
                self.view, paths=self.python_paths, sealroom_root=self.sealroom_root
            ),
            "devices": lambda: devices_result(self.view, materials),
            "clock": lambda: clock_result(self.view, self.now),
            "evidence": lambda: evidence_result(self.view, self.out_dir, free=self.free_space),
            "printer": lambda: printer_result(self.printer),
            "hsm": lambda: hsm_result(self.module, self.token, rehearsal=self.rehearsal),
        }

    def run_checks(
        self, checks: Sequence[str] | None = None, *, materials: Sequence[MaterialRef] = ()
    ) -> tuple[CheckResult, ...]:
        """The port: run ``checks`` with the script's materials.

        An empty tuple compares with no material, so every device but infrastructure is flagged.
        """
        return self.results(checks, materials=tuple(materials))

    def results(
        self, checks: Sequence[str] | None, *, materials: Sequence[MaterialRef] | None
    ) -> tuple[CheckResult, ...]:
        """Run ``checks`` (all when None) in order; ``materials`` None: nothing to compare with."""
        wanted = tuple(checks) if checks else CHECK_IDS
        require_known_checks(wanted)
        runners = self._runners(materials)
        return tuple(runners[check]() for check in wanted)


def require_known_checks(checks: Sequence[str]) -> None:
    """Refuse an unknown check id, naming it and listing the ids there are."""
    unknown = [c for c in checks if c not in CHECK_IDS]
    if unknown:
        raise PreflightError(
            f"Unknown preflight check {', '.join(repr(c) for c in unknown)}; the checks are: "
            f"{', '.join(CHECK_IDS)}."
        )
