"""OrderMesh: service-client token, order look-up, whole-order and per-item (partial) cancel.

The look-up's response shape and the OrderStatus/OrderItemStatus values are **unconfirmed** by
the vendor: the sandbox models the fields a client needs and the status names listed below.

One idea, kept whole: the OrderMesh simulator (its data, quirks and routes).
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from ..config import DEMO_CREDENTIALS
from ..responses import (
    InvalidJSON,
    bearer_token,
    json_response,
    read_json,
    unauthorized_body,
    utc_now,
)
from ..showcase import ORDERMESH_MULTI_ITEM, ORDERMESH_SHIPPED
from ..showcase import SHOWCASE as SHOWCASE_ALL

if TYPE_CHECKING:
    from ..config import SandboxConfig
    from ..state import Sandbox

OPEN_ITEM_STATUSES = frozenset({"Pending", "Processing"})
NOT_FOUND = {"message": "Record Not Found"}


@dataclass
class MeshItem:
    id: str
    sku: str
    name: str
    quantity: int
    status: str
    """Pending, Processing, Shipped or Cancelled (unconfirmed names)."""
    cancelled_quantity: int = 0

    @property
    def remaining(self) -> int:
        return self.quantity - self.cancelled_quantity

    @property
    def cancellable(self) -> bool:
        return self.status in OPEN_ITEM_STATUSES and self.remaining > 0


@dataclass
class MeshOrder:
    id: str
    external_order_id: str
    safe_id: str
    items: list[MeshItem]
    created_at: datetime
    updated_at: datetime
    cancel_reason: str | None = None

    @property
    def status(self) -> str:
        """Pending, Processing, Shipped, Cancelled or PartiallyCancelled, derived from items."""
        statuses = [item.status for item in self.items]
        if all(status == "Cancelled" for status in statuses):
            return "Cancelled"
        if any(item.cancelled_quantity for item in self.items):
            return "PartiallyCancelled"
        if all(status == "Shipped" for status in statuses):
            return "Shipped"
        if any(status in ("Processing", "Shipped") for status in statuses):
            return "Processing"
        return "Pending"


def order_body(order: MeshOrder) -> dict[str, Any]:
    """The look-up body (shape unconfirmed by the vendor, see the module docstring)."""
    return {
        "id": order.id,
        "externalOrderId": order.external_order_id,
        "safeId": order.safe_id,
        "status": order.status,
        "cancelReason": order.cancel_reason,
        "createdAt": _iso_ms(order.created_at),
        "updatedAt": _iso_ms(order.updated_at),
        "orderItems": [
            {
                "id": item.id,
                "sku": item.sku,
                "name": item.name,
                "quantity": item.quantity,
                "cancelledQuantity": item.cancelled_quantity,
                "status": item.status,
            }
            for item in order.items
        ],
    }


def answers_plain_ok(order_id: str) -> bool:
    """Which of the two documented 200 answers an order gets: `text/plain` "OK" when its id ends
    in an even hex digit, JSON `{"message": ...}` otherwise. Deterministic per order."""
    try:
        return int(order_id[-1], 16) % 2 == 0
    except (ValueError, IndexError):
        return zlib.crc32(order_id.encode()) % 2 == 0


def _bad_request(message: str, errors: list[str]) -> Response:
    return json_response({"message": message, "errors": errors}, 400)


def parse_cancel_body(body: Any) -> tuple[str, list[tuple[str, int]], list[str]]:
    """Validate a cancel body's shape: (cancelReason, [(item id, quantity)], errors)."""
    if not isinstance(body, dict):
        return "", [], ["Request body must be a JSON object"]
    errors: list[str] = []
    reason = body.get("cancelReason")
    if not isinstance(reason, str) or not reason.strip():
        errors.append("cancelReason is required")
        reason = ""
    if "triggerFlow" in body and not isinstance(body["triggerFlow"], bool):
        errors.append("triggerFlow must be a boolean")
    raw_items = body.get("orderItems")
    requested: list[tuple[str, int]] = []
    if raw_items is None:
        raw_items = []
    if not isinstance(raw_items, list):
        errors.append("orderItems must be an array")
        raw_items = []
    for index, entry in enumerate(raw_items):
        if not isinstance(entry, dict):
            errors.append(f"orderItems[{index}] must be an object")
            continue
        item_id, quantity = entry.get("id"), entry.get("quantity")
        if not isinstance(item_id, str) or not item_id:
            errors.append(f"orderItems[{index}].id is required")
        elif not isinstance(quantity, int) or isinstance(quantity, bool):
            errors.append(f"orderItems[{index}].quantity must be an integer")
        else:
            requested.append((item_id, quantity))
    return reason, requested, errors


