"""Verify an evidence bundle trusting nothing but the spec: journal, manifest, hashes, signatures.

Every check is re-done from the bytes in the bundle folder (docs/bundle.md, docs/journal-format.md):
the journal's chain and checkpoint signatures; manifest.json and MANIFEST.sha256 against the files
(none missing, none extra); the script against the SHA-256 the journal's opening records; each
artefact against the SHA-256 its journal entry records; every certificate, CRL and CSR signature;
``registry.json`` against the registry computed again from the journal (present exactly when the
ceremony completed); and every EVIDENCE.md item the ceremony owes. Each problem names the entry
(seq), file or item.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from sealroom.ceremony.ports import Json
from sealroom.errors import SealroomError
from sealroom.evidence.bundle import (
    JOURNAL_PATH,
    KINDS,
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    MANIFEST_VERSION,
    REGISTRY_PATH,
    SUMS_NAME,
    BundleError,
    BundleFile,
    artefact_der,
    bundled_registry,
    sums_text,
)
from sealroom.evidence.journaled import (
    CeremonyFacts,
    JournaledArtefact,
    ceremony_facts,
    sha256_hex,
)
from sealroom.journal.canonical import CanonicalFormError, parse_canonical
from sealroom.journal.entry import CLOSING_EVENTS, JournalEntry
from sealroom.journal.verify import read_verified_entries, verify_journal

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
ARTEFACT_KINDS = ("certificate", "csr", "crl")

CHECK_JOURNAL = "journal chain and signed checkpoints"
CHECK_MANIFEST = "manifest.json"
CHECK_SUMS = SUMS_NAME
CHECK_FILES = "file hashes (none missing, none extra)"
CHECK_SCRIPT = "script SHA-256"
CHECK_ARTEFACTS = "artefact hashes against the journal"
CHECK_SIGNATURES = "certificate, CRL and CSR signatures"
CHECK_REGISTRY = "registry against the journal"
CHECK_EVIDENCE = "EVIDENCE.md items"


@dataclass(frozen=True)
class Check:
    """One check of the bundle: passed, or not, with one line saying what was established."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Problem:
    """Something wrong with the bundle, naming the first bad entry, the file or the item."""

    check: str
    message: str
    seq: int | None = None
    file: str | None = None
    item: str | None = None


@dataclass(frozen=True)
class MissingEvidence:
    """An EVIDENCE.md item the ceremony type requires that the journal does not evidence."""

    item_id: str
    title: str
    note: str = ""


@dataclass(frozen=True)
class BundleVerification:
    """The verdict on a bundle folder: every check, every problem, every missing item."""

    path: Path
    checks: tuple[Check, ...]
    problems: tuple[Problem, ...]
    missing_evidence: tuple[MissingEvidence, ...]
    ceremony_id: str | None
    ceremony_type: str | None
    manifest_sha256: str | None

    @property
    def ok(self) -> bool:
        return not self.problems and not self.missing_evidence


@dataclass
class _Run:
    root: Path
    checks: list[Check] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    missing: list[MissingEvidence] = field(default_factory=list)

    def check(self, name: str, found: Sequence[Problem], passed: str) -> None:
        self.problems.extend(found)
        if found:
            first = found[0].message
            more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
            self.checks.append(Check(name, False, first + more))
        else:
            self.checks.append(Check(name, True, passed))

    def skipped(self, name: str, why: str) -> None:
        self.checks.append(Check(name, False, f"not checked: {why}"))


