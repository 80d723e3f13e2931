"""Issue 9: real ``stopline`` processes against ONE shared sandbox and one journal.

The sandbox runs in this test process; every child process gets its ``settings_env()`` (and
this test's ``STOPLINE_DATA_DIR``, so they share the journal). What the provider received is
counted by the sandbox itself (``/_sandbox/calls``), never by what Stopline reports.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tui.cli import exit_codes
from tui.core.holders import host_name
from tui.core.journal import SqliteStore
from tui.core.journal.model import utcnow
from tui.core.settings import load_settings
from tui.sandbox import SandboxServer
from tui.sandbox.control import add_fault, calls, clear_faults
from tui.sandbox.showcase import ORDERMESH_MULTI_ITEM

from .kit import cancel_calls, cancels_by_order, ordermesh_orders, stopline, write

OPERATOR = "test-operator"
"""Set by the root conftest (``STOPLINE_OPERATOR``)."""
BATCH = ("--yes", "--json", "-r", "stock-out")


def finish(process: subprocess.Popen[str], timeout: float = 60) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return process.returncode, out, err


def json_lines(out: str) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """A batch's ``--json`` output: the order lines by order id, and the summary."""
    *rows, last = [json.loads(line) for line in out.splitlines()]
    by_order = {row["order_id"]: row for row in rows}
    assert len(by_order) == len(rows)
    return by_order, last["summary"]


def history_open() -> list[dict[str, Any]]:
    code, out, err = finish(stopline("history", "--open", "--json"))
    assert code == exit_codes.OK, err
    return json.loads(out)


# -- two batches of one file at once ------------------------------------------------------------

ORDERS = 12