def cancel(order: MeshOrder, reason: str, requested: list[tuple[str, int]]) -> list[str]:
    """Apply a cancel if every part of it is valid; returns the errors otherwise (nothing done)."""
    if not requested:
        open_items = [item for item in order.items if item.cancellable]
        if not open_items:
            return [f"Order {order.id} cannot be cancelled: status is {order.status}"]
        plan = [(item, item.remaining) for item in open_items]
    else:
        by_id = {item.id: item for item in order.items}
        totals: dict[str, int] = {}
        errors: list[str] = []
        for item_id, quantity in requested:
            if quantity < 1:
                errors.append(f"Quantity for order item {item_id} must be at least 1")
            totals[item_id] = totals.get(item_id, 0) + quantity
        for item_id, quantity in totals.items():
            item = by_id.get(item_id)
            if item is None:
                errors.append(f"Order item {item_id} not found in order {order.id}")
            elif not item.cancellable:
                errors.append(f"Order item {item_id} is {item.status} and cannot be cancelled")
            elif quantity > item.remaining:
                errors.append(
                    f"Quantity {quantity} for order item {item_id} exceeds the remaining "
                    f"quantity {item.remaining}"
                )
        if errors:
            return errors
        plan = [(by_id[item_id], quantity) for item_id, quantity in totals.items()]
    for item, quantity in plan:
        item.cancelled_quantity += quantity
        if item.remaining == 0:
            item.status = "Cancelled"
    order.cancel_reason = reason
    order.updated_at = utc_now()
    return []


def build_routes(sandbox: Sandbox) -> list[BaseRoute]:
    """Everything under `/ordermesh`."""
    credentials = DEMO_CREDENTIALS["ordermesh"]

    def unauthorised() -> Response:
        return json_response(unauthorized_body("ordermesh", "lookup"), 401)

    def authorised(request: Request) -> bool:
        return sandbox.tokens.is_valid("ordermesh", bearer_token(request))

    async def token(request: Request) -> Response:
        try:
            body = await read_json(request)
        except InvalidJSON:
            return _bad_request("Invalid request body", ["Body must be valid JSON"])
        if not isinstance(body, dict):
            return _bad_request("Invalid request body", ["Body must be a JSON object"])
        if (
            body.get("client_id") != credentials["client_id"]
            or body.get("client_secret") != credentials["client_secret"]
        ):
            return json_response({"message": "Unauthorized"}, 401)
        ttl = sandbox.config.token_ttl_for("ordermesh")
        return json_response(
            {
                "access_token": sandbox.tokens.issue("ordermesh", ttl),
                "expires_in": max(1, round(ttl)),
                "token_type": "Bearer",
            }
        )

    async def lookup(request: Request) -> Response:
        if not authorised(request):
            return unauthorised()
        order = sandbox.data.ordermesh.get(request.path_params["order_id"])
        if order is None:
            return json_response(NOT_FOUND, 404)
        return json_response(order_body(order))

    async def cancel_order(request: Request) -> Response:
        if not authorised(request):
            return unauthorised()
        try:
            body = await read_json(request)
        except InvalidJSON:
            return _bad_request("Invalid request body", ["Body must be valid JSON"])
        reason, requested, errors = parse_cancel_body(body)
        if errors:
            return _bad_request("Validation failed", errors)
        order = sandbox.data.ordermesh.get(request.path_params["order_id"])
        if order is None:
            return json_response(NOT_FOUND, 404)
        errors = cancel(order, reason, requested)
        if errors:
            return _bad_request("Order cannot be cancelled", errors)
        # Both 200 answers are documented: `text/plain` "OK" and a JSON message.
        if answers_plain_ok(order.id):
            return PlainTextResponse("OK")
        return json_response({"message": "Order cancelled successfully"})

    async def not_found(request: Request) -> Response:
        return json_response(NOT_FOUND, 404)

    return [
        Mount(
            "/ordermesh",
            routes=[
                Route(
                    "/user/v1/clients/token",
                    sandbox.endpoint("ordermesh", "token", token),
                    methods=["POST"],
                ),
                Route(
                    "/v1/orders/{order_id}",
                    sandbox.endpoint("ordermesh", "lookup", lookup),
                    methods=["GET"],
                ),
                Route(
                    "/v1/orders/{order_id}/cancel",
                    sandbox.endpoint("ordermesh", "cancel", cancel_order),
                    methods=["POST"],
                ),
                Route("/{rest:path}", not_found),
            ],
        )
    ]


