"""Compliance lint: the script holds what WebTrust 4.1.5/4.6.8/4.11.4 and EVIDENCE.md ask for."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sealroom.ceremony.script import (
    ActionStep,
    BreakStep,
    EntryStep,
    Script,
    StepBase,
)
from sealroom.ceremony.source import FieldPath, Finding, SourceDocument

# ------------------------------------------------------------------------------- shared vocabulary

# Actions that talk to the HSM: a script running one must name its HSM (``hsm`` section, material).
HSM_ACTIONS: frozenset[str] = frozenset(
    {
        "hsm-login",
        "hsm-logout",
        "generate-key",
        "sign-root-certificate",
        "inventory-token",
        "initialise-token",
        "sign-certificate",
        "make-csr",
        "sign-crl",
        "backup-key",
        "restore-test",
        "recover-key",
        "destroy-key",
        "zeroise-token",
    }
)

# Evidence an action produces by itself (what the engine journals when it runs it).
ACTION_EVIDENCE: dict[str, frozenset[str]] = {
    "generate-key": frozenset(
        {"EV-KEY-ID", "EV-KEY-ALG", "EV-KEY-FPR", "EV-KEY-DATE", "EV-SETTINGS"}
    ),
    "sign-root-certificate": frozenset({"EV-ARTIFACTS"}),
    "sign-certificate": frozenset({"EV-ARTIFACTS"}),
    "sign-crl": frozenset({"EV-ARTIFACTS"}),
    "make-csr": frozenset({"EV-ARTIFACTS"}),
    "print-report": frozenset({"EV-REPORT"}),
    "backup-key": frozenset({"EV-BACKUP", "EV-QUORUM"}),
    "restore-test": frozenset({"EV-RESTORE"}),
    "recover-key": frozenset({"EV-QUORUM", "EV-KEY-ID", "EV-KEY-FPR"}),
    "resplit-backup": frozenset({"EV-BACKUP", "EV-QUORUM", "EV-KEY-ID", "EV-KEY-FPR"}),
    "destroy-key": frozenset({"EV-DESTROY"}),
    "zeroise-token": frozenset({"EV-DESTROY"}),
    "verify-software": frozenset({"EV-INTEGRITY"}),
    "inventory-token": frozenset({"EV-DEVICE"}),
    "import-qr": frozenset({"EV-COLLECTED"}),
}

# Evidence a step kind produces by itself.
KIND_EVIDENCE: dict[str, frozenset[str]] = {
    "attendance": frozenset({"EV-ATTEND"}),
    "sign-off": frozenset({"EV-SIGNOFF"}),
}


def step_evidence(step: StepBase) -> frozenset[str]:
    """Every evidence ID a step produces: implied by its kind, action or entry, or tagged."""
    produced = set(step.evidence) | KIND_EVIDENCE.get(_kind(step), frozenset())
    if isinstance(step, ActionStep):
        produced |= ACTION_EVIDENCE.get(step.action, frozenset())
    elif isinstance(step, EntryStep):
        if step.entry.format == "clock-offset":
            produced.add("EV-CLOCK")
        if step.entry.format == "bag-serial" or (
            step.entry.expect is not None and step.entry.expect.field in {"bag_in", "bag_out"}
        ):
            produced.add("EV-TEB")
        if step.entry.expect is not None and step.entry.expect.field == "serial":
            produced.add("EV-MATERIALS")
    elif isinstance(step, BreakStep) and step.recheck_bags:
        produced.add("EV-TEB")
    return frozenset(produced)


def script_evidence(script: Script) -> frozenset[str]:
    """Every evidence ID the script's steps produce; an ``hsm`` section adds EV-DEVICE."""
    produced: set[str] = set()
    for step in script.steps:
        produced |= step_evidence(step)
    if script.hsm is not None:
        produced.add("EV-DEVICE")  # the engine journals the token's identity at the opening
    return frozenset(produced)


def _kind(step: StepBase) -> str:
    return str(getattr(step, "kind", ""))


def script_clause(ceremony_type: str, letter: str) -> str:
    """The WebTrust script-contents clause for a ceremony type, e.g. ``WebTrust 4.6.8(b)``."""
    base = {"key-destruction": "4.6.8", "key-migration": "4.11.4"}.get(ceremony_type, "4.1.5")
    return f"WebTrust {base}({letter})"


