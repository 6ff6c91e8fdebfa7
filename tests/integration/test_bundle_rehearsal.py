"""Real rehearsals through the sealroom command yield bundles that verify: by Sealroom, by hand."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sealroom.ceremony.fingerprint import pgp_words
from tests.fakes import ROOT_SCRIPT

SEALROOM = str(Path(sys.executable).with_name("sealroom"))
SCRIPTS = ROOT_SCRIPT.parent
PIN = "4711-2027"

pytestmark = pytest.mark.softhsm


def sealroom(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("SOFTHSM2_CONF", None)
    result = subprocess.run(
        [SEALROOM, *args], capture_output=True, text=True, timeout=300, env=env, check=False
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result


def run(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, cwd=cwd, check=False)


def rehearse(script: str, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return sealroom("rehearse", str(SCRIPTS / f"{script}.yaml"), "--out", str(out), *extra)


def test_a_root_rehearsal_bundle_verifies_with_sealroom_and_by_hand(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = rehearse("root-key-generation", out)
    assert result.returncode == 0, result.stderr
    bundle = out / "bundle"
    manifest = (bundle / "manifest.json").read_bytes()
    digest = hashlib.sha256(manifest).digest()
    grouped = " ".join(re.findall("....", digest.hex().upper()))
    assert f"evidence bundle: {bundle}" in result.stdout
    assert f"manifest.json SHA-256: {grouped}" in result.stdout
    assert f"PGP words: {pgp_words(digest)}" in result.stdout

    verified = sealroom("verify", str(bundle))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "FAILED" not in verified.stdout
    assert not [line for line in verified.stdout.splitlines() if line.endswith(": missing")]
    assert "ok: EVIDENCE.md items: every required item" in verified.stdout
    assert f"bundle verified; manifest.json SHA-256 {grouped}" in verified.stdout

    # The auditor's hand check (docs/bundle.md): sha256sum, then openssl.
    sums = run("sha256sum", "--strict", "-c", "MANIFEST.sha256", cwd=bundle)
    assert sums.returncode == 0, sums.stdout + sums.stderr
    assert sums.stdout.count(": OK") == 6
    assert "registry.json: OK" in sums.stdout
    cert = bundle / "artefacts" / "root.crt.pem"
    selfsigned = run("openssl", "verify", "-x509_strict", "-CAfile", str(cert), str(cert))
    assert selfsigned.returncode == 0, selfsigned.stdout + selfsigned.stderr
    der = subprocess.run(
        ["openssl", "x509", "-in", str(cert), "-outform", "DER"], capture_output=True, check=True
    ).stdout
    issued = next(
        json.loads(line)
        for line in (bundle / "journal.jsonl").read_text().splitlines()
        if '"event":"certificate.issued"' in line
    )
    assert hashlib.sha256(der).hexdigest() == issued["data"]["sha256"]
    for path in bundle.rglob("*"):
        if path.is_file():
            assert PIN.encode() not in path.read_bytes(), path


def test_the_next_ceremony_is_prepared_from_the_root_bundles_registry(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert rehearse("root-key-generation", out).returncode == 0
    registry = out / "bundle" / "registry.json"
    manifest = json.loads((out / "bundle" / "manifest.json").read_bytes())
    item = next(i for i in manifest["files"] if i["path"] == "registry.json")
    assert item["kind"] == "registry"
    assert item["sha256"] == hashlib.sha256(registry.read_bytes()).hexdigest()
    verified = sealroom("verify", str(out / "bundle"))
    assert verified.returncode == 0, verified.stdout
    assert "ok: registry against the journal: registry.json is the registry computed" in (
        verified.stdout
    )
    # The bundle's registry is what 'registry build' computes from the same journal.
    built = sealroom(
        "registry", "build", str(out / "journal.jsonl"), "--out", str(tmp_path / "built.json")
    )
    assert built.returncode == 0, built.stdout + built.stderr
    assert (tmp_path / "built.json").read_bytes() == registry.read_bytes()
    sealed = json.loads(registry.read_bytes())
    bags = {b["item"]: b["serial"] for b in sealed["bags"]}

    # The sub-CA sample script expects other bags: check names each against the root's.
    sub = SCRIPTS / "subordinate-ca-signing.yaml"
    checked = sealroom("registry", "check", str(registry), str(sub))
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "REHEARSAL: the registry comes from the rehearsal of EXR-RKG-2026-11" in checked.stdout
    for material in ("hsm", "workstation"):
        assert (
            f"registry: The script expects '{material}' in bag" in checked.stdout
            and f"has it sealed in bag '{bags[material]}'" in checked.stdout
        )
    # Pre-filled from the bundle's registry, the next script matches it.
    filled = tmp_path / "subordinate-ca-signing.yaml"
    prefilled = sealroom("registry", "prefill", str(registry), str(sub), "--out", str(filled))
    assert prefilled.returncode == 0, prefilled.stdout + prefilled.stderr
    again = sealroom("registry", "check", str(registry), str(filled))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "matches the registry of ceremony EXR-RKG-2026-11" in again.stdout


def test_a_sub_ca_bundle_verifies_the_certificate_against_the_root_taken_in(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    result = rehearse("subordinate-ca-signing", out)
    assert result.returncode == 0, result.stderr
    bundle = out / "bundle"
    verified = sealroom("verify", str(bundle))
    assert verified.returncode == 0, verified.stdout
    line = next(x for x in verified.stdout.splitlines() if "signatures" in x)
    assert "artefacts/example-issuing-ca-g1.crt.pem: verifies under input root-certificate" in line
    root = bundle / "inputs" / "root-certificate.crt.pem"
    sub = bundle / "artefacts" / "example-issuing-ca-g1.crt.pem"
    chain = run(
        "openssl", "verify", "-no_check_time", "-partial_chain", "-CAfile", str(root), str(sub)
    )
    assert chain.returncode == 0, chain.stdout + chain.stderr
    assert run("sha256sum", "-c", "MANIFEST.sha256", cwd=bundle).returncode == 0

    # The same sub-CA certificate under another root does not verify: named by file.
    other = tmp_path / "other"
    assert rehearse("subordinate-ca-signing", other).returncode == 0
    (root.parent).chmod(0o755)
    root.chmod(0o644)
    root.write_bytes((other / "bundle" / "inputs" / "root-certificate.crt.pem").read_bytes())
    tampered = sealroom("verify", str(bundle))
    assert tampered.returncode == 1
    assert "inputs/root-certificate.crt.pem: SHA-256" in tampered.stdout


@pytest.mark.parametrize(
    ("script", "signed"),
    [
        ("crl-issuance", "artefacts/exr-root-r1-crl-5.crl.pem: verifies under input"),
        ("root-csr", "artefacts/exr-root-r1.csr.pem: the request's signature verifies"),
        ("cross-certificate", "artefacts/exr-root-e1-cross-r1.crt.pem: verifies under input"),
    ],
)
def test_crl_csr_and_cross_certificate_bundles_verify(
    tmp_path: Path, script: str, signed: str
) -> None:
    out = tmp_path / "out"
    assert rehearse(script, out).returncode == 0
    verified = sealroom("verify", str(out / "bundle"))
    assert verified.returncode == 0, verified.stdout
    assert signed in verified.stdout


def test_share_sheets_printed_in_a_rehearsal_stay_out_of_its_bundle(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert rehearse("hsm-initialisation", out).returncode == 0
    assert list((out / "share-sheets").glob("*.pdf"))
    bundle = out / "bundle"
    assert sealroom("verify", str(bundle)).returncode == 0
    for path in bundle.rglob("*"):
        assert "share" not in path.name
        if path.is_file():
            assert b"SLIP-39 share sheet" not in path.read_bytes(), path


def test_an_aborted_rehearsal_still_leaves_a_bundle(tmp_path: Path) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text(
        (SCRIPTS / "root-key-generation.answers.yaml")
        .read_text()
        .replace(
            "  hsm-login:\n", '  hsm-login:\n    pins: ["0000-0001", "0000-0002", "0000-0003"]\n'
        )
    )
    out = tmp_path / "out"
    result = rehearse("root-key-generation", out, "--answers", str(answers))
    assert result.returncode == 2  # the abort itself, as before
    assert f"evidence bundle: {out / 'bundle'}" in result.stdout
    manifest = json.loads((out / "bundle" / "manifest.json").read_bytes())
    assert manifest["ended_by"] == "ceremony.aborted"
    # No registry after an abort: the previous ceremony's registry stays the one to use.
    assert not (out / "bundle" / "registry.json").exists()
    assert "registry" not in {item["kind"] for item in manifest["files"]}
    verified = sealroom("verify", str(out / "bundle"))
    assert "ok: registry against the journal: no registry.json, as it should be" in (
        verified.stdout
    )
    # The chain, hashes and stopped report check out; what the ceremony never did is missing.
    assert "ok: journal chain and signed checkpoints" in verified.stdout
    assert "ok: file hashes" in verified.stdout
    assert "EV-KEY-ID" in verified.stdout and ": missing" in verified.stdout
    assert verified.returncode == 1
    assert run("sha256sum", "-c", "MANIFEST.sha256", cwd=out / "bundle").returncode == 0
