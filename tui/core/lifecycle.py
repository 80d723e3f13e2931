"""One cancel lifecycle for every front end: claim → look up → write ahead → send → answer →
confirm (asynchronous providers) or reconcile (unknown) → settle.

Each cancel is one stream of :class:`CancelEvent`\\ s that ends with :class:`Done` (a request
was sent; its outcome as far as it is known) or :class:`NotSent` (nothing left this process,
and why). The CLI's ``cancel`` and ``batch``, the console's lookup and batch screens and its
history re-check all consume these streams; none of them decides on its own whether to send.

The rules, in order:

1. **Claim.** One journal transaction takes the claim on provider + order, or names the open
   attempt that holds it. An attempt in flight — its process alive on this host, or its lease
   not yet over on another (by the journal's clock) — holds the order: nothing is sent
   (:attr:`Why.HELD`).
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
4. **Write ahead, durably, with that look-up**, then send — within a budget. The cancel,
   retries and all (a 429's wait, a token fetched again), must end within
   :data:`SEND_BUDGET_TIMEOUTS` times the provider's ``timeout_s`` of the write-ahead, or it
   is cut off and its outcome is unknown. The lease written ahead is that budget plus the
   provider's ``settle_s``: so no request of a live process leaves after its lease says the
   attempt is over, and another machine that reads it over may reconcile it.
5. **Stopped mid-flight** (ctrl-c, the console's ``s``): the attempt is finished
   ``unknown`` and its lease shortened to the settle time from now — it is reconciled by a
   look-up before anything is sent again, by this process or any other.

One idea, kept whole: the cancel lifecycle (its events and pure rules live beside it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tui.core.cancel_events import (
    HOLDING,
    Answered,
    CancelEvent,
    Done,
    NotSent,
    Reconciled,
    Sending,
    Updated,
    follow_up,
    next_step,
)
from tui.core.domain import (
    CancelOutcome,
    CancelRequest,
    ItemSelection,
    Order,
    Outcome,
)
from tui.core.elapsed import elapsed_s
from tui.core.errors import ProviderError
from tui.core.evidence import compare
from tui.core.holders import ACTIVE, CLAIMING, in_flight, this_process
from tui.core.identifiers import InvalidInput
from tui.core.journal.model import Attempt, AttemptState, Claim, Holder
from tui.core.outcome_recorder import STOPPED_IN_FLIGHT, OutcomeRecorder
from tui.core.providers.http import SEND_BY
from tui.core.settling import (
    RECHECK_PREFIX,
    clock_text,
    resolve_items,
    settle_outcome,
    with_recheck_note,
)
from tui.core.vocabulary import NextStep, Verdict, Why

if TYPE_CHECKING:
    from tui.core.journal.protocol import AttemptJournal
    from tui.core.providers.base import OrderProvider
    from tui.core.settings import Settings

log = logging.getLogger("stopline.lifecycle")

MAX_ROUNDS = 4
"""Claims retried after an earlier attempt was closed, or an identifier resolved."""

SEND_BUDGET_TIMEOUTS = 3
"""A cancel's whole exchange — every retry, a token fetched again, a rate limit's wait — ends
within this many times the provider's ``timeout_s`` (Stopline's own bound, not a vendor's):
one try, a 401 with a fresh token and the try again fit."""


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
        self.recorder = OutcomeRecorder(journal, self._clock)

    async def aclose(self) -> None:
        """Before the journal closes: a last try for any answer it refused meanwhile."""
        await self.recorder.aclose()

    def now(self) -> datetime:
        """The journal's time (every machine on a shared journal compares on it)."""
        return self._clock()

    # -- who holds what --------------------------------------------------------------------

    def in_flight(self, attempt: Attempt) -> bool:
        """Whether ``attempt`` may be on its way right now (so it must not be looked at as
        finished): claimed or sent by a live process — this one included — or, on another
        host, within its lease."""
        return in_flight(attempt, self.journal.where, now=self._clock())

    def _dead_claim(self, attempt: Attempt) -> bool:
        """Asked inside a claim about the claimed row it meets (the asking claim counts
        itself out of this process's claims on the order)."""
        return attempt.state is AttemptState.CLAIMED and not in_flight(
            attempt, self.journal.where, now=self._clock(), claiming=1
        )

    def holder_words(self, attempt: Attempt) -> str:
        where = f" on {attempt.host}" if attempt.host else ""
        pid = f" (pid {attempt.pid})" if attempt.pid else ""
        since = clock_text(attempt.started_at)
        return f"attempt #{attempt.id} by {attempt.who}{where}{pid} since {since}"

    def _claim_lease(self, key: str) -> datetime:
        timeout = self.settings.section(key).timeout_s
        return self._clock() + timedelta(seconds=timeout * 3 + 10)

    def _send_budget_s(self, key: str) -> float:
        return SEND_BUDGET_TIMEOUTS * self.settings.section(key).timeout_s

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
            active = (self.journal.where, attempt_id)  # joined by _claim
            try:
                step = await self._under_claim(current, claim, resume=resume)
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
        yield NotSent(
            current.request,
            Why.HELD,
            f"{current.request.order_id}: the claim changed hands {MAX_ROUNDS} times while "
            "Stopline tried to take it; nothing was sent. Try again in a moment.",
        )

    async def _claim(self, request: CancelRequest, holder: Holder) -> Claim:
        """Claim — a claim taken joins :data:`ACTIVE` before it returns. While it is being
        taken it counts in :data:`CLAIMING`, so another claim of this process on the same
        order does not read it as a dead process's. If this task is cancelled meanwhile, let
        the claim finish (it may be committing on the journal's side) and release it: a
        stopped cancel leaves no claim behind that another process would read as held."""
        key = (self.journal.where, request.provider, request.order_id)
        CLAIMING[key] += 1
        try:
            pending = asyncio.ensure_future(
                self.journal.claim(
                    request,
                    holder,
                    lease_until=self._claim_lease(request.provider),
                    take_over=self._dead_claim,
                )
            )
            try:
                claim = await asyncio.shield(pending)
            except asyncio.CancelledError:
                try:
                    claim = await pending
                except Exception:
                    raise asyncio.CancelledError from None
                if claim.attempt_id is not None:
                    await self._withdraw_quietly(
                        claim.attempt_id, "withdrawn: stopped before sending"
                    )
                raise
            if claim.attempt_id is not None:
                ACTIVE.add((self.journal.where, claim.attempt_id))
            return claim
        finally:
            CLAIMING[key] -= 1
            if CLAIMING[key] <= 0:
                del CLAIMING[key]

    async def _open_attempt_first(self, current: _Round, held_by: Attempt) -> NotSent | None:
        """An open attempt holds the order: stop, or reconcile it (None: claim again)."""
        request = current.request
        if held_by.id in self.recorder.unrecorded:
            # Its answer came to this process and waits for the journal (which has just
            # taken this claim's write): written now, it decides on the next round.
            await self.recorder.flush()
            if held_by.id not in self.recorder.unrecorded:
                return None
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
            if not _same_items(result.attempt.items, request.items):
                # It took effect, but asked for other items: what it did is not this
                # request's answer — the look-up under the next claim says what is left.
                current.notes.append(
                    f"attempt #{held_by.id} (unknown until now) took effect: {result.words}"
                )
                return None
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
        self, current: _Round, claim: Claim, *, resume: bool
    ) -> _Ready | NotSent | None:
        """Decide, holding the claim: a request to send, a reason not to, or None (claim
        again under the provider's own id). Every exit but "send" withdraws the claim."""
        request = current.request
        assert claim.attempt_id is not None
        attempt_id = claim.attempt_id
        try:
            earlier = claim.earlier  # read in the claim's own transaction
            stop = await self._earlier_decides(request, earlier, resume=resume)
            if stop is not None:
                await self.journal.withdraw(attempt_id, stop.message)
                return stop
            if earlier is not None and earlier.outcome is Outcome.ERROR:
                current.notes.append(
                    f"sent again: attempt #{earlier.id} failed ({earlier.message or 'error'})"
                )
            provider = self._provider(request.provider)
            budget = self._send_budget_s(request.provider)
            try:
                # Bounded like the send: the claim's lease must outlast it.
                async with asyncio.timeout(budget):
                    order = await provider.lookup(request.order_id)
            except TimeoutError:
                return await self._not_sent_by_lookup(
                    attempt_id,
                    request,
                    Why.LOOKUP_FAILED,
                    "not sent: the order could not be looked up first (no answer within "
                    f"{budget:g} s)",
                    Outcome.ERROR,
                )
            except ProviderError as exc:
                return await self._not_sent_by_lookup(
                    attempt_id,
                    request,
                    Why.LOOKUP_FAILED,
                    f"not sent: the order could not be looked up first ({exc.message})",
                    Outcome.ERROR,
                    exc.http_status,
                )
            if order is None:
                return await self._not_sent_by_lookup(
                    attempt_id,
                    request,
                    Why.NOT_FOUND,
                    f"{provider.label} has no order {request.order_id}; nothing was sent",
                    Outcome.NOT_FOUND,
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

    async def _not_sent_by_lookup(
        self,
        attempt_id: int,
        request: CancelRequest,
        why: Why,
        message: str,
        outcome: Outcome,
        http_status: int | None = None,
    ) -> NotSent:
        """Release the claim: the look-up before sending says nothing can be sent."""
        await self.journal.withdraw(attempt_id, message)
        return NotSent(
            request,
            why,
            message,
            outcome=CancelOutcome(
                provider=request.provider,
                order_id=request.order_id,
                outcome=outcome,
                http_status=http_status,
                message=message,
            ),
        )

    async def _withdraw_quietly(self, attempt_id: int, why: str) -> None:
        """Release the claim whatever stops us: withdrawn now, or — the journal refusing —
        in the background until it takes it (a claim of a live process holds its order)."""
        try:
            await self.recorder.withdraw(attempt_id, why)
        except Exception:
            log.debug("could not withdraw attempt %s", attempt_id, exc_info=True)

    async def _earlier_decides(
        self, request: CancelRequest, earlier: Attempt | None, *, resume: bool
    ) -> NotSent | None:
        """What the order's earlier attempts say before anything is sent: a batch run again
        skips what settled earlier for the same items (any earlier attempt, not only the
        latest: another cancel of the order may have come between); an initiated
        asynchronous cancel is awaited until a look-up confirms it — never sent again; an
        unknown that no longer holds the order (one imported while another attempt held it)
        is reconciled first, like one that does."""
        if earlier is None:
            return None
        if earlier.outcome is Outcome.UNKNOWN and not earlier.open:
            checked = await self.reconcile(earlier)
            if checked.verdict is Verdict.APPLIED and _same_items(
                checked.attempt.items, request.items
            ):
                return NotSent(
                    request,
                    Why.EARLIER_APPLIED,
                    f"attempt #{earlier.id} (unknown until now) took effect: "
                    f"{checked.words}; nothing new was sent",
                    attempt=checked.attempt,
                    outcome=checked.attempt.as_outcome(),
                )
            if checked.verdict in (Verdict.UNKNOWN, Verdict.IN_FLIGHT):
                return NotSent(
                    request,
                    Why.EARLIER_UNKNOWN,
                    f"{self.holder_words(earlier)} has no known outcome: {checked.words}. "
                    "Nothing was sent; it is reconciled before anything is sent again.",
                    attempt=checked.attempt,
                )
            return None
        if earlier.state is not AttemptState.FINISHED:
            return None
        if resume:
            done = await self._settled_for_same_items(request, earlier)
            if done is not None:
                return NotSent(
                    request,
                    Why.SETTLED_EARLIER,
                    f"settled earlier: attempt #{done.id} was "
                    f"{done.outcome.value.replace('_', ' ')}",
                    attempt=done,
                    outcome=done.as_outcome(),
                )
        provider = self._provider(request.provider)
        if (
            provider.cancel_is_async
            and earlier.outcome in (Outcome.COMPLETE, Outcome.PARTIAL)
            and not earlier.confirmed
        ):
            checked = await self.reconcile(earlier)
            if checked.attempt.confirmed or checked.verdict is Verdict.NOT_APPLIED:
                # It took effect, or the look-up shows it cannot: the look-up under the
                # claim says what is left to cancel.
                return None
            return NotSent(
                request,
                Why.AWAITING_CONFIRMATION,
                f"{self.holder_words(earlier)} initiated the cancel and {provider.label} has "
                f"not confirmed it yet ({checked.words}); nothing was sent — an initiated "
                f"cancel is not sent again. Re-check it, or take it up with {provider.label}.",
                attempt=checked.attempt,
                outcome=checked.attempt.as_outcome(),
            )
        return None

    async def _settled_for_same_items(
        self, request: CancelRequest, latest: Attempt
    ) -> Attempt | None:
        """The latest earlier attempt that settled (not as an error) asking for the same
        items as ``request``."""

        def same(attempt: Attempt) -> bool:
            return (
                attempt.state is AttemptState.FINISHED
                and attempt.settled
                and attempt.outcome is not Outcome.ERROR
                and _same_items(attempt.items, request.items)
            )

        if same(latest):
            return latest
        earlier = await self.journal.attempts(
            limit=None, provider=request.provider, order_id=request.order_id
        )
        return next((a for a in earlier if a.id < latest.id and same(a)), None)

    async def _send(
        self, ready: _Ready, attempt_id: int, current: _Round, *, confirm: bool
    ) -> AsyncIterator[CancelEvent]:
        request, before = ready.request, ready.before
        provider = self._provider(request.provider)
        section = self.settings.section(request.provider)
        budget = self._send_budget_s(request.provider)
        # The deadlines are taken before the write-ahead and the lease from the same moment,
        # so the lease ends at least the settle time after the last byte may leave.
        cut_off_at = asyncio.get_running_loop().time() + budget
        send_by = elapsed_s() + budget
        lease = self._clock() + timedelta(seconds=budget + section.settle_s)
        try:
            await self.journal.mark_sent(attempt_id, before, lease_until=lease)
        except BaseException:
            # Stopped (or failed) during the write-ahead: nothing left, so the attempt must
            # not outlive us as held or unknown.
            await self.recorder.unsent(attempt_id, request)
            raise
        notes = tuple(current.notes)
        yield Sending(ready.resolved, attempt_id, before, notes)
        started = time.perf_counter()
        answer: CancelOutcome | None = None
        answered = False
        try:
            budget_set = SEND_BY.set(send_by)
            try:
                async with asyncio.timeout_at(cut_off_at):
                    outcome = await provider.cancel(ready.resolved)
            except TimeoutError:
                outcome = CancelOutcome(
                    provider=request.provider,
                    order_id=request.order_id,
                    outcome=Outcome.UNKNOWN,
                    message=f"no answer within the {budget:g} s allowed for sending, "
                    "retries included",
                )
            finally:
                SEND_BY.reset(budget_set)
            answer = outcome = outcome.model_copy(update={"attempt_id": attempt_id})
            answered = outcome.outcome is not Outcome.UNKNOWN
            if not answered:
                answer = outcome = await self._settle_from_lookup(
                    outcome, request, before, window_over=False, window_end=lease
                )
            duration_ms = (time.perf_counter() - started) * 1000
            outcome = await self.recorder.answer(
                attempt_id, outcome, duration_ms, answered=answered
            )
        except BaseException as exc:
            # Stopped (or broken) after the request left — during the send, the look-up that
            # settles an unknown, or the journal write: what is known is recorded, never
            # left "sent" under a process that sends nothing more for it.
            await self.recorder.stopped(
                attempt_id,
                request,
                answer,
                (time.perf_counter() - started) * 1000,
                section.settle_s,
                answered=answered,
                why=STOPPED_IN_FLIGHT
                if isinstance(exc, asyncio.CancelledError)
                else f"failed while the request was in flight ({type(exc).__name__})",
            )
            raise
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
        """Poll the look-up until it confirms an initiated cancel (or settles an unknown).
        What it sees is written only if nobody else wrote the attempt since the follower
        last did: once another process has settled it (a re-check, or a reconciliation that
        found it not applied and sent again), that stands and the following ends."""
        poll = self.settings.confirm_poll_s
        limit = self.settings.confirm_timeout_s
        deadline = time.monotonic() + limit
        current = outcome
        polls = 0
        attempt_id = outcome.attempt_id
        assert attempt_id is not None
        seen = await self.journal.get(attempt_id)
        while next_step(current) is NextStep.RECHECK:
            if time.monotonic() >= deadline:
                current = with_recheck_note(
                    current, f"not confirmed after {limit:.0f} s; re-check later"
                )
            else:
                await self._sleep(poll)
                polls += 1
                checked = await self._settle_from_lookup(
                    current, request, before, window_over=False, window_end=lease
                )
                if checked.outcome == current.outcome and checked.confirmed == current.confirmed:
                    continue
                current = checked
            written = seen is not None and await self._settle_unless_settled(seen, current)
            fresh = await self.journal.get(attempt_id)
            if not written:
                if fresh is not None:
                    note = (
                        f"attempt {attempt_id} was settled by another process meanwhile: "
                        f"{fresh.outcome.value}{' (confirmed)' if fresh.confirmed else ''}"
                    )
                    settled = fresh.as_outcome()
                    current = settled.model_copy(update={"warnings": [*settled.warnings, note]})
                yield Updated(request, current, polls)
                return
            seen = fresh
            yield Updated(request, current, polls)
            if time.monotonic() >= deadline:
                return

    async def _settle_unless_settled(self, seen: Attempt, outcome: CancelOutcome) -> bool:
        """Write ``outcome`` over the attempt as last ``seen`` — compare and set — unless
        another process has meanwhile changed what it stands at (its state, outcome,
        confirmation, or whether it holds its order): that stands. A write that changed
        none of these (a re-check that found nothing new) does not count."""

        def standing(a: Attempt) -> tuple[object, ...]:
            return (a.state, a.outcome, a.confirmed, a.open)

        for _ in range(3):
            if await self.journal.settle(seen.id, outcome, if_version=seen.version):
                return True
            fresh = await self.journal.get(seen.id)
            if fresh is None or standing(fresh) != standing(seen):
                return False
            seen = fresh
        return False

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
        """``outcome`` as a look-up of the order now, compared with ``before``, settles it.
        The look-up is bounded like a send (a claim may be waiting on it)."""
        provider = self._provider(request.provider)
        budget = self._send_budget_s(request.provider)
        try:
            async with asyncio.timeout(budget):
                now = await provider.lookup(request.order_id)
        except TimeoutError:
            return with_recheck_note(outcome, f"look-up gave no answer within {budget:g} s")
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
        window_over = attempt.lease_over(self._clock())
        checked = await self._settle_from_lookup(
            attempt.as_outcome(),
            request,
            attempt.before,
            window_over=window_over,
            window_end=window_end,
        )
        changed = await self._settle_unless_settled(attempt, checked)
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




__all__ = [
    "HOLDING",
    "Answered",
    "CancelEvent",
    "CancelLifecycle",
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
    "with_recheck_note",
]
