"""Shoplazza over HTTP: Access-Token auth, Request-Id, look-ups, 406 refusals, leaky bucket."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tui.sandbox import SandboxConfig, SandboxServer
from tui.sandbox.showcase import (
    SHOPLAZZA_FINISHED_ID,
    SHOPLAZZA_FINISHED_NUMBER,
    SHOPLAZZA_OPEN_ID,
    SHOPLAZZA_OPEN_NUMBER,
)

from .helpers import SHOP_HEADERS

BASE = "/shoplazza/openapi/2022-01"


def request_id(response: httpx.Response) -> str:
    value = response.headers["Request-Id"]
    assert uuid.UUID(value).version == 4
    return value


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Access-Token": "wrong"},
        {"Authorization": f"Bearer {SHOP_HEADERS['Access-Token']}"},
    ],
)
def test_missing_or_wrong_access_token_is_401(
    client: httpx.Client, headers: dict[str, str]
) -> None:
    response = client.get(f"{BASE}/orders/{SHOPLAZZA_OPEN_ID}", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"errors": ["Invalid API key or access token"]}
    request_id(response)


def test_lookup_by_id_and_by_number_agree(client: httpx.Client) -> None:
    by_id = client.get(f"{BASE}/orders/{SHOPLAZZA_OPEN_ID}", headers=SHOP_HEADERS)
    by_number = client.get(f"{BASE}/orders/number/{SHOPLAZZA_OPEN_NUMBER}", headers=SHOP_HEADERS)
    assert by_id.status_code == by_number.status_code == 200
    assert request_id(by_id) != request_id(by_number)
    order = by_id.json()["order"]
    assert by_number.json()["order"] == order
    assert order["id"] == SHOPLAZZA_OPEN_ID
    assert order["number"] == SHOPLAZZA_OPEN_NUMBER
    assert (order["status"], order["financial_status"], order["fulfillment_status"]) == (
        "placed",
        "paid",
        "initialled",
    )
    assert order["cancel_reason"] is None and order["cancelled_at"] is None
    assert order["line_items"]
    for item in order["line_items"]:
        assert set(item) >= {"id", "product_id", "variant_id", "sku", "title", "quantity", "price"}
    total = sum(float(i["price"]) * i["quantity"] for i in order["line_items"])
    assert float(order["total_price"]) == pytest.approx(total + float(order["total_shipping"]))


def test_any_api_version_segment_is_accepted(client: httpx.Client) -> None:
    ok = client.get(f"/shoplazza/openapi/2024-07/orders/{SHOPLAZZA_OPEN_ID}", headers=SHOP_HEADERS)
    assert ok.status_code == 200
    bad = client.get(f"/shoplazza/openapi/latest/orders/{SHOPLAZZA_OPEN_ID}", headers=SHOP_HEADERS)
    assert bad.status_code == 404
    assert bad.json() == {"errors": ["Unable to find resource"]}


def test_unknown_order_is_404_with_request_id(client: httpx.Client) -> None:
    for path in (f"{BASE}/orders/633130-99999999", f"{BASE}/orders/number/99999"):
        response = client.get(path, headers=SHOP_HEADERS)
        assert response.status_code == 404
        assert response.json() == {"errors": ["Unable to find resource"]}
        request_id(response)
    response = client.post(f"{BASE}/orders/633130-99999999/cancel", json={}, headers=SHOP_HEADERS)
    assert response.status_code == 404


def test_cancel_open_order(client: httpx.Client) -> None:
    response = client.post(
        f"{BASE}/orders/{SHOPLAZZA_OPEN_ID}/cancel",
        json={"reason": "Customer changed their mind"},
        headers=SHOP_HEADERS,
    )
    assert response.status_code == 200
    request_id(response)
    order = response.json()["order"]
    assert order["status"] == "cancelled"
    assert order["cancel_reason"] == "Customer changed their mind"
    assert order["cancelled_at"] and order["cancelled_at"].endswith("Z")
    looked_up = client.get(f"{BASE}/orders/{SHOPLAZZA_OPEN_ID}", headers=SHOP_HEADERS)
    assert looked_up.json()["order"]["status"] == "cancelled"

    again = client.post(f"{BASE}/orders/{SHOPLAZZA_OPEN_ID}/cancel", headers=SHOP_HEADERS)
    assert again.status_code == 406
    assert again.json() == {"error": "order has been cancelled"}
    request_id(again)


def test_cancel_without_a_body_has_no_reason(client: httpx.Client) -> None:
    response = client.post(f"{BASE}/orders/{SHOPLAZZA_OPEN_ID}/cancel", headers=SHOP_HEADERS)
    assert response.status_code == 200
    assert response.json()["order"]["cancel_reason"] is None


def test_cancel_reason_must_be_a_string(client: httpx.Client) -> None:
    response = client.post(
        f"{BASE}/orders/{SHOPLAZZA_OPEN_ID}/cancel", json={"reason": 42}, headers=SHOP_HEADERS
    )
    assert response.status_code == 422
    assert response.json()["errors"]


def test_finished_order_is_406(client: httpx.Client) -> None:
    order = client.get(f"{BASE}/orders/number/{SHOPLAZZA_FINISHED_NUMBER}", headers=SHOP_HEADERS)
    assert order.json()["order"]["id"] == SHOPLAZZA_FINISHED_ID
    response = client.post(f"{BASE}/orders/{SHOPLAZZA_FINISHED_ID}/cancel", headers=SHOP_HEADERS)
    assert response.status_code == 406
    assert response.json() == {"error": "order status is not allowed to cancel"}


def test_demo_data_has_every_status_and_shipped_orders_refuse(client: httpx.Client) -> None:
    ids = client.get("/_sandbox/orders").json()["shoplazza"]
    orders = [
        client.get(f"{BASE}/orders/{order_id}", headers=SHOP_HEADERS).json()["order"]
        for order_id in ids
    ]
    assert {order["status"] for order in orders} == {"opened", "placed", "finished", "cancelled"}
    shipped = next(
        o for o in orders if o["status"] == "placed" and o["fulfillment_status"] == "shipped"
    )
    assert shipped["fulfillments"]
    response = client.post(f"{BASE}/orders/{shipped['id']}/cancel", headers=SHOP_HEADERS)
    assert response.status_code == 406
    assert response.json() == {"error": "order status is not allowed to cancel"}


@pytest.fixture(scope="module")
def limited() -> Iterator[httpx.Client]:
    """A sandbox with Shoplazza's default bucket: 4 deep, draining 2 per second."""
    with (
        SandboxServer(SandboxConfig()) as server,
        httpx.Client(base_url=server.root_url, headers=SHOP_HEADERS) as http,
    ):
        yield http


def test_leaky_bucket_answers_429_then_drains(limited: httpx.Client) -> None:
    path = f"{BASE}/orders/{SHOPLAZZA_OPEN_ID}"
    statuses = [limited.get(path).status_code for _ in range(6)]
    assert statuses[:4] == [200, 200, 200, 200]
    assert 429 in statuses[4:]
    refused = limited.get(path)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    assert refused.json() == {"errors": ["Too many requests"]}
    request_id(refused)
    time.sleep(0.6)  # at 2/s at least one unit has drained
    assert limited.get(path).status_code == 200


def test_credentials_are_checked_before_the_bucket(limited: httpx.Client) -> None:
    for _ in range(6):
        limited.get(f"{BASE}/orders/{SHOPLAZZA_OPEN_ID}")
    assert limited.get(f"{BASE}/orders/{SHOPLAZZA_OPEN_ID}").status_code == 429
    # A wrong token is refused with 401, not 429: the full bucket belongs to the real token.
    wrong = limited.get(f"{BASE}/orders/{SHOPLAZZA_OPEN_ID}", headers={"Access-Token": "x"})
    assert wrong.status_code == 401
