"""One order, one cancel — proven with real ``stopline`` processes against one sandbox, by
counting the cancel requests the sandbox received.

Every process shares one data dir (one machine): the journal's claims keep one cancel in
flight per order, and an unknown attempt is reconciled before anything is sent again.
"""

from __future__ import annotations

import json
import signal
import time

from tui.sandbox import SandboxServer, control
from tui.sandbox.showcase import (
    ORDERMESH_MULTI_ITEM,
    PATTERN_ALL_CANCELLABLE,
    SHOPLAZZA_OPEN_ID,
    SHOPLAZZA_OPEN_NUMBER,
)

from .floor import Floor, finish, json_out

HELD = 7
UNKNOWN = 6


def cancel_args(provider: str, order: str, *extra: str) -> list[str]:
    return ["cancel", order, "-p", provider, "-r", "duplicate import", "--yes", "--json", *extra]


def history(floor: Floor, *extra: str) -> list[dict[str, object]]:
    result = floor.run("history", "--json", *extra)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_two_cancels_of_one_order_at_once_send_one_request(floor: Floor) -> None:
    # The first cancel's request takes 2 s to be answered: the second starts meanwhile.
    control.add_fault(
        floor.root_url, provider="shoplazza", mode="latency", latency_ms=2000, operations=["cancel"]
    )
    first = floor.start(*cancel_args("shoplazza", SHOPLAZZA_OPEN_ID))
    floor.wait_for_cancels(1, SHOPLAZZA_OPEN_ID)
    second = floor.run(
        *cancel_args("shoplazza", SHOPLAZZA_OPEN_ID), extra_env={"STOPLINE_OPERATOR": "ben"}
    )
    out, err, code = finish(first)

    assert code == 0, err
    assert json_out((out, err))["outcome"] == "complete"
    assert second.returncode == HELD, second.stderr
    held = json_out(second)
    assert held["sent"] is False and held["not_sent"] == "held"
    assert held["outcome"] is None
    # The message names who holds the order, where and since when.
    holder = held["attempt"]
    assert isinstance(holder, dict) and holder["operator"] == "ana"
    assert "being cancelled by attempt" in str(held["reason_not_sent"])
    assert "ana" in str(held["reason_not_sent"])
    assert len(floor.cancels(SHOPLAZZA_OPEN_ID)) == 1
    # The journal has one attempt, the one that was sent.
    rows = history(floor, "--order", SHOPLAZZA_OPEN_ID)
    assert [(r["operator"], r["outcome"]) for r in rows] == [("ana", "complete")]


def test_the_same_order_by_number_and_by_id_at_once_is_one_claim(floor: Floor) -> None:
    """A Shoplazza order number is resolved to the order's id, and the claim is the id's."""
    control.add_fault(
        floor.root_url, provider="shoplazza", mode="latency", latency_ms=2000, operations=["cancel"]
    )
    first = floor.start(*cancel_args("shoplazza", SHOPLAZZA_OPEN_ID))
    floor.wait_for_cancels(1, SHOPLAZZA_OPEN_ID)
    by_number = floor.run(*cancel_args("shoplazza", SHOPLAZZA_OPEN_NUMBER))
    _, err, code = finish(first)
    assert code == 0, err
    assert by_number.returncode == HELD, by_number.stderr
    assert json_out(by_number)["order_id"] == SHOPLAZZA_OPEN_ID
    assert len(floor.cancels()) == 1


def kill_mid_cancel(floor: Floor, provider: str, order: str, *extra: str) -> None:
    """Start a cancel whose request the sandbox holds without answering; kill -9 it once
    the request has arrived."""
    control.add_fault(floor.root_url, provider=provider, mode="timeout", operations=["cancel"])
    proc = floor.start(
        *cancel_args(provider, order, *extra),
        extra_env={
            f"STOPLINE_{provider.upper()}__TIMEOUT_S": "1.5",
            f"STOPLINE_{provider.upper()}__SETTLE_S": "1.5",
        },
    )
    try:
        floor.wait_for_cancels(1, order)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    control.clear_faults(floor.root_url)


