"""The journal within one process: claims, write-ahead, answers, settling, queries, file setup.

Every sent attempt goes claim → mark_sent (the write-ahead) → finish, then settle for a later
confirmation or reconciliation; a claim that sends nothing is withdrawn. The claim on an order
is held by its one open attempt, and the database itself refuses a second.
"""

from __future__ import annotations

import inspect
import json
import sqlite3
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from journal_testkit import (
    LEASE,
    FakeClock,
    claim,
    claim_and_send,
    make_holder,
    make_order,
    make_outcome,
    make_request,
    never,
    refuse_to_be_asked,
)

from tui.core.domain import CancelledLine, Order, Outcome
from tui.core.identifiers import InvalidInput
from tui.core.journal import (
    PUBLIC_FIELDS,
    Attempt,
    AttemptJournal,
    AttemptState,
    JournalError,
    SqliteJournal,
    SqliteStore,
    UnknownAttempt,
)
from tui.core.journal.rows import OVERRULED_WARNING
from tui.core.settings import Settings


def raw_row(path: Path, attempt_id: int) -> sqlite3.Row | None:
    """Read a row through a separate connection: only committed data is visible there."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM attempts WHERE id = ?", (attempt_id,)).fetchone()
    finally:
        conn.close()


def row_count(path: Path, order_id: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT COUNT(*) FROM attempts WHERE order_id = ?", (order_id,)
        ).fetchone()[0]
    finally:
        conn.close()


# -- the protocol ------------------------------------------------------------------------------


def _protocol_methods() -> list[str]:
    return [
        name
        for name, value in vars(AttemptJournal).items()
        if not name.startswith("_") and inspect.isfunction(value)
    ]


def _shape(fn: object) -> list[tuple[str, object]]:
    """Parameter names and kinds (what a caller relies on), without ``self``."""
    params = list(inspect.signature(fn).parameters.values())  # type: ignore[arg-type]
    return [(p.name, p.kind) for p in params if p.name != "self"]


LIFECYCLE_METHODS = (
    "claim",
    "withdraw",
    "mark_sent",
    "finish",
    "settle",
    "get",
    "open_attempt",
    "latest_for",
    "latest_for_many",
    "attempts",
)


def test_sqlite_journal_implements_every_protocol_method() -> None:
    names = _protocol_methods()
    assert set(LIFECYCLE_METHODS) | {"aclose"} <= set(names)
    for name in names:
        wanted = getattr(AttemptJournal, name)
        ours = getattr(SqliteJournal, name)
        assert _shape(ours) == _shape(wanted), name
        if inspect.iscoroutinefunction(wanted):
            assert inspect.iscoroutinefunction(ours), f"{name} must be a coroutine"
    assert isinstance(inspect.getattr_static(SqliteJournal, "where"), property)
    # The blocking store has the same calls, minus the coroutine.
    for name in LIFECYCLE_METHODS:
        store_fn = getattr(SqliteStore, name)
        assert not inspect.iscoroutinefunction(store_fn), name
        assert _shape(store_fn) == _shape(getattr(AttemptJournal, name)), name


async def test_sqlite_journal_runs_the_store_off_the_event_loop(journal_path: Path) -> None:
    journal: AttemptJournal = SqliteJournal.open(journal_path)
    threads: list[str] = []
    store = journal.store  # type: ignore[attr-defined]
    real_group = store.write_group

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread().name)
        return real_group(*args, **kwargs)

    store.write_group = spy
    try:
        request = make_request()
        got = await journal.claim(request, make_holder(), lease_until=LEASE, take_over=never)
        assert got.taken and got.attempt_id is not None
        await journal.mark_sent(got.attempt_id, make_order(request), lease_until=LEASE)
        await journal.finish(got.attempt_id, make_outcome(request), 3)
        attempt = await journal.get(got.attempt_id)
        assert attempt is not None and attempt.outcome is Outcome.COMPLETE
        assert journal.where == str(journal_path)
    finally:
        await journal.aclose()
    # claim, mark_sent and finish: each awaited before the next, so one group each.
    assert len(threads) == 3 and set(threads) == {"journal"}
    assert threads[0] != threading.current_thread().name


# -- claim -------------------------------------------------------------------------------------


def test_claim_commits_a_claimed_open_row_before_anything_is_sent(
    store: SqliteStore, journal_path: Path
) -> None:
    request = make_request(items=(("L1", 2), ("L2", None)), reason_code="4")
    holder = make_holder("bob", host="dock-3", pid=777, pid_started=1234.5)
    lease = datetime(2025, 3, 1, 12, 1, tzinfo=UTC)
    got = store.claim(request, holder, lease_until=lease, take_over=refuse_to_be_asked)
    assert got.taken and got.holder is None and got.taken_over is None
    assert got.attempt_id is not None

    row = raw_row(journal_path, got.attempt_id)  # another connection sees it: committed
    assert row is not None
    assert (row["state"], row["open"]) == ("claimed", 1)
    assert row["sent_at"] is None and row["before"] is None
    assert row["outcome"] is None and row["finished_at"] is None
    assert (row["operator"], row["host"], row["pid"], row["pid_started"]) == (
        "bob",
        "dock-3",
        777,
        1234.5,
    )
    assert (row["provider"], row["order_id"]) == ("shoplazza", "1001-1")
    assert row["reason"] == "duplicate import"
    assert row["reason_code"] == "4"
    assert json.loads(row["items"]) == [{"id": "L1", "quantity": 2}, {"id": "L2", "quantity": None}]
    assert row["started_at"] == "2025-03-01T12:00:00.000000+00:00"
    assert row["lease_until"] == "2025-03-01T12:01:00.000000+00:00"


def test_mark_sent_writes_ahead_with_the_order_before_sending(
    store: SqliteStore, journal_path: Path, clock: FakeClock
) -> None:
    request = make_request(items=(("L1", 2),))
    attempt_id = claim(store, request)
    clock.advance(seconds=1)
    before = make_order(request, status="opened · paid")
    lease = datetime(2025, 3, 1, 12, 2, tzinfo=UTC)
    store.mark_sent(attempt_id, before, lease_until=lease)

    row = raw_row(journal_path, attempt_id)
    assert row is not None
    assert (row["state"], row["open"]) == ("sent", 1)
    assert row["outcome"] is None
    assert row["sent_at"] == "2025-03-01T12:00:01.000000+00:00"
    assert row["lease_until"] == "2025-03-01T12:02:00.000000+00:00"
    assert Order.model_validate_json(row["before"]) == before

    attempt = store.get(attempt_id)
    assert attempt is not None
    assert attempt.before == before
    assert attempt.sent_at == datetime(2025, 3, 1, 12, 0, 1, tzinfo=UTC)
    assert attempt.lease_until == lease
    # The items stay as asked; the snapshot says what was open.
    assert [(i.id, i.quantity) for i in attempt.items] == [("L1", 2)]


def test_mark_sent_is_durable(store: SqliteStore) -> None:
    """The write-ahead is fsynced before the request may leave (synchronous=FULL); the
    answer need not be (NORMAL: losing it leaves the attempt unknown and open)."""
    request = make_request()
    attempt_id = claim(store, request)
    seen: list[str] = []
    conn = store._connection()
    conn.set_trace_callback(seen.append)
    try:
        store.mark_sent(attempt_id, make_order(request), lease_until=LEASE)
        store.finish(attempt_id, make_outcome(request), 1)
    finally:
        conn.set_trace_callback(None)

    def sync_mode_of(marker: str) -> str:
        at = next(i for i, sql in enumerate(seen) if marker in sql)
        return next(sql for sql in reversed(seen[:at]) if sql.startswith("PRAGMA synchronous"))

    assert sync_mode_of("SET state = 'sent'") == "PRAGMA synchronous = FULL"
    assert sync_mode_of("SET state = 'finished'") == "PRAGMA synchronous = NORMAL"


def test_a_second_claim_is_refused_and_names_the_holder(
    store: SqliteStore, journal_path: Path
) -> None:
    request = make_request()
    first = claim_and_send(store, request, make_holder("anna", pid=11))

    got = store.claim(
        request, make_holder("ben", pid=22), lease_until=LEASE, take_over=refuse_to_be_asked
    )

    assert not got.taken and got.attempt_id is None
    assert got.holder is not None
    assert got.holder.id == first
    assert got.holder.state is AttemptState.SENT and got.holder.open
    assert got.holder.holder == make_holder("anna", pid=11)
    assert row_count(journal_path, request.order_id) == 1  # nothing was written for ben
    # Other orders, and the same order id at another provider, are not held.
    claim(store, make_request(order_id="1001-2"))
    claim(store, make_request(provider="pattern"))


def test_a_claimed_holder_is_taken_over_only_when_take_over_says_so(
    store: SqliteStore, journal_path: Path, clock: FakeClock
) -> None:
    request = make_request()
    dead = claim(store, request, make_holder("anna", pid=11))
    asked: list[Attempt] = []

    def not_yet(attempt: Attempt) -> bool:
        asked.append(attempt)
        return False

    kept = store.claim(request, make_holder("ben"), lease_until=LEASE, take_over=not_yet)
    assert not kept.taken and kept.holder is not None and kept.holder.id == dead
    assert [a.id for a in asked] == [dead]
    assert asked[0].state is AttemptState.CLAIMED and asked[0].holder.pid == 11
    assert store.open_attempt("shoplazza", "1001-1").id == dead  # type: ignore[union-attr]

    clock.advance(seconds=5)
    taken = store.claim(request, make_holder("ben"), lease_until=LEASE, take_over=lambda a: True)
    assert taken.taken and taken.attempt_id is not None and taken.attempt_id != dead
    assert taken.taken_over is not None and taken.taken_over.id == dead
    old = store.get(dead)
    assert old is not None
    assert (old.state, old.open) == (AttemptState.WITHDRAWN, False)
    assert "stopped before sending" in old.message
    assert old.updated_at == datetime(2025, 3, 1, 12, 0, 5, tzinfo=UTC)
    now_open = store.open_attempt("shoplazza", "1001-1")
    assert now_open is not None and now_open.id == taken.attempt_id
    assert now_open.operator == "ben"
    assert row_count(journal_path, "1001-1") == 2


@pytest.mark.parametrize("finished_unknown", [False, True])
def test_a_sent_holder_is_never_offered_for_take_over(
    store: SqliteStore, finished_unknown: bool
) -> None:
    """Something may have left: only a claim that sent nothing can be taken over."""
    request = make_request()
    sent = claim_and_send(store, request)
    if finished_unknown:
        store.finish(sent, make_outcome(request, Outcome.UNKNOWN, http_status=None), 5)
    got = store.claim(request, make_holder("ben"), lease_until=LEASE, take_over=refuse_to_be_asked)
    assert not got.taken and got.holder is not None and got.holder.id == sent


def test_the_unique_index_refuses_a_second_open_attempt_even_from_raw_sql(
    store: SqliteStore, journal_path: Path
) -> None:
    request = make_request()
    claim(store, request)
    conn = sqlite3.connect(journal_path)
    try:
        insert = (
            "INSERT INTO attempts (started_at, operator, provider, order_id, reason, state, open)"
            " VALUES ('2025-03-01T12:00:00.000000+00:00', 'rogue', ?, ?, 'r', ?, ?)"
        )
        for state in ("claimed", "sent", "finished"):
            with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"), conn:
                conn.execute(insert, ("shoplazza", "1001-1", state, 1))
        with conn:  # a closed attempt on the same order, and an open one elsewhere, are fine
            conn.execute(insert, ("shoplazza", "1001-1", "finished", 0))
            conn.execute(insert, ("shoplazza", "1001-2", "sent", 1))
            conn.execute(insert, ("pattern", "1001-1", "sent", 1))
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"), conn:
            conn.execute("UPDATE attempts SET open = 1 WHERE operator = 'rogue' AND open = 0")
        # The index behind it, as declared.
        (sql,) = conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'attempts_one_open'"
        ).fetchone()
    finally:
        conn.close()
    assert "UNIQUE" in sql and "WHERE open = 1" in sql
    assert len(store.attempts(provider="shoplazza", order_id="1001-1", open_only=True)) == 1


def test_many_threads_claiming_one_order_one_gets_it(store: SqliteStore) -> None:
    request = make_request(order_id="RACE-1")
    barrier = threading.Barrier(8)
    results: list[tuple[str, int]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        try:
            barrier.wait()
            got = store.claim(request, make_holder(f"t{n}"), lease_until=LEASE, take_over=never)
            with lock:
                if got.attempt_id is not None:
                    results.append(("taken", got.attempt_id))
                else:
                    assert got.holder is not None
                    results.append(("held", got.holder.id))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    taken = [i for kind, i in results if kind == "taken"]
    assert len(taken) == 1
    assert {i for kind, i in results if kind == "held"} == set(taken)
    assert [a.id for a in store.attempts(order_id="RACE-1")] == taken


# -- withdraw ----------------------------------------------------------------------------------


def test_withdraw_releases_the_claim_and_hides_the_attempt(
    store: SqliteStore, clock: FakeClock
) -> None:
    request = make_request()
    settled = claim_and_send(store, request)
    store.finish(settled, make_outcome(request, Outcome.ERROR, http_status=503), 5)
    clock.advance(seconds=1)
    withdrawn = claim(store, request)
    assert store.open_attempt("shoplazza", "1001-1").id == withdrawn  # type: ignore[union-attr]
    assert [a.id for a in store.attempts()] == [withdrawn, settled]  # a claim is listed

    store.withdraw(withdrawn, "not sent: the order is already cancelled")

    assert store.open_attempt("shoplazza", "1001-1") is None
    assert [a.id for a in store.attempts()] == [settled]
    assert store.attempts(open_only=True) == []
    assert store.attempts(outcome="unknown") == []
    latest = store.latest_for("shoplazza", "1001-1")
    assert latest is not None and latest.id == settled
    gone = store.get(withdrawn)  # still readable by id
    assert gone is not None
    assert (gone.state, gone.open, gone.outcome) == (AttemptState.WITHDRAWN, False, Outcome.UNKNOWN)
    assert gone.message == "not sent: the order is already cancelled"
    assert gone.updated_at == datetime(2025, 3, 1, 12, 0, 1, tzinfo=UTC)
    claim(store, request)  # the order is free again


def test_only_a_claim_can_be_withdrawn_or_marked_sent(store: SqliteStore) -> None:
    request = make_request()
    attempt_id = claim_and_send(store, request)
    with pytest.raises(JournalError, match="is sent, not claimed"):
        store.withdraw(attempt_id, "too late")
    with pytest.raises(JournalError, match="is sent, not claimed"):
        store.mark_sent(attempt_id, make_order(request), lease_until=LEASE)
    store.finish(attempt_id, make_outcome(request), 1)
    with pytest.raises(JournalError, match="is finished, not claimed"):
        store.withdraw(attempt_id, "too late")
    other = claim(store, make_request(order_id="1001-2"))
    with pytest.raises(JournalError, match="is claimed, not sent"):
        store.finish(other, make_outcome(request), 1)
    with pytest.raises(JournalError, match="is claimed, not sent"):
        store.settle(other, make_outcome(request))
    store.withdraw(other, "nothing to do")
    with pytest.raises(JournalError, match="is withdrawn, not claimed"):
        store.mark_sent(other, make_order(request), lease_until=LEASE)
    assert store.get(attempt_id).outcome is Outcome.COMPLETE  # type: ignore[union-attr]


# -- unfinished attempts read as unknown -------------------------------------------------------


@pytest.mark.parametrize("sent", [False, True])
def test_an_unfinished_attempt_reads_as_unknown(store: SqliteStore, sent: bool) -> None:
    request = make_request()
    attempt_id = claim_and_send(store, request) if sent else claim(store, request)
    attempt = store.get(attempt_id)
    assert attempt is not None
    assert attempt.state is (AttemptState.SENT if sent else AttemptState.CLAIMED)
    assert attempt.open
    assert attempt.outcome is Outcome.UNKNOWN
    assert not attempt.settled
    assert attempt.confirmed is False
    assert attempt.finished_at is None
    assert attempt.operator == "ops-anna"  # the holder's operator
    assert [a.id for a in store.attempts(outcome="unknown")] == [attempt_id]


@pytest.mark.parametrize("state", ["claimed", "sent"])
def test_an_unfinished_row_never_reads_as_success_even_if_its_columns_say_so(
    store: SqliteStore, journal_path: Path, state: str
) -> None:
    request = make_request()
    attempt_id = claim_and_send(store, request) if state == "sent" else claim(store, request)
    conn = sqlite3.connect(journal_path)
    with conn:
        conn.execute(
            "UPDATE attempts SET outcome = 'complete', confirmed = 1 WHERE id = ?", (attempt_id,)
        )
    conn.close()
    attempt = store.get(attempt_id)
    assert attempt is not None
    assert attempt.outcome is Outcome.UNKNOWN
    assert attempt.confirmed is False
    assert [a.id for a in store.attempts(outcome="complete")] == []
    assert [a.id for a in store.attempts(outcome="unknown")] == [attempt_id]
    for model_state in (AttemptState.CLAIMED, AttemptState.SENT, AttemptState.WITHDRAWN):
        assert (
            Attempt(
                id=1,
                started_at=datetime.now(UTC),
                operator="x",
                provider="p",
                order_id="o",
                reason="r",
                state=model_state,
                outcome=Outcome.COMPLETE,
                confirmed=True,
            ).outcome
            is Outcome.UNKNOWN
        )


# -- finish and settle -------------------------------------------------------------------------


def test_finish_records_the_answer_and_releases_the_claim(
    store: SqliteStore, clock: FakeClock
) -> None:
    request = make_request("pattern", "MO-7")
    attempt_id = claim_and_send(store, request)
    clock.advance(seconds=2)
    outcome = make_outcome(
        request,
        Outcome.PARTIAL,
        http_status=206,
        request_id="req-42",
        message="1 of 2 initiated",
        warnings=["async: not yet confirmed"],
    )
    store.finish(attempt_id, outcome, 1234.5)

    attempt = store.get(attempt_id)
    assert attempt is not None
    assert attempt.state is AttemptState.FINISHED
    assert attempt.open is False
    assert attempt.outcome is Outcome.PARTIAL
    assert attempt.http_status == 206
    assert attempt.request_id == "req-42"
    assert attempt.message == "1 of 2 initiated"
    assert attempt.warnings == ["async: not yet confirmed"]
    assert [c.id for c in attempt.cancelled] == ["L1"]
    assert attempt.cancelled[0].quantity == 1
    assert [(n.id, n.status, n.reason) for n in attempt.not_cancelled] == [
        ("L2", "shipped", "gone")
    ]
    assert attempt.duration_ms == pytest.approx(1234.5)
    assert attempt.started_at == datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert attempt.finished_at == datetime(2025, 3, 1, 12, 0, 2, tzinfo=UTC)
    assert attempt.updated_at is None
    assert attempt.confirmed is False
    assert store.open_attempt("pattern", "MO-7") is None
    claim(store, request)  # the order is free for the next attempt


def test_finish_with_unknown_keeps_the_claim_settled_releases_it(
    store: SqliteStore, clock: FakeClock
) -> None:
    request = make_request()
    attempt_id = claim_and_send(store, request)
    store.finish(attempt_id, make_outcome(request, Outcome.UNKNOWN, http_status=None), 10)

    attempt = store.get(attempt_id)
    assert attempt is not None
    assert (attempt.state, attempt.open, attempt.outcome) == (
        AttemptState.FINISHED,
        True,
        Outcome.UNKNOWN,
    )
    held = store.claim(request, make_holder("ben"), lease_until=LEASE, take_over=never)
    assert not held.taken and held.holder is not None and held.holder.id == attempt_id
    assert [a.id for a in store.attempts(open_only=True)] == [attempt_id]

    # A re-check that is still unknown keeps it open too.
    clock.advance(seconds=5)
    assert store.settle(attempt_id, make_outcome(request, Outcome.UNKNOWN, warnings=["later"]))
    assert store.get(attempt_id).open is True  # type: ignore[union-attr]

    assert store.settle(attempt_id, make_outcome(request, Outcome.COMPLETE, message="by look-up"))
    settled = store.get(attempt_id)
    assert settled is not None
    assert (settled.open, settled.outcome, settled.confirmed) == (False, Outcome.COMPLETE, True)
    assert store.attempts(open_only=True) == []
    claim(store, request)


def test_settle_after_finish_keeps_finished_at_and_sets_updated_at(
    store: SqliteStore, clock: FakeClock
) -> None:
    request = make_request("pattern", "MO-8")
    attempt_id = claim_and_send(store, request)
    clock.advance(seconds=1)
    initiated = make_outcome(request, Outcome.COMPLETE, confirmed=False, http_status=200)
    store.finish(attempt_id, initiated, 80)
    clock.advance(seconds=30)
    assert store.settle(attempt_id, initiated.model_copy(update={"confirmed": True}))

    attempt = store.get(attempt_id)
    assert attempt is not None
    assert attempt.confirmed is True
    assert attempt.outcome is Outcome.COMPLETE
    assert attempt.finished_at == datetime(2025, 3, 1, 12, 0, 1, tzinfo=UTC)
    assert attempt.updated_at == datetime(2025, 3, 1, 12, 0, 31, tzinfo=UTC)
    assert attempt.duration_ms == pytest.approx(80)


def test_settle_settles_an_attempt_that_was_never_finished(
    store: SqliteStore, clock: FakeClock
) -> None:
    request = make_request()
    attempt_id = claim_and_send(store, request)
    assert [a.id for a in store.attempts(outcome="unknown")] == [attempt_id]
    clock.advance(minutes=5)
    assert store.settle(attempt_id, make_outcome(request, Outcome.COMPLETE, message="by look-up"))

    attempt = store.get(attempt_id)
    assert attempt is not None
    assert attempt.outcome is Outcome.COMPLETE
    assert attempt.state is AttemptState.FINISHED
    assert attempt.open is False
    assert attempt.finished_at is None  # the sending process never recorded an answer
    assert attempt.updated_at == datetime(2025, 3, 1, 12, 5, tzinfo=UTC)
    assert store.attempts(outcome="unknown") == []


def test_settle_only_if_open_changes_nothing_once_released(
    store: SqliteStore, clock: FakeClock
) -> None:
    request = make_request()
    attempt_id = claim_and_send(store, request)
    store.finish(attempt_id, make_outcome(request, Outcome.UNKNOWN, http_status=None), 5)
    # Another process reconciles it first and releases the claim…
    clock.advance(seconds=10)
    assert store.settle(attempt_id, make_outcome(request, Outcome.COMPLETE), only_if_open=True)
    before = store.get(attempt_id)
    assert before is not None and before.open is False
    # …then this one's late verdict ("not applied") must not overwrite it.
    clock.advance(seconds=10)
    late = make_outcome(request, Outcome.ERROR, message="not applied")
    assert store.settle(attempt_id, late, only_if_open=True) is False
    assert store.get(attempt_id) == before
    # Without the guard a settle does overwrite (that is what the guard is for).
    assert store.settle(attempt_id, late) is True
    assert store.get(attempt_id).outcome is Outcome.ERROR  # type: ignore[union-attr]
    with pytest.raises(UnknownAttempt):
        store.settle(999, late, only_if_open=True)


def test_a_second_finish_keeps_the_first_finished_at(store: SqliteStore, clock: FakeClock) -> None:
    request = make_request()
    attempt_id = claim_and_send(store, request)
    store.finish(attempt_id, make_outcome(request, Outcome.UNKNOWN, http_status=None), 10)
    clock.advance(seconds=9)
    store.finish(attempt_id, make_outcome(request), 20)
    attempt = store.get(attempt_id)
    assert attempt is not None
    assert attempt.outcome is Outcome.COMPLETE
    assert attempt.open is False
    assert attempt.finished_at == datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert attempt.updated_at == datetime(2025, 3, 1, 12, 0, 9, tzinfo=UTC)


def test_every_write_to_a_missing_attempt_raises(store: SqliteStore) -> None:
    request = make_request()
    with pytest.raises(UnknownAttempt):
        store.finish(999, make_outcome(request), 1)
    with pytest.raises(UnknownAttempt):
        store.settle(999, make_outcome(request))
    with pytest.raises(UnknownAttempt):
        store.withdraw(999, "x")
    with pytest.raises(UnknownAttempt):
        store.mark_sent(999, make_order(request), lease_until=LEASE)
    assert store.attempts() == []
    assert issubclass(UnknownAttempt, JournalError) and issubclass(UnknownAttempt, LookupError)


# -- queries -----------------------------------------------------------------------------------


def test_attempts_are_newest_first_and_filtered(store: SqliteStore, clock: FakeClock) -> None:
    plan = [
        ("shoplazza", "S-1", Outcome.COMPLETE),
        ("pattern", "P-1", Outcome.REFUSED),
        ("shoplazza", "S-2", Outcome.NOT_FOUND),
        ("rxuniverse", "R-1", Outcome.ERROR),
        ("shoplazza", "S-1", Outcome.UNKNOWN),
        ("ordermesh", "M-1", None),  # never finished
    ]
    ids: dict[tuple[str, str, str], int] = {}
    for provider, order_id, outcome in plan:
        clock.advance(hours=1)
        request = make_request(provider, order_id)
        attempt_id = claim_and_send(store, request)
        if outcome is not None:
            store.finish(attempt_id, make_outcome(request, outcome), 5)
        ids[(provider, order_id, str(outcome))] = attempt_id
    all_ids = list(ids.values())

    assert [a.id for a in store.attempts()] == all_ids[::-1]
    assert [a.id for a in store.attempts(limit=2)] == all_ids[::-1][:2]
    assert [a.id for a in store.attempts(limit=None)] == all_ids[::-1]
    assert [a.order_id for a in store.attempts(provider="shoplazza")] == ["S-1", "S-2", "S-1"]
    assert [a.outcome for a in store.attempts(provider="shoplazza", order_id="S-1")] == [
        Outcome.UNKNOWN,
        Outcome.COMPLETE,
    ]
    assert [a.order_id for a in store.attempts(outcome=Outcome.UNKNOWN)] == ["M-1", "S-1"]
    assert [a.order_id for a in store.attempts(outcome="refused")] == ["P-1"]
    assert [a.order_id for a in store.attempts(outcome="unknown", provider="ordermesh")] == ["M-1"]
    assert [a.order_id for a in store.attempts(open_only=True)] == ["M-1", "S-1"]
    assert [a.order_id for a in store.attempts(open_only=True, provider="shoplazza")] == ["S-1"]
    # since: started_at is 13:00, 14:00, … 18:00
    since = datetime(2025, 3, 1, 16, 0, tzinfo=UTC)
    assert [a.order_id for a in store.attempts(since=since)] == ["M-1", "S-1", "R-1"]
    assert store.attempts(since=datetime(2025, 3, 2, tzinfo=UTC)) == []
    assert [a.order_id for a in store.attempts(since=since, provider="shoplazza")] == ["S-1"]


def test_since_compares_instants_across_time_zones(store: SqliteStore, clock: FakeClock) -> None:
    from datetime import timezone

    claim_and_send(store, make_request(order_id="early"))
    clock.advance(minutes=10)
    claim_and_send(store, make_request(order_id="late"))
    plus_two = timezone(timedelta(hours=2))
    # 14:05 at +02:00 is 12:05 UTC: between the two attempts
    since = datetime(2025, 3, 1, 14, 5, tzinfo=plus_two)
    assert [a.order_id for a in store.attempts(since=since)] == ["late"]


def test_bad_query_arguments_are_invalid_input(store: SqliteStore) -> None:
    with pytest.raises(InvalidInput, match="unknown outcome 'done'"):
        store.attempts(outcome="done")
    with pytest.raises(InvalidInput, match="limit"):
        store.attempts(limit=0)


def test_latest_for_is_the_newest_sent_attempt(store: SqliteStore) -> None:
    assert store.latest_for("shoplazza", "1001-1") is None
    request = make_request()
    first = claim_and_send(store, request)
    store.finish(first, make_outcome(request, Outcome.ERROR, http_status=503), 5)
    claim_and_send(store, make_request(order_id="other"))
    second = claim(store, request)

    # A claim that has not been written ahead is not an attempt yet.
    latest = store.latest_for("shoplazza", "1001-1")
    assert latest is not None and latest.id == first
    store.mark_sent(second, make_order(request), lease_until=LEASE)
    latest = store.latest_for("shoplazza", "1001-1")
    assert latest is not None
    assert latest.id == second
    assert latest.outcome is Outcome.UNKNOWN
    older = store.latest_for("shoplazza", "1001-1", before_id=second)
    assert older is not None and older.id == first
    assert store.latest_for("shoplazza", "1001-1", before_id=first) is None
    assert store.latest_for("pattern", "1001-1") is None
    assert store.get(12345) is None
    many = store.latest_for_many([("shoplazza", "1001-1"), ("pattern", "1001-1")])
    assert many[("shoplazza", "1001-1")].id == second  # type: ignore[union-attr]
    assert many[("pattern", "1001-1")] is None


def test_a_claim_reads_the_latest_earlier_attempt_in_its_own_transaction(
    store: SqliteStore,
) -> None:
    request = make_request()
    first = store.claim(request, make_holder(), lease_until=LEASE, take_over=never)
    assert first.earlier is None  # nothing before it
    assert first.attempt_id is not None
    store.mark_sent(first.attempt_id, make_order(request), lease_until=LEASE)
    store.finish(first.attempt_id, make_outcome(request, Outcome.ERROR, http_status=503), 5)
    withdrawn = claim(store, request)  # a claim that sent nothing is not an earlier attempt
    store.withdraw(withdrawn, "nothing to send")
    claim_and_send(store, make_request(order_id="other"))  # another order's
    again = store.claim(request, make_holder(), lease_until=LEASE, take_over=never)
    assert again.earlier is not None and again.earlier.id == first.attempt_id
    assert again.earlier.outcome is Outcome.ERROR
    assert again.earlier == store.latest_for("shoplazza", "1001-1", before_id=again.attempt_id)
    held = store.claim(request, make_holder(), lease_until=LEASE, take_over=never)
    assert not held.taken and held.earlier is None  # not taken: nothing to decide on


def test_open_attempt_names_the_one_holding_the_order(store: SqliteStore) -> None:
    request = make_request()
    assert store.open_attempt("shoplazza", "1001-1") is None
    first = claim(store, request)
    assert store.open_attempt("shoplazza", "1001-1").state is AttemptState.CLAIMED  # type: ignore[union-attr]
    store.mark_sent(first, make_order(request), lease_until=LEASE)
    held = store.open_attempt("shoplazza", "1001-1")
    assert held is not None and held.id == first and held.state is AttemptState.SENT
    assert store.open_attempt("shoplazza", "1001-2") is None
    store.finish(first, make_outcome(request, Outcome.REFUSED, http_status=406), 1)
    assert store.open_attempt("shoplazza", "1001-1") is None


def test_public_shape_and_round_trips(store: SqliteStore) -> None:
    request = make_request("rxuniverse", "RX-9", reason_code="2", items=(("T1", 1),))
    attempt_id = claim_and_send(store, request, make_holder("ops-anna", host="lab-1", pid=99))
    store.finish(
        attempt_id, make_outcome(request, Outcome.REFUSED, http_status=409, request_id="r1"), 3
    )
    attempt = store.get(attempt_id)
    assert attempt is not None

    public = attempt.to_public()
    assert tuple(public) == PUBLIC_FIELDS
    for key in (
        "id",
        "started_at",
        "sent_at",
        "finished_at",
        "operator",
        "host",
        "pid",
        "provider",
        "order_id",
        "reason",
        "items",
        "state",
        "open",
        "outcome",
        "http_status",
        "cancelled",
        "not_cancelled",
        "message",
        "confirmed",
        "request_id",
        "warnings",
    ):
        assert key in public
    assert "before" not in public and "pid_started" not in public and "lease_until" not in public
    assert public["outcome"] == "refused"
    assert (public["state"], public["open"]) == ("finished", False)
    assert (public["host"], public["pid"]) == ("lab-1", 99)
    assert public["items"] == [{"id": "T1", "quantity": 1}]
    assert datetime.fromisoformat(public["started_at"]) == attempt.started_at
    json.dumps(public)  # plain JSON types only

    again = attempt.as_request()
    assert again.model_dump() == request.model_copy(update={"operator": "ops-anna"}).model_dump()
    outcome = attempt.as_outcome()
    assert outcome.attempt_id == attempt_id
    assert outcome.outcome is Outcome.REFUSED
    assert (outcome.http_status, outcome.request_id) == (409, "r1")
    assert outcome.finished_at == attempt.finished_at


def test_unicode_text_survives(store: SqliteStore) -> None:
    request = make_request(order_id="Ü-1", reason="Kundenwunsch — storniert 🚫")
    attempt_id = claim_and_send(store, request)
    store.finish(
        attempt_id,
        make_outcome(request, cancelled=[CancelledLine(id="Ü-1", status="storniert")]),
        1,
    )
    attempt = store.get(attempt_id)
    assert attempt is not None
    assert attempt.reason == "Kundenwunsch — storniert 🚫"
    assert attempt.cancelled[0].status == "storniert"
    assert attempt.before is not None and attempt.before.order_id == "Ü-1"


# -- the file ----------------------------------------------------------------------------------


def test_file_is_private_in_wal_mode_with_a_busy_timeout(
    store: SqliteStore, journal_path: Path
) -> None:
    claim_and_send(store, make_request())
    assert journal_path.parent.is_dir()
    for path in (journal_path, journal_path.with_name(journal_path.name + "-wal")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(journal_path.parent.stat().st_mode) & 0o077 == 0
    conn = store._connection()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # The waiting is Stopline's own (short fair turns, up to the busy timeout), not SQLite's
    # handler: a writer that holds the file for a moment is waited for, not an error.
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 0
    assert store.busy_timeout_ms == 5000
    other = sqlite3.connect(journal_path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    release.start()
    try:
        got = store.claim(make_request(order_id="later"), make_holder(), lease_until=LEASE,
                          take_over=never)
        assert got.taken
    finally:
        release.join()
        other.close()


async def test_the_runtime_opens_the_journal_in_the_data_dir(tmp_path: Path) -> None:
    from tui.runtime import open_journal

    settings = Settings(data_dir=tmp_path / "stopline-data")
    journal = open_journal(settings)
    try:
        assert journal.where == str(settings.journal_path())
        request = make_request()
        got = await journal.claim(request, make_holder("chris"), lease_until=LEASE, take_over=never)
        assert got.attempt_id is not None
        attempt = await journal.get(got.attempt_id)
    finally:
        await journal.aclose()
    assert settings.journal_path().is_file()
    assert attempt is not None and attempt.operator == "chris"


def test_closed_store_refuses_use(journal_path: Path) -> None:
    store = SqliteStore(journal_path)
    store.close()
    with pytest.raises(JournalError, match="closed"):
        store.claim(make_request(), make_holder(), lease_until=LEASE, take_over=never)
    with pytest.raises(JournalError, match="closed"):
        store.attempts()


def test_many_threads_share_one_store(store: SqliteStore) -> None:
    per_thread, threads = 50, 8
    errors: list[BaseException] = []
    seen: list[int] = []
    seen_lock = threading.Lock()

    def work(n: int) -> None:
        try:
            for i in range(per_thread):
                request = make_request(order_id=f"T{n}-{i}")
                attempt_id = claim_and_send(store, request)
                store.finish(attempt_id, make_outcome(request), 1)
                with seen_lock:
                    seen.append(attempt_id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    assert len(set(seen)) == per_thread * threads
    rows = store.attempts(limit=None)
    assert len(rows) == per_thread * threads
    assert {a.outcome for a in rows} == {Outcome.COMPLETE}
    assert store.attempts(open_only=True) == []
    assert {a.order_id for a in rows} == {
        f"T{n}-{i}" for n in range(threads) for i in range(per_thread)
    }


def test_a_failed_write_rolls_back_and_the_store_stays_usable(
    store: SqliteStore, journal_path: Path
) -> None:
    request = make_request()
    attempt_id = claim_and_send(store, request)
    with pytest.raises(JournalError), store._write(durable=False) as conn:
        conn.execute("UPDATE attempts SET reason = 'half-written' WHERE id = ?", (attempt_id,))
        conn.execute("INSERT INTO attempts (id) VALUES (NULL)")  # NOT NULL violation
    row = raw_row(journal_path, attempt_id)
    assert row is not None and row["reason"] == "duplicate import"
    store.finish(attempt_id, make_outcome(request), 1)
    assert store.get(attempt_id).outcome is Outcome.COMPLETE  # type: ignore[union-attr]


def test_a_claim_refused_by_the_index_rolls_back_cleanly(
    store: SqliteStore, journal_path: Path
) -> None:
    """If the read inside the claim were wrong, the index still refuses, and the failed
    transaction leaves nothing behind."""
    request = make_request()
    first = claim(store, request)
    conn = store._connection()
    with pytest.raises(JournalError, match="UNIQUE"), store._write(durable=False) as tx:
        tx.execute(
            "INSERT INTO attempts (started_at, operator, provider, order_id, reason, state, open)"
            " VALUES ('2025-03-01T12:00:00.000000+00:00', 'x', 'shoplazza', '1001-1', 'r',"
            " 'claimed', 1)"
        )
    assert not conn.in_transaction
    assert row_count(journal_path, "1001-1") == 1
    assert store.open_attempt("shoplazza", "1001-1").id == first  # type: ignore[union-attr]


def test_a_late_answer_is_kept_beside_a_reconciliation_it_does_not_contradict(
    store: SqliteStore,
) -> None:
    """Another process reconciled the attempt (the look-up showed it applied) and released
    it; the sender's answer then arrives after all. The journal keeps the reconciliation and
    records the late answer beside it; the row is not reopened or rewritten."""
    request = make_request()
    attempt_id = claim_and_send(store, request)
    applied = make_outcome(request, Outcome.COMPLETE, message="the look-up shows it applied")
    assert store.settle(attempt_id, applied, only_if_open=True)
    refused = make_outcome(request, Outcome.REFUSED, message="already cancelled")
    assert store.finish(attempt_id, refused, 5.0) is False
    row = store.get(attempt_id)
    assert row is not None
    assert (row.outcome, row.open, row.message) == (
        Outcome.COMPLETE,
        False,
        "the look-up shows it applied",
    )
    assert row.warnings[-1].startswith("a late answer came after this attempt was reconciled")
    assert "refused" in row.warnings[-1]


def test_a_late_answer_that_the_provider_cancelled_overrules_not_applied(
    store: SqliteStore,
) -> None:
    """Reconciled as not applied (untouched after its window), then the provider answers that
    it cancelled: the journal must not keep saying "not applied" — it keeps the provider's
    answer, still released, with a warning that another cancel may have followed."""
    request = make_request()
    attempt_id = claim_and_send(store, request)
    not_applied = make_outcome(request, Outcome.ERROR, message="not applied")
    assert store.settle(attempt_id, not_applied, only_if_open=True)
    assert store.finish(attempt_id, make_outcome(request), 5.0) is False
    row = store.get(attempt_id)
    assert row is not None
    assert (row.outcome, row.open, row.message) == (Outcome.COMPLETE, False, "ok")
    assert row.warnings[-1] == OVERRULED_WARNING
    # A second late answer (a refusal) changes nothing more than a note.
    assert store.finish(attempt_id, make_outcome(request, Outcome.REFUSED), 5.0) is False
    again = store.get(attempt_id)
    assert again is not None and again.outcome is Outcome.COMPLETE
    assert again.warnings[-1].startswith("a late answer came")


def test_finish_shortens_a_lease_and_never_lengthens_it(store: SqliteStore) -> None:
    request = make_request()
    attempt_id = claim_and_send(store, request)
    sent = store.get(attempt_id)
    assert sent is not None and sent.lease_until is not None
    stopped = make_outcome(request, Outcome.UNKNOWN, message="stopped")
    sooner = sent.lease_until - timedelta(hours=1)
    assert store.finish(attempt_id, stopped, 1.0, lease_until=sooner)
    row = store.get(attempt_id)
    assert row is not None and (row.lease_until, row.open) == (sooner, True)
    later = sent.lease_until + timedelta(hours=5)
    assert store.finish(attempt_id, stopped, 1.0, lease_until=later)
    assert store.get(attempt_id).lease_until == sooner  # type: ignore[union-attr]


def test_finish_records_an_answer_while_the_attempt_still_holds_its_order(
    store: SqliteStore,
) -> None:
    request = make_request()
    attempt_id = claim_and_send(store, request)
    unknown = make_outcome(request, Outcome.UNKNOWN, message="no answer")
    assert store.finish(attempt_id, unknown, 5.0) is True
    assert store.finish(attempt_id, make_outcome(request), 6.0) is True  # still open: taken
    row = store.get(attempt_id)
    assert row is not None and row.outcome is Outcome.COMPLETE and not row.open
