"""One cancel lifecycle for every front end: claim → look up → write ahead → send → answer →
confirm (asynchronous providers) or reconcile (unknown) → settle.

Each cancel is one stream of :class:`CancelEvent`\\ s that ends with :class:`Done` (a request
was sent; its outcome as far as it is known) or :class:`NotSent` (nothing left this process,
and why). The CLI's ``cancel`` and ``batch``, the console's lookup and batch screens and its
history re-check all consume these streams; none of them decides on its own whether to send.

The rules, in order:

1. **Claim.** One journal transaction takes the claim on provider + order, or names the open
   attempt that holds it. An attempt in flight — its process alive on this host, or its lease
   not yet over on another — holds the order: nothing is sent (:attr:`Why.HELD`).
2. **An open attempt that is not in flight is reconciled first**, never re-sent blindly: its
   order is looked up and compared, line by line and quantity by quantity, with the state the
   journal recorded before it was sent (:mod:`tui.core.evidence`). A change settles it (and
   nothing new is sent); "untouched" closes it as not applied only once its window — the
   request's deadline plus the provider's settle time — has passed. Otherwise it stays
   unknown, and so does the order.
3. **Under the claim**, the journal's history of the order and a fresh look-up decide: a
   batch run again skips what settled earlier; an asynchronous cancel initiated and not yet
   confirmed is waited for; items are checked against what remains; an identifier that is
   not the provider's own id (a Shoplazza order number, an Rx tray) is resolved and claimed
   under the real id.
4. **Write ahead, durably, with that look-up**, then send.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tui.core.domain import (
    CancelledLine,
    CancelOutcome,
    CancelRequest,
    ItemSelection,
    Order,
    Outcome,
)
from tui.core.errors import ProviderError
from tui.core.evidence import Change, Evidence, compare
from tui.core.holders import ACTIVE, in_flight, this_process
from tui.core.identifiers import InvalidInput
from tui.core.journal.model import Attempt, AttemptState, Claim, Holder, JournalError

if TYPE_CHECKING:
    from tui.core.journal.protocol import AttemptJournal
    from tui.core.providers.base import OrderProvider
    from tui.core.settings import ProviderSettings, Settings

log = logging.getLogger("stopline.lifecycle")

RECHECK_PREFIX = "re-check: "
MAX_ROUNDS = 4
"""Claims retried after an earlier attempt was closed, or an identifier resolved."""


class Why(StrEnum):
    """Why a cancel was not sent."""

    HELD = "held"
    """Another attempt on the order is in flight (its process is alive)."""
    EARLIER_UNKNOWN = "earlier_unknown"
    """An earlier attempt may still take effect; it stays unknown until reconciled."""
    EARLIER_APPLIED = "earlier_applied"
    """Reconciling an earlier unknown attempt showed it took effect."""
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    """An earlier asynchronous cancel was initiated and is not yet confirmed."""
    SETTLED_EARLIER = "settled_earlier"
    """A batch run again: the same request settled earlier."""
    ALREADY_CANCELLED = "already_cancelled"
    """The look-up shows the order cancelled already."""
    NOT_FOUND = "not_found"
    """The look-up did not find the order."""
    LOOKUP_FAILED = "lookup_failed"
    """The order could not be looked up, so nothing could be recorded before sending."""
    INVALID = "invalid"
    """The request does not fit the order as the look-up shows it (an item it does not
    have, more than is left). Raised as :class:`InvalidInput`; a batch reports it so."""


HOLDING: frozenset[Why] = frozenset({Why.HELD, Why.EARLIER_UNKNOWN, Why.AWAITING_CONFIRMATION})
"""Reasons that mean "another attempt holds this order" (CLI exit 7)."""


class Verdict(StrEnum):
    """What reconciling an open attempt found."""

    SETTLED = "settled"
    """It was settled already (nothing to do)."""
    APPLIED = "applied"
    """The look-up shows it took effect (or is being applied): settled, claim released."""
    NOT_APPLIED = "not_applied"
    """Untouched after its window: closed as ``error``; the order may be sent again."""
    IN_FLIGHT = "in_flight"
    """Its process is still sending it; nothing was looked at."""
    UNKNOWN = "unknown"
    """Still undecided: untouched so far inside its window, or the look-up failed."""


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
        return self.why in HOLDING


class NextStep(StrEnum):
    NONE = "none"
    RECHECK = "recheck"
    """Look the order up again (unknown, or initiated and unconfirmed): never a re-send."""
    RETRY = "retry"
    """It provably did not apply: it may be sent again."""


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


@dataclass
class _Round:
    request: CancelRequest
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Ready:
    """What the claim's checks hand to the send: the request as asked, the same with every
    quantity filled in (what the provider is sent), and the order as the look-up showed it."""

    request: CancelRequest
    resolved: CancelRequest
    before: Order


def with_recheck_note(outcome: CancelOutcome, note: str) -> CancelOutcome:
    """``outcome`` with ``note`` as its one re-check warning (the previous one replaced)."""
    kept = [w for w in outcome.warnings if not w.startswith(RECHECK_PREFIX)]
    return outcome.model_copy(update={"warnings": [*kept, RECHECK_PREFIX + note]})


def _clock_text(moment: datetime) -> str:
    return moment.astimezone().strftime("%H:%M:%S")


def _same_items(
    a: list[ItemSelection] | tuple[ItemSelection, ...], b: tuple[ItemSelection, ...]
) -> bool:
    """The same items asked for, as written (a quantity of None: all that is open)."""
    return {(i.id, i.quantity) for i in a} == {(i.id, i.quantity) for i in b}


class CancelLifecycle:
    """Runs cancels and reconciliations against the providers and the journal."""

    def __init__(
        self,
        settings: Settings,
        provider: Callable[[str], OrderProvider],
        journal: AttemptJournal,
        *,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings
        self._provider = provider
        self.journal = journal
        self._sleep = sleep
        self._clock = clock or journal.now

    # -- who holds what --------------------------------------------------------------------

    def _section(self, key: str) -> ProviderSettings:
        return self.settings.providers()[key]

    def in_flight(self, attempt: Attempt) -> bool:
        """Whether ``attempt`` may be on its way right now (so it must not be looked at as
        finished): claimed or sent by a live process — this one included — or, on another
        host, within its lease."""
        return in_flight(attempt, self.journal.where, now=self._clock())

    def _dead_claim(self, attempt: Attempt) -> bool:
        return attempt.state is AttemptState.CLAIMED and not self.in_flight(attempt)

    def holder_words(self, attempt: Attempt) -> str:
        where = f" on {attempt.host}" if attempt.host else ""
        pid = f" (pid {attempt.pid})" if attempt.pid else ""
        since = _clock_text(attempt.started_at)
        return f"attempt #{attempt.id} by {attempt.who}{where}{pid} since {since}"

    def _claim_lease(self, key: str) -> datetime:
        timeout = self._section(key).timeout_s
        return self._clock() + timedelta(seconds=timeout * 3 + 10)

    def _send_lease(self, key: str) -> datetime:
        section = self._section(key)
        return self._clock() + timedelta(seconds=section.timeout_s + section.settle_s)

    # -- the cancel ------------------------------------------------------------------------

    async def run(
        self, request: CancelRequest, *, resume: bool = False, confirm: bool = False
    ) -> AsyncIterator[CancelEvent]:
        """The events of one cancel (``request`` already checked by the service's
        ``prepare``). ``resume``: a batch run again — skip what settled earlier for the same
        items. ``confirm``: follow an asynchronous cancel until the look-up confirms it.

        Raises :class:`InvalidInput` (nothing sent) when the items asked for do not fit the
        order as the look-up shows it.
        """
        await self.journal.connect()
        current = _Round(request)
        holder = this_process(request.operator)
        for _ in range(MAX_ROUNDS):
            claim = await self._claim(current.request, holder)
            if claim.taken_over is not None:
                log.info("took over the dead claim #%s", claim.taken_over.id)
            if not claim.taken:
                assert claim.holder is not None
                stop = await self._open_attempt_first(current, claim.holder)
                if stop is not None:
                    yield stop
                    return
                continue  # the earlier attempt was closed as not applied: claim again
            assert claim.attempt_id is not None
            attempt_id = claim.attempt_id
            active = (self.journal.where, attempt_id)
            ACTIVE.add(active)
            try:
                step = await self._under_claim(current, attempt_id, resume=resume)
                if step is None:
                    continue  # resolved to the provider's own id: claim that one
                if isinstance(step, NotSent):
                    yield step
                    return
                async for event in self._send(step, attempt_id, current, confirm=confirm):
                    yield event
                return
            finally:
                ACTIVE.discard(active)
        raise InvalidInput(
            f"{request.order_id}: the claim could not be settled after {MAX_ROUNDS} tries"
        )

    async def _claim(self, request: CancelRequest, holder: Holder) -> Claim:
        """Claim, and if this task is cancelled meanwhile let the claim finish (it may be
        committing on the journal's side) and release it: a stopped cancel leaves no claim
        behind that another process would read as held."""
        pending = asyncio.ensure_future(
            self.journal.claim(
                request,
                holder,
                lease_until=self._claim_lease(request.provider),
                take_over=self._dead_claim,
            )
        )
        try:
            return await asyncio.shield(pending)
        except asyncio.CancelledError:
            try:
                claim = await pending
            except Exception:
                raise asyncio.CancelledError from None
            if claim.attempt_id is not None:
                await self._withdraw_quietly(claim.attempt_id, "withdrawn: stopped before sending")
            raise

    async def _open_attempt_first(self, current: _Round, held_by: Attempt) -> NotSent | None:
        """An open attempt holds the order: stop, or reconcile it (None: claim again)."""
        request = current.request
        if self.in_flight(held_by):
            return NotSent(
                request,
                Why.HELD,
                f"{request.order_id} is being cancelled by {self.holder_words(held_by)}; "
                "nothing was sent. Wait for it, then look the order up "
                f"(stopline history --order {request.order_id}).",
                attempt=held_by,
            )
        result = await self.reconcile(held_by)
        if result.verdict is Verdict.NOT_APPLIED:
            current.notes.append(f"attempt #{held_by.id} was unknown; {result.words}")
            return None
        if result.verdict is Verdict.SETTLED:
            return None  # settled by another process meanwhile: claim again
        if result.verdict is Verdict.APPLIED:
            return NotSent(
                request,
                Why.EARLIER_APPLIED,
                f"attempt #{held_by.id} (unknown until now) took effect: {result.words}; "
                "nothing new was sent",
                attempt=result.attempt,
                outcome=result.attempt.as_outcome(),
            )
        return NotSent(
            request,
            Why.EARLIER_UNKNOWN if result.verdict is Verdict.UNKNOWN else Why.HELD,
            f"{self.holder_words(held_by)} has no known outcome: {result.words}. Nothing was "
            "sent; it is reconciled before anything is sent again.",
            attempt=result.attempt,
        )

    async def _under_claim(
        self, current: _Round, attempt_id: int, *, resume: bool
    ) -> _Ready | NotSent | None:
        """Decide, holding the claim: a request to send, a reason not to, or None (claim
        again under the provider's own id). Every exit but "send" withdraws the claim."""
        request = current.request
        try:
            earlier = await self.journal.latest_for(
                request.provider, request.order_id, before_id=attempt_id
            )
            stop = self._earlier_decides(request, earlier, resume=resume)
            if stop is not None:
                await self.journal.withdraw(attempt_id, stop.message)
                return stop
            if earlier is not None and earlier.outcome is Outcome.ERROR:
                current.notes.append(
                    f"sent again: attempt #{earlier.id} failed ({earlier.message or 'error'})"
                )
            provider = self._provider(request.provider)
            try:
                order = await provider.lookup(request.order_id)
            except ProviderError as exc:
                message = f"not sent: the order could not be looked up first ({exc.message})"
                await self.journal.withdraw(attempt_id, message)
                return NotSent(
                    request,
                    Why.LOOKUP_FAILED,
                    message,
                    outcome=CancelOutcome(
                        provider=request.provider,
                        order_id=request.order_id,
                        outcome=Outcome.ERROR,
                        http_status=exc.http_status,
                        message=message,
                    ),
                )
            if order is None:
                message = f"{provider.label} has no order {request.order_id}; nothing was sent"
                await self.journal.withdraw(attempt_id, message)
                return NotSent(
                    request,
                    Why.NOT_FOUND,
                    message,
                    outcome=CancelOutcome(
                        provider=request.provider,
                        order_id=request.order_id,
                        outcome=Outcome.NOT_FOUND,
                        message=message,
                    ),
                )
            if order.order_id != request.order_id:
                await self.journal.withdraw(
                    attempt_id, f"{request.order_id} is {provider.label} order {order.order_id}"
                )
                current.notes.append(f"{request.order_id} is order {order.order_id}")
                current.request = request.model_copy(update={"order_id": order.order_id})
                return None
            if order.cancelled and not request.items:
                message = (
                    f"{request.order_id} is already cancelled ({order.status or 'cancelled'}); "
                    "nothing was sent"
                )
                await self.journal.withdraw(attempt_id, message)
                return NotSent(request, Why.ALREADY_CANCELLED, message)
            try:
                resolved = resolve_items(request, order)
            except InvalidInput as exc:
                await self.journal.withdraw(attempt_id, f"not sent: {exc}")
                raise
            return _Ready(request, resolved, order)
        except BaseException:
            # Cancelled, or a bug: the claim must not outlive this attempt if nothing left.
            await self._withdraw_quietly(attempt_id, "withdrawn: stopped before sending")
            raise

    async def _withdraw_quietly(self, attempt_id: int, why: str) -> None:
        try:
            await asyncio.shield(self.journal.withdraw(attempt_id, why))
        except Exception:
            # Already withdrawn, or the journal is gone: a dead claim is taken over later.
            log.debug("could not withdraw attempt %s", attempt_id, exc_info=True)

    def _earlier_decides(
        self, request: CancelRequest, earlier: Attempt | None, *, resume: bool
    ) -> NotSent | None:
        if earlier is None or earlier.state is not AttemptState.FINISHED:
            return None
        outcome = earlier.outcome
        if (
            resume
            and earlier.settled
            and outcome is not Outcome.ERROR
            and _same_items(earlier.items, request.items)
        ):
            return NotSent(
                request,
                Why.SETTLED_EARLIER,
                f"settled earlier: attempt #{earlier.id} was {outcome.value.replace('_', ' ')}",
                attempt=earlier,
                outcome=earlier.as_outcome(),
            )
        provider = self._provider(request.provider)
        if (
            provider.cancel_is_async
            and outcome in (Outcome.COMPLETE, Outcome.PARTIAL)
            and not earlier.confirmed
            and earlier.lease_until is not None
            and self._clock()
            < earlier.lease_until + timedelta(seconds=self.settings.confirm_timeout_s)
        ):
            return NotSent(
                request,
                Why.AWAITING_CONFIRMATION,
                f"{self.holder_words(earlier)} initiated the cancel and {provider.label} has "
                "not confirmed it yet; nothing was sent. Re-check it instead.",
                attempt=earlier,
                outcome=earlier.as_outcome(),
            )
        return None

    async def _send(
        self, ready: _Ready, attempt_id: int, current: _Round, *, confirm: bool
    ) -> AsyncIterator[CancelEvent]:
        request, before = ready.request, ready.before
        provider = self._provider(request.provider)
        lease = self._send_lease(request.provider)
        try:
            await self.journal.mark_sent(attempt_id, before, lease_until=lease)
        except BaseException:
            # Stopped (or failed) before the write-ahead: nothing left, so the claim must not
            # outlive us; a write-ahead that landed anyway stays ``sent``, reconciled later.
            await self._withdraw_quietly(attempt_id, "withdrawn: stopped before sending")
            raise
        notes = tuple(current.notes)
        yield Sending(ready.resolved, attempt_id, before, notes)
        started = time.perf_counter()
        # If this task is cancelled mid-flight (ctrl-c, a newer action) the journal keeps
        # the attempt as ``sent``: open, unknown, reconciled before anything is sent again.
        outcome = await provider.cancel(ready.resolved)
        outcome = outcome.model_copy(update={"attempt_id": attempt_id})
        if outcome.outcome is Outcome.UNKNOWN:
            outcome = await self._settle_from_lookup(
                outcome, request, before, window_over=False, window_end=lease
            )
        duration_ms = (time.perf_counter() - started) * 1000
        try:
            recorded = await self.journal.finish(attempt_id, outcome, duration_ms)
            if not recorded:
                outcome = outcome.model_copy(
                    update={
                        "warnings": [
                            *outcome.warnings,
                            f"attempt {attempt_id} had been reconciled by another process "
                            "before this answer came; the journal keeps both",
                        ]
                    }
                )
        except JournalError as exc:
            # The request left: its answer must still reach the operator. The attempt stays
            # ``sent`` in the journal (open, unknown), reconciled before anything is re-sent.
            log.error("journal: could not record attempt %s: %s", attempt_id, exc)
            note = f"journal write failed; attempt {attempt_id} reads as unknown there"
            outcome = outcome.model_copy(update={"warnings": [*outcome.warnings, note]})
        follow = (
            confirm
            and provider.cancel_is_async
            and next_step(outcome) is NextStep.RECHECK
        )
        yield Answered(request, outcome, confirming=follow)
        if follow:
            async for event in self._follow(request, outcome, before, lease):
                yield event
                outcome = event.outcome
        yield Done(request, outcome, notes)

    async def _follow(
        self, request: CancelRequest, outcome: CancelOutcome, before: Order, lease: datetime
    ) -> AsyncIterator[Updated]:
        """Poll the look-up until it confirms an initiated cancel (or settles an unknown)."""
        poll = self.settings.confirm_poll_s
        limit = self.settings.confirm_timeout_s
        deadline = time.monotonic() + limit
        current = outcome
        polls = 0
        assert outcome.attempt_id is not None
        while next_step(current) is NextStep.RECHECK:
            if time.monotonic() >= deadline:
                recorded = await self.journal.get(outcome.attempt_id)
                if recorded is not None and recorded.confirmed:
                    # Another process (a re-check elsewhere) confirmed it meanwhile.
                    yield Updated(request, recorded.as_outcome(), polls)
                    return
                gave_up = with_recheck_note(
                    current, f"not confirmed after {limit:.0f} s; re-check later"
                )
                await self.journal.settle(outcome.attempt_id, gave_up)
                yield Updated(request, gave_up, polls)
                return
            await self._sleep(poll)
            polls += 1
            checked = await self._settle_from_lookup(
                current, request, before, window_over=False, window_end=lease
            )
            if checked.outcome != current.outcome or checked.confirmed != current.confirmed:
                current = checked
                await self.journal.settle(outcome.attempt_id, current)
                yield Updated(request, current, polls)

    # -- reconciliation --------------------------------------------------------------------

    async def _settle_from_lookup(
        self,
        outcome: CancelOutcome,
        request: CancelRequest,
        before: Order | None,
        *,
        window_over: bool,
        window_end: datetime | None = None,
    ) -> CancelOutcome:
        """``outcome`` as a look-up of the order now, compared with ``before``, settles it."""
        provider = self._provider(request.provider)
        try:
            now = await provider.lookup(request.order_id)
        except ProviderError as exc:
            return with_recheck_note(outcome, f"look-up failed ({exc.message})")
        if now is None:
            return with_recheck_note(outcome, "the order is not found now")
        evidence = compare(before, now, request)
        return settle_outcome(outcome, evidence, window_over=window_over, window_end=window_end)

    async def reconcile(self, attempt: Attempt) -> Reconciled:
        """Settle an open or unconfirmed attempt by looking its order up (never a cancel)."""
        request = attempt.as_request()
        if attempt.state is AttemptState.WITHDRAWN:
            return Reconciled(Verdict.SETTLED, attempt, "nothing was sent")
        if self.in_flight(attempt):
            return Reconciled(Verdict.IN_FLIGHT, attempt, "it is still being sent")
        if attempt.state is AttemptState.CLAIMED:
            # Its process died before writing ahead: nothing left; release the claim.
            await self._withdraw_quietly(
                attempt.id, "withdrawn: its process stopped before sending anything"
            )
            fresh = await self.journal.get(attempt.id) or attempt
            return Reconciled(Verdict.NOT_APPLIED, fresh, "nothing was sent by it")
        if next_step(attempt.as_outcome()) is not NextStep.RECHECK:
            return Reconciled(Verdict.SETTLED, attempt, f"it is {attempt.outcome.value}")
        window_end = attempt.lease_until
        window_over = window_end is None or self._clock() >= window_end
        checked = await self._settle_from_lookup(
            attempt.as_outcome(),
            request,
            attempt.before,
            window_over=window_over and attempt.open,
            window_end=window_end,
        )
        changed = await self.journal.settle(attempt.id, checked, only_if_open=attempt.open)
        fresh = await self.journal.get(attempt.id) or attempt
        if not changed:
            return Reconciled(Verdict.SETTLED, fresh, "another process settled it meanwhile")
        words = next(
            (w.removeprefix(RECHECK_PREFIX) for w in reversed(checked.warnings)
             if w.startswith(RECHECK_PREFIX)),
            checked.message,
        )
        if checked.outcome is Outcome.ERROR:
            return Reconciled(Verdict.NOT_APPLIED, fresh, words)
        if checked.outcome is Outcome.UNKNOWN:
            return Reconciled(Verdict.UNKNOWN, fresh, words)
        if not checked.confirmed and attempt.outcome is not Outcome.UNKNOWN:
            return Reconciled(Verdict.UNKNOWN, fresh, words)
        return Reconciled(Verdict.APPLIED, fresh, words)


def settle_outcome(
    outcome: CancelOutcome,
    evidence: Evidence,
    *,
    window_over: bool,
    window_end: datetime | None = None,
) -> CancelOutcome:
    """``outcome`` (unknown, or initiated and unconfirmed) settled by ``evidence``."""
    if outcome.outcome is Outcome.UNKNOWN:
        if evidence.change is Change.APPLIED:
            return outcome.model_copy(
                update={
                    "outcome": Outcome.COMPLETE,
                    "confirmed": True,
                    "cancelled": evidence.cancelled,
                    "message": outcome.message or "applied (shown by a look-up)",
                    "warnings": [
                        *[w for w in outcome.warnings if not w.startswith(RECHECK_PREFIX)],
                        RECHECK_PREFIX + f"the look-up shows it applied: {evidence.words}",
                    ],
                }
            )
        if evidence.change is Change.PARTLY:
            return outcome.model_copy(
                update={
                    "outcome": Outcome.PARTIAL,
                    "confirmed": True,
                    "cancelled": evidence.cancelled,
                    "warnings": [
                        *[w for w in outcome.warnings if not w.startswith(RECHECK_PREFIX)],
                        RECHECK_PREFIX + f"the look-up shows it partly applied: {evidence.words}",
                    ],
                }
            )
        if evidence.change is Change.PENDING:
            return with_recheck_note(
                outcome.model_copy(update={"outcome": Outcome.COMPLETE, "confirmed": False}),
                "the look-up shows the cancellation in progress",
            )
        if evidence.change is Change.UNTOUCHED and window_over:
            return outcome.model_copy(
                update={
                    "outcome": Outcome.ERROR,
                    "confirmed": False,
                    "message": "not applied: after its window the look-up shows the order "
                    "untouched",
                    "warnings": [
                        *[w for w in outcome.warnings if not w.startswith(RECHECK_PREFIX)],
                        RECHECK_PREFIX + f"untouched after its window ({evidence.words}); "
                        "it may be sent again",
                    ],
                }
            )
        if evidence.change is Change.UNTOUCHED:
            until = f" until {_clock_text(window_end)}" if window_end is not None else ""
            return with_recheck_note(
                outcome, f"untouched so far; it may still take effect{until}"
            )
        return with_recheck_note(outcome, evidence.words)
    # Initiated (asynchronous) and not yet confirmed: confirmed by matching, not counting.
    if evidence.change is Change.APPLIED or (
        evidence.change is Change.PARTLY
        and len(evidence.cancelled) >= max(1, len(outcome.cancelled))
    ):
        return outcome.model_copy(update={"confirmed": True})
    return with_recheck_note(outcome, f"not confirmed yet ({evidence.words})")


def resolve_items(request: CancelRequest, order: Order) -> CancelRequest:
    """``request`` with every item's quantity filled in from ``order`` (None: all that is
    open), or :class:`InvalidInput` when an item is not on the order or has less left."""
    if not request.items:
        return request
    lines = {line.id: line for line in order.lines}
    resolved: list[ItemSelection] = []
    for item in request.items:
        line = lines.get(item.id)
        if line is None:
            known = ", ".join(sorted(lines)[:8]) or "none"
            raise InvalidInput(
                f"item {item.id} is not on {order.label} order {order.order_id} "
                f"(its items: {known}); nothing was sent"
            )
        left = line.quantity
        if left is not None and left <= 0:
            raise InvalidInput(f"item {item.id}: nothing left to cancel; nothing was sent")
        if item.quantity is not None and left is not None and item.quantity > left:
            raise InvalidInput(
                f"item {item.id}: {item.quantity} asked, only {left} left to cancel; "
                "nothing was sent"
            )
        resolved.append(ItemSelection(id=item.id, quantity=item.quantity or left))
    return request.model_copy(update={"items": tuple(resolved)})


__all__ = [
    "HOLDING",
    "Answered",
    "CancelEvent",
    "CancelLifecycle",
    "CancelledLine",
    "Done",
    "NextStep",
    "NotSent",
    "Reconciled",
    "Sending",
    "Updated",
    "Verdict",
    "Why",
    "follow_up",
    "next_step",
    "resolve_items",
    "settle_outcome",
]