def test_kill_9_mid_cancel_then_the_same_cancel_sends_nothing_before_reconciling(
    floor: Floor,
) -> None:
    kill_mid_cancel(floor, "shoplazza", SHOPLAZZA_OPEN_ID)

    # At once: the dead process's attempt is unknown, the order untouched so far and its
    # window (three times the 1.5 s deadline to send within, + 1.5 s settle) not over: it
    # holds the order.
    again = floor.run(*cancel_args("shoplazza", SHOPLAZZA_OPEN_ID))
    assert again.returncode == HELD, again.stderr
    held = json_out(again)
    assert held["not_sent"] == "earlier_unknown"
    assert "untouched so far" in str(held["reason_not_sent"])
    assert len(floor.cancels(SHOPLAZZA_OPEN_ID)) == 1
    open_rows = history(floor, "--open")
    assert [(r["order_id"], r["standing"]) for r in open_rows] == [(SHOPLAZZA_OPEN_ID, "open")]

    # After the window, reconciling finds the order untouched: the dead attempt is closed as
    # not applied, and only then is the cancel sent again.
    time.sleep(3 * 1.5 + 1.5 + 0.2)
    last = floor.run(*cancel_args("shoplazza", SHOPLAZZA_OPEN_ID))
    assert last.returncode == 0, last.stderr
    assert json_out(last)["outcome"] == "complete"
    assert len(floor.cancels(SHOPLAZZA_OPEN_ID)) == 2
    rows = history(floor, "--order", SHOPLAZZA_OPEN_ID)
    assert [r["outcome"] for r in rows] == ["complete", "error"]
    assert "not applied" in str(rows[1]["message"])
    assert history(floor, "--open") == []


def killed_after_it_applied(floor: Floor, item: str) -> None:
    """A cancel of one unit of ``item`` that the sandbox applies and whose answer it holds,
    its process killed (kill -9) meanwhile: the attempt stays open and unknown."""
    control.add_fault(
        floor.root_url, provider="ordermesh", mode="timeout", operations=["cancel"], when="after"
    )
    proc = floor.start(*cancel_args("ordermesh", ORDERMESH_MULTI_ITEM, "--item", f"{item}=1"))
    try:
        floor.wait_for_cancels(1, ORDERMESH_MULTI_ITEM)
        time.sleep(0.3)  # the sandbox applies it, then holds the answer
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    control.clear_faults(floor.root_url)


def test_kill_9_after_the_provider_applied_it_settles_without_a_second_request(
    floor: Floor,
) -> None:
    """The request took effect but its answer never came back (the process was killed
    while the sandbox held the answer): the next cancel reconciles, sees the quantity gone,
    and reports the earlier attempt's outcome. Nothing is sent twice."""
    item = "670e58fe7741035996cf7e01"
    killed_after_it_applied(floor, item)

    again = floor.run(*cancel_args("ordermesh", ORDERMESH_MULTI_ITEM, "--item", f"{item}=1"))
    result = json_out(again)
    assert result["sent"] is False and result["not_sent"] == "earlier_applied", again.stdout
    # The order is still "open" (2 of 3 left): only the quantity shows the cancel applied.
    assert result["outcome"] == "complete"
    assert result["cancelled"] == [{"id": item, "status": "Pending", "quantity": 1}]
    assert again.returncode == 0
    assert len(floor.cancels(ORDERMESH_MULTI_ITEM)) == 1
    (row,) = history(floor, "--order", ORDERMESH_MULTI_ITEM)
    assert row["outcome"] == "complete" and row["confirmed"] is True and row["open"] is False


