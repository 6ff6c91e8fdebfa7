"""The Hsm port over python-pkcs11: one token, one public session, at most one logged-in session."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Final

import pkcs11.exceptions as p11err
from pkcs11 import Attribute, Session, Token, TokenFlag

from sealroom.ceremony.ports import (
    DestructionRecord,
    DeviceInventory,
    Hsm,
    TokenInfo,
    TokenObjectSummary,
    WrappedKey,
    ZeroiseRecord,
)
from sealroom.ceremony.script import KeyAlgorithm, KeySpec
from sealroom.errors import HsmError, PinError, PinLockout
from sealroom.hsm import cryptoki
from sealroom.hsm.algorithms import KEY_ALGORITHMS
from sealroom.hsm.boundary import failure_advice, failure_reason, pkcs11_boundary
from sealroom.hsm.inventory import (
    all_algorithm_mechanisms,
    mechanism_infos,
    object_summaries,
    supported_algorithms,
    unsupported_reason,
)
from sealroom.hsm.keys import Pkcs11SigningKey, generate_signing_key, object_handles
from sealroom.hsm.library import acquire_library, release_library
from sealroom.hsm.lock import PKCS11_LOCK
from sealroom.hsm.lookup import find_pair, load_signing_key
from sealroom.hsm.softhsm import require_token_label
from sealroom.hsm.uri import KeySelector, TokenSelector, key_selector, token_selector
from sealroom.hsm.wrap import (
    mechanism_known_answer_check,
    unwrap_private_key,
    wrap_private_key,
)

if TYPE_CHECKING:
    from pkcs11._pkcs11 import lib as Pkcs11Library

MAX_RANDOM_BYTES: Final = 4096
# PIN refusals the adapter counts: wrong, malformed, or the wrong length for the token.
_PIN_REFUSALS: Final = (p11err.PinIncorrect, p11err.PinInvalid, p11err.PinLenRange)
_USER: Final = "user"
_SO: Final = "security officer"
_ZEROISE_PIN_BYTES: Final = 24
"""Host randomness for the throw-away user PIN set after a zeroisation (never shown or kept)."""


_SLOT_HANDLES: dict[tuple[str, int], int] = {}
"""(module path, slot id) -> open ``Pkcs11Hsm`` handles on that slot (under PKCS11_LOCK)."""


class Pkcs11Hsm:
    """A PKCS#11 token opened for a ceremony. Use ``with Pkcs11Hsm.open(...) as hsm:``.

    Every PKCS#11 call runs under the process-wide ``PKCS11_LOCK`` and every foreign exception
    becomes ``HsmError``, so any thread may call it (the engine runs HSM work in a worker thread).
    PINs are counted here: SoftHSM has no lockout of its own, and a real HSM's counter is no
    reason to waste the room's attempts. User and security officer PINs are counted separately,
    each against the script's limit.
    """

    def __init__(
        self,
        module_path: str,
        library: Pkcs11Library,
        token: Token,
        public_session: Session | None,
        max_pin_attempts: int,
    ) -> None:
        """Use ``Pkcs11Hsm.open`` (or ``open_uninitialised``); this only stores what it found."""
        self._module_path = module_path
        self._library = library
        self._token = token
        self._label = token.label
        self._closed = False
        self._public_session: Session | None = public_session
        self._user_session: Session | None = None
        self._max_pin_attempts = max_pin_attempts
        self._refused: dict[str, int] = {_USER: 0, _SO: 0}
        self._locked_out: set[str] = set()
        self._supported: tuple[KeyAlgorithm, ...] | None = None
        self._slot_key = (module_path, token.slot.slot_id)
        _SLOT_HANDLES[self._slot_key] = _SLOT_HANDLES.get(self._slot_key, 0) + 1

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

    @classmethod
    def open_uninitialised(
        cls, module_path: str, slot_id: int | None = None, max_pin_attempts: int = 3
    ) -> Pkcs11Hsm:
        """Open a token that has never been initialised, for the HSM-initialisation ceremony.

        Without ``slot_id`` exactly one uninitialised token must be present. Such a token accepts
        no session: ``initialise`` is the only thing to do with it.
        """
        if max_pin_attempts < 1:
            raise HsmError("The script must allow at least one PIN attempt (max_pin_attempts).")
        with PKCS11_LOCK:
            library = acquire_library(module_path)
            try:
                with pkcs11_boundary(f"find the uninitialised token in {module_path}"):
                    found = _find_uninitialised_token(library, slot_id, module_path)
            except BaseException:
                release_library(module_path)
                raise
            return cls(module_path, library, found, None, max_pin_attempts)

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
        return self._closed

    def close(self) -> None:
        """Log out, close the sessions, release the library (finalised when no one else uses it)."""
        with PKCS11_LOCK:
            if self._closed:
                return
            try:
                self.logout()
                if self._public_session is not None:
                    with pkcs11_boundary(f"close the session on the token '{self._label}'"):
                        self._public_session.close()
            finally:
                self._closed = True
                self._public_session = None
                _SLOT_HANDLES[self._slot_key] -= 1
                release_library(self._module_path)

    # -- the Hsm port ----------------------------------------------------------------------

    def token_info(self) -> TokenInfo:
        """Identity of the module, slot and token, read afresh from the token (EV-DEVICE)."""
        with pkcs11_boundary(f"read the identity of the token '{self._label}'"):
            self._require_not_closed()
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
        """Log the user in; a refused PIN raises PinError, the last allowed one PinLockout.

        The session is opened first and the PIN sent on it; if the token refuses the PIN, that
        session is closed again and checked to be gone, so a wrong PIN leaves nothing open.
        """
        with PKCS11_LOCK:
            self._require_open()
            self._require_not_locked_out(_USER)
            if self._user_session is not None:
                raise HsmError(
                    f"Someone is already logged in to the token '{self._label}'; log out first."
                )
            self._user_session = self._logged_in_session(pin, cryptoki.CKU_USER, rw=True)
            self._refused[_USER] = 0

    def logout(self) -> None:
        """End the logged-in session (if any); keys found or made in it can no longer sign."""
        with PKCS11_LOCK:
            session, self._user_session = self._user_session, None
            if session is not None:
                with pkcs11_boundary(f"log out of the token '{self._label}'"):
                    self._end_logged_in_session(session)

    def generate_key(self, spec: KeySpec) -> Pkcs11SigningKey:
        """Generate ``spec`` inside the token, read back and check its attributes, return it.

        An algorithm the token cannot make (``supported_algorithms``) is refused before anything
        is sent to the token that could create an object.
        """
        with PKCS11_LOCK:
            self.require_supported(spec.algorithm, spec.label)
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

    # -- what the token can do and holds ---------------------------------------------------

    def supported_algorithms(self) -> tuple[KeyAlgorithm, ...]:
        """The script's key algorithms this token can generate and sign with.

        RSA-3072/4096, P-256 and P-384 on any token fit for a CA; P-521 and Ed25519 only where
        the token lists CKM_EC_KEY_PAIR_GEN up to 521 bits, or CKM_EC_EDWARDS_KEY_PAIR_GEN and
        CKM_EDDSA. Read once per handle (a token's mechanisms do not change while it is open).
        """
        with pkcs11_boundary(f"list the mechanisms of the token '{self._label}'"):
            self._require_not_closed()
            if self._supported is None:
                self._supported = supported_algorithms(self._token.slot)
            return self._supported

    def require_supported(self, algorithm: KeyAlgorithm, label: str) -> None:
        """Raise HsmError, naming what the token lacks, unless it can make ``algorithm`` keys."""
        if algorithm in self.supported_algorithms():
            return
        with pkcs11_boundary(f"list the mechanisms of the token '{self._label}'"):
            reason = unsupported_reason(self._token.slot, KEY_ALGORITHMS[algorithm])
        offered = ", ".join(self.supported_algorithms()) or "none"
        raise HsmError(
            f"The token '{self._label}' cannot make the key '{label}' as {algorithm}: {reason}. "
            f"It offers {offered}; change the key's algorithm in the script or use another HSM."
        )

    def inventory(self) -> tuple[TokenObjectSummary, ...]:
        """Every object the current session can see (private ones only once logged in)."""
        with pkcs11_boundary(f"list the objects on the token '{self._label}'"):
            return object_summaries(self._user_session or self._require_open())

    def device_inventory(self, mechanisms_used: Iterable[str] | None = None) -> DeviceInventory:
        """The token, the mechanisms used and the objects visible (EV-DEVICE, EV-SETTINGS).

        ``mechanisms_used`` are PKCS#11 names (``CKM_SHA256_RSA_PKCS``); each must be listed by
        the token. Without it, the generation and signing mechanisms of every key algorithm the
        token lists are described. Objects are named by class, label, CKA_ID and key type, never
        by value; private ones appear only while the user is logged in.
        """
        info = self.token_info()
        with pkcs11_boundary(f"list the mechanisms and objects of the token '{self._label}'"):
            session = self._user_session or self._require_open()
            names = all_algorithm_mechanisms() if mechanisms_used is None else mechanisms_used
            mechanisms = mechanism_infos(
                self._token.slot, names, only_listed=mechanisms_used is None
            )
            objects = object_summaries(session)
        return DeviceInventory(
            token=info,
            mechanisms=mechanisms,
            objects=objects,
            logged_in=self._user_session is not None,
        )

    # -- keys from earlier ceremonies ------------------------------------------------------

    def find_key(self, spec: KeySpec) -> Pkcs11SigningKey:
        """The key pair labelled ``spec.label``, checked against the policy for ``spec``.

        Exactly one private key with the label and exactly one public key with its CKA_ID must be
        on the token; the pair must be of ``spec.algorithm`` and carry the attribute policy (with
        EXTRACTABLE as ``spec.backup`` says). Needs a logged-in user.
        """
        if spec.uri is not None:
            # The policy check on the pair found also requires its label to be spec.label.
            return self.find_key_by_uri(spec.uri, spec)
        selector = KeySelector(label=spec.label, cka_id=None, token=None)
        return self._load(selector, spec)

    def find_key_by_uri(self, uri: str, spec: KeySpec | None = None) -> Pkcs11SigningKey:
        """The private key an RFC 7512 URI names (``object=``, ``id=``, ``type=private``).

        Token attributes in the URI must match this token. With ``spec`` the pair is checked as
        in ``find_key``; without it, its algorithm is recognised from its attributes, ``backup``
        is what CKA_EXTRACTABLE says, and the record's key id is its label.
        """
        selector = key_selector(uri)
        if selector.token is not None:
            info = self.token_info()
            if not selector.token.matches(info.label, info.serial, info.manufacturer, info.model):
                raise HsmError(
                    f"The key URI names the token {selector.token.describe()}, but the token "
                    f"open is '{info.label}' (serial '{info.serial}'). Check the script."
                )
        return self._load(selector, spec)

    def destroy_key(self, spec: KeySpec) -> DestructionRecord:
        """Destroy the pair labelled ``spec.label`` and every object sharing its label or CKA_ID.

        Afterwards every object is listed again: none may carry the label or the CKA_ID, and
        exactly the destroyed objects must be gone; otherwise HsmError (EV-DESTROY).
        """
        with PKCS11_LOCK:
            session = self._require_login(f"destroy the key '{spec.label}'")
            with pkcs11_boundary(f"destroy the key '{spec.label}'"):
                _private, _public, cka_id = find_pair(
                    session, KeySelector(label=spec.label, cka_id=None, token=None)
                )
                before = object_summaries(session)
                doomed = [
                    obj
                    for obj in session.get_objects()
                    if _belongs_to(
                        obj.get_attributes([Attribute.LABEL, Attribute.ID]), spec.label, cka_id
                    )
                ]
                destroyed = tuple(
                    item for item in before if _names_key(item, spec.label, cka_id.hex())
                )
                for count, obj in enumerate(doomed):
                    try:
                        obj.destroy()
                    except Exception as exc:
                        raise HsmError(
                            f"The HSM destroyed {count} of the {len(doomed)} objects of the key "
                            f"'{spec.label}' and then refused ({failure_reason(exc)}). List the "
                            "token's objects and note this as a deviation."
                        ) from exc
                remaining = object_summaries(session)
        left = [item for item in remaining if _names_key(item, spec.label, cka_id.hex())]
        if left or len(remaining) != len(before) - len(destroyed):
            raise HsmError(
                f"After destroying the key '{spec.label}' the token still lists {len(left)} "
                f"object(s) with its label or CKA_ID {cka_id.hex()} and {len(remaining)} objects "
                f"in all (expected {len(before) - len(destroyed)}). The key is NOT proven "
                "destroyed: stop and note this as a deviation."
            )
        return DestructionRecord(
            key_id=spec.id, label=spec.label, destroyed=destroyed, remaining=remaining
        )

    # -- initialisation and zeroisation ----------------------------------------------------

    def zeroise(self, so_pin: str, new_label: str | None = None) -> ZeroiseRecord:
        """Re-initialise the token (C_InitToken with the SO PIN) and prove it holds no object.

        The user must be logged in, so the objects listed before are all of them. Afterwards a
        fresh random user PIN is set (C_InitPIN as the security officer; it is never shown or
        kept) only so that a user login can list private objects too: there must be none, or
        HsmError. The old user PIN no longer works. The label stays unless ``new_label``.
        """
        with PKCS11_LOCK:
            session = self._require_login(f"zeroise the token '{self._label}'")
            label = self._label if new_label is None else new_label
            require_token_label(label)
            self._require_sole_handle("zeroise")
            self._require_not_locked_out(_SO)
            with pkcs11_boundary(f"list the objects on the token '{self._label}'"):
                before = object_summaries(session)
            with self._sessions_ended():
                self._init_token(so_pin, label)
                probe_pin = secrets.token_urlsafe(_ZEROISE_PIN_BYTES)
                self._init_user_pin(so_pin, probe_pin)
                after = self._require_empty(probe_pin, "zeroised")
            return ZeroiseRecord(before=before, token_after=self.token_info(), after=after)

    def initialise(
        self, label: str, so_pin: str, user_pin: str, *, reinitialise: bool = False
    ) -> TokenInfo:
        """Initialise the token: ``label``, SO PIN and user PIN (the HSM-initialisation ceremony).

        A never-initialised token takes ``so_pin`` as its SO PIN. An initialised one is refused
        unless the user is logged in and it holds no object, or ``reinitialise`` is asked for (a
        zeroisation: everything on it is erased); its SO PIN must then be ``so_pin``. Afterwards
        the user PIN is set and a user login proves the token empty.
        """
        with PKCS11_LOCK:
            self._require_not_closed()
            require_token_label(label)
            self._require_not_locked_out(_SO)
            if self._public_session is not None and not reinitialise:
                if self._user_session is None:
                    raise HsmError(
                        f"The token '{self._label}' is already initialised and Sealroom cannot "
                        "see its private objects without the user login. Log in to show that it "
                        "is empty, or re-initialise it deliberately (which erases every object)."
                    )
                with pkcs11_boundary(f"list the objects on the token '{self._label}'"):
                    present = object_summaries(self._user_session)
                if present:
                    raise HsmError(
                        f"The token '{self._label}' is already initialised and holds "
                        f"{len(present)} object(s). Sealroom initialises only an empty token; "
                        "re-initialising it would erase them, which is a zeroisation step."
                    )
            self._require_sole_handle("initialise")
            with self._sessions_ended():
                self._init_token(so_pin, label)
                self._init_user_pin(so_pin, user_pin)
                self._require_empty(user_pin, "initialised")
            return self.token_info()

    # -- key backup: wrap and unwrap under a key-encryption key -------------------------------

    def wrap_key(self, spec: KeySpec, kek: bytes | bytearray) -> WrappedKey:
        """Wrap ``spec``'s private key under ``kek`` with CKM_AES_KEY_WRAP_PAD, proved (wrap.py).

        Needs a login. The key must be marked ``backup: true`` and be the generated original
        (extractable, sensitive). Before the first wrap in the process the mechanism's
        known-answer check runs; after the wrap the blob is unwrapped into a session object that
        must sign for the key's public key, and is destroyed. ``kek`` lives in the token only as
        session objects that are destroyed straight after use; it appears in no message.
        """
        with PKCS11_LOCK:
            self.require_supported(spec.algorithm, spec.label)
            session = self._require_login(f"wrap the key '{spec.label}'")
            with pkcs11_boundary(f"wrap the key '{spec.label}'"):
                return wrap_private_key(session, spec, kek, lambda: self._user_session is session)

    def unwrap_key(
        self, spec: KeySpec, wrapped: WrappedKey, kek: bytes | bytearray, *, persist: bool
    ) -> Pkcs11SigningKey:
        """Unwrap ``wrapped`` into this token as ``spec``'s key: sensitive, non-extractable, sign.

        ``persist`` False: session objects, gone at logout (restore test); True: token objects
        (recovery, migration). Refuses, writing nothing, a label or CKA_ID already on the token;
        on any failure removes every object the attempt made (the object count is unchanged).
        """
        with PKCS11_LOCK:
            self.require_supported(spec.algorithm, spec.label)
            session = self._require_login(f"unwrap the key '{spec.label}'")
            with pkcs11_boundary(f"unwrap the key '{spec.label}'"):
                return unwrap_private_key(
                    session,
                    spec,
                    wrapped,
                    kek,
                    persist=persist,
                    session_alive=lambda: self._user_session is session,
                )

    def object_count(self) -> int:
        """How many objects the current session sees (private ones only once logged in)."""
        with pkcs11_boundary(f"count the objects on the token '{self._label}'"):
            return len(object_handles(self._user_session or self._require_open()))

    def mechanism_known_answer_check(self) -> None:
        """Run the CKM_AES_KEY_WRAP_PAD known-answer check now (wrap.py); needs a login."""
        with PKCS11_LOCK:
            session = self._require_login("check the key wrap mechanism")
            with pkcs11_boundary("check the key wrap mechanism"):
                mechanism_known_answer_check(session)

    # -- state -----------------------------------------------------------------------------

    @property
    def logged_in(self) -> bool:
        """True while a user session is open."""
        return self._user_session is not None

    @property
    def pin_attempts_left(self) -> int:
        """How many user PINs the script still allows before Sealroom stops trying."""
        return self._attempts_left(_USER)

    @property
    def so_pin_attempts_left(self) -> int:
        """How many security officer PINs the script still allows."""
        return self._attempts_left(_SO)

    def _attempts_left(self, who: str) -> int:
        return 0 if who in self._locked_out else self._max_pin_attempts - self._refused[who]

    def _require_not_closed(self) -> None:
        if self._closed:
            raise HsmError(f"The token '{self._label}' was closed; open it again.")

    def _require_open(self) -> Session:
        self._require_not_closed()
        if self._public_session is None:
            raise HsmError(
                f"The token in slot {self._token.slot.slot_id} is not initialised: run the HSM "
                "initialisation step first."
            )
        return self._public_session

    def _require_login(self, action: str) -> Session:
        self._require_open()
        if self._user_session is None:
            raise HsmError(f"Cannot {action}: nobody is logged in to the token '{self._label}'.")
        return self._user_session

    def _require_not_locked_out(self, who: str) -> None:
        if who in self._locked_out:
            raise PinLockout(
                f"The {_pin_name(who)} was refused {self._refused[who]} times, the script's "
                f"limit: Sealroom sends no more PINs to the token '{self._label}'. Stop the "
                "ceremony and follow the CPS procedure for a locked token."
            )

    def _require_sole_handle(self, action: str) -> None:
        """Refuse while another handle on this slot is open: re-initialising ends its sessions.

        Handles on other slots of the module (the restore-test token beside the ceremony's) are
        not touched: only this slot's sessions are closed (``_sessions_ended``).
        """
        if _SLOT_HANDLES.get(self._slot_key, 0) != 1:
            raise HsmError(
                f"Cannot {action} the token '{self._label}' while another handle on its slot "
                f"of {self._module_path} is open in Sealroom: it ends every session on the slot. "
                "Close it first."
            )

    def _load(self, selector: KeySelector, spec: KeySpec | None) -> Pkcs11SigningKey:
        with PKCS11_LOCK:
            if spec is not None:
                self.require_supported(spec.algorithm, spec.label)
            session = self._require_login(f"find the key {selector.describe()}")
            with pkcs11_boundary(f"find the key {selector.describe()}"):
                return load_signing_key(
                    session, selector, spec, lambda: self._user_session is session
                )

    # -- sessions and logins ---------------------------------------------------------------

    def _logged_in_session(self, pin: str, user_type: int, *, rw: bool) -> Session:
        """A new session logged in with ``pin``; a refused PIN is counted and the session closed."""
        who = _SO if user_type == cryptoki.CKU_SO else _USER
        with pkcs11_boundary(f"open a session on the token '{self._label}'"):
            session = self._token.open(rw=rw)
        try:
            cryptoki.login(self._module_path, _handle(session), user_type, pin)
        except Exception as exc:
            problem = self._close_unauthenticated(session)
            raise self._login_failure(exc, who, problem) from exc
        return session

    def _close_unauthenticated(self, session: Session) -> str:
        """Close a session whose login failed; '' when it is proven gone, else what went wrong."""
        handle = _handle(session)
        try:
            session.close()  # opened without a PIN: python-pkcs11 sends only C_CloseSession
            if cryptoki.session_is_open(self._module_path, handle):
                return "The session opened for it is still open: close Sealroom before going on."
        except Exception as exc:
            return (
                f"The session opened for it could not be closed ({failure_reason(exc)}): close "
                "Sealroom before going on."
            )
        return ""

    def _end_logged_in_session(self, session: Session) -> None:
        """C_Logout on the session, then close it (under a boundary)."""
        try:
            cryptoki.logout(self._module_path, _handle(session))
        finally:
            session.close()

    def _login_failure(self, exc: Exception, who: str, problem: str) -> HsmError:
        suffix = f" {problem}" if problem else ""
        if isinstance(exc, _PIN_REFUSALS):
            refusal = self._count_refusal(who)
            return type(refusal)(refusal.message + suffix)
        if isinstance(exc, p11err.PinLocked):
            self._locked_out.add(who)
            return PinLockout(
                f"The token '{self._label}' reports that its {_pin_name(who)} is locked. Stop "
                f"the ceremony and follow the CPS procedure for a locked token.{suffix}"
            )
        if isinstance(exc, p11err.UserAlreadyLoggedIn | p11err.AnotherUserAlreadyLoggedIn):
            return HsmError(
                f"The token '{self._label}' already has a user logged in (another session "
                f"in this process or the security officer). Close it and start again.{suffix}"
            )
        if isinstance(exc, p11err.UserPinNotInitialized):
            return HsmError(
                f"The token '{self._label}' has no user PIN yet: run the HSM initialisation "
                f"step first.{suffix}"
            )
        return HsmError(
            f"The HSM could not log in to the token '{self._label}' as the {who} "
            f"({failure_reason(exc)}). {failure_advice(exc)}{suffix}"
        )

    def _count_refusal(self, who: str) -> PinError:
        self._refused[who] += 1
        attempt, limit = self._refused[who], self._max_pin_attempts
        name = _pin_name(who)
        if attempt >= limit:
            self._locked_out.add(who)
            return PinLockout(
                f"The HSM refused the {name} (attempt {attempt} of {limit}). That was the last "
                "attempt the script allows: Sealroom will send no more PINs to the token "
                f"'{self._label}'. Stop the ceremony and follow the CPS procedure for a locked "
                "token."
            )
        left = limit - attempt
        return PinError(
            f"The HSM refused the {name} (attempt {attempt} of {limit}). {left} "
            f"attempt{'s' if left > 1 else ''} left: check the PIN and type it again."
        )

    @contextlib.contextmanager
    def _sessions_ended(self) -> Iterator[None]:
        """Log out and end every session on the slot for the block; reopen the public one after.

        C_InitToken needs no session open, and a security officer login needs no read-only one.
        The token is read afresh afterwards (its label may have changed), and a public session is
        opened again if it is initialised, whether the block succeeded or not.
        """
        slot_id = self._token.slot.slot_id
        self.logout()
        public, self._public_session = self._public_session, None
        try:
            with pkcs11_boundary(f"end the sessions on the token '{self._label}'"):
                if public is not None:
                    public.close()
                cryptoki.close_all_sessions(self._module_path, slot_id)
            yield
        finally:
            with pkcs11_boundary(f"open the token in slot {slot_id} again"):
                self._token = self._token.slot.get_token()
                self._label = self._token.label
                if TokenFlag.TOKEN_INITIALIZED in self._token.flags:
                    self._public_session = self._token.open(rw=False)

    def _init_token(self, so_pin: str, label: str) -> None:
        """C_InitToken (inside ``_sessions_ended``); resets the PIN counters on success.

        python-pkcs11 does not wrap C_InitToken; it is called through the module's function list
        (``cryptoki``), so the SO PIN travels in memory only, never on a command line.
        """
        try:
            cryptoki.init_token(self._module_path, self._token.slot.slot_id, so_pin, label)
        except Exception as exc:
            raise self._login_failure(exc, _SO, "") from exc
        self._label = label
        self._refused[_SO] = 0
        self._refused[_USER] = 0
        self._locked_out.discard(_USER)

    def _init_user_pin(self, so_pin: str, user_pin: str) -> None:
        """C_InitPIN in a security officer session that is closed again afterwards."""
        session = self._logged_in_session(so_pin, cryptoki.CKU_SO, rw=True)
        with pkcs11_boundary(f"set the user PIN of the token '{self._label}'"):
            try:
                session.init_pin(user_pin)
            finally:
                self._end_logged_in_session(session)

    def _require_empty(self, user_pin: str, done: str) -> tuple[TokenObjectSummary, ...]:
        """Log in with ``user_pin``, list every object, log out; HsmError unless there is none."""
        session = self._logged_in_session(user_pin, cryptoki.CKU_USER, rw=False)
        with pkcs11_boundary(f"list the objects on the token '{self._label}'"):
            try:
                after = object_summaries(session)
            finally:
                self._end_logged_in_session(session)
        if after:
            raise HsmError(
                f"The token '{self._label}' was {done} but a user login still lists "
                f"{len(after)} object(s) on it. It is NOT proven empty: stop and note this as a "
                "deviation."
            )
        return after


def _handle(session: Session) -> int:
    """The session's CK_SESSION_HANDLE (python-pkcs11 has it; its type stubs do not say so)."""
    handle: int = getattr(session, "handle")  # noqa: B009 - not in the stubs
    return handle


def _pin_name(who: str) -> str:
    return "PIN" if who == _USER else f"{who} PIN"


def _belongs_to(attrs: dict[Attribute, object], label: str, cka_id: bytes) -> bool:
    return attrs.get(Attribute.LABEL) == label or attrs.get(Attribute.ID) == cka_id


def _names_key(item: TokenObjectSummary, label: str, cka_id_hex: str) -> bool:
    return item.label == label or item.cka_id_hex == cka_id_hex


def _find_uninitialised_token(
    library: Pkcs11Library, slot_id: int | None, module_path: str
) -> Token:
    """The one uninitialised token (in ``slot_id`` if given), or HsmError naming the slots."""
    blank = [
        token
        for slot in library.get_slots(token_present=True)
        if TokenFlag.TOKEN_INITIALIZED not in (token := slot.get_token()).flags
        and (slot_id is None or slot.slot_id == slot_id)
    ]
    if len(blank) == 1:
        return blank[0]
    where = f"in slot {slot_id} " if slot_id is not None else ""
    if not blank:
        raise HsmError(
            f"No uninitialised token is present {where}in {module_path}. Check the HSM, or name "
            "the initialised token to re-initialise it."
        )
    slots = ", ".join(str(token.slot.slot_id) for token in blank)
    raise HsmError(
        f"{len(blank)} uninitialised tokens are present in {module_path} (slots {slots}); name "
        "the slot to initialise."
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
