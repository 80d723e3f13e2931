"""Test doubles shared by the core tests: a scripted fake API, fake time, settings factory."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tui.core.journal import SqliteJournal
from tui.core.settings import Settings
from tui.core.vocabulary import BUILTIN_PROVIDERS

Answer = Callable[[httpx.Request], Any]


class FakeClock:
    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeSleep:
    """Records every delay asked for; advances the fake clock instead of waiting."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(float(seconds))
        self.clock.advance(float(seconds))


def _as_answer(spec: Any) -> Answer:
    """Turn a terse spec into ``request -> Response``.

    * ``int`` → empty response with that status;
    * ``(status, body[, headers])`` → dict/list body as JSON, ``str`` as text/plain,
      ``bytes`` as raw content;
    * an exception class → raised as if the transport failed (``cls(msg, request=…)``);
    * a callable → called with the request (may be async).
    """
    if isinstance(spec, int):
        return lambda request: httpx.Response(spec)
    if isinstance(spec, tuple):
        status, body, *rest = spec
        headers = rest[0] if rest else {}

        def respond(request: httpx.Request) -> httpx.Response:
            if isinstance(body, dict | list):
                return httpx.Response(status, json=body, headers=headers)
            if isinstance(body, str):
                hdrs = {"content-type": "text/plain; charset=utf-8", **headers}
                return httpx.Response(status, text=body, headers=hdrs)
            if isinstance(body, bytes):
                return httpx.Response(status, content=body, headers=headers)
            return httpx.Response(status, headers=headers)

        return respond
    if isinstance(spec, type) and issubclass(spec, Exception):

        def fail(request: httpx.Request) -> httpx.Response:
            raise spec("simulated transport failure", request=request)

        return fail
    if callable(spec):
        return spec
    raise TypeError(f"cannot answer with {spec!r}")


class FakeApi:
    """A scripted provider: answers per (method, raw path), last answer repeats."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Answer]] = {}
        self.requests: list[httpx.Request] = []

    def add(self, method: str, path: str, *answers: Any) -> FakeApi:
        queue = self.routes.setdefault((method.upper(), path), [])
        queue.extend(_as_answer(a) for a in answers)
        return self

    def replace(self, method: str, path: str, *answers: Any) -> FakeApi:
        self.routes.pop((method.upper(), path), None)
        return self.add(method, path, *answers)

    async def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.raw_path.split(b"?", 1)[0].decode("ascii")
        queue = self.routes.get((request.method, path))
        if not queue:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        response = answer(request)
        if inspect.isawaitable(response):
            response = await response
        return response

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        return [
            r
            for r in self.requests
            if r.method == method.upper()
            and r.url.raw_path.split(b"?", 1)[0].decode("ascii") == path
        ]

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)


class RecordingJournal:
    """A real SQLite journal that also records every write, with how many requests had
    reached the fake API at that moment (so a test sees what was written before sending)."""

    WRITES = ("claim", "withdraw", "mark_sent", "finish", "settle")

    def __init__(self, path: Path, api: FakeApi) -> None:
        self.inner = SqliteJournal.open(path)
        self.api = api
        self.events: list[tuple[str, tuple[Any, ...], dict[str, Any], int]] = []
        """(method, args, kwargs, requests the API had received before the call)."""

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name not in self.WRITES:
            return attr

        async def record(*args: Any, **kwargs: Any) -> Any:
            self.events.append((name, args, kwargs, len(self.api.requests)))
            return await attr(*args, **kwargs)

        return record

    @property
    def where(self) -> str:
        return self.inner.where

    @property
    def writes(self) -> list[str]:
        return [name for name, *_ in self.events]


PROVIDER_DEFAULTS: dict[str, Any] = {
    "pattern": {
        "base_url": "https://api.pattern.test/hub",
        "token_url": "https://auth.pattern.test/oauth2/token",
        "client_id": "pattern-client",
        "client_secret": "pattern-secret-value",
    },
    "ordermesh": {
        "base_url": "https://api.ordermesh.test",
        "client_id": "om-client",
        "client_secret": "om-secret-value",
    },
    "shoplazza": {
        "base_url": "https://demo.myshoplaza.test",
        "access_token": "shop-token-value",
        # High enough that the client-side leaky bucket never makes a test wait.
        "rate_per_s": 100,
    },
    "rxuniverse": {"base_url": "http://labserver:4567"},
}


def make_settings(**overrides: Any) -> Settings:
    """Settings with all four providers enabled; dict overrides merge into a section."""
    values: dict[str, Any] = {key: dict(section) for key, section in PROVIDER_DEFAULTS.items()}
    values["operator"] = "tester"
    for key, value in overrides.items():
        if key in BUILTIN_PROVIDERS and isinstance(value, dict):
            values[key] = {**values[key], **value}
        else:
            values[key] = value
    return Settings(**values)
