"""Two machines, one order: machine A's cancel is still on its way while machine B tries
the same. B cannot see A's process, only its lease — so the lease must hold for as long as A
may still send, and B must read it by the server's clock, not its own. Real processes on the
real PostgreSQL journal and the real sandbox, which counts the units it cancels.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from postgres_cluster import PostgresCluster

from tui.sandbox import SandboxServer, control
from tui.sandbox.showcase import ORDERMESH_MULTI_ITEM

from .machines import Machine

AS_MACHINE = str(Path(__file__).with_name("as_machine.py"))
ITEM = "670e58fe7741035996cf7e01"  # quantity 3
HELD, UNKNOWN = 7, 6


def start(m: Machine, host: str, *, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    args = [
        "cancel", ORDERMESH_MULTI_ITEM, "-p", "ordermesh", "--item", f"{ITEM}=1",
        "-r", "stock-out", "--yes", "--json",
    ]
    return subprocess.Popen(
        [sys.executable, AS_MACHINE, *args],
        env={**m.env, **(env or {}), "FLOOR_HOSTNAME": host},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def ended(proc: subprocess.Popen[str]) -> tuple[int, dict[str, object]]:
    out, err = proc.communicate(timeout=90)
    assert out.strip(), err
    return proc.returncode, json.loads(out.strip().splitlines()[-1])


def sent_row(url: str, timeout: float = 20) -> tuple[float, int]:
    """Once A's write-ahead is on the server: (seconds its lease still runs, its id)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(url) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT extract(epoch FROM lease_until - now()), id FROM stopline.attempts"
                " WHERE state = 'sent'"
            ).fetchone()
            if row is not None:
                return float(row[0]), int(row[1])
            time.sleep(0.05)
    raise AssertionError("machine A never wrote its cancel ahead")


def cancelled_units(sandbox: SandboxServer) -> int:
    item = sandbox.sandbox.data.ordermesh[ORDERMESH_MULTI_ITEM].items[0]
    assert item.id == ITEM
    return item.cancelled_quantity


def test_a_cancel_still_retrying_holds_the_order_on_another_machine(
    machine_a: Machine, machine_b: Machine, sandbox: SandboxServer
) -> None:
    """A's cancel meets three slow 429s and is retried for ~5 s — past the request's own
    deadline plus its settle time. B, trying the same order meanwhile, must be held: A may
    still send. One unit is cancelled, by A."""
    short = {"STOPLINE_ORDERMESH__TIMEOUT_S": "2", "STOPLINE_ORDERMESH__SETTLE_S": "0.5"}
    for mode, extra in (("latency", {"latency_ms": 800}), ("rate_limit", {})):
        control.add_fault(
            machine_a.root_url, provider="ordermesh", mode=mode, operations=["cancel"], count=3,
            **extra,
        )
    a = start(machine_a, "machine-a", env=short)
    sent_row(machine_a.env["STOPLINE_JOURNAL_URL"])
    time.sleep(3.0)  # past 2 s + 0.5 s: where a lease of one try would have ended
    assert a.poll() is None, "A is still retrying"
    b_code, b_out = ended(start(machine_b, "machine-b", env=short))
    a_code, a_out = ended(a)
    assert b_code == HELD and b_out["sent"] is False, b_out
    assert a_code == 0 and a_out["outcome"] == "complete", a_out
    assert cancelled_units(sandbox) == 1


def test_a_machine_whose_clock_runs_ahead_still_reads_a_live_lease_as_live(
    machine_a: Machine, machine_b: Machine, sandbox: SandboxServer
) -> None:
    """B's own clock is two minutes ahead of the server (A's lease is well under that): B
    asks the server whether the lease runs, and is held while A's cancel is handled."""
    control.add_fault(
        machine_a.root_url, provider="ordermesh", mode="latency", latency_ms=4000,
        operations=["cancel"], count=1,
    )
    a = start(machine_a, "machine-a")
    sent_row(machine_a.env["STOPLINE_JOURNAL_URL"])
    b_code, b_out = ended(start(machine_b, "machine-b", env={"FLOOR_CLOCK_AHEAD_S": "120"}))
    a_code, a_out = ended(a)
    assert b_code == HELD, b_out
    assert a_code == 0 and a_out["outcome"] == "complete", a_out
    assert cancelled_units(sandbox) == 1


