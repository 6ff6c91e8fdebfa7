"""State lint: bags, custody, quorums, keys, evidence and acts add up across the whole script."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

from sealroom.ceremony.compliance import (
    script_clause,
    script_evidence,
    unmet_needs,
)
from sealroom.ceremony.script import (
    DESTRUCTIVE_ACTIONS,
    SIGNING_ACTIONS,
    ActionStep,
    AttendanceStep,
    BackupSpec,
    EntryStep,
    PinSplit,
    Script,
    SignOffStep,
    StepBase,
)
from sealroom.ceremony.source import FieldPath, Finding, SourceDocument

_Found = Callable[[FieldPath, str], Finding]

# Every evidence item (requirements/EVIDENCE.md): what it is, and the clause that asks for it.
EVIDENCE_ITEMS: dict[str, tuple[str, str]] = {
    "EV-ATTEND": ("the attendance record", "ICANN practice"),
    "EV-CLOCK": ("the offset of the workstation clock from a reference clock", "ETSI EN 319 411-1"),
    "EV-INTEGRITY": ("the software integrity check", "WebTrust 4.1.5(d), 4.1.6"),
    "EV-PHYSICAL": (
        "the check that the room's physical controls are in place",
        "WebTrust 4.1.5(e)",
    ),
    "EV-CUSTODY": ("the hand-over of the materials for storage", "WebTrust 4.1.5(f)"),
    "EV-SIGNOFF": ("the participants' sign-off", "WebTrust 4.1.5(g)"),
    "EV-REPORT": ("the printed ceremony report", "ETSI EN 319 411-1 GEN-6.5.1-13"),
    "EV-DEVICE": ("the HSM's identifier, model and firmware", "ETSI EN 319 411-1 GEN-6.5.1-13A"),
    "EV-MATERIALS": ("the check of the devices' serial numbers", "WebTrust 4.1.5(c)"),
    "EV-SETTINGS": ("the key-generation algorithm and device settings", "ETSI GEN-6.5.1-13A"),
    "EV-TEB": ("the tamper-evident bag serials", "WebTrust 4.8.1, 4.8.4, 4.10.3, 4.10.7"),
    "EV-COLLECTED": ("the evidence collected, with its hashes", "ETSI GEN-6.5.1-13A"),
    "EV-KEY-ID": ("the key's label and CKA_ID", "ETSI GEN-6.5.1-13A"),
    "EV-KEY-ALG": ("the key's algorithm and size", "ETSI GEN-6.5.1-13A; WebTrust 4.1.3"),
    "EV-KEY-FPR": ("the public key's SHA-256 fingerprint", "ETSI GEN-6.5.1-13A; MRSP 3.1.3"),
    "EV-KEY-PARKED": ("the record that the key is parked (pre-generated)", "MRSP 3.1.3"),
    "EV-KEY-DATE": ("the key's generation date", "MRSP 7.4"),
    "EV-ARTIFACTS": ("the certificates, CSRs or CRLs produced", "BR 6.1.1.1(3)"),
    "EV-BACKUP": ("the backup copies made", "WebTrust 4.2.3, 4.2.4"),
    "EV-QUORUM": ("the m-of-n holders and their shares", "WebTrust 4.4.1"),
    "EV-RESTORE": ("the restore test of the backup", "practice"),
    "EV-DESTROY": ("the destruction of the key and its copies", "WebTrust 4.6.2-4.6.5, 4.6.8(d)"),
    "EV-MIGRATE": ("the fingerprints matched on the target device", "WebTrust 4.11.4, 4.11.7"),
    "EV-TRANSPORT": ("the chain of custody in transport", "WebTrust 4.10.1-4.10.10"),
}

KEY_EVIDENCE = ("EV-KEY-ID", "EV-KEY-ALG", "EV-KEY-FPR", "EV-KEY-DATE", "EV-SETTINGS")

# The shared opening and closing of every ceremony produce these.
COMMON_EVIDENCE = (
    "EV-ATTEND",
    "EV-CLOCK",
    "EV-INTEGRITY",
    "EV-PHYSICAL",
    "EV-CUSTODY",
    "EV-SIGNOFF",
    "EV-REPORT",
)

# What the report of each ceremony type needs some step to produce (besides COMMON_EVIDENCE).
EVIDENCE_NEEDS: dict[str, tuple[str, ...]] = {
    "root-key-generation": (*KEY_EVIDENCE, "EV-ARTIFACTS", "EV-DEVICE"),
    "parked-key-generation": (*KEY_EVIDENCE, "EV-KEY-PARKED", "EV-DEVICE"),
    "subordinate-ca-signing": ("EV-ARTIFACTS", "EV-COLLECTED", "EV-DEVICE"),
    "cross-certificate": ("EV-ARTIFACTS", "EV-COLLECTED", "EV-DEVICE"),
    "root-csr": ("EV-ARTIFACTS", "EV-DEVICE"),
    "crl-issuance": ("EV-ARTIFACTS", "EV-DEVICE"),
    "ocsp-responder-certificate": ("EV-ARTIFACTS", "EV-COLLECTED", "EV-DEVICE"),
    "key-backup": ("EV-BACKUP", "EV-QUORUM", "EV-RESTORE", "EV-DEVICE"),
    "key-recovery": ("EV-QUORUM", "EV-KEY-ID", "EV-KEY-FPR", "EV-DEVICE"),
    "custodian-change": ("EV-QUORUM", "EV-KEY-ID", "EV-KEY-FPR", "EV-DEVICE"),
    "key-migration": ("EV-MIGRATE", "EV-QUORUM", "EV-KEY-FPR", "EV-DEVICE"),
    "key-destruction": ("EV-DESTROY", "EV-DEVICE"),
    "key-transport-departure": ("EV-TRANSPORT", "EV-TEB"),
    "key-transport-arrival": ("EV-TRANSPORT", "EV-TEB"),
    "hsm-intake": ("EV-DEVICE", "EV-MATERIALS"),
    "hsm-initialisation": ("EV-DEVICE",),
    "key-compromise-response": ("EV-DEVICE",),
    "periodic-inspection": ("EV-TEB",),
}

# Evidence whose absence another rule always reports (the same condition), so S-EVIDENCE does not.
REPORTED_ELSEWHERE: dict[str, str] = {
    "EV-ATTEND": "SR-ORDER",
    "EV-CLOCK": "C-CLOCK",
    "EV-INTEGRITY": "C-INTEGRITY",
    "EV-CUSTODY": "C-STEPS",
    "EV-SIGNOFF": "C-SIGNOFF",
    "EV-REPORT": "C-REPORT",
}

# Actions that may use a CA key, besides the SIGNING_ACTIONS (EV-KEY-PURPOSE, WebTrust 4.4.3).
KEY_CUSTODY_ACTIONS = frozenset(
    {"generate-key", "backup-key", "restore-test", "recover-key", "resplit-backup", "destroy-key"}
)

RULES: dict[str, str] = {
    "S-BAG": "every bag opened is resealed or accounted for",
    "S-CUSTODY": "every material and backup share ends in custody with a real holder",
    "S-QUORUM": "quorums and backup shares can be met, and no one person meets one alone",
    "S-CONFIRM": "irreversible actions ask for typed confirmation words",
    "S-KEY-USE": "each CA key is used only for its declared purposes",
    "S-EVIDENCE": "every evidence item the report needs is produced by some step",
    "S-ACTS": "acts exist, steps of an act are together, opening and closing hold the shared steps",
    "S-RESPLIT": "a re-split names the old set, k of its holders and the values it checks",
}


def state_findings(doc: SourceDocument, script: Script) -> list[Finding]:
    """Every state finding for a script whose model validated."""
    return sorted(_State(doc, script).findings(), key=_order)


def _order(finding: Finding) -> tuple[int, int, str]:
    return (finding.position.line, finding.position.column, finding.rule)


class _State:
    def __init__(self, doc: SourceDocument, script: Script) -> None:
        self.doc = doc
        self.script = script
        self.type = script.ceremony.type
        self.participants = {p.id for p in script.participants}
        self.materials = {m.id: m for m in script.materials}
        self.keys = {k.id: k for k in script.keys}

    def at(
        self, path: FieldPath, rule: str, message: str, clause: str | None, evidence: str | None
    ) -> Finding:
        return self.doc.finding(path, rule, message, kind="state", clause=clause, evidence=evidence)

    def findings(self) -> Iterator[Finding]:
        yield from self.bags()
        yield from self.custody()
        yield from self.quorums()
        yield from self.confirmations()
        yield from self.key_use()
        yield from self.evidence()
        yield from self.acts()
        yield from self.resplits()

    # S-BAG -------------------------------------------------------------------------------------

    def bags(self) -> Iterator[Finding]:
        bagged = {c.item for c in self.script.custody if c.bag is not None}
        for index, material in enumerate(self.script.materials):
            if material.bag_in is None or material.bag_out is not None or material.id in bagged:
                continue
            yield self.at(
                ("materials", index, "bag_in"),
                "S-BAG",
                f"materials[{index}] ({material.id}) comes out of bag {material.bag_in} but is "
                "never put in a new one: add bag_out (and a reseal entry step), or a custody "
                "entry naming the bag it is kept in",
                "WebTrust 4.8.4",
                "EV-TEB",
            )

    # S-CUSTODY ---------------------------------------------------------------------------------

    def custody(self) -> Iterator[Finding]:
        clause = script_clause(self.type, "f")
        shares = {s.share for b in self.script.backups for s in b.shares}
        shares |= {s.share for _, split in self.pin_splits() for s in split.shares}
        seen: set[str] = set()
        for index, entry in enumerate(self.script.custody):
            if entry.item not in self.materials and entry.item not in shares:
                known = ", ".join(sorted({*self.materials, *shares})) or "none are defined"
                yield self.at(
                    ("custody", index, "item"),
                    "S-CUSTODY",
                    f"custody[{index}].item: {entry.item!r} is neither a material nor a backup "
                    f"share (defined: {known})",
                    clause,
                    "EV-CUSTODY",
                )
            elif entry.item in seen:
                yield self.at(
                    ("custody", index, "item"),
                    "S-CUSTODY",
                    f"custody[{index}].item: {entry.item!r} is given a place twice; one item "
                    "ends in one place",
                    clause,
                    "EV-CUSTODY",
                )
            seen.add(entry.item)
            if entry.holder not in self.participants:
                known = ", ".join(sorted(self.participants)) or "none are defined"
                yield self.at(
                    ("custody", index, "holder"),
                    "S-CUSTODY",
                    f"custody[{index}].holder: {entry.holder!r} is not a participant "
                    f"(participants: {known})",
                    clause,
                    "EV-CUSTODY",
                )
            material = self.materials.get(entry.item)
            if (
                material is not None
                and entry.bag is not None
                and material.bag_out is not None
                and entry.bag != material.bag_out
            ):
                yield self.at(
                    ("custody", index, "bag"),
                    "S-CUSTODY",
                    f"custody[{index}].bag: {entry.item} is sealed in {material.bag_out} "
                    f"(its bag_out), not {entry.bag}; give the same bag in both places",
                    clause,
                    "EV-CUSTODY",
                )
        if not self.script.custody:
            return  # C-CUSTODY reports the missing section once
        for index, material in enumerate(self.script.materials):
            if material.id not in seen:
                yield self.at(
                    ("materials", index, "id"),
                    "S-CUSTODY",
                    f"materials[{index}] ({material.id}) has no custody entry; say where it is "
                    "kept after the ceremony and who holds it",
                    clause,
                    "EV-CUSTODY",
                )
        for name, split in self.pin_splits():
            for s_index, share in enumerate(split.shares):
                if share.share not in seen:
                    yield self.at(
                        ("hsm", "activation", name, "shares", s_index, "share"),
                        "S-CUSTODY",
                        f"hsm.activation.{name}.shares[{s_index}] ({share.share}) has no custody "
                        "entry; say where the sealed share sheet is kept and who holds it",
                        clause,
                        "EV-CUSTODY",
                    )
        for b_index, backup in enumerate(self.script.backups):
            for s_index, share in enumerate(backup.shares):
                if share.share not in seen:
                    yield self.at(
                        ("backups", b_index, "shares", s_index, "share"),
                        "S-CUSTODY",
                        f"backups[{b_index}].shares[{s_index}] ({share.share}) has no custody "
                        "entry; say where the share is kept and who holds it",
                        clause,
                        "EV-CUSTODY",
                    )

    # S-QUORUM ----------------------------------------------------------------------------------

    def quorums(self) -> Iterator[Finding]:
        role_ids = {r.id for r in self.script.roles}
        for index, quorum in enumerate(self.script.quorums):
            if quorum.role not in role_ids:
                continue  # SR-REF-ROLE
            holders = len(self.script.holders_of(quorum.role))
            if holders < quorum.threshold:
                yield self.at(
                    ("quorums", index, "threshold"),
                    "S-QUORUM",
                    f"quorums[{index}] ({quorum.id}) needs {quorum.threshold} holders of "
                    f"{quorum.role!r} but only {holders} participant(s) hold it",
                    "WebTrust 4.4.1",
                    "EV-QUORUM",
                )
            elif quorum.threshold < 2:
                yield self.at(
                    ("quorums", index, "threshold"),
                    "S-QUORUM",
                    f"quorums[{index}] ({quorum.id}) has threshold 1, so one person acts alone; "
                    "multi-person control needs a threshold of at least 2",
                    "WebTrust 4.4.1",
                    "EV-QUORUM",
                )
        for index in range(len(self.script.backups)):
            yield from self._backup_quorum(index)
        yield from self._pin_quorums()

    def pin_splits(self) -> list[tuple[str, PinSplit]]:
        """The script's split PINs as (field name, split): m-of-n activation."""
        hsm = self.script.hsm
        if hsm is None or hsm.activation is None:
            return []
        splits = [("user_pin", hsm.activation.user_pin)]
        if hsm.activation.so_pin is not None:
            splits.append(("so_pin", hsm.activation.so_pin))
        return splits

    def _pin_quorums(self) -> Iterator[Finding]:
        for name, split in self.pin_splits():
            here: FieldPath = ("hsm", "activation", name)
            count = len(split.shares)
            if split.threshold > count:
                yield self.at(
                    (*here, "threshold"),
                    "S-QUORUM",
                    f"hsm.activation.{name} needs {split.threshold} shares but makes only "
                    f"{count}; the token could never be activated",
                    "WebTrust 4.4.1",
                    "EV-QUORUM",
                )
            elif split.threshold < 2 and count > 1:
                yield self.at(
                    (*here, "threshold"),
                    "S-QUORUM",
                    f"hsm.activation.{name} has threshold 1 with {count} shares: SLIP-39 cannot "
                    "split that way, and one custodian would act alone; use at least 2",
                    "WebTrust 4.4.1",
                    "EV-QUORUM",
                )
            held: Counter[str] = Counter()
            for s_index, share in enumerate(split.shares):
                where: FieldPath = (*here, "shares", s_index, "custodian")
                if share.custodian not in self.participants:
                    yield self.at(
                        where,
                        "S-QUORUM",
                        f"hsm.activation.{name}.shares[{s_index}].custodian: "
                        f"{share.custodian!r} is not a participant",
                        "WebTrust 4.4.1",
                        "EV-QUORUM",
                    )
                    continue
                held[share.custodian] += 1
                if held[share.custodian] == 2:
                    yield self.at(
                        where,
                        "S-QUORUM",
                        f"hsm.activation.{name}.shares[{s_index}]: {share.custodian} would hold "
                        "two shares; give each share to a different custodian",
                        "WebTrust 4.4.1",
                        "EV-QUORUM",
                    )

    def _backup_quorum(self, index: int) -> Iterator[Finding]:
        backup = self.script.backups[index]
        count = len(backup.shares)
        if backup.threshold > count:
            yield self.at(
                ("backups", index, "threshold"),
                "S-QUORUM",
                f"backups[{index}] ({backup.id}) needs {backup.threshold} shares to recover but "
                f"makes only {count}; the key could never be recovered",
                "WebTrust 4.2.3",
                "EV-QUORUM",
            )
        elif backup.threshold < 2:
            yield self.at(
                ("backups", index, "threshold"),
                "S-QUORUM",
                f"backups[{index}] ({backup.id}) has threshold 1, so one share holder can "
                "recover the key alone; use a threshold of at least 2 (split knowledge)",
                "WebTrust 4.2.3",
                "EV-QUORUM",
            )
        # Where the script defines a custodian role, every share holder must hold it.
        custodian_roles = {r.id for r in self.script.roles if "custodian" in r.id}
        held: Counter[str] = Counter()
        for s_index, share in enumerate(backup.shares):
            where: FieldPath = ("backups", index, "shares", s_index, "custodian")
            if share.custodian not in self.participants:
                yield self.at(
                    where,
                    "S-QUORUM",
                    f"backups[{index}].shares[{s_index}].custodian: {share.custodian!r} is not a "
                    "participant",
                    "WebTrust 4.2.3",
                    "EV-QUORUM",
                )
                continue
            if custodian_roles and not set(self._roles_of(share.custodian)) & custodian_roles:
                yield self.at(
                    where,
                    "S-QUORUM",
                    f"backups[{index}].shares[{s_index}].custodian: {share.custodian!r} holds no "
                    "custodian role; a share of a key-encryption key goes to a custodian",
                    "WebTrust 4.2.3",
                    "EV-QUORUM",
                )
            held[share.custodian] += 1
            if held[share.custodian] == max(backup.threshold, 2):
                yield self.at(
                    where,
                    "S-QUORUM",
                    f"backups[{index}].shares[{s_index}]: {share.custodian} would hold "
                    f"{held[share.custodian]} shares, enough to recover the key alone; give each "
                    "share to a different custodian",
                    "WebTrust 4.2.3",
                    "EV-QUORUM",
                )

        yield from self._restore_test(index)
        yield from self._recovery(index)

    def _roles_of(self, participant: str) -> tuple[str, ...]:
        return next((p.roles for p in self.script.participants if p.id == participant), ())

    def _restore_test(self, index: int) -> Iterator[Finding]:
        """The restore test can run: a token, and exactly k share holders chosen by the script."""
        backup = self.script.backups[index]
        tested = any(
            isinstance(step, ActionStep)
            and step.action == "restore-test"
            and step.params.get("backup") == backup.id
            for step in self.script.steps
        )
        here: FieldPath = ("backups", index)
        if tested and backup.restore_test_token is None:
            yield self.at(
                (*here, "id"),
                "S-QUORUM",
                f"backups[{index}] ({backup.id}) is restore-tested but names no "
                "restore_test_token: give the material id of the token the test unwraps into",
                "WebTrust 4.2.3",
                "EV-RESTORE",
            )
        chosen = backup.restore_test_custodians
        if tested and not chosen:
            yield self.at(
                (*here, "id"),
                "S-QUORUM",
                f"backups[{index}] ({backup.id}) is restore-tested but names no "
                f"restore_test_custodians: list the {backup.threshold} share holders who re-enter "
                "their shares",
                "WebTrust 4.2.3",
                "EV-RESTORE",
            )
            return
        if chosen and len(chosen) != backup.threshold:
            yield self.at(
                (*here, "restore_test_custodians"),
                "S-QUORUM",
                f"backups[{index}].restore_test_custodians lists {len(chosen)} custodian(s); "
                f"the restore test uses exactly the threshold, {backup.threshold}",
                "WebTrust 4.2.3",
                "EV-RESTORE",
            )
        holders = [s.custodian for s in backup.shares]
        for c_index, custodian in enumerate(chosen):
            where: FieldPath = (*here, "restore_test_custodians", c_index)
            if custodian not in holders:
                yield self.at(
                    where,
                    "S-QUORUM",
                    f"backups[{index}].restore_test_custodians[{c_index}]: {custodian!r} holds "
                    f"no share of {backup.id} (holders: {', '.join(holders)})",
                    "WebTrust 4.2.3",
                    "EV-RESTORE",
                )
            elif chosen.index(custodian) != c_index:
                yield self.at(
                    where,
                    "S-QUORUM",
                    f"backups[{index}].restore_test_custodians[{c_index}]: {custodian!r} is "
                    "named twice; each custodian enters one share",
                    "WebTrust 4.2.3",
                    "EV-RESTORE",
                )

    def _recovery(self, index: int) -> Iterator[Finding]:
        """recover-key can check what it recovers: stated values, or a target for a migration."""
        backup = self.script.backups[index]
        here: FieldPath = ("backups", index)
        made_at: int | None = None
        for s_index, step in enumerate(self.script.steps):
            if not isinstance(step, ActionStep) or step.params.get("backup") != backup.id:
                continue
            if step.action == "backup-key" and made_at is None:
                made_at = s_index
            if step.action != "recover-key":
                continue
            if made_at is not None:
                hsm = self.script.hsm.material if self.script.hsm is not None else None
                if backup.restore_test_token is None or backup.restore_test_token == hsm:
                    yield self.at(
                        (*here, "id"),
                        "S-QUORUM",
                        f"backups[{index}] ({backup.id}) is made and recovered in this ceremony "
                        "(a migration) but names no restore_test_token other than the "
                        "ceremony's HSM: give the material id of the target token",
                        "WebTrust 4.11.4",
                        "EV-MIGRATE",
                    )
                continue
            if backup.recovery is None:
                yield self.at(
                    (*here, "id"),
                    "S-QUORUM",
                    f"backups[{index}] ({backup.id}) is recovered (step {step.id}) but states "
                    "no recovery values: add recovery: made_in, check_value, blob_sha256, "
                    "fingerprint and public_key from the backup ceremony's backup.made entry",
                    "WebTrust 4.2.5",
                    "EV-RESTORE",
                )
                continue
            yield from self._recovery_key(
                index, backup.recovery.public_key, backup.recovery.fingerprint
            )

    def _recovery_key(self, index: int, public_key: str, fingerprint: str) -> Iterator[Finding]:
        import base64
        import binascii
        import hashlib

        where: FieldPath = ("backups", index, "recovery", "public_key")
        try:
            der = base64.b64decode("".join(public_key.split()), validate=True)
        except (binascii.Error, ValueError):
            yield self.at(
                where,
                "S-QUORUM",
                f"backups[{index}].recovery.public_key is not base64 (the spki_der_b64 of "
                "backup.made)",
                "WebTrust 4.2.5",
                "EV-KEY-FPR",
            )
            return
        if hashlib.sha256(der).hexdigest() != fingerprint:
            yield self.at(
                where,
                "S-QUORUM",
                f"backups[{index}].recovery.public_key has SHA-256 "
                f"{hashlib.sha256(der).hexdigest()}, not the fingerprint {fingerprint} stated "
                "beside it: one of the two was copied wrong",
                "WebTrust 4.2.5",
                "EV-KEY-FPR",
            )

    # S-RESPLIT --------------------------------------------------------------------------------

    def resplits(self) -> Iterator[Finding]:
        """resplit-backup can check what it takes back and hands the set to other holders."""
        for index, backup in enumerate(self.script.backups):
            actions = [
                (s_index, step)
                for s_index, step in enumerate(self.script.steps)
                if isinstance(step, ActionStep) and step.params.get("backup") == backup.id
            ]
            resplit_steps = [step for _, step in actions if step.action == "resplit-backup"]
            yield from self._resplit(index, backup, resplit_steps, actions)

    def _resplit(
        self,
        index: int,
        backup: BackupSpec,
        resplit_steps: list[ActionStep],
        actions: list[tuple[int, ActionStep]],
    ) -> Iterator[Finding]:
        here: FieldPath = ("backups", index)

        def finding(path: FieldPath, message: str) -> Finding:
            return self.at(path, "S-RESPLIT", message, "WebTrust 4.4.1", "EV-QUORUM")

        resplit = backup.resplit
        if not resplit_steps:
            if resplit is not None:
                yield finding(
                    (*here, "resplit"),
                    f"backups[{index}] ({backup.id}) names a share set to replace but no "
                    "resplit-backup step replaces it",
                )
            return
        step = resplit_steps[0]
        if resplit is None:
            yield finding(
                (*here, "id"),
                f"backups[{index}] ({backup.id}) is re-split (step {step.id}) but names no old "
                "set: add resplit: reason, old_threshold, old_shares, combine",
            )
            return
        if len(resplit_steps) > 1:
            yield finding(
                (*here, "id"),
                f"backups[{index}] ({backup.id}) is re-split by {len(resplit_steps)} steps; "
                "the old set can be replaced once",
            )
        if any(s.action == "backup-key" for _, s in actions):
            yield finding(
                (*here, "id"),
                f"backups[{index}] ({backup.id}) is both made (backup-key) and re-split; a "
                "re-split replaces the share set of a backup made in an earlier ceremony",
            )
        if backup.recovery is None:
            yield finding(
                (*here, "id"),
                f"backups[{index}] ({backup.id}) is re-split but states no recovery values: "
                "add recovery: made_in, check_value, blob_sha256, fingerprint and public_key "
                "from the backup ceremony's backup.made entry",
            )
        else:
            yield from self._recovery_key(
                index, backup.recovery.public_key, backup.recovery.fingerprint
            )
        at: FieldPath = (*here, "resplit")
        old = [h.custodian for h in resplit.old_shares]
        if resplit.old_threshold > len(old):
            yield finding(
                (*at, "old_threshold"),
                f"backups[{index}].resplit.old_threshold is {resplit.old_threshold} but the old "
                f"set lists {len(old)} holder(s)",
            )
        if len(resplit.combine) != resplit.old_threshold:
            yield finding(
                (*at, "combine"),
                f"backups[{index}].resplit.combine lists {len(resplit.combine)} custodian(s); "
                f"the old set is combined from exactly its threshold, {resplit.old_threshold}",
            )
        for c_index, custodian in enumerate(resplit.combine):
            if custodian not in old:
                yield finding(
                    (*at, "combine", c_index),
                    f"backups[{index}].resplit.combine[{c_index}]: {custodian!r} holds no share "
                    f"of the old set (holders: {', '.join(old)})",
                )
            elif resplit.combine.index(custodian) != c_index:
                yield finding(
                    (*at, "combine", c_index),
                    f"backups[{index}].resplit.combine[{c_index}]: {custodian!r} is named twice; "
                    "each custodian enters one share",
                )
        for o_index, holder in enumerate(resplit.old_shares):
            if holder.custodian not in self.participants:
                yield finding(
                    (*at, "old_shares", o_index, "custodian"),
                    f"backups[{index}].resplit.old_shares[{o_index}].custodian: "
                    f"{holder.custodian!r} is not a participant (list leavers too, by name)",
                )
        if sorted(old) == sorted(h.custodian for h in backup.shares) and (
            resplit.old_threshold == backup.threshold
        ):
            yield finding(
                (*at, "old_shares"),
                f"backups[{index}].resplit: the new set has the same holders and threshold as "
                "the old one; a re-split changes who holds the shares or how many are needed",
            )

    # S-CONFIRM ---------------------------------------------------------------------------------

    def confirmations(self) -> Iterator[Finding]:
        for index, step in enumerate(self.script.steps):
            if not isinstance(step, ActionStep) or step.action not in DESTRUCTIVE_ACTIONS:
                continue
            if step.confirm is None:
                yield self.at(
                    ("steps", index, "action"),
                    "S-CONFIRM",
                    f"steps[{index}] ({step.id}) runs {step.action}, which cannot be undone, "
                    "without confirmation words; add confirm: (the exact words the performer "
                    "types, e.g. naming the key or token)",
                    None,
                    "EV-DESTROY",
                )
                continue
            key = self.keys.get(step.params.get("key", ""))
            if step.action == "destroy-key" and key is not None and key.label not in step.confirm:
                yield self.at(
                    ("steps", index, "confirm"),
                    "S-CONFIRM",
                    f"steps[{index}].confirm: the words must contain the label of the key "
                    f"destroyed ({key.label}), so the performer types what is destroyed",
                    None,
                    "EV-DESTROY",
                )

    # S-KEY-USE ---------------------------------------------------------------------------------

    def key_use(self) -> Iterator[Finding]:
        clause = "WebTrust 4.4.3"
        for index, csr in enumerate(self.script.csrs):
            key = self.keys.get(csr.key)
            if key is not None and "certificate-signing" not in key.purpose:
                yield self.at(
                    ("csrs", index, "key"),
                    "S-KEY-USE",
                    f"csrs[{index}].key: {csr.key!r} is not declared for certificate-signing, so "
                    "it may not request a CA certificate; add it to the key's purpose",
                    clause,
                    "EV-KEY-PURPOSE",
                )
        for index, crl in enumerate(self.script.crls):
            key = self.keys.get(crl.key)
            if key is not None and "crl-signing" not in key.purpose:
                yield self.at(
                    ("crls", index, "key"),
                    "S-KEY-USE",
                    f"crls[{index}].key: {crl.key!r} is not declared for crl-signing; add "
                    "crl-signing to the key's purpose or sign the CRL with another key",
                    clause,
                    "EV-KEY-PURPOSE",
                )
        for index, backup in enumerate(self.script.backups):
            key = self.keys.get(backup.key)
            if key is not None and not key.backup:
                yield self.at(
                    ("backups", index, "key"),
                    "S-KEY-USE",
                    f"backups[{index}].key: {backup.key!r} is generated non-extractable "
                    "(backup: false), so it cannot be wrapped for backup; set backup: true on "
                    "the key or remove this backup",
                    "WebTrust 4.2.3",
                    "EV-BACKUP",
                )
        for index, key in enumerate(self.script.keys):
            if key.backup and key.algorithm == "ed25519":
                # SoftHSM 2.6.1 refuses C_WrapKey on an Ed25519 private key: without this finding
                # the refusal would come at backup-key, after the key was generated.
                yield self.at(
                    ("keys", index, "backup"),
                    "S-KEY-USE",
                    f"keys[{index}] ({key.id}) is ed25519 with backup: true, but the HSM cannot "
                    "wrap an Ed25519 key (SoftHSM 2.6.1 refuses it), so backup-key would fail "
                    "in the ceremony; choose an rsa or ec algorithm, or set backup: false",
                    "WebTrust 4.2.3",
                    "EV-BACKUP",
                )
        for index, step in enumerate(self.script.steps):
            if not isinstance(step, ActionStep):
                continue
            used = self._keys_used(step)
            if used and step.action not in SIGNING_ACTIONS | KEY_CUSTODY_ACTIONS:
                yield self.at(
                    ("steps", index, "action"),
                    "S-KEY-USE",
                    f"steps[{index}] ({step.id}) uses the CA key {sorted(used)[0]!r} for "
                    f"{step.action}; a CA key only signs (certificates, CSRs, CRLs) or is "
                    "generated, backed up, restored, recovered or destroyed",
                    clause,
                    "EV-KEY-PURPOSE",
                )
            if step.action != "export-qr":
                continue
            artifact = step.params.get("artifact", "")
            if artifact in self.keys:
                yield self.at(
                    ("steps", index, "params", "artifact"),
                    "S-KEY-USE",
                    f"steps[{index}].params.artifact: {artifact!r} is a CA key; a private key "
                    "never leaves the HSM, only certificates, CSRs and CRLs are exported",
                    clause,
                    "EV-KEY-PURPOSE",
                )

    def _keys_used(self, step: ActionStep) -> set[str]:
        """The CA keys an action step works with, directly or through what it names."""
        script = self.script
        used = {step.params["key"]} if "key" in step.params else set()
        if step.action in SIGNING_ACTIONS:
            sources = (
                (step.params.get("certificate"), script.certificates),
                (step.params.get("csr"), script.csrs),
                (step.params.get("crl"), script.crls),
            )
            for wanted, items in sources:
                used |= {item.key for item in items if item.id == wanted}
        if "backup" in step.params:
            used |= {b.key for b in script.backups if b.id == step.params["backup"]}
        return used & set(self.keys)

    # S-EVIDENCE --------------------------------------------------------------------------------

    def evidence(self) -> Iterator[Finding]:
        produced = script_evidence(self.script)
        explained: set[str] = set(REPORTED_ELSEWHERE)
        for need in unmet_needs(self.script):
            explained |= need.implied_evidence()
        for item in (*COMMON_EVIDENCE, *EVIDENCE_NEEDS[self.type]):
            if item in produced or item in explained:
                continue
            what, source = EVIDENCE_ITEMS[item]
            yield self.at(
                ("steps",),
                "S-EVIDENCE",
                f"the report of a {self.type} ceremony needs {what} ({item}) and no step "
                f"produces it; tag the step that does with evidence: [{item}]",
                source,
                item,
            )

    # S-ACTS ------------------------------------------------------------------------------------

    def acts(self) -> Iterator[Finding]:
        acts = [act.id for act in self.script.acts]
        declared = set(acts)
        clause = script_clause(self.type, "d")

        def found(path: FieldPath, message: str) -> Finding:
            return self.at(path, "S-ACTS", message, clause, "EV-STEPS")

        listed = ", ".join(acts) or "no acts are declared"
        for r_index, role in enumerate(self.script.roles):
            for act_id in role.acts:
                if act_id not in declared:
                    yield found(
                        ("roles", r_index, "acts", act_id),
                        f"roles[{r_index}].acts: unknown act {act_id!r} (acts: {listed})",
                    )
        steps = self.script.steps
        for index, step in enumerate(steps):
            if step.act is not None and step.act not in declared:
                yield found(
                    ("steps", index, "act"),
                    f"steps[{index}].act: unknown act {step.act!r} (acts: {listed})",
                )
            elif step.act is None and acts:
                yield found(
                    ("steps", index),
                    f"steps[{index}] ({step.id}) names no act; add act: (one of {listed})",
                )
        if not acts:
            return
        if acts[0] != "opening":
            yield found(
                ("acts", 0, "id"),
                "the first act must be 'opening' (attendance, clock, bag checks)",
            )
        if acts[-1] != "closing":
            yield found(
                ("acts", len(acts) - 1, "id"),
                "the last act must be 'closing' (reseal, custody, sign-off, report)",
            )
        yield from self._act_order(acts, found)
        yield from self._act_placement(found)

    def _act_order(self, acts: list[str], found: _Found) -> Iterator[Finding]:
        rank = {act_id: position for position, act_id in enumerate(acts)}
        finished: set[str] = set()
        previous: str | None = None
        highest = -1
        for index, step in enumerate(self.script.steps):
            act = step.act
            if act is None or act not in rank or act == previous:
                continue
            # Only the first break is reported: one misplaced step breaks two acts' runs.
            if act in finished:
                yield found(
                    ("steps", index, "act"),
                    f"steps[{index}] ({step.id}) returns to the act {act!r} after "
                    f"{previous!r}; keep the steps of each act together",
                )
                break
            if rank[act] < highest:
                yield found(
                    ("steps", index, "act"),
                    f"steps[{index}] ({step.id}) starts the act {act!r} after a later act; "
                    "order the steps as the acts are declared",
                )
                break
            if previous is not None:
                finished.add(previous)
            highest = max(highest, rank[act])
            previous = act
        used = {step.act for step in self.script.steps}
        for a_index, act_id in enumerate(acts):
            if act_id not in used:
                yield found(
                    ("acts", a_index, "id"),
                    f"acts[{a_index}] ({act_id}) has no steps; remove it or give it its steps",
                )

    def _act_placement(self, found: _Found) -> Iterator[Finding]:
        steps = self.script.steps

        def misplaced(index: int, step: StepBase, act: str, what: str) -> Finding:
            return found(
                ("steps", index, "act"),
                f"steps[{index}] ({step.id}) is {what}, which belongs in the {act!r} act",
            )

        attendance = next((i for i, s in enumerate(steps) if isinstance(s, AttendanceStep)), None)
        if attendance is not None and steps[attendance].act != "opening":
            yield misplaced(attendance, steps[attendance], "opening", "the attendance")
        clocks = [
            i
            for i, s in enumerate(steps)
            if isinstance(s, EntryStep) and s.entry.format == "clock-offset"
        ]
        if clocks and not any(steps[i].act == "opening" for i in clocks):
            yield misplaced(clocks[0], steps[clocks[0]], "opening", "the clock comparison")
        custody = [i for i, s in enumerate(steps) if "EV-CUSTODY" in s.evidence]
        if custody and not any(steps[i].act == "closing" for i in custody):
            yield misplaced(custody[0], steps[custody[0]], "closing", "the custody hand-over")
        for index, step in enumerate(steps):
            if step.act is None:
                continue  # reported above
            if _checks_bag(step, "bag_in") and step.act != "opening":
                yield misplaced(index, step, "opening", "a bag check on opening")
            elif _checks_bag(step, "bag_out") and step.act != "closing":
                yield misplaced(index, step, "closing", "a reseal")
            elif isinstance(step, SignOffStep) and step.act != "closing":
                yield misplaced(index, step, "closing", "the sign-off")
            elif (
                isinstance(step, ActionStep)
                and step.action == "print-report"
                and step.act != "closing"
            ):
                yield misplaced(index, step, "closing", "the report printing")


def _checks_bag(step: StepBase, field: str) -> bool:
    return (
        isinstance(step, EntryStep)
        and step.entry.expect is not None
        and step.entry.expect.field == field
    )


__all__ = [
    "COMMON_EVIDENCE",
    "EVIDENCE_ITEMS",
    "EVIDENCE_NEEDS",
    "KEY_CUSTODY_ACTIONS",
    "REPORTED_ELSEWHERE",
    "RULES",
    "state_findings",
]
