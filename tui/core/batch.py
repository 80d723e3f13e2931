"""Batch cancellation: read a file of orders, validate every row, cancel them concurrently.

File format
-----------
Either **one identifier a line**::

    # stock-out of frame F-102, 2026-11-23
    PO-10021
    PO-10022

(the provider and the reason come from ``--provider`` / ``--reason``), or **CSV** whose first
meaningful line is a header naming ``order_id`` and any of ``provider``, ``reason``,
``items``, in any order::

    provider,order_id,reason,items
    ordermesh,65f1c0de0000000000000001,Duplicate import,ITEM-1=2;ITEM-2
    pattern,PO-10021,,

``items`` lists the lines to cancel, separated by ``;``, each ``ID`` (all that is open) or
``ID=QTY``; empty means the whole order. An empty ``provider`` or ``reason`` cell takes the
default given on the command line. In both formats blank lines and lines starting with ``#``
are ignored, and a line holding a CSV field with a line break is not supported (reasons and
identifiers may not contain one anyway).

Every value goes through the core validators before anything is sent. A bad row becomes a
:class:`BatchRowError` with its line number and never reaches a provider; the rest of the file
still runs. The same order twice in one file is a bad row (put all its items on one line).

Running and resuming
--------------------
:class:`BatchRunner` sends the requests concurrently, bounded overall and per provider, and
streams each :class:`BatchResult` as it arrives. Before sending, it reads the journal's latest
attempt on the order, so a batch run again with the same file resumes where it stopped (see
:meth:`BatchRunner.decide`). Cancelling the run (ctrl-c) stops scheduling at once; requests in
flight are abandoned and stay journalled as ``sent``, i.e. unknown, for the next run to
re-check.

No Textual here: the CLI and the console both drive this module.
"""

from __future__ import annotations

import asyncio
import csv
import math
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tui.core.domain import (
    PROVIDER_KEYS,
    CancelOutcome,
    CancelRequest,
    ItemSelection,
    LookupState,
    Outcome,
)
from tui.core.identifiers import (
    InvalidInput,
    parse_item_spec,
    validate_identifier,
    validate_reason,
)

if TYPE_CHECKING:
    from tui.core.journal import Attempt
    from tui.core.service import StoplineService

CSV_COLUMNS: tuple[str, ...] = ("provider", "order_id", "reason", "items")
MAX_ROWS = 100_000
"""A file with more rows than this is refused as a whole (split it)."""
MAX_FILE_BYTES = 32 * 1024 * 1024
DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 64

SETTLED_EARLIER: frozenset[Outcome] = frozenset(
    {Outcome.COMPLETE, Outcome.PARTIAL, Outcome.REFUSED, Outcome.NOT_FOUND}
)
"""Outcomes of an earlier attempt that make a resumed batch skip the order."""


# -- parsing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchRow:
    """One valid row: the request to send and the file line it came from."""

    line_no: int
    request: CancelRequest

    @property
    def key(self) -> tuple[str, str]:
        return (self.request.provider, self.request.order_id)


@dataclass(frozen=True)
class BatchRowError:
    """A row that will not be sent, and why (the message is safe to show as is)."""

    line_no: int
    message: str

    def to_public(self) -> dict[str, Any]:
        return {"line_no": self.line_no, "error": self.message}


@dataclass
class BatchPlan:
    """A parsed file: the rows to send, the bad rows, and which format it was read as."""

    rows: list[BatchRow] = field(default_factory=list)
    errors: list[BatchRowError] = field(default_factory=list)
    format: str = "lines"
    """``lines`` (one identifier a line) or ``csv``."""

    def count_by_provider(self) -> dict[str, int]:
        counts = Counter(row.request.provider for row in self.rows)
        return {key: counts[key] for key in PROVIDER_KEYS if counts[key]}


def read_batch_file(
    path: Path | str, *, provider: str | None = None, reason: str | None = None
) -> BatchPlan:
    """Read and parse a batch file; :class:`InvalidInput` when it cannot be read at all."""
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InvalidInput(f"{file}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
        # utf-8-sig: spreadsheets save CSV with a byte-order mark.
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"{file}: not UTF-8 text") from None
    except IsADirectoryError:
        raise InvalidInput(f"{file}: is a folder, not a file") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {file}: {exc.strerror or exc}") from None
    return parse_batch(text, provider=provider, reason=reason)


def _meaningful(lines: Iterable[str]) -> Iterable[tuple[int, str]]:
    """(line number, text) of the lines that are neither blank nor ``#`` comments."""
    for line_no, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            yield line_no, line


def _split_csv(line: str) -> list[str]:
    try:
        return next(csv.reader([line], strict=True))
    except csv.Error as exc:
        raise InvalidInput(f"unreadable CSV ({exc})") from None


