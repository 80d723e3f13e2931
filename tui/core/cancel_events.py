"""The events of one cancel, as every front end receives them, and what ``r`` does after.

A cancel's stream (:meth:`tui.core.lifecycle.CancelLifecycle.run`) yields
:class:`Sending`, :class:`Answered` and :class:`Updated`, and ends with exactly one
:class:`Done` (a request was sent) or :class:`NotSent` (nothing left, and why).
"""

from __future__ import annotations

from dataclasses import dataclass

from tui.core.domain import CancelOutcome, CancelRequest, Order, Outcome
from tui.core.journal.model import Attempt
from tui.core.vocabulary import NextStep, Verdict, Why

HOLDING: frozenset[Why] = frozenset(why for why in Why if why.holding)
"""Reasons that mean "another attempt holds this order" (CLI exit 7)."""


@dataclass(frozen=True)
class CancelEvent:
    request: CancelRequest


@dataclass(frozen=True)
class Sending(CancelEvent):
    """Written ahead: the request is leaving now."""

    attempt_id: int
    before: Order
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Answered(CancelEvent):
    """The provider's answer (or its absence), after an immediate reconciliation."""

    outcome: CancelOutcome
    confirming: bool = False
    """More events follow: the cancel is followed up until the look-up confirms it."""


@dataclass(frozen=True)
class Updated(CancelEvent):
    """A confirmation poll changed the outcome."""

    outcome: CancelOutcome
    polls: int = 0


@dataclass(frozen=True)
class Done(CancelEvent):
    """Final: the request was sent; ``outcome`` is as far as it is known."""

    outcome: CancelOutcome
    notes: tuple[str, ...] = ()

    @property
    def next_step(self) -> NextStep:
        return next_step(self.outcome)


@dataclass(frozen=True)
class NotSent(CancelEvent):
    """Final: nothing was sent by this attempt."""

    why: Why
    message: str
    attempt: Attempt | None = None
    """The attempt that holds or settled the order, when one does."""
    outcome: CancelOutcome | None = None
    """An outcome to report: an earlier attempt's, or what the look-up said (not found)."""

    @property
    def held(self) -> bool:
        return self.why.holding


def next_step(outcome: CancelOutcome) -> NextStep:
    if outcome.outcome is Outcome.UNKNOWN:
        return NextStep.RECHECK
    if outcome.outcome is Outcome.ERROR:
        return NextStep.RETRY
    if outcome.outcome in (Outcome.COMPLETE, Outcome.PARTIAL) and not outcome.confirmed:
        return NextStep.RECHECK
    return NextStep.NONE


def follow_up(final: Done | NotSent) -> tuple[NextStep, int | None]:
    """What ``r`` does after a cancel ended, and on which attempt: re-check an unknown or
    unconfirmed attempt (never a re-send); retry what provably did not apply or could not
    be looked up; nothing otherwise."""
    if isinstance(final, Done):
        return next_step(final.outcome), final.outcome.attempt_id
    if final.why in (Why.EARLIER_UNKNOWN, Why.AWAITING_CONFIRMATION) and final.attempt:
        return NextStep.RECHECK, final.attempt.id
    if final.why in (Why.HELD, Why.LOOKUP_FAILED):
        return NextStep.RETRY, None
    return NextStep.NONE, None


@dataclass(frozen=True)
class Reconciled:
    """The result of reconciling (or re-checking) one attempt."""

    verdict: Verdict
    attempt: Attempt
    """The attempt as the journal holds it now."""
    words: str

    @property
    def may_send_again(self) -> bool:
        return self.verdict is Verdict.NOT_APPLIED