def verify_bundle(path: Path) -> BundleVerification:
    """Check the bundle folder at ``path``; raise BundleError only if it is not a bundle at all."""
    if not path.is_dir():
        raise BundleError(f"{path} is not a folder; give the bundle/ folder of a ceremony.")
    if not (path / MANIFEST_NAME).is_file() and not (path / JOURNAL_PATH).is_file():
        raise BundleError(
            f"{path} holds neither {MANIFEST_NAME} nor {JOURNAL_PATH}: it is not an evidence "
            "bundle."
        )
    run = _Run(path)

    # 1. The journal, by the journal's own spec.
    journal = path / JOURNAL_PATH
    verdict = verify_journal(journal, require_checkpoints=True)
    entries: list[JournalEntry] | None = None
    journal_problems: list[Problem] = []
    if not verdict.ok:
        journal_problems.append(
            Problem(
                CHECK_JOURNAL,
                f"{JOURNAL_PATH}: {verdict.first_problem}",
                seq=verdict.head_seq + 1,
                file=JOURNAL_PATH,
            )
        )
    elif verdict.ended_by is None:
        journal_problems.append(
            Problem(
                CHECK_JOURNAL,
                f"{JOURNAL_PATH}: the journal does not end with ceremony.closed or "
                f"ceremony.aborted (last entry seq {verdict.head_seq}); a bundle is written "
                "only when the ceremony has ended",
                seq=verdict.head_seq,
                file=JOURNAL_PATH,
            )
        )
    else:
        entries = read_verified_entries(journal)[1]
    run.check(
        CHECK_JOURNAL,
        journal_problems,
        f"{verdict.entries} entries, chain intact, {verdict.checkpoints} checkpoint "
        f"signature(s) verified, ended by {verdict.ended_by}; final entry seq "
        f"{verdict.head_seq} SHA-256 {verdict.head_sha256}",
    )
    facts: CeremonyFacts | None = None
    if entries is not None:
        try:
            facts = ceremony_facts(entries)
        except SealroomError as exc:
            run.problems.append(Problem(CHECK_JOURNAL, exc.message, file=JOURNAL_PATH))

    # 2-4. The manifest, its sums file, and the files.
    manifest_data = _read_optional(path / MANIFEST_NAME)
    files, manifest_problems = _manifest(manifest_data, verdict, facts)
    run.check(
        CHECK_MANIFEST,
        manifest_problems,
        f"format {MANIFEST_FORMAT} v{MANIFEST_VERSION}, {len(files or ())} files, ceremony and "
        "final journal entry agree with the journal",
    )
    if files is None or manifest_data is None:
        run.skipped(CHECK_SUMS, f"{MANIFEST_NAME} cannot be read")
        run.skipped(CHECK_FILES, f"{MANIFEST_NAME} cannot be read")
    else:
        run.check(
            CHECK_SUMS,
            _sums_problems(path, files, sha256_hex(manifest_data)),
            f"lists every file and {MANIFEST_NAME} with their SHA-256 (sha256sum -c)",
        )
        run.check(
            CHECK_FILES,
            _file_problems(path, files),
            f"{len(files)} files present with the size and SHA-256 listed; no other file",
        )

    # 5-9. What needs the journal's word.
    if facts is None or entries is None:
        for name in (
            CHECK_SCRIPT,
            CHECK_ARTEFACTS,
            CHECK_SIGNATURES,
            CHECK_REGISTRY,
            CHECK_EVIDENCE,
        ):
            run.skipped(name, "the journal does not verify")
    else:
        listed = files or _listing_from_folders(path)
        run.check(
            CHECK_SCRIPT,
            _script_problems(path, listed, facts),
            f"the bundled script is the one the journal's opening records ({facts.script_sha256})",
        )
        run.check(
            CHECK_ARTEFACTS,
            _artefact_problems(path, listed, facts),
            f"{len(facts.artefacts)} artefact(s), {len(facts.inputs)} input(s) and "
            f"{len(facts.reports)} printed report(s) have the SHA-256 the journal records",
        )
        signed, signature_problems = _signature_problems(path, listed, facts)
        run.check(CHECK_SIGNATURES, signature_problems, signed)
        registry_summary, registry_problems = _registry_problems(path, listed, entries)
        run.check(CHECK_REGISTRY, registry_problems, registry_summary)
        _evidence(run, entries)

    return BundleVerification(
        path=path,
        checks=tuple(run.checks),
        problems=tuple(run.problems),
        missing_evidence=tuple(run.missing),
        ceremony_id=facts.ceremony_id if facts else verdict.ceremony_id,
        ceremony_type=facts.ceremony_type if facts else None,
        manifest_sha256=sha256_hex(manifest_data) if manifest_data is not None else None,
    )


