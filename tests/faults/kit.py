"""Helpers of the fault suite: settings on a sandbox, the sandbox's own truth, counters,
the invariants every outcome must keep, and a plain-text view of the console's screen."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from collections.abc import Iterable
from typing import Any

from rich.console import Console

from tui.core.domain import CancelOutcome, Outcome
from tui.core.journal import AttemptState, SqliteStore
from tui.core.settings import Settings, load_settings
from tui.runtime import env_to_overrides
from tui.sandbox import SandboxServer, showcase
from tui.sandbox.control import add_fault, list_faults

TIMEOUT_S = 0.5
"""Every provider's ``timeout_s`` here: a ``timeout`` fault costs this, not 15 s."""

REASON = "Customer request"
"""A reason every provider takes (Rx-Universe maps it to lab reason code 1)."""

OPEN_ORDER: dict[str, str] = {
    "pattern": showcase.PATTERN_ALL_CANCELLABLE,
    "ordermesh": showcase.ORDERMESH_MULTI_ITEM,
    "shoplazza": showcase.SHOPLAZZA_OPEN_ID,
    "rxuniverse": showcase.RX_CANCELLABLE_ORDER,
}
"""One open, wholly cancellable order per provider (fresh after every sandbox reset)."""

TOKENED = ("pattern", "ordermesh")
"""Providers whose bearer token is fetched again after a 401."""

SECRET_VALUES: tuple[str, ...] = (
    "demo-pattern-secret",
    "demo-ordermesh-secret",
    "demo-shoplazza-token",
)
"""The sandbox's fixed demo credentials (its bearer tokens all start with ``sbx_``)."""

TOKEN_PREFIX = "sbx_"


async def quick_sleep(seconds: float) -> None:
    """Back-off and ``Retry-After`` waits, shortened: the discipline is kept, the time is not."""
    await asyncio.sleep(min(seconds, 0.01))


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def sandbox_overrides(server: SandboxServer, **extra: Any) -> dict[str, Any]:
    """Settings arguments pointing all four providers at ``server``, with short timeouts."""
    base = env_to_overrides(server.settings_env())
    fast: dict[str, Any] = {key: {"timeout_s": TIMEOUT_S} for key in base}
    fast["shoplazza"]["rate_per_s"] = 100.0
    fast.update(confirm_poll_s=0.02, confirm_timeout_s=5.0)
    return merge(merge(base, fast), extra)


def sandbox_settings(server: SandboxServer, **extra: Any) -> Settings:
    return load_settings(**sandbox_overrides(server, **extra))


# -- the sandbox's truth ---------------------------------------------------------------------


def applied(server: SandboxServer, provider: str, order_id: str) -> bool:
    """Whether the sandbox really cancelled (or initiated cancelling) the order: read from its
    live state, never from what Stopline reported."""
    data = server.sandbox.data
    if provider == "pattern":
        return any(wo.cancel_initiated for wo in data.pattern[order_id].warehouse_orders)
    if provider == "ordermesh":
        return any(item.cancelled_quantity for item in data.ordermesh[order_id].items)
    if provider == "shoplazza":
        return data.shoplazza[order_id].status in ("cancelled", "canceled")
    order = data.rx.find(order_id)
    assert order is not None
    return order.flagged_for_deletion


class RequestCounter:
    """How many calls the sandbox itself received for a provider (and operations): a
    zero-latency fault rule with a large count is consumed once per matching call. Add it
    before any other rule, which may stop the matching at itself."""

    START = 1_000_000

    def __init__(
        self, server: SandboxServer, provider: str = "*", operations: Iterable[str] = ()
    ) -> None:
        self.url = server.root_url
        rule: dict[str, Any] = {
            "provider": provider,
            "mode": "latency",
            "latency_ms": 0,
            "count": self.START,
        }
        if operations:
            rule["operations"] = list(operations)
        self.rule_id = add_fault(self.url, **rule)["id"]

    @property
    def seen(self) -> int:
        for rule in list_faults(self.url):
            if rule["id"] == self.rule_id:
                return self.START - int(rule["remaining"])
        raise AssertionError("the counting rule disappeared (faults cleared?)")


# -- invariants ------------------------------------------------------------------------------


def assert_consistent(outcome: CancelOutcome, really_applied: bool) -> None:
    """Never a success the provider did not apply; never a failure it did."""
    if outcome.outcome in (Outcome.COMPLETE, Outcome.PARTIAL) or outcome.confirmed:
        assert really_applied, f"{outcome.outcome} reported, but the sandbox cancelled nothing"
    if outcome.outcome in (Outcome.ERROR, Outcome.REFUSED, Outcome.NOT_FOUND):
        assert not really_applied, f"{outcome.outcome} reported, but the sandbox did cancel"


def assert_journalled(journal: SqliteStore, outcome: CancelOutcome, operator: str) -> None:
    """The journal holds exactly what the operator was told, under the operator's name; an
    unknown outcome keeps holding the order (open) until it is reconciled."""
    assert outcome.attempt_id is not None
    attempt = journal.get(outcome.attempt_id)
    assert attempt is not None
    assert attempt.state is AttemptState.FINISHED
    assert attempt.outcome is outcome.outcome
    assert attempt.confirmed is outcome.confirmed
    assert attempt.operator == operator
    assert attempt.provider == outcome.provider
    assert attempt.before is not None  # looked up and recorded before it was sent
    assert attempt.open is (outcome.outcome is Outcome.UNKNOWN)


# -- the console -----------------------------------------------------------------------------


def screen_text(app: Any) -> str:
    """The console's screen as plain text, exactly as composed for the terminal."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text(styles=False)


async def settle(pilot: Any) -> None:
    """Let every worker finish and the screen catch up with their messages."""
    for _ in range(2):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def look_up(pilot: Any, identifier: str) -> None:
    """``/``, the identifier, ``enter``; waits for every provider's answer."""
    await pilot.press("slash")
    pilot.app.screen.query_one("#search").value = identifier
    await pilot.press("enter")
    await settle(pilot)


# -- the program in a subprocess -------------------------------------------------------------

MAXRSS = "MAXRSS_KIB="
_MEASURED = (
    "import resource, sys\n"
    "from tui.cli.main import run\n"
    "code = run(sys.argv[1:])\n"
    "sys.stdout.flush()\n"
    f"sys.stderr.write('{MAXRSS}%d\\n' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    "sys.exit(code)\n"
)


def stopline(
    *argv: str, env: dict[str, str], measure: bool = False, timeout_s: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m tui ARGV`` with exactly ``env``'s STOPLINE_* variables (the test's own are
    dropped). ``measure``: the process reports its peak resident memory on its last stderr
    line (see :func:`peak_rss_mib`)."""
    base = {k: v for k, v in os.environ.items() if not k.upper().startswith("STOPLINE_")}
    code = ["-c", _MEASURED] if measure else ["-m", "tui"]
    return subprocess.run(
        [sys.executable, *code, *argv],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def peak_rss_mib(result: subprocess.CompletedProcess[str]) -> float:
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(MAXRSS), result.stderr
    return int(line.removeprefix(MAXRSS)) / 1024  # ru_maxrss is in KiB on Linux
