"""Shoplazza OpenAPI (seed 002): Access-Token auth, id vs number, the cancel answer's order."""

from __future__ import annotations

import json

import pytest

from tui.core.domain import CancelRequest, Outcome
from tui.core.errors import ProviderError

from .cases import SHOP_ID, shoplazza_order

BASE = "/openapi/2022-01/orders"
ORDER = f"{BASE}/{SHOP_ID}"
CANCEL = f"{BASE}/{SHOP_ID}/cancel"


def cancel_request(reason: str = "Customer changed their mind") -> CancelRequest:
    return CancelRequest(provider="shoplazza", order_id=SHOP_ID, reason=reason)


@pytest.fixture
def shop(provider_for):
    return provider_for("shoplazza")


async def test_access_token_header_not_bearer(api, shop):
    api.add("GET", ORDER, (200, shoplazza_order()))
    api.add("POST", CANCEL, (200, shoplazza_order("cancelled")))

    await shop.lookup(SHOP_ID)
    await shop.cancel(cancel_request())

    for call in api.requests:
        assert call.headers["access-token"] == "shop-token-value"
        assert "authorization" not in call.headers
        assert call.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("identifier", "path", "found_by"),
    [
        (SHOP_ID, ORDER, "order_id"),
        ("#1004", f"{BASE}/number/1004", "order_number"),
        ("1004", f"{BASE}/number/1004", "order_number"),
        ("#A 1/2", f"{BASE}/number/A%201%2F2", "order_number"),
    ],
)
async def test_lookup_by_id_or_by_number(api, shop, identifier, path, found_by):
    api.add("GET", path, (200, shoplazza_order()))

    order = await shop.lookup(identifier)

    assert len(api.calls("GET", path)) == 1
    assert order is not None
    assert order.found_by == found_by
    assert order.order_id == SHOP_ID
    assert order.identifiers == {"order_id": SHOP_ID, "order_number": "1004"}


async def test_api_version_is_a_setting(api, provider_for, settings_for):
    api.add("GET", f"/openapi/2024-07/orders/{SHOP_ID}", (200, shoplazza_order()))
    provider = provider_for(
        "shoplazza", settings=settings_for(shoplazza={"api_version": "2024-07"})
    )
    assert await provider.lookup(SHOP_ID) is not None


async def test_lookup_maps_status_and_what_blocks_a_cancel(api, shop):
    api.add(
        "GET",
        ORDER,
        (200, shoplazza_order("opened")),
        (200, shoplazza_order("opened", fulfillment_status="partially_shipped")),
        (200, shoplazza_order("finished")),
        (200, shoplazza_order("canceled")),
    )

    opened = await shop.lookup(SHOP_ID)
    assert opened.status == "opened · paid · waiting"
    assert opened.cancellable and opened.lines[0].cancellable
    assert opened.lines[0].sku == "TEE"

    shipped = await shop.lookup(SHOP_ID)
    assert not shipped.cancellable
    assert shipped.not_cancellable_reason == "fulfilment is partially_shipped"

    finished = await shop.lookup(SHOP_ID)
    assert finished.not_cancellable_reason == "the order is finished"

    cancelled = await shop.lookup(SHOP_ID)
    assert cancelled.cancelled and not cancelled.cancellable


async def test_lookup_404_unable_to_find_resource(api, shop):
    api.add("GET", ORDER, (404, {"errors": ["Unable to find resource"]}))
    assert await shop.lookup(SHOP_ID) is None


async def test_lookup_answer_without_an_order_is_unreadable(api, shop):
    api.add("GET", ORDER, (200, {"orders": []}))
    with pytest.raises(ProviderError, match="order is not an object"):
        await shop.lookup(SHOP_ID)


# -- cancel -----------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["cancelled", "canceled"])
async def test_cancel_200_with_the_cancelled_order(api, shop, spelling):
    api.add(
        "POST",
        CANCEL,
        (
            200,
            shoplazza_order(spelling, cancel_reason="Customer changed their mind"),
            {"Request-Id": "rq-123"},
        ),
    )

    outcome = await shop.cancel(cancel_request())

    (call,) = api.calls("POST", CANCEL)
    assert json.loads(call.content) == {"reason": "Customer changed their mind"}
    assert outcome.outcome is Outcome.COMPLETE
    assert outcome.confirmed is True
    assert outcome.request_id == "rq-123"
    assert [(c.id, c.status) for c in outcome.cancelled] == [(SHOP_ID, spelling)]
    assert outcome.message == "Customer changed their mind"


