"""One representative order per provider, in each provider's own wire format.

Used by the tests that check behaviour every adapter must share (401, 429, retries, unknown
outcomes and their reconciliation) so those run once per provider.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .fakes import FakeApi

PATTERN_TOKEN_PATH = "/oauth2/token"
ORDERMESH_TOKEN_PATH = "/user/v1/clients/token"
OM_ID = "670e58fe7741035996cf7d20"
SHOP_ID = "633130-00000004"


def token_answer(token: str, expires_in: int | None = 3600) -> tuple[int, dict[str, Any]]:
    body: dict[str, Any] = {"access_token": token, "token_type": "Bearer"}
    if expires_in is not None:
        body["expires_in"] = expires_in
    return (200, body)


def pattern_status(order_status: str, *sub_statuses: str, market_id: str = "MO-1") -> dict:
    return {
        "market_order_id": market_id,
        "order_status": order_status,
        "sub_orders": [
            {"sub_order_status": s, "items": [{"sku": f"SKU-{i}", "quantity": i}]}
            for i, s in enumerate(sub_statuses, start=1)
        ],
    }


def pattern_cancel_body(cancelled=(), refused=(), *, success=True, message="done") -> dict:
    return {
        "market_order_id": "MO-1",
        "success": success,
        "message": message,
        "cancelled_orders": [{"warehouse_order_id": w, "status": "cancelled"} for w in cancelled],
        "non_cancellable_orders": [
            {"warehouse_order_id": w, "status": st, "reason": why} for w, st, why in refused
        ],
    }


def ordermesh_order(status: str = "Pending", *items: dict) -> dict:
    return {
        "id": OM_ID,
        "status": status,
        "externalOrderId": "EXT-9",
        "safeId": "SAFE-9",
        "orderItems": list(items)
        or [{"id": "item-1", "sku": "MUG", "quantity": 2, "status": "Pending"}],
    }


def shoplazza_order(status: str = "opened", **extra: Any) -> dict:
    order = {
        "id": SHOP_ID,
        "number": "1004",
        "status": status,
        "financial_status": "paid",
        "fulfillment_status": "waiting",
        "line_items": [{"id": "li-1", "sku": "TEE", "quantity": 1, "title": "Tee"}],
    }
    order.update(extra)
    return {"order": order}


def rx_detail(number: str = "72544", tray: str = "337178", po: str = "PO-55") -> dict:
    return {
        "orderNumber": number,
        "trayNumber": tray,
        "poNumber": po,
        "currentStation": "110",
        "customerNumber": "C-1",
    }


def rx_status(code: str = "P", desc: str = "Process", station: str = "Surfacing") -> dict:
    return {
        "orderNumber": "72544",
        "trayNumber": "337178",
        "poNumber": "PO-55",
        "currentStation": "110",
        "currentStationDesc": station,
        "status": code,
        "statusDesc": desc,
    }


RX_MARKED = {"error": "Order marked for cancelation", "details": []}


@dataclass
class Case:
    key: str
    ident: str
    lookup_path: str
    found: Any
    cancelled: Any
    cancel_method: str
    cancel_path: str
    cancel_ok: Any
    token_path: str | None = None
    status_path: str | None = None
    found_status: Any = None
    cancelled_status: Any = None
    reason: str = "Customer request"
    extra: dict[str, Any] = field(default_factory=dict)

    def install_token(self, api: FakeApi, *tokens: str) -> None:
        if self.token_path:
            api.add("POST", self.token_path, *(token_answer(t) for t in tokens or ("tok-1",)))

    def install_lookups(self, api: FakeApi, *shown: str) -> None:
        """Successive look-ups show the order as ``shown`` says, in order ("found" or
        "cancelled"; the last one repeats): e.g. found before the cancel, cancelled after."""
        api.replace("GET", self.lookup_path, *((200, getattr(self, s)) for s in shown))
        if self.status_path:
            api.replace(
                "GET", self.status_path, *((200, getattr(self, f"{s}_status")) for s in shown)
            )

    def install_lookup(self, api: FakeApi, *answers: Any, cancelled: bool = False) -> None:
        """The look-up route(s); ``answers`` replace the main route's default answer."""
        main = answers or ((200, self.cancelled if cancelled else self.found),)
        api.replace("GET", self.lookup_path, *main)
        if self.status_path:
            status = self.cancelled_status if cancelled else self.found_status
            api.replace("GET", self.status_path, (200, status))


CASES: dict[str, Case] = {
    "pattern": Case(
        key="pattern",
        ident="MO-1",
        lookup_path="/hub/v1/orders/status",
        found=pattern_status("processing", "pending", "pending"),
        cancelled=pattern_status("cancelled", "cancelled", "cancelled"),
        cancel_method="POST",
        cancel_path="/hub/v1/orders/cancel_order",
        cancel_ok=(200, pattern_cancel_body(cancelled=(11, 12))),
        token_path=PATTERN_TOKEN_PATH,
    ),
    "ordermesh": Case(
        key="ordermesh",
        ident=OM_ID,
        lookup_path=f"/v1/orders/{OM_ID}",
        found=ordermesh_order("Pending"),
        cancelled=ordermesh_order(
            "Cancelled", {"id": "item-1", "quantity": 2, "status": "Cancelled"}
        ),
        cancel_method="POST",
        cancel_path=f"/v1/orders/{OM_ID}/cancel",
        cancel_ok=(200, "OK"),
        token_path=ORDERMESH_TOKEN_PATH,
    ),
    "shoplazza": Case(
        key="shoplazza",
        ident=SHOP_ID,
        lookup_path=f"/openapi/2022-01/orders/{SHOP_ID}",
        found=shoplazza_order("opened"),
        cancelled=shoplazza_order("cancelled"),
        cancel_method="POST",
        cancel_path=f"/openapi/2022-01/orders/{SHOP_ID}/cancel",
        cancel_ok=(200, shoplazza_order("cancelled")),
    ),
    "rxuniverse": Case(
        key="rxuniverse",
        ident="72544",
        lookup_path="/api/v2/orders/72544",
        found=rx_detail(),
        cancelled=rx_detail(),
        status_path="/api/v2/orders/72544/status",
        found_status=rx_status(),
        cancelled_status=RX_MARKED,
        cancel_method="DELETE",
        cancel_path="/api/v2/orders/72544",
        cancel_ok=(200, {"orderNumber": "72544", "trayNumber": "337178", "message": ""}),
    ),
}
