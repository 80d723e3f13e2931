"""Pattern Hub over HTTP: token, status look-up, 200/206/409 cancels, async confirmation."""

from __future__ import annotations

import time

import httpx
import pytest

from tui.sandbox.providers.pattern import order_status
from tui.sandbox.showcase import (
    HOSTILE_TEXT_ORDER,
    PATTERN_ALL_CANCELLABLE,
    PATTERN_NONE,
    PATTERN_PARTIAL,
)

from .helpers import PATTERN_DELAY_S, PATTERN_TOKEN_PATH

STATUS = "/pattern/hub/v1/orders/status"
CANCEL = "/pattern/hub/v1/orders/cancel_order"


def lookup(client: httpx.Client, headers: dict[str, str], order_id: str) -> httpx.Response:
    return client.get(STATUS, params={"market_order_id": order_id}, headers=headers)


def cancel(client: httpx.Client, headers: dict[str, str], order_id: str) -> httpx.Response:
    return client.post(CANCEL, params={"market_order_id": order_id}, headers=headers)


def test_token_issues_a_bearer_token(client: httpx.Client) -> None:
    response = client.post(
        PATTERN_TOKEN_PATH,
        json={
            "grant_type": "client_credentials",
            "client_id": "demo-pattern",
            "client_secret": "demo-pattern-secret",
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert isinstance(body["access_token"], str) and len(body["access_token"]) > 20


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (
            {"grant_type": "client_credentials", "client_id": "demo-pattern", "client_secret": "x"},
            401,
            "invalid_client",
        ),
        ({"grant_type": "client_credentials"}, 401, "invalid_client"),
        (
            {"client_id": "demo-pattern", "client_secret": "demo-pattern-secret"},
            400,
            "invalid_request",
        ),
        (
            {"grant_type": "password", "client_id": "demo-pattern", "client_secret": "x"},
            400,
            "unsupported_grant_type",
        ),
    ],
)
def test_token_errors_use_the_oauth_shape(
    client: httpx.Client, body: dict[str, str], status: int, error: str
) -> None:
    response = client.post(PATTERN_TOKEN_PATH, json=body)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["error_description"]


def test_token_rejects_a_body_that_is_not_json(client: httpx.Client) -> None:
    response = client.post(PATTERN_TOKEN_PATH, content=b"grant_type=client_credentials")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-token"}])
def test_api_answers_401_without_a_valid_token(
    client: httpx.Client, headers: dict[str, str]
) -> None:
    for response in (
        lookup(client, headers, PATTERN_PARTIAL),
        cancel(client, headers, PATTERN_PARTIAL),
    ):
        assert response.status_code == 401
        assert set(response.json()) == {"error"}


def test_lookup_shows_sub_orders_without_warehouse_ids(
    client: httpx.Client, pattern_headers: dict[str, str]
) -> None:
    response = lookup(client, pattern_headers, PATTERN_PARTIAL)
    assert response.status_code == 200
    body = response.json()
    assert body["market_order_id"] == PATTERN_PARTIAL
    assert body["order_status"] == "processing"
    assert [sub["sub_order_status"] for sub in body["sub_orders"]] == [
        "pending",
        "processing",
        "backordered",
    ]
    for sub in body["sub_orders"]:
        assert set(sub) == {"sub_order_status", "items"}
        assert sub["items"] and all(set(item) == {"sku", "quantity"} for item in sub["items"])


def test_lookup_of_an_unknown_order_is_404(
    client: httpx.Client, pattern_headers: dict[str, str]
) -> None:
    response = lookup(client, pattern_headers, "114-0000000-0000001")
    assert response.status_code == 404
    assert response.json() == {"error": "Order not found"}


@pytest.mark.parametrize("params", [{}, {"market_order_id": "  "}])
def test_missing_market_order_id_is_422(
    client: httpx.Client, pattern_headers: dict[str, str], params: dict[str, str]
) -> None:
    for response in (
        client.get(STATUS, params=params, headers=pattern_headers),
        client.post(CANCEL, params=params, headers=pattern_headers),
    ):
        assert response.status_code == 422
        assert response.json() == {"errors": ["market_order_id is required"]}


def test_cancel_all_cancellable_is_200(
    client: httpx.Client, pattern_headers: dict[str, str]
) -> None:
    response = cancel(client, pattern_headers, PATTERN_ALL_CANCELLABLE)
    assert response.status_code == 200
    body = response.json()
    assert body["market_order_id"] == PATTERN_ALL_CANCELLABLE
    assert body["success"] is True
    assert body["message"]
    assert body["non_cancellable_orders"] == []
    assert [entry["status"] for entry in body["cancelled_orders"]] == ["cancelled", "cancelled"]
    assert all(type(entry["warehouse_order_id"]) is int for entry in body["cancelled_orders"])


def test_cancel_partial_is_206(client: httpx.Client, pattern_headers: dict[str, str]) -> None:
    response = cancel(client, pattern_headers, PATTERN_PARTIAL)
    assert response.status_code == 206
    body = response.json()
    assert body["success"] is True
    assert len(body["cancelled_orders"]) == 2
    (refused,) = body["non_cancellable_orders"]
    assert refused["status"] == "picked"
    assert type(refused["warehouse_order_id"]) is int
    assert "picked" in refused["reason"]


