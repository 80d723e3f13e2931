"""The journal across processes: crashes, kills, concurrent writers, fork."""

from __future__ import annotations

import multiprocessing
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from journal_testkit import child_command, make_outcome, make_request, run_child

from tui.core.domain import Outcome
from tui.core.journal import AttemptState, Journal, JournalError


def test_process_dying_after_begin_leaves_an_unknown_attempt(journal_path: Path) -> None:
    result = run_child(
        """
        import os, sys
        from tui.core.domain import CancelRequest
        from tui.core.journal import Journal
        journal = Journal(sys.argv[1], default_operator="crash-op")
        request = CancelRequest(provider="pattern", order_id="MO-CRASH", reason="stock-out")
        print(journal.begin(request), flush=True)
        os._exit(1)  # no finish, no close, no atexit: as if the process died mid-request
        """,
        str(journal_path),
    )
    assert result.returncode == 1, result.stderr
    attempt_id = int(result.stdout.strip())

    with Journal(journal_path) as journal:
        attempt = journal.get(attempt_id)
        assert attempt is not None
        assert attempt.state is AttemptState.SENT
        assert attempt.outcome is Outcome.UNKNOWN
        assert (attempt.provider, attempt.order_id, attempt.operator) == (
            "pattern",
            "MO-CRASH",
            "crash-op",
        )
        assert [a.id for a in journal.unknown_attempts()] == [attempt_id]
        latest = journal.latest_for("pattern", "MO-CRASH")
        assert latest is not None and not latest.settled


