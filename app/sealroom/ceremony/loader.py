"""Load a ceremony script: schema, references, order, compliance and state, before any HSM call."""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sealroom.ceremony.compliance import compliance_findings, script_clause
from sealroom.ceremony.script import (
    ACTION_PARAMS,
    JOURNAL_HEAD,
    ActionStep,
    BreakStep,
    CertificateSpec,
    CrlSpec,
    EntryStep,
    Script,
)
from sealroom.ceremony.source import (
    FieldPath,
    Finding,
    Position,
    SourceDocument,
    SourceFormatError,
    format_path,
    read_source,
)
from sealroom.ceremony.statelint import state_findings
from sealroom.errors import ScriptError


@dataclass(frozen=True)
class LoadedScript:
    """A validated script and the identity of the file it came from."""

    script: Script
    path: Path
    text: str
    sha256: str


def lint_findings(path: Path) -> tuple[SourceDocument | None, Script | None, list[Finding]]:
    """Every finding for the script at ``path``; the document and model when they could be built.

    Schema and reference findings come first (each group in source order); when the model
    validates, the compliance findings (``compliance.py``) and state findings (``statelint.py``)
    follow. A script with any finding is refused by ``load_script``.
    """
    try:
        doc = read_source(path)
    except SourceFormatError as exc:
        return None, None, [exc.finding]
    if not isinstance(doc.data, dict):
        return doc, None, [doc.finding((), "SR-SCHEMA", "a ceremony script must be a mapping")]
    try:
        script = Script.model_validate(doc.data)
    except ValidationError as exc:
        return doc, None, sorted(_schema_findings(doc, exc), key=_order)
    findings = sorted(_reference_findings(doc, script), key=_order)
    findings += compliance_findings(doc, script)
    findings += state_findings(doc, script)
    return doc, script, findings


def load_script(path: Path) -> LoadedScript:
    """Load and fully validate a script; raise ScriptError listing every finding."""
    doc, script, findings = lint_findings(path)
    if findings or doc is None or script is None:
        lines = tuple(str(f) for f in findings)
        first = lines[0] if lines else f"{path}: the script could not be loaded"
        more = (
            f" (and {len(lines) - 1} more finding(s); run 'sealroom lint')"
            if len(lines) > 1
            else ""
        )
        raise ScriptError(f"The ceremony script is not valid: {first}{more}", lines)
    raw = doc.text.encode("utf-8")
    return LoadedScript(script, path, doc.text, hashlib.sha256(raw).hexdigest())


def _order(finding: Finding) -> tuple[int, int]:
    return (finding.position.line, finding.position.column)


_MESSAGES = {
    "extra_forbidden": "unknown field; check its spelling against docs/script-reference.md",
    "missing": "required field is missing",
}


def _schema_findings(doc: SourceDocument, exc: ValidationError) -> Iterator[Finding]:
    errors = exc.errors(include_url=False)
    # A misspelt key shows up twice: as an unknown key, and as its correct twin missing. Say it
    # once, as the unknown key with a suggestion.
    missing: dict[FieldPath, set[str]] = {}
    for error in errors:
        if error["type"] == "missing" and isinstance(error["loc"][-1], str):
            parent = doc.existing_prefix(tuple(error["loc"][:-1]))
            missing.setdefault(parent, set()).add(error["loc"][-1])
    suggested: set[tuple[FieldPath, str]] = set()
    seen: set[tuple[FieldPath, str]] = set()
    found: list[Finding] = []
    for error in errors:
        loc = tuple(error["loc"])
        path = doc.existing_prefix(loc)
        kind = error["type"]
        if kind == "extra_forbidden":
            where = format_path(path)
            message = f"{where}: {_MESSAGES[kind]}"
            candidates = sorted(missing.get(path[:-1], set()))
            close = difflib.get_close_matches(str(path[-1]), candidates, n=1, cutoff=0.6)
            if close:
                message = f"{where}: unknown field; did you mean {close[0]!r}?"
                suggested.add((path[:-1], close[0]))
        elif kind == "missing":
            field = loc[-1]
            if (path, field) in suggested or _suggests(errors, doc, path, field):
                continue
            where = format_path((*path, field) if isinstance(field, str | int) else path)
            message = f"{where}: {_MESSAGES[kind]}"
        elif kind == "literal_error":
            where = format_path(path)
            value = _value_at(doc.data, path)
            expected = str(error.get("ctx", {}).get("expected", "")).replace(" or ", ", ")
            message = f"{where}: {value!r} is not allowed here; use one of: {expected}"
        elif kind == "union_tag_invalid":
            if doc.has((*path, "kind")):
                path = (*path, "kind")
            where = format_path(path)
            expected = str(error.get("ctx", {}).get("expected_tags", ""))
            tag = error.get("ctx", {}).get("tag", "")
            message = f"{where}: unknown step kind {tag!r}; use one of: {expected}"
        elif kind == "string_type" and isinstance(_value_at(doc.data, path), int | float):
            # 771851 or 1e5 unquoted is read as a number (and 012345 would lose its zero).
            where = format_path(path)
            value = _value_at(doc.data, path)
            message = (
                f"{where}: {value!r} was read as a number; write it in quotes, e.g. "
                f'{path[-1]}: "{value}", so it is kept exactly as written'
            )
        elif kind == "too_short":
            where = format_path(path)
            least = error.get("ctx", {}).get("min_length", 1)
            message = f"{where}: needs at least {least} item(s)"
        else:
            where = format_path(path)
            value = _value_at(doc.data, path)
            shown = f" (found {value!r})" if isinstance(value, str | int | float | bool) else ""
            message = f"{where}: {error['msg']}{shown}"
        key = (path, message)
        if key not in seen:
            seen.add(key)
            found.append(_schema_finding(doc, path, loc, kind, message))
    yield from found