# ------------------------------------------------------------------------------------ manifest


def _manifest(
    data: bytes | None, verdict: Any, facts: CeremonyFacts | None
) -> tuple[list[BundleFile] | None, list[Problem]]:
    def problem(text: str) -> Problem:
        return Problem(CHECK_MANIFEST, f"{MANIFEST_NAME}: {text}", file=MANIFEST_NAME)

    if data is None:
        return None, [problem("missing")]
    if not data.endswith(b"\n") or data.count(b"\n") != 1:
        return None, [problem("not one canonical JSON line ended by a newline")]
    try:
        manifest = parse_canonical(data[:-1])
    except CanonicalFormError as exc:
        return None, [problem(f"not canonical JSON ({exc.message})")]
    if not isinstance(manifest, dict):
        return None, [problem("not a JSON object")]
    if manifest.get("format") != MANIFEST_FORMAT or manifest.get("version") != MANIFEST_VERSION:
        return None, [problem(f"not a {MANIFEST_FORMAT} manifest of version {MANIFEST_VERSION}")]
    problems: list[Problem] = []
    files = _manifest_files(manifest.get("files"), problems, problem)
    journal = manifest.get("journal")
    if not isinstance(journal, dict) or journal.get("path") != JOURNAL_PATH:
        problems.append(problem(f"'journal' must name {JOURNAL_PATH}"))
        journal = {}
    if verdict.ok:
        claims = (
            ("journal.final_seq", journal.get("final_seq"), verdict.head_seq),
            ("journal.final_sha256", journal.get("final_sha256"), verdict.head_sha256),
            ("journal.entries", journal.get("entries"), verdict.entries),
            ("ended_by", manifest.get("ended_by"), verdict.ended_by),
        )
        for name, claimed, actual in claims:
            if claimed != actual:
                problems.append(problem(f"{name} is {claimed!r}, but the journal's is {actual!r}"))
    if facts is not None:
        for name, actual in (
            ("ceremony_id", facts.ceremony_id),
            ("ceremony_type", facts.ceremony_type),
            ("script_sha256", facts.script_sha256),
        ):
            if manifest.get(name) != actual:
                problems.append(
                    problem(
                        f"{name} is {manifest.get(name)!r}, but the journal's opening (seq 1) "
                        f"records {actual!r}"
                    )
                )
    return files, problems


def _manifest_files(raw: object, problems: list[Problem], problem: Any) -> list[BundleFile] | None:
    if not isinstance(raw, list):
        problems.append(problem("'files' is not a list"))
        return None
    files: list[BundleFile] = []
    for index, item in enumerate(raw):
        where = f"files[{index}]"
        if not isinstance(item, dict) or set(item) != {
            "path",
            "size",
            "sha256",
            "kind",
            "id",
            "seq",
        }:
            problems.append(problem(f"{where} must have exactly path, size, sha256, kind, id, seq"))
            continue
        path, size, digest, kind = item["path"], item["size"], item["sha256"], item["kind"]
        id_, seq = item["id"], item["seq"]
        if not isinstance(path, str) or not _safe_relative(path):
            problems.append(problem(f"{where}: {path!r} is not a plain relative path"))
            continue
        if path in {MANIFEST_NAME, SUMS_NAME}:
            problems.append(problem(f"{where}: {path} cannot list itself"))
            continue
        if (
            not isinstance(size, int)
            or not isinstance(digest, str)
            or not _HEX64.match(digest)
            or kind not in KINDS
            or not (id_ is None or isinstance(id_, str))
            or not (seq is None or isinstance(seq, int))
        ):
            problems.append(problem(f"{where} ({path}): size, sha256, kind, id or seq malformed"))
            continue
        files.append(BundleFile(path, size, digest, str(kind), id_, seq))
    paths = [f.path for f in files]
    if paths != sorted(paths) or len(set(paths)) != len(paths):
        problems.append(problem("'files' must be sorted by path, each path once"))
    return files


