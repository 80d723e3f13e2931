"""Time from process start to the first usable frame and to **ready** (the provider strip
live: a look-up can be sent), in tmux: ``stopline --demo`` and ``stopline`` with four
configured providers, next to a minimal Textual app (Header, Input, Footer) on the same
machine, in the same run.

    .venv/bin/python bench/startup.py [--runs 10] [--size 80x24]

Each run starts the program in a fresh tmux session (one tmux server serves the whole bench,
so its own start-up is not counted) and reads the screen with ``capture-pane`` every few
milliseconds until the search field's text shows (the first frame), then until the top bar
counts the providers (ready: settings, journal and the providers' clients are open). Every
program is timed the same way, so tmux's own latency is in every figure. The configured
providers are four https URLs on a port nobody listens on: ready needs no answer, but it
does need their TLS trust.

Why not a marker written by the app (as Posting logs its start time in ``on_ready``)? Textual
renders the first frames inside its start-up batch and writes them to the terminal only when
the batch ends, so ``on_ready`` and ``call_after_refresh`` callbacks run 10-30 ms before the
frame reaches the terminal, by an amount that differs from app to app: fine for a log line,
not for a ratio.

The *stack floor* is a third program: the minimal app that, after its first frame, does the
least any console on Stopline's stack must before a look-up can be sent — import
pydantic-settings and httpx, read four providers' settings from the environment, build their
clients. Stopline's ready time is printed against it too: what is above the floor is
Stopline's own.

Runs alternate between the programs after one unmeasured warm-up of each (byte-code caches,
disk); every program is stopped and gone before the next starts. Prints each median as a
ratio to the minimal app's first frame (the aim: ready at most 1.3x).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

MINIMAL_APP = '''\
"""A minimal Textual app: the floor that Stopline's start-up is measured against."""

from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Input


class Minimal(App[None]):
    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="minimal search field")
        yield Footer()


if __name__ == "__main__":
    Minimal().run()
'''

STACK_FLOOR_APP = '''\
"""The least a console on Stopline's stack does before a look-up can be sent: the minimal
app, then (in a thread after its first frame, as Stopline does) pydantic-settings reading four
providers' settings from the environment and one httpx client each with TLS trust."""

import sys

sys.modules.setdefault("httpx._main", None)  # as Stopline's entry point does

from textual import work
from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Input


class Floor(App[None]):
    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="floor search field")
        yield Footer()

    def on_mount(self) -> None:
        self.call_after_refresh(self.open)

    @work(thread=True)
    def open(self) -> None:
        import ssl

        import httpx
        from pydantic import BaseModel, SecretStr
        from pydantic_settings import BaseSettings, SettingsConfigDict

        class Provider(BaseModel):
            base_url: str | None = None
            token_url: str | None = None
            client_id: str | None = None
            client_secret: SecretStr | None = None
            access_token: SecretStr | None = None

        class Settings(BaseSettings):
            model_config = SettingsConfigDict(env_prefix="STOPLINE_", env_nested_delimiter="__")
            pattern: Provider = Provider()
            ordermesh: Provider = Provider()
            shoplazza: Provider = Provider()
            rxuniverse: Provider = Provider()

        settings = Settings()
        context = ssl.create_default_context()
        clients = [
            httpx.AsyncClient(base_url=section.base_url or "", verify=context)
            for section in (settings.pattern, settings.ordermesh, settings.shoplazza,
                            settings.rxuniverse)
        ]
        self.call_from_thread(self.ready, len(clients))

    def ready(self, count: int) -> None:
        self.query_one(Input).placeholder = f"floor search field, {count} providers"


if __name__ == "__main__":
    Floor().run()
