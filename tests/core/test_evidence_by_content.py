"""Lines known only by their place in the answer (Pattern's sub-orders: the status look-up
carries no sub-order id, and the vendor promises no order) are compared by what they hold,
never place by place: a look-up that lists the same sub-orders in another order proves
nothing, and one whose sub-orders differ cannot be read.
"""

from __future__ import annotations

import asyncio

import httpx

from tui.core.domain import CancelRequest, ItemSelection, Line, Order, Outcome
from tui.core.evidence import Change, compare
from tui.core.journal import SqliteJournal
from tui.core.journal.model import utcnow
from tui.core.service import StoplineService

from .fakes import make_settings

B, C = "backordered", "cancelled"


def pattern_order(*subs: tuple[str, str]) -> Order:
    return Order(
        provider="pattern",
        order_id="MO-1",
        status="processing",
        lines=tuple(
            Line(
                id=f"sub-order {n}",
                sku=sku,
                quantity=1,
                status=status,
                cancellable=status == B,
            )
            for n, (status, sku) in enumerate(subs, start=1)
        ),
        line_ids_positional=True,
    )


WHOLE = CancelRequest(provider="pattern", order_id="MO-1", reason="dup")


def test_the_same_sub_orders_listed_in_another_order_are_untouched() -> None:
    before = pattern_order((C, "SKU-A"), (B, "SKU-B"))
    now = pattern_order((B, "SKU-B"), (C, "SKU-A"))
    assert compare(before, now, WHOLE).change is Change.UNTOUCHED


def test_a_sub_order_cancelled_since_is_found_wherever_it_is_listed() -> None:
    before = pattern_order((C, "SKU-A"), (B, "SKU-B"), (B, "SKU-C"))
    now = pattern_order((C, "SKU-C"), (C, "SKU-A"), (B, "SKU-B"))
    evidence = compare(before, now, WHOLE)
    assert evidence.change is Change.PARTLY
    assert [line.id for line in evidence.cancelled] == ["sub-order 1"]  # SKU-C, listed first now
    everything = pattern_order((C, "SKU-B"), (C, "SKU-A"), (C, "SKU-C"))
    assert compare(before, everything, WHOLE).change is Change.APPLIED


def test_sub_orders_that_are_not_the_same_set_cannot_be_compared() -> None:
    before = pattern_order((C, "SKU-A"), (B, "SKU-B"))
    split = pattern_order((C, "SKU-A"), (C, "SKU-B"), (B, "SKU-D"))
    assert compare(before, split, WHOLE).change is Change.UNREADABLE
    reopened = pattern_order((B, "SKU-A"), (C, "SKU-B"))
    assert compare(before, reopened, WHOLE).change is Change.UNREADABLE
    items = WHOLE.model_copy(update={"items": (ItemSelection(id="sub-order 2"),)})
    assert compare(before, pattern_order((C, "SKU-A"), (C, "SKU-B")), items).change is (
        Change.UNREADABLE
    )


def status(*subs: tuple[str, str]) -> dict:
    return {
        "market_order_id": "MO-1",
        "order_status": "processing",
        "sub_orders": [
            {"sub_order_status": s, "items": [{"sku": sku, "quantity": 1}]} for s, sku in subs
        ],
    }


