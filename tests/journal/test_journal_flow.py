"""The journal behind the real service and adapters: ordering, confirmation, no secrets."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import httpx
from pydantic import SecretStr

from tui.core.domain import CancelRequest, Outcome
from tui.core.journal import AttemptState, Journal
from tui.core.service import StoplineService
from tui.core.settings import (
    OrderMeshSettings,
    PatternSettings,
    RxUniverseSettings,
    Settings,
    ShoplazzaSettings,
)

PATTERN_SECRET = "pcs-7f3a9c1e5d-NEVER-STORE"
PATTERN_BEARER = "bearer-81c4aa09e7-NEVER-STORE"
SHOPLAZZA_TOKEN = "slz-4b2d8e6f10-NEVER-STORE"
ORDERMESH_SECRET = "om-0c9d3e7a55-NEVER-STORE"
RX_API_KEY = "rx-6e1f2b8c44-NEVER-STORE"
SECRETS = (PATTERN_SECRET, PATTERN_BEARER, SHOPLAZZA_TOKEN, ORDERMESH_SECRET, RX_API_KEY)


def committed_rows(path: Path, order_id: str) -> list[dict[str, object]]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        rows = conn.execute("SELECT * FROM attempts WHERE order_id = ?", (order_id,)).fetchall()
        return [dict(r) for r in rows]
    finally:
        conn.close()


def settings_with_secrets(data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        operator="ops-dana",
        pattern=PatternSettings(
            base_url="https://api.pattern.test",
            token_url="https://auth.pattern.test/oauth/token",
            client_id="stopline-client",
            client_secret=SecretStr(PATTERN_SECRET),
        ),
        shoplazza=ShoplazzaSettings(
            base_url="https://shop.shoplazza.test",
            access_token=SecretStr(SHOPLAZZA_TOKEN),
            rate_per_s=100,
        ),
        ordermesh=OrderMeshSettings(client_id="om", client_secret=SecretStr(ORDERMESH_SECRET)),
        rxuniverse=RxUniverseSettings(api_key=SecretStr(RX_API_KEY)),
    )


class Wire:
    """Scripted provider APIs that also snapshot the journal at the moment a cancel arrives."""

    def __init__(self, journal_path: Path) -> None:
        self.journal_path = journal_path
        self.at_send: dict[str, list[dict[str, object]]] = {}
        self.seen_credentials: set[str] = set()

    def pattern(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.host == "auth.pattern.test":
            body = json.loads(request.content)
            self.seen_credentials.add(body["client_secret"])
            return httpx.Response(200, json={"access_token": PATTERN_BEARER, "expires_in": 3600})
        self.seen_credentials.add(request.headers["authorization"].removeprefix("Bearer "))
        order_id = url.params["market_order_id"]
        if url.path == "/v1/orders/cancel_order":
            self.at_send[order_id] = committed_rows(self.journal_path, order_id)
            return httpx.Response(
                200,
                headers={"request-id": "pat-req-1"},
                json={
                    "success": True,
                    "message": "cancellation initiated",
                    "cancelled_orders": [{"warehouse_order_id": "WO-1", "status": "initiated"}],
                    "non_cancellable_orders": [],
                },
            )
        assert url.path == "/v1/orders/status"
        return httpx.Response(
            200,
            json={
                "market_order_id": order_id,
                "order_status": "cancelled",
                "sub_orders": [
                    {"sub_order_status": "cancelled", "items": [{"sku": "A", "quantity": 1}]}
                ],
            },
        )

    def shoplazza(self, request: httpx.Request) -> httpx.Response:
        self.seen_credentials.add(request.headers["access-token"])
        parts = request.url.path.split("/")  # /openapi/2022-01/orders/<id>[/cancel]
        order_id = parts[4]
        order = {"id": order_id, "status": "cancelled", "cancel_reason": "wave"}
        if request.method == "POST":
            self.at_send[order_id] = committed_rows(self.journal_path, order_id)
            if order_id == "3003-2":
                return httpx.Response(500, json={"errors": ["upstream timeout"]})
            return httpx.Response(200, headers={"request-id": "slz-req-9"}, json={"order": order})
        return httpx.Response(200, json={"order": order})


async def test_full_flow_writes_ahead_confirms_and_stores_no_secret(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = settings_with_secrets(data_dir)
    journal = Journal.from_settings(settings)
    wire = Wire(settings.journal_path())
    transports: dict[str, httpx.AsyncBaseTransport] = {
        "pattern": httpx.MockTransport(wire.pattern),
        "shoplazza": httpx.MockTransport(wire.shoplazza),
    }
    outcomes = {}
    async with StoplineService.from_settings(
        settings, journal=journal, transports=transports
    ) as service:
        for provider, order_id in (
            ("shoplazza", "3003-1"),
            ("shoplazza", "3003-2"),  # 500: unknown, then settled by the look-up
            ("pattern", "MO-5001"),  # async: initiated, then confirmed by polling
        ):
            request = CancelRequest(provider=provider, order_id=order_id, reason="stock-out wave")
            outcomes[order_id] = await service.cancel(request)
        initiated = outcomes["MO-5001"]
        request = CancelRequest(provider="pattern", order_id="MO-5001", reason="stock-out wave")
        async for step in service.confirm(initiated, request, poll_s=0, timeout_s=10):
            outcomes["MO-5001"] = step

    # Every cancel found its attempt already committed as ``sent`` when it reached the wire.
    for order_id in ("3003-1", "3003-2", "MO-5001"):
        (row,) = wire.at_send[order_id]
        assert row["state"] == "sent"
        assert row["outcome"] is None
        assert row["operator"] == "ops-dana"
        assert row["reason"] == "stock-out wave"

    by_order = {a.order_id: a for a in journal.attempts()}
    assert set(by_order) == {"3003-1", "3003-2", "MO-5001"}
    for order_id, attempt in by_order.items():
        assert outcomes[order_id].attempt_id == attempt.id
        assert attempt.state is AttemptState.FINISHED
        assert attempt.outcome is Outcome.COMPLETE
        assert attempt.confirmed is True
        assert attempt.finished_at is not None
        assert attempt.duration_ms is not None and attempt.duration_ms >= 0
    assert by_order["3003-1"].request_id == "slz-req-9"
    assert "confirmed by look-up after no answer" in by_order["3003-2"].warnings
    pattern = by_order["MO-5001"]
    assert pattern.http_status == 200 and pattern.request_id == "pat-req-1"
    assert pattern.updated_at is not None  # the confirmation came after finish
    assert pattern.updated_at >= pattern.finished_at  # type: ignore[operator]

    # The secrets were really in play on the wire…
    assert {PATTERN_SECRET, PATTERN_BEARER, SHOPLAZZA_TOKEN} <= wire.seen_credentials

    # …and none of them is anywhere in the journal's files, open (WAL) or closed.
    def journal_bytes() -> bytes:
        return b"".join(p.read_bytes() for p in sorted(data_dir.iterdir()) if p.is_file())

    def check(blob: bytes) -> None:
        assert b"MO-5001" in blob and b"stock-out wave" in blob  # the grep can see content
        for secret in SECRETS:
            for encoded in (secret.encode(), secret.encode("utf-16-le")):
                assert encoded not in blob, f"secret {secret[:6]}… found in the journal"

    check(journal_bytes())
    journal.close()
    check(journal_bytes())


def test_secret_grep_would_catch_a_leak(tmp_path: Path) -> None:
    """The check above is not vacuous: a secret that does get stored is found."""
    settings = settings_with_secrets(tmp_path / "data")
    with Journal.from_settings(settings) as journal:
        leaky: Callable[[], str] = settings.shoplazza.access_token.get_secret_value  # type: ignore[union-attr]
        journal.begin(CancelRequest(provider="shoplazza", order_id="1-1", reason=leaky()))
        blob = b"".join(p.read_bytes() for p in (tmp_path / "data").iterdir())
    assert SHOPLAZZA_TOKEN.encode() in blob
