"""The SQLite journal's group commit: writes that wait together are committed together, and
still no caller goes on before the commit that holds its own write.

The journal's thread is held busy (a read that waits for the test) while calls queue up, so
what the next group holds is certain, not a matter of timing."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
from journal_testkit import LEASE, make_holder, make_order, make_outcome, make_request, never

from tui.core.journal import AttemptState, JournalError, SqliteJournal, SqliteStore
from tui.core.journal import sqlite as sqlite_journal
from tui.core.journal.sqlite_store import GroupedWrite


class Recording(SqliteStore):
    """The real store, recording each group it commits and whether it was durable."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.groups: list[list[str]] = []

    def write_group(self, calls: Any) -> list[Any]:
        self.groups.append([call.operation for call in calls])
        return super().write_group(calls)


async def hold_the_thread(journal: SqliteJournal) -> tuple[threading.Event, asyncio.Future[Any]]:
    """Occupy the journal's thread until the returned event is set."""
    started, release = threading.Event(), threading.Event()

    def busy() -> None:
        started.set()
        release.wait(10)

    pending = asyncio.ensure_future(journal._run(busy))
    await asyncio.to_thread(started.wait, 10)
    return release, pending


async def claimed(journal: SqliteJournal, count: int) -> tuple[list[Any], list[int]]:
    """``count`` orders claimed one by one: their requests and attempt ids."""
    requests = [make_request("pattern", f"MO-{n}") for n in range(count)]
    ids = []
    for request in requests:
        claim = await journal.claim(request, make_holder(), lease_until=LEASE, take_over=never)
        assert claim.attempt_id is not None
        ids.append(claim.attempt_id)
    return requests, ids


async def test_write_aheads_waiting_together_commit_once_and_each_is_on_disk_when_it_returns(
    journal_path: Path,
) -> None:
    store = Recording(journal_path)
    journal = SqliteJournal(store)
    try:
        requests, ids = await claimed(journal, 8)
        store.groups.clear()
        release, busy = await hold_the_thread(journal)
        other = SqliteStore(journal_path)  # another process's view of the file
        seen_sent: list[bool] = []

        async def write_ahead(attempt_id: int, request: Any) -> None:
            await journal.mark_sent(attempt_id, make_order(request), lease_until=LEASE)
            # The request may leave now: its write-ahead must already be committed.
            got = other.get(attempt_id)
            seen_sent.append(got is not None and got.state is AttemptState.SENT)

        tasks = [
            asyncio.ensure_future(write_ahead(i, r)) for i, r in zip(ids, requests, strict=True)
        ]
        await asyncio.sleep(0.05)
        assert not any(task.done() for task in tasks)  # queued behind the busy thread
        release.set()
        await asyncio.gather(busy, *tasks)
        assert store.groups == [["mark_sent"] * 8]  # one transaction, one (durable) commit
        assert seen_sent == [True] * 8
        other.close()
    finally:
        await journal.aclose()


async def test_a_write_that_fails_in_a_group_fails_alone(journal_path: Path) -> None:
    store = Recording(journal_path)
    journal = SqliteJournal(store)
    try:
        first, second = make_request("pattern", "MO-1"), make_request("pattern", "MO-2")
        a = await journal.claim(first, make_holder(), lease_until=LEASE, take_over=never)
        b = await journal.claim(second, make_holder(), lease_until=LEASE, take_over=never)
        assert a.attempt_id is not None and b.attempt_id is not None
        await journal.withdraw(b.attempt_id, "nothing to send")
        store.groups.clear()
        release, busy = await hold_the_thread(journal)
        good = asyncio.ensure_future(
            journal.mark_sent(a.attempt_id, make_order(first), lease_until=LEASE)
        )
        bad = asyncio.ensure_future(  # withdrawn: its write-ahead must be refused
            journal.mark_sent(b.attempt_id, make_order(second), lease_until=LEASE)
        )
        third = make_request("pattern", "MO-3")
        claim = asyncio.ensure_future(
            journal.claim(third, make_holder(), lease_until=LEASE, take_over=never)
        )
        await asyncio.sleep(0.05)
        release.set()
        await busy
        await good
        with pytest.raises(JournalError, match="withdrawn, not claimed"):
            await bad
        assert (await claim).taken
        assert store.groups == [["mark_sent", "mark_sent", "claim"]]
        sent = await journal.get(a.attempt_id)
        withdrawn = await journal.get(b.attempt_id)
        assert sent is not None and sent.state is AttemptState.SENT
        assert withdrawn is not None and withdrawn.state is AttemptState.WITHDRAWN
        assert withdrawn.before is None  # the refused write left nothing behind
    finally:
        await journal.aclose()


