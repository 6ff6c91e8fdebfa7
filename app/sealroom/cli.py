"""Composition root: argument parsing, exit codes, and wiring of the real adapters to the engine."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from sealroom import __version__
from sealroom.ceremony.answers import (
    AnswersOperator,
    RehearsalAnswers,
    answers_findings,
    default_answers_path,
    is_answers_file,
    load_answers,
    script_path_for_answers,
)
from sealroom.ceremony.loader import LoadedScript, lint_findings, load_script
from sealroom.ceremony.ports import (
    DestructionRecord,
    DeviceInventory,
    Hsm,
    KeyBackup,
    SheetPrinter,
    SigningKey,
    StepView,
    TokenInfo,
    WrappedKey,
    ZeroiseRecord,
)
from sealroom.ceremony.runner import RegistryInput, Runner, require_runnable
from sealroom.ceremony.script import ActionStep, KeySpec, Script
from sealroom.ceremony.source import Finding, Position
from sealroom.errors import SealroomError

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_UNUSABLE = 2
EXIT_INTERNAL = 3

JOURNAL_NAME = "journal.jsonl"
REPORT_NAME = "report.pdf"
TOKEN_DIR_NAME = "softhsm"  # noqa: S105 - a folder name, not a secret
SHEETS_DIR_NAME = "share-sheets"
MEDIA_DIR_NAME = "media"
"""Rehearsals: DIR/media/<material id>/ stands in for each backup medium."""
BUNDLE_DIR_NAME = "bundle"


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


# ----------------------------------------------------------------------------------------- lint


def cmd_lint(args: argparse.Namespace) -> int:
    """Lint each script; exit 0 if all are clean, 1 on findings, 2 if a file is unusable."""
    import json

    worst = EXIT_OK
    collected: list[dict[str, str | int | None]] = []
    supported = _token_algorithms(args.module, args.token) if args.module else None
    for name in args.scripts:
        findings = _lint_file(Path(name))
        if supported is not None and not findings and not is_answers_file(Path(name)):
            findings = _algorithm_findings(Path(name), supported, args.token)
        if args.format == "json":
            collected.extend(f.as_json() for f in findings)
        else:
            for finding in findings:
                _out(str(finding))
            if not findings:
                _out(f"{name}: ok")
        if any(f.rule in {"SR-READ", "SR-YAML"} for f in findings):
            worst = max(worst, EXIT_UNUSABLE)
        elif findings:
            worst = max(worst, EXIT_FINDINGS)
    if args.format == "json":
        _out(json.dumps(collected, indent=2, ensure_ascii=False))
    return worst


def _token_algorithms(module: str, token: str | None) -> tuple[str, ...]:
    """The key algorithms the token named on the command line can generate (no login)."""
    if not token:
        raise SealroomError("sealroom lint --module needs --token LABEL|URI as well.")
    from sealroom.hsm.token import Pkcs11Hsm

    with Pkcs11Hsm.open(module, token) as hsm:
        return tuple(hsm.supported_algorithms())


def _algorithm_findings(path: Path, supported: tuple[str, ...], token: str) -> list[Finding]:
    """SR-TOKEN-ALGORITHM: a key the script generates or uses that the token cannot hold."""
    doc, script, _ = lint_findings(path)
    if doc is None or script is None:
        return []
    return [
        doc.finding(
            ("keys", index, "algorithm"),
            "SR-TOKEN-ALGORITHM",
            f"keys[{index}].algorithm: the token {token} does not list the mechanisms for "
            f"{key.algorithm} (it can make: {', '.join(supported) or 'nothing'})",
        )
        for index, key in enumerate(script.keys)
        if key.algorithm not in supported
    ]


def _lint_file(path: Path) -> list[Finding]:
    """Findings for a script, or for an answers file checked against the script beside it."""
    if not is_answers_file(path):
        return lint_findings(path)[2]
    script_path = script_path_for_answers(path)
    _doc, script, script_findings = lint_findings(script_path)
    if script is None or script_findings:
        return [
            Finding(
                str(path),
                Position(1, 1),
                "SR-ANSWERS",
                f"its script {script_path} cannot be loaded or has findings; lint it first",
            )
        ]
    return answers_findings(path, script)[2]


# ---------------------------------------------------------------------------------- verify-journal


def cmd_verify_journal(args: argparse.Namespace) -> int:
    from sealroom.journal.verify import verify_journal

    path = Path(args.journal)
    if not path.is_file():
        _err(f"sealroom: {path}: no such journal file")
        return EXIT_UNUSABLE
    result = verify_journal(path)
    if result.ok:
        ending = (
            f"ended by {result.ended_by}"
            if result.ended_by
            else "NOT closed: the ceremony is still open or was cut short"
        )
        _out(
            f"{path}: {result.entries} entries, chain intact, {ending}; "
            f"head SHA-256 {result.head_sha256}"
        )
        if result.log_keys:
            _out(
                f"  {result.checkpoints} signed checkpoint(s), all verified, covering entries 1 "
                f"to {result.signed_through_seq}; ceremony-log key(s): "
                + ", ".join(result.log_keys)
            )
        for line in result.torn_lines:
            _out(f"  line {line}: a torn line from a power cut, accounted for (journal.torn-tail)")
        for warning in result.warnings:
            _out(f"  warning: {warning}")
        return EXIT_OK
    _out(f"{path}: NOT VALID: {result.first_problem}")
    return EXIT_FINDINGS


# ------------------------------------------------------------------------------------- verify


def cmd_verify(args: argparse.Namespace) -> int:
    """Re-check an evidence bundle; exit 0 if all is good, 1 on problems, 2 if not a bundle."""
    from sealroom.ceremony.fingerprint import fingerprint_from_hex
    from sealroom.evidence.verify import verify_bundle

    path = Path(args.bundle)
    result = verify_bundle(path)
    _out(f"{path}: ceremony {result.ceremony_id or '?'} ({result.ceremony_type or '?'})")
    for check in result.checks:
        _out(f"  {'ok' if check.ok else 'FAILED'}: {check.name}: {check.detail}")
    for problem in result.problems:
        _out(f"  problem: {problem.message}")
    for item in result.missing_evidence:
        _out(f"  {item.item_id} {item.title}: missing")
    if result.ok and result.manifest_sha256 is not None:
        fingerprint = fingerprint_from_hex(result.manifest_sha256)
        _out(f"{path}: bundle verified; manifest.json SHA-256 {fingerprint.grouped()}")
        _out(f"  PGP words: {fingerprint.words}")
        return EXIT_OK
    _out(
        f"{path}: NOT VALID: {len(result.problems)} problem(s), "
        f"{len(result.missing_evidence)} required evidence item(s) missing"
    )
    return EXIT_FINDINGS


# ------------------------------------------------------------------------------ ceremony wiring


@dataclass(frozen=True)
class CeremonySetup:
    """Everything a ceremony run needs: script, answers (rehearsal) and output folder."""

    loaded: LoadedScript
    out_dir: Path
    rehearsal: bool
    answers: RehearsalAnswers | None
    module: str | None = None
    token: str | None = None
    printer: str | None = None
    resume: bool = False
    """Continue the interrupted ceremony whose journal is in ``out_dir``."""
    pause: bool = False
    """Rehearsals: wait for Enter before each step (a trainer talks the room through it)."""
    registry: Path | None = None
    """The previous ceremony's registry.json, compared with this one at the opening."""
    media: tuple[tuple[str, Path], ...] = ()
    """Production: (media material id, folder where that medium is mounted), from --media."""
    restore_module: str | None = None
    restore_token: str | None = None
    """Production: the token a backup's restore test unwraps into (--restore-module/-token)."""
    inputs: tuple[tuple[str, Path], ...] = ()
    """Rehearsals: (input id, image, folder or PDF) from --input, read instead of a stand-in."""


