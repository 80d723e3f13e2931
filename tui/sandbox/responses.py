"""Small HTTP helpers shared by the simulated providers: JSON bodies, error shapes, timestamps."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

JSON_MEDIA_TYPE = "application/json"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response with the exact bytes the sandbox chose (no pretty-printing)."""
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(content, status_code=status, headers=headers, media_type=JSON_MEDIA_TYPE)


def error_body(provider: str, message: str, *, operation: str = "lookup") -> dict[str, Any]:
    """An error body in `provider`'s own shape."""
    if provider == "pattern":
        if operation == "token":
            return {"error": "server_error", "error_description": message}
        return {"error": message}
    if provider == "ordermesh":
        return {"message": message}
    if provider == "shoplazza":
        return {"errors": [message]}
    return {"error": message, "details": []}


def unauthorized_body(provider: str, operation: str) -> dict[str, Any]:
    """The 401 body each provider sends for missing, wrong or expired credentials."""
    if provider == "pattern":
        if operation == "token":
            return {"error": "invalid_client", "error_description": "Client authentication failed"}
        return {"error": "Invalid or expired access token"}
    if provider == "ordermesh":
        return {"message": "Unauthorized"}
    if provider == "shoplazza":
        return {"errors": ["Invalid API key or access token"]}
    return {"error": "Unauthorized", "details": ["Missing or invalid X-Api-Key header"]}


def status_phrase(status: int) -> str:
    """`Internal Server Error` for 500, and so on."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class InvalidJSON(Exception):
    """The request body is not JSON."""


async def read_json(request: Request) -> Any:
    """The decoded JSON body, `None` for an empty body; raises `InvalidJSON` otherwise."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidJSON(str(exc)) from None


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer ...` header, if any."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def utc_now() -> datetime:
    """The current time, timezone-aware, to the second."""
    return datetime.now(UTC).replace(microsecond=0)


def iso_z(moment: datetime) -> str:
    """`2026-11-18T09:42:00Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
