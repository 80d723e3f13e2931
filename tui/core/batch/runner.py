"""Running a batch: every row through the service's one cancel lifecycle, concurrently.

:class:`BatchRunner` sends the rows concurrently, bounded overall and per provider, and
streams each :class:`BatchResult` as it arrives. Each row is one cancel lifecycle
(:mod:`tui.core.lifecycle`) with ``resume`` on: a row whose same request settled earlier is
skipped, an order held by another attempt — another batch, another supervisor — is reported
as held and not sent, and an earlier unknown attempt is reconciled before anything is sent.
So a batch run again with the same file resumes where it stopped, and two batches over one
file at once send every order once.

Cancelling the run (ctrl-c) stops scheduling at once; requests in flight are stopped and
finished ``unknown`` in the journal, for the next run to reconcile. A journal that stops
taking writes mid-run starts no further row, and the rows already sent finish and are
reported before the error is raised.

One idea, kept whole: a batch's run and its running tally (rows, results, summary).
"""

from __future__ import annotations

import asyncio
import heapq
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tui.core.batch.parse import BatchPlan, BatchRow, BatchRowError
from tui.core.cancel_events import HOLDING, Done, NotSent
from tui.core.domain import CancelOutcome, Outcome
from tui.core.identifiers import InvalidInput
from tui.core.providers import registry
from tui.core.vocabulary import RowStatus, Why

if TYPE_CHECKING:
    from tui.core.journal import Attempt
    from tui.core.service import StoplineService

DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 64

HELD = RowStatus.HELD
"""The status of a row another attempt holds (in flight, or unknown until reconciled)."""
ALREADY_CANCELLED = RowStatus.ALREADY_CANCELLED
"""The status of a row whose order the look-up showed cancelled already (nothing sent)."""


class Action(StrEnum):
    """What a batch expects to do with a row, from the journal's latest attempt on its order
    (the preview; the run decides again, under the order's claim)."""

    SEND = "send"
    """No earlier attempt (or only a different, settled one): send the cancel."""
    RESEND = "resend"
    """The earlier attempt provably did not apply (``error``): send again."""
    SKIP = "skip"
    """Settled earlier: nothing is sent."""
    RECHECK = "recheck"
    """The earlier attempt is unknown or still open: it is reconciled first."""


def expected_action(row: BatchRow, earlier: Attempt | None) -> Action:
    if earlier is None:
        return Action.SEND
    if earlier.open or earlier.outcome is Outcome.UNKNOWN:
        return Action.RECHECK
    if earlier.outcome is Outcome.ERROR:
        return Action.RESEND
    asked = {(i.id, i.quantity) for i in row.request.items}
    if {(i.id, i.quantity) for i in earlier.items} == asked:
        return Action.SKIP
    return Action.SEND


@dataclass(frozen=True)
class BatchResult:
    """What happened to one row."""

    row: BatchRow
    outcome: CancelOutcome | None
    """The provider's answer, an earlier attempt's settled outcome, or what the look-up
    said; None when another attempt holds the order or it is cancelled already."""
    not_sent: Why | None = None
    """Why no cancel was sent for this row in this run (None: one was sent)."""
    note: str = ""
    """Why it was not sent, or what the run did first (shown with the outcome)."""
    attempt_id: int | None = None

    @property
    def line_no(self) -> int:
        return self.row.line_no

    @property
    def skipped(self) -> bool:
        """True when no cancel was sent for this row in this run."""
        return self.not_sent is not None

    @property
    def status(self) -> RowStatus:
        """The outcome, or ``held`` / ``already_cancelled`` when there is none."""
        if self.outcome is not None:
            return RowStatus.of(self.outcome.outcome)
        if self.not_sent is Why.ALREADY_CANCELLED:
            return RowStatus.ALREADY_CANCELLED
        return RowStatus.HELD

    def to_public(self) -> dict[str, Any]:
        """One ``--json`` line: the outcome's shape (``outcome`` null when none) plus
        line_no, sent, not_sent, skipped, note and attempt_id."""
        request = self.row.request
        body: dict[str, Any] = (
            self.outcome.to_public()
            if self.outcome is not None
            else {
                "provider": request.provider,
                "order_id": request.order_id,
                "outcome": None,
                "http_status": None,
                "message": self.note,
                "confirmed": False,
                "cancelled": [],
                "not_cancelled": [],
                "warnings": [],
                "request_id": None,
            }
        )
        return {
            "line_no": self.row.line_no,
            **body,
            "sent": self.not_sent is None,
            "not_sent": self.not_sent.value if self.not_sent is not None else None,
            "skipped": self.skipped,
            "note": self.note,
            "attempt_id": self.attempt_id,
        }


