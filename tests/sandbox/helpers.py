"""Constants and small helpers shared by the sandbox tests."""

from __future__ import annotations

import httpx

from tui.sandbox import DEMO_CREDENTIALS

PATTERN_TOKEN_PATH = "/pattern-admin/adminczar/api/v1/oauth2/token"
ORDERMESH_TOKEN_PATH = "/ordermesh/user/v1/clients/token"
SHOP_HEADERS = {"Access-Token": DEMO_CREDENTIALS["shoplazza"]["access_token"]}
PATTERN_DELAY_S = 0.3


def pattern_token(http: httpx.Client) -> str:
    body = {"grant_type": "client_credentials", **DEMO_CREDENTIALS["pattern"]}
    response = http.post(PATTERN_TOKEN_PATH, json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def ordermesh_token(http: httpx.Client) -> str:
    response = http.post(ORDERMESH_TOKEN_PATH, json=DEMO_CREDENTIALS["ordermesh"])
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])
