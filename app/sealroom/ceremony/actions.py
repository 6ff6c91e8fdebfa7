"""Engine handlers for the key and certificate actions: find, sign, import, export, destroy."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sealroom.ceremony.activation import SO_PIN
from sealroom.ceremony.fingerprint import fingerprint_from_hex, sha256_fingerprint
from sealroom.ceremony.ports import (
    Acknowledgement,
    CheckedInput,
    DeviceInventory,
    Fact,
    IssuedCertificate,
    IssuedCrl,
    IssuedRequest,
    JournalHead,
    Json,
    KeyRecord,
    Operator,
    Outcome,
    QrProgress,
    SigningKey,
    StepView,
    TokenInfo,
    TokenObjectSummary,
)
from sealroom.ceremony.script import (
    JOURNAL_HEAD,
    SIGNING_ACTIONS,
    ActionStep,
    KeyPurpose,
    Script,
    utc_text,
)
from sealroom.errors import CeremonyAborted, CeremonyError, PinError, PinLockout, TransferError

if TYPE_CHECKING:
    from sealroom.ceremony.runner import Runner

Handler = Callable[[ActionStep, StepView, Operator, Acknowledgement], None]

# SR1 payload type of each kind of object that crosses the air gap (docs/qr-frames.md).
PAYLOAD_TYPES = {"certificate": "CRT", "csr": "CSR", "crl": "CRL"}
JOURNAL_HEAD_FORMAT = "sealroom-journal-head/1"
"""The ``format`` member of a JNL payload (docs/journal-events.md, the journal head)."""

# PKCS#11 mechanisms each key algorithm uses here: generation, then signing (EV-SETTINGS).
MECHANISMS: dict[str, tuple[str, ...]] = {
    "rsa-3072": ("CKM_RSA_PKCS_KEY_PAIR_GEN", "CKM_SHA256_RSA_PKCS", "CKM_SHA384_RSA_PKCS"),
    "rsa-4096": ("CKM_RSA_PKCS_KEY_PAIR_GEN", "CKM_SHA256_RSA_PKCS", "CKM_SHA384_RSA_PKCS"),
    "ec-p256": ("CKM_EC_KEY_PAIR_GEN", "CKM_ECDSA"),
    "ec-p384": ("CKM_EC_KEY_PAIR_GEN", "CKM_ECDSA"),
    "ec-p521": ("CKM_EC_KEY_PAIR_GEN", "CKM_ECDSA"),
    "ed25519": ("CKM_EC_EDWARDS_KEY_PAIR_GEN", "CKM_EDDSA"),
}


def key_record_json(key_id: str, record: KeyRecord) -> dict[str, Json]:
    """A key pair as ``key.generated`` and ``key.found`` journal it (never key material)."""
    return {
        "key_id": key_id,
        "label": record.label,
        "cka_id": record.cka_id_hex,
        "algorithm": record.algorithm,
        "key_type": record.key_type,
        "size_bits": record.size_bits,
        "curve": record.curve,
        "public_exponent": record.public_exponent,
        "spki_der_b64": base64.b64encode(record.spki_der).decode("ascii"),
        "fingerprint": sha256_fingerprint(record.spki_der).to_json(),
        "attributes": dict(record.attributes),
    }


def mechanisms_for(script: Script) -> list[str]:
    """The PKCS#11 mechanisms the script's keys are generated and used with (EV-SETTINGS)."""
    return sorted({m for key in script.keys for m in MECHANISMS.get(key.algorithm, ())})


def token_json(token: TokenInfo) -> dict[str, Json]:
    """A TokenInfo as the journal holds it."""
    return {
        "library": token.library,
        "library_description": token.library_description,
        "library_version": token.library_version,
        "slot_id": token.slot_id,
        "slot_description": token.slot_description,
        "label": token.label,
        "manufacturer": token.manufacturer,
        "model": token.model,
        "serial": token.serial,
        "hardware_version": token.hardware_version,
        "firmware_version": token.firmware_version,
        "flags": list(token.flags),
    }


