"""The ceremony runner: a state machine that walks the script's steps in order through the ports."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal

from sealroom import __version__
from sealroom.ceremony.actions import (
    KeyActions,
    inventory_json,
    key_record_json,
    mechanisms_for,
    token_json,
)
from sealroom.ceremony.activation import Activation
from sealroom.ceremony.backup import BackupActions
from sealroom.ceremony.fingerprint import fingerprint_from_hex, sha256_fingerprint
from sealroom.ceremony.loader import LoadedScript
from sealroom.ceremony.ports import (
    Acknowledgement,
    Actor,
    ArtifactStore,
    Attendance,
    CertificateIssuer,
    Clock,
    Deviation,
    DeviceInventory,
    Fact,
    Hsm,
    IssuedCertificate,
    Journal,
    Json,
    KeyBackup,
    KeyRecord,
    Operator,
    Outcome,
    Printer,
    QrEncoder,
    QrReceiver,
    RecordedEntry,
    ReportRenderer,
    SecretSharing,
    SheetPrinter,
    SigningKey,
    StepView,
)
from sealroom.ceremony.preflight import Preflight, PreflightActions
from sealroom.ceremony.quorum import (
    acknowledgement_problem,
    attendance_problem,
    candidates,
    decider_problem,
    deciding_role,
    skip_allowed,
)
from sealroom.ceremony.registry import (
    Registry,
    RegistryMismatch,
    TokenKey,
    compare_registry,
)
from sealroom.ceremony.resume import effect_seq, replay
from sealroom.ceremony.script import (
    AVAILABLE_ACTIONS,
    AcknowledgeStep,
    ActionStep,
    AttendanceStep,
    BreakStep,
    ConfirmStep,
    EntryStep,
    ExpectedValue,
    KeySpec,
    Script,
    SignOffStep,
    StepBase,
    WitnessCheckStep,
    utc_text,
)
from sealroom.errors import CeremonyAborted, CeremonyError, PinError, PinLockout, SealroomError

ENTRY_ATTEMPTS = 3
SERIAL_BYTES = 16  # random octets after the 0x01 prefix: 128 bits, 17 octets (RFC 5280: <= 20)


class StepStatus(Enum):
    """Where a step stands: only the first step that is not done is enabled."""

    PENDING = "pending"
    ENABLED = "enabled"
    DONE = "done"


@dataclass(frozen=True)
class Adapters:
    """The real (or fake) implementations of every port the runner acts through."""

    hsm: Hsm
    issuer: CertificateIssuer
    journal: Journal
    store: ArtifactStore
    report: ReportRenderer
    printer: Printer
    qr: QrEncoder
    clock: Clock
    receiver: QrReceiver | None = None
    """Reads QR frames in (import-qr); None where the ceremony imports nothing."""
    sharing: SecretSharing | None = None
    """SLIP-39 split and combine (m-of-n activation); None where the script has no activation."""
    sheets: SheetPrinter | None = None
    """Prints custodians' share sheets; None where nothing is split."""
    software_sha256: str | None = None
    """SHA-256 of the installed Sealroom software, shown at integrity checks (EV-INTEGRITY)."""
    backup: KeyBackup | None = None
    """KEKs, the blob format and the backup media (backup-key); None where nothing is backed up."""
    restore_hsm: Hsm | None = None
    """The second token a backup's restore test unwraps into (BackupSpec.restore_test_token)."""
    preflight: Preflight | None = None
    """Checks the workstation at the opening (docs/preflight.md); a production ceremony without
    it is stopped before any step."""


@dataclass(frozen=True)
class RegistryInput:
    """The registry the previous ceremony left, and the SHA-256 of its file's bytes."""

    registry: Registry
    sha256: str


@dataclass(frozen=True)
class CeremonyResult:
    """What the ceremony produced; ``completed`` is true only if every step was done."""

    completed: bool
    steps_done: int
    outputs: Mapping[str, str] = field(default_factory=dict)
    reason: str | None = None


def require_runnable(script: Script) -> None:
    """Refuse, before anything happens, a script using actions this version cannot perform."""
    missing = [
        f"{step.action} (step {index + 1}, {step.id})"
        for index, step in enumerate(script.steps)
        if isinstance(step, ActionStep) and step.action not in AVAILABLE_ACTIONS
    ]
    if missing:
        raise CeremonyError(
            "This version of Sealroom cannot yet perform: "
            + "; ".join(missing)
            + ". The script lints, but the ceremony cannot be run or rehearsed yet."
        )


