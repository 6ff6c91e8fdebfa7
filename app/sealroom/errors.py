"""One exception tree for Sealroom; every message is written for the person in the room."""

from __future__ import annotations


class SealroomError(Exception):
    """Base of every error Sealroom reports to an operator.

    The message must say what is wrong, where, and (when known) what to do next. It must never
    contain a PIN, a SLIP-39 word or key material. ``exit_code`` is what the CLI returns.
    """

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ScriptError(SealroomError):
    """The ceremony script cannot be loaded (unreadable, not YAML, or fails validation)."""

    def __init__(self, message: str, findings: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.findings = findings


class AnswersError(SealroomError):
    """A rehearsal answers file is missing, malformed, or does not answer a question asked."""


class CeremonyError(SealroomError):
    """The ceremony cannot go on as scripted (a step out of order, a wrong participant, ...)."""


class CeremonyAborted(CeremonyError):
    """The ceremony was aborted by its participants; the journal records why."""


class HsmError(SealroomError):
    """A PKCS#11 token operation failed; the message says which and what to check."""


class PinError(HsmError):
    """A PIN was refused by the token (the PIN itself is never part of the message)."""


class PinLockout(PinError):
    """Too many wrong PINs: the script's attempt limit was reached."""


class PkiError(SealroomError):
    """A certificate could not be built, signed or verified as its profile requires."""


class OutputExistsError(SealroomError):
    """An output file already exists; Sealroom never overwrites evidence."""


class JournalError(SealroomError):
    """The ceremony journal cannot be written, or does not verify."""


class ReportError(SealroomError):
    """A report could not be rendered from the journal."""


class PrinterError(SealroomError):
    """A print job could not be submitted or was refused."""


class TransferError(SealroomError):
    """A QR transfer could not be encoded or decoded."""