# A required field whose absence is also a gap in what WebTrust asks the script to contain is
# reported under the compliance rule (with its clause), though the model could not be built.
_COMPLIANCE_FIELDS: dict[tuple[str, ...], tuple[str, str, str]] = {
    ("roles", "*", "duties"): ("C-ROLES", "a", "EV-ROLES"),
    ("ceremony", "approval", "*"): ("C-APPROVAL", "b", "EV-APPROVAL"),
    ("materials", "*", "model"): ("C-MATERIALS", "c", "EV-MATERIALS"),
    ("materials", "*", "serial"): ("C-MATERIALS", "c", "EV-MATERIALS"),
    ("custody", "*", "location"): ("C-CUSTODY", "f", "EV-CUSTODY"),
    ("custody", "*", "holder"): ("C-CUSTODY", "f", "EV-CUSTODY"),
    ("deviations", "decided_by"): ("C-DEVIATIONS", "h", "EV-DEVIATION"),
    ("deviations", "procedure"): ("C-DEVIATIONS", "h", "EV-DEVIATION"),
}


def _schema_finding(
    doc: SourceDocument, path: FieldPath, loc: tuple[Any, ...], error: str, message: str
) -> Finding:
    if error in {"missing", "too_short"}:
        shape = tuple("*" if isinstance(e, int) else str(e) for e in loc)
        for pattern, (rule, letter, evidence) in _COMPLIANCE_FIELDS.items():
            if len(shape) == len(pattern) and all(
                want in {"*", got} for want, got in zip(pattern, shape, strict=True)
            ):
                data = doc.data.get("ceremony") if isinstance(doc.data, dict) else None
                ceremony_type = data.get("type") if isinstance(data, dict) else None
                clause = script_clause(str(ceremony_type), letter)
                return doc.finding(
                    path, rule, message, kind="compliance", clause=clause, evidence=evidence
                )
    return doc.finding(path, "SR-SCHEMA", message)


def _suggests(errors: list[Any], doc: SourceDocument, parent: FieldPath, field: object) -> bool:
    """True if an unknown key beside the missing ``field`` looks like a misspelling of it."""
    for error in errors:
        if error["type"] != "extra_forbidden":
            continue
        path = doc.existing_prefix(tuple(error["loc"]))
        if path[:-1] == parent and difflib.get_close_matches(
            str(path[-1]), [str(field)], n=1, cutoff=0.6
        ):
            return True
    return False


def _value_at(data: Any, path: FieldPath) -> Any:
    node = data
    for elem in path:
        node = node[elem]
    return node