def test_cancel_none_is_409_with_success_true(
    client: httpx.Client, pattern_headers: dict[str, str]
) -> None:
    response = cancel(client, pattern_headers, PATTERN_NONE)
    assert response.status_code == 409
    body = response.json()
    assert body["success"] is True  # the documented quirk: trust the status code
    assert body["cancelled_orders"] == []
    assert sorted(entry["status"] for entry in body["non_cancellable_orders"]) == [
        "departed",
        "packed",
    ]


def test_cancel_of_an_unknown_order_is_404(
    client: httpx.Client, pattern_headers: dict[str, str]
) -> None:
    response = cancel(client, pattern_headers, "114-0000000-0000001")
    assert response.status_code == 404
    assert response.json() == {"error": "Order not found"}


def test_cancellation_shows_in_the_lookup_only_after_the_delay(
    client: httpx.Client, pattern_headers: dict[str, str]
) -> None:
    assert cancel(client, pattern_headers, PATTERN_ALL_CANCELLABLE).status_code == 200
    before = lookup(client, pattern_headers, PATTERN_ALL_CANCELLABLE).json()
    assert [sub["sub_order_status"] for sub in before["sub_orders"]] == ["pending", "backordered"]
    assert before["order_status"] == "pending"
    time.sleep(PATTERN_DELAY_S + 0.1)
    after = lookup(client, pattern_headers, PATTERN_ALL_CANCELLABLE).json()
    assert [sub["sub_order_status"] for sub in after["sub_orders"]] == ["cancelled", "cancelled"]
    assert after["order_status"] == "cancelled"


def test_partial_cancel_leaves_the_rest_in_the_lookup(
    client: httpx.Client, pattern_headers: dict[str, str]
) -> None:
    cancel(client, pattern_headers, PATTERN_PARTIAL)
    time.sleep(PATTERN_DELAY_S + 0.1)
    body = lookup(client, pattern_headers, PATTERN_PARTIAL).json()
    assert [sub["sub_order_status"] for sub in body["sub_orders"]] == [
        "cancelled",
        "processing",
        "cancelled",
    ]
    assert body["order_status"] == "processing"


def test_second_cancel_lists_warehouse_orders_as_already_cancelled(
    client: httpx.Client, pattern_headers: dict[str, str]
) -> None:
    first = cancel(client, pattern_headers, PATTERN_ALL_CANCELLABLE).json()
    in_flight = cancel(client, pattern_headers, PATTERN_ALL_CANCELLABLE)
    assert in_flight.status_code == 409
    refused = in_flight.json()["non_cancellable_orders"]
    assert [entry["warehouse_order_id"] for entry in refused] == [
        entry["warehouse_order_id"] for entry in first["cancelled_orders"]
    ]
    assert {entry["status"] for entry in refused} == {"cancelled"}
    assert all("in progress" in entry["reason"] for entry in refused)
    time.sleep(PATTERN_DELAY_S + 0.1)
    settled = cancel(client, pattern_headers, PATTERN_ALL_CANCELLABLE).json()
    assert all("already cancelled" in e["reason"] for e in settled["non_cancellable_orders"])


def test_reset_restores_the_showcase(client: httpx.Client, pattern_headers: dict[str, str]) -> None:
    cancel(client, pattern_headers, PATTERN_ALL_CANCELLABLE)
    client.post("/_sandbox/reset")
    assert cancel(client, pattern_headers, PATTERN_ALL_CANCELLABLE).status_code == 200


def test_hostile_order_carries_markup_ansi_and_bel(
    client: httpx.Client, pattern_headers: dict[str, str]
) -> None:
    skus = " ".join(
        item["sku"]
        for sub in lookup(client, pattern_headers, HOSTILE_TEXT_ORDER).json()["sub_orders"]
        for item in sub["items"]
    )
    response = cancel(client, pattern_headers, HOSTILE_TEXT_ORDER)
    assert response.status_code == 409
    body = response.json()
    reasons = " ".join(entry["reason"] for entry in body["non_cancellable_orders"])
    for text in (skus, reasons, body["message"]):
        assert "[bold red]x[/]" in text or "\x1b[" in text
    assert "[/]" in skus and "\x1b[31m" in skus and "\x07" in skus
    assert "[bold red]x[/]" in reasons and "\x1b[31m" in reasons and "\x07" in reasons
    assert "\x07" in body["message"]
    # It stays a 409 so it can be used again and again.
    assert cancel(client, pattern_headers, HOSTILE_TEXT_ORDER).status_code == 409


@pytest.mark.parametrize(
    ("subs", "expected"),
    [
        (["cancelled", "cancelled"], "cancelled"),
        (["shipped", "shipped"], "complete"),
        (["shipped", "cancelled"], "complete"),
        (["shipped", "pending"], "partially shipped"),
        (["processing", "pending"], "processing"),
        (["backordered", "pending"], "pending"),
    ],
)
def test_order_status_is_derived_from_sub_orders(subs: list[str], expected: str) -> None:
    assert order_status(subs) == expected