def test_sigkill_during_a_real_cancel_leaves_the_attempt_unknown(tmp_path: Path) -> None:
    """The service writes ahead, the provider call hangs, the process is killed."""
    data_dir = tmp_path / "killed"
    proc = subprocess.Popen(
        child_command(
            """
            import asyncio, sys
            from pathlib import Path
            from tui.core.domain import CancelRequest
            from tui.core.journal import Journal
            from tui.core.service import StoplineService
            from tui.core.settings import Settings

            class HangingProvider:
                label = "Shoplazza"
                supports_item_cancel = False
                async def cancel(self, request):
                    print("sending", flush=True)
                    await asyncio.sleep(3600)
                async def reconcile(self, outcome, request):
                    return outcome
                async def aclose(self):
                    pass

            settings = Settings(data_dir=Path(sys.argv[1]), operator="kill-op")
            journal = Journal.from_settings(settings)
            service = StoplineService(settings, {"shoplazza": HangingProvider()}, journal=journal)
            request = CancelRequest(provider="shoplazza", order_id="2002-1", reason="dup")
            asyncio.run(service.cancel(request))
            """,
            str(data_dir),
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "sending"
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

    with Journal(data_dir / "journal.sqlite3") as journal:
        attempts = journal.attempts()
        assert len(attempts) == 1
        (attempt,) = attempts
        assert (attempt.order_id, attempt.operator, attempt.reason) == ("2002-1", "kill-op", "dup")
        assert attempt.outcome is Outcome.UNKNOWN
        assert attempt.finished_at is None


def test_sigkill_inside_a_write_transaction_loses_only_that_transaction(
    journal_path: Path,
) -> None:
    proc = subprocess.Popen(
        child_command(
            """
            import sys, time
            from tui.core.domain import CancelRequest
            from tui.core.journal import Journal
            journal = Journal(sys.argv[1])
            kept = journal.begin(CancelRequest(provider="pattern", order_id="KEPT", reason="r"))
            with journal._write(durable=True) as conn:
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
        with Journal(journal_path, busy_timeout_ms=300) as blocked:
            failures: list[BaseException] = []

            def try_to_write() -> None:
                try:
                    blocked.begin(make_request())
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

    with Journal(journal_path, busy_timeout_ms=1000) as journal:
        assert [a.order_id for a in journal.attempts()] == ["KEPT"]
        kept = journal.get(kept_id)
        assert kept is not None and kept.outcome is Outcome.UNKNOWN
        request = make_request(order_id="after-kill")
        new_id = journal.begin(request)  # the dead writer's lock is gone
        journal.finish(new_id, make_outcome(request), 1)
        assert new_id > kept_id


_WRITER = """
import sys, time
from pathlib import Path
from tui.core.domain import CancelOutcome, CancelRequest, Outcome
from tui.core.journal import Journal

path, tag, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
journal = Journal(path)
print("ready", flush=True)
deadline = time.monotonic() + 30
while not go.exists():
    if time.monotonic() > deadline:
        sys.exit("never told to go")
    time.sleep(0.002)
ids = []
for i in range(count):
    request = CancelRequest(
        provider="shoplazza", order_id=f"{tag}-{i}", reason="wave", operator=tag
    )
    attempt_id = journal.begin(request)
    time.sleep(0.0002)  # the request is "on the wire": the other writer gets a turn
    outcome = CancelOutcome(
        provider="shoplazza", order_id=request.order_id, outcome=Outcome.COMPLETE,
        confirmed=True, http_status=200, message=f"done by {tag}",
    )
    journal.finish(attempt_id, outcome, 1.0)
    ids.append(attempt_id)
print(" ".join(map(str, ids)), flush=True)
"""


def _start_writers(
    path: Path, go: Path, tags: list[str], count: int
) -> list[subprocess.Popen[str]]:
    procs = [
        subprocess.Popen(
            child_command(_WRITER, str(path), tag, str(count), str(go)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in tags
    ]
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if line != "ready":
            _, err = proc.communicate(timeout=30)
            pytest.fail(f"writer did not start: {line!r} {err}")
    go.touch()
    return procs


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

    with Journal(journal_path) as journal:
        rows = journal.attempts(limit=None)
        assert len(rows) == 2 * count
        assert {r.id for r in rows} == set(a) | set(b)
        for tag in ("A", "B"):
            mine = [r for r in rows if r.operator == tag]
            assert {r.order_id for r in mine} == {f"{tag}-{i}" for i in range(count)}
            assert all(r.outcome is Outcome.COMPLETE and r.confirmed for r in mine)
            assert all(r.message == f"done by {tag}" for r in mine)
        assert journal.unknown_attempts() == []


def test_processes_creating_a_fresh_journal_at_once_all_succeed(
    journal_path: Path, tmp_path: Path
) -> None:
    tags = ["P", "Q", "R", "S"]
    procs = _start_writers(journal_path, tmp_path / "go", tags, 5)
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    with Journal(journal_path) as journal:
        assert len(journal.attempts(limit=None)) == 20
        conn = journal._connection()
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1


def _use_inherited_journal(journal: Journal, queue: multiprocessing.Queue[object]) -> None:
    try:
        inherited = journal._conn
        request = make_request(order_id="from-child")
        attempt_id = journal.begin(request)
        journal.finish(attempt_id, make_outcome(request), 1)
        queue.put(
            attempt_id if journal._conn is not inherited else "reused the parent's connection"
        )
    except BaseException as exc:  # pragma: no cover - reported by the parent
        queue.put(repr(exc))


def test_a_forked_child_opens_its_own_connection(journal: Journal) -> None:
    parent_id = journal.begin(make_request(order_id="from-parent"))
    ctx = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[object] = ctx.Queue()
    proc = ctx.Process(target=_use_inherited_journal, args=(journal, queue))
    proc.start()
    child_id = queue.get(timeout=30)
    proc.join(timeout=30)
    assert proc.exitcode == 0
    assert isinstance(child_id, int), child_id
    assert child_id != parent_id
    # The parent's connection still works after the child used (and exited with) its own.
    later = journal.begin(make_request(order_id="parent-again"))
    assert [a.order_id for a in journal.attempts()] == ["parent-again", "from-child", "from-parent"]
    assert journal.get(child_id).outcome is Outcome.COMPLETE  # type: ignore[union-attr]
    assert later > child_id
