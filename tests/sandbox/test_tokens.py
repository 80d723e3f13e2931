"""Issued tokens expire, can be revoked mid-session, and belong to one provider."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tui.sandbox import SandboxConfig, SandboxServer, control
from tui.sandbox.showcase import ORDERMESH_MULTI_ITEM, PATTERN_PARTIAL

from .helpers import ORDERMESH_TOKEN_PATH, ordermesh_token, pattern_token

PATTERN_STATUS = "/pattern/hub/v1/orders/status"
MESH_ORDER = f"/ordermesh/v1/orders/{ORDERMESH_MULTI_ITEM}"


def pattern_lookup(http: httpx.Client, token: str) -> httpx.Response:
    return http.get(
        PATTERN_STATUS,
        params={"market_order_id": PATTERN_PARTIAL},
        headers={"Authorization": f"Bearer {token}"},
    )


def mesh_lookup(http: httpx.Client, token: str) -> httpx.Response:
    return http.get(MESH_ORDER, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture(scope="module")
def short_lived() -> Iterator[httpx.Client]:
    with (
        SandboxServer(SandboxConfig(token_ttl_s=0.4)) as server,
        httpx.Client(base_url=server.root_url) as http,
    ):
        yield http


def test_tokens_expire_after_the_ttl(short_lived: httpx.Client) -> None:
    p_token, m_token = pattern_token(short_lived), ordermesh_token(short_lived)
    mesh_grant = short_lived.post(
        ORDERMESH_TOKEN_PATH,
        json={"client_id": "demo-ordermesh", "client_secret": "demo-ordermesh-secret"},
    )
    assert mesh_grant.json()["expires_in"] == 1  # never advertises 0 seconds
    assert pattern_lookup(short_lived, p_token).status_code == 200
    assert mesh_lookup(short_lived, m_token).status_code == 200
    time.sleep(0.5)
    expired = pattern_lookup(short_lived, p_token)
    assert expired.status_code == 401
    assert set(expired.json()) == {"error"}
    assert mesh_lookup(short_lived, m_token).status_code == 401
    # Re-authenticating works.
    assert pattern_lookup(short_lived, pattern_token(short_lived)).status_code == 200


def test_revoke_invalidates_tokens_mid_session(client: httpx.Client, root_url: str) -> None:
    p_token, m_token = pattern_token(client), ordermesh_token(client)
    assert pattern_lookup(client, p_token).status_code == 200
    assert control.revoke_tokens(root_url) >= 2
    assert pattern_lookup(client, p_token).status_code == 401
    assert mesh_lookup(client, m_token).status_code == 401
    assert mesh_lookup(client, ordermesh_token(client)).status_code == 200


def test_a_token_belongs_to_its_provider(client: httpx.Client) -> None:
    assert mesh_lookup(client, pattern_token(client)).status_code == 401
    assert pattern_lookup(client, ordermesh_token(client)).status_code == 401


def test_scheme_must_be_bearer(client: httpx.Client) -> None:
    token = pattern_token(client)
    response = client.get(
        PATTERN_STATUS,
        params={"market_order_id": PATTERN_PARTIAL},
        headers={"Authorization": f"Token {token}"},
    )
    assert response.status_code == 401
