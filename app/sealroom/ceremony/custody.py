"""Share custody in the room: sheets handed out one custodian at a time, and shares typed back.

The m-of-n activation (a split PIN) and the key backup (a split key-encryption key) follow the same
pattern. Handing out: the custodian steps forward (``custodian_ready``), only then is their sheet
printed, then the serial of the bag they seal it in is typed twice and journaled with their name
(``share.sealed``), never a word. Taking back: each custodian types their words unseen; each
entry is journaled as accepted or rejected (with the problem, never a word).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sealroom.ceremony.ports import (
    Actor,
    CustodianShare,
    Json,
    Operator,
    ShareCollector,
    ShareSet,
    ShareSheet,
    SheetPrinter,
    StepView,
)
from sealroom.ceremony.script import ActionStep, ShareHolder
from sealroom.errors import CeremonyAborted, CeremonyError, SealroomError

if TYPE_CHECKING:
    from sealroom.ceremony.runner import Runner

SHARE_ATTEMPTS = 3
"""Tries each custodian has to type their share (or a bag serial twice)."""

SheetFor = Callable[[ShareHolder, CustodianShare], ShareSheet]
"""Builds the public part of one custodian's sheet."""


def wipe(secret: bytearray) -> None:
    """Overwrite a secret held in a bytearray (as far as Python allows)."""
    secret[:] = bytes(len(secret))


class ShareCustody:
    """Hands share sheets out and takes shares back, journaling custodians and bags, never words."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner

    def custodian(self, participant: str) -> Actor:
        """The participant as a custodian, in their custodian role if they hold one."""
        person = self.runner.script.participant(participant)
        role = next((r for r in person.roles if "custodian" in r), person.roles[0])
        return Actor(participant, role, "custodian")

    def name(self, participant: str) -> str:
        return self.runner.script.participant(participant).name

    def sheets(self) -> SheetPrinter:
        sheets = self.runner.ports.sheets
        if sheets is None:
            raise CeremonyError("This workstation has no share sheet printer set up.")
        return sheets

    # ------------------------------------------------------------------ handing out

    def hand_out(
        self,
        step: ActionStep,
        view: StepView,
        operator: Operator,
        *,
        what: str,
        holders: Sequence[ShareHolder],
        share_set: ShareSet,
        sheet_for: SheetFor,
        journal_extra: dict[str, Json] | None = None,
    ) -> list[Json]:
        """Print each holder's sheet after they step forward; journal its bag (``share.sealed``).

        ``holders`` are in member order (share i of n goes to holders[i - 1]). Returns, per
        holder, what the journal records: share id, custodian and bag serial.
        """
        runner = self.runner
        sheets = self.sheets()
        handed: list[Json] = []
        for holder, share in zip(holders, share_set.shares, strict=True):
            custodian = holder.custodian
            operator.custodian_ready(view, custodian, what)
            job = sheets.print_share_sheet(sheet_for(holder, share), share.words)
            bag = self.bag_serial(view, operator, custodian)
            runner._journal(
                "share.sealed",
                {
                    "what": what,
                    "share": holder.share,
                    "custodian": custodian,
                    "member_index": share.member_index,
                    "member_count": share.member_count,
                    "bag": bag,
                    "printer": job.printer,
                    "job": job.job,
                    **(journal_extra or {}),
                },
                step=step.id,
                actors=[self.custodian(custodian)],
            )
            handed.append({"share": holder.share, "custodian": custodian, "bag": bag})
        return handed

    def bag_serial(self, view: StepView, operator: Operator, custodian: str) -> str:
        """The serial of the bag ``custodian``'s sheet is sealed in, typed the same way twice."""
        from sealroom.ceremony.runner import entry_problem

        prompt = f"Bag serial for {self.name(custodian)}'s share sheet"
        for attempt in range(1, SHARE_ATTEMPTS + 1):
            first = operator.text(view, prompt, attempt).strip()
            again = operator.text(view, f"{prompt} (again)", attempt).strip()
            if first == again and entry_problem("bag-serial", first) is None:
                return first
        raise CeremonyAborted(
            f"The bag serial for {self.name(custodian)}'s share sheet was not typed the same "
            f"way twice in {SHARE_ATTEMPTS} attempts; the sheet is printed but its bag is not "
            "recorded, so the ceremony stops."
        )

    # ------------------------------------------------------------------ taking back

    def enter_share(
        self,
        step: ActionStep,
        view: StepView,
        operator: Operator,
        *,
        collector: ShareCollector,
        custodian: str,
        what: str,
    ) -> int | None:
        """Up to SHARE_ATTEMPTS tries for one custodian: their set identifier, or None."""
        refused: str | None = None
        actor = [self.custodian(custodian)]
        for attempt in range(1, SHARE_ATTEMPTS + 1):
            typed = operator.share_words(
                view, custodian, what, attempt, SHARE_ATTEMPTS - attempt + 1, refused
            )
            try:
                share = collector.add(self.name(custodian), typed)
            except SealroomError as exc:
                refused = str(exc)
                self.runner._journal(
                    "share.rejected",
                    {"what": what, "custodian": custodian, "attempt": attempt, "problem": refused},
                    step=step.id,
                    actors=actor,
                )
                continue
            finally:
                del typed
            self.runner._journal(
                "share.accepted",
                {
                    "what": what,
                    "custodian": custodian,
                    "member_index": share.member_index,
                    "attempt": attempt,
                },
                step=step.id,
                actors=actor,
            )
            return share.identifier
        return None

    def collect(
        self,
        step: ActionStep,
        view: StepView,
        operator: Operator,
        *,
        collector: ShareCollector,
        custodians: Sequence[str],
        what: str,
        needed: int,
    ) -> tuple[bytearray, list[str], list[int]]:
        """Shares from ``custodians`` in turn until ``needed`` are in; the combined secret.

        Returns the secret (the caller wipes it), who was accepted and their set identifiers.
        The collector is wiped whatever happens.
        """
        accepted: list[str] = []
        identifiers: list[int] = []
        try:
            for custodian in custodians:
                if collector.complete:
                    break
                identifier = self.enter_share(
                    step, view, operator, collector=collector, custodian=custodian, what=what
                )
                if identifier is not None:
                    accepted.append(custodian)
                    identifiers.append(identifier)
            if not collector.complete:
                raise CeremonyError(
                    f"Step {view.index + 1} ({step.title}): {len(accepted)} share(s) of the "
                    f"{what} were accepted; {needed} are needed. Record a deviation and "
                    "retry, or stop the ceremony."
                )
            secret = collector.combine()
        finally:
            collector.wipe()
        return secret, accepted, identifiers
