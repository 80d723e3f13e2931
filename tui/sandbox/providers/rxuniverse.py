"""Rx-Universe optical lab: order look-up and status by order, tray or PO number; DELETE to cancel.

Errors are always `{"error": ..., "details": [...]}`. A PO number may contain `/`, which a client
sends percent-encoded (`PO%2F2026%2F0042`); routing therefore reads the raw request path so an
encoded slash is never mistaken for a path separator.

One idea, kept whole: the Rx-Universe lab simulator (its data, quirks and routes).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from ..responses import json_response
from ..showcase import (
    RX_AT_NO_CANCEL_STATION,
    RX_AT_NO_CANCEL_STATION_PO,
    RX_AT_NO_CANCEL_STATION_TRAY,
    RX_CANCELLABLE_ORDER,
    RX_CANCELLABLE_PO,
    RX_CANCELLABLE_TRAY,
    RX_COMPLETED,
    RX_COMPLETED_TRAY,
)
from ..showcase import SHOWCASE as SHOWCASE_ALL

if TYPE_CHECKING:
    from ..config import SandboxConfig
    from ..state import Sandbox

ORDERS_PREFIX = "/api/v2/orders/"


@dataclass(frozen=True)
class Station:
    code: str
    description: str
    prevents_cancel: bool


# The lab's station list. Codes, names and which ones prevent cancellation are the sandbox's
# choice: each lab configures its own.
STATIONS: tuple[Station, ...] = (
    Station("10", "ORDER ENTRY", False),
    Station("15", "VALIDATION", False),
    Station("20", "FRAME PICK", False),
    Station("25", "LENS PICK", False),
    Station("30", "BLOCKING", False),
    Station("40", "SURFACING", True),
    Station("45", "FINING", True),
    Station("50", "AR COATING", True),
    Station("60", "EDGING", True),
    Station("70", "MOUNTING", True),
    Station("80", "FINAL INSPECTION", True),
    Station("90", "SHIPPING", True),
    Station("99", "ON HOLD", False),
)
STATION_BY_CODE = {station.code: station for station in STATIONS}
FLOW = ("10", "15", "20", "25", "30", "40", "45", "50", "60", "70", "80", "90")
HOLD = "99"

STATUS_DESC = {
    "U": "Unvalid",
    "V": "Valid",
    "P": "In process",
    "C": "Complete",
    "W": "On hold",
}
"""Status letters are documented (U unvalid, V valid, P process, C complete, W hold); the
description texts are the sandbox's."""


@dataclass
class RxOrder:
    order_number: str
    tray_number: str
    po_number: str
    customer_number: str
    order_date: date
    due_date: date
    status: str
    history: list[tuple[str, datetime]]
    """Stations visited, in order, with when the job arrived; the last one is current."""
    details: dict[str, str] = field(default_factory=dict)
    """Frame and lens fields."""
    flagged_for_deletion: bool = False
    delete_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.status != "C"

    def blocking_station(self) -> Station | None:
        """The first station visited that prevents cancellation, if any."""
        for code, _ in self.history:
            station = STATION_BY_CODE[code]
            if station.prevents_cancel:
                return station
        return None


@dataclass
class RxLab:
    """The lab's jobs with the three ways of finding one."""

    orders: dict[str, RxOrder]
    by_tray: dict[str, RxOrder]
    """Active jobs only: a tray is reused once its job completes."""
    by_po: dict[str, RxOrder]

    def find(self, identifier: str) -> RxOrder | None:
        return (
            self.orders.get(identifier)
            or self.by_tray.get(identifier)
            or self.by_po.get(identifier)
        )

    @classmethod
    def of(cls, orders: list[RxOrder]) -> RxLab:
        return cls(
            orders={order.order_number: order for order in orders},
            by_tray={order.tray_number: order for order in orders if order.active},
            by_po={order.po_number: order for order in orders if order.po_number},
        )