ATTENTION_LIMIT = 1_000
"""Rows that are not complete a summary keeps for the final report (the first by line
number); every row's result is streamed (``--json``, the journal) rather than kept."""


@dataclass
class BatchSummary:
    """Counts of a run, kept as results arrive (never recounted), and the few rows the
    final report lists: memory stays flat however many rows a batch has."""

    total: int = 0
    """Valid rows in the run."""
    bad_rows: int = 0
    interrupted: bool = False
    counts: Counter[RowStatus] = field(default_factory=Counter)
    """Rows by :attr:`BatchResult.status`."""
    done: int = 0
    """Rows finished."""
    skipped: int = 0
    unconfirmed: int = 0
    keep_all: bool = False
    """Keep every result in :attr:`results` (the console shows and exports each row)."""
    results: list[BatchResult] = field(default_factory=list)
    """Every result, in the order they arrived — only with ``keep_all``."""
    attention_limit: int = ATTENTION_LIMIT
    attention_left_out: int = 0
    """Rows not complete beyond :attr:`attention_limit`, counted but not kept."""
    _attention: list[tuple[int, int, BatchResult]] = field(default_factory=list, repr=False)
    """A heap of the kept rows that are not complete: (-line number, arrival, result)."""

    def add(self, result: BatchResult) -> None:
        self.done += 1
        status = result.status
        self.counts[status] += 1
        if self.keep_all:
            self.results.append(result)
        if result.skipped:
            self.skipped += 1
        outcome = result.outcome
        if (
            outcome is not None
            and result.not_sent is None
            and outcome.outcome in (Outcome.COMPLETE, Outcome.PARTIAL)
            and not outcome.confirmed
        ):
            self.unconfirmed += 1
        if status is not RowStatus.COMPLETE:
            self._keep_for_report(result)

    def _keep_for_report(self, result: BatchResult) -> None:
        """Keep the ``attention_limit`` rows with the lowest line numbers (a bounded
        heap: the one with the highest line number kept is the first to go)."""
        entry = (-result.line_no, self.done, result)
        if len(self._attention) < self.attention_limit:
            heapq.heappush(self._attention, entry)
        elif self._attention and entry[0] > self._attention[0][0]:
            heapq.heapreplace(self._attention, entry)
            self.attention_left_out += 1
        else:
            self.attention_left_out += 1

    @property
    def attention(self) -> list[BatchResult]:
        """The kept rows that are not complete, in file order."""
        return [entry[2] for entry in sorted(self._attention, reverse=True)]

    @property
    def not_run(self) -> int:
        return self.total - self.done

    def by_outcome(self) -> dict[str, int]:
        """Rows by status, in the documented order (outcomes, then held, then cancelled
        already)."""
        return {status.value: self.counts[status] for status in RowStatus if self.counts[status]}

    def to_public(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "done": self.done,
            "sent": self.done - self.skipped,
            "skipped": self.skipped,
            "not_run": self.not_run,
            "bad_rows": self.bad_rows,
            "by_outcome": self.by_outcome(),
            "interrupted": self.interrupted,
        }


