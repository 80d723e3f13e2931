"""Pattern Hub: OAuth2 client-credentials token, order status look-up, asynchronous cancel.

A market order has one or more warehouse orders. Only `new` and `backordered` ones can be
cancelled; a cancel answers 200 (all initiated), 206 (some) or 409 (none), and the status look-up
shows `cancelled` only `pattern_cancel_delay_s` later.

One idea, kept whole: the Pattern Hub simulator (its data, quirks and routes).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from ..config import DEMO_CREDENTIALS
from ..responses import InvalidJSON, bearer_token, json_response, read_json, unauthorized_body
from ..showcase import (
    HOSTILE_TEXT,
    HOSTILE_TEXT_ORDER,
    PATTERN_ALL_CANCELLABLE,
    PATTERN_NONE,
    PATTERN_PARTIAL,
)
from ..showcase import SHOWCASE as SHOWCASE_ALL

if TYPE_CHECKING:
    from ..config import SandboxConfig
    from ..state import Sandbox

WAREHOUSE_STATUSES = ("new", "backordered", "batched", "picked", "packed", "departed", "complete")
CANCELLABLE = frozenset({"new", "backordered"})
SUB_ORDER_STATUS = {
    "new": "pending",
    "backordered": "backordered",
    "batched": "processing",
    "picked": "processing",
    "packed": "processing",
    "departed": "shipped",
    "complete": "shipped",
    "cancelled": "cancelled",
}
"""Warehouse status → the `sub_order_status` the look-up shows. The mapping is the sandbox's:
Pattern documents both vocabularies but not how one maps onto the other."""

NOT_FOUND = {"error": "Order not found"}


@dataclass
class PatternItem:
    sku: str
    quantity: int


@dataclass
class WarehouseOrder:
    warehouse_order_id: int
    status: str
    """Warehouse status, one of `WAREHOUSE_STATUSES` or `cancelled`."""
    items: list[PatternItem]
    cancel_effective_at: float | None = None
    """Clock time at which an initiated cancellation shows in the look-up."""
    hold_reason: str | None = None
    """Overrides the refusal reason (used by the hostile-text showcase)."""

    @property
    def cancel_initiated(self) -> bool:
        return self.status == "cancelled" or self.cancel_effective_at is not None

    def visible_status(self, now: float) -> str:
        """The warehouse status a look-up at `now` sees."""
        if self.cancel_effective_at is not None and now >= self.cancel_effective_at:
            return "cancelled"
        return self.status


@dataclass
class MarketOrder:
    market_order_id: str
    warehouse_orders: list[WarehouseOrder]
    note: str | None = None
    """Appended to the cancel message (used by the hostile-text showcase)."""


def order_status(sub_statuses: list[str]) -> str:
    """The market order's `order_status` derived from its sub-orders."""
    live = [status for status in sub_statuses if status != "cancelled"]
    if not live:
        return "cancelled"
    shipped = [status for status in live if status == "shipped"]
    if len(shipped) == len(live):
        return "complete"
    if shipped:
        return "partially shipped"
    if "processing" in live:
        return "processing"
    return "pending"


def status_body(order: MarketOrder, now: float) -> dict[str, Any]:
    """The look-up body. Sub-orders carry no warehouse_order_id (as documented); they are listed
    in warehouse-order-id order, which clients may rely on in the sandbox only."""
    sub_orders = [
        {
            "sub_order_status": SUB_ORDER_STATUS[wo.visible_status(now)],
            "items": [{"sku": item.sku, "quantity": item.quantity} for item in wo.items],
        }
        for wo in order.warehouse_orders
    ]
    return {
        "market_order_id": order.market_order_id,
        "order_status": order_status([sub["sub_order_status"] for sub in sub_orders]),
        "sub_orders": sub_orders,
    }


def cancel(order: MarketOrder, now: float, delay_s: float) -> tuple[int, dict[str, Any]]:
    """Initiate cancellation of every cancellable warehouse order; returns (status, body)."""
    cancelled: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    for wo in order.warehouse_orders:
        if wo.cancel_initiated:
            pending = wo.status != "cancelled" and now < (wo.cancel_effective_at or 0.0)
            reason = (
                "Cancellation already in progress"
                if pending
                else "Warehouse order is already cancelled"
            )
            refused.append(
                {
                    "warehouse_order_id": wo.warehouse_order_id,
                    "status": "cancelled",
                    "reason": reason,
                }
            )
        elif wo.status in CANCELLABLE:
            wo.cancel_effective_at = now + delay_s
            cancelled.append({"warehouse_order_id": wo.warehouse_order_id, "status": "cancelled"})
        else:
            reason = wo.hold_reason or (
                f"Warehouse order is {wo.status}; only new or backordered orders can be cancelled"
            )
            refused.append(
                {"warehouse_order_id": wo.warehouse_order_id, "status": wo.status, "reason": reason}
            )
    total = len(order.warehouse_orders)
    if cancelled and not refused:
        status, message = 200, f"Cancellation initiated for all {total} warehouse orders"
    elif cancelled:
        status, message = (
            206,
            f"Cancellation initiated for {len(cancelled)} of {total} warehouse orders",
        )
    else:
        status, message = 409, "No warehouse orders could be cancelled"
    if order.note:
        message = f"{message}: {order.note}"
    body = {
        "market_order_id": order.market_order_id,
        # Documented quirk: the vendor's examples show `success: true` even on 409.
        "success": True,
        "message": message,
        "cancelled_orders": cancelled,
        "non_cancellable_orders": refused,
    }
    return status, body


