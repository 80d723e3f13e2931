"""The embedded journal as the service sees it: the :class:`AttemptJournal` protocol on a
:class:`~tui.core.journal.sqlite_store.SqliteStore`, every call on the journal's own thread
so the event loop never waits for the file's write lock."""


from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from tui.core.domain import CancelOutcome, CancelRequest, Order, Outcome
from tui.core.journal.model import (
    Attempt,
    Claim,
    Holder,
    utcnow,
)
from tui.core.journal.protocol import TakeOver
from tui.core.journal.sqlite_store import SqliteStore

T = TypeVar("T")


class SqliteJournal:
    """:class:`~tui.core.journal.protocol.AttemptJournal` on a :class:`SqliteStore`: each
    call runs on the journal's own thread, one at a time, off the event loop."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal")
        self._closed = False

    @classmethod
    def open(cls, path: Path | str, **kwargs: Any) -> SqliteJournal:
        return cls(SqliteStore(path, **kwargs))

    @property
    def where(self) -> str:
        return str(self.store.path)

    def now(self) -> datetime:
        return utcnow()

    async def connect(self) -> None:
        """The file is opened (and migrated) when the journal is built."""

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(fn, *args, **kwargs))

    async def claim(
        self,
        request: CancelRequest,
        holder: Holder,
        *,
        lease_until: datetime,
        take_over: TakeOver,
    ) -> Claim:
        return await self._run(
            self.store.claim, request, holder, lease_until=lease_until, take_over=take_over
        )

    async def withdraw(self, attempt_id: int, why: str) -> None:
        await self._run(self.store.withdraw, attempt_id, why)

    async def mark_sent(self, attempt_id: int, before: Order, *, lease_until: datetime) -> None:
        await self._run(self.store.mark_sent, attempt_id, before, lease_until=lease_until)

    async def finish(self, attempt_id: int, outcome: CancelOutcome, duration_ms: float) -> bool:
        return await self._run(self.store.finish, attempt_id, outcome, duration_ms)

    async def settle(
        self, attempt_id: int, outcome: CancelOutcome, *, only_if_open: bool = False
    ) -> bool:
        return await self._run(self.store.settle, attempt_id, outcome, only_if_open=only_if_open)

    async def get(self, attempt_id: int) -> Attempt | None:
        return await self._run(self.store.get, attempt_id)

    async def open_attempt(self, provider: str, order_id: str) -> Attempt | None:
        return await self._run(self.store.open_attempt, provider, order_id)

    async def latest_for(
        self, provider: str, order_id: str, *, before_id: int | None = None
    ) -> Attempt | None:
        return await self._run(self.store.latest_for, provider, order_id, before_id=before_id)

    async def latest_for_many(
        self, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], Attempt | None]:
        return await self._run(self.store.latest_for_many, list(keys))

    async def attempts(
        self,
        limit: int | None = 50,
        provider: str | None = None,
        order_id: str | None = None,
        since: datetime | None = None,
        outcome: Outcome | str | None = None,
        *,
        open_only: bool = False,
    ) -> list[Attempt]:
        return await self._run(
            self.store.attempts, limit, provider, order_id, since, outcome, open_only=open_only
        )

    async def current_version(self) -> int:
        return await self._run(self.store.current_version)

    async def changed_since(self, version: int, limit: int = 500) -> list[Attempt]:
        return await self._run(self.store.changed_since, version, limit)

    async def watch(self, poll_s: float = 0.5) -> AsyncIterator[Attempt]:
        """Polls the latest version (one index look-up) and reads the rows only when some
        process — this one included — has written since."""
        last = await self.current_version()
        while True:
            await asyncio.sleep(poll_s)
            if await self.current_version() <= last:
                continue
            for attempt in await self.changed_since(last):
                last = max(last, attempt.version)
                yield attempt

    async def aclose(self) -> None:
        """Close the store on its own thread; closing again does nothing."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._run_now(self.store.close)
        finally:
            self._executor.shutdown(wait=False)

    async def _run_now(self, fn: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, fn)

    def close(self) -> None:
        """Close from outside a loop; closing again does nothing."""
        if self._closed:
            return
        self._closed = True
        self._executor.shutdown(wait=True)
        self.store.close()
