"""Dockyard's simulator in the demo sandbox."""

from __future__ import annotations

import random
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

KEY = "dockyard"
SHOWCASE = [("DY-1", "cancel 200: a crate still on the quay")]
API_KEY = "demo-dockyard-key"


def create(rng: random.Random) -> dict[str, dict[str, str]]:
    return {f"DY-{n}": {"id": f"DY-{n}", "status": "on quay"} for n in range(1, 6)}


def identifiers(store: dict[str, dict[str, str]]) -> list[str]:
    return list(store)


def settings_env(root: str, config: Any) -> dict[str, str]:
    return {
        "STOPLINE_DOCKYARD__BASE_URL": f"{root}/dockyard",
        "STOPLINE_DOCKYARD__API_KEY": API_KEY,
    }


def build_routes(sandbox: Any) -> list[BaseRoute]:
    def store() -> dict[str, dict[str, str]]:
        return sandbox.data[KEY]  # type: ignore[no-any-return]

    def refused(request: Request) -> Response | None:
        if request.headers.get("x-dock-key") != API_KEY:
            return JSONResponse({"error": "bad key"}, 401)
        return None

    async def lookup(request: Request) -> Response:
        order = store().get(request.path_params["order_id"])
        return refused(request) or (
            JSONResponse(order) if order else JSONResponse({"error": "no such order"}, 404)
        )

    async def cancel(request: Request) -> Response:
        if (answer := refused(request)) is not None:
            return answer
        order = store().get(request.path_params["order_id"])
        if order is None:
            return JSONResponse({"error": "no such order"}, 404)
        order["status"] = "cancelled"
        return JSONResponse(order)

    return [
        Mount(
            "/dockyard",
            routes=[
                Route(
                    "/orders/{order_id}",
                    sandbox.endpoint(KEY, "lookup", lookup),
                    methods=["GET"],
                ),
                Route(
                    "/orders/{order_id}/cancel",
                    sandbox.endpoint(KEY, "cancel", cancel),
                    methods=["POST"],
                ),
            ],
        )
    ]
