"""The journal within one process: write-ahead, completion, updates, queries, file setup."""

from __future__ import annotations

import json
import sqlite3
import stat
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from journal_testkit import FakeClock, make_outcome, make_request

from tui.core.domain import CancelledLine, Outcome
from tui.core.identifiers import InvalidInput
from tui.core.journal import (
    PUBLIC_FIELDS,
    Attempt,
    AttemptState,
    Journal,
    JournalError,
    UnknownAttempt,
)
from tui.core.service import AttemptLog
from tui.core.settings import Settings


def raw_row(path: Path, attempt_id: int) -> sqlite3.Row | None:
    """Read a row through a separate connection: only committed data is visible there."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM attempts WHERE id = ?", (attempt_id,)).fetchone()
    finally:
        conn.close()


def test_journal_satisfies_the_attempt_log_protocol(journal: Journal) -> None:
    log: AttemptLog = journal  # a type checker rejects this if a signature drifts
    assert callable(log.begin) and callable(log.finish) and callable(log.update)


def test_begin_commits_the_row_before_finish(journal: Journal, journal_path: Path) -> None:
    request = make_request(items=(("L1", 2), ("L2", None)), reason_code="4", operator="bob")
    attempt_id = journal.begin(request)

    row = raw_row(journal_path, attempt_id)  # another connection sees it: committed
    assert row is not None
    assert row["state"] == "sent"
    assert row["outcome"] is None
    assert row["finished_at"] is None
    assert row["operator"] == "bob"
    assert (row["provider"], row["order_id"]) == ("shoplazza", "1001-1")
    assert row["reason"] == "duplicate import"
    assert row["reason_code"] == "4"
    assert json.loads(row["items"]) == [{"id": "L1", "quantity": 2}, {"id": "L2", "quantity": None}]
    assert row["started_at"] == "2025-03-01T12:00:00.000000+00:00"


def test_unfinished_attempt_reads_as_unknown(journal: Journal) -> None:
    attempt_id = journal.begin(make_request())
    attempt = journal.get(attempt_id)
    assert attempt is not None
    assert attempt.state is AttemptState.SENT
    assert attempt.outcome is Outcome.UNKNOWN
    assert not attempt.settled
    assert attempt.confirmed is False
    assert attempt.finished_at is None
    assert attempt.operator == "ops-anna"  # the request had none: the journal's default


def test_a_sent_row_never_reads_as_success_even_if_its_columns_say_so(
    journal: Journal, journal_path: Path
) -> None:
    attempt_id = journal.begin(make_request())
    conn = sqlite3.connect(journal_path)
    with conn:
        conn.execute(
            "UPDATE attempts SET outcome = 'complete', confirmed = 1 WHERE id = ?", (attempt_id,)
        )
    conn.close()
    attempt = journal.get(attempt_id)
    assert attempt is not None
    assert attempt.outcome is Outcome.UNKNOWN
    assert attempt.confirmed is False
    assert [a.id for a in journal.attempts(outcome="complete")] == []
    assert (
        Attempt(
            id=1,
            started_at=datetime.now(UTC),
            operator="x",
            provider="p",
            order_id="o",
            reason="r",
            state=AttemptState.SENT,
            outcome=Outcome.COMPLETE,
        ).outcome
        is Outcome.UNKNOWN
    )


def test_finish_records_the_answer(journal: Journal, clock: FakeClock) -> None:
    request = make_request("pattern", "MO-7")
    attempt_id = journal.begin(request)
    clock.advance(seconds=2)
    outcome = make_outcome(
        request,
        Outcome.PARTIAL,
        http_status=206,
        request_id="req-42",
        message="1 of 2 initiated",
        warnings=["async: not yet confirmed"],
    )
    journal.finish(attempt_id, outcome, 1234.5)

    attempt = journal.get(attempt_id)
    assert attempt is not None
    assert attempt.state is AttemptState.FINISHED
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


def test_update_after_finish_keeps_finished_at_and_sets_updated_at(
    journal: Journal, clock: FakeClock
) -> None:
    request = make_request("pattern", "MO-8")
    attempt_id = journal.begin(request)
    clock.advance(seconds=1)
    initiated = make_outcome(request, Outcome.COMPLETE, confirmed=False, http_status=200)
    journal.finish(attempt_id, initiated, 80)
    clock.advance(seconds=30)
    journal.update(attempt_id, initiated.model_copy(update={"confirmed": True}))

    attempt = journal.get(attempt_id)
    assert attempt is not None
    assert attempt.confirmed is True
    assert attempt.outcome is Outcome.COMPLETE
    assert attempt.finished_at == datetime(2025, 3, 1, 12, 0, 1, tzinfo=UTC)
    assert attempt.updated_at == datetime(2025, 3, 1, 12, 0, 31, tzinfo=UTC)
    assert attempt.duration_ms == pytest.approx(80)


def test_update_settles_an_attempt_that_was_never_finished(
    journal: Journal, clock: FakeClock
) -> None:
    request = make_request()
    attempt_id = journal.begin(request)
    assert [a.id for a in journal.unknown_attempts()] == [attempt_id]
    clock.advance(minutes=5)
    journal.update(attempt_id, make_outcome(request, Outcome.COMPLETE, message="by look-up"))

    attempt = journal.get(attempt_id)
    assert attempt is not None
    assert attempt.outcome is Outcome.COMPLETE
    assert attempt.state is AttemptState.FINISHED
    assert attempt.finished_at is None  # the sending process never recorded an answer
    assert attempt.updated_at == datetime(2025, 3, 1, 12, 5, tzinfo=UTC)
    assert journal.unknown_attempts() == []


def test_a_second_finish_keeps_the_first_finished_at(journal: Journal, clock: FakeClock) -> None:
    request = make_request()
    attempt_id = journal.begin(request)
    journal.finish(attempt_id, make_outcome(request, Outcome.UNKNOWN, http_status=None), 10)
    clock.advance(seconds=9)
    journal.finish(attempt_id, make_outcome(request), 20)
    attempt = journal.get(attempt_id)
    assert attempt is not None
    assert attempt.outcome is Outcome.COMPLETE
    assert attempt.finished_at == datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert attempt.updated_at == datetime(2025, 3, 1, 12, 0, 9, tzinfo=UTC)


def test_finish_and_update_of_a_missing_attempt_raise(journal: Journal) -> None:
    request = make_request()
    with pytest.raises(UnknownAttempt):
        journal.finish(999, make_outcome(request), 1)
    with pytest.raises(UnknownAttempt):
        journal.update(999, make_outcome(request))
    assert journal.attempts() == []


def test_attempts_are_newest_first_and_filtered(journal: Journal, clock: FakeClock) -> None:
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
        attempt_id = journal.begin(request)
        if outcome is not None:
            journal.finish(attempt_id, make_outcome(request, outcome), 5)
        ids[(provider, order_id, str(outcome))] = attempt_id
    all_ids = list(ids.values())

    assert [a.id for a in journal.attempts()] == all_ids[::-1]
    assert [a.id for a in journal.attempts(limit=2)] == all_ids[::-1][:2]
    assert [a.id for a in journal.attempts(limit=None)] == all_ids[::-1]
    assert [a.order_id for a in journal.attempts(provider="shoplazza")] == ["S-1", "S-2", "S-1"]
    assert [a.outcome for a in journal.attempts(provider="shoplazza", order_id="S-1")] == [
        Outcome.UNKNOWN,
        Outcome.COMPLETE,
    ]
    assert [a.order_id for a in journal.attempts(outcome=Outcome.UNKNOWN)] == ["M-1", "S-1"]
    assert [a.order_id for a in journal.attempts(outcome="refused")] == ["P-1"]
    assert [a.order_id for a in journal.unknown_attempts(provider="ordermesh")] == ["M-1"]
    # since: started_at is 13:00, 14:00, … 18:00
    since = datetime(2025, 3, 1, 16, 0, tzinfo=UTC)
    assert [a.order_id for a in journal.attempts(since=since)] == ["M-1", "S-1", "R-1"]
    assert journal.attempts(since=datetime(2025, 3, 2, tzinfo=UTC)) == []
    assert [a.order_id for a in journal.attempts(since=since, provider="shoplazza")] == ["S-1"]


def test_since_compares_instants_across_time_zones(journal: Journal, clock: FakeClock) -> None:
    from datetime import timedelta, timezone

    journal.begin(make_request(order_id="early"))
    clock.advance(minutes=10)
    journal.begin(make_request(order_id="late"))
    plus_two = timezone(timedelta(hours=2))
    # 14:05 at +02:00 is 12:05 UTC: between the two attempts
    since = datetime(2025, 3, 1, 14, 5, tzinfo=plus_two)
    assert [a.order_id for a in journal.attempts(since=since)] == ["late"]


def test_bad_query_arguments_are_invalid_input(journal: Journal) -> None:
    with pytest.raises(InvalidInput, match="unknown outcome 'done'"):
        journal.attempts(outcome="done")
    with pytest.raises(InvalidInput, match="limit"):
        journal.attempts(limit=0)


def test_latest_for(journal: Journal) -> None:
    assert journal.latest_for("shoplazza", "1001-1") is None
    request = make_request()
    first = journal.begin(request)
    journal.finish(first, make_outcome(request, Outcome.ERROR, http_status=503), 5)
    journal.begin(make_request(order_id="other"))
    second = journal.begin(request)

    latest = journal.latest_for("shoplazza", "1001-1")
    assert latest is not None
    assert latest.id == second
    assert latest.outcome is Outcome.UNKNOWN
    assert journal.latest_for("pattern", "1001-1") is None
    assert journal.get(12345) is None


def test_public_shape_and_round_trips(journal: Journal) -> None:
    request = make_request("rxuniverse", "RX-9", reason_code="2", items=(("T1", 1),))
    attempt_id = journal.begin(request)
    journal.finish(
        attempt_id, make_outcome(request, Outcome.REFUSED, http_status=409, request_id="r1"), 3
    )
    attempt = journal.get(attempt_id)
    assert attempt is not None

    public = attempt.to_public()
    assert tuple(public) == PUBLIC_FIELDS
    for key in (
        "id",
        "started_at",
        "finished_at",
        "operator",
        "provider",
        "order_id",
        "reason",
        "items",
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
    assert public["outcome"] == "refused"
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


def test_unicode_text_survives(journal: Journal) -> None:
    request = make_request(order_id="Ü-1", reason="Kundenwunsch — storniert 🚫")
    attempt_id = journal.begin(request)
    journal.finish(
        attempt_id,
        make_outcome(request, cancelled=[CancelledLine(id="Ü-1", status="storniert")]),
        1,
    )
    attempt = journal.get(attempt_id)
    assert attempt is not None
    assert attempt.reason == "Kundenwunsch — storniert 🚫"
    assert attempt.cancelled[0].status == "storniert"


def test_file_is_private_in_wal_mode_with_a_busy_timeout(
    journal: Journal, journal_path: Path
) -> None:
    journal.begin(make_request())
    assert journal_path.parent.is_dir()
    for path in (journal_path, journal_path.with_name(journal_path.name + "-wal")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(journal_path.parent.stat().st_mode) & 0o077 == 0
    conn = journal._connection()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000


def test_from_settings_uses_the_data_dir_and_operator(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "stopline-data", operator="  chris  ")
    with Journal.from_settings(settings) as journal:
        assert journal.path == settings.journal_path()
        attempt_id = journal.begin(make_request())
        attempt = journal.get(attempt_id)
    assert settings.journal_path().is_file()
    assert attempt is not None and attempt.operator == "chris"


def test_closed_journal_refuses_use(journal_path: Path) -> None:
    journal = Journal(journal_path)
    journal.close()
    with pytest.raises(JournalError, match="closed"):
        journal.begin(make_request())


def test_many_threads_share_one_journal(journal: Journal) -> None:
    per_thread, threads = 50, 8
    errors: list[BaseException] = []
    seen: list[int] = []
    seen_lock = threading.Lock()

    def work(n: int) -> None:
        try:
            for i in range(per_thread):
                request = make_request(order_id=f"T{n}-{i}")
                attempt_id = journal.begin(request)
                journal.finish(attempt_id, make_outcome(request), 1)
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
    rows = journal.attempts(limit=None)
    assert len(rows) == per_thread * threads
    assert {a.outcome for a in rows} == {Outcome.COMPLETE}
    assert {a.order_id for a in rows} == {
        f"T{n}-{i}" for n in range(threads) for i in range(per_thread)
    }


def test_a_failed_write_rolls_back_and_the_journal_stays_usable(
    journal: Journal, journal_path: Path
) -> None:
    request = make_request()
    attempt_id = journal.begin(request)
    with pytest.raises(JournalError), journal._write(durable=False) as conn:
        conn.execute("UPDATE attempts SET reason = 'half-written' WHERE id = ?", (attempt_id,))
        conn.execute("INSERT INTO attempts (id) VALUES (NULL)")  # NOT NULL violation
    row = raw_row(journal_path, attempt_id)
    assert row is not None and row["reason"] == "duplicate import"
    journal.finish(attempt_id, make_outcome(request), 1)
    assert journal.get(attempt_id).outcome is Outcome.COMPLETE  # type: ignore[union-attr]
