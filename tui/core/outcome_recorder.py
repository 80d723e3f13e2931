"""Getting what happened to a sent cancel into the journal, whatever stops it.

A process that lives on (the console, for hours) must never leave one of its attempts
``sent`` once it no longer works on it: on its own host a ``sent`` row of a live process
reads as *being cancelled right now*, and holds its order for every other process. So:

* an answer the journal refuses to take (a lock held past the busy timeout, a dropped
  connection) is kept and written again in the background until the journal takes it —
  meanwhile the attempt holds its order in this process as one in flight does, and once
  taken, an answer that it cancelled overrules a reconciliation made meanwhile elsewhere
  as the answer itself would have;
* a cancel stopped after the request left (ctrl-c, the console's ``s``) is finished with
  what is known — the provider's answer if it came, else ``unknown`` with its lease cut to
  the provider's settle time from now, since this process sends nothing more for it;
* a write-ahead interrupted before the request left is closed as not applied (this process
  knows that nothing was sent), or its claim withdrawn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from tui.core.domain import CancelOutcome, CancelRequest, Outcome
from tui.core.holders import KEPT
from tui.core.journal.model import AttemptState, JournalError, UnknownAttempt
from tui.core.journal.rows import OVERRULED_WARNING

if TYPE_CHECKING:
    from collections.abc import Callable

    from tui.core.journal.protocol import AttemptJournal

log = logging.getLogger("stopline.lifecycle")

RETRY_DELAYS_S = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
"""Waits between background writes of an answer the journal refused (the last repeats)."""

STOPPED_IN_FLIGHT = "stopped while the request was in flight"
NOTHING_SENT = "stopped before the request left: nothing was sent"


@dataclass(frozen=True)
class _Unrecorded:
    """An end the journal has not taken yet: an outcome to finish the attempt with, or
    (``withdraw``) the words of a claim to withdraw."""

    outcome: CancelOutcome | None
    duration_ms: float = 0.0
    lease_until: datetime | None = None
    answered: bool = True
    """The provider's own answer (else read from a look-up: it never overrules)."""
    withdraw: str | None = None