def build_routes(sandbox: Sandbox) -> list[BaseRoute]:
    """`/pattern/hub/...` (the API) and `/pattern-admin/...` (the token host)."""
    credentials = DEMO_CREDENTIALS["pattern"]

    def authorised(request: Request) -> bool:
        return sandbox.tokens.is_valid("pattern", bearer_token(request))

    def unauthorised() -> Response:
        return json_response(
            unauthorized_body("pattern", "lookup"),
            401,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )

    def market_order_id(request: Request) -> str | None:
        value = request.query_params.get("market_order_id", "").strip()
        return value or None

    async def token(request: Request) -> Response:
        try:
            body = await read_json(request)
        except InvalidJSON:
            body = None
        if not isinstance(body, dict):
            return _oauth_error(400, "invalid_request", "Request body must be a JSON object")
        grant = body.get("grant_type")
        if not grant:
            return _oauth_error(400, "invalid_request", "grant_type is required")
        if grant != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", f"Unsupported grant_type: {grant}")
        if (
            body.get("client_id") != credentials["client_id"]
            or body.get("client_secret") != credentials["client_secret"]
        ):
            return _oauth_error(401, "invalid_client", "Client authentication failed")
        ttl = sandbox.config.token_ttl_for("pattern")
        return json_response(
            {
                "access_token": sandbox.tokens.issue("pattern", ttl),
                "token_type": "Bearer",
                "expires_in": max(1, round(ttl)),
            }
        )

    def find(request: Request) -> MarketOrder | Response:
        """The market order the request names, or the error response to send instead.

        Unconfirmed: the vendor documents no reply for an unknown order on cancel; the
        sandbox answers it like the look-up does."""
        if not authorised(request):
            return unauthorised()
        order_id = market_order_id(request)
        if order_id is None:
            return json_response({"errors": ["market_order_id is required"]}, 422)
        order = sandbox.data.pattern.get(order_id)
        return json_response(NOT_FOUND, 404) if order is None else order

    async def lookup(request: Request) -> Response:
        order = find(request)
        if isinstance(order, Response):
            return order
        return json_response(status_body(order, sandbox.clock()))

    async def cancel_order(request: Request) -> Response:
        order = find(request)
        if isinstance(order, Response):
            return order
        status, body = cancel(order, sandbox.clock(), sandbox.config.pattern_cancel_delay_s)
        return json_response(body, status)

    async def not_found(request: Request) -> Response:
        return json_response({"error": "Not found"}, 404)

    api = Mount(
        "/pattern/hub",
        routes=[
            Route(
                "/v1/orders/status",
                sandbox.endpoint("pattern", "lookup", lookup),
                methods=["GET"],
            ),
            Route(
                "/v1/orders/cancel_order",
                sandbox.endpoint("pattern", "cancel", cancel_order),
                methods=["POST"],
            ),
            Route("/{rest:path}", not_found),
        ],
    )
    admin = Mount(
        "/pattern-admin",
        routes=[
            Route(
                "/adminczar/api/v1/oauth2/token",
                sandbox.endpoint("pattern", "token", token),
                methods=["POST"],
            ),
            Route("/{rest:path}", not_found),
        ],
    )
    return [api, admin]


def _oauth_error(status: int, error: str, description: str) -> Response:
    return json_response({"error": error, "error_description": description}, status)


# --- demo data ---------------------------------------------------------------------------------

_BRANDS = ("NTR", "HYD", "LMN", "KRV", "BLT", "ORA", "SPX")
_PRODUCTS = ("WHEY", "CRTN", "OMG3", "MAGN", "COLL", "ELEC", "VITD", "BCAA", "ZINC", "PROB")
_SIZES = ("1LB", "2LB", "5LB", "60CT", "120CT", "16OZ", "30SRV")
_FLAVOURS = ("VAN", "CHO", "UNF", "BRY", "LMN", "STR")

# A spread of warehouse-status combinations that makes every outcome appear at least once.
_COVERAGE: tuple[tuple[str, ...], ...] = (
    ("new",),
    ("backordered",),
    ("batched",),
    ("picked",),
    ("packed",),
    ("departed",),
    ("complete",),
    ("cancelled",),
    ("new", "backordered"),
    ("new", "batched"),
    ("backordered", "departed"),
    ("new", "complete", "complete"),
    ("packed", "departed"),
    ("departed", "complete"),
    ("cancelled", "new"),
    ("cancelled", "complete"),
    ("cancelled", "cancelled"),
)
_WEIGHTS = {
    "new": 30,
    "backordered": 8,
    "batched": 8,
    "picked": 8,
    "packed": 8,
    "departed": 12,
    "complete": 20,
    "cancelled": 6,
}


