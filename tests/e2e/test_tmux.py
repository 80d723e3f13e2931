"""The real program in a real terminal: ``stopline --demo`` in tmux at 80x24, driven with
keystrokes only, cancels a demo order; the journal then holds the attempt as complete,
written ahead and settled.

tmux is required (``.ci/run`` installs it): without it this test fails, it never skips.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tui.sandbox import showcase

SIZE = (80, 24)
WAIT_S = 20.0
"""Upper bound for any one expected screen to appear."""
ENV_NAMES = (
    "STOPLINE_CONFIG",
    "STOPLINE_DATA_DIR",
    "STOPLINE_LOG_DIR",
    "STOPLINE_STATE_DIR",
    "STOPLINE_OPERATOR",
)


def stopline_command() -> list[str]:
    """The installed ``stopline`` script of this interpreter's environment, else ``-m tui``."""
    script = Path(sys.executable).parent / "stopline"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "tui"]


class Tmux:
    """One tmux server on its own socket, holding one session that runs ``command``."""

    def __init__(
        self, binary: str, command: list[str], env: dict[str, str], status_file: Path
    ) -> None:
        self.binary = binary
        self.status_file = status_file
        self.socket = f"stopline-e2e-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.target = "e2e"
        width, height = SIZE
        env_args = [arg for name, value in env.items() for arg in ("-e", f"{name}={value}")]
        self.run(
            "new-session", "-d", "-s", self.target, "-x", str(width), "-y", str(height),
            *env_args,
            # The exit status goes to a file (tmux's pane_dead_status is not reliable).
            "sh", "-c", '"$@"; echo $? > "$0"', str(status_file), *command,
            ";", "set-option", "-w", "-t", self.target, "remain-on-exit", "on",
        )  # fmt: skip

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [self.binary, "-L", self.socket, "-f", os.devnull, *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"tmux {args[0]} failed: {done.stderr.strip()}")
        return done.stdout

    def keys(self, *keys: str) -> None:
        """Key names as tmux knows them (``Enter``, ``Escape``, ``c``)."""
        self.run("send-keys", "-t", self.target, *keys)

    def type(self, text: str) -> None:
        """Literal text, one keystroke per character."""
        self.run("send-keys", "-t", self.target, "-l", text)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.target)

    def exit_status(self) -> int | None:
        """The program's exit status once it has exited, else None."""
        try:
            return int(self.status_file.read_text())
        except (FileNotFoundError, ValueError):
            return None

    def wait_for(self, what: str, check: Callable[[str], bool]) -> str:
        """Poll the screen until ``check`` holds; fail with the last screen after WAIT_S."""
        deadline = time.monotonic() + WAIT_S
        while True:
            text = self.screen()
            if check(text):
                return text
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {WAIT_S:.0f} s waiting for {what}; screen:\n{text}")
            time.sleep(0.1)

    def kill(self) -> None:
        subprocess.run(
            [self.binary, "-L", self.socket, "kill-server"],
            capture_output=True,
            timeout=10,
            check=False,
        )


@pytest.fixture
def tmux_binary() -> str:
    binary = shutil.which("tmux")
    if binary is None:
        pytest.fail(
            "tmux is not installed: the end-to-end test drives the real program in tmux "
            "(apt-get install tmux; .ci/run installs it)"
        )
    return binary


@pytest.fixture
def env() -> dict[str, str]:
    """The isolated Stopline home of this test (see tests/conftest.py), plus a UTF-8 locale."""
    values = {name: os.environ[name] for name in ENV_NAMES}
    values["LANG"] = "C.UTF-8"
    values["LC_ALL"] = "C.UTF-8"
    return values


@pytest.fixture
def console(tmux_binary: str, env: dict[str, str], tmp_path: Path) -> Iterator[Tmux]:
    status_file = tmp_path / "exit-status"
    session = Tmux(tmux_binary, [*stopline_command(), "--demo"], env, status_file)
    try:
        yield session
    finally:
        session.kill()


def test_cancel_a_demo_order_with_keys_only(console: Tmux, env: dict[str, str]) -> None:
    order_id = showcase.SHOPLAZZA_OPEN_ID
    console.wait_for("the first frame", lambda s: "Find" in s and "DEMO DATA" in s)
    console.wait_for("the providers", lambda s: "4 providers" in s)

    console.type(showcase.SHOPLAZZA_OPEN_NUMBER)
    console.keys("Enter")
    console.wait_for("the order", lambda s: order_id in s and "✔ found" in s)

    console.keys("c")
    console.wait_for("the cancel dialog", lambda s: f"Cancel order {order_id}" in s)
    console.type("customer called")
    console.keys("Enter")
    console.wait_for("the confirmation", lambda s: "yes, send it" in s and "Shoplazza" in s)
    console.keys("y")
    screen = console.wait_for("the complete outcome", lambda s: "COMPLETE" in s and "HTTP 200" in s)
    assert "✔ cancelled" in screen
    # The order was looked up again: it now shows cancelled and nothing left to cancel.
    console.wait_for("the order's new state", lambda s: "already cancelled" in s)

    console.keys("q")
    deadline = time.monotonic() + WAIT_S
    while (status := console.exit_status()) is None:
        assert time.monotonic() < deadline, f"q did not quit; screen:\n{console.screen()}"
        time.sleep(0.1)
    assert status == 0, f"exit status {status}; screen:\n{console.screen()}"

    history = subprocess.run(
        [*stopline_command(), "--demo", "history", "--json"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **env},
        check=False,
    )
    assert history.returncode == 0, history.stderr
    attempts = json.loads(history.stdout)
    assert len(attempts) == 1, attempts
    attempt = attempts[0]
    assert (attempt["provider"], attempt["order_id"]) == ("shoplazza", order_id)
    assert attempt["reason"] == "customer called"
    assert attempt["state"] == "finished"
    assert attempt["outcome"] == "complete"
    assert attempt["http_status"] == 200
    # Written ahead before it was sent, by this console, and no longer holding the order.
    assert attempt["sent_at"] is not None and attempt["pid"] is not None
    assert attempt["open"] is False and attempt["standing"] == "settled"