class OutcomeRecorder:
    """Writes the end of every sent attempt into ``journal``, now or, if it refuses, later."""

    def __init__(self, journal: AttemptJournal, clock: Callable[[], datetime]) -> None:
        self.journal = journal
        self._clock = clock
        self._unrecorded: dict[int, _Unrecorded] = {}
        self._retrying: asyncio.Task[None] | None = None

    @property
    def unrecorded(self) -> list[int]:
        """The attempts whose end the journal has not taken yet (written again meanwhile)."""
        return sorted(self._unrecorded)

    # -- the answer ------------------------------------------------------------------------

    async def answer(
        self, attempt_id: int, outcome: CancelOutcome, duration_ms: float, *, answered: bool
    ) -> CancelOutcome:
        """Record the outcome — the provider's answer (``answered``), or what a look-up read
        after no answer came; it comes back with a warning when another process had settled
        the attempt first (a look-up's reading then gives way to that settlement), or when
        the journal refused it (then it is written again in the background)."""
        try:
            recorded = await self.journal.finish(
                attempt_id, outcome, duration_ms, answered=answered
            )
        except JournalError as exc:
            log.error("journal: could not record attempt %s: %s", attempt_id, exc)
            self._later(attempt_id, _Unrecorded(outcome, duration_ms, answered=answered))
            note = (
                f"journal write failed; attempt {attempt_id} reads as unknown there until "
                "the journal takes it (it is written again meanwhile)"
            )
            return outcome.model_copy(update={"warnings": [*outcome.warnings, note]})
        if recorded:
            return outcome
        if not answered:
            return await self._gave_way(attempt_id, outcome)
        return await self._after_reconciled(attempt_id, outcome)

    async def _gave_way(self, attempt_id: int, outcome: CancelOutcome) -> CancelOutcome:
        """Another process settled the attempt before this one's look-up did: its settlement
        is what happened to this attempt (the look-up may have seen another attempt's
        cancel)."""
        kept = await self.journal.get(attempt_id)
        if kept is None:
            return outcome
        settled = kept.as_outcome()
        note = (
            f"attempt {attempt_id} was settled by another process meanwhile "
            f"({kept.outcome.value}{', confirmed' if kept.confirmed else ''}); that stands"
        )
        return settled.model_copy(update={"warnings": [*settled.warnings, note]})

    async def _after_reconciled(self, attempt_id: int, outcome: CancelOutcome) -> CancelOutcome:
        """The answer came after another process had reconciled the attempt: say so, and
        what the journal now keeps."""
        kept = await self.journal.get(attempt_id)
        if kept is not None and OVERRULED_WARNING in kept.warnings:
            note = f"attempt {attempt_id}: {OVERRULED_WARNING}"
        else:
            kept_as = kept.outcome.value if kept is not None else "unknown"
            note = (
                f"attempt {attempt_id} had been reconciled by another process ({kept_as}) "
                "before this answer came; the journal keeps both"
            )
        return outcome.model_copy(update={"warnings": [*outcome.warnings, note]})

    # -- stopped ---------------------------------------------------------------------------

    async def stopped(
        self,
        attempt_id: int,
        request: CancelRequest,
        answer: CancelOutcome | None,
        duration_ms: float,
        settle_s: float,
        *,
        answered: bool = True,
        why: str = STOPPED_IN_FLIGHT,
    ) -> None:
        """The cancel was stopped after its request left: finish the attempt with
        ``answer`` if one is known, else ``unknown`` with the lease cut to ``settle_s`` from
        now. Shielded: it completes even as the stop goes on. A row already finished by
        the time the stop arrived is left as it is."""
        if answer is None or answer.outcome is Outcome.UNKNOWN:
            end = _Unrecorded(
                CancelOutcome(
                    provider=request.provider,
                    order_id=request.order_id,
                    outcome=Outcome.UNKNOWN,
                    message=why,
                ),
                duration_ms,
                self._clock() + timedelta(seconds=settle_s),
                answered=False,
            )
        else:
            end = _Unrecorded(answer, duration_ms, answered=answered)
        with contextlib.suppress(Exception):
            await asyncio.shield(self._record_stop(attempt_id, end))

    async def _record_stop(self, attempt_id: int, end: _Unrecorded) -> None:
        try:
            await self._write(attempt_id, end)
        except JournalError as exc:
            log.warning("journal: could not record stopped attempt %s: %s", attempt_id, exc)
            self._later(attempt_id, end)

    async def _write(self, attempt_id: int, end: _Unrecorded) -> None:
        """Write ``end`` if the attempt still waits for it: a claim still claimed, a row
        still ``sent``, or an open unknown that a known outcome settles. Anything else was
        settled meanwhile (here or elsewhere), and stands."""
        row = await self.journal.get(attempt_id)
        if row is None:
            return
        if end.withdraw is not None:
            if row.state is AttemptState.CLAIMED:
                await self.journal.withdraw(attempt_id, end.withdraw)
            return
        assert end.outcome is not None
        known = end.outcome.outcome is not Outcome.UNKNOWN
        # A settled row takes only the provider's own answer (the journal then decides
        # whether it overrules a "not applied", as it would have when it first came).
        if row.state is AttemptState.SENT or (
            row.state is AttemptState.FINISHED and known and (row.open or end.answered)
        ):
            await self.journal.finish(
                attempt_id,
                end.outcome,
                end.duration_ms,
                lease_until=end.lease_until,
                answered=end.answered,
            )

    async def unsent(self, attempt_id: int, request: CancelRequest) -> None:
        """The write-ahead was interrupted and the request never left: withdraw the claim —
        or, if the write-ahead landed anyway, finish the attempt as not applied (this
        process knows nothing was sent). Shielded."""
        with contextlib.suppress(Exception):
            await asyncio.shield(self._record_unsent(attempt_id, request))

    async def _record_unsent(self, attempt_id: int, request: CancelRequest) -> None:
        with contextlib.suppress(JournalError):
            await self.journal.withdraw(attempt_id, "withdrawn: stopped before sending")
            return
        nothing = CancelOutcome(
            provider=request.provider,
            order_id=request.order_id,
            outcome=Outcome.ERROR,
            message=NOTHING_SENT,
        )
        end = _Unrecorded(nothing)
        try:
            row = await self.journal.get(attempt_id)
            if row is not None and row.state is AttemptState.CLAIMED:
                end = _Unrecorded(None, withdraw="withdrawn: stopped before sending")
            await self._write(attempt_id, end)
        except JournalError as exc:
            log.warning("journal: could not close unsent attempt %s: %s", attempt_id, exc)
            self._later(attempt_id, end)

    async def withdraw(self, attempt_id: int, why: str) -> None:
        """Release a claim that sent nothing — now, or, if the journal refuses, in the
        background until it takes it (a claim of a live process holds its order)."""
        end = _Unrecorded(None, withdraw=why)
        try:
            await asyncio.shield(self._write(attempt_id, end))
        except JournalError as exc:
            log.warning("journal: could not withdraw attempt %s: %s", attempt_id, exc)
            self._later(attempt_id, end)

    # -- later -----------------------------------------------------------------------------

    def _later(self, attempt_id: int, end: _Unrecorded) -> None:
        self._unrecorded[attempt_id] = end
        if end.outcome is not None:
            KEPT.add((self.journal.where, attempt_id))
        if self._retrying is None or self._retrying.done():
            self._retrying = asyncio.get_running_loop().create_task(
                self._keep_writing(), name="stopline-journal-retry"
            )

    async def _keep_writing(self) -> None:
        tries = 0
        while self._unrecorded:
            await asyncio.sleep(RETRY_DELAYS_S[min(tries, len(RETRY_DELAYS_S) - 1)])
            tries += 1
            await self.flush()

    async def flush(self) -> None:
        """Write now what the journal refused earlier — unless the attempt was settled
        meanwhile (a reconciliation stands; it is not overwritten)."""
        for attempt_id, end in list(self._unrecorded.items()):
            try:
                await self._write(attempt_id, end)
            except UnknownAttempt:
                pass  # gone (a journal replaced under us): nothing left to record
            except JournalError:
                continue
            except Exception:
                log.exception("journal: giving up on recording attempt %s", attempt_id)
            self._unrecorded.pop(attempt_id, None)
            KEPT.discard((self.journal.where, attempt_id))

    async def aclose(self) -> None:
        """Stop writing in the background; one last try for what is still unrecorded (what
        stays so is ``sent`` under a process about to end: reconciled like a killed one)."""
        if self._retrying is not None:
            self._retrying.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._retrying
        if self._unrecorded:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.flush(), 5.0)
        for attempt_id in self._unrecorded:  # left to be reconciled like a killed process's
            KEPT.discard((self.journal.where, attempt_id))