def _sku(rng: random.Random) -> str:
    return "-".join(
        (
            rng.choice(_BRANDS),
            rng.choice(_PRODUCTS),
            rng.choice(_SIZES),
            rng.choice(_FLAVOURS),
        )
    )


def _items(rng: random.Random) -> list[PatternItem]:
    return [
        PatternItem(_sku(rng), rng.choice((1, 1, 1, 2, 2, 3, 4, 6)))
        for _ in range(rng.choice((1, 1, 2, 2, 3)))
    ]


def _showcase(rng: random.Random) -> list[MarketOrder]:
    def wo(wo_id: int, status: str, hold_reason: str | None = None) -> WarehouseOrder:
        return WarehouseOrder(wo_id, status, _items(rng), hold_reason=hold_reason)

    hostile_items = [PatternItem(f"SKU-{HOSTILE_TEXT}", 1), PatternItem("[/]", 2)]
    return [
        MarketOrder(PATTERN_ALL_CANCELLABLE, [wo(3100001, "new"), wo(3100002, "backordered")]),
        MarketOrder(
            PATTERN_PARTIAL,
            [wo(3100011, "new"), wo(3100012, "picked"), wo(3100013, "backordered")],
        ),
        MarketOrder(PATTERN_NONE, [wo(3100021, "packed"), wo(3100022, "departed")]),
        MarketOrder(
            HOSTILE_TEXT_ORDER,
            [
                WarehouseOrder(
                    3100666, "picked", hostile_items, hold_reason=f"Held: {HOSTILE_TEXT}"
                ),
                WarehouseOrder(
                    3100667,
                    "complete",
                    [PatternItem("\x1b[2J\x1b[HCLEAR-SCREEN", 1)],
                    hold_reason=f"[link=https://example.invalid]click[/link] {HOSTILE_TEXT}",
                ),
            ],
            note=HOSTILE_TEXT,
        ),
    ]


def generate(rng: random.Random, count: int = 110) -> dict[str, MarketOrder]:
    """`count` generated market orders plus the showcase ones, keyed by market order id."""
    showcase = _showcase(random.Random("pattern-showcase"))
    orders = {order.market_order_id: order for order in showcase}
    next_wo_id = rng.randrange(4_100_000, 4_200_000)
    statuses, weights = list(_WEIGHTS), list(_WEIGHTS.values())
    for index in range(count):
        if index < len(_COVERAGE):
            profile = _COVERAGE[index]
        else:
            size = rng.choice((1, 1, 1, 2, 2, 3))
            profile = tuple(rng.choices(statuses, weights, k=size))
        while True:
            prefix = rng.choice(("111", "112", "113", "114", "114", "702"))
            order_id = f"{prefix}-{rng.randrange(10**7):07d}-{rng.randrange(10**7):07d}"
            if order_id not in orders:
                break
        warehouse_orders = []
        for status in profile:
            next_wo_id += rng.randrange(1, 40)
            warehouse_orders.append(WarehouseOrder(next_wo_id, status, _items(rng)))
        orders[order_id] = MarketOrder(order_id, warehouse_orders)
    return orders


# -- the simulator's face to the sandbox (tui.sandbox.providers) ------------------------------

KEY = "pattern"
SHOWCASE = SHOWCASE_ALL[KEY]


def create(rng: random.Random) -> dict[str, MarketOrder]:
    return generate(rng)


def identifiers(store: dict[str, MarketOrder]) -> list[str]:
    return list(store)


def extra_ids(count: int) -> list[str]:
    """Extra open orders for load tests: they cannot clash with generated ones (prefixes
    111-114 and 702)."""
    return [f"900-{i:07d}-0000000" for i in range(1, count + 1)]


def add_extra(store: dict[str, MarketOrder], count: int) -> None:
    for i, order_id in enumerate(extra_ids(count), start=1):
        store[order_id] = MarketOrder(
            order_id, [WarehouseOrder(9_000_000 + i, "new", [PatternItem("BULK-1", 1)])]
        )


def settings_env(root: str, config: SandboxConfig) -> dict[str, str]:
    credentials = DEMO_CREDENTIALS["pattern"]
    return {
        "STOPLINE_PATTERN__BASE_URL": f"{root}/pattern/hub",
        "STOPLINE_PATTERN__TOKEN_URL": f"{root}/pattern-admin/adminczar/api/v1/oauth2/token",
        "STOPLINE_PATTERN__CLIENT_ID": credentials["client_id"],
        "STOPLINE_PATTERN__CLIENT_SECRET": credentials["client_secret"],
    }