def _safe_relative(path: str) -> bool:
    parts = path.split("/")
    return (
        bool(path)
        and "\\" not in path
        and "\n" not in path
        and all(p not in {"", ".", ".."} for p in parts)
    )


def _sums_problems(root: Path, files: Sequence[BundleFile], manifest_sha256: str) -> list[Problem]:
    data = _read_optional(root / SUMS_NAME)
    if data is None:
        return [Problem(CHECK_SUMS, f"{SUMS_NAME}: missing", file=SUMS_NAME)]
    expected = sums_text(files, manifest_sha256).encode("utf-8")
    if data == expected:
        return []
    have = data.decode("utf-8", errors="replace").splitlines()
    want = expected.decode("utf-8").splitlines()
    for number, (got, should) in enumerate(zip(have, want, strict=False), start=1):
        if got != should:
            return [
                Problem(
                    CHECK_SUMS,
                    f"{SUMS_NAME} line {number} is {got!r}, but manifest.json makes it {should!r}",
                    file=SUMS_NAME,
                )
            ]
    return [
        Problem(
            CHECK_SUMS,
            f"{SUMS_NAME} has {len(have)} lines, but manifest.json lists {len(want)} files "
            "(with itself)",
            file=SUMS_NAME,
        )
    ]


def _file_problems(root: Path, files: Sequence[BundleFile]) -> list[Problem]:
    problems: list[Problem] = []
    for item in files:
        path = root / item.path
        if path.is_symlink() or (path.exists() and not path.is_file()):
            problems.append(
                Problem(CHECK_FILES, f"{item.path}: not a regular file", file=item.path)
            )
            continue
        data = _read_optional(path)
        if data is None:
            problems.append(
                Problem(
                    CHECK_FILES,
                    f"{item.path}: missing (manifest.json lists it as {item.kind})",
                    file=item.path,
                )
            )
            continue
        actual = sha256_hex(data)
        if actual != item.sha256 or len(data) != item.size:
            problems.append(
                Problem(
                    CHECK_FILES,
                    f"{item.path}: SHA-256 {actual} ({len(data)} bytes), but manifest.json lists "
                    f"{item.sha256} ({item.size} bytes): the file was changed",
                    file=item.path,
                )
            )
    listed = {f.path for f in files} | {MANIFEST_NAME, SUMS_NAME}
    for extra in sorted(_all_files(root)):
        if extra not in listed:
            problems.append(
                Problem(
                    CHECK_FILES,
                    f"{extra}: a file the manifest does not list (added to the bundle)",
                    file=extra,
                )
            )
    return problems


def _all_files(root: Path) -> list[str]:
    found: list[str] = []
    for path in root.rglob("*"):
        if path.is_dir() and not path.is_symlink():
            continue
        found.append(path.relative_to(root).as_posix())
    return found


def _listing_from_folders(root: Path) -> list[BundleFile]:
    """Without a readable manifest, take the files by folder (kinds guessed from the layout)."""
    guessed: list[BundleFile] = []
    for relative in sorted(_all_files(root)):
        folder = relative.split("/", 1)[0] if "/" in relative else ""
        kind = {"script": "script", "documents": "document"}.get(folder)
        if relative == REGISTRY_PATH:
            kind = "registry"
        if kind is not None:
            guessed.append(BundleFile(relative, 0, "0" * 64, kind))
    return guessed


# --------------------------------------------------------------------------- journal's word