def _current(order: RxOrder) -> dict[str, str]:
    code, arrived = order.history[-1]
    return {
        "currentStation": code,
        "currentStationDesc": STATION_BY_CODE[code].description,
        "currentStationDateTime": arrived.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def order_body(order: RxOrder) -> dict[str, Any]:
    """The single-order look-up: a subset of the vendor's large object. Frame and lens field
    names are the sandbox's (the seed page does not list them)."""
    return {
        "orderNumber": order.order_number,
        "trayNumber": order.tray_number,
        "poNumber": order.po_number,
        "customerNumber": order.customer_number,
        "orderDate": order.order_date.isoformat(),
        "dueDate": order.due_date.isoformat(),
        **_current(order),
        "status": order.status,
        "statusDesc": STATUS_DESC[order.status],
        **order.details,
    }


def status_body(order: RxOrder) -> dict[str, Any]:
    """`/status`: where the job is now."""
    return {
        "orderNumber": order.order_number,
        "trayNumber": order.tray_number,
        "poNumber": order.po_number,
        **_current(order),
        "status": order.status,
        "statusDesc": STATUS_DESC[order.status],
    }


def _error(status: int, message: str, details: list[str] | None = None) -> Response:
    return json_response({"error": message, "details": details or []}, status)


def split_identifier(request: Request) -> tuple[str, bool] | None:
    """(identifier, is_status) from `/api/v2/orders/{identifier}[/status]`, or None.

    Uses the raw (still percent-encoded) path so that `PO%2F2026%2F0042/status` splits into
    `PO/2026/0042` and the `/status` suffix. Falls back on the decoded path without a raw one.
    """
    raw = request.scope.get("raw_path")
    if raw:
        path = raw.decode("latin-1")
        start = path.find(ORDERS_PREFIX)
        if start < 0:
            return None
        parts = path[start + len(ORDERS_PREFIX) :].split("/")
        if len(parts) == 2 and parts[1] == "status":
            identifier, is_status = parts[0], True
        elif len(parts) == 1:
            identifier, is_status = parts[0], False
        else:
            return None
        identifier = unquote(identifier, encoding="utf-8", errors="replace")
    else:
        identifier = request.path_params["identifier"]
        is_status = identifier.endswith("/status")
        if is_status:
            identifier = identifier.removesuffix("/status")
    return (identifier, is_status) if identifier else None


def build_routes(sandbox: Sandbox) -> list[BaseRoute]:
    """Everything under `/rxuniverse`."""

    def gate(request: Request) -> Response | None:
        key = sandbox.config.rx_api_key
        if key and request.headers.get("x-api-key") != key:
            return _error(401, "Unauthorized", ["Missing or invalid X-Api-Key header"])
        return None

    def resolve(request: Request) -> tuple[RxOrder | None, bool, str]:
        parsed = split_identifier(request)
        if parsed is None:
            return None, False, request.url.path.rsplit("/", 1)[-1]
        identifier, is_status = parsed
        return sandbox.data.rx.find(identifier), is_status, identifier

    async def get_order(request: Request) -> Response:
        if (refused := gate(request)) is not None:
            return refused
        order, is_status, identifier = resolve(request)
        if order is None:
            return _error(404, "No record found", [f"Provided: {identifier}"])
        if not is_status:
            return json_response(order_body(order))
        if order.flagged_for_deletion:
            # Documented quirk: a 200 whose body is shaped like an error.
            return json_response({"error": "Order marked for cancelation", "details": []})
        return json_response(status_body(order))

    async def delete_order(request: Request) -> Response:
        if (refused := gate(request)) is not None:
            return refused
        order, is_status, identifier = resolve(request)
        if order is None or is_status:
            return _error(404, "No record found", [f"Provided: {identifier}"])
        config = sandbox.config
        if not config.rx_job_tracker_installed:
            return _error(400, "Job Tracker module required for cancel method")
        if order.status == "C" or order.flagged_for_deletion:
            # The vendor uses this text for both completed and already-flagged orders.
            return _error(400, "Order already completed")
        reason = request.query_params.get("deleteReason", "").strip()
        message = ""
        if config.rx_reason_required:
            codes = {entry.code for entry in config.rx_delete_reasons}
            if not codes:
                # Documented case: the system requires a delete reason and none are configured.
                return _error(400, "The delete reasons file is empty")
            if not reason:
                # Documented case; the wording of this error is the sandbox's guess.
                return _error(400, "Delete reason required")
            if reason not in codes:
                return _error(400, "Delete reason code does not exist", [f"Provided: {reason}"])
        elif reason:
            message = "deleteReason ignored: system is not configured to use reason codes"
            reason = ""
        if (station := order.blocking_station()) is not None:
            return _error(
                400,
                "Order has been through a non-cancel station",
                [f"Station: {station.code} {station.description}"],
            )
        order.flagged_for_deletion = True
        order.delete_reason = reason or None
        return json_response(
            {
                "orderNumber": order.order_number,
                "trayNumber": order.tray_number,
                "poNumber": order.po_number,
                "message": message,
            }
        )

    async def stations(request: Request) -> Response:
        if (refused := gate(request)) is not None:
            return refused
        # Shape of a station entry is the sandbox's; `preventsCancel` drives the cancel check.
        return json_response(
            [
                {
                    "code": station.code,
                    "description": station.description,
                    "preventsCancel": station.prevents_cancel,
                }
                for station in STATIONS
            ]
        )

    async def delete_reasons(request: Request) -> Response:
        # Sandbox extension: Rx-Universe documents reason codes but no endpoint listing them.
        if (refused := gate(request)) is not None:
            return refused
        return json_response(
            [
                {"code": entry.code, "description": entry.description}
                for entry in sandbox.config.rx_delete_reasons
            ]
        )

    async def not_found(request: Request) -> Response:
        return _error(404, "Not found")

    orders_path = "/api/v2/orders/{identifier:path}"
    return [
        Mount(
            "/rxuniverse",
            routes=[
                Route(
                    "/api/v2/job_track/stations",
                    sandbox.endpoint("rxuniverse", "lookup", stations),
                    methods=["GET"],
                ),
                Route(
                    "/api/v2/delete_reasons",
                    sandbox.endpoint("rxuniverse", "lookup", delete_reasons),
                    methods=["GET"],
                ),
                Route(
                    orders_path,
                    sandbox.endpoint("rxuniverse", "lookup", get_order),
                    methods=["GET"],
                ),
                Route(
                    orders_path,
                    sandbox.endpoint("rxuniverse", "cancel", delete_order),
                    methods=["DELETE"],
                ),
                Route("/{rest:path}", not_found),
            ],
        )
    ]


# --- demo data ---------------------------------------------------------------------------------

_FRAMES = (
    ("Ray-Ban", ("RB5154", "RB2140", "RX5228")),
    ("Oakley", ("OX8046", "OX3217")),
    ("Silhouette", ("5515", "2902")),
    ("Lindberg", ("1041", "9704")),
    ("Tom Ford", ("FT5634", "FT5401")),
)
_FRAME_COLOURS = ("Black", "Tortoise", "Gunmetal", "Gold", "Crystal", "Matte Navy")
_LENS_STYLES = ("Single Vision", "Progressive", "Bifocal FT28", "Office")
_LENS_MATERIALS = ("CR-39", "Polycarbonate", "Trivex", "1.67 Hi-Index", "1.74 Hi-Index")
_COATINGS = ("AR Premium", "Blue Light AR", "Hard Coat", "Mirror Silver", "None")
_EPOCH = datetime(2026, 11, 2, 8, 0)

# (status, how far along FLOW the job got, on hold) covering every status and station.
_PROFILES: tuple[tuple[str, int, bool], ...] = (
    ("U", 1, False),
    ("V", 2, False),
    ("P", 3, False),
    ("P", 4, False),
    ("P", 5, False),
    ("P", 6, False),
    ("P", 7, False),
    ("P", 8, False),
    ("P", 9, False),
    ("P", 10, False),
    ("P", 11, False),
    ("P", 12, False),
    ("W", 3, True),
    ("W", 6, True),
    ("C", 12, False),
)
_WEIGHTS = (4, 4, 8, 6, 6, 8, 5, 6, 6, 5, 4, 3, 3, 2, 20)


def _details(rng: random.Random) -> dict[str, str]:
    maker, models = rng.choice(_FRAMES)
    return {
        "frameManufacturer": maker,
        "frameModel": rng.choice(models),
        "frameColor": rng.choice(_FRAME_COLOURS),
        "frameEyeSize": str(rng.randrange(46, 58)),
        "frameBridge": str(rng.randrange(15, 22)),
        "lensStyle": rng.choice(_LENS_STYLES),
        "lensMaterial": rng.choice(_LENS_MATERIALS),
        "lensCoating": rng.choice(_COATINGS),
    }


def _history(
    start: datetime, depth: int, hold: bool, rng: random.Random
) -> list[tuple[str, datetime]]:
    moment = start
    history = []
    for code in FLOW[:depth]:
        history.append((code, moment))
        moment += timedelta(minutes=rng.randrange(5, 240))
    if hold:
        history.append((HOLD, moment))
    return history


def _job(
    rng: random.Random,
    number: str,
    tray: str,
    po: str,
    profile: tuple[str, int, bool],
) -> RxOrder:
    status, depth, hold = profile
    ordered = _EPOCH - timedelta(minutes=rng.randrange(0, 14 * 24 * 60))
    return RxOrder(
        order_number=number,
        tray_number=tray,
        po_number=po,
        customer_number=f"C{rng.randrange(10000, 99999)}",
        order_date=ordered.date(),
        due_date=ordered.date() + timedelta(days=rng.randrange(3, 8)),
        status=status,
        history=_history(ordered + timedelta(minutes=rng.randrange(5, 60)), depth, hold, rng),
        details=_details(rng),
    )


def _showcase() -> list[RxOrder]:
    rng = random.Random("rxuniverse-showcase")
    return [
        _job(rng, RX_CANCELLABLE_ORDER, RX_CANCELLABLE_TRAY, RX_CANCELLABLE_PO, ("P", 3, False)),
        _job(
            rng,
            RX_AT_NO_CANCEL_STATION,
            RX_AT_NO_CANCEL_STATION_TRAY,
            RX_AT_NO_CANCEL_STATION_PO,
            ("P", 6, False),
        ),
        _job(rng, RX_COMPLETED, RX_COMPLETED_TRAY, "PO-7782", ("C", 12, False)),
    ]


def _po_number(rng: random.Random, taken: set[str]) -> str:
    """A PO number not in `taken`, in one of the forms labs see, or "" (a quarter have none)."""
    while True:
        style = rng.randrange(4)
        if style == 0:
            po = f"PO-{rng.randrange(1000, 9999)}"
        elif style == 1:
            po = f"PO/{rng.choice((2025, 2026))}/{rng.randrange(1, 9999):04d}"
        elif style == 2:
            po = f"{rng.choice(('VSN', 'OPTX', 'CLR', 'EYEQ'))}/{rng.randrange(100, 99999)}"
        else:
            return ""
        if po not in taken:
            return po


def generate(rng: random.Random, count: int = 90) -> RxLab:
    """`count` generated jobs plus the showcase ones."""
    jobs = _showcase()
    numbers = {job.order_number for job in jobs}
    active_trays = {job.tray_number for job in jobs}
    pos = {job.po_number for job in jobs}
    for index in range(count):
        profile = (
            _PROFILES[index] if index < len(_PROFILES) else rng.choices(_PROFILES, _WEIGHTS)[0]
        )
        number = str(rng.randrange(71_000, 72_999))
        while number in numbers:
            number = str(rng.randrange(71_000, 72_999))
        numbers.add(number)
        tray = str(rng.randrange(330_000, 339_999))
        while profile[0] != "C" and tray in active_trays:
            tray = str(rng.randrange(330_000, 339_999))
        if profile[0] != "C":
            active_trays.add(tray)
        po = _po_number(rng, pos)
        if po:
            pos.add(po)
        jobs.append(_job(rng, number, tray, po, profile))
    return RxLab.of(jobs)


# -- the simulator's face to the sandbox (tui.sandbox.providers) ------------------------------

KEY = "rxuniverse"
SHOWCASE = SHOWCASE_ALL[KEY]


def create(rng: random.Random) -> RxLab:
    return generate(rng)


def identifiers(store: RxLab) -> list[str]:
    return list(store.orders)


def settings_env(root: str, config: SandboxConfig) -> dict[str, str]:
    env = {"STOPLINE_RXUNIVERSE__BASE_URL": f"{root}/rxuniverse"}
    if config.rx_api_key:
        env["STOPLINE_RXUNIVERSE__API_KEY"] = config.rx_api_key
    # The lab's own delete reason codes, as an operator would copy them from its Setup (no
    # API lists them): Stopline then offers them as presets and checks them.
    if config.rx_delete_reasons:
        env["STOPLINE_RXUNIVERSE__REASON_CODES"] = json.dumps(
            {entry.code: entry.description for entry in config.rx_delete_reasons}
        )
    env["STOPLINE_RXUNIVERSE__REASON_REQUIRED"] = str(config.rx_reason_required).lower()
    return env