def objects_json(objects: Sequence[TokenObjectSummary]) -> list[Json]:
    """Token objects as the journal lists them (class, label, CKA_ID, key type; never a value)."""
    return [
        {
            "class": item.object_class,
            "label": item.label,
            "cka_id": item.cka_id_hex,
            "key_type": item.key_type,
        }
        for item in objects
    ]


class KeyActions:
    """The actions that use the HSM's keys and the certificate layer, bound to one runner."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.inputs: dict[str, CheckedInput] = {}
        self.requests: dict[str, IssuedRequest] = {}
        self.crls: dict[str, IssuedCrl] = {}

    def handlers(self) -> dict[str, Handler]:
        return {
            "inventory-token": self.inventory_token,
            "import-qr": self.import_qr,
            "sign-certificate": self.sign_certificate,
            "make-csr": self.make_csr,
            "sign-crl": self.sign_crl,
            "export-qr": self.export_qr,
            "destroy-key": self.destroy_key,
            "zeroise-token": self.zeroise_token,
        }

    # ------------------------------------------------------------------ keys

    def key(
        self,
        key_id: str,
        purpose: KeyPurpose,
        step: ActionStep,
        view: StepView,
        ack: Acknowledgement,
    ) -> SigningKey:
        """The key ``key_id`` for ``purpose``: generated earlier in this ceremony, or on the token.

        A CA key signs only certificates, CSRs and CRLs, and only for the purposes the script
        gives it (EV-KEY-PURPOSE): anything else is refused here, whatever the lint said.
        """
        runner = self.runner
        spec = runner.script.key(key_id)
        if step.action not in SIGNING_ACTIONS or purpose not in spec.purpose:
            raise CeremonyAborted(
                f"Step {view.index + 1} ({step.title}): the key '{spec.label}' may be used for "
                f"{', '.join(spec.purpose)} only; the action {step.action} would use it for "
                f"{purpose}. Sealroom refuses (EV-KEY-PURPOSE)."
            )
        return self.located(key_id, step, view, ack)

    def located(
        self, key_id: str, step: ActionStep, view: StepView, ack: Acknowledgement
    ) -> SigningKey:
        """The key ``key_id`` this ceremony made, or found on the token (journaled) at first use."""
        runner = self.runner
        spec = runner.script.key(key_id)
        found = runner.keys.get(key_id)
        if found is not None:
            return found
        if not runner.logged_in:
            raise CeremonyError(
                f"Step {view.index + 1} ({step.title}) needs the key '{key_id}', but nobody is "
                "logged in to the HSM."
            )
        key = runner.ports.hsm.find_key(spec)
        record = key.record
        known = runner.key_records.get(key_id)
        if known is not None and known.spki_der != record.spki_der:
            # Resumed: the key this ceremony journaled must be the one on the token.
            raise CeremonyAborted(
                f"Step {view.index + 1} ({step.title}): the token's key '{spec.label}' has public "
                f"key SHA-256 {sha256_fingerprint(record.spki_der).hex}, but the journal recorded "
                f"{sha256_fingerprint(known.spki_der).hex} for it. It is not the same key; the "
                "ceremony is stopped."
            )
        runner.keys[key_id] = key
        runner.key_records[key_id] = record
        runner._journal(
            "key.found",
            {
                **key_record_json(key_id, record),
                "token_serial": runner.ports.hsm.token_info().serial,
            },
            step=step.id,
            actors=runner._actors(step, ack),
        )
        return key

    def inventory_token(
        self, step: ActionStep, view: StepView, operator: Operator, ack: Acknowledgement
    ) -> None:
        runner = self.runner
        mechanisms = mechanisms_for(runner.script)
        with operator.working(view, "Reading the HSM's details and objects"):
            inventory = runner.ports.hsm.device_inventory(mechanisms or None)
        runner._journal(
            "token.inventory",
            inventory_json(inventory),
            step=step.id,
            actors=runner._actors(step, ack),
        )
        token = inventory.token
        facts = [
            Fact("Token", f"{token.label} ({token.manufacturer} {token.model})"),
            Fact("Serial", token.serial),
            Fact("Firmware / hardware", f"{token.firmware_version} / {token.hardware_version}"),
            Fact("Objects", str(len(inventory.objects))),
            *(
                Fact(item.object_class, f"{item.label or '(no label)'}  id {item.cka_id_hex}")
                for item in inventory.objects
            ),
        ]
        operator.outcome(
            view,
            Outcome(
                f"The HSM holds {len(inventory.objects)} object(s)"
                + ("" if inventory.logged_in else " visible without login")
                + ".",
                tuple(facts),
            ),
        )

    def destroy_key(
        self, step: ActionStep, view: StepView, operator: Operator, ack: Acknowledgement
    ) -> None:
        runner = self.runner
        spec = runner.script.key(step.params["key"])
        if not runner.logged_in:
            raise CeremonyError(
                f"Step {view.index + 1} ({step.title}): log in to the HSM before destroying "
                f"the key '{spec.label}'."
            )
        # Found first, so the journal ties what is destroyed to its public key fingerprint.
        self.located(spec.id, step, view, ack)
        with operator.working(view, f"Destroying the key {spec.label} in the HSM"):
            record = runner.ports.hsm.destroy_key(spec)
        runner.keys.pop(spec.id, None)
        runner._journal(
            "key.destroyed",
            {
                "key_id": spec.id,
                "label": record.label,
                "destroyed": objects_json(record.destroyed),
                "remaining": objects_json(record.remaining),
                "token_serial": runner.ports.hsm.token_info().serial,
            },
            step=step.id,
            actors=runner._actors(step, ack),
        )
        operator.outcome(
            view,
            Outcome(
                f"The key {spec.label} is destroyed: {len(record.destroyed)} object(s) removed; "
                f"no object with its label or CKA_ID remains.",
                tuple(
                    Fact("Still on the token", f"{o.object_class} {o.label or '(no label)'}")
                    for o in record.remaining
                ),
            ),
        )

    def zeroise_token(
        self, step: ActionStep, view: StepView, operator: Operator, ack: Acknowledgement
    ) -> None:
        runner = self.runner
        limit = runner.script.hsm_required().max_pin_attempts
        actors = runner._actors(step, ack)
        activation = runner.script.hsm_required().activation
        split_so = activation.so_pin if activation is not None else None
        for attempt in range(1, limit + 1):
            # With m-of-n activation nobody knows the SO PIN: its custodians' shares give it.
            so_pin = (
                runner.activation.combine_pin(step, view, operator, split_so, SO_PIN)
                if split_so is not None
                else operator.secret(view, SO_PIN, attempt, limit - attempt + 1)
            )
            try:
                with operator.working(view, "Re-initialising the HSM token, listing its objects"):
                    record = runner.ports.hsm.zeroise(so_pin)
                break
            except PinLockout:
                runner._journal(
                    "hsm.login-failed",
                    {"attempt": attempt, "attempts_left": 0, "user": "so"},
                    step=step.id,
                    actors=actors,
                )
                raise
            except PinError:
                runner._journal(
                    "hsm.login-failed",
                    {"attempt": attempt, "attempts_left": limit - attempt, "user": "so"},
                    step=step.id,
                    actors=actors,
                )
            finally:
                del so_pin
        else:
            raise CeremonyAborted(
                f"Step {view.index + 1} ({step.title}): the HSM refused the security officer PIN "
                f"{limit} times; the ceremony is stopped."
            )
        runner.logged_in = False
        runner.keys.clear()
        if record.after:
            raise CeremonyAborted(
                f"Step {view.index + 1} ({step.title}): the token still holds "
                f"{len(record.after)} object(s) after re-initialisation."
            )
        runner._journal(
            "token.zeroised",
            {
                "before": objects_json(record.before),
                "after": objects_json(record.after),
                "token_after": token_json(record.token_after),
            },
            step=step.id,
            actors=runner._actors(step, ack),
        )
        operator.outcome(
            view,
            Outcome(
                f"The token is re-initialised and holds no object "
                f"({len(record.before)} before, 0 after).",
                (
                    Fact("Token", record.token_after.label),
                    Fact("Serial", record.token_after.serial),
                ),
            ),
        )

    # ------------------------------------------------------------------ air gap

    def import_qr(
        self, step: ActionStep, view: StepView, operator: Operator, ack: Acknowledgement
    ) -> None:
        """Take an object in by QR codes, shown to the witnesses before it is journaled and used.

        Every frame, then its SHA-256, then the object's own check, then the witnesses compare it
        with their paperwork. A reception that fails or that the operator stops raises
        TransferError (the runner asks the room to retry or abort); nothing of a partial or
        refused reception is kept.
        """
        runner = self.runner
        spec = runner.script.input(step.params["input"])
        payload_type = PAYLOAD_TYPES.get(spec.kind)
        if payload_type is None:
            raise CeremonyError(
                f"Step {view.index + 1} ({step.title}): a {spec.kind} cannot be imported by this "
                "action yet."
            )
        receiver = runner.ports.receiver
        if receiver is None:
            raise CeremonyError(f"Step {view.index + 1}: this workstation has no QR reader set up.")
        sources = operator.qr_sources(view, spec.id, spec.description)
        stopped: list[QrProgress] = []

        def progress(update: QrProgress) -> bool:
            go_on = operator.qr_progress(view, update)
            if not go_on:
                stopped.append(update)
            return go_on

        with operator.working(view, f"Reading the QR codes of {spec.id}"):
            payload = receiver.receive(sources, payload_type, progress)
        if stopped:
            # Fail closed: a receiver that finished after the stop still hands over nothing.
            raise TransferError(
                f"Step {view.index + 1} ({step.title}): the reception of {spec.id} was stopped "
                f"by the operator after {_frames_in(stopped[0])}; nothing received is used."
            )
        digest = sha256_fingerprint(payload)
        expected = spec.expected_sha256
        stand_in = expected is not None and digest.hex != expected
        if stand_in and not runner.rehearsal:
            raise CeremonyAborted(
                f"Step {view.index + 1} ({step.title}): the {spec.kind} read has SHA-256 "
                f"{digest.hex}, but the script expects {expected}. It is not the approved "
                f"{spec.kind}; nothing was signed."
            )
        allow_ca = any(
            cert.subject_from == spec.id and cert.profile == "subordinate-ca"
            for cert in runner.script.certificates
        )
        checked = runner.ports.issuer.check_input(
            spec.id, spec.kind, payload, allow_ca_request=allow_ca
        )
        headline = f"{spec.kind.upper()} received and checked: {checked.summary}"
        if stand_in:
            headline += " (rehearsal stand-in: its SHA-256 is not the one the script lists)"
        facts: tuple[Fact, ...] = (
            Fact("SHA-256 of what was received", digest.grouped(), digest.words),
        )
        if expected is not None:
            listed = fingerprint_from_hex(expected)
            facts += (Fact("SHA-256 the script lists", listed.grouped(), listed.words),)
        facts += checked.facts
        verdict = operator.witness_input(view, headline, facts)
        if not verdict.matches:
            raise CeremonyError(
                f"Step {view.index + 1} ({step.title}): the witnesses did not accept the "
                f"{spec.kind} received ({verdict.observed or 'it does not match their papers'}); "
                "it is not used."
            )
        self.inputs[spec.id] = checked
        der_fpr = sha256_fingerprint(checked.der)
        runner._journal(
            "input.received",
            {
                "input_id": spec.id,
                "kind": spec.kind,
                "sha256": digest.hex,
                "der_sha256": der_fpr.hex,
                "expected_sha256": expected,
                "stand_in": stand_in,
                "sources": len(sources),
                "summary": checked.summary,
                "der_b64": base64.b64encode(checked.der).decode("ascii"),
                "facts": [{"label": f.label, "value": f.value} for f in checked.facts],
                "witnessed": True,
            },
            step=step.id,
            actors=runner._actors(step, ack),
        )

    def export_qr(
        self, step: ActionStep, view: StepView, operator: Operator, ack: Acknowledgement
    ) -> None:
        runner = self.runner
        artifact = step.params["artifact"]
        if artifact == JOURNAL_HEAD:
            self.export_journal_head(step, view, operator, ack)
            return
        der, payload_type, title = self._artifact(artifact, view)
        frames = runner.ports.qr.frames(der, payload_type)
        fpr = sha256_fingerprint(der)
        operator.show_qr(view, title, frames, (Fact("SHA-256", fpr.grouped(), fpr.words),))
        runner._journal(
            "qr.shown",
            {"artifact": artifact, "frames": len(frames), "payload_sha256": fpr.hex},
            step=step.id,
            actors=runner._actors(step, ack),
        )

    def export_journal_head(
        self, step: ActionStep, view: StepView, operator: Operator, ack: Acknowledgement
    ) -> None:
        """Show the journal head as a JNL payload (docs/journal-events.md) and journal it.

        The head is the latest entry when the step begins; the ``qr.shown`` entry that records
        the export follows it and repeats the payload, so the outside copy can be found again.
        """
        runner = self.runner
        head = runner.ports.journal.head
        payload = journal_head_payload(
            runner.script.ceremony.id, head, runner.loaded.sha256, rehearsal=runner.rehearsal
        )
        frames = runner.ports.qr.frames(payload, "JNL")
        fpr = sha256_fingerprint(payload)
        entry = fingerprint_from_hex(head.sha256)
        operator.show_qr(
            view,
            f"Journal head: entry {head.seq} of {runner.script.ceremony.id}",
            frames,
            (
                Fact("Journal entry", str(head.seq)),
                Fact("Entry SHA-256", entry.grouped(), entry.words),
                Fact("Payload SHA-256", fpr.grouped(), fpr.words),
            ),
        )
        runner._journal(
            "qr.shown",
            {
                "artifact": JOURNAL_HEAD,
                "frames": len(frames),
                "payload_sha256": fpr.hex,
                "journal_head": payload.decode("ascii"),
            },
            step=step.id,
            actors=runner._actors(step, ack),
        )

    def _artifact(self, artifact: str, view: StepView) -> tuple[bytes, str, str]:
        cert = self.runner.certificates.get(artifact)
        if cert is not None:
            return cert.der, "CRT", f"Certificate: {cert.subject}"
        request = self.requests.get(artifact)
        if request is not None:
            return request.der, "CSR", f"Certificate signing request: {request.subject}"
        crl = self.crls.get(artifact)
        if crl is not None:
            return crl.der, "CRL", f"CRL number {crl.number}: {crl.issuer}"
        raise CeremonyError(
            f"Step {view.index + 1}: '{artifact}' has not been produced in this ceremony, so it "
            "cannot be exported."
        )

    # ------------------------------------------------------------------ signing

    def _issuer_der(self, certificate_or_input: str, view: StepView) -> bytes:
        runner = self.runner
        if certificate_or_input in runner.certificates:
            return runner.certificates[certificate_or_input].der
        checked = self.inputs.get(certificate_or_input)
        if checked is None:
            raise CeremonyError(
                f"Step {view.index + 1}: the issuer certificate '{certificate_or_input}' has not "
                "been imported or issued before this step."
            )
        return checked.der

    def _input_der(self, input_id: str, view: StepView) -> bytes:
        checked = self.inputs.get(input_id)
        if checked is None:
            raise CeremonyError(
                f"Step {view.index + 1}: '{input_id}' has not been imported before this step."
            )
        return checked.der

    def sign_certificate(
        self, step: ActionStep, view: StepView, operator: Operator, ack: Acknowledgement
    ) -> None:
        runner = self.runner
        spec = runner.script.certificate(step.params["certificate"])
        if spec.issuer_certificate is None or spec.subject_from is None:
            raise CeremonyError(
                f"Step {view.index + 1}: the certificate '{spec.id}' names no issuer certificate "
                "or no subject_from input."
            )
        runner.ports.store.require_absent(spec.output)
        issuer_der = self._issuer_der(spec.issuer_certificate, view)
        subject_der = self._input_der(spec.subject_from, view)
        key = self.key(spec.key, "certificate-signing", step, view, ack)
        with operator.working(view, f"Linting, then signing {spec.id} in the HSM"):
            serial = runner._serial()
            if spec.profile == "cross-certificate":
                issued = runner.ports.issuer.cross_certify(
                    spec, key, serial, issuer_der, subject_der
                )
            else:
                issued = runner.ports.issuer.issue_from_request(
                    spec, key, serial, issuer_der, subject_der
                )
        self.record_certificate(
            certificate_id=spec.id,
            key_id=spec.key,
            output=spec.output,
            profile=spec.profile,
            issued=issued,
            step=step,
            ack=ack,
        )
        operator.outcome(view, certificate_outcome(issued, f"{spec.profile} certificate"))

    def record_certificate(
        self,
        *,
        certificate_id: str,
        key_id: str,
        output: str,
        profile: str,
        issued: IssuedCertificate,
        step: ActionStep,
        ack: Acknowledgement,
    ) -> None:
        """Write the certificate once and journal it (``certificate.issued``)."""
        runner = self.runner
        path = runner.ports.store.write_once(output, issued.pem.encode("ascii"))
        runner.certificates[certificate_id] = issued
        runner.outputs[output] = path
        key_fpr = sha256_fingerprint(runner.keys[key_id].record.spki_der)
        runner._journal(
            "certificate.issued",
            {
                "certificate_id": certificate_id,
                "profile": profile,
                "key_id": key_id,
                "output": output,
                "pem": issued.pem,
                "sha256": sha256_fingerprint(issued.der).hex,
                "fingerprint": key_fpr.to_json(),
                "subject": issued.subject,
                "issuer": issued.issuer,
                "serial": issued.serial_hex,
                "not_before": utc_text(issued.not_before),
                "not_after": utc_text(issued.not_after),
                "signature_algorithm": issued.signature_algorithm,
                "subject_spki_sha256": issued.spki_sha256_hex,
                "checks": list(issued.checks),
                "lint_warnings": list(issued.lint_warnings),
            },
            step=step.id,
            actors=runner._actors(step, ack),
        )

    def make_csr(
        self, step: ActionStep, view: StepView, operator: Operator, ack: Acknowledgement
    ) -> None:
        runner = self.runner
        spec = runner.script.csr(step.params["csr"])
        runner.ports.store.require_absent(spec.output)
        key = self.key(spec.key, "certificate-signing", step, view, ack)
        with operator.working(view, f"Signing the request {spec.id} in the HSM"):
            request = runner.ports.issuer.make_csr(spec, key)
        path = runner.ports.store.write_once(spec.output, request.pem.encode("ascii"))
        self.requests[spec.id] = request
        runner.outputs[spec.output] = path
        fpr = sha256_fingerprint(request.der)
        runner._journal(
            "csr.made",
            {
                "csr_id": spec.id,
                "key_id": spec.key,
                "output": spec.output,
                "pem": request.pem,
                "sha256": fpr.hex,
                "subject": request.subject,
                "signature_algorithm": request.signature_algorithm,
                "spki_sha256": request.spki_sha256_hex,
                "checks": list(request.checks),
            },
            step=step.id,
            actors=runner._actors(step, ack),
        )
        spki = fingerprint_from_hex(request.spki_sha256_hex)
        operator.outcome(
            view,
            Outcome(
                f"Certificate signing request made and verified: {request.subject}",
                (
                    Fact("Request SHA-256", fpr.grouped(), fpr.words),
                    Fact("Public key SHA-256", spki.grouped(), spki.words),
                    *(Fact("Check", check) for check in request.checks),
                ),
            ),
        )

    def sign_crl(
        self, step: ActionStep, view: StepView, operator: Operator, ack: Acknowledgement
    ) -> None:
        runner = self.runner
        spec = runner.script.crl(step.params["crl"])
        runner.ports.store.require_absent(spec.output)
        issuer_der = self._issuer_der(spec.issuer_certificate, view)
        key = self.key(spec.key, "crl-signing", step, view, ack)
        with operator.working(view, f"Linting, then signing CRL {spec.number} in the HSM"):
            crl = runner.ports.issuer.sign_crl(spec, key, issuer_der)
        path = runner.ports.store.write_once(spec.output, crl.pem.encode("ascii"))
        self.crls[spec.id] = crl
        runner.outputs[spec.output] = path
        fpr = sha256_fingerprint(crl.der)
        runner._journal(
            "crl.issued",
            {
                "crl_id": spec.id,
                "key_id": spec.key,
                "output": spec.output,
                "pem": crl.pem,
                "sha256": fpr.hex,
                "issuer": crl.issuer,
                "number": crl.number,
                "this_update": utc_text(crl.this_update),
                "next_update": utc_text(crl.next_update),
                "revoked": [
                    {
                        "serial": r.serial_hex,
                        "revoked_at": utc_text(r.revoked_at),
                        "reason": r.reason,
                    }
                    for r in crl.revoked
                ],
                "signature_algorithm": crl.signature_algorithm,
                "checks": list(crl.checks),
                "lint_warnings": list(crl.lint_warnings),
            },
            step=step.id,
            actors=runner._actors(step, ack),
        )
        operator.outcome(
            view,
            Outcome(
                f"CRL number {crl.number} issued and verified ({len(crl.revoked)} revoked).",
                (
                    Fact("CRL SHA-256", fpr.grouped(), fpr.words),
                    Fact("This update", utc_text(crl.this_update)),
                    Fact("Next update", utc_text(crl.next_update)),
                    *(Fact("Revoked", f"{r.serial_hex} ({r.reason})") for r in crl.revoked),
                    *(Fact("Check", check) for check in crl.checks),
                    *(Fact("Lint warning", w) for w in crl.lint_warnings),
                ),
            ),
        )


def journal_head_payload(
    ceremony_id: str, head: JournalHead, script_sha256: str, *, rehearsal: bool
) -> bytes:
    """The JNL payload: canonical JSON (sorted keys, no spaces, ASCII) naming the journal head.

    ``{"ceremony_id", "entry_sha256", "format": "sealroom-journal-head/1", "rehearsal",
    "script_sha256", "seq"}``: the entry's SHA-256 is the one the next entry chains to.
    """
    return json.dumps(
        {
            "ceremony_id": ceremony_id,
            "entry_sha256": head.sha256,
            "format": JOURNAL_HEAD_FORMAT,
            "rehearsal": rehearsal,
            "script_sha256": script_sha256,
            "seq": head.seq,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    ).encode("ascii")


def _frames_in(progress: QrProgress) -> str:
    """``3 of 5 frames`` (or ``no frame``) for a stopped reception's message."""
    if progress.total is None:
        return "no frame"
    return f"{len(progress.received)} of {progress.total} frames"


