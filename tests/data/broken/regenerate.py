"""Regenerate the broken-script corpus from the root script: one small, focused breakage per file.

Each case names the lint findings it must produce (rule and a text that identifies the line) by
hand; this script only turns those texts into line numbers in the `# expect:` header. Run it from
the repository root after the reference script changes, then review the diff of the YAML files:

    .venv/bin/python tests/data/broken/regenerate.py
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT_SCRIPT = HERE.parents[2] / "ceremony_scripts" / "root-key-generation.yaml"


def step_block(text: str, step_id: str) -> tuple[int, int]:
    """Start and end offsets of a step's block in the steps section."""
    steps = text.index("\nsteps:\n")
    start = text.index(f"\n  - id: {step_id}\n", steps) + 1
    following = text.find("\n  - id: ", start)
    end = len(text) if following == -1 else following + 1
    return start, end


def replace(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, (old, text.count(old))
    return text.replace(old, new)


def drop_step(text: str, step_id: str) -> str:
    start, end = step_block(text, step_id)
    return text[:start] + text[end:]


def insert_before_step(text: str, step_id: str, block: str) -> str:
    start, _end = step_block(text, step_id)
    return text[:start] + block + text[start:]


def move_step_after(text: str, step_id: str, after_id: str) -> str:
    start, end = step_block(text, step_id)
    block = text[start:end]
    text = text[:start] + text[end:]
    _start, after_end = step_block(text, after_id)
    return text[:after_end] + block + text[after_end:]


def step_edit(text: str, step_id: str, old: str, new: str) -> str:
    start, end = step_block(text, step_id)
    return text[:start] + replace(text[start:end], old, new) + text[end:]


def base_text() -> str:
    """The reference script without its leading comments (it lints clean)."""
    text = ROOT_SCRIPT.read_text()
    return text[text.index("sealroom: 1") :]


@dataclass(frozen=True)
class Case:
    name: str
    what: str
    change: Callable[[str], str]
    expect: tuple[tuple[str, str], ...]
    """(rule, text of the line the finding points at); the first line holding the text."""


def r(old: str, new: str) -> Callable[[str], str]:
    return lambda text: replace(text, old, new)


def chain(*changes: Callable[[str], str]) -> Callable[[str], str]:
    def run(text: str) -> str:
        for change in changes:
            text = change(text)
        return text

    return run


CASES: tuple[Case, ...] = (
    # --- YAML and schema ----------------------------------------------------------------------
    Case(
        "yaml-duplicate-key",
        "a key given twice",
        r("  token_label: exr-root-r1\n", "  token_label: exr-root-r1\n  token_label: other\n"),
        (("SR-YAML", "  token_label: other"),),
    ),
    Case(
        "schema-misspelt-field",
        "a misspelt field name",
        r("  token_label: exr-root-r1", "  token_lable: exr-root-r1"),
        (("SR-SCHEMA", "token_lable"),),
    ),
    Case(
        "schema-unknown-action",
        "an action that does not exist",
        r("    action: generate-key", "    action: make-key"),
        (("SR-SCHEMA", "action: make-key"),),
    ),
    Case(
        "schema-unknown-step-kind",
        "a step kind that does not exist",
        r(
            "    kind: acknowledge\n    title: Confirm",
            "    kind: acknowledgement\n    title: Confirm",
        ),
        (("SR-SCHEMA", "kind: acknowledgement"),),
    ),
    Case(
        "schema-unknown-evidence-id",
        "an evidence tag that is not in EVIDENCE.md",
        r("    evidence: [EV-PHYSICAL]", "    evidence: [EV-PHYSICS]"),
        (("SR-SCHEMA", "evidence: [EV-PHYSICS]"),),
    ),
    Case(
        "schema-missing-title",
        "the ceremony's title is missing",
        r("  title: Example Root CA R1 - root key generation and backup\n", ""),
        (("SR-SCHEMA", "ceremony:"),),
    ),
    Case(
        "schema-approval-date",
        "an approval date that is not a date",
        r("    date: 2026-11-02", "    date: early November"),
        (("SR-SCHEMA", "date: early November"),),
    ),
    # --- references, duplicates, order --------------------------------------------------------
    Case(
        "ref-step-performer",
        "a step performed by a role that does not exist",
        lambda t: step_edit(
            t, "room-check", "    performer: administrator", "    performer: admin"
        ),
        (("SR-REF-ROLE", "performer: admin\n"),),
    ),
    Case(
        "ref-deviation-role",
        "deviations decided by a role that does not exist",
        r("  decided_by: [administrator]", "  decided_by: [adminstrator]"),
        (("SR-REF-ROLE", "decided_by: [adminstrator]"),),
    ),
    Case(
        "ref-quorum-role",
        "a quorum of a role that does not exist",
        r(
            "\nquorums:\n",
            "\nquorums:\n  - id: activation\n    role: crypto-oficer\n    threshold: 2\n"
            "    purpose: Activate the HSM\n",
        ),
        (("SR-REF-ROLE", "role: crypto-oficer"),),
    ),
    Case(
        "ref-entry-material",
        "an entry step comparing with a material that does not exist",
        r("expect: {material: hsm, field: serial}", "expect: {material: hsm-1, field: serial}"),
        (("SR-REF-MATERIAL", "material: hsm-1"),),
    ),
    Case(
        "ref-break-bag",
        "a break re-checking the bag of a material that has none",
        lambda t: insert_before_step(
            t,
            "sign-root-certificate",
            "  - id: break\n    act: key-generation\n    kind: break\n    title: Short break\n"
            "    instruction: Everybody may leave; the bags are re-checked on return.\n"
            "    recheck_bags: [printer]\n    performer: administrator\n"
            "    witnesses: [auditor]\n",
        ),
        (("SR-REF-MATERIAL", "recheck_bags: [printer]"),),
    ),
    Case(
        "ref-backup-medium",
        "a backup written to a medium that is not a material",
        r("    media: [media-a, media-b]", "    media: [media-a, media-c]"),
        (("SR-REF-MATERIAL", "media: [media-a, media-c]"),),
    ),
    Case(
        "ref-generate-unknown-key",
        "generating a key that is not declared (so the certificate's key is never generated)",
        r("      key: root-key\n    performer", "      key: root-ky\n    performer"),
        (("SR-REF-KEY", "key: root-ky"), ("SR-ORDER", "action: sign-root-certificate")),
    ),
    Case(
        "duplicate-step-id",
        "two steps with the same id",
        r("  - id: hsm-serial\n", "  - id: hsm-bag\n"),
        (
            (
                "SR-DUPLICATE",
                "  - id: hsm-bag\n    act: opening\n    kind: entry\n    title: Check the HSM's s",
            ),
        ),
    ),
    Case(
        "action-unknown-param",
        "an action given a parameter it does not take",
        r("      key: root-key\n    perf", "      key: root-key\n      size: big\n    perf"),
        (("SR-ACTION-PARAM", "size: big"),),
    ),
    Case(
        "quorum-witness-without-holder",
        "a step witnessed by a role nobody holds",
        chain(
            r(
                "\nparticipants:\n",
                "  - id: observer\n    name: Observer\n    trusted: false\n    internal: true\n"
                "    duties: Observes.\n    after: Nothing.\n\nparticipants:\n",
            ),
            lambda t: step_edit(
                t, "room-check", "    witnesses: [internal-witness]", "    witnesses: [observer]"
            ),
        ),
        (("C-ROLES", "  - id: observer"), ("SR-QUORUM", "witnesses: [observer]")),
    ),
    Case(
        "order-still-logged-in",
        "the HSM is never logged out",
        lambda t: drop_step(t, "hsm-logout"),
        (("SR-ORDER", "  - id: workstation-reseal"),),
    ),
    Case(
        "validity-reversed",
        "a certificate that expires before it starts",
        r("    not_after: 2046-11-01T00:00:00Z", "    not_after: 2016-11-01T00:00:00Z"),
        (("SR-VALIDITY", "not_after: 2016"),),
    ),
    Case(
        "key-purpose-certificate",
        "a root certificate signed by a key not declared for certificate signing",
        r("    purpose: [certificate-signing, crl-signing]", "    purpose: [crl-signing]"),
        (("SR-KEY-PURPOSE", "    key: root-key"),),
    ),
    # --- compliance: WebTrust 4.1.5 (a)-(h) -----------------------------------------------------
    Case(
        "c-roles-no-after",
        "(a) a role without after-ceremony duties",
        r("    after: Keeps an independent copy of the report and the journal's final hash.\n", ""),
        (("C-ROLES", "  - id: auditor"),),
    ),
    Case(
        "c-roles-unassigned",
        "(a) a role nobody holds",
        r(
            "\nparticipants:\n",
            "  - id: observer\n    name: Observer\n    trusted: false\n    internal: true\n"
            "    duties: Observes.\n    after: Nothing.\n\nparticipants:\n",
        ),
        (("C-ROLES", "  - id: observer"),),
    ),
    Case(
        "c-approval",
        "(b) no management approval",
        r(
            "  approval:\n    approved_by: Grace Okonjo\n"
            "    role: Chief Executive Officer, Example Trust Services\n"
            "    date: 2026-11-02\n    reference: ETS-MGMT-2026-117\n",
            "",
        ),
        (("C-APPROVAL", "ceremony:"),),
    ),
    Case(
        "c-materials-no-workstation",
        "(c) the workstation is not listed as such",
        r("    kind: workstation\n", "    kind: other\n"),
        (("C-MATERIALS", "materials:"),),
    ),
    Case(
        "c-materials-no-hsm",
        "(c) neither HSM is listed as an hsm",
        lambda t: t.replace("    kind: hsm\n", "    kind: media\n"),
        (
            ("SR-REF-MATERIAL", "  material: hsm"),
            ("SR-REF-MATERIAL", "    restore_test_token: backup-hsm"),
            ("C-MATERIALS", "materials:"),
        ),
    ),
    Case(
        "c-steps-storage",
        "(d) no step prepares the materials for storage",
        lambda t: step_edit(
            t, "custody", "    evidence: [EV-CUSTODY, EV-BACKUP]\n", "    evidence: [EV-BACKUP]\n"
        ),
        (("C-STEPS", "steps:"),),
    ),
    Case(
        "c-steps-generate-key",
        "(d) the key is never generated",
        lambda t: drop_step(t, "generate-root-key"),
        (("SR-ORDER", "action: sign-root-certificate"), ("C-STEPS", "steps:")),
    ),
    Case(
        "c-steps-backup",
        "(d) a key generated for backup is never backed up",
        chain(lambda t: drop_step(t, "backup-root-key"), lambda t: drop_step(t, "restore-test")),
        (("C-STEPS", "    backup: true"),),
    ),
    Case(
        "c-physical",
        "(e) no physical security requirements",
        r(
            "    physical_security:\n"
            "      - Two-person access control with badge and PIN; entries logged by the access "
            "system.\n"
            "      - Room swept before the ceremony; CCTV recording throughout.\n"
            "      - No personal electronic devices beyond this point.\n",
            "",
        ),
        (("C-PHYSICAL", "  location:"),),
    ),
    Case(
        "c-custody",
        "(f) no custody section",
        lambda t: t[: t.index("custody:\n  - item: hsm")] + t[t.index("deviations:\n") :],
        (("C-CUSTODY", "ceremony:"),),
    ),
    Case(
        "c-signoff",
        "(g) no sign-off step",
        lambda t: drop_step(t, "sign-off"),
        (("C-SIGNOFF", "steps:"),),
    ),
    Case(
        "c-deviations",
        "(h) no deviations policy",
        lambda t: t[: t.index("deviations:\n")] + t[t.index("acts:\n") :],
        (("C-DEVIATIONS", "ceremony:"),),
    ),
    # --- compliance: other rules -----------------------------------------------------------------
    Case(
        "c-witness-not-independent",
        "the key generation is witnessed by internal staff only",
        lambda t: step_edit(
            t,
            "generate-root-key",
            "    witnesses: [internal-witness, auditor]",
            "    witnesses: [internal-witness]",
        ),
        (("C-WITNESS", "    witnesses: [internal-witness]\n  - id: check-key-fingerprint"),),
    ),
    Case(
        "c-witness-no-external-role",
        "the auditor is declared internal, so nobody independent witnesses",
        r("    trusted: false\n    internal: false\n", "    trusted: false\n    internal: true\n"),
        (("C-WITNESS", "    witnesses: [internal-witness, auditor]\n  - id: check-key-f"),),
    ),
    Case(
        "c-cps",
        "no CP/CPS reference",
        r(
            '  cps:\n    document: Example Trust Services CP/CPS\n    version: "4.2"\n'
            '    section: "6.1.1 Key pair generation"\n',
            "",
        ),
        (("C-CPS", "ceremony:"),),
    ),
    Case(
        "c-objectives",
        "no objectives",
        lambda t: t[: t.index("  objectives:\n")] + t[t.index("  cps:\n") :],
        (("C-OBJECTIVES", "ceremony:"),),
    ),
    Case(
        "c-clock",
        "no clock comparison",
        lambda t: drop_step(t, "clock"),
        (("C-CLOCK", "steps:"),),
    ),
    Case(
        "c-integrity",
        "no software integrity check",
        r("    evidence: [EV-INTEGRITY]\n", ""),
        (("C-INTEGRITY", "steps:"),),
    ),
    Case(
        "c-teb-bag-in",
        "a bag that is never checked when opened",
        lambda t: drop_step(t, "workstation-bag"),
        (("C-TEB", "    bag_in: TEB-100202"),),
    ),
    Case(
        "c-teb-bag-out",
        "a new bag whose serial is never recorded",
        lambda t: drop_step(t, "hsm-reseal"),
        (("C-TEB", "    bag_out: TEB-100301"),),
    ),
    Case(
        "c-report",
        "the report is never printed",
        lambda t: drop_step(t, "print-report"),
        (("C-REPORT", "steps:"),),
    ),
    # --- state --------------------------------------------------------------------------------
    Case(
        "s-bag-never-resealed",
        "the workstation leaves its bag and is never put in a new one",
        chain(
            r("    bag_out: TEB-100302\n", ""),
            lambda t: drop_step(t, "workstation-reseal"),
            r("  - item: workstation\n    bag: TEB-100302\n", "  - item: workstation\n"),
        ),
        (("S-BAG", "    bag_in: TEB-100202"),),
    ),
    Case(
        "s-custody-material-missing",
        "a material with no custody entry",
        r(
            "  - item: printer\n    location: Ceremony room B-104 (holds no key material)\n"
            "    holder: alice\n",
            "",
        ),
        (("S-CUSTODY", "  - id: printer"),),
    ),
    Case(
        "s-custody-unknown-holder",
        "a custody holder who is not a participant",
        r(
            "    location: Safe S1, vault room B-110\n    holder: bob\n",
            "    location: Safe S1, vault room B-110\n    holder: bobby\n",
        ),
        (("S-CUSTODY", "    holder: bobby"),),
    ),
    Case(
        "s-custody-unknown-item",
        "a custody entry for an item that does not exist",
        r(
            "\ndeviations:\n",
            "  - item: safe-key\n    location: Key cabinet\n    holder: alice\n\ndeviations:\n",
        ),
        (("S-CUSTODY", "  - item: safe-key"),),
    ),
    Case(
        "s-custody-bag-mismatch",
        "custody names another bag than the one the HSM is sealed in",
        r("    bag: TEB-100301\n", "    bag: TEB-100399\n"),
        (("S-CUSTODY", "    bag: TEB-100399"),),
    ),
    Case(
        "s-custody-share-missing",
        "a backup share with no custody entry",
        r(
            "  - item: share-r5\n    bag: TEB-100315\n"
            "    location: Safe-deposit box of Kemal Aydin, bank vault (box SDB-35)\n"
            "    holder: kemal\n",
            "",
        ),
        (("S-CUSTODY", "{share: share-r5, custodian: kemal}"),),
    ),
    Case(
        "s-quorum-too-few-holders",
        "a quorum larger than the number of people holding the role",
        r(
            "\nquorums:\n",
            "\nquorums:\n  - id: activation\n    role: crypto-officer\n    threshold: 3\n"
            "    purpose: Activate the HSM\n",
        ),
        (("S-QUORUM", "    threshold: 3"),),
    ),
    Case(
        "s-quorum-backup-threshold",
        "a backup needing more shares than it makes",
        r("    key: root-key\n    threshold: 3\n", "    key: root-key\n    threshold: 6\n"),
        (("S-QUORUM", "    threshold: 6"), ("S-QUORUM", "    restore_test_custodians:")),
    ),
    Case(
        "s-quorum-custodian-twice",
        "one custodian holding enough shares to recover alone",
        chain(
            r("{share: share-r4, custodian: judit}", "{share: share-r4, custodian: frank}"),
            r("{share: share-r5, custodian: kemal}", "{share: share-r5, custodian: frank}"),
        ),
        (("S-QUORUM", "{share: share-r5, custodian: frank}"),),
    ),
    Case(
        "s-confirm-missing",
        "an irreversible action without confirmation words",
        lambda t: insert_before_step(
            t,
            "hsm-login",
            "  - id: initialise-token\n    act: key-generation\n    kind: action\n"
            "    title: Initialise the token\n    instruction: The HSM token is initialised.\n"
            "    action: initialise-token\n    performer: crypto-officer\n"
            "    witnesses: [auditor]\n",
        ),
        (("S-CONFIRM", "    action: initialise-token"),),
    ),
    Case(
        "s-confirm-without-label",
        "destroying a key with confirmation words that do not name it",
        chain(
            r(
                "\ncertificates:\n",
                "  - id: test-key\n    label: exr-test-2026\n    algorithm: ec-p256\n"
                "    purpose: [certificate-signing]\n\ncertificates:\n",
            ),
            lambda t: insert_before_step(
                t,
                "sign-root-certificate",
                "  - id: generate-test-key\n    act: key-generation\n    kind: action\n"
                "    title: Generate a test key\n    instruction: The HSM makes a test key.\n"
                "    action: generate-key\n    params:\n      key: test-key\n"
                "    performer: crypto-officer\n    witnesses: [auditor]\n"
                "  - id: destroy-test-key\n    act: key-generation\n    kind: action\n"
                "    title: Destroy the test key\n    instruction: The HSM destroys the test key.\n"
                "    action: destroy-key\n    params:\n      key: test-key\n"
                "    confirm: destroy the test key\n"
                "    performer: crypto-officer\n    witnesses: [auditor]\n",
            ),
        ),
        (("S-CONFIRM", "    confirm: destroy the test key"),),
    ),
    Case(
        "s-key-use-backup-non-extractable",
        "backing up a key generated non-extractable",
        r("    backup: true\n", "    backup: false\n"),
        (("S-KEY-USE", "    key: root-key\n    threshold: 3"),),
    ),
    Case(
        "s-key-use-crl-purpose",
        "a CRL signed by a key not declared for CRL signing",
        chain(
            r("[certificate-signing, crl-signing]", "[certificate-signing]"),
            r(
                "\nevidence:\n",
                "crls:\n  - id: first-crl\n    key: root-key\n"
                "    issuer_certificate: root-certificate\n    number: 1\n"
                "    this_update: 2026-11-01T00:00:00Z\n    next_update: 2027-11-01T00:00:00Z\n"
                "    output: root.crl\n\nevidence:\n",
            ),
        ),
        (("S-KEY-USE", "    key: root-key\n    issuer_certificate"),),
    ),
    Case(
        "s-key-use-export-key",
        "exporting the CA key itself",
        lambda t: insert_before_step(
            t,
            "hsm-logout",
            "  - id: export-key\n    act: export\n    kind: action\n    title: Export the key\n"
            "    instruction: Export it.\n    action: export-qr\n    params:\n"
            "      artifact: root-key\n    performer: administrator\n    witnesses: [auditor]\n",
        ),
        (
            ("S-KEY-USE", "      artifact: root-key"),
            ("SR-ORDER", "    action: export-qr\n    params:\n      artifact: root-key"),
        ),
    ),
    Case(
        "s-evidence-physical",
        "no step confirms the room's physical controls",
        r("    evidence: [EV-PHYSICAL]\n", ""),
        (("S-EVIDENCE", "steps:"),),
    ),
    Case(
        "s-acts-unknown-act",
        "a step naming an act that is not declared",
        lambda t: step_edit(t, "room-check", "    act: opening\n", "    act: openin\n"),
        (("S-ACTS", "    act: openin\n"),),
    ),
    Case(
        "s-acts-step-without-act",
        "a step naming no act although the script declares acts",
        lambda t: step_edit(t, "room-check", "    act: opening\n", ""),
        (("S-ACTS", "  - id: room-check"),),
    ),
    Case(
        "s-acts-not-together",
        "an opening step placed in the middle of the key generation",
        lambda t: move_step_after(t, "hsm-serial", "hsm-login"),
        (("S-ACTS", "    act: opening\n    kind: entry\n    title: Check the HSM's serial"),),
    ),
    Case(
        "s-acts-clock-outside-opening",
        "the clock comparison moved out of the opening",
        lambda t: step_edit(
            move_step_after(t, "clock", "media-b-serial"),
            "clock",
            "    act: opening\n",
            "    act: key-generation\n",
        ),
        (("S-ACTS", "    act: key-generation\n    kind: entry\n    title: Compare"),),
    ),
    Case(
        "s-acts-unknown-role-act",
        "a role describing its part in an act that is not declared",
        r(
            "    after: Holds the HSM safe key; never alone with the HSM.\n",
            "    after: Holds the HSM safe key; never alone with the HSM.\n"
            "    acts:\n      key-generation: Activates the HSM.\n      signing: Signs.\n",
        ),
        (("S-ACTS", "      signing: Signs."),),
    ),
    Case(
        "s-acts-empty-act",
        "an act without steps",
        r(
            "  - id: closing\n    title: Closing\n",
            "  - id: spare\n    title: Spare\n  - id: closing\n    title: Closing\n",
        ),
        (("S-ACTS", "  - id: spare"),),
    ),
)


def line_of(body: str, needle: str) -> int:
    """1-based line in ``body`` where ``needle`` starts (the first occurrence)."""
    assert needle in body, needle
    return body[: body.index(needle)].count("\n") + 1


def render(case: Case, base: str) -> str:
    body = case.change(base)
    header = len(case.expect) + 1
    expects = sorted(
        ((rule, header + line_of(body, needle)) for rule, needle in case.expect),
        key=lambda item: (item[1], item[0]),
    )
    lines = [f"# expect: {rule} line {line}" for rule, line in expects]
    lines.append(f"# broken: {case.what} (derived from root-key-generation.yaml)")
    return "\n".join(lines) + "\n" + body


def main() -> None:
    base = base_text()
    names = [case.name for case in CASES]
    assert len(names) == len(set(names)), "case names repeat"
    for old in HERE.glob("*.yaml"):
        old.unlink()
    for case in CASES:
        (HERE / f"{case.name}.yaml").write_text(render(case, base))
    print(f"wrote {len(CASES)} broken scripts to {HERE}")


if __name__ == "__main__":
    main()
