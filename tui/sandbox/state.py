"""The live state of one sandbox: demo data, tokens, fault rules and rate-limit buckets.

All of it lives on the uvicorn event loop of the sandbox; handlers change it without awaiting in
between, so one loop needs no locks. Other threads go through the HTTP control endpoints.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from .config import SandboxConfig
from .data import DemoData
from .faults import FaultRegistry, misbehave
from .providers import generate, load
from .tokens import TokenStore

Handler = Callable[[Request], Awaitable[Response]]
MAX_CALLS_KEPT = 200_000


class LeakyBucket:
    """Shoplazza's limiter: each call adds one unit, units drain at `rate_per_s`."""

    def __init__(self, capacity: int, rate_per_s: float, clock: Callable[[], float]) -> None:
        self._capacity = capacity
        self._rate = rate_per_s
        self._clock = clock
        self._level = 0.0
        self._last = clock()

    def admit(self) -> bool:
        """Take one unit if the bucket has room; False means answer 429."""
        now = self._clock()
        self._level = max(0.0, self._level - (now - self._last) * self._rate)
        self._last = now
        if self._level + 1 > self._capacity:
            return False
        self._level += 1
        return True


@dataclass(frozen=True)
class Call:
    """One provider request as the sandbox received it."""

    provider: str
    operation: str
    method: str
    path: str
    query: str

    def describe(self) -> dict[str, str]:
        return {
            "provider": self.provider,
            "operation": self.operation,
            "method": self.method,
            "path": self.path,
            "query": self.query,
        }


class Sandbox:
    """Everything the simulated providers share."""

    def __init__(self, config: SandboxConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.clock = clock
        self.simulators = load(config.providers)
        """The modules simulating each provider (``tui.sandbox.providers``)."""
        self.data: DemoData = generate(config.seed, config.extra_orders, self.simulators)
        self.tokens = TokenStore(clock)
        self.faults = FaultRegistry(
            config.faults,
            config.latency_ms,
            config.error_rate,
            random.Random(f"{config.seed}:faults"),
        )
        self._buckets: dict[str, LeakyBucket] = {}
        self.calls: deque[Call] = deque(maxlen=MAX_CALLS_KEPT)
        """The provider requests that arrived, in order (tests count the cancels)."""

    def reset(self) -> None:
        """Restore the demo data (tokens and fault rules stay as they are)."""
        self.data = generate(self.config.seed, self.config.extra_orders, self.simulators)
        self._buckets.clear()

    def release_hangs(self) -> None:
        """End every call held by a `timeout` fault (called at shutdown, on the loop)."""
        self.faults.release.set()

    def shoplazza_admit(self, access_token: str) -> bool:
        """Whether Shoplazza's leaky bucket for `access_token` takes one more call."""
        rate = self.config.shoplazza_rate_per_s
        if rate is None:
            return True
        bucket = self._buckets.get(access_token)
        if bucket is None:
            bucket = LeakyBucket(self.config.shoplazza_bucket_size, rate, self.clock)
            self._buckets[access_token] = bucket
        return bucket.admit()

    def endpoint(self, provider: str, operation: str, handler: Handler) -> Handler:
        """Wrap a provider handler with the fault plan (and Shoplazza's `Request-Id`)."""
        stamp_request_id = provider == "shoplazza"

        async def run(request: Request) -> Response:
            self.calls.append(
                Call(provider, operation, request.method, request.url.path, request.url.query)
            )
            plan = self.faults.plan(provider, operation)
            if plan.delay_before_s:
                await asyncio.sleep(plan.delay_before_s)
            if plan.fault is not None and plan.fault.when == "before":
                response = await misbehave(
                    plan, provider, operation, request, None, self.faults.release
                )
            else:
                response = await handler(request)
                if plan.delay_after_s:
                    await asyncio.sleep(plan.delay_after_s)
                if plan.fault is not None:
                    response = await misbehave(
                        plan, provider, operation, request, response, self.faults.release
                    )
            # A proxy's HTML error page does not come from Shoplazza, so it has no Request-Id.
            if stamp_request_id and response.media_type != "text/html":
                response.headers["Request-Id"] = str(uuid.uuid4())
            return response

        return run
