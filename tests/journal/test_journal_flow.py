"""The journal behind the real service and adapters: claim, look-up and write-ahead before the
request leaves, answers and confirmations after, and no secret anywhere in its files."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import httpx
from journal_testkit import LEASE, make_holder
from pydantic import SecretStr

from tui.core.domain import CancelRequest, Order, Outcome
from tui.core.journal import AttemptState, SqliteJournal, SqliteStore
from tui.core.lifecycle import Done
from tui.core.providers.ordermesh import OrderMeshSettings
from tui.core.providers.pattern import PatternSettings
from tui.core.providers.rxuniverse import RxUniverseSettings
from tui.core.providers.shoplazza import ShoplazzaSettings
from tui.core.service import StoplineService
from tui.core.settings import Settings

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
        confirm_poll_s=0.01,
        confirm_timeout_s=10,
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
    """Provider APIs with state (an order is open until its cancel arrives), which also
    snapshot the journal at the moment a cancel arrives."""

    def __init__(self, journal_path: Path) -> None:
        self.journal_path = journal_path
        self.at_send: dict[str, list[dict[str, object]]] = {}
        self.seen_credentials: set[str] = set()
        self.cancelled: set[str] = set()
        self.pattern_polls = 0

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
            self.cancelled.add(order_id)
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
        done = False
        if order_id in self.cancelled:
            # Asynchronous: the first look-up after the cancel still shows it pending.
            self.pattern_polls += 1
            done = self.pattern_polls >= 2
        status = "cancelled" if done else "pending"
        return httpx.Response(
            200,
            json={
                "market_order_id": order_id,
                "order_status": "cancelled" if done else "processing",
                "sub_orders": [
                    {"sub_order_status": status, "items": [{"sku": "A", "quantity": 1}]}
                ],
            },
        )

    def shoplazza(self, request: httpx.Request) -> httpx.Response:
        self.seen_credentials.add(request.headers["access-token"])
        parts = request.url.path.split("/")  # /openapi/2022-01/orders/<id>[/cancel]
        order_id = parts[4]
        if request.method == "POST":
            self.at_send[order_id] = committed_rows(self.journal_path, order_id)
            self.cancelled.add(order_id)  # applied, whatever the answer says
            order = {"id": order_id, "status": "cancelled", "cancel_reason": "wave"}
            if order_id == "3003-2":
                return httpx.Response(500, json={"errors": ["upstream timeout"]})
            return httpx.Response(200, headers={"request-id": "slz-req-9"}, json={"order": order})
        status = "cancelled" if order_id in self.cancelled else "opened"
        return httpx.Response(200, json={"order": {"id": order_id, "status": status}})


async def test_full_flow_writes_ahead_confirms_and_stores_no_secret(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = settings_with_secrets(data_dir)
    journal_path = settings.journal_path()
    wire = Wire(journal_path)
    transports: dict[str, httpx.AsyncBaseTransport] = {
        "pattern": httpx.MockTransport(wire.pattern),
        "shoplazza": httpx.MockTransport(wire.shoplazza),
    }

    def journal_bytes() -> bytes:
        return b"".join(p.read_bytes() for p in sorted(data_dir.iterdir()) if p.is_file())

    def check(blob: bytes) -> None:
        assert b"MO-5001" in blob and b"stock-out wave" in blob  # the grep can see content
        for secret in SECRETS:
            for encoded in (secret.encode(), secret.encode("utf-16-le")):
                assert encoded not in blob, f"secret {secret[:6]}… found in the journal"

    finals: dict[str, Done] = {}
    async with StoplineService.from_settings(
        settings, journal=SqliteJournal.open(journal_path), transports=transports
    ) as service:
        for provider, order_id in (
            ("shoplazza", "3003-1"),
            ("shoplazza", "3003-2"),  # applied, answered 500: unknown, settled by the look-up
            ("pattern", "MO-5001"),  # async: initiated, then confirmed by polling
        ):
            request = CancelRequest(provider=provider, order_id=order_id, reason="stock-out wave")
            final = await service.cancel(request, confirm=True)
            assert isinstance(final, Done), final
            finals[order_id] = final
        check(journal_bytes())  # open, with its WAL
    check(journal_bytes())  # closed by the service

    # Every cancel found its attempt already committed — claimed, looked up and written
    # ahead, holding the order — when it reached the wire.
    for order_id in ("3003-1", "3003-2", "MO-5001"):
        (row,) = wire.at_send[order_id]
        assert row["state"] == "sent"
        assert row["open"] == 1
        assert row["outcome"] is None
        assert row["sent_at"] is not None
        assert row["operator"] == "ops-dana"
        assert row["reason"] == "stock-out wave"
        before = Order.model_validate_json(row["before"])  # type: ignore[arg-type]
        assert before.order_id == order_id and not before.cancelled

    with SqliteStore(journal_path) as store:
        by_order = {a.order_id: a for a in store.attempts()}
        assert set(by_order) == {"3003-1", "3003-2", "MO-5001"}
        for order_id, attempt in by_order.items():
            outcome = finals[order_id].outcome
            assert outcome.attempt_id == attempt.id
            assert outcome.outcome is Outcome.COMPLETE and outcome.confirmed
            assert attempt.state is AttemptState.FINISHED
            assert attempt.open is False
            assert attempt.outcome is Outcome.COMPLETE
            assert attempt.confirmed is True
            assert attempt.finished_at is not None
            assert attempt.duration_ms is not None and attempt.duration_ms >= 0
        assert by_order["3003-1"].request_id == "slz-req-9"
        lost = by_order["3003-2"]
        assert lost.http_status == 500
        assert any(w.startswith("re-check: the look-up shows it applied") for w in lost.warnings)
        pattern = by_order["MO-5001"]
        assert pattern.http_status == 200 and pattern.request_id == "pat-req-1"
        assert pattern.updated_at is not None  # the confirmation came after finish
        assert pattern.updated_at >= pattern.finished_at  # type: ignore[operator]
        assert wire.pattern_polls == 2  # still pending once, then cancelled

    # The secrets were really in play on the wire.
    assert {PATTERN_SECRET, PATTERN_BEARER, SHOPLAZZA_TOKEN} <= wire.seen_credentials


def test_secret_grep_would_catch_a_leak(tmp_path: Path) -> None:
    """The check above is not vacuous: a secret that does get stored is found."""
    settings = settings_with_secrets(tmp_path / "data")
    with SqliteStore(settings.journal_path()) as store:
        leaky: Callable[[], str] = settings.shoplazza.access_token.get_secret_value  # type: ignore[union-attr]
        store.claim(
            CancelRequest(provider="shoplazza", order_id="1-1", reason=leaky()),
            make_holder(),
            lease_until=LEASE,
            take_over=lambda a: False,
        )
        blob = b"".join(p.read_bytes() for p in (tmp_path / "data").iterdir())
    assert SHOPLAZZA_TOKEN.encode() in blob
