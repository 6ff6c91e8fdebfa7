"""The far side of a backup, run as its own process: unwrap a blob file into a fresh SoftHSM token.

``python -m tests.integration.wrap_target REQUEST.json`` (the KEK as hex on stdin, never on the
command line). It makes its own token directory, points SOFTHSM2_CONF at it before the PKCS#11
module is loaded, and prints one JSON line: the object counts before and after, and either a
signature made with the recovered key over the request's message or the refusal's class and text.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from sealroom.backup.blob import decode_blob, require_kek_matches, wrapped_key_of
from sealroom.ceremony.ports import WrappedKey
from sealroom.ceremony.script import KeySpec
from sealroom.errors import SealroomError
from sealroom.hsm.softhsm import SOFTHSM_CONF_ENV, create_rehearsal_token

USER_PIN = "4711-target-user"
SO_PIN = "0815-target-officer"


def main(request_path: str) -> dict[str, Any]:
    """Do what the request says; the result as a JSON-able dict."""
    request = json.loads(Path(request_path).read_text())
    kek = bytearray(bytes.fromhex(sys.stdin.readline().strip()))
    token = create_rehearsal_token(Path(request["token_dir"]), "target", USER_PIN, SO_PIN)
    os.environ[SOFTHSM_CONF_ENV] = str(token.conf_path)
    from sealroom.hsm.token import Pkcs11Hsm

    spec = KeySpec.model_validate(request["spec"])
    result: dict[str, Any] = {"conf": str(token.conf_path)}
    with Pkcs11Hsm.open(token.module_path, "target") as hsm:
        hsm.login(USER_PIN)
        if request.get("preload_label"):
            hsm.generate_key(spec)
        result["count_before"] = hsm.object_count()
        try:
            data = Path(request["blob"]).read_bytes()
            blob = decode_blob(data, where=request["blob"])
            spki = bytes.fromhex(request["spki_hex"])
            if request.get("check_binding", True):
                wrapped = wrapped_key_of(
                    blob, key_id=spec.id, certificate_der=None, spki_der=spki, where="blob"
                )
            else:  # the HSM itself must refuse what the file checks would have caught
                wrapped = WrappedKey(
                    spec.id,
                    blob.key_label,
                    blob.cka_id_hex,
                    blob.key_type,
                    blob.mechanism,
                    blob.wrapped,
                    spki,
                )
            if request.get("check_kcv", True):
                require_kek_matches(blob, kek, where="blob")
            key = hsm.unwrap_key(spec, wrapped, bytes(kek), persist=True)
            message = bytes.fromhex(request["message_hex"])
            result["signature_hex"] = key.sign(message, "sha384").hex()
            result["attributes"] = dict(key.record.attributes)
            result["spki_sha256"] = hashlib.sha256(key.record.spki_der).hexdigest()
            found = hsm.find_key(spec)
            result["found_spki_sha256"] = hashlib.sha256(found.record.spki_der).hexdigest()
        except SealroomError as exc:
            result["error_type"] = type(exc).__name__
            result["error"] = exc.message
        finally:
            kek[:] = bytes(len(kek))
        result["count_after"] = hsm.object_count()
    return result


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