class NoToken:
    """The Hsm port for a script with no ``hsm`` section: any token operation is refused."""

    def _refuse(self) -> SealroomError:
        return SealroomError("This ceremony's script declares no HSM; no token can be used.")

    def token_info(self) -> TokenInfo:
        raise self._refuse()

    def login(self, pin: str) -> None:
        raise self._refuse()

    def logout(self) -> None:
        raise self._refuse()

    def generate_key(self, spec: KeySpec) -> SigningKey:
        raise self._refuse()

    def random_bytes(self, count: int) -> bytes:
        raise self._refuse()

    def supported_algorithms(self) -> tuple[str, ...]:
        return ()

    def find_key(self, spec: KeySpec) -> SigningKey:
        raise self._refuse()

    def device_inventory(self, mechanisms_used: Iterable[str] | None = None) -> DeviceInventory:
        raise self._refuse()

    def destroy_key(self, spec: KeySpec) -> DestructionRecord:
        raise self._refuse()

    def zeroise(self, so_pin: str, new_label: str | None = None) -> ZeroiseRecord:
        raise self._refuse()

    def initialise(self, label: str, so_pin: str, user_pin: str) -> TokenInfo:
        raise self._refuse()

    def wrap_key(self, spec: KeySpec, kek: bytes | bytearray) -> WrappedKey:
        raise self._refuse()

    def unwrap_key(
        self, spec: KeySpec, wrapped: WrappedKey, kek: bytes | bytearray, *, persist: bool
    ) -> SigningKey:
        raise self._refuse()

    def object_count(self) -> int:
        raise self._refuse()


