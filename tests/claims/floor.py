"""Real ``stopline`` processes of one machine (one data dir) against one shared sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass

from tui.sandbox import control


@dataclass
class Floor:
    """Environment for ``stopline`` processes on one machine: one data dir, one sandbox."""

    root_url: str
    env: dict[str, str]

    def cancels(self, order_id: str | None = None) -> list[dict[str, str]]:
        """The cancel requests the sandbox received (for one order, when given)."""
        found = control.calls(self.root_url, "cancel")
        if order_id is None:
            return found
        return [c for c in found if order_id in c["path"] or order_id in c["query"]]

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "tui", *args]

    def start(self, *args: str, extra_env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(*args),
            env={**self.env, **(extra_env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(
        self, *args: str, extra_env: dict[str, str] | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args),
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def wait_for_cancels(self, count: int, order_id: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.cancels(order_id)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"the sandbox never received {count} cancel(s)")
            time.sleep(0.05)


def json_out(result: subprocess.CompletedProcess[str] | tuple[str, str]) -> dict[str, object]:
    out = result[0] if isinstance(result, tuple) else result.stdout
    return json.loads(out.strip().splitlines()[-1])


def finish(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[str, str, int]:
    out, err = proc.communicate(timeout=timeout)
    return out, err, proc.returncode