def _reference_findings(doc: SourceDocument, script: Script) -> Iterator[Finding]:
    def at(path: FieldPath, rule: str, message: str, evidence: str | None = None) -> Finding:
        return doc.finding(path, rule, f"{format_path(path)}: {message}", evidence=evidence)

    sections: dict[str, Sequence[Any]] = {
        "roles": script.roles,
        "participants": script.participants,
        "quorums": script.quorums,
        "materials": script.materials,
        "keys": script.keys,
        "certificates": script.certificates,
        "csrs": script.csrs,
        "crls": script.crls,
        "inputs": script.inputs,
        "backups": script.backups,
        "evidence": script.evidence,
        "acts": script.acts,
        "steps": script.steps,
    }
    for section, items in sections.items():
        yield from _duplicates(at, section, (item.id for item in items))
    for section in ("certificates", "csrs", "crls"):
        for index, item in enumerate(sections[section]):
            if item.id == JOURNAL_HEAD:
                yield at(
                    (section, index, "id"),
                    "SR-DUPLICATE",
                    f"{JOURNAL_HEAD!r} names the journal head export-qr shows; choose another id",
                )
    share_seen: set[str] = set()
    for b_index, backup in enumerate(script.backups):
        for s_index, share in enumerate(backup.shares):
            if share.share in share_seen:
                yield at(
                    ("backups", b_index, "shares", s_index, "share"),
                    "SR-DUPLICATE",
                    f"{share.share!r} is used twice as a share id",
                )
            share_seen.add(share.share)

    role_ids = {r.id for r in script.roles}
    for index, participant in enumerate(script.participants):
        for r_index, role in enumerate(participant.roles):
            if role not in role_ids:
                yield at(
                    ("participants", index, "roles", r_index),
                    "SR-REF-ROLE",
                    _unknown("role", role, role_ids),
                )

    material_ids = {m.id for m in script.materials}
    if script.hsm is None:
        pass
    elif script.hsm.material not in material_ids:
        yield at(
            ("hsm", "material"),
            "SR-REF-MATERIAL",
            _unknown("material", script.hsm.material, material_ids),
        )
    elif script.material(script.hsm.material).kind != "hsm":
        yield at(
            ("hsm", "material"),
            "SR-REF-MATERIAL",
            f"material {script.hsm.material!r} is not of kind 'hsm'",
        )

    key_ids = {k.id for k in script.keys}
    for index, cert in enumerate(script.certificates):
        if cert.key not in key_ids:
            yield at(
                ("certificates", index, "key"), "SR-REF-KEY", _unknown("key", cert.key, key_ids)
            )
        elif "certificate-signing" not in script.key(cert.key).purpose:
            yield at(
                ("certificates", index, "key"),
                "SR-KEY-PURPOSE",
                f"key {cert.key!r} is not declared for certificate-signing",
                "EV-KEY-PURPOSE",
            )
        if cert.not_after <= cert.not_before:
            yield at(
                ("certificates", index, "not_after"), "SR-VALIDITY", "must be later than not_before"
            )

    yield from _output_duplicates(at, script)
    yield from _new_section_references(at, script)
    yield from _profile_findings(at, script)

    for index, step in enumerate(script.steps):
        roles = [("performer", step.performer)] + [
            (f"witnesses[{w}]", role) for w, role in enumerate(step.witnesses)
        ]
        for field, role in roles:
            path: FieldPath = (
                ("steps", index, "performer")
                if field == "performer"
                else ("steps", index, "witnesses", int(field[10:-1]))
            )
            if role not in role_ids:
                yield at(path, "SR-REF-ROLE", _unknown("role", role, role_ids))
            elif not script.holders_of(role):
                yield at(path, "SR-QUORUM", f"no participant holds the role {role!r}")
        if isinstance(step, ActionStep):
            yield from _action_findings(at, script, index, step)

    yield from _order_findings(at, script)


def _output_duplicates(at: Any, script: Script) -> Iterator[Finding]:
    """Certificates, CSRs and CRLs are written to one folder, never overwritten: names differ."""
    seen: set[str] = set()
    items: list[tuple[str, int, str]] = [
        *(("certificates", i, c.output) for i, c in enumerate(script.certificates)),
        *(("csrs", i, c.output) for i, c in enumerate(script.csrs)),
        *(("crls", i, c.output) for i, c in enumerate(script.crls)),
    ]
    for section, index, output in items:
        if output in seen:
            yield at(
                (section, index, "output"),
                "SR-DUPLICATE",
                f"the output file {output!r} is written twice; give each output its own name",
            )
        seen.add(output)