def default_provider_limits(service: StoplineService, concurrency: int) -> dict[str, int]:
    """Per-provider bounds, from each provider's registered hint (one that paces itself gains
    nothing from more requests in flight than it sends); the others may use the whole
    ``concurrency``."""
    limits: dict[str, int] = {}
    sections = service.settings.providers()
    for spec in registry.specs():
        if spec.max_in_flight is not None and spec.key in sections:
            limits[spec.key] = spec.max_in_flight(sections[spec.key], concurrency)
    return limits


class BatchRunner:
    """Runs a batch through :class:`~tui.core.service.StoplineService`, ``concurrency`` at a
    time overall and within per-provider bounds."""

    def __init__(
        self,
        service: StoplineService,
        concurrency: int = DEFAULT_CONCURRENCY,
        *,
        provider_limits: Mapping[str, int] | None = None,
    ) -> None:
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            raise InvalidInput(f"concurrency must be between 1 and {MAX_CONCURRENCY}")
        self.service = service
        self.concurrency = concurrency
        limits = default_provider_limits(service, concurrency)
        limits.update(provider_limits or {})
        self.provider_limits = limits

    # -- before anything is sent ---------------------------------------------------------

    def preflight(self, plan: BatchPlan) -> BatchPlan:
        """Run :meth:`StoplineService.prepare` on every row (provider configured, not
        read-only, items supported, operator filled in); rows it rejects become bad rows."""
        checked = BatchPlan(errors=list(plan.errors), format=plan.format)
        for row in plan.rows:
            try:
                request = self.service.prepare(row.request)
            except InvalidInput as exc:
                checked.errors.append(BatchRowError(row.line_no, str(exc)))
                continue
            checked.rows.append(BatchRow(row.line_no, request))
        checked.errors.sort(key=lambda e: e.line_no)
        return checked

    async def expectations(self, rows: Sequence[BatchRow]) -> list[tuple[Action, Attempt | None]]:
        """What the journal suggests for each row right now (for the preview and question)."""
        latest = await self.service.latest_attempts([row.key for row in rows])
        return [(expected_action(row, latest.get(row.key)), latest.get(row.key)) for row in rows]

    async def preview(self, rows: Sequence[BatchRow]) -> dict[Action, int]:
        counts = Counter(action for action, _ in await self.expectations(rows))
        return {action: counts[action] for action in Action if counts[action]}

    # -- running -------------------------------------------------------------------------

    async def run(
        self,
        rows: Sequence[BatchRow],
        on_result: Callable[[BatchResult], None] | None = None,
        summary: BatchSummary | None = None,
    ) -> BatchSummary:
        """Run every row; ``on_result`` is called with each result as it arrives.

        Cancelling the awaiting task stops the batch (see :meth:`stream`); ``summary`` (pass
        your own to read it after a cancellation) then holds what finished before.
        """
        summary = summary if summary is not None else BatchSummary()
        summary.total = len(rows)
        try:
            async with aclosing(self.stream(rows)) as results:
                async for result in results:
                    summary.add(result)
                    if on_result is not None:
                        on_result(result)
        except asyncio.CancelledError:
            summary.interrupted = True
            raise
        return summary

    async def stream(self, rows: Sequence[BatchRow]) -> AsyncIterator[BatchResult]:
        """Yield each row's result as it completes (not in file order).

        Closing the iterator, or cancelling the task iterating it, cancels every row not yet
        finished: a row still waiting for a slot never starts, and a cancel already sent is
        stopped and finished ``unknown`` in the journal (reconciled before any re-send).

        A row that raises (a journal that stopped taking writes, a bug) stops the batch: no
        further row starts, the rows already running finish and are yielded — a cancel that
        has left is reported as what became of it, never as not run — and then the first
        error is raised.
        """
        overall = asyncio.Semaphore(self.concurrency)
        queue: asyncio.Queue[BatchResult | BaseException] = asyncio.Queue()
        running: set[asyncio.Task[None]] = set()
        by_provider: dict[str, list[BatchRow]] = {}
        for row in rows:
            by_provider.setdefault(row.request.provider, []).append(row)

        async def one(row: BatchRow, slot: asyncio.Semaphore) -> None:
            try:
                result = await self.process(row)
            except Exception as exc:  # a broken journal, a bug: stops the whole batch
                queue.put_nowait(exc)
                return
            finally:
                slot.release()
                overall.release()
            queue.put_nowait(result)

        async def feed(key: str, provider_rows: list[BatchRow]) -> None:
            # One feeder per provider, taking its own slot before an overall one: rows waiting
            # for a slow or rate-limited provider hold no overall slot, and no more tasks
            # exist than rows in flight (a 100,000-row file does not make 100,000 tasks).
            slot = asyncio.Semaphore(self.provider_limits.get(key, self.concurrency))
            for row in provider_rows:
                await slot.acquire()
                try:
                    await overall.acquire()
                except BaseException:
                    slot.release()
                    raise
                task = asyncio.create_task(one(row, slot), name=f"batch-line-{row.line_no}")
                running.add(task)
                task.add_done_callback(running.discard)

        feeders = [asyncio.create_task(feed(k, v)) for k, v in by_provider.items()]
        try:
            for _ in rows:
                item = await queue.get()
                if isinstance(item, BaseException):
                    for feeder in feeders:  # no further row starts
                        feeder.cancel()
                    await asyncio.gather(*feeders, return_exceptions=True)
                    await asyncio.gather(*running, return_exceptions=True)
                    while not queue.empty():
                        left = queue.get_nowait()
                        if not isinstance(left, BaseException):
                            yield left
                    raise item
                yield item
        finally:
            pending = [*feeders, *running]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def process(self, row: BatchRow) -> BatchResult:
        """One row: one cancel lifecycle, resuming (see the module docstring)."""
        try:
            final = await self.service.cancel(row.request, resume=True)
        except InvalidInput as exc:  # refused before anything was sent (items do not fit)
            return BatchResult(
                row,
                CancelOutcome(
                    provider=row.request.provider,
                    order_id=row.request.order_id,
                    outcome=Outcome.ERROR,
                    message=str(exc),
                ),
                not_sent=Why.INVALID,
                note=f"not sent: {exc}",
            )
        if isinstance(final, Done):
            return BatchResult(
                row,
                final.outcome,
                note="; ".join(final.notes),
                attempt_id=final.outcome.attempt_id,
            )
        return self._not_sent(row, final)

    @staticmethod
    def _not_sent(row: BatchRow, final: NotSent) -> BatchResult:
        attempt = final.attempt
        return BatchResult(
            row,
            final.outcome,
            not_sent=final.why,
            note=final.message,
            attempt_id=attempt.id if attempt is not None else None,
        )


EXIT_PRECEDENCE: tuple[RowStatus, ...] = (
    RowStatus.UNKNOWN,
    RowStatus.HELD,
    RowStatus.ERROR,
    RowStatus.PARTIAL,
    RowStatus.REFUSED,
    RowStatus.NOT_FOUND,
)


def exit_status(summary: BatchSummary) -> RowStatus | None:
    """The status deciding a batch's exit code: None when every row is complete (or was
    cancelled already), else the first of unknown, held, error, partial, refused, not found
    present."""
    return next((status for status in EXIT_PRECEDENCE if summary.counts[status]), None)


__all__ = [
    "ALREADY_CANCELLED",
    "ATTENTION_LIMIT",
    "DEFAULT_CONCURRENCY",
    "EXIT_PRECEDENCE",
    "HELD",
    "HOLDING",
    "MAX_CONCURRENCY",
    "Action",
    "BatchResult",
    "BatchRunner",
    "BatchSummary",
    "default_provider_limits",
    "exit_status",
    "expected_action",
]
