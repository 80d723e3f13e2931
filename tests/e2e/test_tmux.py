"""The real program in a real terminal: ``stopline --demo`` in tmux at 80x24, driven with
keystrokes only, cancels a demo order; the journal then holds the attempt as complete,
written ahead and settled.

tmux is required (``.ci/run`` installs it): without it this test fails, it never skips.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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
    """One tmux server on its own socket, holding one session that runs ``command``.
    ``pressed`` counts the keystrokes sent (a typed character is one)."""

    def __init__(
        self, binary: str, command: list[str], env: dict[str, str], status_file: Path
    ) -> None:
        self.binary = binary
        self.status_file = status_file
        self.pressed = 0
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
        self.pressed += len(keys)

    def type(self, text: str) -> None:
        """Literal text, one keystroke per character."""
        self.run("send-keys", "-t", self.target, "-l", text)
        self.pressed += len(text)

    def screen_with_escapes(self) -> str:
        """The screen with its SGR escapes, as tmux holds them."""
        return self.run("capture-pane", "-p", "-e", "-t", self.target)

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
    console.type("customer called")  # a letter on the preset list starts free text
    console.keys("Enter")
    console.wait_for("the confirmation", lambda s: "yes, send it" in s and "Shoplazza" in s)
    console.keys("y")
    screen = console.wait_for("the complete outcome", lambda s: "COMPLETE" in s and "HTTP 200" in s)
    assert "✔ cancelled" in screen
    # The order was looked up again: it now shows cancelled and nothing left to cancel.
    console.wait_for("the order's new state", lambda s: "0 of 2" in s and "cancelled" in s)

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


# -- the common task, counted -----------------------------------------------------------------


@pytest.fixture
def sandbox() -> Iterator[Any]:
    """A sandbox of its own the console is pointed at (configured, not demo), so the test can
    ask it what it received and what state the orders are in."""
    from tui.sandbox import SandboxConfig, SandboxServer

    with SandboxServer(SandboxConfig(shoplazza_rate_per_s=None)) as server:
        yield server


def _lookup_json(identifier: str, env: dict[str, str]) -> list[dict[str, Any]]:
    done = subprocess.run(
        [*stopline_command(), "lookup", identifier, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _reason_is(reason: str) -> Callable[[str], bool]:
    """The dialog's reason field (a row of its own) holds ``reason``."""
    return lambda s: any(line.strip(" █▌▐").strip() == reason for line in s.splitlines())


def test_look_up_and_cancel_with_preset_three_counts_x_plus_four_keys(
    tmux_binary: str, env: dict[str, str], sandbox: Any, tmp_path: Path
) -> None:
    """"Look up X and cancel it with preset 3": X, enter, c, 3, y — X + 4 keys on the first
    order; every later order costs one more, the / that goes back to the search."""
    from tui.sandbox import control

    env = {**env, **sandbox.settings_env()}
    session = Tmux(tmux_binary, stopline_command(), env, tmp_path / "exit-status")
    try:
        session.wait_for("the providers", lambda s: "4 providers" in s and "Find" in s)
        assert "DEMO" not in session.screen()

        first = showcase.SHOPLAZZA_OPEN_NUMBER
        session.pressed = 0
        session.type(first)
        session.keys("Enter")
        session.wait_for("the order", lambda s: showcase.SHOPLAZZA_OPEN_ID in s and "2 of 2" in s)
        session.keys("c")
        session.wait_for("the presets", lambda s: "3 Fraud" in s)
        session.keys("3")
        session.wait_for("preset 3 in the reason field", _reason_is("Fraud"))
        session.keys("y")
        session.wait_for("the outcome", lambda s: "COMPLETE" in s and "HTTP 200" in s)
        assert session.pressed == len(first) + 4

        second = showcase.ORDERMESH_MULTI_ITEM
        session.pressed = 0
        session.keys("/")
        session.wait_for("the search field", lambda s: "esc Leave field" in s)
        session.type(second)
        session.keys("Enter")
        session.wait_for("the second order", lambda s: "3 of 3" in s)
        session.keys("c")
        session.wait_for("the presets", lambda s: "3 Fraud" in s)
        session.keys("3", "y")
        session.wait_for(
            "the second outcome", lambda s: "COMPLETE" in s and "OrderMesh 670e58fe" in s
        )
        assert session.pressed == len(second) + 5
    finally:
        session.kill()

    # What the sandbox received: one cancel each, and the orders are cancelled there.
    received = control.calls(sandbox.root_url, "cancel")
    assert len(received) == 2
    provider_env = sandbox.settings_env()
    (shop,) = [r for r in _lookup_json(first, provider_env) if r["orders"]]
    assert shop["orders"][0]["cancelled"] is True
    (mesh,) = [r for r in _lookup_json(second, provider_env) if r["orders"]]
    assert all(line["quantity"] == 0 for line in mesh["orders"][0]["lines"])
    # And the journal holds both, with the third preset as their reason.
    history = subprocess.run(
        [*stopline_command(), "history", "--json"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **env},
        check=False,
    )
    assert history.returncode == 0, history.stderr
    attempts = json.loads(history.stdout)
    assert {(a["order_id"], a["reason"], a["outcome"]) for a in attempts} == {
        (showcase.SHOPLAZZA_OPEN_ID, "Fraud", "complete"),
        (showcase.ORDERMESH_MULTI_ITEM, "Fraud", "complete"),
    }


SGR = re.compile(r"\x1b\[([0-9;]*)m")


def _colour_codes(screen: str) -> set[str]:
    """The SGR parameters in ``screen`` that set a colour (default colours excepted)."""
    found: set[str] = set()
    for params in SGR.findall(screen):
        parts = params.split(";")
        index = 0
        while index < len(parts):
            code = parts[index]
            if code in ("38", "48"):
                found.add(";".join(parts[index : index + (3 if parts[index + 1] == "5" else 5)]))
                index += 3 if parts[index + 1] == "5" else 5
                continue
            if code.isdigit() and (30 <= int(code) <= 37 or 40 <= int(code) <= 47
                                   or 90 <= int(code) <= 97 or 100 <= int(code) <= 107):
                found.add(code)
            index += 1
    return found


def test_no_color_means_no_colour_on_the_terminal(
    tmux_binary: str, env: dict[str, str], tmp_path: Path
) -> None:
    session = Tmux(
        tmux_binary, [*stopline_command(), "--demo"], {**env, "NO_COLOR": "1"},
        tmp_path / "exit-status",
    )  # fmt: skip
    try:
        session.wait_for("the providers", lambda s: "4 providers" in s)
        session.type(showcase.PATTERN_PARTIAL)
        session.keys("Enter")
        session.wait_for("the order", lambda s: "2 of 3" in s)
        screen = session.screen_with_escapes()
        assert "\x1b[" in screen  # it is styled: bold, reverse…
        assert _colour_codes(screen) == set(), _colour_codes(screen)
    finally:
        session.kill()