def witness_clause(ceremony_type: str) -> str:
    """Where independent witnessing is required for a ceremony type."""
    base = {"key-destruction": "4.6.9", "key-migration": "4.11.6"}.get(ceremony_type, "4.1.4")
    return f"WebTrust {base}, BR 6.1.1.1(2)"


def expect_matches(step: StepBase, material: str, field: str) -> bool:
    """True if ``step`` is an entry whose typed value must equal ``material``'s ``field``."""
    return (
        isinstance(step, EntryStep)
        and step.entry.expect is not None
        and step.entry.expect.material == material
        and step.entry.expect.field == field
    )


# ------------------------------------------------------------------------- per-type requirements


@dataclass(frozen=True)
class Need:
    """A step a ceremony type must contain.

    Met by any step running one of ``actions``, tagged with one of ``evidence``, or an entry step
    checking a material field listed in ``entries``.
    """

    what: str
    """What is missing, as the administrator reads it."""
    add: str
    """How to add it."""
    actions: frozenset[str] = frozenset()
    evidence: frozenset[str] = frozenset()
    entries: frozenset[str] = frozenset()

    def met_by(self, step: StepBase) -> bool:
        if isinstance(step, ActionStep) and step.action in self.actions:
            return True
        if self.evidence & set(step.evidence):
            return True
        return (
            isinstance(step, EntryStep)
            and step.entry.expect is not None
            and step.entry.expect.field in self.entries
        )

    def implied_evidence(self) -> frozenset[str]:
        """Evidence whose absence this need's finding already explains (not reported twice)."""
        implied = set(self.evidence)
        for action in self.actions:
            implied |= ACTION_EVIDENCE.get(action, frozenset())
        if self.entries:
            implied.add("EV-TEB" if self.entries & {"bag_in", "bag_out"} else "EV-MATERIALS")
        return frozenset(implied)


def _action(what: str, *actions: str) -> Need:
    listed = " or ".join(actions)
    return Need(what, f"add an action step with action: {listed}", actions=frozenset(actions))


STORAGE = Need(
    "the preparation of materials for storage",
    "add a closing step tagged evidence: [EV-CUSTODY] in which the holders take the sealed items "
    "to the places the custody section names",
    evidence=frozenset({"EV-CUSTODY"}),
)
KEY_GENERATION = _action("the CA key generation", "generate-key")
ROOT_CERTIFICATE = _action("the CA certificate signing", "sign-root-certificate")
IMPORT = _action("taking in the request or certificate through the air gap", "import-qr")
SIGN_CERTIFICATE = _action("the certificate signing", "sign-certificate")
HAND_OUT = _action("handing out what was signed", "show-qr", "export-qr")
MAKE_CSR = _action("making the certificate signing request", "make-csr")
EXPORT = _action("handing out what was made", "export-qr")
SIGN_CRL = _action("the CRL signing", "sign-crl")
BACKUP = _action("the CA key backup", "backup-key")
RESTORE_TEST = _action("the restore test of the backup", "restore-test")
RECOVER = _action("the CA key recovery", "recover-key")
RESPLIT = _action("the re-split of the backup's key-encryption key", "resplit-backup")
IMPORT_TARGET = _action("loading the CA key into the target device", "recover-key")
VERIFY_MIGRATION = Need(
    "the CA key verification on the target device",
    "add a witness-check step comparing the key fingerprints on both devices, tagged "
    "evidence: [EV-MIGRATE]",
    evidence=frozenset({"EV-MIGRATE"}),
)
DESTROY = _action("the zeroisation or destruction of the key", "destroy-key", "zeroise-token")
INVENTORY = _action("listing the objects on the token", "inventory-token")
SEAL_FOR_TRANSPORT = Need(
    "sealing the materials for transport",
    "add an entry step expecting a material's bag_out (the transport bag's serial)",
    entries=frozenset({"bag_out"}),
)
ARRIVAL_BAGS = Need(
    "checking the transport bags on arrival",
    "add an entry step expecting a material's bag_in (the transport bag's serial)",
    entries=frozenset({"bag_in"}),
)
TRANSPORT = Need(
    "the hand-over to or from the couriers",
    "add a step tagged evidence: [EV-TRANSPORT] recording who carries which bag",
    evidence=frozenset({"EV-TRANSPORT"}),
)
SERIAL_CHECK = Need(
    "checking the device serial against the delivery record",
    "add an entry step expecting the HSM material's serial",
    entries=frozenset({"serial"}),
)
INITIALISE = _action("the token initialisation", "initialise-token")
RESPOND = _action(
    "the response to the compromise (revoking, or destroying the key)",
    "sign-crl",
    "destroy-key",
    "zeroise-token",
)
INSPECT_BAGS = Need(
    "inspecting the stored materials' bags",
    "add an entry step expecting each stored material's bag_in",
    entries=frozenset({"bag_in"}),
)

