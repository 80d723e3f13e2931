"""The shared journal's engine on a real PostgreSQL server, called directly: what the SQLite
journal's store tests prove, for the reads and claims the batch path and the history lean on.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from postgres_cluster import PostgresCluster

from tui.core.domain import CancelOutcome, CancelRequest, Line, Order, Outcome
from tui.core.journal import Holder
from tui.core.journal.history import each_attempt
from tui.core.journal.postgres import PostgresJournal
from tui.core.journal.rows import OVERRULED_WARNING

LEASE = datetime(2099, 1, 1, tzinfo=UTC)
HOLDER = Holder(operator="ana", host="test-host", pid=4242, pid_started=1.0)


def never(attempt: Any) -> bool:
    return False


def request(order_id: str = "1001-1") -> CancelRequest:
    return CancelRequest(provider="shoplazza", order_id=order_id, reason="duplicate import")


def order(order_id: str = "1001-1") -> Order:
    return Order(
        provider="shoplazza",
        order_id=order_id,
        status="opened",
        lines=(Line(id="L1", quantity=1, status="open", cancellable=True),),
    )


async def sent(journal: PostgresJournal, order_id: str, outcome: Outcome) -> int:
    claim = await journal.claim(request(order_id), HOLDER, lease_until=LEASE, take_over=never)
    assert claim.attempt_id is not None
    await journal.mark_sent(claim.attempt_id, order(order_id), lease_until=LEASE)
    await journal.finish(
        claim.attempt_id,
        CancelOutcome(provider="shoplazza", order_id=order_id, outcome=outcome, http_status=503),
        5,
    )
    return claim.attempt_id


async def test_a_claim_reads_the_latest_earlier_attempt_in_its_own_transaction(
    cluster: PostgresCluster, database: str
) -> None:
    journal = PostgresJournal(cluster.url("stopline_owner", database))
    try:
        first = await sent(journal, "1001-1", Outcome.ERROR)
        withdrawn = await journal.claim(request(), HOLDER, lease_until=LEASE, take_over=never)
        assert withdrawn.attempt_id is not None
        assert withdrawn.earlier is not None and withdrawn.earlier.id == first
        await journal.withdraw(withdrawn.attempt_id, "nothing to send")
        await sent(journal, "other", Outcome.COMPLETE)
        again = await journal.claim(request(), HOLDER, lease_until=LEASE, take_over=never)
        assert again.earlier is not None and again.earlier.id == first
        assert again.earlier == await journal.latest_for(
            "shoplazza", "1001-1", before_id=again.attempt_id
        )
        fresh = await journal.claim(request("new"), HOLDER, lease_until=LEASE, take_over=never)
        assert fresh.taken and fresh.earlier is None
    finally:
        await journal.aclose()


async def test_the_server_says_whether_a_lease_runs_whatever_this_machine_s_clock_says(
    cluster: PostgresCluster, database: str, monkeypatch: Any
) -> None:
    """Leases are written in the server's time and read with the server's verdict: a machine
    whose own clock steps (NTP, a resumed VM) after connecting neither writes a lease that
    ends too soon nor reads another machine's live lease as over."""
    import tui.core.journal.postgres as postgres_module

    journal = PostgresJournal(cluster.url("stopline_owner", database))
    try:
        await journal.connect()
        real = postgres_module.utcnow
        monkeypatch.setattr(postgres_module, "utcnow", lambda: real() + timedelta(hours=2))
        assert abs((journal.now() - real()).total_seconds()) < 5  # still the server's time
        lease = journal.now() + timedelta(seconds=30)
        claim = await journal.claim(request("clock"), HOLDER, lease_until=lease, take_over=never)
        assert claim.attempt_id is not None
        row = await journal.get(claim.attempt_id)
        assert row is not None and row.lease_live is True
        assert not row.lease_over(real() + timedelta(hours=2))  # the server's verdict rules
        async with journal.connection() as conn:
            await conn.execute(
                "UPDATE stopline.attempts SET lease_until = now() - interval '1 second'"
                " WHERE id = %s",
                (claim.attempt_id,),
            )
        over = await journal.get(claim.attempt_id)
        assert over is not None and over.lease_live is False and over.lease_over(real())
    finally:
        await journal.aclose()


