"""The Hsm port over python-pkcs11: one token, one public session, at most one logged-in session."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Final

import pkcs11.exceptions as p11err
from pkcs11 import Attribute, ObjectClass, Session, Token, TokenFlag

from sealroom.ceremony.ports import Hsm, TokenInfo
from sealroom.ceremony.script import KeySpec
from sealroom.errors import HsmError, PinError, PinLockout
from sealroom.hsm.boundary import failure_advice, failure_reason, pkcs11_boundary
from sealroom.hsm.keys import Pkcs11SigningKey, generate_signing_key
from sealroom.hsm.library import acquire_library, release_library
from sealroom.hsm.lock import PKCS11_LOCK
from sealroom.hsm.uri import TokenSelector, token_selector

if TYPE_CHECKING:
    from pkcs11._pkcs11 import lib as Pkcs11Library

MAX_RANDOM_BYTES: Final = 4096
# PIN refusals the adapter counts: wrong, malformed, or the wrong length for the token.
_PIN_REFUSALS: Final = (p11err.PinIncorrect, p11err.PinInvalid, p11err.PinLenRange)


@dataclass(frozen=True)
class TokenObject:
    """One object on the token, as an inventory lists it (never key material)."""

    object_class: str
    """The PKCS#11 class without ``CKO_``, e.g. ``PRIVATE_KEY``."""
    label: str
    cka_id_hex: str


class Pkcs11Hsm:
    """A PKCS#11 token opened for a ceremony. Use ``with Pkcs11Hsm.open(...) as hsm:``.

    Every PKCS#11 call runs under the process-wide ``PKCS11_LOCK`` and every foreign exception
    becomes ``HsmError``, so any thread may call it (the engine runs HSM work in a worker thread).
    PINs are counted here: SoftHSM has no lockout of its own, and a real HSM's counter is no
    reason to waste the room's attempts.
    """

    def __init__(
        self,
        module_path: str,
        library: Pkcs11Library,
        token: Token,
        public_session: Session,
        max_pin_attempts: int,
    ) -> None:
        """Use ``Pkcs11Hsm.open``; this only stores what it found."""
        self._module_path = module_path
        self._library = library
        self._token = token
        self._label = token.label
        self._public_session: Session | None = public_session
        self._user_session: Session | None = None
        self._max_pin_attempts = max_pin_attempts
        self._refused_pins = 0
        self._locked_out = False

    # -- opening and closing ---------------------------------------------------------------

    @classmethod
    def open(cls, module_path: str, token: str, max_pin_attempts: int = 3) -> Pkcs11Hsm:
        """Load ``module_path`` and open the token named by a label or a ``pkcs11:`` URI.

        Raises HsmError if the module cannot be loaded, or no token (or more than one) matches;
        the message names what was asked for and lists the labels present.
        """
        if max_pin_attempts < 1:
            raise HsmError("The script must allow at least one PIN attempt (max_pin_attempts).")
        selector = token_selector(token)
        with PKCS11_LOCK:
            library = acquire_library(module_path)
            try:
                with pkcs11_boundary(f"open the token {selector.describe()}"):
                    found = _find_token(library, selector, module_path)
                    public_session = found.open(rw=False)
            except BaseException:
                release_library(module_path)
                raise
            return cls(module_path, library, found, public_session, max_pin_attempts)

    def __enter__(self) -> Pkcs11Hsm:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close()
            return
        # The error already on its way out says more than a failed clean-up would.
        with contextlib.suppress(HsmError):
            self.close()

    @property
    def closed(self) -> bool:
        """True once ``close`` has run."""
        return self._public_session is None

    def close(self) -> None:
        """Log out, close the sessions, release the library (finalised when no one else uses it)."""
        with PKCS11_LOCK:
            if self._public_session is None:
                return
            try:
                self.logout()
                with pkcs11_boundary(f"close the session on the token '{self._label}'"):
                    self._public_session.close()
            finally:
                self._public_session = None
                release_library(self._module_path)

    # -- the Hsm port ----------------------------------------------------------------------

    def token_info(self) -> TokenInfo:
        """Identity of the module, slot and token, read afresh from the token (EV-DEVICE)."""
        with pkcs11_boundary(f"read the identity of the token '{self._label}'"):
            self._require_open()
            slot = self._token.slot
            token = slot.get_token()
            return TokenInfo(
                library=self._module_path,
                library_description=self._library.library_description,
                library_version=_version(self._library.library_version),
                slot_id=slot.slot_id,
                slot_description=slot.slot_description,
                label=token.label,
                manufacturer=token.manufacturer_id,
                model=token.model,
                serial=_serial(token.serial),
                hardware_version=_version(token.hardware_version),
                firmware_version=_version(token.firmware_version),
                flags=_flag_names(token.flags),
            )

    def login(self, pin: str) -> None:
        """Log the user in; a refused PIN raises PinError, the last allowed one PinLockout."""
        with PKCS11_LOCK:
            self._require_open()
            if self._locked_out:
                raise PinLockout(
                    f"The PIN was refused {self._refused_pins} times, the script's limit: "
                    f"Sealroom sends no more PINs to the token '{self._label}'. Stop the ceremony "
                    "and follow the CPS procedure for a locked token."
                )
            if self._user_session is not None:
                raise HsmError(
                    f"Someone is already logged in to the token '{self._label}'; log out first."
                )
            try:
                self._user_session = self._token.open(rw=True, user_pin=pin)
            except _PIN_REFUSALS as exc:
                raise self._refused(exc) from exc
            except p11err.PinLocked as exc:
                self._locked_out = True
                raise PinLockout(
                    f"The token '{self._label}' reports that its user PIN is locked. Stop the "
                    "ceremony and follow the CPS procedure for a locked token."
                ) from exc
            except (p11err.UserAlreadyLoggedIn, p11err.AnotherUserAlreadyLoggedIn) as exc:
                raise HsmError(
                    f"The token '{self._label}' already has a user logged in (another session "
                    "in this process or the security officer). Close it and start again."
                ) from exc
            except Exception as exc:
                raise HsmError(
                    f"The HSM could not log in to the token '{self._label}' "
                    f"({failure_reason(exc)}). {failure_advice(exc)}"
                ) from exc
            self._refused_pins = 0

    def logout(self) -> None:
        """End the logged-in session (if any); keys generated in it can no longer sign."""
        with PKCS11_LOCK:
            session, self._user_session = self._user_session, None
            if session is not None:
                with pkcs11_boundary(f"log out of the token '{self._label}'"):
                    session.close()

    def generate_key(self, spec: KeySpec) -> Pkcs11SigningKey:
        """Generate ``spec`` inside the token, read back and check its attributes, return it."""
        with PKCS11_LOCK:
            session = self._require_login(f"generate the key '{spec.label}'")
            return generate_signing_key(session, spec, lambda: self._user_session is session)

    def random_bytes(self, count: int) -> bytes:
        """``count`` bytes (1 to 4096) from the token's random number generator."""
        if not 1 <= count <= MAX_RANDOM_BYTES:
            raise HsmError(
                f"Sealroom asks the HSM for 1 to {MAX_RANDOM_BYTES} random bytes, not {count}."
            )
        with pkcs11_boundary(f"draw random bytes from the token '{self._label}'"):
            session = self._user_session or self._require_open()
            data = session.generate_random(count * 8)
        if len(data) != count:
            raise HsmError(f"The HSM returned {len(data)} random bytes instead of {count}.")
        return data

    def inventory(self) -> tuple[TokenObject, ...]:
        """Every object the current session can see (private ones only once logged in)."""
        with pkcs11_boundary(f"list the objects on the token '{self._label}'"):
            session = self._user_session or self._require_open()
            found = []
            for obj in session.get_objects():
                attrs = obj.get_attributes([Attribute.CLASS, Attribute.LABEL, Attribute.ID])
                found.append(
                    TokenObject(
                        object_class=ObjectClass(attrs[Attribute.CLASS]).name,
                        label=str(attrs.get(Attribute.LABEL, "")),
                        cka_id_hex=bytes(attrs.get(Attribute.ID, b"")).hex(),
                    )
                )
        return tuple(sorted(found, key=lambda item: (item.label, item.object_class)))

    # -- state -----------------------------------------------------------------------------

    @property
    def logged_in(self) -> bool:
        """True while a user session is open."""
        return self._user_session is not None

    @property
    def pin_attempts_left(self) -> int:
        """How many PINs the script still allows before Sealroom stops trying."""
        return 0 if self._locked_out else self._max_pin_attempts - self._refused_pins

    def _require_open(self) -> Session:
        if self._public_session is None:
            raise HsmError(f"The token '{self._label}' was closed; open it again.")
        return self._public_session

    def _require_login(self, action: str) -> Session:
        self._require_open()
        if self._user_session is None:
            raise HsmError(f"Cannot {action}: nobody is logged in to the token '{self._label}'.")
        return self._user_session

    def _refused(self, exc: Exception) -> PinError:
        self._refused_pins += 1
        attempt, limit = self._refused_pins, self._max_pin_attempts
        if attempt >= limit:
            self._locked_out = True
            return PinLockout(
                f"The HSM refused the PIN (attempt {attempt} of {limit}). That was the last "
                "attempt the script allows: Sealroom will send no more PINs to the token "
                f"'{self._label}'. Stop the ceremony and follow the CPS procedure for a locked "
                "token."
            )
        left = limit - attempt
        return PinError(
            f"The HSM refused the PIN (attempt {attempt} of {limit}). {left} "
            f"attempt{'s' if left > 1 else ''} left: check the PIN and type it again."
        )