# The steps each ceremony type needs (WebTrust 4.1.5(d), 4.6.8(d), 4.11.4(d)), besides STORAGE
# (every type) and what C-INTEGRITY, C-CLOCK, C-SIGNOFF and C-REPORT require of every script.
STEP_NEEDS: dict[str, tuple[Need, ...]] = {
    "root-key-generation": (KEY_GENERATION, ROOT_CERTIFICATE),
    "parked-key-generation": (KEY_GENERATION,),
    "subordinate-ca-signing": (IMPORT, SIGN_CERTIFICATE, HAND_OUT),
    "cross-certificate": (IMPORT, SIGN_CERTIFICATE, HAND_OUT),
    "root-csr": (MAKE_CSR, EXPORT),
    "crl-issuance": (SIGN_CRL, EXPORT),
    "ocsp-responder-certificate": (IMPORT, SIGN_CERTIFICATE, HAND_OUT),
    "key-backup": (BACKUP, RESTORE_TEST),
    "key-recovery": (RECOVER,),
    "custodian-change": (RESPLIT,),
    "key-migration": (IMPORT_TARGET, VERIFY_MIGRATION),
    "key-destruction": (DESTROY, INVENTORY),
    "key-transport-departure": (SEAL_FOR_TRANSPORT, TRANSPORT),
    "key-transport-arrival": (ARRIVAL_BAGS, TRANSPORT),
    "hsm-intake": (SERIAL_CHECK, INVENTORY),
    "hsm-initialisation": (INITIALISE,),
    "key-compromise-response": (RESPOND,),
    "periodic-inspection": (INSPECT_BAGS,),
}

# Ceremony types that generate keys: each key generated with ``backup: true`` is backed up in the
# same script (WebTrust 4.1.5(d) "CA key backup").
KEY_GENERATION_TYPES: frozenset[str] = frozenset({"root-key-generation", "parked-key-generation"})

# Actions an independent witness (a role with internal: false) must witness, by ceremony type
# (WebTrust 4.1.4, 4.6.9, 4.11.6; BR 6.1.1.1(2)). Generating or destroying a CA key is witnessed in
# any ceremony.
WITNESSED_ALWAYS: frozenset[str] = frozenset({"generate-key", "destroy-key"})
WITNESSED_ACTIONS: dict[str, frozenset[str]] = {
    "key-destruction": frozenset({"zeroise-token"}),
    "key-migration": frozenset({"backup-key", "recover-key", "zeroise-token"}),
    "custodian-change": frozenset({"resplit-backup"}),
}


def witnessed_actions(ceremony_type: str) -> frozenset[str]:
    return WITNESSED_ALWAYS | WITNESSED_ACTIONS.get(ceremony_type, frozenset())


def unmet_needs(script: Script) -> list[Need]:
    """The needs of the script's ceremony type (and STORAGE) that no step meets."""
    needs = (*STEP_NEEDS[script.ceremony.type], STORAGE)
    return [need for need in needs if not any(need.met_by(step) for step in script.steps)]


# ----------------------------------------------------------------------------------- the rules

RULES: dict[str, str] = {
    "C-ROLES": "roles are defined, each with after-ceremony duties, and each held by someone",
    "C-APPROVAL": "the management approval for the ceremony is recorded",
    "C-MATERIALS": "the hardware and media used are listed, including the HSM and the workstation",
    "C-STEPS": "the steps the ceremony type needs are present",
    "C-PHYSICAL": "the location's physical security requirements are listed",
    "C-CUSTODY": "the custody section says where everything is kept afterwards",
    "C-SIGNOFF": "a sign-off step lets participants and witnesses state the script was followed",
    "C-DEVIATIONS": "the deviations policy says who decides and how",
    "C-WITNESS": "an independent witness witnesses key generation, destruction and migration",
    "C-CPS": "the governing CP/CPS section is named",
    "C-OBJECTIVES": "the ceremony's objectives are listed",
    "C-CLOCK": "the workstation clock is compared with a reference clock",
    "C-INTEGRITY": "the software's integrity is verified",
    "C-TEB": "every tamper-evident bag listed is checked by an entry step",
    "C-REPORT": "the ceremony report is printed",
}