class Runner:
    """Runs one ceremony. The same object runs under the TUI and unattended (rehearsal)."""

    def __init__(
        self,
        loaded: LoadedScript,
        adapters: Adapters,
        *,
        rehearsal: bool,
        registry: RegistryInput | None = None,
    ) -> None:
        self.loaded = loaded
        self.registry = registry
        """The registry of the previous ceremony, compared at the opening (docs/registry.md)."""
        self.registry_mismatches: list[RegistryMismatch] = []
        self.script: Script = loaded.script
        self.ports = adapters
        self.rehearsal = rehearsal
        self.statuses: list[StepStatus] = [StepStatus.PENDING for _ in self.script.steps]
        self.present: tuple[str, ...] = ()
        self.keys: dict[str, SigningKey] = {}
        self.key_records: dict[str, KeyRecord] = {}
        """Every key pair this ceremony generated or found (kept across a resume)."""
        self.resumed = False
        self.resumed_effects: dict[str, dict[str, int]] = {}
        """Step id -> effect event -> journal seq, for steps interrupted after taking effect."""
        self.certificates: dict[str, IssuedCertificate] = {}
        self.outputs: dict[str, str] = {}
        self.logged_in = False
        self.opened = False
        self.closed = False
        self.key_actions = KeyActions(self)
        self.activation = Activation(self)
        self.backups = BackupActions(self)
        self.preflight = PreflightActions(self)

    # ------------------------------------------------------------------ driving

    def run(self, operator: Operator) -> CeremonyResult:
        """Open, perform every step in order, close. Aborts are journaled, then re-raised."""
        current: str | None = None
        try:
            if not self.opened:
                self.open()
            operator.ceremony_started(self.script, self.loaded.sha256, self.rehearsal)
            while (index := self.enabled_index()) is not None:
                current = self.script.steps[index].id
                self.perform(index, operator)
            result = self.close()
        except Exception as exc:
            # Operator errors carry their own sentence; a bug is named by its type only (its text
            # may hold values). Either way the abort is journaled so the record says how it ended.
            reason = (
                str(exc)
                if isinstance(exc, SealroomError)
                else f"Internal error ({type(exc).__name__}); the ceremony is stopped."
            )
            try:
                self.abort(reason, current)
                reason += self._print_stopped_report()
            except Exception:  # the journal itself may be what failed
                reason += " The abort could not be journaled."
            operator.ceremony_failed(reason)
            raise
        operator.ceremony_finished(
            Outcome(
                "The ceremony is complete.",
                tuple(Fact(name, path) for name, path in sorted(self.outputs.items())),
            )
        )
        return result

    def enabled_index(self) -> int | None:
        """The index of the step that may be performed now, or None when all are done."""
        for index, status in enumerate(self.statuses):
            if status is not StepStatus.DONE:
                return index
        return None

    def open(self) -> None:
        """Check outputs are free, then journal the opening and the token's identity."""
        if self.opened:
            raise CeremonyError("The ceremony is already open.")
        require_runnable(self.script)
        for output in (
            *(c.output for c in self.script.certificates),
            *(c.output for c in self.script.csrs),
            *(c.output for c in self.script.crls),
        ):
            self.ports.store.require_absent(output)
        script = self.script
        self._journal(
            "ceremony.opened",
            {
                "ceremony_id": script.ceremony.id,
                "ceremony_type": script.ceremony.type,
                "title": script.ceremony.title,
                "script_name": self.loaded.path.name,
                "script_sha256": self.loaded.sha256,
                "script_words": sha256_fingerprint(self.loaded.text.encode()).words,
                "script_text": self.loaded.text,
                "script": script.model_dump(mode="json"),
                "rehearsal": self.rehearsal,
                "software": {
                    "name": "sealroom",
                    "version": __version__,
                    "sha256": self.ports.software_sha256,
                },
            },
        )
        self.opened = True
        if script.hsm is None:
            self._compare_registry(None, stand_in=False)
            self._check_printer()
            self.preflight.opening()
            self.statuses[0] = StepStatus.ENABLED
            return
        token = self.ports.hsm.token_info()
        material = script.material(script.hsm_required().material)
        # A rehearsal replaces the scripted HSM with a throwaway token: a declared stand-in.
        stand_in = self.rehearsal and token.serial != material.serial
        self._journal(
            "token.identified",
            {
                "material": material.id,
                "declared_serial": material.serial,
                "stand_in": stand_in,
                "token": token_json(token),
            },
        )
        if token.serial != material.serial and not self.rehearsal:
            raise CeremonyAborted(
                f"The token's serial number is {token.serial!r}, but the script declares the HSM "
                f"{material.id!r} with serial {material.serial!r}. This is not the scripted HSM; "
                "the ceremony is stopped before any step."
            )
        inventory: DeviceInventory | None = None
        if "TOKEN_INITIALIZED" in token.flags:
            # EV-DEVICE and EV-SETTINGS in every ceremony: the mechanisms its keys use, as the
            # token reports them (an uninitialised token is inventoried after initialise-token).
            inventory = self.ports.hsm.device_inventory(mechanisms_for(self.script) or None)
            self._journal("token.inventory", inventory_json(inventory))
        self._compare_registry(inventory, stand_in=stand_in)
        self._check_printer()
        self.preflight.opening()
        self.statuses[0] = StepStatus.ENABLED

    def _compare_registry(
        self, inventory: DeviceInventory | None, *, stand_in: bool, step: str | None = None
    ) -> None:
        """Compare the previous ceremony's registry with this script and token; journal it.

        A rehearsal's throwaway token stands in for the scripted HSM, so its serial and keys are
        not compared (the script's materials, bags and custodians still are). Each mismatch
        becomes a deviation the room decides once attendance is recorded.
        """
        if self.registry is None:
            return
        registry = self.registry.registry
        compare_token = self.script.hsm is not None and not stand_in
        keys: list[TokenKey] | None = None
        if compare_token and inventory is not None:
            keys = [
                (item.label, item.cka_id_hex, None)
                for item in inventory.objects
                if item.object_class in {"PRIVATE_KEY", "PUBLIC_KEY", "SECRET_KEY"}
            ]
        found = compare_registry(
            registry,
            self.script,
            token_serial=self.ports.hsm.token_info().serial if compare_token else None,
            token_keys=keys,
        )
        self.registry_mismatches = list(found)
        self._journal(
            "registry.compared",
            {
                "registry_ceremony_id": registry.ceremony.id,
                "registry_journal_sha256": registry.ceremony.journal_final_sha256,
                "registry_sha256": self.registry.sha256,
                "registry_rehearsal": registry.ceremony.rehearsal,
                "token_compared": compare_token,
                "mismatches": [
                    {
                        "subject": m.subject,
                        "expected": m.expected,
                        "observed": m.observed,
                        "sentence": m.sentence,
                    }
                    for m in found
                ],
            },
            step=step,
        )

    def _decide_registry_mismatches(
        self, step: AttendanceStep, view: StepView, operator: Operator
    ) -> None:
        """Once people are present, each registry mismatch is a deviation a participant decides.

        ``proceed`` records it and goes on; ``abort`` stops the ceremony; ``retry`` reads the
        token again (e.g. after the right HSM is connected) and compares once more.
        """
        assert self.registry is not None  # noqa: S101 - only called with a registry
        origin = self.registry.registry.ceremony.id
        retries = 0
        while self.registry_mismatches:
            mismatch = self.registry_mismatches[0]
            answer = operator.action_failed(view, f"Registry of {origin}: {mismatch.sentence}")
            if answer.decision == "retry" and retries >= ENTRY_ATTEMPTS:
                raise CeremonyError(
                    f"Step {view.index + 1} ({step.title}): the registry still differs after "
                    f"{ENTRY_ATTEMPTS} comparisons; proceed (recording the deviation) or abort."
                )
            retries += answer.decision == "retry"
            if answer.decision == "skip":
                raise CeremonyError(
                    f"Step {view.index + 1} ({step.title}): a registry mismatch cannot be "
                    "skipped: proceed (recording the deviation), retry after checking, or abort."
                )
            self._record_deviation(
                step,
                view,
                Deviation(
                    expected=f"{mismatch.subject}: {mismatch.expected} (registry of {origin})",
                    observed=mismatch.sentence,
                    decision=answer.decision,
                    decided_by=answer.decided_by,
                    note=answer.note,
                ),
            )
            if answer.decision == "retry":
                inventory = None
                if self.script.hsm is not None:
                    token = self.ports.hsm.token_info()
                    if "TOKEN_INITIALIZED" in token.flags:
                        inventory = self.ports.hsm.device_inventory()
                stand_in = self.rehearsal and self._declared_serial() != (
                    self.ports.hsm.token_info().serial if self.script.hsm is not None else None
                )
                self._compare_registry(inventory, stand_in=stand_in, step=step.id)
                continue
            self.registry_mismatches.pop(0)

    def _declared_serial(self) -> str | None:
        if self.script.hsm is None:
            return None
        return self.script.material(self.script.hsm_required().material).serial

    def _check_printer(self) -> None:
        """The printer is present and accepts jobs; journal which it is, as a material."""
        check = self.ports.printer.check()
        material = next((m for m in self.script.materials if m.kind == "printer"), None)
        self._journal(
            "printer.checked",
            {
                "material": None if material is None else material.id,
                "declared_model": None if material is None else material.model,
                "declared_serial": None if material is None else material.serial,
                "printer": check.printer,
                "make_and_model": check.make_and_model,
                "destination": check.destination,
            },
        )

    def resume(self, history: Sequence[RecordedEntry], extra_outputs: Sequence[str] = ()) -> None:
        """Continue an interrupted ceremony from its journal, in place of :meth:`open`.

        The steps the journal shows done stay done. Nothing the journal shows taking effect is
        done again: keys are found on the token (and their fingerprints compared with the
        journal), certificates, CSRs and CRLs are read back from the journal, inputs are checked
        again from the DER journaled. A file a step wrote but the journal does not record is set
        aside under a new name (never overwritten or deleted). A login that was open is lost
        with the process: its step is performed again. ``extra_outputs`` are files the
        composition root writes (the rehearsal's report) to treat the same way.
        """
        if self.opened:
            raise CeremonyError("The ceremony is already open.")
        require_runnable(self.script)
        state = replay(self.script, self.loaded.sha256, self.rehearsal, history)
        if self.script.hsm is not None and state.token_serial is not None:
            serial = self.ports.hsm.token_info().serial
            if serial != state.token_serial:
                raise CeremonyAborted(
                    f"The token's serial number is {serial!r}, but the interrupted ceremony used "
                    f"the token {state.token_serial!r}. Connect the same HSM to resume."
                )
        self.opened = True
        self.resumed = True
        self.present = state.present
        self.key_records = dict(state.keys)
        self.certificates = dict(state.certificates)
        self.key_actions.requests = dict(state.requests)
        self.key_actions.crls = dict(state.crls)
        for input_id, (kind, der) in state.inputs.items():
            allow_ca = any(
                cert.subject_from == input_id and cert.profile == "subordinate-ca"
                for cert in self.script.certificates
            )
            self.key_actions.inputs[input_id] = self.ports.issuer.check_input(
                input_id, kind, der, allow_ca_request=allow_ca
            )
        self.resumed_effects = state.effects
        self.backups.replay(history)
        set_aside: list[Json] = []
        outputs = [
            *(c.output for c in self.script.certificates),
            *(c.output for c in self.script.csrs),
            *(c.output for c in self.script.crls),
        ]
        for name in outputs:
            if name in state.outputs:
                self.outputs[name] = name
            elif moved := self.ports.store.set_aside(name, f".interrupted-{state.last_seq}"):
                set_aside.append({"output": name, "moved_to": moved})
        if not state.report_printed:
            for name in extra_outputs:
                if moved := self.ports.store.set_aside(name, f".interrupted-{state.last_seq}"):
                    set_aside.append({"output": name, "moved_to": moved})
        for index, step in enumerate(self.script.steps):
            if step.id in state.done:
                self.statuses[index] = StepStatus.DONE
        relogin = state.login_step if state.login_step in state.done else None
        if relogin is not None and self.enabled_index() is not None:
            # The HSM session died with the process: the room performs the login step again.
            self.statuses[self._index_of(relogin)] = StepStatus.PENDING
        following = self.enabled_index()
        self._journal(
            "ceremony.resumed",
            {
                "after_seq": state.last_seq,
                "steps_done": sorted(state.done),
                "next_step": None if following is None else self.script.steps[following].id,
                "login_repeated": relogin,
                "interrupted_after_effect": {
                    step_id: dict(events) for step_id, events in sorted(state.effects.items())
                },
                "set_aside": set_aside,
                "present": list(self.present),
            },
        )
        self.preflight.opening(at="resumption")
        if not state.report_printed:
            self._check_printer()
        if following is not None:
            self.statuses[following] = StepStatus.ENABLED

    def _index_of(self, step_id: str) -> int:
        return next(i for i, step in enumerate(self.script.steps) if step.id == step_id)

    def perform(self, index: int, operator: Operator) -> None:
        """Perform step ``index``; it must be the enabled one."""
        if not self.opened or self.closed:
            raise CeremonyError("The ceremony is not open.")
        if index != self.enabled_index():
            step = self.script.steps[index]
            raise CeremonyError(
                f"Step {index + 1} ({step.title}) is not enabled: the steps before it are not done."
            )
        step = self.script.steps[index]
        view = self.view(index)
        if self.preflight.failures and self.present and not isinstance(step, AttendanceStep):
            # Resumed after attendance: failed checks are decided before the next step.
            self.preflight.decide(step, view, operator)
        if isinstance(step, AttendanceStep):
            self._attendance(step, view, operator)
        elif isinstance(step, AcknowledgeStep | WitnessCheckStep):
            self._manual(step, view, operator)
        elif isinstance(step, ActionStep):
            self._action(step, view, operator)
        elif isinstance(step, EntryStep):
            self._entry(step, view, operator)
        elif isinstance(step, ConfirmStep):
            self._confirm_step(step, view, operator)
        elif isinstance(step, BreakStep):
            self._break(step, view, operator)
        elif isinstance(step, SignOffStep):
            self._sign_off(step, view, operator)
        self.statuses[index] = StepStatus.DONE
        following = self.enabled_index()
        if step.act is not None and (
            following is None or self.script.steps[following].act != step.act
        ):
            # Each act ends with a checkpoint signed by the ceremony-log key (never a CA key).
            self.ports.journal.checkpoint(f"end of act {step.act}")
        if following is not None:
            self.statuses[following] = StepStatus.ENABLED

    def view(self, index: int) -> StepView:
        step = self.script.steps[index]
        present = self.present or tuple(p.id for p in self.script.participants)
        return StepView(
            index=index,
            total=len(self.script.steps),
            step=step,
            performer_candidates=candidates(self.script, present, step.performer),
            witness_candidates={r: candidates(self.script, present, r) for r in step.witnesses},
            facts=self._facts(step) if isinstance(step, WitnessCheckStep) else (),
        )

    def close(self) -> CeremonyResult:
        if self.logged_in:
            raise CeremonyError("The HSM is still logged in; the ceremony cannot close.")
        untested = self.backups.untested()
        if untested:
            raise CeremonyError(
                f"The backup {', '.join(untested)} made in this ceremony has no passed restore "
                "test; a backup never restored is not a backup, so the ceremony cannot close."
            )
        done = sum(1 for s in self.statuses if s is StepStatus.DONE)
        self._journal("ceremony.closed", {"result": "completed", "steps_completed": done})
        self.closed = True
        return CeremonyResult(True, done, dict(self.outputs))

    def abort(self, reason: str, step: str | None) -> None:
        """Journal an abort (if the journal was opened) and log out of the HSM."""
        if self.logged_in:
            try:
                self.ports.hsm.logout()
                self.logged_in = False
            except SealroomError:
                pass
        if self.opened and not self.closed:
            self._journal("ceremony.aborted", {"reason": reason}, step=step)
            self.closed = True

    def _print_stopped_report(self) -> str:
        """Print the report of a stopped ceremony once; say where (or why not) for the room.

        The journal is closed by then, so this one print is not journaled: the report itself names
        the abort entry it covers and that entry's SHA-256.
        """
        if not self.opened:
            return ""
        try:
            pdf = self.ports.report.render_report()
            job = self.ports.printer.print_document(
                f"{self.script.ceremony.id} ceremony report (stopped)", pdf
            )
        except SealroomError as exc:
            return f" The report of the stopped ceremony could not be printed: {exc}"
        if job.printer == "file":
            self.outputs["report"] = job.destination
        return f" The report of the stopped ceremony was printed ({job.destination})."

    # ------------------------------------------------------------------ steps

    def _attendance(self, step: AttendanceStep, view: StepView, operator: Operator) -> None:
        answer: Attendance = operator.attendance(view, self.script)
        problem = attendance_problem(self.script, answer)
        if problem is None:
            ack = Acknowledgement(answer.performer, answer.witnesses)
            problem = acknowledgement_problem(self.script, step, answer.present, ack)
        if problem:
            raise CeremonyError(f"Step {view.index + 1} ({step.title}): {problem}.")
        self.present = tuple(p.id for p in self.script.participants if p.id in answer.present)
        absent = [p.id for p in self.script.participants if p.id not in answer.present]
        actors = [
            Actor(pid, role, "present")
            for pid in self.present
            for role in self.script.participant(pid).roles
        ]
        actors += self._actors(step, ack)
        self._journal(
            "attendance.recorded",
            {"present": list(self.present), "absent": absent},
            step=step.id,
            actors=actors,
        )
        if self.registry_mismatches:
            self._decide_registry_mismatches(step, view, operator)
        if self.preflight.failures:
            self.preflight.decide(step, view, operator)
        self._completed(step, ack, {})

    def _manual(
        self, step: AcknowledgeStep | WitnessCheckStep, view: StepView, operator: Operator
    ) -> None:
        ack = self._ask(view, operator)
        data: dict[str, Json] = {}
        if isinstance(step, WitnessCheckStep):
            data = {"matches": ack.matches, "observed": ack.observed}
            if not ack.matches and ack.deviation is None:
                self._completed(step, ack, data)
                seen = f": observed {ack.observed!r}" if ack.observed else ""
                raise CeremonyAborted(
                    f"Step {view.index + 1} ({step.title}): the witnesses saw a mismatch{seen}; "
                    f"expected {step.compare.expected!r}. The ceremony is stopped."
                )
        if self._deviated(step, view, ack, data):
            return
        self._completed(step, ack, data)

    def _ask(self, view: StepView, operator: Operator) -> Acknowledgement:
        ack = operator.acknowledge(view)
        problem = acknowledgement_problem(self.script, view.step, self.present, ack)
        if problem:
            raise CeremonyError(f"Step {view.index + 1} ({view.step.title}): {problem}.")
        return ack

    def _deviated(
        self, step: StepBase, view: StepView, ack: Acknowledgement, data: Mapping[str, Json]
    ) -> bool:
        """Journal a deviation recorded with ``ack``; True if the step is skipped (not performed).

        ``proceed`` means the step is still carried out as scripted, with the deviation on record;
        only ``skip`` (manual steps) leaves it unperformed, and that is journaled as such.
        """
        deviation = ack.deviation
        if deviation is None:
            return False
        if deviation.decision == "retry":
            raise CeremonyError(
                f"Step {view.index + 1} ({step.title}): a deviation here can proceed, skip the "
                "step or abort the ceremony; retry is for an action that failed."
            )
        self._record_deviation(step, view, deviation)
        if deviation.decision == "skip":
            self._journal(
                "step.skipped",
                {"kind": _kind(step), "title": step.title, **data},
                step=step.id,
                actors=self._actors(step, ack),
            )
            return True
        return False

    def _record_deviation(self, step: StepBase, view: StepView, deviation: Deviation) -> None:
        """Check who decided, journal the deviation, and stop if the decision is to abort."""
        decider = deviation.decided_by
        if decider not in {p.id for p in self.script.participants}:
            raise CeremonyError(f"Step {view.index + 1}: {decider!r} is not a participant.")
        problem = decider_problem(self.script, self.present, decider)
        role = deciding_role(self.script, decider)
        if problem is not None or role is None:
            raise CeremonyError(f"Step {view.index + 1}: {problem}.")
        if deviation.decision == "skip" and not skip_allowed(step):
            raise CeremonyError(
                f"Step {view.index + 1} ({step.title}) cannot be skipped: retry it or abort."
            )
        self._journal(
            "deviation.recorded",
            {
                "expected": deviation.expected,
                "observed": deviation.observed,
                "decision": deviation.decision,
                "note": deviation.note,
            },
            step=step.id,
            actors=[Actor(decider, role, "decider")],
        )
        if deviation.decision == "abort":
            raise CeremonyAborted(
                f"Step {view.index + 1} ({step.title}): the ceremony is aborted after a "
                f"deviation: {deviation.observed}"
            )

    def _action(self, step: ActionStep, view: StepView, operator: Operator) -> None:
        ack = self._ask(view, operator)
        if self._deviated(step, view, ack, {"action": step.action}):
            return
        done_at = effect_seq(self.resumed_effects, step)
        if done_at is not None:
            self._finish_interrupted(step, view, operator, ack, done_at)
            return
        if step.confirm is not None:
            self._typed_confirmation(step, view, operator, ack, step.confirm)
        handlers: dict[str, Callable[[ActionStep, StepView, Operator, Acknowledgement], None]] = {
            "hsm-login": self._hsm_login,
            "generate-key": self._generate_key,
            "sign-root-certificate": self._sign_root,
            "show-qr": self._show_qr,
            "hsm-logout": self._hsm_logout,
            "print-report": self._print_report,
            "initialise-token": self.activation.initialise,
            **self.key_actions.handlers(),
            **self.backups.handlers(),
        }
        while True:
            try:
                handlers[step.action](step, view, operator, ack)
                break
            except (PinError, CeremonyAborted):
                raise
            except SealroomError as exc:
                deviation = operator.action_failed(view, str(exc))
                failed = Deviation(
                    expected=f"the action {step.action} completes",
                    observed=str(exc),
                    decision=deviation.decision,
                    decided_by=deviation.decided_by,
                    note=deviation.note,
                )
                if failed.decision == "abort":
                    with suppress(CeremonyAborted):
                        self._record_deviation(step, view, failed)
                    raise
                if failed.decision != "retry":
                    raise CeremonyError(
                        f"Step {view.index + 1} ({step.title}): a failed action can be retried "
                        "or the ceremony aborted; it cannot be skipped or passed."
                    ) from exc
                self._record_deviation(step, view, failed)
        self._completed(step, ack, {"action": step.action})

    def _finish_interrupted(
        self,
        step: ActionStep,
        view: StepView,
        operator: Operator,
        ack: Acknowledgement,
        done_at: int,
    ) -> None:
        """Complete a step whose action took effect before an interruption, without repeating it."""
        if step.action == "initialise-token":
            raise CeremonyAborted(
                f"Step {view.index + 1} ({step.title}): the token was initialised (journal entry "
                f"{done_at}) but the interruption came before every share was sealed, so its "
                "random PINs are not all held. Zeroise the token and hold the initialisation again."
            )
        if step.action == "generate-key":
            # The key must really be on the token, with the fingerprint journaled.
            self.key_actions.located(step.params["key"], step, view, ack)
        self._completed(
            step, ack, {"action": step.action, "completed_before_interruption": done_at}
        )
        operator.outcome(
            view,
            Outcome(
                f"This action took effect before the interruption (journal entry {done_at}); "
                "it is not repeated.",
                self._facts(step),
            ),
        )

    def _entry(self, step: EntryStep, view: StepView, operator: Operator) -> None:
        ack = self._ask(view, operator)
        spec = step.entry
        if self._deviated(step, view, ack, {"label": spec.label}):
            return
        expected = self._expected_value(spec.expect) if spec.expect else None
        for attempt in range(1, ENTRY_ATTEMPTS + 1):
            value = operator.text(view, spec.label, attempt).strip()
            problem = entry_problem(spec.format, value)
            if problem is None and spec.twice:
                again = operator.text(view, f"{spec.label} (again)", attempt).strip()
                if again != value:
                    problem = "the two entries differ"
            if problem is None and expected is not None and value != expected:
                problem = f"{value!r} is not the scripted {expected!r}"
            if problem is None:
                self._journal(
                    "entry.recorded",
                    _entry_data(spec.label, spec.format, value, expected, attempt),
                    step=step.id,
                    actors=self._actors(step, ack),
                )
                self._completed(step, ack, {"value": value})
                return
            self._journal(
                "entry.rejected",
                {"label": spec.label, "attempt": attempt, "problem": problem},
                step=step.id,
                actors=self._actors(step, ack),
            )
            last = problem
        deviation = operator.action_failed(view, f"{spec.label}: {last}")
        if deviation.decision not in {"proceed", "abort"}:
            raise CeremonyError(
                f"Step {view.index + 1} ({step.title}): after {ENTRY_ATTEMPTS} refused entries "
                "the room may only proceed (recording a deviation) or abort."
            )
        self._record_deviation(
            step,
            view,
            Deviation(
                expected=expected or f"a valid {spec.format}",
                observed=f"{spec.label}: {last}",
                decision=deviation.decision,
                decided_by=deviation.decided_by,
                note=deviation.note,
            ),
        )
        self._completed(step, ack, {"deviation": True})

    def _expected_value(self, expect: ExpectedValue) -> str:
        material = self.script.material(expect.material)
        value = getattr(material, expect.field)
        if not isinstance(value, str):
            raise CeremonyError(
                f"Material {material.id!r} declares no {expect.field}; the entry cannot be checked."
            )
        return value

    def _confirm_step(self, step: ConfirmStep, view: StepView, operator: Operator) -> None:
        ack = self._ask(view, operator)
        if self._deviated(step, view, ack, {}):
            return
        self._typed_confirmation(step, view, operator, ack, step.words)
        self._completed(step, ack, {"confirmed": True})

    def _typed_confirmation(
        self,
        step: StepBase,
        view: StepView,
        operator: Operator,
        ack: Acknowledgement,
        words: str,
    ) -> None:
        for attempt in range(1, ENTRY_ATTEMPTS + 1):
            typed = operator.text(view, f"Type exactly: {words}", attempt)
            if typed == words:
                self._journal(
                    "confirmation.typed",
                    {"words": words, "attempts": attempt},
                    step=step.id,
                    actors=self._actors(step, ack),
                )
                return
            self._journal(
                "confirmation.refused",
                {"words": words, "attempt": attempt},
                step=step.id,
                actors=self._actors(step, ack),
            )
        raise CeremonyAborted(
            f"Step {view.index + 1} ({step.title}): the confirmation words were typed wrongly "
            f"{ENTRY_ATTEMPTS} times; nothing irreversible was done and the ceremony is stopped."
        )

    def _break(self, step: BreakStep, view: StepView, operator: Operator) -> None:
        ack = self._ask(view, operator)
        if self._deviated(step, view, ack, {}):
            return
        actors = self._actors(step, ack)
        away = tuple(operator.break_started(view))
        unknown = [p for p in away if p not in self.present]
        if unknown:
            raise CeremonyError(f"Step {view.index + 1}: {unknown[0]!r} is not present.")
        sealed: dict[str, str] = {}
        for material_id in step.recheck_bags:
            material = self.script.material(material_id)
            label = f"Serial of the bag {material.description} is sealed in for the break"
            serial = self._typed_serial(view, operator, label)
            sealed[material_id] = serial
            self._journal(
                "bag.sealed",
                {"material": material_id, "serial": serial},
                step=step.id,
                actors=actors,
            )
        self._journal("break.started", {"left": list(away)}, step=step.id, actors=actors)
        returned = tuple(p for p in operator.break_ended(view, away) if p in away)
        still_away = [p for p in away if p not in returned]
        self.present = tuple(p for p in self.present if p not in still_away)
        self._journal(
            "break.ended",
            {"returned": list(returned), "absent": still_away},
            step=step.id,
            actors=actors,
        )
        self._require_roles_after(view)
        for material_id, serial in sealed.items():
            material = self.script.material(material_id)
            label = f"Serial on the bag of {material.description} ({material.id}), before opening"
            for attempt in range(1, ENTRY_ATTEMPTS + 1):
                typed = operator.text(view, label, attempt).strip()
                ok = typed == serial
                self._journal(
                    "bag.rechecked",
                    {"material": material_id, "expected": serial, "typed": typed, "matches": ok},
                    step=step.id,
                    actors=actors,
                )
                if ok:
                    break
            else:
                raise CeremonyAborted(
                    f"Step {view.index + 1} ({step.title}): the bag of {material_id} does not "
                    f"carry the serial {serial!r} it was sealed with for the break; the ceremony "
                    "is stopped."
                )
        self._completed(step, ack, {"returned": list(returned), "absent": still_away})

    def _typed_serial(self, view: StepView, operator: Operator, label: str) -> str:
        for attempt in range(1, ENTRY_ATTEMPTS + 1):
            value = operator.text(view, label, attempt).strip()
            if entry_problem("bag-serial", value) is None:
                return value
        raise CeremonyAborted(
            f"Step {view.index + 1}: no valid bag serial was typed for {label!r}; the ceremony "
            "is stopped."
        )

    def _require_roles_after(self, view: StepView) -> None:
        """After people left, every later step must still have someone present in each role."""
        for later in self.script.steps[view.index + 1 :]:
            for role in (later.performer, *later.witnesses):
                if not candidates(self.script, self.present, role):
                    raise CeremonyError(
                        f"After the break nobody present holds the role "
                        f"{self.script.role(role).name!r}, needed at step {later.title!r}."
                    )

    def _sign_off(self, step: SignOffStep, view: StepView, operator: Operator) -> None:
        ack = self._ask(view, operator)
        if ack.deviation is not None:
            raise CeremonyError(
                f"Step {view.index + 1} ({step.title}): sign-off cannot be skipped or passed by a "
                "deviation; a participant who disagrees signs off 'not followed' with a comment."
            )
        statements = list(operator.sign_off(view, self.present))
        given = [s.participant for s in statements]
        if sorted(given) != sorted(self.present):
            missing = [p for p in self.present if p not in given]
            raise CeremonyError(
                f"Step {view.index + 1} ({step.title}): every participant present signs off; "
                f"missing: {', '.join(missing) or 'none'}; unexpected or twice: "
                f"{', '.join(p for p in given if p not in self.present or given.count(p) > 1)}."
            )
        self._journal(
            "signoff.recorded",
            {
                "statements": [
                    {"participant": s.participant, "followed": s.followed, "comment": s.comment}
                    for s in statements
                ]
            },
            step=step.id,
            actors=[
                Actor(s.participant, self.script.participant(s.participant).roles[0], "signatory")
                for s in statements
            ],
        )
        self._completed(step, ack, {"followed": all(s.followed for s in statements)})

    def _hsm_login(
        self, step: ActionStep, view: StepView, operator: Operator, ack: Acknowledgement
    ) -> None:
        if self.script.hsm_required().activation is not None:
            self.activation.login(step, view, operator, ack)
            return
        limit = self.script.hsm_required().max_pin_attempts
        actors = self._actors(step, ack)
        for attempt in range(1, limit + 1):
            pin = operator.secret(view, "HSM user PIN", attempt, limit - attempt + 1)
            try:
                self.ports.hsm.login(pin)
            except PinLockout:
                self._journal(
                    "hsm.login-failed",
                    {"attempt": attempt, "attempts_left": 0},
                    step=step.id,
                    actors=actors,
                )
                raise
            except PinError:
                left = limit - attempt
                self._journal(
                    "hsm.login-failed",
                    {"attempt": attempt, "attempts_left": left},
                    step=step.id,
                    actors=actors,
                )
                continue
            finally:
                del pin
            self.logged_in = True
            self._journal("hsm.login", {"attempts": attempt}, step=step.id, actors=actors)
            operator.outcome(view, Outcome("The HSM is activated."))
            return
        raise CeremonyAborted(
            f"Step {view.index + 1} ({step.title}): the HSM refused the PIN {limit} times; "
            "the ceremony is stopped."
        )

    def _generate_key(
        self, step: ActionStep, view: StepView, operator: Operator, ack: Acknowledgement
    ) -> None:
        spec = self.script.key(step.params["key"])
        if self.resumed and self._adopt_interrupted_key(spec, step, view, operator, ack):
            return
        with operator.working(view, f"Generating the {spec.algorithm} key pair in the HSM"):
            key = self.ports.hsm.generate_key(spec)
        record = key.record
        fpr = sha256_fingerprint(record.spki_der)
        self.keys[spec.id] = key
        self.key_records[spec.id] = record
        self._journal(
            "key.generated",
            {
                **key_record_json(spec.id, record),
                "mechanism": record.mechanism,
                "token_serial": self.ports.hsm.token_info().serial,
                "generated_at": utc_text(self.ports.clock.now()),
            },
            step=step.id,
            actors=self._actors(step, ack),
        )
        operator.outcome(
            view,
            Outcome(
                f"Key pair {record.label} generated inside the HSM.",
                (
                    Fact("Algorithm", record.algorithm),
                    Fact("CKA_ID", record.cka_id_hex),
                    Fact("Public key SHA-256", fpr.grouped(), fpr.words),
                ),
            ),
        )

    def _adopt_interrupted_key(
        self,
        spec: KeySpec,
        step: ActionStep,
        view: StepView,
        operator: Operator,
        ack: Acknowledgement,
    ) -> bool:
        """After a resume: a key with this label on the token was made by the interrupted step.

        The process died after the HSM generated the key and before the journal recorded it.
        The key is not generated twice: it is found, its policy checked like any key found on a
        token (sensitive, never extractable, generated on the token), and journaled as
        ``key.found`` with ``after_interruption`` so the record says how it came to be.
        """
        objects = self.ports.hsm.device_inventory().objects
        if not any(item.label == spec.label for item in objects):
            return False
        key = self.ports.hsm.find_key(spec)
        record = key.record
        self.keys[spec.id] = key
        self.key_records[spec.id] = record
        self._journal(
            "key.found",
            {
                **key_record_json(spec.id, record),
                "token_serial": self.ports.hsm.token_info().serial,
                "after_interruption": True,
            },
            step=step.id,
            actors=self._actors(step, ack),
        )
        fpr = sha256_fingerprint(record.spki_der)
        operator.outcome(
            view,
            Outcome(
                f"The interrupted step had generated the key pair {record.label} before the "
                "journal recorded it; it is not generated again. Compare its fingerprint.",
                (
                    Fact("CKA_ID", record.cka_id_hex),
                    Fact("Public key SHA-256", fpr.grouped(), fpr.words),
                ),
            ),
        )
        return True

    def _sign_root(
        self, step: ActionStep, view: StepView, operator: Operator, ack: Acknowledgement
    ) -> None:
        spec = self.script.certificate(step.params["certificate"])
        key = self.keys.get(spec.key)
        if key is None and spec.key in self.key_records:
            key = self.key_actions.located(spec.key, step, view, ack)  # generated, then resumed
        if key is None:
            raise CeremonyError(f"Step {view.index + 1}: key {spec.key!r} was not generated.")
        with operator.working(view, "Signing the root certificate in the HSM"):
            serial = self._serial()
            issued = self.ports.issuer.issue_root(spec, key, serial)
        path = self.ports.store.write_once(spec.output, issued.pem.encode("ascii"))
        self.certificates[spec.id] = issued
        self.outputs[spec.output] = path
        cert_fpr = sha256_fingerprint(issued.der)
        key_fpr = sha256_fingerprint(key.record.spki_der)
        self._journal(
            "certificate.issued",
            {
                "certificate_id": spec.id,
                "key_id": spec.key,
                "output": spec.output,
                "pem": issued.pem,
                "sha256": cert_fpr.hex,
                "fingerprint": key_fpr.to_json(),
                "subject": issued.subject,
                "issuer": issued.issuer,
                "serial": issued.serial_hex,
                "not_before": utc_text(issued.not_before),
                "not_after": utc_text(issued.not_after),
                "signature_algorithm": issued.signature_algorithm,
                "checks": list(issued.checks),
            },
            step=step.id,
            actors=self._actors(step, ack),
        )
        operator.outcome(
            view,
            Outcome(
                f"Root certificate issued and verified: {issued.subject}",
                (
                    Fact("Serial", issued.serial_hex),
                    Fact("Certificate SHA-256", cert_fpr.grouped(), cert_fpr.words),
                    Fact("Public key SHA-256", key_fpr.grouped(), key_fpr.words),
                    *(Fact("Check", check) for check in issued.checks),
                ),
            ),
        )

    def _serial(self) -> int:
        """A certificate serial: the octet 01, then 16 octets from the HSM's RNG (128 bits)."""
        return int.from_bytes(b"\x01" + self.ports.hsm.random_bytes(SERIAL_BYTES), "big")

    def _show_qr(
        self, step: ActionStep, view: StepView, operator: Operator, ack: Acknowledgement
    ) -> None:
        cert_id = step.params["certificate"]
        issued = self.certificates.get(cert_id)
        if issued is None:
            raise CeremonyError(f"Step {view.index + 1}: certificate {cert_id!r} was not issued.")
        frames = self.ports.qr.frames(issued.der, "CRT")
        fpr = sha256_fingerprint(issued.der)
        operator.show_qr(
            view,
            f"Certificate: {issued.subject}",
            frames,
            (Fact("Certificate SHA-256", fpr.grouped(), fpr.words),),
        )
        self._journal(
            "qr.shown",
            {"certificate_id": cert_id, "frames": len(frames), "payload_sha256": fpr.hex},
            step=step.id,
            actors=self._actors(step, ack),
        )

    def _hsm_logout(
        self, step: ActionStep, view: StepView, operator: Operator, ack: Acknowledgement
    ) -> None:
        self.ports.hsm.logout()
        self.logged_in = False
        self._journal("hsm.logout", {}, step=step.id, actors=self._actors(step, ack))
        operator.outcome(view, Outcome("The HSM is logged out."))

    def _print_report(
        self, step: ActionStep, view: StepView, operator: Operator, ack: Acknowledgement
    ) -> None:
        # The printed report shows a signature over everything before it.
        covers = self.ports.journal.checkpoint("before the report is printed")
        with operator.working(view, "Rendering the ceremony report from the journal"):
            pdf = self.ports.report.render_report()
            job = self.ports.printer.print_document(
                f"{self.script.ceremony.id} ceremony report", pdf
            )
        digest = hashlib.sha256(pdf).hexdigest()
        if job.printer == "file":
            self.outputs["report"] = job.destination
        self._journal(
            "report.printed",
            {
                "sha256": digest,
                "covers_through": covers.seq,
                "printer": job.printer,
                "job": job.job,
                "destination": job.destination,
            },
            step=step.id,
            actors=self._actors(step, ack),
        )
        fpr = sha256_fingerprint(pdf)
        operator.outcome(
            view,
            Outcome(
                f"Report printed ({job.printer}: {job.destination}). Every participant signs it.",
                (
                    Fact("Report SHA-256", fpr.grouped(), fpr.words),
                    Fact("Covers journal entries", f"1 to {covers.seq}"),
                ),
            ),
        )

    # ------------------------------------------------------------------ helpers

    def _facts(self, step: StepBase) -> tuple[Fact, ...]:
        facts: list[Fact] = []
        if "EV-INTEGRITY" in step.evidence and self.ports.software_sha256 is not None:
            digest = self.ports.software_sha256
            fpr = fingerprint_from_hex(digest)
            label = f"Sealroom {__version__} software SHA-256"
            facts.append(Fact(label, fpr.grouped(), fpr.words))
        for record in self.key_records.values():
            fpr = sha256_fingerprint(record.spki_der)
            facts.append(Fact(f"Public key {record.label} SHA-256", fpr.grouped(), fpr.words))
        for cert in self.certificates.values():
            fpr = sha256_fingerprint(cert.der)
            facts.append(
                Fact(f"Certificate {cert.certificate_id} SHA-256", fpr.grouped(), fpr.words)
            )
        return tuple(facts)

    def _actors(self, step: StepBase, ack: Acknowledgement) -> list[Actor]:
        actors = [Actor(ack.performer, step.performer, "performer")]
        actors += [Actor(ack.witnesses[role], role, "witness") for role in step.witnesses]
        return actors

    def _completed(self, step: StepBase, ack: Acknowledgement, extra: Mapping[str, Json]) -> None:
        data: dict[str, Json] = {"kind": _kind(step)}
        if ack.deviation is not None:
            data["deviation"] = True
        data["title"] = step.title
        data.update(extra)
        self._journal("step.completed", data, step=step.id, actors=self._actors(step, ack))

    def _journal(
        self,
        event: str,
        data: Mapping[str, Json],
        *,
        step: str | None = None,
        actors: Sequence[Actor] = (),
    ) -> None:
        self.ports.journal.append(event, data, step=step, actors=actors)