def _header(line: str) -> list[str] | None:
    """The column names when ``line`` is a CSV header (it names ``order_id``), else None."""
    if "," not in line:
        return None
    try:
        cells = [cell.strip().lower() for cell in _split_csv(line)]
    except InvalidInput:
        return None
    return cells if "order_id" in cells else None


def parse_batch(text: str, *, provider: str | None = None, reason: str | None = None) -> BatchPlan:
    """Parse a batch file's text (format in the module docstring).

    ``provider`` and ``reason`` fill rows that do not name their own. Raises
    :class:`InvalidInput` only for a problem with the file as a whole (an unusable header,
    too many rows); every problem of a single row is reported in ``BatchPlan.errors``.
    """
    default_provider = _provider_or_none(provider)
    default_reason = validate_reason(reason, required=False) if reason is not None else ""
    # Lines as an editor counts them (\n, \r\n, \r), not str.splitlines(), which also
    # breaks at form feeds, U+2028 and other separators and would shift every line number.
    entries = list(_meaningful(re.split(r"\r\n|\r|\n", text)))
    if len(entries) > MAX_ROWS + 1:
        raise InvalidInput(f"more than {MAX_ROWS} rows; split the file")
    plan = BatchPlan()
    columns: list[str] | None = None
    if entries:
        columns = _header(entries[0][1])
    if columns is not None:
        header_no = entries[0][0]
        unknown = [c for c in columns if c not in CSV_COLUMNS]
        if unknown:
            raise InvalidInput(
                f"line {header_no}: unknown column(s) {', '.join(map(repr, unknown))}; "
                f"the columns are {','.join(CSV_COLUMNS)}"
            )
        repeated = sorted({c for c in columns if columns.count(c) > 1})
        if repeated:
            raise InvalidInput(f"line {header_no}: column(s) named twice: {', '.join(repeated)}")
        plan.format = "csv"
        entries = entries[1:]
    seen: dict[tuple[str, str], int] = {}
    for line_no, line in entries:
        try:
            if columns is None:
                request = _plain_row(line, default_provider, default_reason)
            else:
                request = _csv_row(line, columns, default_provider, default_reason)
            key = (request.provider, request.order_id)
            if key in seen:
                raise InvalidInput(
                    f"{request.provider} order {request.order_id} is already on line "
                    f"{seen[key]} (put all its items on one line)"
                )
            seen[key] = line_no
        except InvalidInput as exc:
            plan.errors.append(BatchRowError(line_no, str(exc)))
            continue
        plan.rows.append(BatchRow(line_no, request))
    return plan


