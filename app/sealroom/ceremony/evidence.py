"""The EVIDENCE.md catalogue as code: every evidence item, and the items each ceremony type owes."""

from __future__ import annotations

from dataclasses import dataclass

from sealroom.ceremony.compliance import ACTION_EVIDENCE, step_evidence
from sealroom.ceremony.script import ActionStep, Script


@dataclass(frozen=True)
class EvidenceItem:
    """One row of requirements/EVIDENCE.md, under its stable ID."""

    id: str
    title: str
    """The item as EVIDENCE.md words it."""
    group: str
    """The EVIDENCE.md group letter, ``A`` to ``G`` (its title: ``GROUP_TITLES[group]``)."""
    source: str
    """The clauses that ask for it (WT, ETSI, BR, MRSP, practice)."""
    required: bool
    """True for ``R`` (required by the source), False for ``P`` (practice auditors expect)."""

    @property
    def group_title(self) -> str:
        return GROUP_TITLES[self.group]

    @property
    def mark(self) -> str:
        """``R`` or ``P``, as EVIDENCE.md marks the item."""
        return "R" if self.required else "P"


GROUP_TITLES: dict[str, str] = {
    "A": "The script, its approval, the event",
    "B": "People and roles",
    "C": "Place, hardware, software",
    "D": "Execution",
    "E": "Key inventory",
    "F": "Backup, activation, destruction",
    "G": "Sign-off",
}


def _item(id_: str, title: str, group: str, source: str, mark: str) -> EvidenceItem:
    return EvidenceItem(id=id_, title=title, group=group, source=source, required=mark == "R")