def _prepare_out_dir(loaded: LoadedScript, out_dir: Path, rehearsal: bool, resume: bool) -> None:
    """Refuse, before anything is created, an output folder that already holds evidence.

    With ``resume`` the folder must hold the journal of the interrupted ceremony instead.
    """
    if resume:
        if not (out_dir / JOURNAL_NAME).is_file():
            raise SealroomError(
                f"There is no journal in {out_dir} to resume; --resume continues an interrupted "
                "ceremony in the folder where it was started."
            )
        token_conf = out_dir / TOKEN_DIR_NAME / "softhsm2.conf"
        if rehearsal and loaded.script.hsm is not None and not token_conf.is_file():
            raise SealroomError(
                f"The rehearsal token of the interrupted ceremony is not in "
                f"{out_dir / TOKEN_DIR_NAME}; it cannot be resumed."
            )
        return
    if (out_dir / JOURNAL_NAME).exists():
        raise SealroomError(
            f"{out_dir / JOURNAL_NAME} already exists; Sealroom never overwrites ceremony "
            "evidence. To continue that interrupted ceremony, run the same command with "
            "--resume; otherwise choose a new --out folder."
        )
    names = [
        JOURNAL_NAME,
        REPORT_NAME,
        BUNDLE_DIR_NAME,
        *(c.output for c in loaded.script.certificates),
    ]
    if rehearsal and loaded.script.hsm is not None:
        names.append(TOKEN_DIR_NAME)
    for name in names:
        if (out_dir / name).exists():
            raise SealroomError(
                f"{out_dir / name} already exists; Sealroom never overwrites ceremony evidence. "
                "Choose a new --out folder."
            )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SealroomError(f"Cannot create the output folder {out_dir}: {exc.strerror}.") from exc


@dataclass(frozen=True)
class Wired:
    """A runner on the real adapters, and what a rehearsal prepared for its operator."""

    runner: Runner
    prepared: dict[str, list[str]]
    """Input id -> the stand-in QR images prepared for it (rehearsals)."""
    sheet_words: Callable[[str, str], Sequence[str]] | None
    """(custodian name, what) -> the words on the share sheet printed in this rehearsal."""


