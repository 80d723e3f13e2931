"""Shoplazza OpenAPI: look-up by id or number, cancel, `Access-Token` auth, leaky-bucket 429.

Every response carries a `Request-Id` header (added by `Sandbox.endpoint`). The version path
segment is accepted in any `YYYY-MM` form (documented: `2022-01`).
"""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from ..config import DEMO_CREDENTIALS
from ..responses import InvalidJSON, iso_z, json_response, read_json, utc_now
from ..showcase import (
    SHOPLAZZA_FINISHED_ID,
    SHOPLAZZA_FINISHED_NUMBER,
    SHOPLAZZA_OPEN_ID,
    SHOPLAZZA_OPEN_NUMBER,
)
from ..showcase import SHOWCASE as SHOWCASE_ALL

if TYPE_CHECKING:
    from ..config import SandboxConfig
    from ..state import Sandbox

STORE_PREFIX = "633130"
VERSION = re.compile(r"^\d{4}-\d{2}$")
NOT_FOUND = {"errors": ["Unable to find resource"]}
UNAUTHORIZED = {"errors": ["Invalid API key or access token"]}
CANCELLABLE_FULFILMENT = frozenset({"initialled", "waiting"})


@dataclass
class LineItem:
    id: str
    product_id: str
    variant_id: str
    sku: str
    title: str
    quantity: int
    price: Decimal
    fulfillment_status: str


@dataclass
class ShopOrder:
    id: str
    number: str
    status: str
    """opened, placed, finished or cancelled."""
    financial_status: str
    fulfillment_status: str
    line_items: list[LineItem]
    currency: str
    shipping: Decimal
    created_at: datetime
    updated_at: datetime
    placed_at: datetime | None
    cancel_reason: str | None = None
    cancelled_at: datetime | None = None
    fulfillments: list[dict[str, Any]] = field(default_factory=list)

    @property
    def sub_total(self) -> Decimal:
        return sum((item.price * item.quantity for item in self.line_items), Decimal("0"))


def order_body(order: ShopOrder) -> dict[str, Any]:
    """`{"order": {...}}`: a subset of the documented Order fields."""
    cancelled_at = iso_z(order.cancelled_at) if order.cancelled_at else None
    return {
        "order": {
            "id": order.id,
            "number": order.number,
            "status": order.status,
            "financial_status": order.financial_status,
            "fulfillment_status": order.fulfillment_status,
            "cancel_reason": order.cancel_reason,
            "cancelled_at": cancelled_at,
            # The vendor's field table spells it `canceled_at`; other pages say `cancelled_at`.
            "canceled_at": cancelled_at,
            "currency": order.currency,
            "sub_total": f"{order.sub_total:.2f}",
            "total_shipping": f"{order.shipping:.2f}",
            "total_price": f"{order.sub_total + order.shipping:.2f}",
            "created_at": iso_z(order.created_at),
            "updated_at": iso_z(order.updated_at),
            "placed_at": iso_z(order.placed_at) if order.placed_at else None,
            "line_items": [
                {
                    "id": item.id,
                    "product_id": item.product_id,
                    "variant_id": item.variant_id,
                    "sku": item.sku,
                    "title": item.title,
                    "quantity": item.quantity,
                    "price": f"{item.price:.2f}",
                    "fulfillment_status": item.fulfillment_status,
                }
                for item in order.line_items
            ],
            # Fulfillment objects' fields are the sandbox's guess (not in the seed page).
            "fulfillments": order.fulfillments,
        }
    }


def refusal(order: ShopOrder) -> str | None:
    """The 406 error text if `order` cannot be cancelled, else None."""
    if order.status in ("cancelled", "canceled"):
        return "order has been cancelled"
    if order.status == "finished" or order.fulfillment_status not in CANCELLABLE_FULFILMENT:
        return "order status is not allowed to cancel"
    return None


