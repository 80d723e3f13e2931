"""Fault injection over HTTP: every mode, filters, counts, `when: after`, config and env."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from tui.sandbox import SandboxConfig, SandboxServer, control
from tui.sandbox.showcase import (
    ORDERMESH_MULTI_ITEM,
    PATTERN_ALL_CANCELLABLE,
    RX_CANCELLABLE_ORDER,
    SHOPLAZZA_OPEN_ID,
)

from .helpers import PATTERN_DELAY_S, SHOP_HEADERS

SHOP_ORDER = f"/shoplazza/openapi/2022-01/orders/{SHOPLAZZA_OPEN_ID}"
RX_ORDER = f"/rxuniverse/api/v2/orders/{RX_CANCELLABLE_ORDER}"
MESH_CANCEL = f"/ordermesh/v1/orders/{ORDERMESH_MULTI_ITEM}/cancel"
PATTERN_STATUS = "/pattern/hub/v1/orders/status"
PATTERN_CANCEL = "/pattern/hub/v1/orders/cancel_order"


def test_latency_delays_the_answer(client: httpx.Client, root_url: str) -> None:
    control.add_fault(root_url, provider="rxuniverse", mode="latency", latency_ms=300)
    began = time.perf_counter()
    response = client.get(RX_ORDER)
    assert response.status_code == 200
    assert time.perf_counter() - began >= 0.3


@pytest.mark.parametrize(
    ("status", "provider", "path", "headers", "body"),
    [
        (500, "rxuniverse", RX_ORDER, {}, {"error": "Internal Server Error", "details": []}),
        (502, "shoplazza", SHOP_ORDER, SHOP_HEADERS, {"errors": ["Bad Gateway"]}),
        (503, "ordermesh", f"/ordermesh/v1/orders/{ORDERMESH_MULTI_ITEM}", {}, None),
    ],
)
def test_error_answers_the_status_in_the_provider_shape(
    client: httpx.Client,
    root_url: str,
    status: int,
    provider: str,
    path: str,
    headers: dict[str, str],
    body: dict[str, object] | None,
) -> None:
    control.add_fault(root_url, provider=provider, mode="error", status=status)
    response = client.get(path, headers=headers)
    assert response.status_code == status
    expected = body if body is not None else {"message": "Service Unavailable"}
    assert response.json() == expected


def test_error_without_status_picks_a_5xx(client: httpx.Client, root_url: str) -> None:
    control.add_fault(root_url, provider="rxuniverse", mode="error")
    statuses = {client.get(RX_ORDER).status_code for _ in range(12)}
    assert statuses <= {500, 502, 503}
    assert len(statuses) > 1


def test_timeout_never_answers(client: httpx.Client, root_url: str) -> None:
    control.add_fault(root_url, provider="rxuniverse", mode="timeout")
    with pytest.raises(httpx.ReadTimeout):
        client.get(RX_ORDER, timeout=0.3)


def test_malformed_json_is_a_200_that_does_not_parse(client: httpx.Client, root_url: str) -> None:
    control.add_fault(root_url, provider="shoplazza", mode="malformed_json")
    response = client.get(SHOP_ORDER, headers=SHOP_HEADERS)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.text.startswith("{")
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_html_error_is_a_proxy_page(client: httpx.Client, root_url: str) -> None:
    control.add_fault(root_url, provider="shoplazza", mode="html_error")
    response = client.get(SHOP_ORDER, headers=SHOP_HEADERS)
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert "<html>" in response.text and "502 Bad Gateway" in response.text
    assert "Request-Id" not in response.headers


def test_reset_drops_the_connection_mid_body(client: httpx.Client, root_url: str) -> None:
    control.add_fault(root_url, provider="rxuniverse", mode="reset")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        client.get(RX_ORDER)
    assert client.get("/_sandbox/health").status_code == 200


def test_unauthorized_and_rate_limit(client: httpx.Client, root_url: str) -> None:
    control.add_fault(root_url, provider="shoplazza", mode="unauthorized", count=1)
    control.add_fault(root_url, provider="shoplazza", mode="rate_limit", count=1)
    first = client.get(SHOP_ORDER, headers=SHOP_HEADERS)
    assert first.status_code == 401
    assert first.json() == {"errors": ["Invalid API key or access token"]}
    second = client.get(SHOP_ORDER, headers=SHOP_HEADERS)
    assert second.status_code == 429
    assert second.headers["Retry-After"] == "1"
    assert second.headers["Request-Id"]
    assert client.get(SHOP_ORDER, headers=SHOP_HEADERS).status_code == 200


def test_count_limits_how_often_a_rule_fires(client: httpx.Client, root_url: str) -> None:
    rule = control.add_fault(root_url, provider="rxuniverse", mode="error", status=503, count=2)
    assert rule["remaining"] == 2 and rule["id"] >= 1
    assert [client.get(RX_ORDER).status_code for _ in range(3)] == [503, 503, 200]
    assert control.list_faults(root_url) == []


def test_rules_match_provider_and_operation(client: httpx.Client, root_url: str) -> None:
    control.add_fault(
        root_url, provider="rxuniverse", mode="error", status=500, operations=["cancel"]
    )
    assert client.get(RX_ORDER).status_code == 200
    assert client.delete(RX_ORDER, params={"deleteReason": "1"}).status_code == 500
    assert client.get(SHOP_ORDER, headers=SHOP_HEADERS).status_code == 200
    control.clear_faults(root_url)
    control.add_fault(root_url, provider="*", mode="error", status=502, operations=["lookup"])
    assert client.get(RX_ORDER).status_code == 502
    assert client.get(SHOP_ORDER, headers=SHOP_HEADERS).status_code == 502
    assert client.get("/_sandbox/orders").status_code == 200  # control is never faulted


def test_rate_zero_never_fires(client: httpx.Client, root_url: str) -> None:
    control.add_fault(root_url, provider="*", mode="error", rate=0.0)
    assert {client.get(RX_ORDER).status_code for _ in range(10)} == {200}


def test_token_operation_faults(client: httpx.Client, root_url: str) -> None:
    control.add_fault(root_url, provider="pattern", mode="unauthorized", operations=["token"])
    response = client.post(
        "/pattern-admin/adminczar/api/v1/oauth2/token",
        json={
            "grant_type": "client_credentials",
            "client_id": "demo-pattern",
            "client_secret": "demo-pattern-secret",
        },
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_timeout_after_really_cancels(
    client: httpx.Client, root_url: str, pattern_headers: dict[str, str]
) -> None:
    control.add_fault(
        root_url, provider="pattern", mode="timeout", operations=["cancel"], when="after", count=1
    )
    with pytest.raises(httpx.ReadTimeout):
        client.post(
            PATTERN_CANCEL,
            params={"market_order_id": PATTERN_ALL_CANCELLABLE},
            headers=pattern_headers,
            timeout=0.3,
        )
    time.sleep(PATTERN_DELAY_S)
    status = client.get(
        PATTERN_STATUS, params={"market_order_id": PATTERN_ALL_CANCELLABLE}, headers=pattern_headers
    )
    assert status.json()["order_status"] == "cancelled"


def test_reset_after_really_cancels(client: httpx.Client, root_url: str) -> None:
    control.add_fault(
        root_url, provider="shoplazza", mode="reset", operations=["cancel"], when="after"
    )
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        client.post(f"{SHOP_ORDER}/cancel", json={"reason": "x"}, headers=SHOP_HEADERS)
    assert client.get(SHOP_ORDER, headers=SHOP_HEADERS).json()["order"]["status"] == "cancelled"


def test_error_after_really_cancels(
    client: httpx.Client, root_url: str, ordermesh_headers: dict[str, str]
) -> None:
    control.add_fault(
        root_url,
        provider="ordermesh",
        mode="error",
        status=500,
        operations=["cancel"],
        when="after",
    )
    body = {"cancelReason": "test", "orderItems": [], "triggerFlow": True}
    response = client.post(MESH_CANCEL, json=body, headers=ordermesh_headers)
    assert response.status_code == 500
    order = client.get(f"/ordermesh/v1/orders/{ORDERMESH_MULTI_ITEM}", headers=ordermesh_headers)
    assert order.json()["status"] == "Cancelled"


def test_malformed_json_after_truncates_the_real_answer(
    client: httpx.Client, root_url: str
) -> None:
    control.add_fault(
        root_url, provider="shoplazza", mode="malformed_json", operations=["cancel"], when="after"
    )
    response = client.post(f"{SHOP_ORDER}/cancel", headers=SHOP_HEADERS)
    assert response.status_code == 200
    assert response.text.startswith('{"order":{"id":"633130-00000004"')
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_before_faults_do_not_change_state(client: httpx.Client, root_url: str) -> None:
    control.add_fault(root_url, provider="shoplazza", mode="error", operations=["cancel"], count=1)
    assert client.post(f"{SHOP_ORDER}/cancel", headers=SHOP_HEADERS).status_code >= 500
    assert client.get(SHOP_ORDER, headers=SHOP_HEADERS).json()["order"]["status"] == "placed"


def test_latency_after_delays_a_completed_call(client: httpx.Client, root_url: str) -> None:
    control.add_fault(root_url, provider="rxuniverse", mode="latency", latency_ms=250, when="after")
    began = time.perf_counter()
    assert client.get(RX_ORDER).status_code == 200
    assert time.perf_counter() - began >= 0.25


def test_invalid_rules_are_refused(client: httpx.Client) -> None:
    for rule in (
        {"provider": "amazon", "mode": "error"},
        {"provider": "pattern", "mode": "explode"},
        {"mode": "error", "status": 418},
        {"mode": "error", "rate": 2},
        {"mode": "error", "operations": []},
        {"mode": "error", "colour": "red"},
    ):
        response = client.post("/_sandbox/faults", json=rule)
        assert response.status_code == 400, rule
        assert response.json()["details"]
    assert client.get("/_sandbox/faults").json() == []


def test_clear_and_list(client: httpx.Client, root_url: str) -> None:
    control.add_fault(root_url, mode="latency", latency_ms=10)
    control.add_fault(root_url, provider="pattern", mode="reset")
    listed = control.list_faults(root_url)
    assert [rule["mode"] for rule in listed] == ["latency", "reset"]
    assert control.clear_faults(root_url) == 2
    assert control.list_faults(root_url) == []


async def test_async_control_helpers(root_url: str) -> None:
    await control.areset(root_url)
    rule = await control.aadd_fault(root_url, provider="rxuniverse", mode="error", status=503)
    assert rule["mode"] == "error"
    async with httpx.AsyncClient(base_url=root_url) as http:
        assert (await http.get(RX_ORDER)).status_code == 503
    assert await control.aclear_faults(root_url) == 1
    assert await control.arevoke_tokens(root_url) >= 0


@pytest.fixture(scope="module")
def env_configured() -> Iterator[httpx.Client]:
    """A sandbox whose faults come from STOPLINE_SANDBOX_* variables."""
    config = SandboxConfig.from_env(
        {
            "STOPLINE_SANDBOX_LATENCY_MS": "rxuniverse=200",
            "STOPLINE_SANDBOX_FAULTS": "shoplazza:error:lookup:status=503,ordermesh:timeout:token",
        }
    )
    with (
        SandboxServer(config) as server,
        httpx.Client(base_url=server.root_url, timeout=2.0) as http,
    ):
        yield http


def test_env_latency_applies_to_one_provider(env_configured: httpx.Client) -> None:
    began = time.perf_counter()
    assert env_configured.get(RX_ORDER).status_code == 200
    assert time.perf_counter() - began >= 0.2
    began = time.perf_counter()
    env_configured.get("/pattern/hub/v1/orders/status")
    assert time.perf_counter() - began < 0.2


def test_env_faults_are_in_force(env_configured: httpx.Client) -> None:
    assert env_configured.get(SHOP_ORDER, headers=SHOP_HEADERS).status_code == 503
    with pytest.raises(httpx.ReadTimeout):
        env_configured.post(
            "/ordermesh/user/v1/clients/token",
            json={"client_id": "demo-ordermesh", "client_secret": "demo-ordermesh-secret"},
            timeout=0.3,
        )
    assert len(env_configured.get("/_sandbox/faults").json()) == 2


def test_error_rate_from_config() -> None:
    with (
        SandboxServer(SandboxConfig(error_rate=1.0)) as server,
        httpx.Client(base_url=server.root_url) as http,
    ):
        statuses = {http.get(RX_ORDER).status_code for _ in range(10)}
        assert http.get("/_sandbox/health").status_code == 200
    assert statuses <= {500, 502, 503}
    assert len(statuses) > 1