@contextmanager
def ceremony_runner(setup: CeremonySetup) -> Iterator[Wired]:
    """Build a Runner wired to the real adapters; closes the HSM and journal afterwards."""
    _prepare_out_dir(setup.loaded, setup.out_dir, setup.rehearsal, setup.resume)
    script = setup.loaded.script
    # The HSM-initialisation ceremony starts from a token that was never initialised.
    blank = any(
        isinstance(step, ActionStep) and step.action == "initialise-token" for step in script.steps
    )
    if script.hsm is None:
        module, token_ref = "", ""
    elif setup.rehearsal:
        from sealroom.hsm.softhsm import SOFTHSM_MODULE, create_blank_slot, create_rehearsal_token

        assert setup.answers is not None  # noqa: S101 - guaranteed by the callers
        if setup.resume:
            conf_path = setup.out_dir / TOKEN_DIR_NAME / "softhsm2.conf"
        else:
            conf_path = (
                create_blank_slot(setup.out_dir / TOKEN_DIR_NAME)
                if blank
                else create_rehearsal_token(
                    setup.out_dir / TOKEN_DIR_NAME,
                    script.hsm_required().token_label,
                    setup.answers.token.user_pin,
                    setup.answers.token.so_pin,
                )
            ).conf_path
            if _restore_tested(script):
                # SoftHSM reads one token directory per process: the restore-test token is a
                # second throwaway token in the same directory (never the ceremony's own).
                create_rehearsal_token(
                    setup.out_dir / TOKEN_DIR_NAME,
                    _rehearsal_restore_label(script),
                    setup.answers.token.user_pin,
                    setup.answers.token.so_pin,
                )
        # Must be set before the PKCS#11 library is first loaded in this process.
        os.environ["SOFTHSM2_CONF"] = str(conf_path)
        module, token_ref = SOFTHSM_MODULE, script.hsm_required().token_label
    else:
        if not setup.module or (not setup.token and not blank):
            raise SealroomError("A production ceremony needs --module PATH and --token LABEL|URI.")
        module, token_ref = setup.module, setup.token or ""

    from sealroom.backup.sharing import Slip39Sharing
    from sealroom.ceremony.clock import SystemClock
    from sealroom.ceremony.runner import Adapters
    from sealroom.hsm.token import Pkcs11Hsm
    from sealroom.journal.store import JournalWriter
    from sealroom.outputs import OutputFolder
    from sealroom.pki.inputs import CeremonyCertificateIssuer
    from sealroom.report.ceremony_report import JournalReportRenderer
    from sealroom.report.printing import CupsPrinter, FilePrinter
    from sealroom.report.share_sheet import (
        FileSheetPrinter,
        SheetPrinterAdapter,
        read_share_sheet_words,
    )
    from sealroom.software import software_sha256
    from sealroom.transfer.frames import FrameEncoder
    from sealroom.transfer.receive import ImageQrReceiver

    clock = SystemClock()
    journal_path = setup.out_dir / JOURNAL_NAME
    if blank and setup.resume and _journal_has(journal_path, "token.initialised"):
        blank = False  # the interrupted run initialised the token: it is opened by its label
    with ExitStack() as stack:
        hsm: Hsm
        if script.hsm is None:
            hsm = NoToken()
        elif blank:
            hsm = stack.enter_context(
                Pkcs11Hsm.open_uninitialised(
                    module, max_pin_attempts=script.hsm_required().max_pin_attempts
                )
            )
        else:
            hsm = stack.enter_context(
                Pkcs11Hsm.open(
                    module, token_ref, max_pin_attempts=script.hsm_required().max_pin_attempts
                )
            )
        backup_kit, restore_hsm = _backup_adapters(setup, stack)
        issuer = CeremonyCertificateIssuer()
        prepared: dict[str, list[str]] = {}
        if setup.resume:
            from sealroom.rehearsal import prepared_inputs

            prepared = prepared_inputs(
                script, setup.out_dir, dict(setup.inputs), setup.out_dir / JOURNAL_NAME
            )
        elif setup.rehearsal and script.hsm is not None and not blank:
            from sealroom.rehearsal import prepare_rehearsal

            assert setup.answers is not None  # noqa: S101 - guaranteed by the callers
            prepared = prepare_rehearsal(
                script,
                hsm,
                issuer,
                setup.answers.token.user_pin,
                setup.out_dir,
                given=dict(setup.inputs),
            )
        sheets: SheetPrinter
        sheet_words = None
        if setup.rehearsal:
            from sealroom.rehearsal import RecordingSheets

            folder = setup.out_dir / SHEETS_DIR_NAME
            folder.mkdir(mode=0o700, exist_ok=True)
            recording = RecordingSheets(FileSheetPrinter(folder), read_share_sheet_words, script)
            sheets, sheet_words = recording, recording.words
        else:
            sheets = SheetPrinterAdapter(CupsPrinter(setup.printer))
        stand_ins = {}
        if setup.rehearsal and backup_kit is not None and script.hsm is not None:
            from sealroom.rehearsal_backup import rehearsal_stand_in_backups

            assert setup.answers is not None  # noqa: S101 - guaranteed by the callers
            stand_ins = rehearsal_stand_in_backups(
                script, hsm, backup_kit, Slip39Sharing(), sheets, setup.answers.token.user_pin,
                setup.out_dir, resume=setup.resume,
            )  # fmt: skip
        journal = stack.enter_context(
            JournalWriter.resume(journal_path, clock)
            if setup.resume
            else JournalWriter.create(journal_path, clock)
        )
        printer = (
            FilePrinter(setup.out_dir, REPORT_NAME)
            if setup.rehearsal
            else CupsPrinter(setup.printer)
        )
        from sealroom.preflight.checks import SystemPreflight

        adapters = Adapters(
            hsm=hsm,
            issuer=issuer,
            journal=journal,
            store=OutputFolder(setup.out_dir),
            report=JournalReportRenderer(journal_path),
            printer=printer,
            qr=FrameEncoder(),
            clock=clock,
            receiver=ImageQrReceiver(),
            sharing=Slip39Sharing(),
            sheets=sheets,
            software_sha256=software_sha256(),
            backup=backup_kit,
            restore_hsm=restore_hsm,
            preflight=SystemPreflight(out_dir=setup.out_dir),
        )
        runner = Runner(
            setup.loaded,
            adapters,
            rehearsal=setup.rehearsal,
            registry=_registry_input(setup.registry),
        )
        if stand_ins:
            runner.backups.recovery.declare_stand_ins(stand_ins)
        if setup.resume:
            from sealroom.journal.reader import read_entries

            runner.resume(
                read_entries(journal_path),
                extra_outputs=(REPORT_NAME,) if setup.rehearsal else (),
            )
            _out(f"resumed the interrupted ceremony from {journal_path}")
        yield Wired(runner, prepared, sheet_words)