def build_routes(sandbox: Sandbox) -> list[BaseRoute]:
    """Everything under `/shoplazza`."""
    valid_token = DEMO_CREDENTIALS["shoplazza"]["access_token"]

    def gate(request: Request) -> Response | None:
        """401, 429 or 404 (bad version) before the handler proper, or None to go on."""
        token = request.headers.get("access-token", "")
        if token != valid_token:
            return json_response(UNAUTHORIZED, 401)
        if not sandbox.shoplazza_admit(token):
            return json_response({"errors": ["Too many requests"]}, 429, {"Retry-After": "1"})
        if not VERSION.match(request.path_params.get("version", "")):
            return json_response(NOT_FOUND, 404)
        return None

    async def by_id(request: Request) -> Response:
        if (refused := gate(request)) is not None:
            return refused
        order = sandbox.data.shoplazza.get(request.path_params["order_id"])
        return json_response(order_body(order)) if order else json_response(NOT_FOUND, 404)

    async def by_number(request: Request) -> Response:
        if (refused := gate(request)) is not None:
            return refused
        number = request.path_params["number"].lstrip("#")
        order = sandbox.data.shoplazza_numbers.get(number)
        return json_response(order_body(order)) if order else json_response(NOT_FOUND, 404)

    async def cancel(request: Request) -> Response:
        if (refused := gate(request)) is not None:
            return refused
        try:
            body = await read_json(request)
        except InvalidJSON:
            return json_response({"errors": ["Invalid request body"]}, 400)
        if body is None:
            body = {}
        if not isinstance(body, dict):
            return json_response({"errors": ["Invalid request body"]}, 400)
        reason = body.get("reason")
        if reason is not None and not isinstance(reason, str):
            return json_response({"errors": ["reason must be a string"]}, 422)
        order = sandbox.data.shoplazza.get(request.path_params["order_id"])
        if order is None:
            return json_response(NOT_FOUND, 404)
        if (error := refusal(order)) is not None:
            return json_response({"error": error}, 406)
        now = utc_now()
        order.status = "cancelled"
        order.cancel_reason = reason or None
        order.cancelled_at = now
        order.updated_at = now
        return json_response(order_body(order))

    async def not_found(request: Request) -> Response:
        return json_response(NOT_FOUND, 404)

    return [
        Mount(
            "/shoplazza",
            routes=[
                Route(
                    "/openapi/{version}/orders/number/{number}",
                    sandbox.endpoint("shoplazza", "lookup", by_number),
                    methods=["GET"],
                ),
                Route(
                    "/openapi/{version}/orders/{order_id}",
                    sandbox.endpoint("shoplazza", "lookup", by_id),
                    methods=["GET"],
                ),
                Route(
                    "/openapi/{version}/orders/{order_id}/cancel",
                    sandbox.endpoint("shoplazza", "cancel", cancel),
                    methods=["POST"],
                ),
                Route("/{rest:path}", sandbox.endpoint("shoplazza", "lookup", not_found)),
            ],
        )
    ]


# --- demo data ---------------------------------------------------------------------------------

_PRODUCTS = (
    ("LS", "Linen Shirt", "39.90"),
    ("SS", "Silk Scarf", "24.50"),
    ("WB", "Woven Belt", "19.00"),
    ("CD", "Cotton Dress", "59.00"),
    ("KN", "Knit Cardigan", "48.00"),
    ("CP", "Canvas Sneakers", "64.90"),
    ("SB", "Straw Bag", "32.00"),
)
_COLOURS = ("NV", "BK", "WH", "OL", "RS")
_SIZES = ("XS", "S", "M", "L", "XL")

# (status, financial_status, fulfillment_status): every status, cancellable or not.
_PROFILES: tuple[tuple[str, str, str], ...] = (
    ("opened", "waiting", "initialled"),
    ("opened", "paying", "initialled"),
    ("placed", "paid", "initialled"),
    ("placed", "paid", "waiting"),
    ("placed", "authorized", "initialled"),
    ("placed", "partially_paid", "initialled"),
    ("placed", "paid", "partially_shipped"),
    ("placed", "paid", "shipped"),
    ("placed", "partially_refunded", "partially_shipped"),
    ("finished", "paid", "finished"),
    ("cancelled", "refunded", "cancelled"),
    ("cancelled", "cancelled", "initialled"),
)
_WEIGHTS = (8, 3, 20, 8, 4, 2, 6, 12, 2, 18, 6, 3)
_EPOCH = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _line_items(rng: random.Random, fulfilled: str) -> list[LineItem]:
    items = []
    for index in range(rng.choice((1, 1, 2, 2, 3))):
        code, title, price = rng.choice(_PRODUCTS)
        colour, size = rng.choice(_COLOURS), rng.choice(_SIZES)
        if fulfilled == "partially_shipped":
            status = "shipped" if index == 0 else "initialled"
        else:
            status = {"shipped": "shipped", "finished": "finished", "cancelled": "cancelled"}.get(
                fulfilled, "initialled"
            )
        items.append(
            LineItem(
                id=_uuid(rng),
                product_id=_uuid(rng),
                variant_id=_uuid(rng),
                sku=f"{code}-{rng.randrange(100, 999)}-{colour}-{size}",
                title=f"{title} - {colour} / {size}",
                quantity=rng.choice((1, 1, 1, 2, 3)),
                price=Decimal(price),
                fulfillment_status=status,
            )
        )
    return items