def test_a_machine_whose_journal_clock_lags_still_writes_leases_that_hold(
    machine_a: Machine, machine_b: Machine, sandbox: SandboxServer
) -> None:
    """A's idea of the server's time lags two minutes (its machine slept, and a clock that
    stopped meanwhile told the journal nothing). Its leases are still written in the
    server's own time, so B is held while A's cancel is handled: one unit cancelled."""
    control.add_fault(
        machine_a.root_url, provider="ordermesh", mode="latency", latency_ms=4000,
        operations=["cancel"], count=1,
    )
    a = start(machine_a, "machine-a", env={"FLOOR_JOURNAL_BEHIND_S": "120"})
    sent_row(machine_a.env["STOPLINE_JOURNAL_URL"])
    b_code, b_out = ended(start(machine_b, "machine-b"))
    a_code, a_out = ended(a)
    assert b_code == HELD, b_out
    assert a_code == 0 and a_out["outcome"] == "complete", a_out
    assert cancelled_units(sandbox) == 1


def test_a_cancel_cut_off_at_its_budget_is_sent_once_by_the_other_machine_after_its_lease(
    machine_a: Machine,
    machine_b: Machine,
    sandbox: SandboxServer,
    cluster: PostgresCluster,
    database: str,
) -> None:
    """A's cancel is still being rate limited when its budget (three times its timeout) runs
    out: A stops trying — unknown — before its lease ends. After the lease, B finds the order
    untouched, closes A's attempt as not applied, and sends: one unit cancelled, by B."""
    short = {"STOPLINE_ORDERMESH__TIMEOUT_S": "1", "STOPLINE_ORDERMESH__SETTLE_S": "0.5"}
    for mode, extra in (("latency", {"latency_ms": 900}), ("rate_limit", {})):
        control.add_fault(
            machine_a.root_url, provider="ordermesh", mode=mode, operations=["cancel"], count=2,
            **extra,
        )
    a = start(machine_a, "machine-a", env=short)
    lease_left, a_id = sent_row(cluster.url("stopline_owner", database))
    a_code, a_out = ended(a)
    assert a_code == UNKNOWN and "allowed for sending" in str(a_out["message"]), a_out
    assert cancelled_units(sandbox) == 0
    time.sleep(max(0.0, lease_left) + 0.3)
    b_code, b_out = ended(start(machine_b, "machine-b", env=short))
    assert b_code == 0 and b_out["outcome"] == "complete", b_out
    assert cancelled_units(sandbox) == 1
    with psycopg.connect(cluster.url("stopline_owner", database)) as conn:
        outcome, message = conn.execute(
            "SELECT outcome, message FROM stopline.attempts WHERE id = %s", (a_id,)
        ).fetchone()
    assert outcome == "error" and str(message).startswith("not applied")


def test_a_look_up_that_ends_after_the_lease_never_claims_the_other_machines_cancel(
    machine_a: Machine,
    machine_b: Machine,
    sandbox: SandboxServer,
    cluster: PostgresCluster,
    database: str,
) -> None:
    """A's cancel is rate limited until its budget cuts it off (never applied); A then looks
    the order up to settle it, slowly — past A's lease. Meanwhile B closes A's attempt as
    not applied and cancels the unit itself. A's look-up then shows B's cancel: it must not
    count as A's. A reports what the journal says of its attempt — not applied — and the
    journal shows one cancel of the one unit."""
    url = cluster.url("stopline_owner", database)
    short = {"STOPLINE_ORDERMESH__TIMEOUT_S": "2", "STOPLINE_ORDERMESH__SETTLE_S": "0"}
    for mode, extra in (("latency", {"latency_ms": 1800}), ("rate_limit", {})):
        control.add_fault(
            machine_a.root_url, provider="ordermesh", mode=mode, operations=["cancel"],
            count=3, **extra,
        )
    a = start(machine_a, "machine-a", env=short)
    _lease_left, a_id = sent_row(url)
    looked = len(control.calls(machine_a.root_url, "lookup"))
    control.add_fault(
        machine_a.root_url, provider="ordermesh", mode="latency", latency_ms=1900,
        operations=["lookup"], count=1,
    )
    deadline = time.monotonic() + 30
    while len(control.calls(machine_a.root_url, "lookup")) <= looked:  # A's settling look-up
        assert time.monotonic() < deadline, "A never looked the order up after its cut-off"
        time.sleep(0.05)
    b_code, b_out = ended(start(machine_b, "machine-b", env=short))
    _a_code, a_out = ended(a)
    assert b_code == 0 and b_out["outcome"] == "complete", b_out
    assert cancelled_units(sandbox) == 1
    assert a_out["outcome"] == "error", a_out  # not applied, as B found it
    assert any("settled by another process" in w for w in a_out["warnings"]), a_out
    with psycopg.connect(url) as conn:
        outcomes = conn.execute(
            "SELECT id, outcome FROM stopline.attempts WHERE state = 'finished' ORDER BY id"
        ).fetchall()
    assert [o for _, o in outcomes].count("complete") == 1
    assert dict(outcomes)[a_id] == "error"
