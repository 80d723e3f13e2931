"""Pattern Hub (seed 000): token, status look-up, and the status-code-driven cancel mapping."""

from __future__ import annotations

import functools
import json

import pytest

from tui.core.domain import CancelRequest, Outcome
from tui.core.errors import ProviderAuthError, ProviderError
from tui.core.providers import base as base_module
from tui.core.providers.http import TokenSource

from .cases import PATTERN_TOKEN_PATH, pattern_cancel_body, pattern_status, token_answer

STATUS = "/hub/v1/orders/status"
CANCEL = "/hub/v1/orders/cancel_order"


def cancel_request(order_id: str = "MO-1") -> CancelRequest:
    return CancelRequest(provider="pattern", order_id=order_id, reason="customer asked")


@pytest.fixture
def pattern(api, provider_for, clock, monkeypatch):
    """A Pattern adapter whose token cache runs on the fake clock."""
    monkeypatch.setattr(base_module, "TokenSource", functools.partial(TokenSource, clock=clock))
    return provider_for("pattern")


# -- token ------------------------------------------------------------------------------------


async def test_token_request_body_headers_and_host(api, pattern):
    api.add("POST", PATTERN_TOKEN_PATH, token_answer("tok-1"))
    api.add("GET", STATUS, (200, pattern_status("processing", "pending")))

    await pattern.lookup("MO-1")

    token_call, status_call = api.requests
    assert token_call.url.host == "auth.pattern.test"  # the token URL is its own setting
    assert token_call.method == "POST"
    assert token_call.headers["content-type"] == "application/json"
    assert "authorization" not in token_call.headers
    assert json.loads(token_call.content) == {
        "grant_type": "client_credentials",
        "client_id": "pattern-client",
        "client_secret": "pattern-secret-value",
    }
    assert status_call.url.host == "api.pattern.test"
    assert status_call.headers["authorization"] == "Bearer tok-1"


async def test_token_is_cached_until_shortly_before_expiry(api, pattern, clock):
    api.add("POST", PATTERN_TOKEN_PATH, token_answer("tok-1", 3600), token_answer("tok-2", 3600))
    api.add("GET", STATUS, (200, pattern_status("processing", "pending")))

    await pattern.lookup("MO-1")
    clock.advance(3569)  # 3600 s minus the 30 s safety margin, not yet reached
    await pattern.lookup("MO-1")
    assert len(api.calls("POST", PATTERN_TOKEN_PATH)) == 1

    clock.advance(1)
    await pattern.lookup("MO-1")
    assert len(api.calls("POST", PATTERN_TOKEN_PATH)) == 2
    auths = [r.headers["authorization"] for r in api.calls("GET", STATUS)]
    assert auths == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]
    assert pattern.tokens.fetch_count == 2


async def test_token_without_expires_in_lasts_an_hour(api, pattern, clock):
    api.add("POST", PATTERN_TOKEN_PATH, token_answer("tok-1", None), token_answer("tok-2"))
    api.add("GET", STATUS, (200, pattern_status("processing")))
    await pattern.lookup("MO-1")
    clock.advance(3500)
    await pattern.lookup("MO-1")
    assert len(api.calls("POST", PATTERN_TOKEN_PATH)) == 1
    clock.advance(100)
    await pattern.lookup("MO-1")
    assert len(api.calls("POST", PATTERN_TOKEN_PATH)) == 2


@pytest.mark.parametrize("status", [400, 401])
async def test_token_refused_stops_before_any_order_request(api, pattern, status):
    api.add(
        "POST",
        PATTERN_TOKEN_PATH,
        (status, {"error": "invalid_client", "error_description": "Client authentication failed"}),
    )

    with pytest.raises(ProviderAuthError) as info:
        await pattern.lookup("MO-1")
    assert info.value.http_status == status
    assert "invalid_client" in info.value.message
    assert "Client authentication failed" in info.value.message

    outcome = await pattern.cancel(cancel_request())
    assert outcome.outcome is Outcome.ERROR
    assert "token refused" in outcome.message
    assert api.calls("GET", STATUS) == []
    assert api.calls("POST", CANCEL) == []
    # A refused token endpoint is answered once per call: 401 there is not "retry with a new one".
    assert len(api.calls("POST", PATTERN_TOKEN_PATH)) == 2


