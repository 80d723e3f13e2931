"""Does the console stay responsive while a batch of cancels runs through its batch screen?

    .venv/bin/python bench/console_batch_responsiveness.py [--orders 1500] [--latency-ms 30]
        [--concurrency 32] [--provider pattern|ordermesh]

Starts a `SandboxServer` in a child process (as `batch_throughput.py` does: a real provider is
another machine) with `latency_ms` on the chosen provider and `extra_orders` fresh cancellable
orders, then runs the real app headless (`run_test`, 80x24) on a service with a journal in a
fresh data dir, and drives the batch screen as an operator would: `b`, the identifiers pasted,
provider and reason chosen, ctrl+r (preview), r, y. While the batch runs, a probe on the app's
event loop sleeps 16 ms at a time (one 60 Hz frame) and records how long each sleep really
took: a gap well over 16 ms is a frame the console could not have drawn, a key it could not
have answered. Prints the worst gap, percentiles, elapsed time and throughput.

Every row is one cancel lifecycle (claim, look-up, write-ahead, cancel: two requests an
order, so the ideal is N x 2 x latency / concurrency); its journal calls run on the
journal's own thread, never on the event loop. Headless: everything but writing the frames
to a terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from batch_throughput import ChildSandbox, isolated_env  # noqa: E402

from tui.sandbox import SandboxConfig  # noqa: E402
from tui.sandbox.providers import extra_order_ids  # noqa: E402

FRAME_S = 1 / 60
TARGET_WORST_MS = 100.0


class LoopProbe:
    """Sleeps one frame at a time on the running loop and records each real interval."""

    def __init__(self) -> None:
        self.gaps: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        previous = time.perf_counter()
        while True:
            await asyncio.sleep(FRAME_S)
            now = time.perf_counter()
            self.gaps.append(now - previous)
            previous = now

    def start(self) -> None:
        self.gaps.clear()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> list[float]:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        return list(self.gaps)


async def settle(pilot: Any) -> None:
    """Every worker done (the preview, the run) and its last messages handled."""
    for _ in range(2):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def describe(name: str, gaps: list[float]) -> str:
    ms = [g * 1000 for g in gaps]
    return (
        f"{name:<9} worst {max(ms):6.1f} ms   p99 {percentile(ms, 0.99):6.1f} ms   "
        f"p50 {statistics.median(ms):5.1f} ms   over 50 ms: {sum(m > 50 for m in ms):3d}   "
        f"({len(ms)} frames of {FRAME_S * 1000:.1f} ms)"
    )


async def drive(provider: str, ids: list[str], concurrency: int) -> dict[str, Any]:
    from textual.widgets import Input, Select

    from tui.app import StoplineApp
    from tui.core.journal import SqliteJournal
    from tui.core.service import StoplineService
    from tui.core.settings import load_settings
    from tui.screens.batch import BatchScreen

    settings = load_settings()
    # The app owns the service, and the service its journal: both closed as the app ends.
    service = StoplineService.from_settings(
        settings, journal=SqliteJournal.open(settings.journal_path())
    )
    app = StoplineApp(service=service, demo=True, show_timings=False)
    probe = LoopProbe()
    figures: dict[str, Any] = {}
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("tab", "b")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, BatchScreen), screen
        screen.source.load_text("\n".join(ids) + "\n")
        screen.query_one("#provider", Select).value = provider
        screen.reason_field.input.value = "bench: console responsiveness"
        screen.query_one("#concurrency", Input).value = str(concurrency)
        await pilot.pause()

        probe.start()  # idle baseline
        await asyncio.sleep(1.0)
        figures["idle"] = await probe.stop()

        began = time.perf_counter()
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert screen.phase == "preview", screen.phase
        figures["preview_s"] = time.perf_counter() - began

        await pilot.press("r")
        await pilot.pause()
        probe.start()
        await pilot.press("y")
        await settle(pilot)
        figures["run"] = await probe.stop()
        run = screen.batch_run
        assert run is not None and not run.running
        assert run.error is None and not run.stopped, run.error
        figures["elapsed"] = run.elapsed
        figures["by_outcome"] = run.summary.by_outcome()
        figures["table_rows"] = screen._results.row_count if screen._results else 0

        # Scrolling the finished table: keys answered at once?
        probe.start()
        for _ in range(3):
            await pilot.press("end", "home", "pagedown", "pagedown", "pageup")
        figures["scroll"] = await probe.stop()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency-ms", type=int, default=30)
    parser.add_argument("--provider", choices=("pattern", "ordermesh"), default="ordermesh")
    args = parser.parse_args()

    provider, n, concurrency = args.provider, args.orders, args.concurrency
    ideal = 2 * n * args.latency_ms / 1000 / concurrency  # a look-up and a cancel an order
    config = SandboxConfig(
        latency_ms={provider: args.latency_ms},
        extra_orders={provider: n},
        pattern_cancel_delay_s=0.0,
    )
    with (
        ChildSandbox(config) as (root, sandbox_env, _started),
        tempfile.TemporaryDirectory(prefix="stopline-console-bench-") as tmp,
    ):
        print(
            f"{n} {provider} cancels through the batch screen, {args.latency_ms} ms latency, "
            f"concurrency {concurrency}; ideal {ideal:.2f} s; sandbox {root} (child process); "
            f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}"
        )
        env = isolated_env(sandbox_env, Path(tmp) / "home")
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(env)
        try:
            figures = asyncio.run(drive(provider, extra_order_ids(provider, n), concurrency))
        finally:
            os.environ.clear()
            os.environ.update(saved)

    elapsed = figures["elapsed"]
    print(f"preview   {figures['preview_s']:.2f} s (parse, check, journal read; in a thread)")
    print(
        f"run       {elapsed:.2f} s = {elapsed / ideal:.2f}x ideal, {n / elapsed:.0f} orders/s; "
        f"{figures['by_outcome']}; {figures['table_rows']} rows in the results table"
    )
    print(describe("idle", figures["idle"]))
    print(describe("batch", figures["run"]))
    print(describe("scrolling", figures["scroll"]))
    worst = max(figures["run"]) * 1000
    verdict = "OK" if worst < TARGET_WORST_MS else "TOO SLOW"
    print(f"worst frame gap during the batch: {worst:.1f} ms (target < {TARGET_WORST_MS:.0f} ms: "
          f"{verdict})")  # fmt: skip
    return 0 if worst < TARGET_WORST_MS and figures["table_rows"] == n else 1


if __name__ == "__main__":
    raise SystemExit(main())
