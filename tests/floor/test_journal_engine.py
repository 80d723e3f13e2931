"""The shared journal's engine on a real PostgreSQL server, called directly: what the SQLite
journal's store tests prove, for the reads and claims the batch path and the history lean on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from postgres_cluster import PostgresCluster

from tui.core.domain import CancelOutcome, CancelRequest, Line, Order, Outcome
from tui.core.journal import Holder
from tui.core.journal.postgres import PostgresJournal

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