async def test_token_answer_without_access_token_is_an_auth_error(api, pattern):
    api.add("POST", PATTERN_TOKEN_PATH, (200, {"token_type": "Bearer", "expires_in": 3600}))
    with pytest.raises(ProviderAuthError, match="no access_token"):
        await pattern.lookup("MO-1")


# -- look-up ----------------------------------------------------------------------------------


async def test_lookup_maps_the_status_answer(api, pattern):
    api.add("POST", PATTERN_TOKEN_PATH, token_answer("tok-1"))
    body = {
        "market_order_id": "MO-1",
        "order_status": "partially shipped",
        "sub_orders": [
            {"sub_order_status": "shipped", "items": [{"sku": "A", "quantity": 1}]},
            {
                "sub_order_status": "backordered",
                "items": [{"sku": "B", "quantity": 2}, {"sku": "C", "quantity": 3}],
            },
            {"sub_order_status": "pending", "items": []},
            {"sub_order_status": "processing", "items": [{"sku": "D", "quantity": 1}]},
        ],
        "unexpected": {"extra": "tolerated"},
    }
    api.add("GET", STATUS, (200, body))

    order = await pattern.lookup("MO-1")

    (call,) = api.calls("GET", STATUS)
    assert call.url.params["market_order_id"] == "MO-1"
    assert order is not None
    assert order.provider == "pattern"
    assert order.order_id == "MO-1"
    assert order.found_by == "market_order_id"
    assert order.status == "partially shipped"
    assert [ln.id for ln in order.lines] == [
        "sub-order 1",
        "sub-order 2",
        "sub-order 3",
        "sub-order 4",
    ]
    shipped, backordered, pending, processing = order.lines
    assert (shipped.cancellable, shipped.not_cancellable_reason) == (False, "shipped")
    assert backordered.cancellable and backordered.sku == "B, C" and backordered.quantity == 5
    assert pending.cancellable and pending.quantity is None
    assert not processing.cancellable
    assert "warehouse" in (processing.not_cancellable_reason or "")
    assert order.cancellable and order.cancellable_count == 2
    assert not order.cancelled


async def test_lookup_of_a_cancelled_order(api, pattern):
    api.add("POST", PATTERN_TOKEN_PATH, token_answer("tok-1"))
    api.add("GET", STATUS, (200, pattern_status("cancelled", "cancelled")))
    order = await pattern.lookup("MO-1")
    assert order is not None
    assert order.cancelled
    assert not order.cancellable
    assert order.lines[0].not_cancellable_reason == "already cancelled"


async def test_lookup_404_order_not_found(api, pattern):
    api.add("POST", PATTERN_TOKEN_PATH, token_answer("tok-1"))
    api.add("GET", STATUS, (404, {"error": "Order not found"}))
    assert await pattern.lookup("nope") is None


async def test_lookup_other_status_raises_with_the_providers_words(api, pattern):
    api.add("POST", PATTERN_TOKEN_PATH, token_answer("tok-1"))
    api.add("GET", STATUS, (500, {"error": "database on fire"}))
    with pytest.raises(ProviderError, match="database on fire") as info:
        await pattern.lookup("MO-1")
    assert info.value.http_status == 500


# -- cancel -----------------------------------------------------------------------------------


async def test_cancel_200_is_complete_but_only_initiated(api, pattern):
    api.add("POST", PATTERN_TOKEN_PATH, token_answer("tok-1"))
    api.add(
        "POST",
        CANCEL,
        (200, pattern_cancel_body(cancelled=(42, 43), message="Cancellation initiated")),
    )

    outcome = await pattern.cancel(cancel_request())

    (call,) = api.calls("POST", CANCEL)
    assert call.url.params["market_order_id"] == "MO-1"
    assert call.content == b""  # no body
    assert call.headers["authorization"] == "Bearer tok-1"
    assert outcome.outcome is Outcome.COMPLETE
    assert outcome.confirmed is False  # asynchronous: initiated, not done
    assert outcome.http_status == 200
    assert outcome.message == "Cancellation initiated"
    assert [(c.id, c.status) for c in outcome.cancelled] == [
        ("42", "cancelled"),
        ("43", "cancelled"),
    ]
    assert outcome.not_cancelled == []