def certificate_outcome(issued: IssuedCertificate, what: str) -> Outcome:
    """What the room is shown after a certificate is signed and verified."""
    cert_fpr = sha256_fingerprint(issued.der)
    spki = fingerprint_from_hex(issued.spki_sha256_hex)
    return Outcome(
        f"The {what} is issued and verified: {issued.subject}",
        (
            Fact("Issuer", issued.issuer),
            Fact("Serial", issued.serial_hex),
            Fact("Valid", f"{utc_text(issued.not_before)} to {utc_text(issued.not_after)}"),
            Fact("Certificate SHA-256", cert_fpr.grouped(), cert_fpr.words),
            Fact("Subject public key SHA-256", spki.grouped(), spki.words),
            *(Fact("Check", check) for check in issued.checks),
            *(Fact("Lint warning", w) for w in issued.lint_warnings),
        ),
    )


def inventory_json(inventory: DeviceInventory) -> dict[str, Json]:
    """A device inventory as the journal holds it (EV-DEVICE, EV-SETTINGS)."""
    return {
        "token": token_json(inventory.token),
        "mechanisms": [
            {
                "name": m.name,
                "min_key_bits": m.min_key_bits,
                "max_key_bits": m.max_key_bits,
                "flags": list(m.flags),
            }
            for m in inventory.mechanisms
        ],
        "objects": objects_json(inventory.objects),
        "logged_in": inventory.logged_in,
    }