def _provider_or_none(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    key = raw.strip().lower()
    if key not in PROVIDER_KEYS:
        raise InvalidInput(f"unknown provider {raw.strip()!r}; known: {', '.join(PROVIDER_KEYS)}")
    return key


def _request(
    provider: str | None, order_id: str, reason: str, items: tuple[ItemSelection, ...] = ()
) -> CancelRequest:
    if provider is None:
        raise InvalidInput("no provider: add a provider column or pass --provider")
    ident = validate_identifier(order_id)
    why = validate_reason(reason, required=True)
    return CancelRequest(provider=provider, order_id=ident, reason=why, items=items)


def _plain_row(line: str, provider: str | None, reason: str) -> CancelRequest:
    if "," in line:
        raise InvalidInput(
            "a comma in an identifier line; for CSV, start the file with the header "
            + ",".join(CSV_COLUMNS)
        )
    return _request(provider, line, reason)


def _csv_row(line: str, columns: Sequence[str], provider: str | None, reason: str) -> CancelRequest:
    cells = _split_csv(line)
    if len(cells) != len(columns):
        raise InvalidInput(f"expected {len(columns)} column(s), found {len(cells)}")
    row = dict(zip(columns, cells, strict=True))
    row_provider = _provider_or_none(row.get("provider")) or provider
    row_reason = row.get("reason", "").strip() or reason
    items = parse_items(row.get("items", ""))
    return _request(row_provider, row.get("order_id", ""), row_reason, items)


def parse_items(raw: str) -> tuple[ItemSelection, ...]:
    """``ID=QTY;ID2`` (``;``-separated, each ``ID`` or ``ID=QTY``) as selections."""
    items: list[ItemSelection] = []
    for spec in raw.split(";"):
        if not spec.strip():
            continue
        item_id, qty = parse_item_spec(spec)
        if any(item.id == item_id for item in items):
            raise InvalidInput(f"item {item_id} is listed twice")
        items.append(ItemSelection(id=item_id, quantity=qty))
    return tuple(items)


def format_items(items: Iterable[ItemSelection]) -> str:
    """The inverse of :func:`parse_items`."""
    return ";".join(f"{i.id}={i.quantity}" if i.quantity is not None else i.id for i in items)


# -- running ---------------------------------------------------------------------------------


class Action(StrEnum):
    """What a batch does with a row, given the journal's latest attempt on its order."""

    SEND = "send"
    """No earlier attempt (or only a different, settled one): send the cancel."""
    RESEND = "resend"
    """The earlier attempt provably did not apply (``error``): send again."""
    SKIP = "skip"
    """Settled earlier: nothing is sent."""
    RECHECK = "recheck"
    """The earlier attempt is unknown: look the order up first; send only if it is open."""


class ResumeLog(Protocol):
    """What the runner needs of the journal (:class:`tui.core.journal.Journal`)."""

    def latest_for(self, provider: str, order_id: str) -> Attempt | None: ...

    def update(self, attempt_id: int, outcome: CancelOutcome) -> None: ...


@dataclass(frozen=True)
class BatchResult:
    """What happened to one row."""

    row: BatchRow
    outcome: CancelOutcome
    skipped: bool = False
    """True when no cancel was sent for this row in this run."""
    note: str = ""
    """Why it was skipped, or what the resume did first (shown with the outcome)."""

    @property
    def line_no(self) -> int:
        return self.row.line_no

    def to_public(self) -> dict[str, Any]:
        """The outcome's ``--json`` shape plus line_no, skipped, note and attempt_id."""
        return {
            "line_no": self.row.line_no,
            **self.outcome.to_public(),
            "skipped": self.skipped,
            "note": self.note,
            "attempt_id": self.outcome.attempt_id,
        }


@dataclass
class BatchSummary:
    """Counts of a run, kept up to date as results arrive."""

    total: int = 0
    """Valid rows in the run."""
    bad_rows: int = 0
    results: list[BatchResult] = field(default_factory=list)
    interrupted: bool = False

    def add(self, result: BatchResult) -> None:
        self.results.append(result)

    @property
    def done(self) -> int:
        return len(self.results)

    @property
    def not_run(self) -> int:
        return self.total - self.done

    @property
    def skipped(self) -> int:
        return sum(1 for r in self.results if r.skipped)

    def by_outcome(self) -> dict[str, int]:
        counts = Counter(r.outcome.outcome for r in self.results)
        return {o.value: counts[o] for o in Outcome if counts[o]}

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
    """Per-provider bounds: Shoplazza's adapter paces itself at ``rate_per_s``, so more
    requests in flight than that only wait inside it holding a slot (and a ``sent`` journal
    row); every other provider may use the whole ``concurrency``."""
    rate = service.settings.shoplazza.rate_per_s
    return {"shoplazza": max(1, min(concurrency, math.ceil(rate)))}


def in_flight_grace_s(service: StoplineService, provider: str) -> float:
    """How long an attempt still ``sent`` may be in flight in another Stopline process: the
    cancel's own timeout plus a re-check (look-up with retries) after it."""
    section = service.settings.providers().get(provider)
    timeout = section.timeout_s if section is not None else 15.0
    return timeout * 2 + 1.0


class BatchRunner:
    """Runs a batch through :class:`~tui.core.service.StoplineService` (so every attempt is
    journalled write-ahead), ``concurrency`` at a time overall and per-provider bounds."""

    def __init__(
        self,
        service: StoplineService,
        journal: ResumeLog | None,
        concurrency: int = DEFAULT_CONCURRENCY,
        *,
        provider_limits: Mapping[str, int] | None = None,
        in_flight_grace: Callable[[str], float] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            raise InvalidInput(f"concurrency must be between 1 and {MAX_CONCURRENCY}")
        self.service = service
        self.journal = journal
        self.concurrency = concurrency
        limits = default_provider_limits(service, concurrency)
        limits.update(provider_limits or {})
        self.provider_limits = limits
        self._grace = in_flight_grace or (lambda key: in_flight_grace_s(service, key))
        self._clock = clock

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

    def decide(self, row: BatchRow) -> tuple[Action, Attempt | None]:
        """What to do with ``row`` given the journal's latest attempt on the same order.

        * none, or a settled one for *different* items: send;
        * ``complete``/``partial``/``refused``/``not_found`` for the same items: skip;
        * ``error`` (provably not applied): send again;
        * ``unknown`` or still ``sent`` (whatever its items): re-check first.
        """
        if self.journal is None:
            return Action.SEND, None
        earlier = self.journal.latest_for(row.request.provider, row.request.order_id)
        if earlier is None:
            return Action.SEND, None
        if earlier.outcome is Outcome.UNKNOWN:
            return Action.RECHECK, earlier
        if earlier.outcome is Outcome.ERROR:
            return Action.RESEND, earlier
        if _same_items(earlier.items, row.request.items):
            return Action.SKIP, earlier
        return Action.SEND, earlier

    def preview(self, rows: Sequence[BatchRow]) -> dict[Action, int]:
        """How many rows each action applies to right now (for the confirmation question)."""
        counts = Counter(self.decide(row)[0] for row in rows)
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
        abandoned with its journal row left ``sent`` (read back as ``unknown``).
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
                    raise item
                yield item
        finally:
            pending = [*feeders, *running]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def process(self, row: BatchRow) -> BatchResult:
        """One row: resume decision, re-check if needed, then (maybe) the cancel."""
        # The journal read may wait on another process's write lock: keep it off the loop.
        action, earlier = await asyncio.to_thread(self.decide, row)
        if action is Action.SKIP:
            assert earlier is not None
            return BatchResult(
                row,
                earlier.as_outcome(),
                skipped=True,
                note=f"skipped (settled earlier: {earlier.outcome.value})",
            )
        note = ""
        if action is Action.RECHECK:
            assert earlier is not None
            settled = await self._recheck(row, earlier)
            if settled is not None:
                return settled
            note = f"re-sent: attempt {earlier.id} was unknown and a re-check showed it open"
        elif action is Action.RESEND:
            assert earlier is not None
            note = f"re-sent: attempt {earlier.id} failed ({earlier.message or 'error'})"
        try:
            outcome = await self.service.cancel(row.request)
        except InvalidInput as exc:  # refused before anything was written or sent
            outcome = CancelOutcome(
                provider=row.request.provider,
                order_id=row.request.order_id,
                outcome=Outcome.ERROR,
                message=str(exc),
            )
        return BatchResult(row, outcome, note=note)

    async def _recheck(self, row: BatchRow, earlier: Attempt) -> BatchResult | None:
        """Settle an unknown earlier attempt by looking the order up (never a cancel).

        Returns the result to report, or None when the look-up showed the order still open
        and the row may be sent again.
        """
        checked = await self.service.recheck(earlier.as_outcome(), earlier.as_request())
        checked = checked.model_copy(update={"attempt_id": earlier.id})
        if checked.outcome.settled:
            if self.journal is not None:
                await asyncio.to_thread(self.journal.update, earlier.id, checked)
            return BatchResult(
                row,
                checked,
                skipped=True,
                note=f"settled by re-check of unknown attempt {earlier.id}: "
                f"{checked.outcome.value}",
            )

        def still_unknown(why: str) -> BatchResult:
            return BatchResult(
                row, checked, skipped=True, note=f"attempt {earlier.id} still unknown: {why}"
            )

        if earlier.finished_at is None:
            age = self._clock() - earlier.started_at
            if age < timedelta(seconds=self._grace(row.request.provider)):
                return still_unknown(
                    f"started {age.total_seconds():.0f} s ago and may still be in flight in "
                    "another Stopline; not sent again, run the batch again later"
                )
        # The re-check did not settle it. Send again only on positive evidence: the order is
        # there and shows no cancellation, neither done nor pending.
        seen = await self.service.lookup_one(row.request.provider, row.request.order_id)
        if seen.state is LookupState.ERROR:
            return still_unknown(f"re-check failed ({seen.error}); not sent again")
        if seen.state is not LookupState.FOUND or not seen.orders:
            return still_unknown("re-check did not find the order; not sent again")
        order = seen.orders[0]
        if order.cancelled or order.cancel_pending:
            return still_unknown(f"the order shows status {order.status!r}; not sent again")
        if self.journal is not None:  # the earlier attempt stays unknown, with the finding
            finding = f"re-check: order still {order.status or 'open'}; the batch sent it again"
            await asyncio.to_thread(
                self.journal.update,
                earlier.id,
                checked.model_copy(update={"warnings": [*checked.warnings, finding]}),
            )
        return None


def _same_items(earlier: Sequence[ItemSelection], now: Sequence[ItemSelection]) -> bool:
    return {(i.id, i.quantity) for i in earlier} == {(i.id, i.quantity) for i in now}


def exit_outcome(summary: BatchSummary) -> Outcome | None:
    """The outcome deciding a batch's exit code: None when every row is complete, else the
    first of unknown, error, partial, refused, not found present."""
    present = {r.outcome.outcome for r in summary.results}
    for outcome in (
        Outcome.UNKNOWN,
        Outcome.ERROR,
        Outcome.PARTIAL,
        Outcome.REFUSED,
        Outcome.NOT_FOUND,
    ):
        if outcome in present:
            return outcome
    return None