async def test_cancel_206_is_partial_with_the_refused_warehouse_orders(api, pattern):
    api.add("POST", PATTERN_TOKEN_PATH, token_answer("tok-1"))
    api.add(
        "POST",
        CANCEL,
        (
            206,
            pattern_cancel_body(
                cancelled=(42,), refused=((43, "picked", "Order has been picked"),), message="part"
            ),
        ),
    )

    outcome = await pattern.cancel(cancel_request())

    assert outcome.outcome is Outcome.PARTIAL
    assert outcome.http_status == 206
    assert [c.id for c in outcome.cancelled] == ["42"]
    assert [(n.id, n.status, n.reason) for n in outcome.not_cancelled] == [
        ("43", "picked", "Order has been picked")
    ]


async def test_cancel_409_is_refused_even_when_success_is_true(api, pattern):
    api.add("POST", PATTERN_TOKEN_PATH, token_answer("tok-1"))
    body = pattern_cancel_body(
        refused=((42, "departed", "Already departed"), (43, "complete", "Complete")),
        success=True,
        message="No orders could be cancelled",
    )
    api.add("POST", CANCEL, (409, body))

    outcome = await pattern.cancel(cancel_request())

    assert outcome.outcome is Outcome.REFUSED
    assert outcome.http_status == 409
    assert outcome.cancelled == []
    assert [n.status for n in outcome.not_cancelled] == ["departed", "complete"]
    assert outcome.message == "No orders could be cancelled"


async def test_cancel_409_listing_cancelled_orders_never_reports_them_cancelled(api, pattern):
    api.add("POST", PATTERN_TOKEN_PATH, token_answer("tok-1"))
    body = pattern_cancel_body(cancelled=(42,), refused=((43, "packed", "Packed"),), success=True)
    api.add("POST", CANCEL, (409, body))

    outcome = await pattern.cancel(cancel_request())

    assert outcome.outcome is Outcome.REFUSED
    assert outcome.cancelled == []
    assert any("status code wins" in w for w in outcome.warnings)
    assert len(api.calls("POST", CANCEL)) == 1


async def test_cancel_422_is_an_error_with_every_listed_problem(api, pattern):
    api.add("POST", PATTERN_TOKEN_PATH, token_answer("tok-1"))
    api.add(
        "POST",
        CANCEL,
        (422, {"errors": ["market_order_id is required", "market_order_id is invalid"]}),
    )

    outcome = await pattern.cancel(cancel_request())

    assert outcome.outcome is Outcome.ERROR
    assert outcome.http_status == 422
    assert outcome.message == "market_order_id is required; market_order_id is invalid"


async def test_cancel_404_is_not_found(api, pattern):
    api.add("POST", PATTERN_TOKEN_PATH, token_answer("tok-1"))
    api.add("POST", CANCEL, (404, {"error": "Order not found"}))

    outcome = await pattern.cancel(cancel_request())

    assert outcome.outcome is Outcome.NOT_FOUND
    assert outcome.message == "Order not found"


async def test_cancel_answer_text_is_sanitised(api, pattern):
    api.add("POST", PATTERN_TOKEN_PATH, token_answer("tok-1"))
    body = pattern_cancel_body(
        refused=(("4\x1b[2J2", "picked\u202e", "why\x07 not"),), message="\x1b]0;x\x07hi"
    )
    api.add("POST", CANCEL, (409, body))

    outcome = await pattern.cancel(cancel_request())

    assert outcome.message == "hi"
    assert [(n.id, n.status, n.reason) for n in outcome.not_cancelled] == [
        ("42", "picked", "why not")
    ]