Capacity = Literal["performer", "witness", "present"]


def _kind(step: StepBase) -> str:
    return str(getattr(step, "kind", "step"))


_FORMATS: dict[str, tuple[re.Pattern[str], str]] = {
    "bag-serial": (re.compile(r"^[A-Za-z0-9][A-Za-z0-9./-]{0,63}$"), "letters, digits, - . /"),
    "serial": (re.compile(r"^[A-Za-z0-9][A-Za-z0-9./:-]{0,63}$"), "letters, digits, - . / :"),
    "time": (re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"), "HH:MM or HH:MM:SS"),
    "clock-offset": (re.compile(r"^[+-]?[0-9]{1,6}$"), "whole seconds, e.g. +3 or -12"),
    "text": (re.compile(r"^\S.{0,499}$", re.DOTALL), "some text"),
}


def entry_problem(fmt: str, value: str) -> str | None:
    """Why ``value`` is not a valid entry of format ``fmt``, or None."""
    pattern, wanted = _FORMATS[fmt]
    if not pattern.match(value):
        return f"{value!r} is not a valid {fmt} ({wanted})"
    return None


def _entry_data(
    label: str, fmt: str, value: str, expected: str | None, attempt: int
) -> dict[str, Json]:
    data: dict[str, Json] = {
        "label": label,
        "format": fmt,
        "value": value,
        "expected": expected,
        "attempts": attempt,
    }
    if fmt == "clock-offset":
        data["offset_seconds"] = int(value)
    return data