def _new_section_references(at: Any, script: Script) -> Iterator[Finding]:
    """References from quorums, deviations, backups, CSRs, CRLs, certificates and entry steps."""
    role_ids = {r.id for r in script.roles}
    key_ids = {k.id for k in script.keys}
    materials = {m.id: m for m in script.materials}
    material_ids = set(materials)
    input_ids = {i.id for i in script.inputs}
    issuers = {c.id for c in script.certificates} | input_ids

    def ref(
        path: FieldPath, rule: str, what: str, value: str, known: set[str]
    ) -> Iterator[Finding]:
        if value not in known:
            yield at(path, rule, _unknown(what, value, known))

    for index, quorum in enumerate(script.quorums):
        yield from ref(("quorums", index, "role"), "SR-REF-ROLE", "role", quorum.role, role_ids)
    if script.deviations is not None:
        for index, role in enumerate(script.deviations.decided_by):
            path: FieldPath = ("deviations", "decided_by", index)
            yield from ref(path, "SR-REF-ROLE", "role", role, role_ids)
    for index, backup in enumerate(script.backups):
        yield from ref(("backups", index, "key"), "SR-REF-KEY", "key", backup.key, key_ids)
        for m_index, medium in enumerate(backup.media):
            path = ("backups", index, "media", m_index)
            yield from ref(path, "SR-REF-MATERIAL", "material", medium, material_ids)
            if medium in materials and materials[medium].kind != "media":
                yield at(
                    path,
                    "SR-REF-MATERIAL",
                    f"material {medium!r} is a {materials[medium].kind}, not media: the wrapped "
                    "key is written to materials of kind media",
                )
        if backup.restore_test_token is not None:
            path = ("backups", index, "restore_test_token")
            token = backup.restore_test_token
            yield from ref(path, "SR-REF-MATERIAL", "material", token, material_ids)
            if token in materials and materials[token].kind != "hsm":
                yield at(
                    path,
                    "SR-REF-MATERIAL",
                    f"material {token!r} is a {materials[token].kind}, not an hsm: the restore "
                    "test unwraps the key into a token",
                )
    for index, csr in enumerate(script.csrs):
        yield from ref(("csrs", index, "key"), "SR-REF-KEY", "key", csr.key, key_ids)
    for index, crl in enumerate(script.crls):
        yield from ref(("crls", index, "key"), "SR-REF-KEY", "key", crl.key, key_ids)
        path = ("crls", index, "issuer_certificate")
        issuer = crl.issuer_certificate
        yield from ref(path, "SR-REF-CERTIFICATE", "certificate or input", issuer, issuers)
    for index, cert in enumerate(script.certificates):
        if cert.subject_from is not None:
            path = ("certificates", index, "subject_from")
            yield from ref(path, "SR-REF-INPUT", "input", cert.subject_from, input_ids)
        if cert.issuer_certificate is not None:
            path = ("certificates", index, "issuer_certificate")
            issuer = cert.issuer_certificate
            yield from ref(path, "SR-REF-CERTIFICATE", "certificate or input", issuer, issuers)
    for index, step in enumerate(script.steps):
        if isinstance(step, EntryStep) and step.entry.expect is not None:
            expect = step.entry.expect
            path = ("steps", index, "entry", "expect", "material")
            if expect.material not in materials:
                yield from ref(path, "SR-REF-MATERIAL", "material", expect.material, material_ids)
            elif getattr(materials[expect.material], expect.field) is None:
                yield at(
                    path,
                    "SR-REF-MATERIAL",
                    f"material {expect.material!r} declares no {expect.field} to compare with",
                )
        if isinstance(step, BreakStep):
            for b_index, material_id in enumerate(step.recheck_bags):
                path = ("steps", index, "recheck_bags", b_index)
                if material_id not in materials:
                    yield from ref(path, "SR-REF-MATERIAL", "material", material_id, material_ids)
                elif (
                    materials[material_id].bag_in is None and materials[material_id].bag_out is None
                ):
                    yield at(
                        path,
                        "SR-REF-MATERIAL",
                        f"material {material_id!r} has no bag (bag_in or bag_out) to re-check",
                    )


