"""CA keys wrapped in one SoftHSM token and unwrapped in another token and process (EV-BACKUP)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, keywrap, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from sealroom.backup.blob import blob_for, decode_blob, encode_blob
from sealroom.backup.kek import kek_check_value, new_kek, wipe
from sealroom.ceremony.ports import WrappedKey
from sealroom.ceremony.script import KeyAlgorithm, KeySpec
from sealroom.errors import HsmError
from sealroom.hsm import wrap
from sealroom.hsm.softhsm import SOFTHSM_CONF_ENV, SoftHsmToken
from sealroom.hsm.token import Pkcs11Hsm

pytestmark = pytest.mark.softhsm

REPO = Path(__file__).resolve().parents[2]
TARGET_SECONDS = 120
MESSAGE = b"sealroom restore test: the recovered key signs this"


def _spec(algorithm: KeyAlgorithm, label: str, *, backup: bool = True) -> KeySpec:
    return KeySpec(
        id="ca-key",
        label=label,
        algorithm=algorithm,
        purpose=("certificate-signing",),
        backup=backup,
    )


def _run_target(
    tmp_path: Path,
    name: str,
    blob: Path,
    kek: bytes | bytearray,
    spec: KeySpec,
    spki_der: bytes,
    **flags: Any,
) -> dict[str, Any]:
    """Unwrap ``blob`` in a fresh token in another process (tests/integration/wrap_target.py)."""
    request = tmp_path / f"{name}.json"
    request.write_text(
        json.dumps(
            {
                "token_dir": str(tmp_path / f"target-{name}"),
                "blob": str(blob),
                "spec": spec.model_dump(mode="json"),
                "spki_hex": spki_der.hex(),
                "message_hex": MESSAGE.hex(),
                **flags,
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if k != SOFTHSM_CONF_ENV}
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.wrap_target", str(request)],
        input=bytes(kek).hex() + "\n",
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=TARGET_SECONDS,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _verify(spki_der: bytes, signature: bytes) -> None:
    public = serialization.load_der_public_key(spki_der)
    if isinstance(public, rsa.RSAPublicKey):
        public.verify(signature, MESSAGE, padding.PKCS1v15(), hashes.SHA384())
    else:
        assert isinstance(public, ec.EllipticCurvePublicKey)
        public.verify(signature, MESSAGE, ec.ECDSA(hashes.SHA384()))


def _write_blob(path: Path, wrapped: WrappedKey, kek: bytes | bytearray) -> Path:
    blob = blob_for(wrapped, kek_check_value=kek_check_value(kek), certificate_der=None)
    path.write_bytes(encode_blob(blob))
    return path


@pytest.mark.parametrize("algorithm", ["rsa-3072", "ec-p384"])
def test_a_key_wrapped_on_one_token_is_recovered_on_another_in_another_process(
    user_hsm: Pkcs11Hsm, softhsm_token: SoftHsmToken, tmp_path: Path, algorithm: KeyAlgorithm
) -> None:
    spec = _spec(algorithm, f"root-{algorithm}")
    original = user_hsm.generate_key(spec)
    kek = new_kek(user_hsm.random_bytes)
    count = user_hsm.object_count()

    wrapped = user_hsm.wrap_key(spec, bytes(kek))

    assert user_hsm.object_count() == count, "the wrap and its proof leave nothing behind"
    assert wrapped.mechanism == "CKM_AES_KEY_WRAP_PAD"
    assert wrapped.spki_der == original.record.spki_der
    assert wrapped.cka_id_hex == original.record.cka_id_hex
    blob_path = _write_blob(tmp_path / "root.blob", wrapped, kek)

    result = _run_target(tmp_path, "ok", blob_path, kek, spec, original.record.spki_der)

    assert "error" not in result, result
    assert result["conf"] != str(softhsm_token.conf_path), "another token directory"
    _verify(original.record.spki_der, bytes.fromhex(result["signature_hex"]))
    fingerprint = hashlib.sha256(original.record.spki_der).hexdigest()
    assert result["spki_sha256"] == result["found_spki_sha256"] == fingerprint
    assert result["count_after"] == result["count_before"] + 2, "a private and a public key"
    recovered = result["attributes"]
    assert recovered["SENSITIVE"] is True
    assert recovered["EXTRACTABLE"] is False
    assert recovered["LOCAL"] is False
    assert recovered["TOKEN"] is True
    assert recovered["DECRYPT"] is recovered["UNWRAP"] is recovered["DERIVE"] is False
    wipe(kek)


def test_a_blob_unwraps_offline_with_openssl_alone_as_docs_backup_blob_md_says(
    user_hsm: Pkcs11Hsm, tmp_path: Path
) -> None:
    spec = _spec("ec-p384", "root-offline")
    original = user_hsm.generate_key(spec)
    kek = new_kek(user_hsm.random_bytes)
    blob_path = _write_blob(tmp_path / "root.blob", user_hsm.wrap_key(spec, bytes(kek)), kek)
    text = blob_path.read_text().splitlines()
    start = text.index("") + 1
    body = "".join(line for line in text[start:] if not line.startswith(("Checksum:", "-----")))
    (tmp_path / "wrapped.bin").write_bytes(base64.b64decode(body))

    # Step by step as docs/backup-blob.md: KCV, RFC 5649 unwrap, trim the zero padding, SPKI.
    kcv = subprocess.run(
        ["openssl", "enc", "-aes-256-ecb", "-nopad", "-K", bytes(kek).hex()],
        input=bytes(16),
        capture_output=True,
        check=True,
    ).stdout[:3]
    assert kcv.hex().upper() == decode_blob(blob_path.read_bytes(), where="t").kek_check_value
    subprocess.run(
        [
            "openssl", "enc", "-d", "-id-aes256-wrap-pad", "-K", bytes(kek).hex(),
            "-iv", "A65959A6", "-in", str(tmp_path / "wrapped.bin"),
            "-out", str(tmp_path / "padded.der"),
        ],
        check=True,
    )  # fmt: skip
    padded = (tmp_path / "padded.der").read_bytes()
    assert len(padded) % 8 == 0
    der = wrap.strip_zero_padding(padded)
    (tmp_path / "key.der").write_bytes(der)
    spki = subprocess.run(
        ["openssl", "pkey", "-inform", "DER", "-in", str(tmp_path / "key.der"), "-pubout",
         "-outform", "DER"],
        capture_output=True,
        check=True,
    ).stdout  # fmt: skip
    assert spki == original.record.spki_der
    # And python-cryptography's RFC 5649 gives the same bytes.
    assert keywrap.aes_key_unwrap_with_padding(bytes(kek), base64.b64decode(body)) == padded


class TestRefusals:
    """Each refusal names what is wrong, and the target token's object count is unchanged."""

    @pytest.fixture
    def made(self, user_hsm: Pkcs11Hsm, tmp_path: Path) -> tuple[KeySpec, WrappedKey, bytearray]:
        spec = _spec("ec-p384", "root-neg")
        user_hsm.generate_key(spec)
        kek = new_kek(user_hsm.random_bytes)
        return spec, user_hsm.wrap_key(spec, bytes(kek)), kek

    def _unchanged(self, result: dict[str, Any]) -> None:
        assert "signature_hex" not in result
        assert result["count_after"] == result["count_before"], result

    def test_a_wrong_kek_is_refused_by_its_check_value_and_by_the_hsm(
        self, made: tuple[KeySpec, WrappedKey, bytearray], tmp_path: Path
    ) -> None:
        spec, wrapped, kek = made
        blob = _write_blob(tmp_path / "b.blob", wrapped, kek)
        other = bytearray(os.urandom(32))

        by_kcv = _run_target(tmp_path, "kcv", blob, other, spec, wrapped.spki_der)
        by_hsm = _run_target(tmp_path, "hsm", blob, other, spec, wrapped.spki_der, check_kcv=False)

        self._unchanged(by_kcv)
        assert by_kcv["error_type"] == "BlobMismatchError"
        assert f"was wrapped under the one with {kek_check_value(kek)}" in by_kcv["error"]
        self._unchanged(by_hsm)
        assert by_hsm["error_type"] == "HsmError"
        assert "does not unwrap with this key-encryption key" in by_hsm["error"]
        assert other.hex() not in by_hsm["error"] and bytes(kek).hex() not in by_hsm["error"]

    def test_a_truncated_blob_is_refused(
        self, made: tuple[KeySpec, WrappedKey, bytearray], tmp_path: Path
    ) -> None:
        spec, wrapped, kek = made
        full = _write_blob(tmp_path / "full.blob", wrapped, kek).read_bytes()
        cut_file = tmp_path / "cut.blob"
        cut_file.write_bytes(full[: len(full) // 2])
        # A blob whose armour is intact but whose ciphertext lost its last block: the HSM refuses.
        short = dataclasses.replace(wrapped, wrapped=wrapped.wrapped[:-8])
        short_file = _write_blob(tmp_path / "short.blob", short, kek)

        cut = _run_target(tmp_path, "cut", cut_file, kek, spec, wrapped.spki_der)
        shortened = _run_target(tmp_path, "short", short_file, kek, spec, wrapped.spki_der)

        self._unchanged(cut)
        assert cut["error_type"] == "BlobTruncatedError"
        assert "is cut short" in cut["error"]
        self._unchanged(shortened)
        assert shortened["error_type"] == "HsmError"
        assert "does not unwrap with this key-encryption key" in shortened["error"]

    def test_a_blob_of_another_key_is_refused_by_its_fingerprint_and_by_the_proof(
        self, made: tuple[KeySpec, WrappedKey, bytearray], user_hsm: Pkcs11Hsm, tmp_path: Path
    ) -> None:
        spec, wrapped, kek = made
        other = user_hsm.generate_key(_spec("ec-p384", "other-key"))
        blob = _write_blob(tmp_path / "b.blob", wrapped, kek)

        by_file = _run_target(tmp_path, "file", blob, kek, spec, other.record.spki_der)
        by_hsm = _run_target(
            tmp_path, "proof", blob, kek, spec, other.record.spki_der, check_binding=False
        )

        self._unchanged(by_file)
        assert by_file["error_type"] == "BlobMismatchError"
        assert "it is the backup of another key" in by_file["error"]
        self._unchanged(by_hsm)
        assert by_hsm["error_type"] == "HsmError"
        assert "does not sign for the public key the blob names" in by_hsm["error"]
        assert "Nothing was kept" in by_hsm["error"]

    def test_a_label_already_on_the_target_is_refused_before_anything_is_written(
        self, made: tuple[KeySpec, WrappedKey, bytearray], tmp_path: Path
    ) -> None:
        spec, wrapped, kek = made
        blob = _write_blob(tmp_path / "b.blob", wrapped, kek)

        result = _run_target(
            tmp_path, "label", blob, kek, spec, wrapped.spki_der, preload_label=True
        )

        self._unchanged(result)
        assert result["count_before"] == 2, "the key made there first"
        assert "already holds an object labelled 'root-neg'" in result["error"]
        assert "Nothing was written" in result["error"]


def test_the_wrap_mechanism_known_answer_check_passes_and_leaves_nothing(
    user_hsm: Pkcs11Hsm,
) -> None:
    count = user_hsm.object_count()
    user_hsm.mechanism_known_answer_check()
    assert user_hsm.object_count() == count


def test_the_known_answer_check_fails_loudly_if_the_host_recovers_another_key(
    user_hsm: Pkcs11Hsm, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = wrap.unwrap_on_host

    def other_key(kek: bytes | bytearray, wrapped: bytes) -> bytes:
        real(kek, wrapped)
        return ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    monkeypatch.setattr(wrap, "unwrap_on_host", other_key)
    with pytest.raises(HsmError, match="known-answer check failed: the key unwrapped on the host"):
        user_hsm.mechanism_known_answer_check()


def test_the_proof_refuses_a_blob_that_unwraps_to_another_key_pair(user_hsm: Pkcs11Hsm) -> None:
    spec = _spec("rsa-3072", "root-proof")
    user_hsm.generate_key(spec)
    other = user_hsm.generate_key(_spec("rsa-3072", "other-proof"))
    kek = os.urandom(32)
    wrapped = user_hsm.wrap_key(spec, kek)
    count = user_hsm.object_count()
    forged = dataclasses.replace(wrapped, spki_der=other.record.spki_der)

    with pytest.raises(HsmError, match="is not the key pair the blob names"):
        wrap.prove_wrapped_key(
            user_hsm._user_session,  # type: ignore[arg-type]
            forged,
            kek,
            wrap.KEY_ALGORITHMS["rsa-3072"],
        )
    assert user_hsm.object_count() == count


def test_a_key_not_marked_for_backup_cannot_be_wrapped(user_hsm: Pkcs11Hsm) -> None:
    spec = _spec("ec-p384", "root-nobackup", backup=False)
    user_hsm.generate_key(spec)
    with pytest.raises(HsmError, match="is not marked backup: true"):
        user_hsm.wrap_key(spec, os.urandom(32))


def test_a_recovered_key_is_found_only_for_a_backed_up_spec_and_is_not_wrapped_again(
    user_hsm: Pkcs11Hsm,
) -> None:
    spec = _spec("ec-p384", "root-orig")
    original = user_hsm.generate_key(spec)
    kek = os.urandom(32)
    wrapped = user_hsm.wrap_key(spec, kek)
    user_hsm.destroy_key(spec)
    count = user_hsm.object_count()

    user_hsm.unwrap_key(spec, wrapped, kek, persist=True)

    assert user_hsm.object_count() == count + 2
    found = user_hsm.find_key(spec)
    assert found.record.spki_der == original.record.spki_der
    assert found.record.attributes["LOCAL"] is False
    with pytest.raises(HsmError, match="script does not declare it backed up"):
        user_hsm.find_key(spec.model_copy(update={"backup": False}))
    with pytest.raises(HsmError, match="recovered key is not extractable"):
        user_hsm.wrap_key(spec, kek)


def test_a_session_unwrap_is_gone_after_logout(user_hsm: Pkcs11Hsm, user_pin: str) -> None:
    spec = _spec("ec-p384", "root-session")
    user_hsm.generate_key(spec)
    kek = os.urandom(32)
    wrapped = user_hsm.wrap_key(spec, kek)
    restore = spec.model_copy(update={"label": "restore-test"})
    user_hsm.destroy_key(spec)
    count = user_hsm.object_count()

    key = user_hsm.unwrap_key(restore, wrapped, kek, persist=False)
    key.sign(MESSAGE, "sha384")
    assert key.record.attributes["TOKEN"] is False
    user_hsm.logout()
    user_hsm.login(user_pin)

    assert user_hsm.object_count() == count


def test_an_ed25519_key_is_refused_with_the_reason_softhsm_cannot_wrap_it(
    user_hsm: Pkcs11Hsm,
) -> None:
    spec = _spec("ed25519", "root-ed")
    user_hsm.generate_key(spec)
    count = user_hsm.object_count()
    with pytest.raises(HsmError, match="cannot back up keys of this type"):
        user_hsm.wrap_key(spec, os.urandom(32))
    assert user_hsm.object_count() == count


def test_strip_zero_padding_takes_only_zero_padding_below_a_block() -> None:
    der = bytes([0x30, 0x03, 0x02, 0x01, 0x00])
    assert wrap.strip_zero_padding(der + bytes(3)) == der
    assert wrap.strip_zero_padding(der) == der
    for bad in (der + b"\x01\x00\x00", der + bytes(8), der[:-1], b"\x04\x00"):
        with pytest.raises(HsmError):
            wrap.strip_zero_padding(bad)