EVIDENCE_ITEMS: tuple[EvidenceItem, ...] = (
    # A. The script, its approval, the event
    _item(
        "EV-SCRIPT",
        "A written script exists beforehand and is the one executed: its identity (SHA-256 of the "
        "script file) is recorded at the start and printed on every report page",
        "A",
        "WT 4.1, 4.1.5; BR 6.1.1.1(1); ETSI 6.5.1",
        "R",
    ),
    _item(
        "EV-APPROVAL",
        "Management approval to hold the ceremony: who, role, date, reference",
        "A",
        "WT 4.1.5(b), 4.6.8(b), 4.11.4(b)",
        "R",
    ),
    _item(
        "EV-TYPE",
        "Ceremony type, objectives, date, start and end time, location",
        "A",
        "ETSI 13A",
        "R",
    ),
    _item(
        "EV-CPS",
        "The CP/CPS section (versioned) that governs the keys and profiles used",
        "A",
        "ETSI 6.5 (CPS commitments)",
        "R",
    ),
    # B. People and roles
    _item(
        "EV-ROLES",
        "Roles taking part (internal and external), what each does in each phase, duties during "
        "and after",
        "B",
        "WT 4.1.5(a); ETSI 13A",
        "R",
    ),
    _item(
        "EV-TRUSTED",
        "Participants in trusted roles; multi-person control and split knowledge shown by who "
        "acted together",
        "B",
        "WT 4.1(b), 4.2; BR 6.1.1.1",
        "R",
    ),
    _item(
        "EV-ATTEND",
        "Attendance: printed name, role, arrival/departure times, breaks",
        "B",
        "practice (ICANN scripts)",
        "P",
    ),
    _item(
        "EV-WITNESS",
        "An independent witness (auditor), or a video of the whole generation; for root CAs the "
        "report is also signed by a person independent of TSP management",
        "B",
        "WT 4.1.4; BR 6.1.1.1(2); ETSI GEN-6.5.1-14",
        "R",
    ),
    # C. Place, hardware, software
    _item(
        "EV-PHYSICAL",
        "Physical security requirements of the location (barriers, access control, logging)",
        "C",
        "WT 4.1.5(e), 4.6.8(e), 4.11.4(e)",
        "R",
    ),
    _item(
        "EV-MATERIALS",
        "Cryptographic hardware, software and activation materials used, with serial numbers",
        "C",
        "WT 4.1.5(c), 4.6.8(c), 4.11.4(c)",
        "R",
    ),
    _item(
        "EV-DEVICE",
        "Identifier, model and firmware of the secure cryptographic device",
        "C",
        "ETSI 13A; WT 4.1.1",
        "R",
    ),
    _item(
        "EV-SETTINGS",
        "Key-generation algorithm and device settings (mode, RNG, parameters)",
        "C",
        "ETSI 13A",
        "R",
    ),
    _item(
        "EV-INTEGRITY",
        "Integrity of the operating system and software verified by hash before use",
        "C",
        "WT 4.1.5(d), 4.1.6",
        "R",
    ),
    _item(
        "EV-TEB",
        "Tamper-evident bag serials checked when opened and recorded when sealed",
        "C",
        "WT 4.8.1, 4.8.4, 4.10.3, 4.10.7",
        "R",
    ),
    _item(
        "EV-CLOCK",
        "Time source: the offset between the workstation clock and a reference clock read by "
        "witnesses",
        "C",
        "ETSI (precise, synchronised time records)",
        "R",
    ),
    # D. Execution
    _item(
        "EV-LOG",
        "A log of every activity, kept tamper-evident",
        "D",
        "BR 6.1.1.1(4); WT 4.1; ETSI 6.5.2 (time records)",
        "R",
    ),
    _item(
        "EV-STEPS",
        "The specific steps performed, in order, with who performed and who witnessed each",
        "D",
        "WT 4.1.5(d)",
        "R",
    ),
    _item(
        "EV-COLLECTED",
        "The evidence to collect, and what was collected (file hashes)",
        "D",
        "ETSI 13A",
        "R",
    ),
    _item(
        "EV-DEVIATION",
        "Every deviation from the script: step, expected, observed, decision, who decided",
        "D",
        "WT 4.1.5(h), 4.6.8(h), 4.11.4(h)",
        "R",
    ),
    _item(
        "EV-CUSTODY",
        "Storage of hardware and activation materials afterwards: which item, which bag, which "
        "safe, which holder",
        "D",
        "WT 4.1.5(f), 4.6.8(f), 4.11.4(f)",
        "R",
    ),
    # E. Key inventory
    _item("EV-KEY-ID", "Unique key identifier (label and CKA_ID)", "E", "ETSI 13A", "R"),
    _item("EV-KEY-ALG", "Algorithm and key size or curve", "E", "ETSI 13A; WT 4.1.3", "R"),
    _item(
        "EV-KEY-FPR",
        "SHA-256 fingerprint of the DER SubjectPublicKeyInfo",
        "E",
        "ETSI 13A; MRSP 3.1.3",
        "R",
    ),
    _item(
        "EV-KEY-PARKED",
        "Pre-generated keys marked as such, and re-checked before use",
        "E",
        "ETSI 6.5.1; MRSP 3.1.3",
        "R",
    ),
    _item("EV-KEY-DATE", "Generation date", "E", "MRSP 7.4", "R"),
    _item(
        "EV-KEY-PURPOSE",
        "What the key may sign (certificates, CRLs, OCSP) and nothing else",
        "E",
        "WT 4.4.3; ETSI 6.5",
        "R",
    ),
    _item(
        "EV-ARTIFACTS",
        "Certificates, CSRs and CRLs produced, with their SHA-256",
        "E",
        "BR 6.1.1.1(3)",
        "R",
    ),
    # F. Backup, activation, destruction
    _item(
        "EV-BACKUP",
        "Every backup copy made under multi-person control, its medium, bag and location",
        "F",
        "WT 4.2.3, 4.2.4",
        "R",
    ),
    _item(
        "EV-QUORUM",
        "m-of-n activation: threshold, holders, share or card identifiers",
        "F",
        "WT 4.4.1",
        "R",
    ),
    _item("EV-RESTORE", "Proof that the backup restores (a restore test)", "F", "practice", "P"),
    _item(
        "EV-DESTROY",
        "Destruction: method, device serial, all copies and fragments, objects listed after reset",
        "F",
        "WT 4.6.2-4.6.5, 4.6.8(d)",
        "R",
    ),
    _item(
        "EV-MIGRATE",
        "Migration: source and target device, fingerprints matched after import, source copies "
        "destroyed",
        "F",
        "WT 4.11.4, 4.11.7",
        "R",
    ),
    _item(
        "EV-TRANSPORT",
        "Transport: chain of custody, bag ids at departure and arrival, activation materials sent "
        "separately",
        "F",
        "WT 4.10.1-4.10.10",
        "R",
    ),
    # G. Sign-off
    _item(
        "EV-SIGNOFF",
        "Participants and witnesses sign that the script was (or was not) followed",
        "G",
        "WT 4.1.5(g), 4.6.8(g), 4.11.4(g)",
        "R",
    ),
    _item(
        "EV-REPORT",
        "A report showing the procedure was followed and key integrity and confidentiality were "
        "kept; root CA: signed by the trusted role responsible and an independent person",
        "G",
        "ETSI GEN-6.5.1-13, -14; BR 6.1.1.1(3)",
        "R",
    ),
)