def _restore_tested(script: Script) -> bool:
    """A second token is needed: a restore test, or a migration's target (recover-key)."""
    migrated = {b.id for b in script.backups if b.restore_test_token is not None}
    return any(
        isinstance(s, ActionStep)
        and (
            s.action == "restore-test"
            or (s.action == "recover-key" and s.params.get("backup") in migrated)
        )
        for s in script.steps
    )


def _backed_up(script: Script) -> bool:
    return any(isinstance(s, ActionStep) and s.action == "backup-key" for s in script.steps)


REHEARSAL_RESTORE_LABELS = ("restore-test", "restore-test-2")
"""Labels of a rehearsal's restore-test token (the second if the script's token has the first)."""


def _rehearsal_restore_label(script: Script) -> str:
    """The label of the rehearsal's restore-test token: never the ceremony token's own."""
    first, second = REHEARSAL_RESTORE_LABELS
    return first if script.hsm_required().token_label != first else second


def _backup_adapters(setup: CeremonySetup, stack: ExitStack) -> tuple[KeyBackup | None, Hsm | None]:
    """The backup media folders and the restore-test token, for scripts that back up a key.

    Rehearsal: DIR/media/<material id>/ for each medium and the second throwaway token made
    with the ceremony's. Production: the folders given with --media ID=PATH (every medium the
    script writes to must be given) and --restore-module/--restore-token.
    """
    script = setup.loaded.script
    if not script.backups:
        return None, None
    from sealroom.backup.keybackup import FolderKeyBackup

    wanted = sorted({m for b in script.backups for m in b.media})
    if setup.rehearsal:
        media = {m: setup.out_dir / MEDIA_DIR_NAME / m for m in wanted}
        for folder in media.values():
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    else:
        media = dict(setup.media)
        unknown = sorted(set(media) - set(wanted))
        if unknown:
            raise SealroomError(
                f"--media names {', '.join(unknown)}, which is not a backup medium of this "
                f"script (its media: {', '.join(wanted)})."
            )
        missing = [m for m in wanted if m not in media] if _backed_up(script) else []
        if missing:
            raise SealroomError(
                "This ceremony writes the backup to "
                + ", ".join(wanted)
                + "; give the folder where each is mounted with --media ID=PATH (missing: "
                + ", ".join(missing)
                + ")."
            )
    restore: Hsm | None = None
    if _restore_tested(script):
        from sealroom.hsm.token import Pkcs11Hsm

        if setup.rehearsal:
            from sealroom.hsm.softhsm import SOFTHSM_MODULE

            module, token = SOFTHSM_MODULE, _rehearsal_restore_label(script)
        else:
            if not setup.restore_module or not setup.restore_token:
                raise SealroomError(
                    "This ceremony tests the backup on a second token: give it with "
                    "--restore-module PATH --restore-token LABEL|URI."
                )
            module, token = setup.restore_module, setup.restore_token
        restore = stack.enter_context(
            Pkcs11Hsm.open(module, token, max_pin_attempts=script.hsm_required().max_pin_attempts)
        )
    return FolderKeyBackup(media), restore