def _script_problems(
    root: Path, files: Sequence[BundleFile], facts: CeremonyFacts
) -> list[Problem]:
    scripts = [f for f in files if f.kind == "script"]
    if len(scripts) != 1:
        return [
            Problem(
                CHECK_SCRIPT,
                f"the bundle must hold exactly one script; it lists {len(scripts)}",
            )
        ]
    script = scripts[0]
    data = _read_optional(root / script.path)
    if data is None:
        return [Problem(CHECK_SCRIPT, f"{script.path}: missing", file=script.path)]
    actual = sha256_hex(data)
    if actual != facts.script_sha256:
        return [
            Problem(
                CHECK_SCRIPT,
                f"{script.path}: SHA-256 {actual}, but the journal's opening (seq 1) records "
                f"script_sha256 {facts.script_sha256}: not the script the ceremony ran",
                seq=1,
                file=script.path,
            )
        ]
    return []


def _artefact_problems(
    root: Path, files: Sequence[BundleFile], facts: CeremonyFacts
) -> list[Problem]:
    problems: list[Problem] = []

    def add(text: str, *, seq: int | None, file: str | None) -> None:
        problems.append(Problem(CHECK_ARTEFACTS, text, seq=seq, file=file))

    journaled: set[str] = set()
    for artefact in facts.artefacts:
        match = [f for f in files if f.kind == artefact.kind and f.id == artefact.id]
        where = f"the {artefact.kind} {artefact.id} journaled at seq {artefact.seq}"
        if len(match) != 1:
            add(f"{where} ({artefact.output}) is not in the bundle", seq=artefact.seq, file=None)
            continue
        item = match[0]
        journaled.add(item.path)
        if item.seq != artefact.seq:
            add(
                f"{item.path}: manifest.json gives seq {item.seq}, but {where}",
                seq=artefact.seq,
                file=item.path,
            )
        data = _read_optional(root / item.path)
        if data is None:
            add(f"{item.path}: missing ({where})", seq=artefact.seq, file=item.path)
            continue
        try:
            actual = sha256_hex(artefact_der(artefact.kind, data))
        except ValueError:
            add(f"{item.path}: not a readable {artefact.kind}", seq=artefact.seq, file=item.path)
            continue
        if actual != artefact.der_sha256:
            add(
                f"{item.path}: the SHA-256 of its DER is {actual}, but the journal records "
                f"{artefact.der_sha256} for {where}: the file is not the one the ceremony made",
                seq=artefact.seq,
                file=item.path,
            )
    for wanted in facts.inputs:
        kind = f"input-{wanted.kind}"
        match = [f for f in files if f.kind == kind and f.id == wanted.id]
        where = f"the input {wanted.id} journaled at seq {wanted.seq}"
        if sha256_hex(wanted.der) != wanted.der_sha256:
            add(
                f"{where}: der_b64 does not have the der_sha256 recorded", seq=wanted.seq, file=None
            )
            continue
        if len(match) != 1:
            add(f"{where} is not in the bundle", seq=wanted.seq, file=None)
            continue
        item = match[0]
        journaled.add(item.path)
        data = _read_optional(root / item.path)
        try:
            actual = sha256_hex(artefact_der(wanted.kind, data or b""))
        except ValueError:
            add(
                f"{item.path}: not a readable {wanted.kind} ({where})",
                seq=wanted.seq,
                file=item.path,
            )
            continue
        if actual != wanted.der_sha256:
            add(
                f"{item.path}: the SHA-256 of its DER is {actual}, but the journal records "
                f"{wanted.der_sha256} for {where}",
                seq=wanted.seq,
                file=item.path,
            )
    reports = {
        sha256_hex(data): f
        for f in files
        if f.kind == "report" and (data := _read_optional(root / f.path)) is not None
    }
    for report in facts.reports:
        if report.sha256 not in reports:
            add(
                f"the report printed at seq {report.seq} has SHA-256 {report.sha256}; no report "
                "in the bundle has it",
                seq=report.seq,
                file=None,
            )
        else:
            journaled.add(reports[report.sha256].path)
    for item in files:
        made = item.kind in ARTEFACT_KINDS or item.kind.startswith("input-")
        if made and item.path not in journaled:
            add(
                f"{item.path}: listed as {item.kind} {item.id}, but no journal entry records it",
                seq=None,
                file=item.path,
            )
    return problems


