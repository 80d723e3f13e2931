"""The journal across processes: crashes, kills, concurrent writers and claimers, fork."""

from __future__ import annotations

import multiprocessing
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from journal_testkit import (
    LEASE,
    child_command,
    claim,
    claim_and_send,
    make_holder,
    make_outcome,
    make_request,
    never,
    run_child,
)

from tui.core.domain import Outcome
from tui.core.holders import in_flight, process_alive
from tui.core.journal import (
    SCHEMA_VERSION,
    Attempt,
    AttemptState,
    JournalError,
    SqliteStore,
)

_HOLDER_OF_THIS_PROCESS = """
import os
from tui.core.holders import this_process
holder = this_process("crash-op")
"""


@pytest.mark.parametrize("sent", [False, True], ids=["after-claim", "after-write-ahead"])
def test_process_dying_leaves_an_open_attempt_that_is_not_in_flight(
    journal_path: Path, sent: bool
) -> None:
    result = run_child(
        _HOLDER_OF_THIS_PROCESS
        + """
import sys
from datetime import UTC, datetime
from tui.core.domain import CancelRequest, Order
from tui.core.journal import SqliteStore
store = SqliteStore(sys.argv[1])
request = CancelRequest(provider="pattern", order_id="MO-CRASH", reason="stock-out")
lease = datetime(2099, 1, 1, tzinfo=UTC)
got = store.claim(request, holder, lease_until=lease, take_over=lambda a: False)
if sys.argv[2] == "sent":
    before = Order(provider="pattern", order_id="MO-CRASH", status="processing")
    store.mark_sent(got.attempt_id, before, lease_until=lease)
print(got.attempt_id, os.getpid(), flush=True)
os._exit(1)  # no finish, no close, no atexit: as if the process died mid-request
""",
        str(journal_path),
        "sent" if sent else "claimed",
    )
    assert result.returncode == 1, result.stderr
    attempt_id, child_pid = map(int, result.stdout.split())

    with SqliteStore(journal_path) as store:
        attempt = store.get(attempt_id)
        assert attempt is not None
        assert attempt.state is (AttemptState.SENT if sent else AttemptState.CLAIMED)
        assert attempt.open
        assert attempt.outcome is Outcome.UNKNOWN
        assert (attempt.provider, attempt.order_id, attempt.operator) == (
            "pattern",
            "MO-CRASH",
            "crash-op",
        )
        assert attempt.pid == child_pid and attempt.pid_started is not None
        assert [a.id for a in store.attempts(open_only=True)] == [attempt_id]
        # Its process is gone: whoever finds it knows it is not in flight any more.
        assert not process_alive(attempt.holder)
        assert not in_flight(attempt, str(journal_path))

        # A claim that sent nothing may be taken over once its process is gone; a sent
        # attempt never is — it is reconciled (by a look-up) first.
        asked: list[int] = []

        def dead(held: Attempt) -> bool:
            asked.append(1)
            return not process_alive(held.holder)

        got = store.claim(
            make_request("pattern", "MO-CRASH"), make_holder(), lease_until=LEASE, take_over=dead
        )
        if sent:
            assert not got.taken and got.holder is not None and got.holder.id == attempt_id
            assert asked == []
            latest = store.latest_for("pattern", "MO-CRASH")
            assert latest is not None and latest.id == attempt_id and not latest.settled
        else:
            assert got.taken and got.taken_over is not None
            assert got.taken_over.id == attempt_id
            assert asked == [1]
            withdrawn = store.get(attempt_id)
            assert withdrawn is not None and withdrawn.state is AttemptState.WITHDRAWN
            assert store.latest_for("pattern", "MO-CRASH") is None  # nothing was ever sent