def _iso_ms(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


# --- demo data ---------------------------------------------------------------------------------

_PRODUCTS = (
    ("TEE-CLS", "Classic Tee"),
    ("HOOD-PO", "Pullover Hoodie"),
    ("MUG-11", "Ceramic Mug 11oz"),
    ("MUG-15", "Ceramic Mug 15oz"),
    ("CNV-1620", "Canvas Print 16x20"),
    ("PST-1824", "Poster 18x24"),
    ("TOTE-NAT", "Canvas Tote"),
    ("CASE-IP15", "Phone Case iPhone 15"),
    ("STK-3IN", "Die-cut Sticker 3in"),
)
_COLOURS = (("BLK", "Black"), ("WHT", "White"), ("NVY", "Navy"), ("HGR", "Heather Grey"))
_SIZES = ("S", "M", "L", "XL")
_SAFE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

# Item-status mixes that cover every order status; "cancelled:N" = N units already cancelled.
_COVERAGE: tuple[tuple[str, ...], ...] = (
    ("Pending",),
    ("Pending", "Pending", "Pending"),
    ("Processing",),
    ("Pending", "Processing"),
    ("Shipped",),
    ("Shipped", "Shipped"),
    ("Shipped", "Pending"),
    ("Cancelled",),
    ("Cancelled", "Cancelled"),
    ("Cancelled", "Pending"),
    ("partial", "Pending"),
    ("partial",),
)
_WEIGHTS = {"Pending": 40, "Processing": 20, "Shipped": 25, "Cancelled": 8, "partial": 7}
_EPOCH = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _object_id(seconds: int, rng: random.Random, counter: int) -> str:
    return f"{seconds:08x}{rng.getrandbits(40):010x}{counter & 0xFFFFFF:06x}"


def _product(rng: random.Random) -> tuple[str, str]:
    code, name = rng.choice(_PRODUCTS)
    if code.startswith(("TEE", "HOOD")):
        colour_code, colour = rng.choice(_COLOURS)
        size = rng.choice(_SIZES)
        return f"{code}-{colour_code}-{size}", f"{name} - {colour} / {size}"
    return code, name


def _item(item_id: str, status: str, rng: random.Random) -> MeshItem:
    sku, name = _product(rng)
    if status == "partial":
        quantity = rng.randint(2, 5)
        return MeshItem(item_id, sku, name, quantity, "Pending", rng.randint(1, quantity - 1))
    quantity = rng.choice((1, 1, 1, 2, 2, 3, 4, 5))
    cancelled = quantity if status == "Cancelled" else 0
    return MeshItem(item_id, sku, name, quantity, status, cancelled)


def generate(rng: random.Random, count: int = 90) -> dict[str, MeshOrder]:
    """`count` generated orders plus the showcase ones, keyed by order id."""
    base = 0x670E58FE
    showcase_time = datetime.fromtimestamp(base, UTC)
    multi = MeshOrder(
        ORDERMESH_MULTI_ITEM,
        "SHOP-58211",
        "OM-7K3QF9",
        [
            MeshItem(
                "670e58fe7741035996cf7e01", "TEE-CLS-BLK-M", "Classic Tee - Black / M", 3, "Pending"
            ),
            MeshItem("670e58fe7741035996cf7e02", "MUG-11", "Ceramic Mug 11oz", 1, "Pending"),
            MeshItem("670e58fe7741035996cf7e03", "PST-1824", "Poster 18x24", 2, "Pending"),
        ],
        showcase_time,
        showcase_time,
    )
    shipped = MeshOrder(
        ORDERMESH_SHIPPED,
        "SHOP-58212",
        "OM-7K3QFA",
        [
            MeshItem(
                "670e58fe7741035996cf7e04",
                "HOOD-PO-NVY-L",
                "Pullover Hoodie - Navy / L",
                1,
                "Shipped",
            ),
            MeshItem("670e58fe7741035996cf7e05", "STK-3IN", "Die-cut Sticker 3in", 4, "Shipped"),
        ],
        showcase_time,
        showcase_time + timedelta(days=2),
    )
    orders = {multi.id: multi, shipped.id: shipped}
    statuses, weights = list(_WEIGHTS), list(_WEIGHTS.values())
    counter = rng.getrandbits(24)
    for index in range(count):
        if index < len(_COVERAGE):
            profile = _COVERAGE[index]
        else:
            profile = tuple(rng.choices(statuses, weights, k=rng.choice((1, 1, 2, 2, 3, 4))))
        created = _EPOCH - timedelta(seconds=rng.randrange(0, 20 * 86400))
        updated = created + timedelta(seconds=rng.randrange(0, 3 * 86400))
        seconds = int(created.timestamp())  # an ObjectId starts with its creation time
        counter += 1
        order_id = _object_id(seconds, rng, counter)
        items = []
        for status in profile:
            counter += 1
            items.append(_item(_object_id(seconds, rng, counter), status, rng))
        safe_id = "OM-" + "".join(rng.choice(_SAFE_ALPHABET) for _ in range(6))
        reason = "Customer request" if any(i.cancelled_quantity for i in items) else None
        orders[order_id] = MeshOrder(
            order_id,
            f"SHOP-{rng.randrange(10000, 99999)}",
            safe_id,
            items,
            created,
            updated,
            cancel_reason=reason,
        )
    return orders


# -- the simulator's face to the sandbox (tui.sandbox.providers) ------------------------------

KEY = "ordermesh"
SHOWCASE = SHOWCASE_ALL[KEY]


def create(rng: random.Random) -> dict[str, MeshOrder]:
    return generate(rng)


def identifiers(store: dict[str, MeshOrder]) -> list[str]:
    return list(store)


def extra_ids(count: int) -> list[str]:
    """Extra open orders for load tests: they cannot clash with generated ones (those ids
    start with a 2024-2025 timestamp)."""
    return [f"ffff0000{i:016x}" for i in range(1, count + 1)]


def add_extra(store: dict[str, MeshOrder], count: int) -> None:
    created = datetime(2025, 1, 1, tzinfo=UTC)
    for i, order_id in enumerate(extra_ids(count), start=1):
        item = MeshItem(f"fffe0000{i:016x}", "BULK-1", "Bulk item", 1, "Pending")
        store[order_id] = MeshOrder(order_id, f"BULK-{i}", f"OM-B{i:06d}", [item], created, created)


def settings_env(root: str, config: SandboxConfig) -> dict[str, str]:
    credentials = DEMO_CREDENTIALS["ordermesh"]
    return {
        "STOPLINE_ORDERMESH__BASE_URL": f"{root}/ordermesh",
        "STOPLINE_ORDERMESH__CLIENT_ID": credentials["client_id"],
        "STOPLINE_ORDERMESH__CLIENT_SECRET": credentials["client_secret"],
    }