# ------------------------------------------------------------------------------------ registry


def _registry_problems(
    root: Path, files: Sequence[BundleFile], entries: Sequence[JournalEntry]
) -> tuple[str, list[Problem]]:
    """registry.json is there exactly when the ceremony completed, and is the journal's registry."""
    closing = next((e for e in entries if e.event in CLOSING_EVENTS), entries[-1])
    problems: list[Problem] = []

    def add(text: str, *, file: str | None = REGISTRY_PATH) -> None:
        problems.append(Problem(CHECK_REGISTRY, text, seq=closing.seq, file=file))

    for item in files:
        if item.kind == "registry" and item.path != REGISTRY_PATH:
            add(
                f"{item.path}: listed as a registry, but a bundle's registry is {REGISTRY_PATH} "
                "at its root",
                file=item.path,
            )
        elif item.path == REGISTRY_PATH and item.kind != "registry":
            add(f"{REGISTRY_PATH}: manifest.json lists it as {item.kind}, not as registry")
    data = _read_optional(root / REGISTRY_PATH)
    present = data is not None or any(f.path == REGISTRY_PATH for f in files)
    if closing.event != "ceremony.closed":
        if present:
            add(
                f"{REGISTRY_PATH}: the ceremony was aborted ({closing.event} at seq "
                f"{closing.seq}), so its bundle holds no registry; the registry of the previous "
                "completed ceremony stays the one to use"
            )
        return (
            f"no {REGISTRY_PATH}, as it should be: the ceremony was aborted at seq "
            f"{closing.seq}; the previous completed ceremony's registry stays the one to use",
            problems,
        )
    if data is None:
        add(
            f"{REGISTRY_PATH}: missing; the ceremony completed (ceremony.closed at seq "
            f"{closing.seq}), so its bundle must hold the registry computed from its journal, "
            "from which the next ceremony is prepared"
        )
        return "", problems
    try:
        expected = bundled_registry(entries, root / JOURNAL_PATH)
    except SealroomError as exc:
        add(f"{REGISTRY_PATH}: {exc.message}")
        return "", problems
    if data != expected:
        add(
            f"{REGISTRY_PATH} does not match the registry computed from the journal "
            f"(first difference at {_first_difference(data, expected)})"
        )
        return "", problems
    return (
        f"{REGISTRY_PATH} is the registry computed from the journal (SHA-256 {sha256_hex(data)})",
        problems,
    )


def _first_difference(data: bytes, expected: bytes) -> str:
    """Where two texts first differ, as ``line N: ...`` quoting both lines (shortened)."""
    have = data.decode("utf-8", errors="replace").split("\n")
    want = expected.decode("utf-8").split("\n")
    for number, (got, should) in enumerate(zip(have, want, strict=False), start=1):
        if got == should:
            continue
        if got == "" and number == len(have):
            return f"line {number}: the file ends where the journal gives {_short(should)}"
        if should == "" and number == len(want):
            return f"line {number}: the file goes on with {_short(got)} after the registry's end"
        strip = got.strip() != should.strip()  # else the difference is in the spaces
        return (
            f"line {number}: the file has {_short(got, strip=strip)}, the journal gives "
            f"{_short(should, strip=strip)}"
        )
    number = min(len(have), len(want)) + 1
    if want[len(have) :] == [""]:
        return f"line {number - 1}: the file lacks the final newline"
    if len(have) > len(want):
        return f"line {number}: the file goes on with {_short(have[len(want)])}"
    return f"line {number}: the file ends where the journal gives {_short(want[len(have)])}"


