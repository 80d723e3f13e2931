"""A hostile provider: real HTTP on loopback that answers what no document promises.

One server speaks for all four order systems (under ``/pattern``, ``/ordermesh``,
``/shoplazza``, ``/rxuniverse``; tokens too). By default it behaves: tokens are issued,
look-ups find an open order, cancels succeed. A test swaps in a misbehaviour per provider
and operation (``token``, ``lookup``, ``cancel``): an answer that trickles a byte a second, a
chunked stream that never ends, a body far past any cap, a gzip bomb, a 2xx that says it
failed, a body quoting the credentials it was sent.

Written on raw asyncio streams, so the bytes on the wire are exactly the test's: no framework
second-guesses a Content-Length or a Transfer-Encoding. One request per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
import threading
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

PROVIDERS = ("pattern", "ordermesh", "shoplazza", "rxuniverse")

SECRETS: dict[str, str] = {
    "pattern": "hostile-pattern-S3cret-71c2",
    "ordermesh": "hostile-mesh-S3cret-4d9e",
    "shoplazza": "hostile-shop-T0ken-a83b",
    "rxuniverse": "hostile-rx-K3y-5f60",
}
"""The configured credentials (client secrets, the access token, the lab's API key)."""
ISSUED: dict[str, str] = {
    "pattern": "issued-pattern-B3arer-0e1d",
    "ordermesh": "issued-mesh-B3arer-9a7c",
}
"""The bearer tokens this server issues."""
RX_KEY_HEADER = "X-Lab-Token"
"""A custom ``api_key_header``: redaction must not depend on the header's name."""
NEEDLES: tuple[str, ...] = (*SECRETS.values(), *ISSUED.values())

SHOP_ID = "633130-00000004"
OM_ID = "670e58fe7741035996cf7d20"
PATTERN_ID = "114-3941689-8772232"
RX_ID = "72544"
ORDER_OF = {"pattern": PATTERN_ID, "ordermesh": OM_ID, "shoplazza": SHOP_ID, "rxuniverse": RX_ID}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    provider: str = ""
    operation: str = ""
    order: str = ""

    def credential(self) -> str:
        """The credential this request carried, as the provider received it."""
        for name in ("authorization", "access-token", RX_KEY_HEADER.lower()):
            if name in self.headers:
                return self.headers[name]
        return ""


class Reply:
    """Writes one answer; a misbehaving one may never finish (the client gives up)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.bytes_sent = 0

    @property
    def gone(self) -> bool:
        return self.writer.is_closing() or self.reader.at_eof()

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        self.bytes_sent += len(data)
        await self.writer.drain()

    async def head(self, status: int, headers: dict[str, str]) -> None:
        lines = [f"HTTP/1.1 {status} Hostile", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        await self.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    async def whole(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        await self.head(status, {"Content-Length": str(len(body)), **(headers or {})})
        await self.write(body)


Handler = Callable[[Request, Reply], Awaitable[None]]


# -- answers ------------------------------------------------------------------------------------


def answer_json(status: int, body: Any, headers: dict[str, str] | None = None) -> Handler:
    async def handle(request: Request, reply: Reply) -> None:
        value = body(request) if callable(body) else body
        data = json.dumps(value).encode()
        await reply.whole(status, data, {"Content-Type": "application/json", **(headers or {})})

    return handle


def answer_text(status: int, text: str | Callable[[Request], str]) -> Handler:
    async def handle(request: Request, reply: Reply) -> None:
        value = text(request) if callable(text) else text
        await reply.whole(status, value.encode(), {"Content-Type": "text/plain; charset=utf-8"})

    return handle


def trickle(interval_s: float = 1.0, status: int = 200) -> Handler:
    """A JSON answer that arrives one byte per ``interval_s``, forever."""

    async def handle(request: Request, reply: Reply) -> None:
        await reply.head(
            status, {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
        )
        await reply.write(b'2\r\n{"\r\n')
        while not reply.gone:
            await asyncio.sleep(interval_s)
            await reply.write(b"1\r\na\r\n")

    return handle


def endless(status: int = 200, chunk_bytes: int = 64 * 1024) -> Handler:
    """A chunked answer with no end, sent as fast as the client takes it."""
    chunk = f"{chunk_bytes:x}\r\n".encode() + b"x" * chunk_bytes + b"\r\n"

    async def handle(request: Request, reply: Reply) -> None:
        await reply.head(
            status, {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
        )
        while not reply.gone:
            await reply.write(chunk)

    return handle


def oversized(total_bytes: int = 500 * 1024 * 1024, status: int = 200) -> Handler:
    """An answer that says (Content-Length) and then sends far more than any cap."""
    chunk = b"y" * (64 * 1024)

    async def handle(request: Request, reply: Reply) -> None:
        await reply.head(
            status, {"Content-Type": "application/json", "Content-Length": str(total_bytes)}
        )
        sent = 0
        while sent < total_bytes and not reply.gone:
            await reply.write(chunk)
            sent += len(chunk)

    return handle


def gzip_bomb(blob: bytes, status: int = 200) -> Handler:
    async def handle(request: Request, reply: Reply) -> None:
        await reply.whole(
            status, blob, {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        )

    return handle


def make_gzip_bomb(inflated_mib: int = 1024) -> bytes:
    """A valid gzip member of ``inflated_mib`` MiB of zeros, about 1 KiB per MiB on the wire:
    one fully flushed deflate block repeated (each is independent), then a true trailer."""
    block = bytes(1 << 20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(inflated_mib):
        crc = zlib.crc32(block, crc)
    tail = deflate.flush(zlib.Z_FINISH)
    size = (inflated_mib << 20) & 0xFFFFFFFF
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + piece * inflated_mib + tail + struct.pack("<II", crc, size)


# -- the four providers, behaving ------------------------------------------------------------


def open_order(provider: str, order: str) -> Any:
    return {
        "pattern": {
            "market_order_id": order,
            "order_status": "pending",
            "sub_orders": [{"sub_order_status": "pending", "items": [{"sku": "A", "quantity": 1}]}],
        },
        "ordermesh": {
            "id": order,
            "status": "Pending",
            "orderItems": [
                {
                    "id": "item-1",
                    "sku": "S",
                    "quantity": 2,
                    "cancelledQuantity": 0,
                    "status": "Pending",
                }
            ],
        },
        "shoplazza": {
            "order": {
                "id": order,
                "number": "1004",
                "status": "opened",
                "financial_status": "paid",
                "fulfillment_status": "waiting",
                "line_items": [],
            }
        },
        "rxuniverse": {
            "orderNumber": order,
            "trayNumber": "337178",
            "poNumber": "PO-1",
            "status": "P",
            "statusDesc": "In process",
            "currentStation": "20",
        },
    }[provider]


def cancelled_answer(provider: str, order: str, message: str = "") -> tuple[int, Any]:
    """Each provider's documented success."""
    return {
        "pattern": (
            200,
            {
                "market_order_id": order,
                "success": True,
                "message": message or "cancellation initiated",
                "cancelled_orders": [{"warehouse_order_id": 1, "status": "cancelled"}],
                "non_cancellable_orders": [],
            },
        ),
        "ordermesh": (200, {"message": message or "Order cancelled successfully"}),
        "shoplazza": (
            200,
            {"order": {"id": order, "status": "cancelled", "cancel_reason": message or "dup"}},
        ),
        "rxuniverse": (200, {"orderNumber": order, "trayNumber": "337178", "message": message}),
    }[provider]


def _default(provider: str, operation: str) -> Handler:
    if operation == "token":
        return answer_json(200, {"access_token": ISSUED[provider], "expires_in": 3600})
    if operation == "lookup":
        return answer_json(200, lambda request: open_order(provider, request.order))

    async def handle(request: Request, reply: Reply) -> None:
        status, body = cancelled_answer(provider, request.order)
        await answer_json(status, body)(request, reply)

    return handle


def route(method: str, path: str, query: dict[str, list[str]]) -> tuple[str, str, str]:
    """(provider, operation, order) of a request, or empty strings."""
    parts = [unquote(p) for p in path.strip("/").split("/")]
    head = parts[0] if parts else ""
    if head == "pattern-token" or path.endswith("/clients/token"):
        return ("pattern" if head == "pattern-token" else "ordermesh"), "token", ""
    if head == "pattern":
        order = (query.get("market_order_id") or [""])[0]
        if path.endswith("/cancel_order"):
            return "pattern", "cancel", order
        return "pattern", "lookup", order
    if head == "ordermesh" and len(parts) >= 4:
        return "ordermesh", ("cancel" if parts[-1] == "cancel" else "lookup"), parts[3]
    if head == "shoplazza" and len(parts) >= 5:
        if parts[-1] == "cancel":
            return "shoplazza", "cancel", parts[-2]
        return "shoplazza", "lookup", SHOP_ID if parts[-2] == "number" else parts[-1]
    if head == "rxuniverse" and len(parts) >= 5:
        return "rxuniverse", ("cancel" if method == "DELETE" else "lookup"), parts[4]
    return "", "", ""


# -- the server ----------------------------------------------------------------------------------


@dataclass
class HostileServer:
    rules: dict[tuple[str, str], Handler] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    port: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def on(self, provider: str, operation: str, handler: Handler) -> None:
        """Misbehave for ``provider`` (or ``*``) on ``operation``."""
        for key in PROVIDERS if provider == "*" else (provider,):
            self.rules[(key, operation)] = handler

    def reset(self) -> None:
        self.rules.clear()
        self.requests.clear()
        self.replies.clear()

    def seen(self, provider: str, operation: str) -> list[Request]:
        return [r for r in self.requests if (r.provider, r.operation) == (provider, operation)]

    def settings_env(self, timeout_s: float = 1.0) -> dict[str, str]:
        root = self.root_url
        env = {
            "STOPLINE_PATTERN__BASE_URL": f"{root}/pattern/hub",
            "STOPLINE_PATTERN__TOKEN_URL": f"{root}/pattern-token",
            "STOPLINE_PATTERN__CLIENT_ID": "hostile-pattern",
            "STOPLINE_PATTERN__CLIENT_SECRET": SECRETS["pattern"],
            "STOPLINE_ORDERMESH__BASE_URL": f"{root}/ordermesh",
            "STOPLINE_ORDERMESH__CLIENT_ID": "hostile-mesh",
            "STOPLINE_ORDERMESH__CLIENT_SECRET": SECRETS["ordermesh"],
            "STOPLINE_SHOPLAZZA__BASE_URL": f"{root}/shoplazza",
            "STOPLINE_SHOPLAZZA__ACCESS_TOKEN": SECRETS["shoplazza"],
            "STOPLINE_SHOPLAZZA__RATE_PER_S": "100",
            "STOPLINE_RXUNIVERSE__BASE_URL": f"{root}/rxuniverse",
            "STOPLINE_RXUNIVERSE__API_KEY": SECRETS["rxuniverse"],
            "STOPLINE_RXUNIVERSE__API_KEY_HEADER": RX_KEY_HEADER,
        }
        for provider in PROVIDERS:
            env[f"STOPLINE_{provider.upper()}__TIMEOUT_S"] = str(timeout_s)
        return env

    # -- life cycle --

    def start(self) -> str:
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            server = loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            try:
                loop.run_forever()
            finally:
                server.close()
                for task in list(self._tasks):
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*self._tasks, return_exceptions=True))
                loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=serve, name="hostile-provider", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self.root_url

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop = self._thread = None

    def __enter__(self) -> HostileServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        reply = Reply(reader, writer)
        try:
            request = await self._read(reader)
            if request is None:
                return
            self.requests.append(request)
            self.replies.append(reply)
            handler = self.rules.get((request.provider, request.operation))
            if handler is None and request.provider:
                handler = _default(request.provider, request.operation)
            if handler is None:
                await reply.whole(404, b'{"error": "no such path"}')
            else:
                await handler(request, reply)
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass  # the client hung up: the point of most misbehaviours
        finally:
            self._tasks.discard(task)  # type: ignore[arg-type]
            with contextlib.suppress(Exception):
                writer.close()

    async def _read(self, reader: asyncio.StreamReader) -> Request | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        body = await reader.readexactly(length) if length else b""
        split = urlsplit(target)
        query = parse_qs(split.query)
        provider, operation, order = route(method, split.path, query)
        return Request(method, split.path, query, headers, body, provider, operation, order)