def test_a_live_holders_claim_is_not_taken_over(journal_path: Path) -> None:
    """The same rule with the holder still running: its claim stands."""
    proc = subprocess.Popen(
        child_command(
            _HOLDER_OF_THIS_PROCESS
            + """
import sys, time
from datetime import UTC, datetime
from tui.core.domain import CancelRequest
from tui.core.journal import SqliteStore
store = SqliteStore(sys.argv[1])
request = CancelRequest(provider="pattern", order_id="MO-LIVE", reason="stock-out")
got = store.claim(
    request, holder, lease_until=datetime(2099, 1, 1, tzinfo=UTC), take_over=lambda a: False
)
print(got.attempt_id, flush=True)
time.sleep(3600)
""",
            str(journal_path),
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        attempt_id = int(proc.stdout.readline())
        with SqliteStore(journal_path) as store:
            attempt = store.get(attempt_id)
            assert attempt is not None
            assert process_alive(attempt.holder)
            assert in_flight(attempt, str(journal_path))
            got = store.claim(
                make_request("pattern", "MO-LIVE"),
                make_holder(),
                lease_until=LEASE,
                take_over=lambda held: not process_alive(held.holder),
            )
            assert not got.taken and got.holder is not None and got.holder.id == attempt_id
    finally:
        proc.kill()
        proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


_HANGING_CANCEL = """
import asyncio, sys
from pathlib import Path
from tui.core.domain import CancelRequest, Order
from tui.core.journal import SqliteJournal
from tui.core.providers.registry import ReasonRules
from tui.core.service import StoplineService
from tui.core.settings import Settings

class HangingProvider:
    key = "shoplazza"
    label = "Shoplazza"
    supports_item_cancel = False
    cancel_is_async = False
    reasons = ReasonRules()
    def can_resolve(self, identifier):
        return True
    async def lookup(self, identifier):
        return Order(provider="shoplazza", order_id=identifier, status="opened")
    async def cancel(self, request):
        print("sending", flush=True)
        await asyncio.sleep(3600)
    async def aclose(self):
        pass

async def main():
    settings = Settings(data_dir=Path(sys.argv[1]), operator="kill-op")
    journal = SqliteJournal.open(settings.journal_path())
    service = StoplineService(settings, {"shoplazza": HangingProvider()}, journal=journal)
    request = CancelRequest(provider="shoplazza", order_id="2002-1", reason="dup")
    await service.cancel(request)

asyncio.run(main())
"""


def test_sigkill_during_a_real_cancel_leaves_the_attempt_unknown_and_open(
    tmp_path: Path,
) -> None:
    """The service claims, looks up, writes ahead; the provider call hangs; the process is
    killed. While it lives its attempt is in flight; once killed it is open and unknown,
    and no longer in flight, so the next cancel reconciles it instead of waiting forever."""
    data_dir = tmp_path / "killed"
    journal_path = data_dir / "journal.sqlite3"
    proc = subprocess.Popen(
        child_command(_HANGING_CANCEL, str(data_dir)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "sending", proc.stderr.read()  # type: ignore[union-attr]
        with SqliteStore(journal_path) as store:
            (alive,) = store.attempts()
            assert alive.state is AttemptState.SENT and alive.pid == proc.pid
            assert in_flight(alive, str(journal_path))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    with SqliteStore(journal_path) as store:
        attempts = store.attempts()
        assert len(attempts) == 1
        (attempt,) = attempts
        assert (attempt.order_id, attempt.operator, attempt.reason) == ("2002-1", "kill-op", "dup")
        assert attempt.state is AttemptState.SENT
        assert attempt.open
        assert attempt.outcome is Outcome.UNKNOWN
        assert attempt.finished_at is None
        assert attempt.sent_at is not None and attempt.lease_until is not None
        assert attempt.before is not None and attempt.before.status == "opened"
        assert not in_flight(attempt, str(journal_path))


def test_sigkill_inside_a_write_transaction_loses_only_that_transaction(
    journal_path: Path,
) -> None:
    proc = subprocess.Popen(
        child_command(
            """
            import sys, time
            from datetime import UTC, datetime
            from tui.core.domain import CancelRequest, Order
            from tui.core.journal import Holder, SqliteStore
            store = SqliteStore(sys.argv[1])
            lease = datetime(2099, 1, 1, tzinfo=UTC)
            request = CancelRequest(provider="pattern", order_id="KEPT", reason="r")
            kept = store.claim(
                request, Holder(operator="x"), lease_until=lease, take_over=lambda a: False
            ).attempt_id
            store.mark_sent(kept, Order(provider="pattern", order_id="KEPT"), lease_until=lease)
            with store._write(durable=True) as conn:
                conn.execute(
                    "INSERT INTO attempts (started_at, operator, provider, order_id, reason)"
                    " VALUES ('2025-01-01T00:00:00.000000+00:00', 'x', 'pattern', 'TORN', 'r')"
                )
                print(kept, flush=True)
                time.sleep(3600)  # holding the write lock when killed
            """,
            str(journal_path),
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        kept_id = int(proc.stdout.readline().strip())
        # While the child holds the write lock, a writer waits busy_timeout, then fails cleanly.
        with SqliteStore(journal_path, busy_timeout_ms=300) as blocked:
            failures: list[BaseException] = []

            def try_to_write() -> None:
                try:
                    claim(blocked, make_request())
                except BaseException as exc:
                    failures.append(exc)

            started = time.monotonic()
            writer = threading.Thread(target=try_to_write, daemon=True)
            writer.start()
            writer.join(timeout=10)
            waited = time.monotonic() - started
            assert not writer.is_alive(), "the writer ignored busy_timeout"
            assert len(failures) == 1 and isinstance(failures[0], JournalError), failures
            assert "locked" in str(failures[0])
            assert 0.25 <= waited < 5
            assert [a.order_id for a in blocked.attempts()] == ["KEPT"]  # readers are not blocked
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()

    with SqliteStore(journal_path, busy_timeout_ms=1000) as store:
        assert [a.order_id for a in store.attempts()] == ["KEPT"]
        kept = store.get(kept_id)
        assert kept is not None and kept.outcome is Outcome.UNKNOWN and kept.open
        request = make_request(order_id="after-kill")
        new_id = claim_and_send(store, request)  # the dead writer's lock is gone
        store.finish(new_id, make_outcome(request), 1)
        assert new_id > kept_id


_WRITER = """
import sys, time
from datetime import UTC, datetime
from pathlib import Path
from tui.core.domain import CancelOutcome, CancelRequest, Order, Outcome
from tui.core.journal import Holder, SqliteStore

path, tag, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
store = SqliteStore(path)
holder = Holder(operator=tag)
lease = datetime(2099, 1, 1, tzinfo=UTC)
print("ready", flush=True)
deadline = time.monotonic() + 30
while not go.exists():
    if time.monotonic() > deadline:
        sys.exit("never told to go")
    time.sleep(0.002)
ids = []
for i in range(count):
    request = CancelRequest(provider="shoplazza", order_id=f"{tag}-{i}", reason="wave")
    got = store.claim(request, holder, lease_until=lease, take_over=lambda a: False)
    attempt_id = got.attempt_id
    store.mark_sent(
        attempt_id, Order(provider="shoplazza", order_id=request.order_id), lease_until=lease
    )
    time.sleep(0.0002)  # the request is "on the wire": the other writer gets a turn
    outcome = CancelOutcome(
        provider="shoplazza", order_id=request.order_id, outcome=Outcome.COMPLETE,
        confirmed=True, http_status=200, message=f"done by {tag}",
    )
    store.finish(attempt_id, outcome, 1.0)
    ids.append(attempt_id)
print(" ".join(map(str, ids)), flush=True)
"""


def _start_when_ready(
    code: str, argv_for: list[list[str]], go: Path
) -> list[subprocess.Popen[str]]:
    """Start one child per argv; each prints "ready" and then waits for ``go`` to exist."""
    procs = [
        subprocess.Popen(
            child_command(code, *argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for argv in argv_for
    ]
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if line != "ready":
            _, err = proc.communicate(timeout=30)
            for other in procs:
                other.kill()
            pytest.fail(f"child did not start: {line!r} {err}")
    go.touch()
    return procs


def _start_writers(
    path: Path, go: Path, tags: list[str], count: int
) -> list[subprocess.Popen[str]]:
    return _start_when_ready(_WRITER, [[str(path), tag, str(count), str(go)] for tag in tags], go)


def test_two_processes_writing_at_once_lose_nothing(journal_path: Path, tmp_path: Path) -> None:
    count = 200
    procs = _start_writers(journal_path, tmp_path / "go", ["A", "B"], count)
    ids_by_tag: dict[str, list[int]] = {}
    for tag, proc in zip(["A", "B"], procs, strict=True):
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        ids_by_tag[tag] = [int(x) for x in out.split()]

    a, b = ids_by_tag["A"], ids_by_tag["B"]
    assert len(a) == len(b) == count
    assert len(set(a) | set(b)) == 2 * count  # ids unique across processes
    assert a == sorted(a) and b == sorted(b)
    # The writers really overlapped: each one's ids fall inside the other's range.
    assert min(a) < max(b) and min(b) < max(a)

    with SqliteStore(journal_path) as store:
        rows = store.attempts(limit=None)
        assert len(rows) == 2 * count
        assert {r.id for r in rows} == set(a) | set(b)
        for tag in ("A", "B"):
            mine = [r for r in rows if r.operator == tag]
            assert {r.order_id for r in mine} == {f"{tag}-{i}" for i in range(count)}
            assert all(r.outcome is Outcome.COMPLETE and r.confirmed for r in mine)
            assert all(r.message == f"done by {tag}" for r in mine)
        assert store.attempts(outcome="unknown") == []
        assert store.attempts(open_only=True) == []


def test_processes_creating_a_fresh_journal_at_once_all_succeed(
    journal_path: Path, tmp_path: Path
) -> None:
    tags = ["P", "Q", "R", "S"]
    procs = _start_writers(journal_path, tmp_path / "go", tags, 5)
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    with SqliteStore(journal_path) as store:
        assert len(store.attempts(limit=None)) == 20
        conn = store._connection()
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


_CLAIMER = """
import os, sys, time
from datetime import UTC, datetime
from pathlib import Path
from tui.core.domain import CancelRequest
from tui.core.journal import Holder, SqliteStore

path, tag, orders, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
store = SqliteStore(path)
holder = Holder(operator=tag, host="floor", pid=os.getpid())
lease = datetime(2099, 1, 1, tzinfo=UTC)
print("ready", flush=True)
deadline = time.monotonic() + 30
while not go.exists():
    if time.monotonic() > deadline:
        sys.exit("never told to go")
    time.sleep(0.001)
for i in range(orders):
    request = CancelRequest(provider="pattern", order_id=f"MO-{i}", reason="wave")
    got = store.claim(request, holder, lease_until=lease, take_over=lambda a: False)
    if got.attempt_id is not None:
        print(f"MO-{i} taken {got.attempt_id}", flush=True)
    else:
        print(f"MO-{i} held {got.holder.id}", flush=True)
"""


def test_many_processes_claiming_the_same_orders_at_once_one_each(
    journal_path: Path, tmp_path: Path
) -> None:
    """Real processes race for the same orders; the database lets exactly one win each."""
    SqliteStore(journal_path).close()  # the file exists: the race is over claims, not setup
    tags = [f"proc-{n}" for n in range(6)]
    orders = 25
    procs = _start_when_ready(
        _CLAIMER,
        [[str(journal_path), tag, str(orders), str(tmp_path / "go")] for tag in tags],
        tmp_path / "go",
    )
    outcomes: dict[str, list[tuple[str, str, int]]] = {}
    for tag, proc in zip(tags, procs, strict=True):
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        for line in out.splitlines():
            order_id, kind, attempt_id = line.split()
            outcomes.setdefault(order_id, []).append((tag, kind, int(attempt_id)))

    assert sorted(outcomes) == sorted(f"MO-{i}" for i in range(orders))
    with SqliteStore(journal_path) as store:
        for order_id, answers in outcomes.items():
            assert len(answers) == len(tags), order_id
            taken = [(tag, i) for tag, kind, i in answers if kind == "taken"]
            assert len(taken) == 1, (order_id, answers)
            ((winner, winning_id),) = taken
            assert {i for _, kind, i in answers if kind == "held"} == {winning_id}
            rows = store.attempts(provider="pattern", order_id=order_id)
            assert [(r.id, r.operator, r.state, r.open) for r in rows] == [
                (winning_id, winner, AttemptState.CLAIMED, True)
            ]


def _use_inherited_store(store: SqliteStore, queue: multiprocessing.Queue[object]) -> None:
    try:
        inherited = store._conn
        request = make_request(order_id="from-child")
        attempt_id = claim_and_send(store, request)
        store.finish(attempt_id, make_outcome(request), 1)
        queue.put(attempt_id if store._conn is not inherited else "reused the parent's connection")
    except BaseException as exc:  # pragma: no cover - reported by the parent
        queue.put(repr(exc))


def test_a_forked_child_opens_its_own_connection(store: SqliteStore) -> None:
    parent_id = claim_and_send(store, make_request(order_id="from-parent"))
    ctx = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[object] = ctx.Queue()
    proc = ctx.Process(target=_use_inherited_store, args=(store, queue))
    proc.start()
    child_id = queue.get(timeout=30)
    proc.join(timeout=30)
    assert proc.exitcode == 0
    assert isinstance(child_id, int), child_id
    assert child_id != parent_id
    # The parent's connection still works after the child used (and exited with) its own.
    later = claim_and_send(store, make_request(order_id="parent-again"))
    assert [a.order_id for a in store.attempts()] == ["parent-again", "from-child", "from-parent"]
    assert store.get(child_id).outcome is Outcome.COMPLETE  # type: ignore[union-attr]
    assert later > child_id
    # The parent's open attempt still holds its order after the fork.
    held = store.claim(
        make_request(order_id="from-parent"), make_holder(), lease_until=LEASE, take_over=never
    )
    assert not held.taken and held.holder is not None and held.holder.id == parent_id