def _short(line: str, *, strip: bool = True, limit: int = 80) -> str:
    text = line.strip() if strip else line
    if not text:
        return "an empty line"
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


# ---------------------------------------------------------------------------------- signatures


def _signature_problems(
    root: Path, files: Sequence[BundleFile], facts: CeremonyFacts
) -> tuple[str, list[Problem]]:
    problems: list[Problem] = []
    done: list[str] = []
    certificates: dict[str, tuple[x509.Certificate, str]] = {}
    """id -> (certificate, where it is): the bundle's own and those taken in (journal DER)."""
    for wanted in facts.inputs:
        if wanted.kind == "certificate":
            try:
                certificates[wanted.id] = (
                    x509.load_der_x509_certificate(wanted.der),
                    f"input {wanted.id} (seq {wanted.seq})",
                )
            except ValueError:
                problems.append(
                    Problem(
                        CHECK_SIGNATURES,
                        f"the input {wanted.id} at seq {wanted.seq} is not a readable certificate",
                        seq=wanted.seq,
                    )
                )
    loaded: list[tuple[str, JournaledArtefact, Any]] = []  # (kind, artefact, object)
    by_id = {(f.kind, f.id): f for f in files}
    for artefact in facts.artefacts:
        item = by_id.get((artefact.kind, artefact.id))
        data = _read_optional(root / item.path) if item is not None else None
        if item is None or data is None:
            continue  # reported by the artefact check
        try:
            obj = _load(artefact.kind, data)
        except ValueError:
            continue  # reported by the artefact check
        loaded.append((artefact.kind, artefact, obj))
        if artefact.kind == "certificate":
            certificates[artefact.id] = (obj, item.path)
    specs = _specs(facts.script)
    for kind, artefact, obj in loaded:
        path = by_id[(kind, artefact.id)].path
        try:
            line, problem = _signature_of(
                kind, artefact, obj, path, specs=specs, certificates=certificates
            )
        except ValueError as exc:  # a malformed object parses lazily
            line, problem = (
                None,
                Problem(
                    CHECK_SIGNATURES,
                    f"{path}: not a well-formed {kind} ({exc})",
                    seq=artefact.seq,
                    file=path,
                ),
            )
        if line is not None:
            done.append(line)
        if problem is not None:
            problems.append(problem)
    for wanted in facts.inputs:
        if wanted.kind != "csr":
            continue
        try:
            request = x509.load_der_x509_csr(wanted.der)
        except ValueError:
            request = None
        if request is None or not request.is_signature_valid:
            problems.append(
                Problem(
                    CHECK_SIGNATURES,
                    f"the CSR {wanted.id} taken in at seq {wanted.seq} does not verify under its "
                    "own key",
                    seq=wanted.seq,
                )
            )
    summary = "; ".join(done) if done else "no certificate, CRL or CSR in this ceremony"
    return summary, problems