async def test_cancel_200_whose_order_is_still_open_is_never_complete(api, shop):
    api.add("POST", CANCEL, (200, shoplazza_order("opened"), {"Request-Id": "rq-9"}))

    outcome = await shop.cancel(cancel_request())

    assert outcome.outcome is Outcome.UNKNOWN
    assert outcome.confirmed is False
    assert outcome.cancelled == []
    assert "still opened" in outcome.message
    assert outcome.request_id == "rq-9"


async def test_406_is_refused_in_the_providers_words(api, shop):
    api.add(
        "POST",
        CANCEL,
        (406, {"error": "order can not be cancelled in current state"}, {"Request-Id": "rq-406"}),
    )

    outcome = await shop.cancel(cancel_request())

    assert outcome.outcome is Outcome.REFUSED
    assert outcome.http_status == 406
    assert outcome.message == "order can not be cancelled in current state"
    assert outcome.request_id == "rq-406"


@pytest.mark.parametrize("status", [400, 422])
@pytest.mark.parametrize(
    "body",
    [
        {"errors": ["order status is finished"]},
        {"error": "The order has been shipped"},
        {"errors": ["financial state refunding does not allow this"]},
    ],
)
async def test_400_or_422_naming_the_state_is_refused(api, shop, status, body):
    api.add("POST", CANCEL, (status, body))
    outcome = await shop.cancel(cancel_request())
    assert outcome.outcome is Outcome.REFUSED
    assert outcome.http_status == status


@pytest.mark.parametrize(
    ("status", "body", "words"),
    [
        (400, {"error": "store is not active"}, "store is not active"),
        (400, {"errors": ["invalid json body"]}, "invalid json body"),
        (422, {"errors": ["file number error"]}, "file number error"),
        (403, {"errors": ["access scope write_order required"]}, "write_order"),
        (401, {"error": "invalid access token"}, "invalid access token"),
    ],
)
async def test_other_rejections_are_errors(api, shop, status, body, words):
    api.add("POST", CANCEL, (status, body))
    outcome = await shop.cancel(cancel_request())
    assert outcome.outcome is Outcome.ERROR
    assert outcome.http_status == status
    assert words in outcome.message
    assert len(api.calls("POST", CANCEL)) == 1


async def test_404_is_not_found(api, shop):
    api.add("POST", CANCEL, (404, {"errors": ["Unable to find resource"]}))
    outcome = await shop.cancel(cancel_request())
    assert outcome.outcome is Outcome.NOT_FOUND
    assert outcome.message == "Unable to find resource"


async def test_429_with_retry_after_then_success_keeps_the_last_request_id(api, shop, sleep):
    api.add(
        "POST",
        CANCEL,
        (429, {"errors": ["Too Many Requests"]}, {"Retry-After": "1", "Request-Id": "rq-a"}),
        (200, shoplazza_order("cancelled"), {"Request-Id": "rq-b"}),
    )

    outcome = await shop.cancel(cancel_request())

    assert outcome.outcome is Outcome.COMPLETE
    assert outcome.request_id == "rq-b"
    assert sleep.delays == [1.0]
    assert len(api.calls("POST", CANCEL)) == 2


async def test_the_client_side_leaky_bucket_is_waited_for_before_every_send(api, provider_for):
    waits: list[str] = []

    async def acquire() -> None:
        waits.append("acquire")

    api.add("GET", ORDER, 503, (200, shoplazza_order()))
    provider = provider_for("shoplazza", before_send=acquire)

    await provider.lookup(SHOP_ID)

    assert waits == ["acquire", "acquire"]  # the retry waits for the bucket too


def test_the_leaky_bucket_follows_the_rate_setting(provider_for, settings_for):
    provider = provider_for("shoplazza", settings=settings_for(shoplazza={"rate_per_s": 2}))
    assert provider.limiter.max_rate == 2
    assert provider.limiter.time_period == 1.0
