"""The console's demo sandbox does not hold its provider strip back: the runtime only binds
its address (the URL is known, the providers' settings point at it), and the simulators are
built and served once the strip is live. A look-up sent in between waits in the listen
queue and is answered — it does not fail."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx

from tui.runtime import open_runtime
from tui.sandbox import SandboxServer


def test_a_request_sent_before_the_sandbox_serves_is_answered_once_it_does() -> None:
    server = SandboxServer()
    root = server.bind()
    try:
        assert not server.running
        answers: list[httpx.Response] = []
        asking = threading.Thread(
            target=lambda: answers.append(httpx.get(f"{root}/_sandbox/health", timeout=20))
        )
        asking.start()
        time.sleep(0.2)
        assert asking.is_alive() and answers == []  # connected, waiting for a server
        assert server.start() == root
        asking.join(20)
        assert [a.status_code for a in answers] == [200]
    finally:
        server.stop()
    assert not server.running


def test_a_bound_sandbox_that_never_served_gives_its_address_back() -> None:
    server = SandboxServer()
    root = server.bind()
    server.stop()
    try:
        httpx.get(f"{root}/_sandbox/health", timeout=2)
    except httpx.ConnectError:
        pass
    else:  # pragma: no cover - the port was left open
        raise AssertionError("the address was still taken")


def test_the_consoles_runtime_binds_the_sandbox_and_starts_it_after_ready(
    isolated_stopline_home: Path,
) -> None:
    runtime = open_runtime(demo=True, defer_sandbox=True)
    try:
        assert runtime.sandbox is not None and not runtime.sandbox.running
        root = runtime.sandbox.root_url
        pattern = runtime.settings.providers()["pattern"]
        assert pattern.base_url is not None and pattern.base_url.startswith(root)
        runtime.after_ready()
        assert runtime.sandbox.running
        assert httpx.get(f"{root}/_sandbox/health", timeout=10).status_code == 200
    finally:
        runtime.close()