def _profile_findings(at: Any, script: Script) -> Iterator[Finding]:
    """What each certificate profile needs (SR-PROFILE): who is certified, and by whom."""
    kinds = {i.id: i.kind for i in script.inputs}
    for index, cert in enumerate(script.certificates):
        here = ("certificates", index)
        if cert.profile == "root":
            if cert.subject is None:
                yield at((*here, "profile"), "SR-PROFILE", "a root certificate needs a subject")
            for field in ("subject_from", "issuer_certificate"):
                if getattr(cert, field) is not None:
                    yield at((*here, field), "SR-PROFILE", f"a root certificate has no {field}")
            continue
        if cert.subject is not None:
            yield at(
                (*here, "subject"),
                "SR-PROFILE",
                f"a {cert.profile} certificate takes its subject from subject_from, never from "
                "the script",
            )
        if cert.issuer_certificate is None:
            yield at(
                (*here, "profile"),
                "SR-PROFILE",
                f"a {cert.profile} certificate needs issuer_certificate",
            )
        wanted = "certificate" if cert.profile == "cross-certificate" else "csr"
        if cert.subject_from is None:
            yield at(
                (*here, "profile"),
                "SR-PROFILE",
                f"a {cert.profile} certificate needs subject_from (an input of kind {wanted})",
            )
        elif cert.subject_from in kinds and kinds[cert.subject_from] != wanted:
            yield at(
                (*here, "subject_from"),
                "SR-PROFILE",
                f"a {cert.profile} certificate certifies a {wanted}, but the input "
                f"{cert.subject_from!r} is a {kinds[cert.subject_from]}",
            )
        if cert.profile == "ocsp-responder" and cert.path_length is not None:
            yield at(
                (*here, "path_length"),
                "SR-PROFILE",
                "an OCSP responder certificate is not a CA certificate: remove path_length",
            )
        if cert.profile != "subordinate-ca" and cert.extended_key_usage:
            yield at(
                (*here, "extended_key_usage"),
                "SR-PROFILE",
                "extended_key_usage is set by the profile except for subordinate-ca",
            )
    algorithms = {k.id: k.algorithm for k in script.keys}
    signers: list[tuple[FieldPath, str, tuple[str, ...]]] = []
    for index, cert in enumerate(script.certificates):
        signers.append((("certificates", index, "lint"), cert.key, tuple(cert.lint)))
    for index, crl in enumerate(script.crls):
        signers.append((("crls", index, "lint"), crl.key, tuple(crl.lint)))
    for where, key, lint in signers:
        if "cabf-serverauth" in lint and algorithms.get(key) == "ed25519":
            yield at(
                where,
                "SR-PROFILE",
                f"the key {key!r} is Ed25519, which the CA/B Forum TLS Baseline "
                "Requirements do not allow (7.1.3): drop cabf-serverauth or use another key",
            )
    for index, crl in enumerate(script.crls):
        if crl.next_update <= crl.this_update:
            yield at(
                ("crls", index, "next_update"), "SR-VALIDITY", "must be later than this_update"
            )
        elif (crl.next_update - crl.this_update).days > crl.max_validity_days:
            yield at(
                ("crls", index, "next_update"),
                "SR-VALIDITY",
                f"is {(crl.next_update - crl.this_update).days} days after this_update; the "
                f"profile allows at most {crl.max_validity_days} (max_validity_days)",
            )


def _duplicates(at: Any, section: str, ids: Iterable[str], field: str = "id") -> Iterator[Finding]:
    seen: set[str] = set()
    for index, item_id in enumerate(ids):
        if item_id in seen:
            yield at(
                (section, index, field), "SR-DUPLICATE", f"{item_id!r} is used twice in {section}"
            )
        seen.add(item_id)


def _unknown(what: str, value: str, known: set[str]) -> str:
    listed = ", ".join(sorted(known)) or "none are defined"
    return f"unknown {what} {value!r} (defined: {listed})"


def _action_findings(at: Any, script: Script, index: int, step: ActionStep) -> Iterator[Finding]:
    wanted = ACTION_PARAMS[step.action]
    for name in step.params:
        if name not in wanted:
            allowed = ", ".join(wanted) or "none"
            yield at(
                ("steps", index, "params", name),
                "SR-ACTION-PARAM",
                f"action {step.action!r} takes no parameter {name!r} (takes: {allowed})",
            )
    for name, section in wanted.items():
        if name not in step.params:
            yield at(
                ("steps", index, "params"),
                "SR-ACTION-PARAM",
                f"action {step.action!r} needs the parameter {name!r}",
            )
            continue
        if not section:
            continue  # a free value (e.g. export-qr's artifact), not a reference
        known = {item.id for item in getattr(script, section)}
        if step.params[name] not in known:
            yield at(
                ("steps", index, "params", name),
                "SR-REF-" + section[:-1].upper()[:11],
                _unknown(section[:-1], step.params[name], known),
            )