def test_two_batches_of_one_file_at_once_send_every_cancel_once(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    ids = ordermesh_orders(sandbox)[:ORDERS]
    file = write(tmp_path / "wave.txt", ids)
    # Slow cancels keep each order's attempt in flight long enough for the other process to
    # meet it (look-ups stay fast).
    add_fault(
        sandbox.root_url,
        provider="ordermesh",
        mode="latency",
        latency_ms=700,
        operations=["cancel"],
    )

    runs = [stopline("batch", str(file), "-p", "ordermesh", "-c", "3", *BATCH) for _ in range(2)]
    results = [finish(process) for process in runs]

    # The provider received exactly one cancel request for every order, over both runs.
    assert cancels_by_order(sandbox, "ordermesh", ids) == dict.fromkeys(ids, 1)
    data = sandbox.sandbox.data.ordermesh
    assert all(all(item.cancelled_quantity == item.quantity for item in data[i].items) for i in ids)

    lines = [json_lines(out) for _, out, _ in results]
    held_total = 0
    for (code, _, err), (by_order, summary) in zip(results, lines, strict=True):
        assert "Traceback" not in err
        assert set(by_order) == set(ids)
        held = [row for row in by_order.values() if row["not_sent"] == "held"]
        held_total += len(held)
        for row in held:
            # Held: reported as such, not as a failure, and nothing was sent for it.
            assert (row["outcome"], row["sent"], row["skipped"]) == (None, False, True)
            assert "nothing was sent" in row["message"]
        for row in by_order.values():
            assert row["outcome"] in ("complete", None), row
            assert row["not_sent"] in (None, "held", "settled_earlier"), row
        assert summary["by_outcome"].get("error", 0) == 0
        assert summary["by_outcome"].get("held", 0) == len(held)
        assert summary["not_run"] == 0 and summary["interrupted"] is False
        # Held beats complete in the exit code; a run that held nothing exits 0.
        assert code == (exit_codes.HELD if held else exit_codes.OK), err
        assert summary["exit_code"] == code

    # Every order was sent by exactly one of the two runs; the other held it or, if the
    # first had finished it by then, skipped it as settled.
    for order_id in ids:
        rows = [by_order[order_id] for by_order, _ in lines]
        assert sorted(row["sent"] for row in rows) == [False, True], rows
        [sent] = [row for row in rows if row["sent"]]
        assert sent["outcome"] == "complete" and sent["not_sent"] is None
    # The runs really overlapped: at least one order was met in flight by the other run.
    assert held_total >= 1

    with SqliteStore(load_settings().journal_path()) as journal:
        attempts = journal.attempts(limit=None)
    assert sorted(a.order_id for a in attempts) == sorted(ids)  # one sent attempt per order
    assert all(a.outcome.value == "complete" and not a.open for a in attempts)
    assert history_open() == []


# -- an item-quantity cancel whose answer was lost ---------------------------------------------

E01 = "670e58fe7741035996cf7e01"
TIMEOUT_S = 1.0
SETTLE_S = 2.5
"""The cancel's window is ``TIMEOUT_S + SETTLE_S`` from when it was sent: long enough for a
resume to run inside it, short enough to wait out."""
LATENCY_MS = 400
"""The cancel reaches the sandbox this long before it is applied: time for the test to make
the look-up after it fail, so the first run ends unknown."""


@pytest.mark.parametrize("lost", ["timeout", "reset"])
def test_lost_answer_to_an_item_cancel_is_settled_by_quantities_never_resent(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lost: str
) -> None:
    monkeypatch.setenv("STOPLINE_ORDERMESH__TIMEOUT_S", str(TIMEOUT_S))
    monkeypatch.setenv("STOPLINE_ORDERMESH__SETTLE_S", str(SETTLE_S))
    file = write(
        tmp_path / "items.csv",
        ["provider,order_id,reason,items", f"ordermesh,{ORDERMESH_MULTI_ITEM},stock-out,{E01}=2"],
    )
    item = sandbox.sandbox.data.ordermesh[ORDERMESH_MULTI_ITEM].items[0]
    assert (item.id, item.quantity, item.cancelled_quantity) == (E01, 3, 0)
    add_fault(
        sandbox.root_url,
        provider="ordermesh",
        mode="latency",
        latency_ms=LATENCY_MS,
        operations=["cancel"],
    )
    add_fault(
        sandbox.root_url, provider="ordermesh", mode=lost, when="after", operations=["cancel"]
    )

    # 1. The cancel applies at the provider, its answer is lost, and the look-up after it
    #    fails: the outcome is unknown and the attempt keeps holding the order.
    first = stopline("batch", str(file), *BATCH)
    for _ in range(1000):
        if calls(sandbox.root_url, "cancel"):
            break
        time.sleep(0.005)
    add_fault(
        sandbox.root_url, provider="ordermesh", mode="error", status=500, operations=["lookup"]
    )
    code, out, err = finish(first)
    assert code == exit_codes.UNKNOWN, (out, err)
    by_order, _ = json_lines(out)
    row = by_order[ORDERMESH_MULTI_ITEM]
    assert (row["outcome"], row["sent"]) == ("unknown", True)
    assert item.cancelled_quantity == 2  # it did apply
    assert len(cancel_calls(sandbox)) == 1
    with SqliteStore(load_settings().journal_path()) as journal:
        [attempt] = journal.attempts(limit=None)
    assert attempt.open and attempt.lease_until is not None and attempt.before is not None
    assert [(i.id, i.quantity) for i in attempt.items] == [(E01, 2)]

    # 2. Resumed inside the window, the look-up still failing: nothing can prove what the
    #    earlier cancel did, so it holds the order and nothing is sent.
    assert utcnow() < attempt.lease_until  # precondition: still inside the window
    code, out, err = finish(stopline("batch", str(file), *BATCH))
    assert code == exit_codes.HELD, (out, err)
    row = json_lines(out)[0][ORDERMESH_MULTI_ITEM]
    assert (row["outcome"], row["sent"], row["not_sent"]) == (None, False, "earlier_unknown")
    assert row["attempt_id"] == attempt.id
    assert len(cancel_calls(sandbox)) == 1

    # 3. ``stopline history --open`` shows the attempt that holds the order, and who made it.
    [shown] = history_open()
    assert (shown["id"], shown["order_id"], shown["standing"]) == (
        attempt.id,
        ORDERMESH_MULTI_ITEM,
        "open",
    )
    assert (shown["operator"], shown["host"]) == (OPERATOR, host_name())
    assert shown["items"] == [{"id": E01, "quantity": 2}]

    # 4. After the window, the provider answering again: the order is still open (1 unit of
    #    the item left), but its quantities show the earlier cancel applied. It is settled
    #    from them and never sent again.
    clear_faults(sandbox.root_url)
    time.sleep(max(0.0, (attempt.lease_until - utcnow()).total_seconds()) + 0.1)
    code, out, err = finish(stopline("batch", str(file), *BATCH))
    assert code == exit_codes.OK, (out, err)
    row = json_lines(out)[0][ORDERMESH_MULTI_ITEM]
    assert (row["outcome"], row["sent"], row["not_sent"]) == ("complete", False, "earlier_applied")
    assert row["confirmed"] is True
    assert [(c["id"], c["quantity"]) for c in row["cancelled"]] == [(E01, 2)]
    assert len(cancel_calls(sandbox)) == 1
    assert (item.quantity, item.cancelled_quantity) == (3, 2)
    with SqliteStore(load_settings().journal_path()) as journal:
        settled = journal.get(attempt.id)
        assert len(journal.attempts(limit=None)) == 1
    assert settled is not None and not settled.open
    assert settled.outcome.value == "complete" and settled.confirmed
    assert history_open() == []
