"""The one interface the service reaches the journal through, whatever engine is behind it.

Every method is a coroutine: an implementation on a blocking driver (SQLite) runs its work
off the event loop; one on an async driver (PostgreSQL) awaits it. Claims are enforced by the
database itself — a unique index over open attempts, taken in one transaction with the row
that records the claim — so two processes, or two machines, cannot both hold an order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Protocol

from tui.core.domain import CancelOutcome, CancelRequest, Order, Outcome
from tui.core.journal.model import Attempt, Claim, Holder

TakeOver = Callable[[Attempt], bool]
"""Asked, inside the claim's transaction, about an open ``claimed`` attempt: True when its
process is gone (it never sent anything), so it may be withdrawn and the claim taken."""


class AttemptJournal(Protocol):
    """Where every cancel attempt is claimed, written ahead, answered and settled."""

    @property
    def where(self) -> str:
        """Where the journal lives, for messages (a path, or a URL without its password)."""
        ...

    async def connect(self) -> None:
        """Be ready to write (idempotent); :class:`JournalError` when the journal cannot be
        reached — and then nothing is sent."""
        ...

    def now(self) -> datetime:
        """The journal's time (UTC): every machine sharing a journal compares leases on it."""
        ...

    async def claim(
        self,
        request: CancelRequest,
        holder: Holder,
        *,
        lease_until: datetime,
        take_over: TakeOver,
    ) -> Claim:
        """Take the claim on ``request``'s provider + order and record it (state ``claimed``),
        or return the open attempt that holds it. Atomic: one transaction, which also reads
        the latest earlier attempt on the order that was sent (:attr:`Claim.earlier`)."""
        ...

    async def withdraw(self, attempt_id: int, why: str) -> None:
        """Release a claim that sent nothing (state ``withdrawn``)."""
        ...

    async def mark_sent(self, attempt_id: int, before: Order, *, lease_until: datetime) -> None:
        """Write the attempt ahead, durably, with the order's state just before sending: the
        request may leave once this returns. Its items stay as asked (a quantity of None:
        all that ``before`` shows open)."""
        ...

    async def finish(
        self,
        attempt_id: int,
        outcome: CancelOutcome,
        duration_ms: float,
        *,
        lease_until: datetime | None = None,
        answered: bool = True,
    ) -> bool:
        """Record the provider's answer; the claim is released unless the outcome is
        ``unknown``. False when another process had reconciled and released the attempt
        meanwhile: its outcome stands and the late answer is added to its warnings — except
        that an answer saying the provider cancelled replaces "not applied" (with a warning
        that another cancel may have followed). ``answered=False``: the outcome was read
        from a look-up, not answered by the provider — it never overrules, nor is noted
        beside, what another process settled. ``lease_until`` shortens the lease, never
        lengthens it (an attempt stopped mid-flight takes effect, if at all, by then)."""
        ...

    async def settle(
        self,
        attempt_id: int,
        outcome: CancelOutcome,
        *,
        only_if_open: bool = False,
        if_version: int | None = None,
    ) -> bool:
        """Record a later confirmation or reconciliation; release the claim once settled.
        With ``only_if_open``, change nothing (and return False) if another process has
        released it meanwhile; with ``if_version``, if anything wrote it since it was read
        at that version (compare and set)."""
        ...

    async def get(self, attempt_id: int) -> Attempt | None: ...

    async def open_attempt(self, provider: str, order_id: str) -> Attempt | None:
        """The attempt holding the claim on this order, if any."""
        ...

    async def latest_for(
        self, provider: str, order_id: str, *, before_id: int | None = None
    ) -> Attempt | None:
        """The most recent attempt on the order that was sent (withdrawn ones are not
        attempts), optionally only those older than ``before_id``."""
        ...

    async def latest_for_many(
        self, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], Attempt | None]:
        """:meth:`latest_for` of many orders at once (a batch preview)."""
        ...

    async def attempts(
        self,
        limit: int | None = 50,
        provider: str | None = None,
        order_id: str | None = None,
        since: datetime | None = None,
        outcome: Outcome | str | None = None,
        *,
        open_only: bool = False,
        after: Attempt | None = None,
    ) -> list[Attempt]:
        """Attempts newest first (with ``since``: the latest start first); withdrawn claims
        are left out. ``after``: the last attempt of the page before — the page that follows
        it (see :func:`tui.core.journal.history.each_attempt`)."""
        ...

    async def current_version(self) -> int:
        """The latest write's version (see :attr:`Attempt.version`)."""
        ...

    async def changed_since(self, version: int, limit: int = 500) -> list[Attempt]:
        """Attempts written after ``version``, oldest change first."""
        ...

    def watch(self, poll_s: float = 1.0) -> AsyncIterator[Attempt]:
        """Every attempt as anyone writes it, from now on, for as long as it is iterated."""
        ...

    async def aclose(self) -> None: ...
