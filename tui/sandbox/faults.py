"""Fault injection: latency, 5xx, silence, broken JSON, proxy pages, resets, 401 and 429.

Each provider endpoint asks the registry for a `FaultPlan` before it runs. Latency rules add up;
of the other rules the first that fires decides how the call misbehaves. A rule with
`when="after"` lets the endpoint run (and change state) before misbehaving.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .config import FaultRule
from .responses import (
    JSON_MEDIA_TYPE,
    error_body,
    json_response,
    status_phrase,
    unauthorized_body,
)

HANG_LIMIT_S = 3600.0
"""A `timeout` fault answers after this long at most: far beyond any client timeout."""

ERROR_STATUSES = (500, 502, 503)


class SandboxReset(Exception):
    """Raised to drop a connection mid-response on purpose. Log records about it are filtered."""


class _DropSandboxResets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, SandboxReset)


_LOG_FILTER = _DropSandboxResets()


def install_log_filter() -> None:
    """Keep uvicorn from logging a traceback for every deliberate connection reset."""
    logger = logging.getLogger("uvicorn.error")
    if _LOG_FILTER not in logger.filters:
        logger.addFilter(_LOG_FILTER)


@dataclass
class ActiveFault:
    """A rule in force, with how many more times it may fire."""

    id: int
    rule: FaultRule
    remaining: int | None

    def describe(self) -> dict[str, Any]:
        """The rule as JSON, with its id and remaining count."""
        return {"id": self.id, **self.rule.model_dump(), "remaining": self.remaining}


@dataclass(frozen=True)
class FaultPlan:
    """What the sandbox will do to one call."""

    delay_before_s: float = 0.0
    delay_after_s: float = 0.0
    fault: FaultRule | None = None
    status: int = 500


NO_FAULT = FaultPlan()


class FaultRegistry:
    """The fault rules in force for one sandbox, plus the base latency and error rate."""

    def __init__(
        self,
        rules: list[FaultRule],
        latency_ms: Mapping[str, int],
        error_rate: float,
        rng: random.Random,
    ) -> None:
        self._ids = itertools.count(1)
        self._rules: list[ActiveFault] = []
        self._latency_s = {provider: ms / 1000 for provider, ms in latency_ms.items()}
        self._error_rate = error_rate
        self._rng = rng
        self.release = asyncio.Event()
        """Set at shutdown so that calls held by a `timeout` fault end."""
        for rule in rules:
            self.add(rule)

    def add(self, rule: FaultRule) -> ActiveFault:
        """Put `rule` in force after the existing ones."""
        active = ActiveFault(id=next(self._ids), rule=rule, remaining=rule.count)
        self._rules.append(active)
        return active

    def clear(self) -> int:
        """Remove every rule added at start or since; returns how many there were."""
        count = len(self._rules)
        self._rules.clear()
        return count

    def describe(self) -> list[dict[str, Any]]:
        """The rules in force as JSON."""
        return [active.describe() for active in self._rules]

    def plan(self, provider: str, operation: str) -> FaultPlan:
        """Decide how the next `operation` call on `provider` misbehaves (counts are consumed)."""
        base_delay = self._latency_s.get(provider, 0.0)
        if not self._rules and not self._error_rate:
            return FaultPlan(delay_before_s=base_delay) if base_delay else NO_FAULT
        delay_before, delay_after = base_delay, 0.0
        chosen: FaultRule | None = None
        for active in list(self._rules):
            rule = active.rule
            if not rule.matches(provider, operation) or not self._fires(rule.rate):
                continue
            self._consume(active)
            if rule.mode == "latency":
                if rule.when == "before":
                    delay_before += rule.latency_ms / 1000
                else:
                    delay_after += rule.latency_ms / 1000
                continue
            chosen = rule
            break
        status = 500
        if chosen is None and self._error_rate and self._fires(self._error_rate):
            chosen = FaultRule(provider="*", mode="error")
        if chosen is not None and chosen.mode in ("error", "html_error"):
            default = 502 if chosen.mode == "html_error" else self._rng.choice(ERROR_STATUSES)
            status = chosen.status or default
        return FaultPlan(delay_before, delay_after, chosen, status)

    def _fires(self, rate: float) -> bool:
        return rate >= 1.0 or self._rng.random() < rate

    def _consume(self, active: ActiveFault) -> None:
        if active.remaining is None:
            return
        active.remaining -= 1
        if active.remaining <= 0:
            with contextlib.suppress(ValueError):
                self._rules.remove(active)


class ResetResponse(Response):
    """Sends the status line, headers and half of the body, then drops the connection."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        cut = max(1, len(self.body) // 2)
        await send({"type": "http.response.body", "body": self.body[:cut], "more_body": True})
        raise SandboxReset("connection reset by the sandbox (fault injection)")


PROXY_PAGE = """<!DOCTYPE html>
<html>
<head><title>{status} {phrase}</title></head>
<body>
<center><h1>{status} {phrase}</h1></center>
<hr><center>edge-proxy/1.24 (sandbox)</center>
</body>
</html>
"""


async def misbehave(
    plan: FaultPlan,
    provider: str,
    operation: str,
    request: Request,
    original: Response | None,
    release: asyncio.Event,
) -> Response:
    """The response `plan.fault` calls for; `original` is the real one when `when="after"`."""
    fault = plan.fault
    assert fault is not None
    mode = fault.mode
    if mode == "error":
        body = error_body(provider, status_phrase(plan.status), operation=operation)
        return json_response(body, plan.status)
    if mode == "unauthorized":
        return json_response(unauthorized_body(provider, operation), 401)
    if mode == "rate_limit":
        body = error_body(provider, "Too many requests", operation=operation)
        return json_response(body, 429, headers={"Retry-After": "1"})
    if mode == "html_error":
        page = PROXY_PAGE.format(status=plan.status, phrase=status_phrase(plan.status))
        return Response(page, status_code=plan.status, media_type="text/html")
    if mode == "malformed_json":
        whole = _json_bytes(original, provider)
        return Response(whole[: max(1, len(whole) // 2)], media_type=JSON_MEDIA_TYPE)
    if mode == "reset":
        status = original.status_code if original is not None else 200
        return ResetResponse(_json_bytes(original, provider), status, media_type=JSON_MEDIA_TYPE)
    if mode == "timeout":
        await hang(request, release)
        return json_response(error_body(provider, "Sandbox shutting down"), 503)
    raise AssertionError(f"unhandled fault mode {mode}")


async def hang(request: Request, release: asyncio.Event, limit_s: float = HANG_LIMIT_S) -> None:
    """Wait until the client gives up, the sandbox shuts down, or `limit_s` passes."""

    async def client_gone() -> None:
        while True:
            message = await request.receive()
            if message["type"] == "http.disconnect":
                return

    waiters = {asyncio.ensure_future(client_gone()), asyncio.ensure_future(release.wait())}
    try:
        await asyncio.wait(waiters, timeout=limit_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def _json_bytes(original: Response | None, provider: str) -> bytes:
    """The body to cut short: the real JSON answer if there is one, else a plausible stand-in."""
    if original is not None and original.media_type == JSON_MEDIA_TYPE and original.body:
        return bytes(original.body).rstrip()
    stand_in = {"provider": provider, "status": "ok", "data": {"items": [1, 2, 3]}}
    return json.dumps(stand_in).encode()