async def test_a_late_answer_overrules_not_applied_and_finish_only_shortens_a_lease(
    cluster: PostgresCluster, database: str
) -> None:
    journal = PostgresJournal(cluster.url("stopline_owner", database))
    try:
        claim = await journal.claim(request("late"), HOLDER, lease_until=LEASE, take_over=never)
        assert claim.attempt_id is not None
        attempt_id = claim.attempt_id
        await journal.mark_sent(attempt_id, order("late"), lease_until=LEASE)
        stopped = CancelOutcome(
            provider="shoplazza", order_id="late", outcome=Outcome.UNKNOWN, message="stopped"
        )
        sooner = datetime(2098, 1, 1, tzinfo=UTC)
        assert await journal.finish(attempt_id, stopped, 1, lease_until=sooner)
        assert await journal.finish(attempt_id, stopped, 1, lease_until=LEASE)
        row = await journal.get(attempt_id)
        assert row is not None and row.open and row.lease_until is not None
        # Written as the server's now() plus the length asked for: the same moment, give or
        # take the time the statement took.
        assert abs((row.lease_until - sooner).total_seconds()) < 2

        not_applied = CancelOutcome(
            provider="shoplazza", order_id="late", outcome=Outcome.ERROR, message="not applied"
        )
        assert await journal.settle(attempt_id, not_applied, only_if_open=True)
        applied = CancelOutcome(
            provider="shoplazza", order_id="late", outcome=Outcome.COMPLETE, message="ok"
        )
        assert await journal.finish(attempt_id, applied, 5) is False
        row = await journal.get(attempt_id)
        assert row is not None and (row.outcome, row.open, row.message) == (
            Outcome.COMPLETE,
            False,
            "ok",
        )
        assert row.warnings[-1] == OVERRULED_WARNING
        refused = applied.model_copy(update={"outcome": Outcome.REFUSED})
        assert await journal.finish(attempt_id, refused, 5) is False
        again = await journal.get(attempt_id)
        assert again is not None and again.outcome is Outcome.COMPLETE
        assert again.warnings[-1].startswith("a late answer came")
    finally:
        await journal.aclose()


async def test_pages_of_the_shared_journal_join_up_to_one_query(
    cluster: PostgresCluster, database: str
) -> None:
    journal = PostgresJournal(cluster.url("stopline_owner", database))
    try:
        for n in range(9):
            await sent(journal, f"O-{n % 4}", Outcome.COMPLETE)
        since = datetime(2000, 1, 1, tzinfo=UTC)
        for filters in ({}, {"since": since}, {"order_id": "O-1"}):
            whole = await journal.attempts(None, **filters)  # type: ignore[arg-type]
            paged = [a async for a in each_attempt(journal, page=2, **filters)]  # type: ignore[arg-type]
            assert [a.id for a in paged] == [a.id for a in whole] and len(whole) >= 2
    finally:
        await journal.aclose()


async def test_every_journal_connection_bounds_a_transaction_its_client_left_open(
    cluster: PostgresCluster, database: str
) -> None:
    """A client frozen (or gone) inside a claim's transaction must not hold the order's rows
    locked for every other machine: the server ends the transaction after a minute and
    probes a silent socket after 30 s, on each connection the journal makes."""
    journal = PostgresJournal(cluster.url("stopline_owner", database))
    try:
        await journal.connect()
        async with journal.pool.connection() as conn:
            shown = {}
            for name in (
                "idle_in_transaction_session_timeout",
                "tcp_keepalives_idle",
                "tcp_keepalives_count",
            ):
                row = await (await conn.execute(f"SHOW {name}")).fetchone()
                shown[name] = row[0]
    finally:
        await journal.aclose()
    assert shown == {
        "idle_in_transaction_session_timeout": "1min",
        "tcp_keepalives_idle": "30",
        "tcp_keepalives_count": "3",
    }
