"""A "machine" of the floor: ``stopline`` processes with their own data dir and database
role, against the one shared journal and the one sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tui.sandbox import control


@dataclass
class Machine:
    name: str
    role: str
    home: Path
    env: dict[str, str]
    root_url: str

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
        self, *args: str, extra_env: dict[str, str] | None = None, timeout: float = 90
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args),
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def history(self, *extra: str) -> list[dict[str, object]]:
        result = self.run("history", "--json", *extra)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def cancels(self, order_id: str | None = None) -> list[dict[str, str]]:
        found = control.calls(self.root_url, "cancel")
        if order_id is None:
            return found
        return [c for c in found if order_id in c["path"] or order_id in c["query"]]

    def wait_for_cancels(self, count: int, order_id: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.cancels(order_id)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"the sandbox never received {count} cancel(s)")
            time.sleep(0.05)

    def local_journals(self) -> list[Path]:
        return sorted((self.home / "data").rglob("*.sqlite3*"))


def last_json(text: str) -> dict[str, object]:
    return json.loads(text.strip().splitlines()[-1])