def _media_option(value: str) -> tuple[str, Path]:
    """``ID=PATH`` of --media: a backup medium's material id and the folder it is mounted at."""
    material, sep, folder = value.partition("=")
    if not sep or not material or not folder:
        raise argparse.ArgumentTypeError(f"{value!r} is not ID=PATH (e.g. media-c=/media/usb1)")
    return material, Path(folder)


def _input_option(value: str) -> tuple[str, Path]:
    """``ID=PATH`` of rehearse --input: a script input and the image, folder or PDF of its codes."""
    input_id, sep, path = value.partition("=")
    if not sep or not input_id or not path:
        raise argparse.ArgumentTypeError(f"{value!r} is not ID=PATH (e.g. issuing-ca-csr=frames/)")
    return input_id, Path(path)


def _registry_input(path: Path | None) -> RegistryInput | None:
    """Load the previous ceremony's registry (refused with file:line and field if malformed)."""
    if path is None:
        return None
    import hashlib

    from sealroom.ceremony.registry import load_registry

    registry = load_registry(path)
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise SealroomError(f"Cannot read the registry {path}: {exc.strerror}.") from exc
    _out(f"registry of ceremony {registry.ceremony.id} ({path}), SHA-256 {digest}")
    return RegistryInput(registry, digest)


def _journal_has(path: Path, event: str) -> bool:
    from sealroom.journal.reader import read_entries

    return any(entry.event == event for entry in read_entries(path))


def _setup_from_args(args: argparse.Namespace, *, rehearsal: bool) -> CeremonySetup:
    script_path = Path(args.script)
    loaded = load_script(script_path)
    require_runnable(loaded.script)
    answers = None
    if rehearsal:
        answers_path = Path(args.answers) if args.answers else default_answers_path(script_path)
        answers = load_answers(answers_path, loaded.script)
    return CeremonySetup(
        loaded=loaded,
        out_dir=Path(args.out),
        rehearsal=rehearsal,
        answers=answers,
        module=getattr(args, "module", None),
        token=getattr(args, "token", None),
        printer=getattr(args, "printer", None),
        resume=bool(getattr(args, "resume", False)),
        pause=bool(getattr(args, "pause", False)),
        registry=Path(args.registry) if getattr(args, "registry", None) else None,
        media=tuple(getattr(args, "media", None) or ()),
        restore_module=getattr(args, "restore_module", None),
        restore_token=getattr(args, "restore_token", None),
        inputs=tuple(getattr(args, "input", None) or ()),
    )


def cmd_rehearse(args: argparse.Namespace) -> int:
    setup = _setup_from_args(args, rehearsal=True)
    if setup.inputs or setup.resume:
        from dataclasses import replace

        setup = replace(setup, inputs=_given_inputs(setup))
    assert setup.answers is not None  # noqa: S101 - rehearsal always loads answers
    opened = False
    try:
        with ceremony_runner(setup) as wired:
            opened = True
            operator = AnswersOperator(
                setup.answers,
                _out,
                wired.prepared,
                wired.sheet_words,
                pause=_wait_for_enter if setup.pause else None,
            )
            result = wired.runner.run(operator)
    except Exception:
        if opened:
            _bundle_after_abort(setup)
        raise
    _out(f"rehearsal complete: {result.steps_done} steps; outputs in {setup.out_dir}")
    _write_bundle(setup)
    return EXIT_OK


def _given_inputs(setup: CeremonySetup) -> tuple[tuple[str, Path], ...]:
    """``rehearse --input``: refused before anything starts unless each names an import's codes."""
    from sealroom.rehearsal import require_given_inputs, require_resumed_inputs

    given = require_given_inputs(setup.loaded.script, setup.inputs, setup.answers)
    if setup.resume and (setup.out_dir / JOURNAL_NAME).is_file():
        require_resumed_inputs(setup.out_dir, given, setup.out_dir / JOURNAL_NAME)
    for input_id, path in given.items():
        _out(f"{input_id}: its QR codes are read from {path} (--input), not from a stand-in")
    return tuple(given.items())