def _signature_of(
    kind: str,
    artefact: JournaledArtefact,
    obj: Any,
    path: str,
    *,
    specs: Mapping[tuple[str, str], str | None],
    certificates: Mapping[str, tuple[x509.Certificate, str]],
) -> tuple[str | None, Problem | None]:
    """One artefact's signature: (what verified, None) or (None, the problem)."""

    def problem(text: str) -> tuple[None, Problem]:
        return None, Problem(CHECK_SIGNATURES, f"{path}: {text}", seq=artefact.seq, file=path)

    if kind == "csr":
        if obj.is_signature_valid:
            return f"{path}: the request's signature verifies under its own key", None
        return problem("the CSR's signature does not verify under its own key")
    issuer_id = specs.get((kind, artefact.id))
    issuer = _issuer(obj, artefact.id, issuer_id, certificates)
    if issuer is None:
        named = issuer_id or obj.issuer.rfc4514_string()
        return problem(
            f"its issuer certificate ({named}) is neither in the bundle nor recorded in the journal"
        )
    issuer_cert, issuer_where = issuer
    verdict = _signed_by(kind, obj, issuer_cert)
    if verdict is not None:
        return problem(f"does not verify under {issuer_where}: {verdict}")
    spki = sha256_hex(
        issuer_cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    signer = artefact.signer_fingerprint
    if signer is not None and signer != spki:
        return problem(
            f"the key of {issuer_where} has fingerprint {spki}, but the journal records the "
            f"signing key {signer} at seq {artefact.seq}"
        )
    return f"{path}: verifies under {issuer_where}", None


def _load(kind: str, data: bytes) -> Any:
    der = artefact_der(kind, data)
    if kind == "certificate":
        return x509.load_der_x509_certificate(der)
    if kind == "csr":
        return x509.load_der_x509_csr(der)
    return x509.load_der_x509_crl(der)


def _specs(script: Mapping[str, Json]) -> dict[tuple[str, str], str | None]:
    """(kind, id) -> the script's issuer_certificate for each certificate and CRL (root: None)."""
    found: dict[tuple[str, str], str | None] = {}
    for kind, key in (("certificate", "certificates"), ("crl", "crls")):
        items = script.get(key)
        if not isinstance(items, Sequence):
            continue
        for spec in items:
            if isinstance(spec, Mapping) and isinstance(spec.get("id"), str):
                issuer = spec.get("issuer_certificate")
                found[(kind, str(spec["id"]))] = issuer if isinstance(issuer, str) else None
    return found


def _issuer(
    obj: Any,
    own_id: str,
    issuer_id: str | None,
    certificates: Mapping[str, tuple[x509.Certificate, str]],
) -> tuple[x509.Certificate, str] | None:
    if issuer_id is not None:
        return certificates.get(issuer_id)
    if isinstance(obj, x509.Certificate) and obj.issuer == obj.subject:
        return obj, "its own certificate (self-signed)"
    for cert_id, (cert, where) in certificates.items():
        if cert_id != own_id and cert.subject == obj.issuer:
            return cert, where
    return None


def _signed_by(kind: str, obj: Any, issuer: x509.Certificate) -> str | None:
    """None if ``obj`` verifies under ``issuer``, else why not."""
    if kind == "certificate":
        try:
            obj.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature) as exc:
            return str(exc) or "the signature is invalid"
        return None
    if obj.issuer != issuer.subject:
        return "the CRL's issuer name is not the certificate's subject"
    try:
        valid = obj.is_signature_valid(issuer.public_key())
    except TypeError as exc:
        return str(exc)
    return None if valid else "the signature is invalid"


# ------------------------------------------------------------------------------------ evidence


def _evidence(run: _Run, entries: Sequence[JournalEntry]) -> None:
    try:
        from sealroom.report.matrix import evidence_matrix

        matrix = evidence_matrix(entries)
    except SealroomError as exc:
        run.check(CHECK_EVIDENCE, [Problem(CHECK_EVIDENCE, exc.message)], "")
        return
    present = sum(1 for row in matrix.rows if row.present)
    if matrix.missing:
        run.missing.extend(MissingEvidence(r.item_id, r.title, r.note) for r in matrix.missing)
        names = ", ".join(row.item_id for row in matrix.missing)
        run.checks.append(
            Check(CHECK_EVIDENCE, False, f"{len(matrix.missing)} required item(s) missing: {names}")
        )
        return
    run.checks.append(
        Check(
            CHECK_EVIDENCE,
            True,
            f"every required item of the {len(matrix.rows)} a {matrix.ceremony_type} ceremony "
            f"owes is evidenced ({present} present)",
        )
    )


def _read_optional(path: Path) -> bytes | None:
    try:
        if path.is_symlink() or not path.is_file():
            return None
        return path.read_bytes()
    except OSError:
        return None
