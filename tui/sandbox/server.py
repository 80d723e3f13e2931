"""Run the sandbox in-process: uvicorn on a loopback port, in a daemon thread with its own loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .config import SandboxConfig

if TYPE_CHECKING:
    from .state import Sandbox

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


class SandboxError(RuntimeError):
    """The sandbox could not start."""


class SandboxServer:
    """The simulated providers served over HTTP on `host`, port `port` (0 = any free port).

    ```python
    with SandboxServer() as server:
        os.environ.update(server.settings_env())
    ```
    """

    def __init__(
        self, config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.config = config or SandboxConfig()
        self.host = host
        self.port = port
        self.start_seconds: float | None = None
        """How long `start()` took, once it has run."""
        self._root_url: str | None = None
        self._server: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._sandbox: Sandbox | None = None
        self._failure: BaseException | None = None
        self._sock: socket.socket | None = None

    @property
    def root_url(self) -> str:
        """`http://127.0.0.1:PORT` once bound (or started)."""
        if self._root_url is None:
            raise SandboxError("the sandbox is not running; call start() first")
        return self._root_url

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def sandbox(self) -> Sandbox:
        """The live state, for inspection. Change it through the control endpoints: it belongs
        to the server's event loop thread."""
        if self._sandbox is None:
            raise SandboxError("the sandbox is not running; call start() first")
        return self._sandbox

    def bind(self) -> str:
        """Take the address and listen on it, without serving yet: the root URL is known at
        once, and connections made before :meth:`start` wait in the listen queue (a console
        can show its providers before the sandbox has even been imported).

        Raises `OSError` if the address cannot be bound."""
        if self._root_url is not None:
            return self._root_url
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only when
        # the listening socket says so, and without it every response stalls ~40 ms (Nagle
        # against delayed ACKs, since uvicorn writes headers and body separately).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(128)
        except OSError:
            sock.close()
            raise  # e.g. EADDRINUSE: callers report `strerror` as it is
        port = sock.getsockname()[1]
        host = f"[{self.host}]" if family == socket.AF_INET6 else self.host
        self._sock = sock
        self._root_url = f"http://{host}:{port}"
        return self._root_url

    def start(self) -> str:
        """Start serving (binding first, if :meth:`bind` was not called) and return the root
        URL once the port accepts connections.

        Raises `OSError` if the address cannot be bound, `SandboxError` if uvicorn fails."""
        if self.running:
            return self.root_url
        began = time.perf_counter()
        root = self.bind()
        sock = self._sock
        assert sock is not None
        import uvicorn  # imported here: kept out of import time

        from .app import build_app
        from .faults import install_log_filter

        app, sandbox = build_app(self.config)
        install_log_filter()
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            # None: leave logging to the host application (the TUI must not get stderr output).
            log_config=None,
            ws="none",
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        loop = asyncio.new_event_loop()
        self._failure = None

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(server.serve(sockets=[sock]))
            except BaseException as exc:  # reported by start()
                self._failure = exc
            finally:
                loop.close()

        port = sock.getsockname()[1]
        thread = threading.Thread(target=serve, name=f"stopline-sandbox:{port}", daemon=True)
        self._server, self._loop, self._thread, self._sandbox = server, loop, thread, sandbox
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                sock.close()
                raise SandboxError(f"the sandbox did not start: {self._failure!r}")
            time.sleep(0.002)
        self.start_seconds = time.perf_counter() - began
        return root

    def stop(self) -> None:
        """Stop serving; calls held by a `timeout` fault are released first. An address
        bound but never served is given back."""
        server, loop, thread, sandbox = self._server, self._loop, self._thread, self._sandbox
        if server is None or thread is None:
            if self._sock is not None:
                self._sock.close()
                self._sock = None
                self._root_url = None
            return
        if loop is not None and sandbox is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed in between
                loop.call_soon_threadsafe(sandbox.release_hangs)
        server.should_exit = True
        thread.join(STOP_TIMEOUT_S)
        if thread.is_alive():
            server.force_exit = True
            thread.join(STOP_TIMEOUT_S)
        self._server = self._loop = self._thread = None
        self._root_url = None
        self._sock = None

    def settings_env(self) -> dict[str, str]:
        """The `STOPLINE_*` variables that point Stopline's clients at this sandbox: each
        simulator's own (known once bound; the server need not run yet)."""
        from .providers import load

        root = self.root_url
        env: dict[str, str] = {}
        for simulator in load(self.config.providers):
            env.update(simulator.settings_env(root, self.config))
        return env

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