def test_an_earlier_attempt_for_other_items_is_never_this_cancels_answer(
    floor: Floor, sandbox: SandboxServer
) -> None:
    """A's cancel of one unit of item 1 applied, its answer lost (killed). B then asks for
    item 2: B reconciles A's attempt (applied — for item 1) and must still cancel item 2,
    never report A's "complete" as its own. A whole-order cancel after that cancels what is
    left. One request per cancel, each unit cancelled once."""
    first, second = "670e58fe7741035996cf7e01", "670e58fe7741035996cf7e02"
    killed_after_it_applied(floor, first)

    other = floor.run(*cancel_args("ordermesh", ORDERMESH_MULTI_ITEM, "--item", f"{second}=1"))
    result = json_out(other)
    assert other.returncode == 0 and result["sent"] is True, other.stdout
    assert result["cancelled"] == [{"id": second, "status": "cancelled", "quantity": 1}]
    items = {i.id: i for i in sandbox.sandbox.data.ordermesh[ORDERMESH_MULTI_ITEM].items}
    assert (items[first].cancelled_quantity, items[second].cancelled_quantity) == (1, 1)
    assert len(floor.cancels(ORDERMESH_MULTI_ITEM)) == 2
    rows = history(floor, "--order", ORDERMESH_MULTI_ITEM)
    assert sorted(r["outcome"] for r in rows) == ["complete", "complete"]
    assert all(r["open"] is False for r in rows)

    whole = floor.run(*cancel_args("ordermesh", ORDERMESH_MULTI_ITEM))
    assert whole.returncode == 0 and json_out(whole)["sent"] is True, whole.stdout
    order = sandbox.sandbox.data.ordermesh[ORDERMESH_MULTI_ITEM]
    assert all(i.cancelled_quantity == i.quantity for i in order.items)
    assert len(floor.cancels(ORDERMESH_MULTI_ITEM)) == 3


def _pattern_order_with_a_cancelled_sub_order(sandbox: SandboxServer) -> str:
    for market_id, order in sorted(sandbox.sandbox.data.pattern.items()):
        statuses = sorted(w.status for w in order.warehouse_orders)
        if statuses == ["cancelled", "new"]:
            return market_id
    raise AssertionError("the demo data has no Pattern order with a cancelled sub-order")


def test_pattern_sub_order_cancelled_before_the_attempt_confirms_nothing(
    floor: Floor, sandbox: SandboxServer
) -> None:
    """The request never applied (the sandbox held it and applied nothing); one sub-order
    was cancelled long before. Counting cancelled sub-orders used to settle this attempt as
    partial and confirmed; compared with the order before the attempt, nothing changed."""
    order = _pattern_order_with_a_cancelled_sub_order(sandbox)
    control.add_fault(
        floor.root_url, provider="pattern", mode="timeout", operations=["cancel"], count=1
    )
    result = floor.run(
        *cancel_args("pattern", order), extra_env={"STOPLINE_PATTERN__TIMEOUT_S": "1"}
    )
    answer = json_out(result)
    assert result.returncode == UNKNOWN, result.stdout
    assert answer["outcome"] == "unknown" and answer["confirmed"] is False
    assert answer["cancelled"] == []
    (row,) = history(floor, "--order", order)
    assert row["outcome"] == "unknown" and row["open"] is True


def test_an_initiated_pattern_cancel_is_awaited_not_sent_again(floor: Floor) -> None:
    """Pattern answered 200 (initiated); until its look-up confirms it, a second cancel of
    the same order is not sent: it is waited for (and can be re-checked)."""
    first = floor.run(*cancel_args("pattern", PATTERN_ALL_CANCELLABLE))
    assert first.returncode == 0, first.stderr
    assert json_out(first)["confirmed"] is False
    second = floor.run(*cancel_args("pattern", PATTERN_ALL_CANCELLABLE))
    assert second.returncode == HELD, second.stdout
    assert json_out(second)["not_sent"] == "awaiting_confirmation"
    assert len(floor.cancels(PATTERN_ALL_CANCELLABLE)) == 1


def test_items_that_do_not_fit_the_order_are_refused_before_anything_is_sent(
    floor: Floor,
) -> None:
    item = "670e58fe7741035996cf7e01"  # 3 open
    too_many = floor.run(*cancel_args("ordermesh", ORDERMESH_MULTI_ITEM, "--item", f"{item}=9"))
    assert too_many.returncode == 2
    assert "9 asked, only 3 left" in too_many.stderr
    unknown = floor.run(*cancel_args("ordermesh", ORDERMESH_MULTI_ITEM, "--item", "NO-SUCH"))
    assert unknown.returncode == 2
    assert "not on OrderMesh order" in unknown.stderr
    assert floor.cancels() == []
    assert history(floor) == []  # withdrawn claims are not attempts