_BY_ID: dict[str, EvidenceItem] = {entry.id: entry for entry in EVIDENCE_ITEMS}
ORDER: dict[str, int] = {entry.id: index for index, entry in enumerate(EVIDENCE_ITEMS)}
"""An item's place in EVIDENCE.md (rows of a matrix are sorted by it)."""


def item(id_: str) -> EvidenceItem:
    """The catalogue entry for an evidence ID; a KeyError names an unknown ID."""
    try:
        return _BY_ID[id_]
    except KeyError:
        raise KeyError(f"{id_} is not an evidence ID of requirements/EVIDENCE.md") from None


# ------------------------------------------------------------------------ per ceremony type

# Every ceremony type shares an opening (attendance, roles, clock, environment and integrity
# checks, bags retrieved and inspected) and a closing (re-seal, custody, deviations, sign-off,
# print): EVIDENCE.md "Ceremony types", and what compliance.py requires of every script
# (C-ROLES, C-APPROVAL, C-MATERIALS, C-PHYSICAL, C-CUSTODY, C-SIGNOFF, C-DEVIATIONS, C-CPS,
# C-OBJECTIVES, C-CLOCK, C-INTEGRITY, C-TEB, C-REPORT).
COMMON: tuple[str, ...] = (
    "EV-SCRIPT",
    "EV-APPROVAL",
    "EV-TYPE",
    "EV-CPS",
    "EV-ROLES",
    "EV-TRUSTED",
    "EV-ATTEND",
    "EV-PHYSICAL",
    "EV-MATERIALS",
    "EV-INTEGRITY",
    "EV-TEB",
    "EV-CLOCK",
    "EV-LOG",
    "EV-STEPS",
    "EV-DEVIATION",
    "EV-CUSTODY",
    "EV-SIGNOFF",
    "EV-REPORT",
)

# Ceremonies in which a root CA key is generated, signs for another CA's trust (CSR, cross
# certificate), is copied, moved or destroyed: an independent witness attends and the report is
# signed by the responsible trusted role and a person independent of the TSP management
# (WT 4.1.4, 4.6.9, 4.11.6; BR 6.1.1.1(2)-(3); ETSI GEN-6.5.1-14). Routine use of the root key
# (subordinate, OCSP-responder certificates, CRLs, compromise response) is signed off by the
# participants without that extra block.
ROOT_CEREMONY_TYPES: frozenset[str] = frozenset(
    {
        "root-key-generation",
        "parked-key-generation",
        "root-csr",
        "cross-certificate",
        "key-backup",
        "key-recovery",
        "key-migration",
        "custodian-change",
        "key-destruction",
    }
)

_KEY_MADE = ("EV-KEY-ID", "EV-KEY-ALG", "EV-KEY-FPR", "EV-KEY-DATE", "EV-KEY-PURPOSE")
_KEY_USED = ("EV-KEY-ID", "EV-KEY-ALG", "EV-KEY-FPR", "EV-KEY-PURPOSE")
_SIGNING = (*_KEY_USED, "EV-DEVICE", "EV-COLLECTED", "EV-ARTIFACTS")