'''

WAIT_S = 30.0
AIM = 1.3


@dataclass
class Program:
    name: str
    command: list[str]
    shows: str
    """Text of the first usable frame: the search field's placeholder."""
    ready: str | None = None
    """Text that shows once a look-up can be sent (None: the first frame is ready)."""
    env: dict[str, str] = field(default_factory=dict)
    times: list[float] = field(default_factory=list)
    ready_times: list[float] = field(default_factory=list)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times) * 1000

    @property
    def ready_ms(self) -> float:
        return statistics.median(self.ready_times or self.times) * 1000


class Bench:
    def __init__(self, tmux: str, home: Path, size: tuple[int, int]) -> None:
        self.tmux = tmux
        self.socket = f"stopline-bench-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.size = size
        config = home / "config.toml"
        config.write_text("")
        config.chmod(0o600)
        self.env = {
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "STOPLINE_CONFIG": str(config),
            "STOPLINE_DATA_DIR": str(home / "data"),
            "STOPLINE_LOG_DIR": str(home / "log"),
        }
        # The server's environment is every session's. Byte-code caching stays on even if
        # this shell turned it off: an installed Stopline runs from compiled modules, as
        # Textual itself does here, and the warm-up run writes them.
        server_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        # One idle session keeps the server up between runs.
        self.tmux_run(
            "new-session", "-d", "-s", "idle", "-x", "20", "-y", "5", "sleep", "86400",
            env=server_env,
        )  # fmt: skip

    def tmux_run(self, *args: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            [self.tmux, "-L", self.socket, "-f", os.devnull, *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
            env=env,
        )
        if done.returncode != 0:
            raise RuntimeError(f"tmux {args[0]}: {done.stderr.strip()}")
        return done.stdout

    def close(self) -> None:
        subprocess.run(
            [self.tmux, "-L", self.socket, "kill-server"], capture_output=True, check=False
        )

    def once(self, program: Program) -> tuple[float, float]:
        """Seconds from starting ``program`` to its first usable frame on the screen, and to
        its ready frame."""
        session = f"run-{uuid.uuid4().hex[:6]}"
        width, height = self.size
        env = {**self.env, **program.env}
        env_args = [arg for name, value in env.items() for arg in ("-e", f"{name}={value}")]
        began = time.perf_counter()
        self.tmux_run(
            "new-session", "-d", "-s", session, "-x", str(width), "-y", str(height),
            *env_args, *program.command,
            # Keep the pane of a program that exits early, to show why.
            ";", "set-option", "-w", "-t", session, "remain-on-exit", "on",
        )  # fmt: skip
        pid = int(self.tmux_run("display-message", "-p", "-t", session, "#{pane_pid}"))
        first: float | None = None
        try:
            deadline = began + WAIT_S
            while True:
                # The frame was there by the time this capture started reading the screen.
                looked = time.perf_counter()
                screen = self.tmux_run("capture-pane", "-p", "-t", session)
                if first is None and program.shows in screen:
                    first = looked - began
                if first is not None and (program.ready is None or program.ready in screen):
                    return first, looked - began
                if looked > deadline:
                    raise TimeoutError(
                        f"{program.name}: not ready in {WAIT_S:.0f} s:\n{screen}"
                    )
                time.sleep(0.002)
        finally:
            self.tmux_run("kill-session", "-t", session)
            wait_gone(pid)


def wait_gone(pid: int) -> None:
    """Until the process has exited (SIGKILL after 5 s), so runs never overlap."""
    deadline = time.monotonic() + 5
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
        time.sleep(0.005)


def stopline_command(*flags: str) -> list[str]:
    script = Path(sys.executable).parent / "stopline"
    if script.is_file():
        return [str(script), *flags]
    return [sys.executable, "-m", "tui", *flags]


def configured_env() -> dict[str, str]:
    """Four providers on https URLs nobody answers: ready needs their settings, clients and
    TLS trust, not an answer."""
    root = "https://127.0.0.1:9"
    return {
        "STOPLINE_PATTERN__BASE_URL": f"{root}/pattern/hub",
        "STOPLINE_PATTERN__TOKEN_URL": f"{root}/pattern/token",
        "STOPLINE_PATTERN__CLIENT_ID": "bench",
        "STOPLINE_PATTERN__CLIENT_SECRET": "bench-secret",
        "STOPLINE_ORDERMESH__BASE_URL": f"{root}/ordermesh",
        "STOPLINE_ORDERMESH__CLIENT_ID": "bench",
        "STOPLINE_ORDERMESH__CLIENT_SECRET": "bench-secret",
        "STOPLINE_SHOPLAZZA__BASE_URL": f"{root}/shoplazza",
        "STOPLINE_SHOPLAZZA__ACCESS_TOKEN": "bench-token",
        "STOPLINE_RXUNIVERSE__BASE_URL": f"{root}/rx",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="measured runs of each (default 10)")
    parser.add_argument("--size", default="80x24", help="terminal size (default 80x24)")
    args = parser.parse_args()
    tmux = shutil.which("tmux")
    if tmux is None:
        sys.stderr.write("bench: tmux is required (apt-get install tmux)\n")
        return 1
    width, _, height = args.size.partition("x")
    search = "market order id"
    with tempfile.TemporaryDirectory(prefix="stopline-bench-") as tmp:
        workdir = Path(tmp)
        minimal_path = workdir / "minimal_app.py"
        minimal_path.write_text(MINIMAL_APP)
        floor_path = workdir / "stack_floor_app.py"
        floor_path.write_text(STACK_FLOOR_APP)
        programs = [
            Program("minimal Textual app", [sys.executable, str(minimal_path)], "minimal search"),
            Program("stack floor (see doc)", [sys.executable, str(floor_path)], "floor search",
                    "4 providers", env=configured_env()),
            Program("stopline --demo", stopline_command("--demo"), search, "4 providers"),
            Program("stopline, 4 providers", stopline_command(), search, "4 providers",
                    env=configured_env()),
        ]  # fmt: skip
        bench = Bench(tmux, workdir, (int(width), int(height)))
        try:
            for program in programs:
                bench.once(program)  # warm-up, not counted
            for _ in range(args.runs):
                for program in programs:
                    first, ready = bench.once(program)
                    program.times.append(first)
                    program.ready_times.append(ready)
        finally:
            bench.close()
    minimal = programs[0]
    base = minimal.median_ms
    print(f"launch to first frame and to ready in tmux {args.size}, median of {args.runs} runs")
    print(f"(ratios to the minimal app's first frame, {base:.0f} ms, measured in this run):")
    print(f"  {'':<24} {'first frame':>18} {'ready':>18}")
    for program in programs:
        print(
            f"  {program.name:<24} {program.median_ms:7.0f} ms {program.median_ms / base:5.2f}x"
            f"  {program.ready_ms:7.0f} ms {program.ready_ms / base:5.2f}x"
        )
    worst = max(p.ready_ms / base for p in programs[2:])
    verdict = "met" if worst <= AIM else "NOT met"
    print(f"  aim: ready at most {AIM:.2f}x the minimal app's first frame: {verdict}")
    floor = programs[1].ready_ms
    for program in programs[2:]:
        print(
            f"  {program.name}: ready {program.ready_ms / floor:.2f}x the stack floor's ready"
            f" (+{program.ready_ms - floor:.0f} ms of Stopline's own)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
