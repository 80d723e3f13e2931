"""Two attempts that meet inside one machine: a console that stopped a batch mid-flight and
stays open, and two cancels of one order inside one process. Real processes, real HTTP,
the sandbox counting every cancel request it receives."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from tui.core.domain import CancelRequest
from tui.core.journal import SqliteJournal
from tui.core.service import StoplineService
from tui.core.settings import load_settings
from tui.runtime import env_to_overrides
from tui.sandbox import SandboxServer, control
from tui.sandbox.showcase import SHOPLAZZA_OPEN_ID

from .floor import Floor

SHORT = {"STOPLINE_SHOPLAZZA__TIMEOUT_S": "1", "STOPLINE_SHOPLAZZA__SETTLE_S": "0"}
STOPPED_BATCH = Path(__file__).with_name("stopped_batch.py")
ONE_CANCEL = Path(__file__).with_name("console_one_cancel.py")

def start_console(floor: Floor, env: dict[str, str]) -> subprocess.Popen[str]:
    """A long-lived process cancelling the open Shoplazza order as the console does."""
    return subprocess.Popen(
        [sys.executable, str(ONE_CANCEL), "shoplazza", SHOPLAZZA_OPEN_ID, "60"],
        env={**floor.env, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def journal_path(floor: Floor) -> Path:
    return next(
        p for p in Path(floor.env["STOPLINE_DATA_DIR"]).rglob("*.sqlite3")
        if "demo" not in p.name
    )


def hold_the_write_lock(path: Path, seconds: float = 7) -> threading.Thread:
    """Another process's write lock on the journal, held longer than its 5 s busy timeout;
    returns once the lock is taken (join the thread to wait for its release)."""
    locked = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        locked.set()
        time.sleep(seconds)
        conn.execute("ROLLBACK")
        conn.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(5)
    return holder



def console_stopping(when: str, floor: Floor) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable, str(STOPPED_BATCH), when, "shoplazza", floor.root_url,
            SHOPLAZZA_OPEN_ID, "40",
        ],
        env={**floor.env, **SHORT},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_batch_stopped_in_a_console_that_stays_open_does_not_hold_the_order(
    floor: Floor,
) -> None:
    """The console stops a batch while the provider holds a cancel it never applies, and
    stays open. Every other process on the machine must not read the abandoned attempt as
    "being cancelled" by the console: past its settle time, the next cancel reconciles it
    (untouched: not applied) and sends — once."""
    control.add_fault(
        floor.root_url, provider="shoplazza", mode="timeout", operations=["cancel"], count=1
    )
    console = console_stopping("sending", floor)
    try:
        assert console.stdout is not None
        line = console.stdout.readline()
        assert line.strip() == "stopped", console.stderr.read() if console.poll() else line
        held = json.loads(floor.run("history", "--open", "--json").stdout)
        assert [(row["order_id"], row["outcome"]) for row in held] == [
            (SHOPLAZZA_OPEN_ID, "unknown")
        ]
        result = floor.run(
            "cancel", SHOPLAZZA_OPEN_ID, "-p", "shoplazza", "-r", "stock-out", "--yes", "--json",
            extra_env=SHORT,
        )
        out = json.loads(result.stdout.strip().splitlines()[-1])
        assert result.returncode == 0 and out["sent"] is True, out.get("reason_not_sent")
        assert out["outcome"] == "complete"
        assert len(floor.cancels(SHOPLAZZA_OPEN_ID)) == 2
        assert console.poll() is None  # the console still runs throughout
    finally:
        console.kill()
        console.wait()


def test_a_batch_stopped_while_it_rechecks_an_unanswered_cancel_does_not_hold_the_order(
    floor: Floor,
) -> None:
    """The same stop, a moment later: the cancel went unanswered and the lifecycle is
    looking the order up to settle it when ``s`` comes. The attempt is still finished
    unknown — its lease cut to the settle time — and the next cancel, past that, reconciles
    it and sends once more."""
    control.add_fault(
        floor.root_url, provider="shoplazza", mode="timeout", operations=["cancel"], count=1
    )
    console = console_stopping("rechecking", floor)
    try:
        assert console.stdout is not None
        line = console.stdout.readline()
        assert line.strip() == "stopped", console.stderr.read() if console.poll() else line
        result = floor.run(
            "cancel", SHOPLAZZA_OPEN_ID, "-p", "shoplazza", "-r", "stock-out", "--yes", "--json",
            extra_env=SHORT,
        )
        out = json.loads(result.stdout.strip().splitlines()[-1])
        assert result.returncode == 0 and out["sent"] is True, out.get("reason_not_sent")
        assert len(floor.cancels(SHOPLAZZA_OPEN_ID)) == 2
        assert console.poll() is None
    finally:
        console.kill()
        console.wait()


def test_an_answer_the_journal_refused_does_not_hold_the_order_while_the_console_lives(
    floor: Floor,
) -> None:
    """The cancel is answered and applied, but the journal refuses the answer (another
    process holds its write lock past the busy timeout — a backup, an import). The console
    keeps the answer and writes it again once the journal takes it: the order is not left
    "being cancelled" by a console that stays open."""
    slow = {**SHORT, "STOPLINE_SHOPLAZZA__TIMEOUT_S": "3"}
    control.add_fault(
        floor.root_url, provider="shoplazza", mode="latency", latency_ms=1500,
        operations=["cancel"], count=1,
    )
    console = start_console(floor, slow)
    try:
        floor.wait_for_cancels(1, SHOPLAZZA_OPEN_ID)
        path = journal_path(floor)
        holder = hold_the_write_lock(path)
        assert console.stdout is not None
        answer = json.loads(console.stdout.readline())
        holder.join()
        assert answer["outcome"] == "complete"
        assert any(w.startswith("journal write failed") for w in answer["warnings"])
        deadline = time.monotonic() + 20
        while True:  # the console writes it again once the lock is gone
            rows = json.loads(floor.run("history", "--json").stdout)
            if rows and rows[0]["outcome"] == "complete":
                break
            assert time.monotonic() < deadline, rows
            time.sleep(0.5)
        result = floor.run(
            "cancel", SHOPLAZZA_OPEN_ID, "-p", "shoplazza", "-r", "stock-out", "--yes", "--json",
            extra_env=slow,
        )
        out = json.loads(result.stdout.strip().splitlines()[-1])
        assert result.returncode != 7, out.get("reason_not_sent")
        assert out["sent"] is False and len(floor.cancels(SHOPLAZZA_OPEN_ID)) == 1
        assert console.poll() is None
    finally:
        console.kill()
        console.wait()


async def test_two_cancels_of_one_order_in_one_process_send_once_and_fail_neither(
    sandbox: SandboxServer, root_url: str, tmp_path: Path
) -> None:
    """The console's lookup and batch screens at once, or a batch naming one order twice:
    the second claim, queued right behind the first on the journal's thread, must read the
    first as this process's live claim — not a dead one to take over — so one request
    leaves and neither cancel dies with a journal error."""
    for round_ in range(10):
        control.reset(root_url)
        control.forget_calls(root_url)
        settings = load_settings(**env_to_overrides(sandbox.settings_env()))
        journal = SqliteJournal.open(tmp_path / f"journal-{round_}.sqlite3")
        async with StoplineService.from_settings(settings, journal=journal) as service:
            request = CancelRequest(
                provider="shoplazza", order_id=SHOPLAZZA_OPEN_ID, reason="stock-out"
            )
            results = await asyncio.gather(
                service.cancel(request), service.cancel(request), return_exceptions=True
            )
        assert [r for r in results if isinstance(r, BaseException)] == [], round_
        assert len(control.calls(root_url, "cancel")) == 1, round_


def test_a_claim_the_journal_would_not_release_at_first_does_not_hold_the_order(
    floor: Floor,
) -> None:
    """The console's cancel fails under its claim before anything is sent (its look-up
    answers 500, or its write-ahead meets a journal locked past the busy timeout by another
    process), and the claim must be withdrawn while that lock is still held. The console
    withdraws it once the journal takes writes again, so the order is not held by a claim
    nobody works on for as long as the console stays open."""
    control.add_fault(
        floor.root_url, provider="shoplazza", mode="latency", latency_ms=1500,
        operations=["lookup"], count=1,
    )
    control.add_fault(
        floor.root_url, provider="shoplazza", mode="error", status=500,
        operations=["lookup"], count=1,
    )
    console = start_console(floor, SHORT)
    try:
        deadline = time.monotonic() + 30
        while not control.calls(floor.root_url, "lookup"):
            assert time.monotonic() < deadline, "the console never looked the order up"
            time.sleep(0.02)
        path = journal_path(floor)
        holder = hold_the_write_lock(path)
        holder.join()
        deadline = time.monotonic() + 30
        while True:  # released by the console once the journal takes writes again
            with sqlite3.connect(path) as conn:
                states = [r[0] for r in conn.execute("SELECT state FROM attempts")]
            if states and "claimed" not in states:
                break
            assert time.monotonic() < deadline, states
            time.sleep(0.3)
        assert states == ["withdrawn"]
        result = floor.run(
            "cancel", SHOPLAZZA_OPEN_ID, "-p", "shoplazza", "-r", "stock-out", "--yes", "--json",
            extra_env=SHORT,
        )
        out = json.loads(result.stdout.strip().splitlines()[-1])
        assert result.returncode == 0 and out["sent"] is True, out
        assert console.poll() is None
    finally:
        console.kill()
        console.wait()
