"""The floor: two machines (separate data dirs, database roles ana and ben) sharing one
journal on a real PostgreSQL server, cancelling against one sandbox."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
from postgres_cluster import PostgresCluster

from tui.core.journal.postgres_schema import SCHEMA_VERSION
from tui.core.vocabulary import plural
from tui.sandbox import SandboxServer, control
from tui.sandbox.showcase import ORDERMESH_MULTI_ITEM, SHOPLAZZA_OPEN_ID

from .machines import Machine, last_json

HELD = 7


def cancel(provider: str, order: str, *extra: str) -> list[str]:
    return ["cancel", order, "-p", provider, "-r", "duplicate import", "--yes", "--json", *extra]


def test_an_attempt_on_one_machine_is_in_the_others_history_with_its_operator(
    machine_a: Machine, machine_b: Machine
) -> None:
    done = machine_a.run(*cancel("shoplazza", SHOPLAZZA_OPEN_ID))
    assert done.returncode == 0, done.stderr
    (row,) = machine_b.history()
    # The database says who wrote it (the role), the display name is beside it.
    assert row["operator"] == "ana" and row["display_name"] == "Ana"
    assert row["outcome"] == "complete" and row["order_id"] == SHOPLAZZA_OPEN_ID
    # Nothing local is written while the shared journal is in use.
    assert machine_a.local_journals() == [] and machine_b.local_journals() == []


def test_concurrent_cancels_of_one_order_from_two_machines_send_one_request(
    machine_a: Machine, machine_b: Machine
) -> None:
    control.add_fault(
        machine_a.root_url,
        provider="shoplazza",
        mode="latency",
        latency_ms=2000,
        operations=["cancel"],
    )
    first = machine_a.start(*cancel("shoplazza", SHOPLAZZA_OPEN_ID))
    machine_a.wait_for_cancels(1, SHOPLAZZA_OPEN_ID)
    second = machine_b.run(*cancel("shoplazza", SHOPLAZZA_OPEN_ID))
    _, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert second.returncode == HELD, second.stdout + second.stderr
    held = last_json(second.stdout)
    assert held["not_sent"] == "held"
    assert isinstance(held["attempt"], dict) and held["attempt"]["operator"] == "ana"
    assert len(machine_a.cancels(SHOPLAZZA_OPEN_ID)) == 1


def test_overlapping_batches_on_two_machines_cancel_every_order_once(
    machine_a: Machine, machine_b: Machine, sandbox: SandboxServer, tmp_path: Path
) -> None:
    orders = sorted(
        order_id
        for order_id, order in sandbox.sandbox.data.ordermesh.items()
        if order.items and all(item.cancellable for item in order.items)
    )[:24]
    assert len(orders) == 24
    wave = tmp_path / "wave.txt"
    wave.write_text("\n".join(orders) + "\n")
    # Each cancel answers slowly enough for the two runs to overlap all the way.
    control.add_fault(
        machine_a.root_url,
        provider="ordermesh",
        mode="latency",
        latency_ms=150,
        operations=["cancel"],
    )
    args = ["batch", str(wave), "-p", "ordermesh", "-r", "wave 7", "--yes", "--json", "-c", "4"]
    run_a = machine_a.start(*args)
    run_b = machine_b.start(*args)
    out_a, err_a = run_a.communicate(timeout=120)
    out_b, err_b = run_b.communicate(timeout=120)
    assert run_a.returncode in (0, HELD), err_a
    assert run_b.returncode in (0, HELD), err_b

    for order in orders:
        assert len(machine_a.cancels(order)) == 1, order
    lines = [
        last_json(line)
        for out in (out_a, out_b)
        for line in out.splitlines()
        if line.startswith("{") and '"line_no"' in line
    ]
    sent = [line for line in lines if line["sent"]]
    assert sorted(str(line["order_id"]) for line in sent) == orders
    # Every order the other machine had is reported held or settled there — never failed.
    for line in lines:
        if not line["sent"]:
            assert line["not_sent"] in {"held", "settled_earlier", "already_cancelled"}, line
    rows = machine_b.history("--limit", "1000")
    assert sorted(str(r["order_id"]) for r in rows) == orders
    assert {r["operator"] for r in rows} <= {"ana", "ben"}


def test_a_stopped_server_means_nothing_is_sent_and_a_clear_error(
    machine_a: Machine, cluster: PostgresCluster
) -> None:
    cluster.stop()
    try:
        result = machine_a.run(*cancel("shoplazza", SHOPLAZZA_OPEN_ID), timeout=60)
    finally:
        cluster.restart()
    assert result.returncode == 1, result.stdout
    assert "cannot reach the shared journal" in result.stderr
    assert "Traceback" not in result.stderr
    assert machine_a.cancels() == []
    assert machine_a.local_journals() == []


def test_a_server_stopped_mid_batch_reports_every_cancel_already_sent(
    machine_a: Machine, sandbox: SandboxServer, cluster: PostgresCluster, tmp_path: Path
) -> None:
    """The journal's server stops while two cancels are out (applied at once, answered 3 s
    later): no further row starts, and the two are reported as what became of them — never
    counted "not run" — with one clear line on stderr, no pool chatter."""
    orders = sorted(
        order_id
        for order_id, order in sandbox.sandbox.data.ordermesh.items()
        if order.items and all(item.cancellable for item in order.items)
    )[:8]
    wave = tmp_path / "wave.txt"
    wave.write_text("\n".join(orders) + "\n")
    control.add_fault(
        machine_a.root_url, provider="ordermesh", mode="latency", latency_ms=3000,
        operations=["cancel"], when="after", count=2,
    )
    control.add_fault(
        machine_a.root_url, provider="ordermesh", mode="latency", latency_ms=200,
        operations=["lookup"],
    )
    run = machine_a.start(
        "batch", str(wave), "-p", "ordermesh", "-r", "wave 7", "--yes", "--json", "-c", "3"
    )
    try:
        deadline = time.monotonic() + 30
        while len(machine_a.cancels()) < 2:
            assert time.monotonic() < deadline, "the batch never sent its first cancels"
            time.sleep(0.02)
        cluster.stop("fast")
        time.sleep(1.0)
    finally:
        cluster.restart()
    out, err = run.communicate(timeout=90)
    assert run.returncode == 1, out
    sent_to = {order for order in orders if machine_a.cancels(order)}
    lines = [last_json(line) for line in out.splitlines() if '"line_no"' in line]
    reported = {str(line["order_id"]) for line in lines if line["sent"]}
    assert sent_to and sent_to <= reported, (sent_to, out)
    (summary,) = [last_json(line)["summary"] for line in out.splitlines() if '"summary"' in line]
    assert summary["exit_code"] == 1
    said = err.strip().splitlines()
    assert len(said) == 2 and said[1].startswith("stopline: batch stopped:"), err
    assert "Traceback" not in err


def test_a_killed_process_claim_ends_unknown_and_holds_the_order(
    machine_a: Machine, machine_b: Machine
) -> None:
    control.add_fault(
        machine_a.root_url, provider="ordermesh", mode="timeout", operations=["cancel"]
    )
    proc = machine_a.start(*cancel("ordermesh", ORDERMESH_MULTI_ITEM))
    try:
        machine_a.wait_for_cancels(1, ORDERMESH_MULTI_ITEM)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    control.clear_faults(machine_a.root_url)

    (row,) = machine_b.history("--open")
    assert row["operator"] == "ana" and row["outcome"] == "unknown" and row["open"] is True
    assert row["standing"] == "open"  # its process is gone: not in flight, still holding
    again = machine_b.run(*cancel("ordermesh", ORDERMESH_MULTI_ITEM))
    assert again.returncode == HELD, again.stdout
    assert last_json(again.stdout)["not_sent"] == "earlier_unknown"
    assert len(machine_a.cancels(ORDERMESH_MULTI_ITEM)) == 1


def test_a_role_cannot_write_a_row_as_another_operator(
    machine_a: Machine, cluster: PostgresCluster, database: str
) -> None:
    done = machine_a.run(*cancel("shoplazza", SHOPLAZZA_OPEN_ID))
    assert done.returncode == 0, done.stderr
    with psycopg.connect(cluster.url("ben", database), autocommit=True) as conn:
        # Naming the operator is refused outright…
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO stopline.attempts (operator, started_at, provider, order_id,"
                " reason, open) VALUES ('ana', now(), 'shoplazza', 'X-1', 'r', false)"
            )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE stopline.attempts SET operator = 'ben'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM stopline.attempts")
        # …and what ben may write is his, whatever the display name says.
        conn.execute(
            "INSERT INTO stopline.attempts (started_at, display_name, provider, order_id,"
            " reason, open) VALUES (now(), 'ana', 'shoplazza', 'X-2', 'r', false)"
        )
        # Changing an attempt through the lifecycle's columns keeps its author.
        conn.execute("UPDATE stopline.attempts SET message = 'x' WHERE order_id = %s",
                     (SHOPLAZZA_OPEN_ID,))
        rows = dict(conn.execute("SELECT order_id, operator FROM stopline.attempts").fetchall())
    assert rows == {SHOPLAZZA_OPEN_ID: "ana", "X-2": "ben"}
    with (
        psycopg.connect(cluster.url("mallory", database), autocommit=True) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("SELECT * FROM stopline.attempts")


def test_machines_migrating_at_once_are_safe(owner: Machine) -> None:
    """A fresh database: three machines bring its schema up at the same moment; the advisory
    lock makes them wait for each other, and exactly one applies the step."""
    migrations = [owner.start("journal", "migrate") for _ in range(3)]
    outputs = []
    for proc in migrations:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        outputs.append(out)
    assert all(f"schema version {SCHEMA_VERSION}" in out for out in outputs)
    applied = f"({plural(SCHEMA_VERSION, 'step')} applied)"
    assert sorted(applied in out for out in outputs) == [False, False, True]


def test_importing_a_local_journal_is_idempotent(owner: Machine, machine_a: Machine) -> None:
    # A floor that started on one machine: its local SQLite journal, one settled attempt.
    local_env = {k: v for k, v in owner.env.items() if k != "STOPLINE_JOURNAL_URL"}
    solo = subprocess.run(
        owner.command(*cancel("ordermesh", ORDERMESH_MULTI_ITEM)),
        env=local_env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert solo.returncode == 0, solo.stderr
    (path,) = [p for p in owner.local_journals() if p.name == "journal.sqlite3"]
    shared = machine_a.run(*cancel("shoplazza", SHOPLAZZA_OPEN_ID))
    assert shared.returncode == 0, shared.stderr

    first = owner.run("journal", "import", str(path))
    again = owner.run("journal", "import", str(path))
    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    assert "1 attempt imported" in first.stdout
    assert "0 attempts imported" in again.stdout and "1 already there" in again.stdout
    by_order = {r["order_id"]: r for r in machine_a.history()}
    assert set(by_order) == {SHOPLAZZA_OPEN_ID, ORDERMESH_MULTI_ITEM}
    imported = by_order[ORDERMESH_MULTI_ITEM]
    # The database vouches for who wrote the row (the importing role); the original
    # operator's name is kept beside it.
    assert imported["operator"] == "stopline_owner" and imported["display_name"] == "Owner"
    assert imported["outcome"] == "complete"


def test_an_operator_role_cannot_migrate_and_is_told_who_can(
    owner: Machine, cluster: PostgresCluster, database: str
) -> None:
    result = owner.run(
        *cancel("shoplazza", SHOPLAZZA_OPEN_ID),
        extra_env={"STOPLINE_JOURNAL_URL": cluster.url("ana", database)},
    )
    assert result.returncode == 1
    assert "stopline journal migrate" in result.stderr
    assert owner.cancels() == []


def test_both_engines_have_exactly_the_columns_of_the_one_definition(
    machine_a: Machine, cluster: PostgresCluster, database: str, tmp_path: Path
) -> None:
    """``tui.core.journal.fields`` defines the journal's columns once; the SQLite steps
    (frozen, applied in order) and PostgreSQL's must arrive at exactly those."""
    import sqlite3

    from tui.core.journal import SqliteStore
    from tui.core.journal.fields import NAMES

    with psycopg.connect(cluster.url("stopline_owner", database)) as conn:
        pg = [
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema ="
                " 'stopline' AND table_name = 'attempts' ORDER BY ordinal_position"
            )
        ]
    SqliteStore(tmp_path / "j.sqlite3").close()
    with sqlite3.connect(tmp_path / "j.sqlite3") as lite:
        local = [row[1] for row in lite.execute("PRAGMA table_info(attempts)")]
    assert pg == list(NAMES)
    assert sorted(local) == sorted(NAMES)