def compliance_findings(doc: SourceDocument, script: Script) -> list[Finding]:
    """Every compliance finding for a script whose model validated."""
    return sorted(_Compliance(doc, script).findings(), key=_order)


def _order(finding: Finding) -> tuple[int, int, str]:
    return (finding.position.line, finding.position.column, finding.rule)


class _Compliance:
    def __init__(self, doc: SourceDocument, script: Script) -> None:
        self.doc = doc
        self.script = script
        self.type = script.ceremony.type

    def at(
        self, path: FieldPath, rule: str, message: str, clause: str | None, evidence: str
    ) -> Finding:
        return self.doc.finding(
            path, rule, message, kind="compliance", clause=clause, evidence=evidence
        )

    def where(self, *paths: FieldPath) -> FieldPath:
        """The first of ``paths`` present in the source, else the ``ceremony`` key."""
        return next((p for p in paths if self.doc.has(p)), ("ceremony",))

    def letter(self, letter: str) -> str:
        return script_clause(self.type, letter)

    def findings(self) -> Iterator[Finding]:
        yield from self.roles()
        yield from self.approval()
        yield from self.materials()
        yield from self.steps()
        yield from self.physical()
        yield from self.custody()
        yield from self.sign_off()
        yield from self.deviations()
        yield from self.witness()
        yield from self.ceremony_identity()
        yield from self.clock()
        yield from self.integrity()
        yield from self.bags()
        yield from self.report()

    # (a) roles ---------------------------------------------------------------------------------

    def roles(self) -> Iterator[Finding]:
        clause = self.letter("a")
        if not self.script.roles:
            yield self.at(
                self.where(("roles",)),
                "C-ROLES",
                "the script defines no roles; add a roles section naming each role, what it does "
                "during the ceremony (duties) and after it (after)",
                clause,
                "EV-ROLES",
            )
            return
        for index, role in enumerate(self.script.roles):
            if role.after is None:
                yield self.at(
                    ("roles", index),
                    "C-ROLES",
                    f"roles[{index}] ({role.id}) does not say what the role does after the "
                    "ceremony; add after: (e.g. holds a safe key, keeps the records)",
                    clause,
                    "EV-ROLES",
                )
            if not self.script.holders_of(role.id):
                yield self.at(
                    ("roles", index, "id"),
                    "C-ROLES",
                    f"roles[{index}] ({role.id}) is held by no participant; assign it to someone "
                    "in participants, or remove the role",
                    clause,
                    "EV-ROLES",
                )

    # (b) approval ------------------------------------------------------------------------------

    def approval(self) -> Iterator[Finding]:
        if self.script.ceremony.approval is None:
            yield self.at(
                ("ceremony",),
                "C-APPROVAL",
                "the script records no management approval for the ceremony; add "
                "ceremony.approval (approved_by, role, date, reference)",
                self.letter("b"),
                "EV-APPROVAL",
            )

    # (c) materials -----------------------------------------------------------------------------

    def materials(self) -> Iterator[Finding]:
        clause = self.letter("c")
        materials = self.script.materials
        if not materials:
            yield self.at(
                self.where(("materials",)),
                "C-MATERIALS",
                "the script lists no materials; add the HSM, the workstation and every medium "
                "used, each with its model and serial number",
                clause,
                "EV-MATERIALS",
            )
            return
        kinds = [m.kind for m in materials]
        hsm_steps = [
            (index, step)
            for index, step in enumerate(self.script.steps)
            if isinstance(step, ActionStep) and step.action in HSM_ACTIONS
        ]
        if "workstation" not in kinds:
            yield self.at(
                ("materials",),
                "C-MATERIALS",
                "no material of kind workstation is listed; add the Sealroom workstation with "
                "its serial number (the software runs on it)",
                clause,
                "EV-MATERIALS",
            )
        if (self.script.hsm is not None or hsm_steps) and "hsm" not in kinds:
            yield self.at(
                ("materials",),
                "C-MATERIALS",
                "the ceremony uses an HSM but no material of kind hsm is listed; add the HSM "
                "with its model and serial number",
                clause,
                "EV-MATERIALS",
            )
        if self.script.hsm is None and hsm_steps:
            index, step = hsm_steps[0]
            yield self.at(
                ("steps", index, "action"),
                "C-MATERIALS",
                f"steps[{index}] ({step.id}) uses the HSM but the script has no hsm section "
                "naming which HSM material and token; add hsm: {material, token_label}",
                clause,
                "EV-MATERIALS",
            )
        if self.type == "key-migration" and kinds.count("hsm") < 2:
            yield self.at(
                ("materials",),
                "C-MATERIALS",
                "a key migration lists the device holding the key and the device it moves to; "
                "add both as materials of kind hsm",
                clause,
                "EV-MATERIALS",
            )

    # (d) steps ---------------------------------------------------------------------------------

    def steps(self) -> Iterator[Finding]:
        clause = self.letter("d")
        for need in unmet_needs(self.script):
            yield self.at(
                ("steps",),
                "C-STEPS",
                f"a {self.type} ceremony needs a step for {need.what} and the script has none; "
                f"{need.add}",
                clause,
                "EV-STEPS",
            )
        if self.type not in KEY_GENERATION_TYPES:
            return
        generated = {
            step.params.get("key")
            for step in self.script.steps
            if isinstance(step, ActionStep) and step.action == "generate-key"
        }
        backed_up = {b.key for b in self.script.backups}
        backup_steps = {
            step.params.get("backup")
            for step in self.script.steps
            if isinstance(step, ActionStep) and step.action == "backup-key"
        }
        backed_up_here = {b.key for b in self.script.backups if b.id in backup_steps}
        for index, key in enumerate(self.script.keys):
            if key.backup and key.id in generated and key.id not in backed_up_here:
                hint = (
                    f"add an action step backup-key with backup: {_backup_of(self.script, key.id)}"
                    if key.id in backed_up
                    else "add a backups entry for it and a backup-key step"
                )
                yield self.at(
                    ("keys", index, "backup"),
                    "C-STEPS",
                    f"keys[{index}] ({key.id}) is generated for backup (backup: true) but no step "
                    f"backs it up; {hint}, or set backup: false",
                    clause,
                    "EV-STEPS",
                )

    # (e) physical security ---------------------------------------------------------------------

    def physical(self) -> Iterator[Finding]:
        if not self.script.ceremony.location.physical_security:
            yield self.at(
                self.where(("ceremony", "location", "physical_security"), ("ceremony", "location")),
                "C-PHYSICAL",
                "the location lists no physical security requirements; add "
                "ceremony.location.physical_security (barriers, access control, logging)",
                self.letter("e"),
                "EV-PHYSICAL",
            )

    # (f) custody -------------------------------------------------------------------------------

    def custody(self) -> Iterator[Finding]:
        if not self.script.custody:
            yield self.at(
                self.where(("custody",)),
                "C-CUSTODY",
                "the script does not say where the hardware and activation materials are kept "
                "after the ceremony; add a custody section (item, bag, location, holder)",
                self.letter("f"),
                "EV-CUSTODY",
            )

    # (g) sign-off ------------------------------------------------------------------------------

    def sign_off(self) -> Iterator[Finding]:
        if not any(_kind(step) == "sign-off" for step in self.script.steps):
            yield self.at(
                ("steps",),
                "C-SIGNOFF",
                "no step lets the participants and witnesses sign off whether the script was "
                "followed; add a closing step with kind: sign-off",
                self.letter("g"),
                "EV-SIGNOFF",
            )

    # (h) deviations ----------------------------------------------------------------------------

    def deviations(self) -> Iterator[Finding]:
        if self.script.deviations is None:
            yield self.at(
                ("ceremony",),
                "C-DEVIATIONS",
                "the script does not say how deviations are decided and recorded; add "
                "deviations (decided_by: [role ids], procedure)",
                self.letter("h"),
                "EV-DEVIATION",
            )

    # independent witness -----------------------------------------------------------------------

    def witness(self) -> Iterator[Finding]:
        wanted = witnessed_actions(self.type)
        external = {role.id for role in self.script.roles if not role.internal}
        for index, step in enumerate(self.script.steps):
            if not isinstance(step, ActionStep) or step.action not in wanted:
                continue
            if external & set(step.witnesses):
                continue
            fix = (
                f"; add {' or '.join(sorted(external))} to its witnesses"
                if external
                else ", and the script has no role with internal: false; add an independent "
                "witness role (e.g. the auditor) and name it in the witnesses"
            )
            yield self.at(
                self.where(("steps", index, "witnesses"), ("steps", index)),
                "C-WITNESS",
                f"steps[{index}] ({step.id}) runs {step.action} without an independent witness"
                f"{fix}",
                witness_clause(self.type),
                "EV-WITNESS",
            )

    # identity: CP/CPS, objectives --------------------------------------------------------------

    def ceremony_identity(self) -> Iterator[Finding]:
        if self.script.ceremony.cps is None:
            yield self.at(
                ("ceremony",),
                "C-CPS",
                "the script does not name the CP/CPS that governs the keys and profiles used; add "
                "ceremony.cps (document, version, section)",
                "ETSI EN 319 411-1 6.5",
                "EV-CPS",
            )
        if not self.script.ceremony.objectives:
            yield self.at(
                self.where(("ceremony", "objectives")),
                "C-OBJECTIVES",
                "the script states no objectives; add ceremony.objectives (what the ceremony must "
                "achieve, one line each)",
                "ETSI EN 319 411-1 GEN-6.5.1-13A",
                "EV-TYPE",
            )

    # clock, integrity, bags, report ------------------------------------------------------------

    def clock(self) -> Iterator[Finding]:
        if not any(
            isinstance(step, EntryStep) and step.entry.format == "clock-offset"
            for step in self.script.steps
        ):
            yield self.at(
                ("steps",),
                "C-CLOCK",
                "no step compares the workstation clock with a reference clock; add an opening "
                "entry step with entry.format: clock-offset",
                "ETSI EN 319 411-1 6.5",
                "EV-CLOCK",
            )

    def integrity(self) -> Iterator[Finding]:
        if not any(
            "EV-INTEGRITY" in step.evidence
            or (isinstance(step, ActionStep) and step.action == "verify-software")
            for step in self.script.steps
        ):
            yield self.at(
                ("steps",),
                "C-INTEGRITY",
                "no step verifies the integrity of the workstation software; add a witness-check "
                "of the image hash tagged evidence: [EV-INTEGRITY], or a verify-software action",
                "WebTrust 4.1.5(d), 4.1.6",
                "EV-INTEGRITY",
            )

    def bags(self) -> Iterator[Finding]:
        words = {"bag_in": "checked when it is opened", "bag_out": "recorded when it is sealed"}
        for index, material in enumerate(self.script.materials):
            for field in ("bag_in", "bag_out"):
                bag = getattr(material, field)
                if bag is None or any(
                    expect_matches(step, material.id, field) for step in self.script.steps
                ):
                    continue
                yield self.at(
                    ("materials", index, field),
                    "C-TEB",
                    f"materials[{index}] ({material.id}) lists the bag {bag} ({field}) but no "
                    f"step has it {words[field]}; add an entry step with entry.expect: "
                    f"{{material: {material.id}, field: {field}}}",
                    "WebTrust 4.8.1, 4.8.4, 4.10.3, 4.10.7",
                    "EV-TEB",
                )

    def report(self) -> Iterator[Finding]:
        if not any(
            isinstance(step, ActionStep) and step.action == "print-report"
            for step in self.script.steps
        ):
            yield self.at(
                ("steps",),
                "C-REPORT",
                "no step prints the ceremony report for the participants to sign; add a closing "
                "action step with action: print-report",
                "ETSI EN 319 411-1 GEN-6.5.1-13, BR 6.1.1.1(3)",
                "EV-REPORT",
            )


def _backup_of(script: Script, key_id: str) -> str:
    return next(b.id for b in script.backups if b.key == key_id)


__all__ = [
    "ACTION_EVIDENCE",
    "HSM_ACTIONS",
    "RULES",
    "STEP_NEEDS",
    "Need",
    "compliance_findings",
    "script_evidence",
    "step_evidence",
    "unmet_needs",
    "witnessed_actions",
]
