"""The evidence catalogue: EVIDENCE.md as code, and the items each ceremony type owes."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest

from sealroom.ceremony.compliance import STEP_NEEDS, script_evidence
from sealroom.ceremony.evidence import (
    EVIDENCE_ITEMS,
    GROUP_TITLES,
    ROOT_CEREMONY_TYPES,
    item,
    required_items,
    script_items,
)
from sealroom.ceremony.loader import load_script
from sealroom.ceremony.script import ActionStep, CeremonyType, EvidenceId

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(p for p in (ROOT / "ceremony_scripts").glob("*.yaml") if ".answers." not in p.name)
EVIDENCE_MD = Path("/work/shared/requirements/EVIDENCE.md")
"""The requirements document (outside the repository; the test comparing with it skips without)."""


def test_the_catalogue_holds_every_evidence_id_the_script_model_knows_in_order() -> None:
    assert [e.id for e in EVIDENCE_ITEMS] == list(typing.get_args(EvidenceId))


def test_each_item_has_a_group_a_source_and_a_title() -> None:
    for entry in EVIDENCE_ITEMS:
        assert entry.group in GROUP_TITLES, entry
        assert entry.title and entry.source, entry
        assert entry.mark == ("R" if entry.required else "P")
    assert [g for g in dict.fromkeys(e.group for e in EVIDENCE_ITEMS)] == list("ABCDEFG")


def test_practice_items_are_marked_p() -> None:
    practice = {e.id for e in EVIDENCE_ITEMS if not e.required}
    assert practice == {"EV-ATTEND", "EV-RESTORE"}


@pytest.mark.skipif(not EVIDENCE_MD.exists(), reason=f"{EVIDENCE_MD} is not on this machine")
def test_the_catalogue_is_evidence_md_row_for_row() -> None:
    rows: list[tuple[str, str, str, str]] = []
    group = ""
    for line in EVIDENCE_MD.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^## ([A-G])\. (.+)$", line)
        if heading:
            group = heading.group(1)
            assert GROUP_TITLES[group] == heading.group(2).split(" (")[0]
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("EV-"):
            rows.append((cells[0], group, cells[2], cells[3]))
    assert [(e.id, e.group, e.mark) for e in EVIDENCE_ITEMS] == [(r[0], r[1], r[3]) for r in rows]
    # Sources as written, dashes aside (the catalogue uses ASCII hyphens).
    for entry, row in zip(EVIDENCE_ITEMS, rows, strict=True):
        assert entry.source == row[2].replace("\u2013", "-"), entry.id


def test_item_looks_up_by_id_and_names_an_unknown_id() -> None:
    assert item("EV-CLOCK").group == "C"
    assert item("EV-CLOCK").group_title == "Place, hardware, software"
    with pytest.raises(KeyError, match="EV-NOPE is not an evidence ID"):
        item("EV-NOPE")


def test_root_key_generation_owes_groups_a_to_d_its_key_and_the_sign_off() -> None:
    owed = required_items("root-key-generation")
    groups_a_to_d = [e.id for e in EVIDENCE_ITEMS if e.group in "ABCD"]
    assert set(groups_a_to_d) <= set(owed)
    assert {
        "EV-KEY-ID",
        "EV-KEY-ALG",
        "EV-KEY-FPR",
        "EV-KEY-DATE",
        "EV-KEY-PURPOSE",
        "EV-ARTIFACTS",
        "EV-SIGNOFF",
        "EV-REPORT",
    } <= set(owed)
    # Nothing that does not happen in it: no parked key, no backup, no destruction.
    assert not {"EV-KEY-PARKED", "EV-BACKUP", "EV-DESTROY", "EV-MIGRATE", "EV-TRANSPORT"} & set(
        owed
    )
    assert list(owed) == sorted(owed, key=[e.id for e in EVIDENCE_ITEMS].index)


def test_every_type_owes_the_shared_opening_and_closing() -> None:
    for ceremony_type in typing.get_args(CeremonyType):
        owed = set(required_items(ceremony_type))
        assert {"EV-SCRIPT", "EV-ATTEND", "EV-CLOCK", "EV-TEB", "EV-LOG"} <= owed
        assert {"EV-DEVIATION", "EV-CUSTODY", "EV-SIGNOFF", "EV-REPORT"} <= owed
        assert ("EV-WITNESS" in owed) == (ceremony_type in ROOT_CEREMONY_TYPES)


def test_every_type_compliance_knows_has_a_list() -> None:
    assert set(STEP_NEEDS) == set(typing.get_args(CeremonyType))
    for ceremony_type in STEP_NEEDS:
        assert required_items(ceremony_type)
    with pytest.raises(KeyError, match="not a ceremony type"):
        required_items("tea-ceremony")


def test_type_specific_items() -> None:
    assert "EV-KEY-PARKED" in required_items("parked-key-generation")
    assert "EV-DESTROY" in required_items("key-destruction")
    assert {"EV-BACKUP", "EV-QUORUM", "EV-RESTORE"} <= set(required_items("key-backup"))
    assert "EV-MIGRATE" in required_items("key-migration")
    assert "EV-TRANSPORT" in required_items("key-transport-arrival")
    assert "EV-ARTIFACTS" in required_items("crl-issuance")
    assert "EV-ARTIFACTS" not in required_items("periodic-inspection")


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.stem)
def test_a_shipped_script_has_a_step_for_every_item_its_steps_must_produce(path: Path) -> None:
    """Items only a step can evidence are produced by a step of each shipped script.

    (Items the engine journals by itself, the script's own sections, and the journal's
    structure are not step evidence; compliance lints those.)
    """
    script = load_script(path).script
    owed = set(script_items(script))
    step_only = {
        "EV-PHYSICAL",
        "EV-INTEGRITY",
        "EV-TEB",
        "EV-CLOCK",
        "EV-CUSTODY",
        "EV-SIGNOFF",
        "EV-REPORT",
        "EV-MIGRATE",
        "EV-TRANSPORT",
        "EV-KEY-PARKED",
        "EV-BACKUP",
        "EV-RESTORE",
    }
    assert (owed & step_only) - script_evidence(script) == set()


def test_m_of_n_activation_adds_the_quorum() -> None:
    init = load_script(ROOT / "ceremony_scripts" / "hsm-initialisation.yaml").script
    assert init.hsm is not None and init.hsm.activation is not None
    assert "EV-QUORUM" not in required_items("hsm-initialisation")
    assert "EV-QUORUM" in script_items(init)
    # a script with neither activation nor a backup owes no quorum
    csr = load_script(ROOT / "ceremony_scripts" / "root-csr.yaml").script
    assert csr.hsm is not None and csr.hsm.activation is None
    assert not any(isinstance(s, ActionStep) and s.action == "backup-key" for s in csr.steps)
    assert "EV-QUORUM" not in script_items(csr)


def test_a_backup_adds_the_quorum_without_activation() -> None:
    """The root key is backed up 3 of 5: its KEK's shares are the quorum, not the token's PINs."""
    root = load_script(ROOT / "ceremony_scripts" / "root-key-generation.yaml").script
    assert root.hsm is not None and root.hsm.activation is None
    assert "EV-QUORUM" not in required_items("root-key-generation")
    assert any(isinstance(s, ActionStep) and s.action == "backup-key" for s in root.steps)
    assert "EV-QUORUM" in script_items(root)