def pattern_api(cancel_answer: httpx.Response, lookups: list[dict]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth2/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        if request.url.path.endswith("/v1/orders/status"):
            return httpx.Response(200, json=lookups.pop(0) if len(lookups) > 1 else lookups[0])
        if request.url.path.endswith("/v1/orders/cancel_order"):
            return cancel_answer
        return httpx.Response(404)

    return httpx.MockTransport(handle)


async def cancel_with(tmp_path, cancel_answer: httpx.Response, lookups: list[dict], **kw):
    settings = make_settings(confirm_poll_s=0.01, confirm_timeout_s=0.3)
    journal = SqliteJournal.open(tmp_path / "j.sqlite3")
    service = StoplineService.from_settings(
        settings, journal=journal, transports={"pattern": pattern_api(cancel_answer, lookups)}
    )
    async with service:
        return await service.cancel(WHOLE, **kw)


REORDERED = [status((C, "SKU-A"), (B, "SKU-B")), status((B, "SKU-B"), (C, "SKU-A"))]


async def test_an_unknown_cancel_is_not_settled_complete_by_a_reordered_look_up(tmp_path):
    """A proxy's 502 (Pattern never saw the cancel); the look-up lists the very same
    sub-orders, the cancelled one last: the cancel stays unknown."""
    bad_gateway = httpx.Response(
        502, text="<html>bad gateway</html>", headers={"content-type": "text/html"}
    )
    done = await cancel_with(tmp_path, bad_gateway, list(REORDERED))
    assert done.outcome.outcome is Outcome.UNKNOWN and not done.outcome.confirmed


async def test_an_initiated_cancel_is_not_confirmed_by_a_reordered_look_up(tmp_path):
    initiated = httpx.Response(
        200,
        json={
            "market_order_id": "MO-1",
            "success": True,
            "message": "ok",
            "cancelled_orders": [{"warehouse_order_id": 2, "status": "cancelled"}],
            "non_cancellable_orders": [],
        },
    )
    done = await cancel_with(tmp_path, initiated, list(REORDERED), confirm=True)
    assert done.outcome.outcome is Outcome.COMPLETE and not done.outcome.confirmed


E = "error"


def test_sub_orders_that_moved_on_are_found_by_what_they_hold() -> None:
    before = pattern_order((B, "SKU-A"), (B, "SKU-B"))
    errored = pattern_order((E, "SKU-B"), (E, "SKU-A"))
    evidence = compare(before, errored, WHOLE)
    assert evidence.change is Change.MOVED_ON and evidence.final
    assert sorted(m.status for m in evidence.moved_on) == [E, E]
    one_each = compare(before, pattern_order((E, "SKU-B"), (C, "SKU-A")), WHOLE)
    assert one_each.change is Change.PARTLY and one_each.final
    assert len(one_each.cancelled) == 1 and len(one_each.moved_on) == 1
    still_open = compare(before, pattern_order((B, "SKU-B"), (E, "SKU-A")), WHOLE)
    assert still_open.change is Change.UNTOUCHED and not still_open.final


async def test_an_initiated_cancel_whose_sub_orders_went_to_error_is_not_held(tmp_path):
    """Pattern initiates the cancel, then both sub-orders go to ``error``. Within the
    attempt's window a sub-order may still come back, so the cancel stays initiated and the
    order held; once the window is over, the next cancel settles it as not applied (nothing
    is reported cancelled) and is sent — not refused forever as "awaiting confirmation" of
    a cancel that can no longer happen."""
    initiated = httpx.Response(
        200,
        json={
            "market_order_id": "MO-1",
            "success": True,
            "message": "ok",
            "cancelled_orders": [
                {"warehouse_order_id": 1, "status": "cancelled"},
                {"warehouse_order_id": 2, "status": "cancelled"},
            ],
            "non_cancellable_orders": [],
        },
    )
    lookups = [status((B, "SKU-A"), (B, "SKU-B")), status((E, "SKU-B"), (E, "SKU-A"))]
    settings = make_settings(
        confirm_poll_s=0.01,
        confirm_timeout_s=0.3,
        pattern={"timeout_s": 0.2, "settle_s": 0.5},
    )
    journal = SqliteJournal.open(tmp_path / "j.sqlite3")
    service = StoplineService.from_settings(
        settings, journal=journal, transports={"pattern": pattern_api(initiated, lookups)}
    )
    async with service:
        done = await service.cancel(WHOLE, confirm=True)
        assert done.outcome is not None
        assert done.outcome.outcome is Outcome.COMPLETE and not done.outcome.confirmed
        held = await service.cancel(WHOLE, confirm=True)  # within the window
        assert getattr(held, "why", None) == "awaiting_confirmation", held
        (row,) = await journal.attempts(limit=None)
        await asyncio.sleep(max(0.0, (row.lease_until - utcnow()).total_seconds()) + 0.1)
        again = await service.cancel(WHOLE, confirm=True)
        first, claim = await journal.get(1), await journal.get(2)
    assert first is not None and first.outcome is Outcome.ERROR and not first.confirmed
    assert first.message.startswith("not applied") and first.cancelled == []
    assert claim is not None and claim.state.value == "withdrawn"  # the held one sent nothing
    assert again.outcome is not None, again  # sent, not held as awaiting confirmation
    assert again.outcome.attempt_id == 3