def cmd_run(args: argparse.Namespace) -> int:
    setup = _setup_from_args(args, rehearsal=args.rehearsal)
    from sealroom.ui.app import run_ceremony_tui

    pin_hint = (
        setup.answers.token.user_pin
        if setup.answers is not None and setup.loaded.script.hsm is not None
        else None
    )
    opened = False
    try:
        with ceremony_runner(setup) as wired:
            opened = True
            result = run_ceremony_tui(wired.runner, rehearsal_pin=pin_hint, prepared=wired.prepared)
    except Exception:
        if opened:
            _bundle_after_abort(setup)
        raise
    if result is None or not result.completed:
        reason = result.reason if result is not None and result.reason else "it was not completed"
        reason = reason.rstrip(".")
        _err(f"sealroom: the ceremony ended early: {reason}. The journal is in {setup.out_dir}.")
        _bundle_after_abort(setup)
        return EXIT_FINDINGS
    _out(f"ceremony complete: {result.steps_done} steps; outputs in {setup.out_dir}")
    _write_bundle(setup)
    return EXIT_OK


def _wait_for_enter(view: StepView) -> None:
    """``rehearse --pause``: nothing happens until the trainer presses Enter."""
    sys.stdout.write(f"Press Enter to perform step {view.index + 1}/{view.total}: ")
    sys.stdout.flush()
    if not sys.stdin.readline():
        # Not an abort: the journal stays open and the rehearsal can be continued with --resume.
        sys.stdout.write("\n")
        raise SystemExit(
            f"sealroom: standard input ended; the rehearsal stopped before step {view.index + 1} "
            "and can be continued with --resume."
        )


def _write_bundle(setup: CeremonySetup) -> None:
    """Write DIR/bundle/ for a ceremony that has ended (completed or aborted) and say where."""
    from sealroom.evidence.bundle import collect_files, write_bundle
    from sealroom.journal.verify import verify_journal
    from sealroom.report.ceremony_report import render_ceremony_report

    journal = setup.out_dir / JOURNAL_NAME
    if not journal.is_file() or verify_journal(journal).ended_by is None:
        _out(f"no evidence bundle yet: the journal {journal} does not show the ceremony ended")
        return
    files = collect_files(setup.out_dir, journal, render_report=render_ceremony_report)
    bundle = write_bundle(setup.out_dir, journal=journal, script=setup.loaded.path, files=files)
    _out(f"evidence bundle: {bundle.path} ({len(bundle.files)} files)")
    _out(f"  manifest.json SHA-256: {bundle.manifest_sha256.grouped()}")
    _out(f"  PGP words: {bundle.manifest_sha256.words}")


def _bundle_after_abort(setup: CeremonySetup) -> None:
    """After an abort, write the bundle if the journal ended; never hide the abort's own error."""
    try:
        _write_bundle(setup)
    except SealroomError as exc:
        _err(f"sealroom: no evidence bundle was written: {exc.message}")


# ------------------------------------------------------------------------------------ print-script


def cmd_print_script(args: argparse.Namespace) -> int:
    from sealroom.outputs import OutputFolder
    from sealroom.report.worksheet import render_worksheet

    loaded = load_script(Path(args.script))
    out = Path(args.out)
    pdf = render_worksheet(loaded)
    path = OutputFolder(out.parent if str(out.parent) else Path()).write_once(out.name, pdf)
    _out(f"script worksheet written to {path} (script SHA-256 {loaded.sha256})")
    return EXIT_OK