def _find_token(library: Pkcs11Library, selector: TokenSelector, module_path: str) -> Token:
    """The one token ``selector`` matches, or HsmError naming the labels present."""
    # An uninitialised token (SoftHSM always offers one spare) can be no ceremony's token.
    tokens = [
        token
        for slot in library.get_slots(token_present=True)
        if TokenFlag.TOKEN_INITIALIZED in (token := slot.get_token()).flags
    ]
    matching = [
        token
        for token in tokens
        if selector.matches(token.label, _serial(token.serial), token.manufacturer_id, token.model)
    ]
    if len(matching) == 1:
        return matching[0]
    present = ", ".join(f"'{token.label}'" for token in tokens) or "none"
    if not matching:
        raise HsmError(
            f"No token {selector.describe()} is present in {module_path}. Tokens present: "
            f"{present}. Check that the HSM is connected and that the script names its token."
        )
    raise HsmError(
        f"{len(matching)} tokens {selector.describe()} are present in {module_path} (tokens "
        f"present: {present}). Name the token by its serial in a pkcs11: URI, e.g. "
        "pkcs11:token=<label>;serial=<serial>."
    )


def _serial(raw: bytes) -> str:
    return raw.decode("ascii", errors="replace").strip()


def _version(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def _flag_names(flags: TokenFlag) -> tuple[str, ...]:
    return tuple(flag.name for flag in TokenFlag if flag.name and flag.value and flag in flags)


if TYPE_CHECKING:

    def _implements_the_port(hsm: Pkcs11Hsm) -> Hsm:
        return hsm  # mypy proves Pkcs11Hsm satisfies the engine's Hsm Protocol