async def test_a_write_failing_halfway_is_undone_alone_and_a_clean_group_has_no_savepoints(
    journal_path: Path,
) -> None:
    class HalfwayFailure(Recording):
        """The write-ahead of one attempt writes its row, then fails."""

        fail_for: int | None = None

        def _mark_sent(self, conn: Any, attempt_id: int, *args: Any, **kwargs: Any) -> None:
            super()._mark_sent(conn, attempt_id, *args, **kwargs)
            if attempt_id == self.fail_for:
                raise RuntimeError("failed after writing")

    store = HalfwayFailure(journal_path)
    journal = SqliteJournal(store)
    statements: list[str] = []
    assert store._conn is not None
    store._conn.set_trace_callback(statements.append)
    try:
        requests, ids = await claimed(journal, 4)

        async def group(pairs: list[tuple[int, Any]]) -> list[Any]:
            release, busy = await hold_the_thread(journal)
            calls = [
                asyncio.ensure_future(journal.mark_sent(i, make_order(r), lease_until=LEASE))
                for i, r in pairs
            ]
            await asyncio.sleep(0.05)
            statements.clear()
            release.set()
            await busy
            return await asyncio.gather(*calls, return_exceptions=True)

        pairs = list(zip(ids, requests, strict=True))
        assert await group(pairs[:2]) == [None, None]
        assert not [s for s in statements if "one_call" in s]  # nothing failed: none a write
        store.fail_for = ids[2]
        results = await group(pairs[2:])
        assert isinstance(results[0], RuntimeError) and results[1] is None
        assert [s for s in statements if "SAVEPOINT one_call" in s]  # again, one a write
        assert sum("BEGIN" in s for s in statements) == 1  # in the same transaction
        half = await journal.get(ids[2])
        other = await journal.get(ids[3])
        assert half is not None and half.state is AttemptState.CLAIMED  # its write undone
        assert half.before is None
        assert other is not None and other.state is AttemptState.SENT  # the other stands
    finally:
        await journal.aclose()


async def test_when_the_groups_commit_fails_no_caller_is_told_it_stands(
    journal_path: Path,
) -> None:
    class FailingCommit(SqliteStore):
        fail = False

        def write_group(self, calls: list[GroupedWrite]) -> list[Any]:
            if self.fail:  # as a COMMIT that fails: the bodies' work is rolled back
                raise JournalError("disk I/O error")
            return super().write_group(calls)

    store = FailingCommit(journal_path)
    journal = SqliteJournal(store)
    try:
        request = make_request("pattern", "MO-1")
        claim = await journal.claim(request, make_holder(), lease_until=LEASE, take_over=never)
        assert claim.attempt_id is not None
        store.fail = True
        release, busy = await hold_the_thread(journal)
        calls = [
            asyncio.ensure_future(
                journal.mark_sent(claim.attempt_id, make_order(request), lease_until=LEASE)
            ),
            asyncio.ensure_future(journal.finish(claim.attempt_id, make_outcome(request), 1)),
        ]
        await asyncio.sleep(0.05)
        release.set()
        await busy
        for call in calls:
            with pytest.raises(JournalError, match="disk I/O error"):
                await call
    finally:
        await journal.aclose()


async def test_a_call_after_closing_is_refused(journal_path: Path) -> None:
    journal = SqliteJournal.open(journal_path)
    await journal.aclose()
    await journal.aclose()  # again: nothing
    with pytest.raises(JournalError, match="closed"):
        await journal.get(1)


# -- the short wait in a burst ---------------------------------------------------------------


def test_a_write_waits_for_company_only_in_a_burst() -> None:
    from tui.core.journal.sqlite import BURST_GAP_S, group_wait_s

    assert group_wait_s(10.0, None, 0.002) == 0.0  # the first write of the journal's life
    assert group_wait_s(10.0, 10.0 - BURST_GAP_S, 0.002) == 0.0  # a lone write (console)
    assert group_wait_s(10.0, 10.0 - BURST_GAP_S / 2, 0.002) == 0.002  # in a burst
    assert group_wait_s(10.0, 9.999, 0.0) == 0.0  # the wait turned off


async def test_writes_arriving_apart_in_a_burst_share_a_group(
    journal_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A wide window and a wide burst so the grouping does not depend on this machine's
    # speed: the second write comes 50 ms after the first was taken, within its 0.4 s wait.
    monkeypatch.setattr(sqlite_journal, "BURST_GAP_S", 60.0)
    store = Recording(journal_path)
    journal = SqliteJournal(store, group_window_s=0.4)
    try:
        first = make_request("pattern", "MO-burst-0")
        await journal.claim(first, make_holder(), lease_until=LEASE, take_over=never)
        store.groups.clear()

        async def claim_later(n: int, delay: float) -> None:
            await asyncio.sleep(delay)
            request = make_request("pattern", f"MO-burst-{n}")
            await journal.claim(request, make_holder(), lease_until=LEASE, take_over=never)

        # Right after the previous group's commit: a burst.
        await asyncio.gather(claim_later(1, 0.0), claim_later(2, 0.05))
        assert store.groups == [["claim", "claim"]]
    finally:
        await journal.aclose()


async def test_a_lone_write_is_committed_without_waiting(journal_path: Path) -> None:
    store = Recording(journal_path)
    journal = SqliteJournal(store, group_window_s=5.0)  # a wait that would show
    try:
        await journal.claim(
            make_request("pattern", "MO-lone"), make_holder(), lease_until=LEASE, take_over=never
        )
        # Well after the last group: not a burst, so no 5 s wait (the test would time out).
        await asyncio.sleep(0.05)
        await asyncio.wait_for(
            journal.claim(
                make_request("pattern", "MO-lone-2"),
                make_holder(),
                lease_until=LEASE,
                take_over=never,
            ),
            timeout=2.0,
        )
        assert store.groups == [["claim"], ["claim"]]
    finally:
        await journal.aclose()