# ------------------------------------------------------------------------------------------ main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sealroom", description="Air-gapped workstation for root CA key ceremonies."
    )
    parser.add_argument("--version", action="version", version=f"sealroom {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    lint = sub.add_parser(
        "lint", help="check ceremony scripts (exit 0 clean, 1 findings, 2 unusable)"
    )
    lint.add_argument("scripts", nargs="+", metavar="SCRIPT")
    lint.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text: one 'file:line:col: RULE message' line per finding (default); json: a list "
        "of {file, line, column, rule, kind, message, clause, evidence}",
    )
    lint.add_argument(
        "--module",
        metavar="PATH",
        help="PKCS#11 module of the ceremony's HSM: with --token, also check that the token can "
        "make every key algorithm the script names (SR-TOKEN-ALGORITHM; no login)",
    )
    lint.add_argument("--token", metavar="LABEL|URI", help="the token, with --module")
    lint.set_defaults(func=cmd_lint)

    rehearse = sub.add_parser(
        "rehearse", help="run a ceremony unattended on a throwaway SoftHSM2 token"
    )
    rehearse.add_argument("script", metavar="SCRIPT")
    rehearse.add_argument("--out", required=True, metavar="DIR", help="folder for the outputs")
    rehearse.add_argument(
        "--resume",
        action="store_true",
        help="continue the interrupted rehearsal whose journal is in --out",
    )
    rehearse.add_argument(
        "--registry",
        metavar="FILE",
        help="the previous ceremony's registry.json (from its bundle), compared at the opening",
    )
    rehearse.add_argument(
        "--pause", action="store_true", help="wait for Enter before each step (for training)"
    )
    rehearse.add_argument(
        "--answers", metavar="FILE", help="answers file (default: next to SCRIPT)"
    )
    rehearse.add_argument(
        "--input",
        action="append",
        type=_input_option,
        metavar="ID=PATH",
        help="read the QR codes of the script's input ID from PATH (an image, a folder of images "
        "or a PDF) instead of a stand-in; once per input (docs/transfer.md)",
    )
    rehearse.set_defaults(func=cmd_rehearse)

    run = sub.add_parser("run", help="run a ceremony in the full-screen terminal UI")
    run.add_argument("script", metavar="SCRIPT")
    run.add_argument("--out", required=True, metavar="DIR", help="folder for the outputs")
    run.add_argument("--rehearsal", action="store_true", help="use a throwaway SoftHSM2 token")
    run.add_argument("--answers", metavar="FILE", help="rehearsal answers file (token PINs)")
    run.add_argument("--module", metavar="PATH", help="PKCS#11 module (production)")
    run.add_argument("--token", metavar="LABEL|URI", help="token label or pkcs11: URI (production)")
    run.add_argument("--printer", metavar="NAME", help="CUPS printer (production)")
    run.add_argument(
        "--media",
        action="append",
        type=_media_option,
        metavar="ID=PATH",
        help="a backup medium of the script (material id) and the folder it is mounted at; once "
        "per medium (production)",
    )
    run.add_argument(
        "--restore-module", metavar="PATH", help="PKCS#11 module of the restore-test token"
    )
    run.add_argument(
        "--restore-token",
        metavar="LABEL|URI",
        help="the token a backup's restore test unwraps into, then zeroises (production)",
    )
    run.add_argument(
        "--registry",
        metavar="FILE",
        help="the previous ceremony's registry.json (from its bundle), compared at the opening",
    )
    run.add_argument(
        "--resume",
        action="store_true",
        help="continue the interrupted ceremony whose journal is in --out",
    )
    run.set_defaults(func=cmd_run)

    worksheet = sub.add_parser(
        "print-script", help="write the script worksheet PDF for the internal witness"
    )
    worksheet.add_argument("script", metavar="SCRIPT")
    worksheet.add_argument("--out", required=True, metavar="FILE", help="PDF to write (new)")
    worksheet.set_defaults(func=cmd_print_script)

    bundle = sub.add_parser(
        "verify",
        help="re-check an evidence bundle: journal, hashes, signatures, evidence items "
        "(exit 0 good, 1 problems, 2 not a bundle)",
    )
    bundle.add_argument("bundle", metavar="BUNDLE", help="the bundle/ folder of a ceremony")
    bundle.set_defaults(func=cmd_verify)

    verify = sub.add_parser("verify-journal", help="check a journal's hash chain")
    verify.add_argument("journal", metavar="FILE")
    verify.set_defaults(func=cmd_verify_journal)

    from sealroom.evidence.registry_cli import add_registry_parser

    add_registry_parser(sub)
    from sealroom.transfer.cli import add_transfer_parser

    add_transfer_parser(sub)
    from sealroom.preflight.cli import add_preflight_parser

    add_preflight_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except SealroomError as exc:
        _err(f"sealroom: {exc.message}")
        return exc.exit_code
    except KeyboardInterrupt:
        _err("sealroom: interrupted; everything journaled so far is kept.")
        return 130
    except Exception as exc:
        _err(
            f"sealroom: internal error ({type(exc).__name__}). Everything journaled so far is "
            "kept. Please report this with the journal file."
        )
        return EXIT_INTERNAL