def _fulfillments(rng: random.Random, order: ShopOrder) -> list[dict[str, Any]]:
    shipped = [
        item for item in order.line_items if item.fulfillment_status in ("shipped", "finished")
    ]
    if not shipped:
        return []
    return [
        {
            "id": _uuid(rng),
            "status": "success",
            "tracking_company": rng.choice(("UPS", "USPS", "DHL Express", "FedEx")),
            "tracking_number": f"1Z{rng.getrandbits(52):016X}"[:18],
            "line_items": [{"id": item.id, "quantity": item.quantity} for item in shipped],
            "created_at": iso_z(order.created_at + timedelta(days=1)),
        }
    ]


def _order(rng: random.Random, seq: int, profile: tuple[str, str, str]) -> ShopOrder:
    status, financial, fulfilment = profile
    created = _EPOCH - timedelta(seconds=rng.randrange(0, 25 * 86400))
    placed = created + timedelta(minutes=rng.randrange(1, 30)) if status != "opened" else None
    order = ShopOrder(
        id=f"{STORE_PREFIX}-{seq:08d}",
        number=str(1000 + seq),
        status=status,
        financial_status=financial,
        fulfillment_status=fulfilment,
        line_items=_line_items(rng, fulfilment),
        currency=rng.choice(("USD", "USD", "USD", "EUR", "GBP")),
        shipping=Decimal(rng.choice(("0.00", "4.99", "9.99"))),
        created_at=created,
        updated_at=created + timedelta(hours=rng.randrange(0, 72)),
        placed_at=placed,
    )
    if status == "cancelled":
        order.cancel_reason = rng.choice(("customer", "inventory", "other"))
        order.cancelled_at = order.updated_at
    order.fulfillments = _fulfillments(rng, order)
    return order


def generate(rng: random.Random, count: int = 90) -> dict[str, ShopOrder]:
    """`count` generated orders plus the two showcase ones, keyed by order id."""
    orders: dict[str, ShopOrder] = {}
    seq = 0
    for index in range(count):
        seq += 1
        while seq in (4, 5):
            seq += 1
        profile = (
            _PROFILES[index] if index < len(_PROFILES) else rng.choices(_PROFILES, _WEIGHTS)[0]
        )
        order = _order(rng, seq, profile)
        orders[order.id] = order
    showcase_rng = random.Random("shoplazza-showcase")
    open_order = _order(showcase_rng, 4, ("placed", "paid", "initialled"))
    finished = _order(showcase_rng, 5, ("finished", "paid", "finished"))
    assert (open_order.id, open_order.number) == (SHOPLAZZA_OPEN_ID, SHOPLAZZA_OPEN_NUMBER)
    assert (finished.id, finished.number) == (SHOPLAZZA_FINISHED_ID, SHOPLAZZA_FINISHED_NUMBER)
    orders[open_order.id] = open_order
    orders[finished.id] = finished
    return orders


# -- the simulator's face to the sandbox (tui.sandbox.providers) ------------------------------

KEY = "shoplazza"
SHOWCASE = SHOWCASE_ALL[KEY]


@dataclass
class ShopStore:
    """The store's orders by id, and the same by order number."""

    orders: dict[str, ShopOrder]
    by_number: dict[str, ShopOrder]


def create(rng: random.Random) -> ShopStore:
    orders = generate(rng)
    return ShopStore(orders, {order.number: order for order in orders.values()})


def identifiers(store: ShopStore) -> list[str]:
    return list(store.orders)


def settings_env(root: str, config: SandboxConfig) -> dict[str, str]:
    return {
        "STOPLINE_SHOPLAZZA__BASE_URL": f"{root}/shoplazza",
        "STOPLINE_SHOPLAZZA__ACCESS_TOKEN": DEMO_CREDENTIALS["shoplazza"]["access_token"],
    }