# What each type owes beyond COMMON (and EV-WITNESS for ROOT_CEREMONY_TYPES).
TYPE_ITEMS: dict[str, tuple[str, ...]] = {
    "root-key-generation": (
        "EV-DEVICE",
        "EV-SETTINGS",
        "EV-COLLECTED",
        *_KEY_MADE,
        "EV-ARTIFACTS",
    ),
    "parked-key-generation": (
        "EV-DEVICE",
        "EV-SETTINGS",
        "EV-COLLECTED",
        *_KEY_MADE,
        "EV-KEY-PARKED",
    ),
    "subordinate-ca-signing": _SIGNING,
    "cross-certificate": _SIGNING,
    "root-csr": _SIGNING,
    "crl-issuance": _SIGNING,
    "ocsp-responder-certificate": _SIGNING,
    "key-compromise-response": _SIGNING,
    "key-backup": ("EV-DEVICE", "EV-KEY-ID", "EV-KEY-FPR", "EV-BACKUP", "EV-QUORUM", "EV-RESTORE"),
    "key-recovery": ("EV-DEVICE", "EV-KEY-ID", "EV-KEY-FPR", "EV-QUORUM"),
    # A re-split (WT 4.4, activation data): the old holders' quorum, the new set (holders, bags)
    # protecting the same backup copy (EV-BACKUP, from backup.resplit) and the key it opens.
    "custodian-change": ("EV-DEVICE", "EV-KEY-ID", "EV-KEY-FPR", "EV-BACKUP", "EV-QUORUM"),
    "key-migration": ("EV-DEVICE", "EV-KEY-ID", "EV-KEY-FPR", "EV-QUORUM", "EV-MIGRATE"),
    "key-destruction": ("EV-DEVICE", "EV-KEY-ID", "EV-DESTROY"),
    # The device leaves sealed and unpowered (its serial and bag are EV-MATERIALS, EV-TEB); its
    # identity is read again on arrival.
    "key-transport-departure": ("EV-TRANSPORT",),
    "key-transport-arrival": ("EV-DEVICE", "EV-TRANSPORT"),
    "hsm-intake": ("EV-DEVICE", "EV-SETTINGS", "EV-COLLECTED"),
    "hsm-initialisation": ("EV-DEVICE",),
    "periodic-inspection": (),
}

# Items a script adds to its type's list by what it runs: an action with evidence of its own
# (compliance.ACTION_EVIDENCE, e.g. backup-key: EV-BACKUP and EV-QUORUM), and m-of-n activation
# of the token's PINs (EV-QUORUM).
_SCRIPT_ADDS: frozenset[str] = frozenset(
    {
        "EV-BACKUP",
        "EV-QUORUM",
        "EV-RESTORE",
        "EV-DESTROY",
        "EV-ARTIFACTS",
        "EV-KEY-ID",
        "EV-KEY-FPR",
    }
)


def _sorted(ids: set[str]) -> tuple[str, ...]:
    return tuple(sorted(ids, key=ORDER.__getitem__))


def required_items(ceremony_type: str) -> tuple[str, ...]:
    """The items any ceremony of this type must evidence, in EVIDENCE.md order.

    Includes the practice items (``P``) that apply, e.g. EV-ATTEND: a row's ``required`` flag
    says whether the source requires it. A KeyError names an unknown type.
    """
    if ceremony_type not in TYPE_ITEMS:
        raise KeyError(f"{ceremony_type} is not a ceremony type Sealroom knows")
    ids = set(COMMON) | set(TYPE_ITEMS[ceremony_type])
    if ceremony_type in ROOT_CEREMONY_TYPES:
        ids.add("EV-WITNESS")
    return _sorted(ids)


def script_items(script: Script) -> tuple[str, ...]:
    """The items this script's ceremony must evidence: its type's, and what its steps add.

    A script adds EV-QUORUM when its token's PINs are split m-of-n (``hsm.activation``), the
    evidence of its actions (backup-key: EV-BACKUP, EV-QUORUM; restore-test: EV-RESTORE;
    destroy-key, zeroise-token: EV-DESTROY; a signing action: EV-ARTIFACTS...), the EV-KEY-PARKED
    and EV-MIGRATE a step is tagged with, and EV-WITNESS when it generates or destroys a key.
    """
    ids = set(required_items(script.ceremony.type))
    if script.hsm is not None and script.hsm.activation is not None:
        ids.add("EV-QUORUM")
    for step in script.steps:
        if isinstance(step, ActionStep):
            ids |= ACTION_EVIDENCE.get(step.action, frozenset()) & _SCRIPT_ADDS
            if step.action in {"generate-key", "destroy-key"}:
                ids.add("EV-WITNESS")
        ids |= step_evidence(step) & {"EV-KEY-PARKED", "EV-MIGRATE", "EV-TRANSPORT"}
    return _sorted(ids)


__all__ = [
    "COMMON",
    "EVIDENCE_ITEMS",
    "GROUP_TITLES",
    "ROOT_CEREMONY_TYPES",
    "TYPE_ITEMS",
    "EvidenceItem",
    "item",
    "required_items",
    "script_items",
]
