"""The registry from real rehearsals: the root key and bags carried to the next script, compared."""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sealroom.ceremony.loader import lint_findings, load_script
from sealroom.ceremony.registry import Registry, RegistryError, compare_registry, load_registry
from sealroom.errors import JournalError
from sealroom.evidence.registry import prefill_script, registry_from_journal, write_registry
from sealroom.evidence.registry_cli import cmd_registry_build
from sealroom.journal.entry import JournalEntry
from sealroom.journal.verify import read_verified_entries

SEALROOM = str(Path(sys.executable).with_name("sealroom"))
CATALOGUE = Path(__file__).resolve().parents[2] / "ceremony_scripts"
ROOT_SCRIPT = CATALOGUE / "root-key-generation.yaml"
SUB_SCRIPT = CATALOGUE / "subordinate-ca-signing.yaml"
INIT_SCRIPT = CATALOGUE / "hsm-initialisation.yaml"

pytestmark = pytest.mark.softhsm


def _rehearse(script: Path, out: Path) -> Path:
    env = dict(os.environ)
    env.pop("SOFTHSM2_CONF", None)
    result = subprocess.run(
        [SEALROOM, "rehearse", "--out", str(out), str(script)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return out / "journal.jsonl"


def _only(entries: list[JournalEntry], event: str, **where: object) -> JournalEntry:
    found = [
        e for e in entries if e.event == event and all(e.data.get(k) == v for k, v in where.items())
    ]
    assert len(found) == 1, (event, where, len(found))
    return found[0]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[JournalEntry], Registry]:
    out = tmp_path_factory.mktemp("registry") / "root"
    journal = _rehearse(ROOT_SCRIPT, out)
    _verdict, entries = read_verified_entries(journal)
    return out, entries, registry_from_journal(entries)


def test_the_registry_holds_the_root_key_and_its_fingerprint(
    root: tuple[Path, list[JournalEntry], Registry],
) -> None:
    out, entries, registry = root
    generated = _only(entries, "key.generated")
    (key,) = registry.keys
    # Independently of the journal: the SHA-256 of the issued certificate's public key.
    cert = x509.load_pem_x509_certificate((out / "root.crt.pem").read_bytes())
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert key.spki_sha256 == hashlib.sha256(spki).hexdigest()
    assert (key.label, key.cka_id, key.key_id) == (
        "exr-root-r1-2026",
        generated.data["cka_id"],
        "root-key",
    )
    assert key.state == "present" and key.seq == generated.seq
    assert key.purpose == ("certificate-signing", "crl-signing")
    assert key.algorithm == "rsa-4096"
    assert key.hsm_serial == generated.data["token_serial"]


def test_the_registry_holds_the_bags_sealed_at_the_close_with_custody(
    root: tuple[Path, list[JournalEntry], Registry],
) -> None:
    _out, entries, registry = root
    hsm_seal = _only(entries, "entry.recorded", label="New HSM bag serial")
    ws_seal = _only(entries, "entry.recorded", label="New workstation bag serial")
    bags = {b.item: b for b in registry.bags}
    shares = [f"share-r{n}" for n in range(1, 6)]
    # The HSM and the workstation, the backup HSM and both media sealed at the closing, and the
    # bag of each of the five backup share sheets sealed at backup-key.
    assert set(bags) == {"hsm", "workstation", "backup-hsm", "media-a", "media-b", *shares}
    assert (bags["hsm"].serial, bags["hsm"].seq) == (hsm_seal.data["value"], hsm_seal.seq)
    assert (bags["hsm"].holder, bags["hsm"].location) == ("bob", "Safe S1, vault room B-110")
    assert bags["hsm"].item_kind == "material"
    assert (bags["workstation"].serial, bags["workstation"].seq) == ("TEB-100302", ws_seal.seq)
    assert bags["workstation"].holder == "alice"
    for item, label, serial, holder, location in (
        ("backup-hsm", "New backup HSM bag serial", "TEB-100303", "carol", "Safe S4"),
        ("media-a", "Medium A bag serial", "TEB-100304", "bob", "Safe S3"),
        ("media-b", "Medium B bag serial", "TEB-100305", "carol", "Safe S4"),
    ):
        seal = _only(entries, "entry.recorded", label=label)
        assert (bags[item].serial, bags[item].seq) == (serial, seal.seq), item
        assert seal.data["value"] == serial, item
        assert bags[item].holder == holder, item
        assert (bags[item].location or "").startswith(location + ","), item
        assert bags[item].item_kind == "material", item
    custodians = ["frank", "hana", "ines", "judit", "kemal"]
    for n, (item, custodian) in enumerate(zip(shares, custodians, strict=True), start=1):
        sealed = _only(entries, "share.sealed", share=item)
        assert sealed.data["custodian"] == custodian and sealed.data["member_index"] == n
        assert (bags[item].serial, bags[item].seq) == (sealed.data["bag"], sealed.seq), item
        assert bags[item].serial == f"TEB-10031{n}", item
        assert bags[item].holder == custodian, item
        assert (bags[item].location or "").startswith("Safe-deposit box of "), item
        assert bags[item].item_kind == "share", item


def test_the_registry_is_tied_to_the_journal_and_the_token(
    root: tuple[Path, list[JournalEntry], Registry],
) -> None:
    _out, entries, registry = root
    identified = _only(entries, "token.identified")
    token: Mapping[str, Any] = identified.data["token"]  # type: ignore[assignment]
    assert registry.ceremony.journal_final_sha256 == entries[-1].sha256
    assert registry.ceremony.journal_entries == len(entries)
    assert registry.ceremony.rehearsal is True
    assert registry.ceremony.script_sha256 == hashlib.sha256(ROOT_SCRIPT.read_bytes()).hexdigest()
    hsm = registry.device("hsm")
    assert hsm is not None
    assert (hsm.serial, hsm.token_serial, hsm.stand_in) == ("HSM-0001", token["serial"], True)
    assert hsm.token_label == "exr-root-r1"


def test_the_next_script_prefilled_matches_and_an_altered_bag_is_named(
    root: tuple[Path, list[JournalEntry], Registry], tmp_path: Path
) -> None:
    _out, entries, registry = root
    path = tmp_path / "registry.json"
    write_registry(path, registry)
    registry = load_registry(path)
    filled = prefill_script(registry, SUB_SCRIPT.read_text())
    assert len(filled.changes) == 2
    next_script = tmp_path / "subordinate-ca-signing.yaml"
    next_script.write_text(filled.text)
    assert lint_findings(next_script)[2] == []
    script = load_script(next_script).script
    assert [m.bag_in for m in script.materials[:2]] == ["TEB-100301", "TEB-100302"]

    generated = _only(entries, "key.generated")
    fingerprint: Mapping[str, Any] = generated.data["fingerprint"]  # type: ignore[assignment]
    on_token = [(str(generated.data["label"]), str(generated.data["cka_id"]), fingerprint["hex"])]
    hsm = registry.device("hsm")
    assert hsm is not None and hsm.token_serial is not None
    clean = compare_registry(registry, script, token_serial=hsm.token_serial, token_keys=on_token)
    assert clean == ()

    altered = tmp_path / "altered.yaml"
    altered.write_text(filled.text.replace("bag_in: TEB-100301", "bag_in: TEB-100399"))
    mismatches = compare_registry(
        registry,
        load_script(altered).script,
        token_serial=hsm.token_serial,
        token_keys=on_token,
    )
    assert [(m.subject, m.expected, m.observed) for m in mismatches] == [
        ("material hsm bag_in", "TEB-100301", "TEB-100399")
    ]
    assert "held by bob" in mismatches[0].sentence


def test_build_refuses_a_journal_that_does_not_verify(
    root: tuple[Path, list[JournalEntry], Registry], tmp_path: Path
) -> None:
    out, _entries, _registry = root
    tampered = tmp_path / "journal.jsonl"
    tampered.write_bytes((out / "journal.jsonl").read_bytes().replace(b"TEB-100301", b"TEB-100309"))
    target = tmp_path / "registry.json"
    args = argparse.Namespace(journal=str(tampered), out=str(target))
    with pytest.raises(JournalError, match="does not verify"):
        cmd_registry_build(args)
    assert not target.exists()


def test_a_journal_that_is_not_closed_gives_no_registry(
    root: tuple[Path, list[JournalEntry], Registry],
) -> None:
    _out, entries, _registry = root
    cut = [e for e in entries if e.event != "ceremony.closed"][:-1]
    with pytest.raises(RegistryError, match="is not closed"):
        registry_from_journal(cut)


def test_an_initialisation_registry_holds_the_share_sets_and_their_bags(tmp_path: Path) -> None:
    journal = _rehearse(INIT_SCRIPT, tmp_path / "init")
    _verdict, entries = read_verified_entries(journal)
    registry = registry_from_journal(entries)
    initialised = _only(entries, "token.initialised")
    activation: Mapping[str, Any] = initialised.data["activation"]  # type: ignore[assignment]
    sealed = [e for e in entries if e.event == "share.sealed"]
    assert {s.what for s in registry.custodians} == set(activation)
    for share_set in registry.custodians:
        split = activation[share_set.what]
        assert share_set.threshold == split["threshold"]
        assert share_set.check_value == split["check_value"]
        assert share_set.set_identifier == split["set_identifier"]
        assert [h.custodian for h in share_set.holders] == list(split["custodians"])
        for holder in share_set.holders:
            entry = next(
                e
                for e in sealed
                if e.data["what"] == share_set.what and e.data["share"] == holder.share
            )
            assert holder.bag == entry.data["bag"]
            assert holder.location is not None and "safe deposit box" in holder.location
    script = load_script(INIT_SCRIPT).script
    hsm = registry.device("hsm")
    assert hsm is not None
    # The same script again, on the same token: its custodians match the share sets; its bag_in
    # are the bags opened at this ceremony, not those sealed at its close, so those are named.
    mismatches = compare_registry(registry, script, token_serial=hsm.token_serial, token_keys=None)
    assert [(m.subject, m.expected) for m in mismatches] == [
        ("material hsm bag_in", "TEB-231101"),
        ("material workstation bag_in", "TEB-231102"),
    ]


def test_a_destruction_registry_records_the_key_destroyed_with_its_fingerprint(
    tmp_path: Path,
) -> None:
    journal = _rehearse(CATALOGUE / "key-destruction.yaml", tmp_path / "destruction")
    _verdict, entries = read_verified_entries(journal)
    registry = registry_from_journal(entries)
    found = _only(entries, "key.found")
    destroyed = _only(entries, "key.destroyed")
    fingerprint: Mapping[str, Any] = found.data["fingerprint"]  # type: ignore[assignment]
    (key,) = registry.keys
    assert (key.label, key.cka_id) == (found.data["label"], found.data["cka_id"])
    assert key.spki_sha256 == fingerprint["hex"]
    assert (key.state, key.seq) == ("destroyed", destroyed.seq)
    # The next ceremony finding that key on the token is a mismatch named as such.
    script = load_script(CATALOGUE / "key-destruction.yaml").script
    on_token = [(key.label, key.cka_id, None)]
    mismatches = compare_registry(
        registry, script, token_serial=key.hsm_serial, token_keys=on_token
    )
    assert [(m.subject, m.expected, m.observed) for m in mismatches if "key" in m.subject] == [
        (f"key {key.label}", "destroyed", "present")
    ]