def _order_findings(at: Any, script: Script) -> Iterator[Finding]:
    """Simulate the script's actions and report any that could not run at their place."""
    if script.steps[0].kind != "attendance":
        yield at(
            ("steps", 0, "kind"), "SR-ORDER", "the first step must record attendance", "EV-ATTEND"
        )
    logged_in = False
    generated: set[str] = set()
    issued: set[str] = set()
    imported: set[str] = set()
    destroyed: set[str] = set()

    def key_destroyed(step: ActionStep, spec: CertificateSpec | CrlSpec | None) -> bool:
        if step.action == "make-csr":
            csr = next((c for c in script.csrs if c.id == step.params.get("csr")), None)
            return csr is not None and csr.key in destroyed
        return spec is not None and spec.key in destroyed

    for index, step in enumerate(script.steps):
        if not isinstance(step, ActionStep):
            continue
        where = ("steps", index, "action")
        if step.action == "hsm-login":
            if logged_in:
                yield at(where, "SR-ORDER", "the HSM is already logged in here")
            logged_in = True
        elif step.action == "hsm-logout":
            if not logged_in:
                yield at(where, "SR-ORDER", "the HSM is not logged in here")
            logged_in = False
        elif step.action == "generate-key":
            key = step.params.get("key", "")
            if not logged_in:
                yield at(where, "SR-ORDER", "generate-key needs an earlier hsm-login step")
            if key in generated:
                yield at(where, "SR-ORDER", f"key {key!r} is generated twice")
            generated.add(key)
        elif step.action == "sign-root-certificate":
            cert_id = step.params.get("certificate", "")
            cert = next((c for c in script.certificates if c.id == cert_id), None)
            if not logged_in:
                yield at(where, "SR-ORDER", "signing needs an earlier hsm-login step")
            if cert is not None and cert.key not in generated:
                yield at(where, "SR-ORDER", f"key {cert.key!r} is not generated before this step")
            issued.add(cert_id)
        elif step.action == "show-qr":
            cert_id = step.params.get("certificate", "")
            if cert_id not in issued:
                yield at(
                    where, "SR-ORDER", f"certificate {cert_id!r} is not issued before this step"
                )
        elif step.action == "import-qr":
            imported.add(step.params.get("input", ""))
        elif step.action in {"sign-certificate", "make-csr", "sign-crl"}:
            name = {"sign-certificate": "certificate", "make-csr": "csr", "sign-crl": "crl"}[
                step.action
            ]
            artifact = step.params.get(name, "")
            if not logged_in:
                yield at(where, "SR-ORDER", f"{step.action} needs an earlier hsm-login step")
            spec: CertificateSpec | CrlSpec | None = None
            if step.action == "sign-certificate":
                spec = next((c for c in script.certificates if c.id == artifact), None)
            elif step.action == "sign-crl":
                spec = next((c for c in script.crls if c.id == artifact), None)
            needed = []
            if isinstance(spec, CertificateSpec):
                needed = [spec.issuer_certificate, spec.subject_from]
            elif isinstance(spec, CrlSpec):
                needed = [spec.issuer_certificate]
            for source in needed:
                if source is not None and source not in imported | issued:
                    yield at(
                        where,
                        "SR-ORDER",
                        f"{source!r} is neither imported nor issued before this step",
                    )
            if key_destroyed(step, spec):
                yield at(where, "SR-ORDER", "the key it uses is destroyed before this step")
            issued.add(artifact)
        elif step.action == "export-qr":
            artifact = step.params.get("artifact", "")
            if artifact not in issued and artifact != JOURNAL_HEAD:
                yield at(
                    where, "SR-ORDER", f"{artifact!r} is not produced before this step (export-qr)"
                )
        elif step.action == "destroy-key":
            if not logged_in:
                yield at(where, "SR-ORDER", "destroy-key needs an earlier hsm-login step")
            destroyed.add(step.params.get("key", ""))
        elif step.action == "zeroise-token":
            # The token lists its objects to a logged-in user first; re-initialising ends the login.
            if not logged_in:
                yield at(
                    where,
                    "SR-ORDER",
                    "zeroise-token lists the token's objects first: it needs an earlier hsm-login",
                )
            logged_in = False
    if logged_in:
        last = len(script.steps) - 1
        yield at(
            ("steps", last),
            "SR-ORDER",
            "the HSM is still logged in when the ceremony ends; add an hsm-logout step",
        )


__all__ = ["Finding", "LoadedScript", "Position", "lint_findings", "load_script"]
