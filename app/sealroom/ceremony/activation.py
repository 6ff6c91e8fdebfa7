"""m-of-n activation: token PINs nobody knows, split among custodians, combined to log in.

At initialisation the workstation draws each PIN at random, sets it on the token and splits it
k-of-n with SLIP-39; each custodian receives a printed share sheet, one at a time, and seals it in
a tamper-evident bag whose serial is journaled. To activate the token later, k custodians type
their words one by one; the journal names each custodian and never a word (EV-QUORUM).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sealroom.ceremony.custody import SHARE_ATTEMPTS, ShareCustody, wipe
from sealroom.ceremony.ports import (
    Acknowledgement,
    Actor,
    CustodianShare,
    Fact,
    Json,
    Operator,
    Outcome,
    SecretSharing,
    ShareSheet,
    StepView,
)
from sealroom.ceremony.script import ActionStep, PinSplit, ShareHolder
from sealroom.errors import CeremonyError, PinError, PinLockout

if TYPE_CHECKING:
    from sealroom.ceremony.runner import Runner

__all__ = ["SHARE_ATTEMPTS", "SO_PIN", "USER_PIN", "Activation", "present_custodians", "wipe"]

USER_PIN = "HSM user PIN"
SO_PIN = "HSM security officer PIN"


class Activation:
    """The token initialisation and login steps of a script whose HSM declares ``activation``."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.custody = ShareCustody(runner)
        self.refused_pins = 0
        """Combined PINs the token refused (each counts against the script's PIN limit)."""

    # ------------------------------------------------------------------ helpers

    def _sharing(self) -> SecretSharing:
        sharing = self.runner.ports.sharing
        if sharing is None:
            raise CeremonyError("This workstation has no share splitting set up (m-of-n).")
        return sharing

    def _custodian(self, participant: str) -> Actor:
        return self.custody.custodian(participant)

    def _name(self, participant: str) -> str:
        return self.custody.name(participant)

    # ------------------------------------------------------------------ login

    def combine_pin(
        self, step: ActionStep, view: StepView, operator: Operator, split: PinSplit, what: str
    ) -> str:
        """The PIN of ``what`` from ``split.threshold`` custodians' shares, entered one by one."""
        runner = self.runner
        sharing = self._sharing()
        order = [holder.custodian for holder in split.shares]
        names = [self._name(c) for c in order]
        present = [c for c in order if c in runner.present]
        if len(present) < split.threshold:
            missing = ", ".join(self._name(c) for c in order if c not in runner.present)
            raise CeremonyError(
                f"Step {view.index + 1} ({step.title}): the {what} needs {split.threshold} of its "
                f"{len(order)} custodians, but only {len(present)} are present (absent: "
                f"{missing})."
            )
        collector = sharing.collector(
            split.threshold, split.set_identifier, split.check_value, names
        )
        secret, accepted, identifiers = self.custody.collect(
            step,
            view,
            operator,
            collector=collector,
            custodians=present,
            what=what,
            needed=split.threshold,
        )
        try:
            pin = sharing.pin(secret)
        finally:
            wipe(secret)
        runner._journal(
            "quorum.activated",
            {
                "what": what,
                "threshold": split.threshold,
                "custodians": list(accepted),
                # the set the accepted shares belong to (public, printed on every sheet)
                "set_identifier": identifiers[0] if identifiers else split.set_identifier,
                "check_value": split.check_value,
            },
            step=step.id,
            actors=[self._custodian(c) for c in accepted],
        )
        return pin

    def login(
        self, step: ActionStep, view: StepView, operator: Operator, ack: Acknowledgement
    ) -> None:
        """hsm-login by m-of-n: k custodians' shares give the PIN; a refused PIN stops here."""
        runner = self.runner
        activation = runner.script.hsm_required().activation
        assert activation is not None  # noqa: S101 - the caller checked
        pin = self.combine_pin(step, view, operator, activation.user_pin, USER_PIN)
        try:
            runner.ports.hsm.login(pin)
        except PinError as exc:
            self.refused_pins += 1
            limit = runner.script.hsm_required().max_pin_attempts
            left = 0 if isinstance(exc, PinLockout) else max(0, limit - self.refused_pins)
            runner._journal(
                "hsm.login-failed",
                {"attempt": self.refused_pins, "attempts_left": left},
                step=step.id,
                actors=runner._actors(step, ack),
            )
            if isinstance(exc, PinLockout):
                raise
            raise CeremonyError(
                f"Step {view.index + 1} ({step.title}): the token refused the PIN the shares "
                "combine to: the shares are of another set or another token. Nothing else was "
                "tried."
            ) from exc
        finally:
            del pin
        runner.logged_in = True
        runner._journal(
            "hsm.login",
            {"attempts": 1, "activation": "m-of-n"},
            step=step.id,
            actors=runner._actors(step, ack),
        )
        operator.outcome(
            view,
            Outcome(
                f"The HSM is activated by {activation.user_pin.threshold} of "
                f"{len(activation.user_pin.shares)} custodians.",
            ),
        )

    # ------------------------------------------------------------------ initialisation

    def initialise(
        self, step: ActionStep, view: StepView, operator: Operator, ack: Acknowledgement
    ) -> None:
        """initialise-token: new PINs (split, or typed twice), the token initialised, sheets out."""
        runner = self.runner
        settings = runner.script.hsm_required()
        hsm = runner.ports.hsm
        label = settings.token_label
        activation = settings.activation
        if activation is None:
            so_pin = self._typed_pin(view, operator, SO_PIN)
            user_pin = self._typed_pin(view, operator, USER_PIN)
            sets: dict[str, Json] = {}
            try:
                with operator.working(view, f"Initialising the token as {label}"):
                    token = hsm.initialise(label, so_pin, user_pin)
            finally:
                del so_pin, user_pin
        else:
            sharing = self._sharing()
            # An uninitialised token opens no session, so it has no RNG to offer yet: the PIN
            # secrets come from host randomness (the split's coefficients mix in the HSM's RNG).
            user_secret = sharing.new_secret(secrets.token_bytes)
            so_secret = sharing.new_secret(secrets.token_bytes)
            try:
                with operator.working(view, f"Initialising the token as {label}"):
                    token = hsm.initialise(label, sharing.pin(so_secret), sharing.pin(user_secret))
                sets = {}
                splits = [(USER_PIN, activation.user_pin, user_secret)]
                if activation.so_pin is not None:
                    splits.append((SO_PIN, activation.so_pin, so_secret))
                for what, split, secret in splits:
                    sets[what] = self._hand_out(
                        step,
                        view,
                        operator,
                        what=what,
                        split=split,
                        secret=secret,
                        token_serial=token.serial,
                    )
            finally:
                wipe(user_secret)
                wipe(so_secret)
        from sealroom.ceremony.actions import token_json

        runner._journal(
            "token.initialised",
            {"token": token_json(token), "label": label, "activation": sets},
            step=step.id,
            actors=runner._actors(step, ack),
        )
        facts = [Fact("Token", token.label), Fact("Serial", token.serial)]
        for what, data in sets.items():
            assert isinstance(data, dict)  # noqa: S101
            facts.append(
                Fact(
                    what,
                    f"{data['threshold']} of {len(data['custodians'])} custodians; set "
                    f"{data['set_identifier']}, check value {data['check_value']}",
                )
            )
        operator.outcome(view, Outcome(f"The token is initialised as {token.label}.", tuple(facts)))

    def _typed_pin(self, view: StepView, operator: Operator, what: str) -> str:
        """A new PIN typed twice by the performer, unseen; refused if the two differ."""
        for attempt in range(1, SHARE_ATTEMPTS + 1):
            first = operator.secret(view, f"New {what}", attempt, SHARE_ATTEMPTS - attempt + 1)
            second = operator.secret(
                view, f"New {what} (again)", attempt, SHARE_ATTEMPTS - attempt + 1
            )
            if first == second and 4 <= len(first) <= 255:
                del second
                return first
            del first, second
        raise CeremonyError(f"The new {what} was not typed the same way twice; nothing was set.")

    def _hand_out(
        self,
        step: ActionStep,
        view: StepView,
        operator: Operator,
        *,
        what: str,
        split: PinSplit,
        secret: bytearray,
        token_serial: str,
    ) -> Json:
        """Split ``secret``, print each custodian's sheet in turn and journal its bag."""
        runner = self.runner
        sharing = self._sharing()
        self.custody.sheets()  # refuse before splitting if no sheet printer is set up
        order = [holder.custodian for holder in split.shares]
        share_set = sharing.split(
            secret, split.threshold, [self._name(c) for c in order], runner.ports.hsm.random_bytes
        )
        subject = f"token {runner.script.hsm_required().token_label} (HSM serial {token_serial})"

        def sheet_for(holder: ShareHolder, share: CustodianShare) -> ShareSheet:
            return ShareSheet(
                ceremony_id=runner.script.ceremony.id,
                title=f"{what} share",
                subject=subject,
                custodian=self._name(holder.custodian),
                member_index=share.member_index,
                member_count=share.member_count,
                threshold=share_set.threshold,
                set_identifier=share_set.identifier,
                check_value=share_set.check_value,
                rehearsal=runner.rehearsal,
            )

        handed = self.custody.hand_out(
            step,
            view,
            operator,
            what=what,
            holders=split.shares,
            share_set=share_set,
            sheet_for=sheet_for,
        )
        return {
            "threshold": share_set.threshold,
            "set_identifier": share_set.identifier,
            "check_value": share_set.check_value,
            "custodians": [h.custodian for h in split.shares],
            "sealed": handed,
        }


def present_custodians(split: PinSplit, present: Sequence[str]) -> list[str]:
    """The custodians of ``split`` who are present, in member order."""
    return [h.custodian for h in split.shares if h.custodian in present]
