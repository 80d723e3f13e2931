"""The sandbox's ASGI application: the four providers under path prefixes, plus `/_sandbox/...`.

Control endpoints (never subject to faults):

- `GET    /_sandbox/health`         → `{"status": "ok"}`
- `GET    /_sandbox/orders`         → every order identifier per provider
- `GET    /_sandbox/showcase`       → the showcase orders (`showcase.SHOWCASE`)
- `GET    /_sandbox/faults`         → fault rules in force
- `POST   /_sandbox/faults`         → add a rule (JSON `FaultRule`), 201 with its id
- `DELETE /_sandbox/faults`         → remove every rule
- `POST   /_sandbox/reset`          → restore the demo data
- `POST   /_sandbox/revoke_tokens`  → invalidate every issued bearer token
- `GET    /_sandbox/calls`          → every provider request received, in order
                                      (`?operation=cancel` for one kind)
- `DELETE /_sandbox/calls`          → forget them
"""

from __future__ import annotations

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from .config import FaultRule, SandboxConfig
from .responses import InvalidJSON, json_response, read_json
from .state import Sandbox


def build_app(config: SandboxConfig | None = None) -> tuple[Starlette, Sandbox]:
    """A fresh sandbox and the ASGI app serving it."""
    sandbox = Sandbox(config or SandboxConfig())
    routes = [
        *(route for simulator in sandbox.simulators for route in simulator.build_routes(sandbox)),
        Mount("/_sandbox", routes=control_routes(sandbox)),
    ]
    app = Starlette(routes=routes)
    app.state.sandbox = sandbox
    return app, sandbox


def control_routes(sandbox: Sandbox) -> list[Route]:
    """`/_sandbox/...`: inspect and steer a running sandbox."""

    async def health(request: Request) -> Response:
        return json_response({"status": "ok", "orders": sandbox.data.count()})

    async def orders(request: Request) -> Response:
        return json_response(sandbox.data.identifiers())

    async def showcase(request: Request) -> Response:
        return json_response(
            {
                simulator.KEY: [
                    {"id": ident, "demonstrates": what} for ident, what in simulator.SHOWCASE
                ]
                for simulator in sandbox.simulators
            }
        )

    async def list_faults(request: Request) -> Response:
        return json_response(sandbox.faults.describe())

    async def add_fault(request: Request) -> Response:
        try:
            body = await read_json(request)
            rule = FaultRule.model_validate(body)
        except InvalidJSON:
            return json_response({"error": "body must be JSON", "details": []}, 400)
        except ValidationError as exc:
            details = [
                f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
                for error in exc.errors()
            ]
            return json_response({"error": "invalid fault rule", "details": details}, 400)
        return json_response(sandbox.faults.add(rule).describe(), 201)

    async def clear_faults(request: Request) -> Response:
        return json_response({"cleared": sandbox.faults.clear()})

    async def reset(request: Request) -> Response:
        sandbox.reset()
        return json_response({"status": "reset", "orders": sandbox.data.count()})

    async def revoke_tokens(request: Request) -> Response:
        return json_response({"revoked": sandbox.tokens.revoke_all()})

    async def calls(request: Request) -> Response:
        wanted = request.query_params.get("operation")
        return json_response(
            [c.describe() for c in sandbox.calls if wanted is None or c.operation == wanted]
        )

    async def forget_calls(request: Request) -> Response:
        count = len(sandbox.calls)
        sandbox.calls.clear()
        return json_response({"forgotten": count})

    return [
        Route("/health", health, methods=["GET"]),
        Route("/calls", calls, methods=["GET"]),
        Route("/calls", forget_calls, methods=["DELETE"]),
        Route("/orders", orders, methods=["GET"]),
        Route("/showcase", showcase, methods=["GET"]),
        Route("/faults", list_faults, methods=["GET"]),
        Route("/faults", add_fault, methods=["POST"]),
        Route("/faults", clear_faults, methods=["DELETE"]),
        Route("/reset", reset, methods=["POST"]),
        Route("/revoke_tokens", revoke_tokens, methods=["POST"]),
    ]
