"""Batch cancellation throughput: 2,000 orders at 50 ms a request, 32 at a time, vs xargs + curl.

    .venv/bin/python bench/batch_throughput.py [--orders 2000] [--concurrency 32]
        [--latency-ms 50] [--provider pattern|ordermesh] [--no-cli] [--no-curl]

Starts a `SandboxServer` in a child process (a real provider is another machine: the client must
not share the server's GIL) with `latency_ms` on the chosen provider and `extra_orders` fresh,
cancellable orders (`SandboxConfig.extra_orders`). Shoplazza is not offered: its 2 requests/s
limit, not the batch, would set the pace. Then, with the sandbox's data reset before each:

1. **batch**: `BatchRunner` through the real service path (the adapter over HTTP, token,
   claim, look-up, write-ahead journal in a fresh data dir), timed from the first request to
   the last result;
2. **cli**: `stopline batch FILE --yes --json -c N` as a user runs it (interpreter start,
   imports, journal and all), timed around the process;
3. **curl**: the same cancel calls with `xargs -P N curl` (a token is fetched first).

Every Stopline cancel is two requests — the look-up that records the order's state before
sending, then the cancel — so its ideal is N x 2 x latency / concurrency; curl sends the
cancels alone (N x latency / concurrency). Prints each elapsed time against its own ideal
(target: batch within 1.2x) and checks every cancel answered 200.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tui.sandbox import SandboxConfig  # noqa: E402
from tui.sandbox.providers import extra_order_ids  # noqa: E402

TARGET_RATIO = 1.2


# -- the sandbox, in its own process ---------------------------------------------------------


def _serve(config: SandboxConfig, conn: Connection) -> None:
    from tui.sandbox import SandboxServer

    server = SandboxServer(config)
    server.start()
    conn.send((server.root_url, server.settings_env(), server.start_seconds))
    conn.recv()  # any message: stop
    server.stop()


class ChildSandbox:
    def __init__(self, config: SandboxConfig) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(config, child), daemon=True)

    def __enter__(self) -> tuple[str, dict[str, str], float]:
        self._process.start()
        if not self._conn.poll(30):
            raise RuntimeError("the sandbox did not start")
        root, env, started = self._conn.recv()
        return root, env, started

    def __exit__(self, *exc: object) -> None:
        self._conn.send("stop")
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()


def reset(root: str) -> None:
    httpx.post(f"{root}/_sandbox/reset", timeout=30, trust_env=False).raise_for_status()


# -- the three ways to send the same cancels ----------------------------------------------------


def isolated_env(sandbox_env: dict[str, str], home: Path) -> dict[str, str]:
    """The sandbox's STOPLINE_* variables over an empty config and a fresh data dir."""
    home.mkdir(parents=True)
    config = home / "config.toml"
    config.write_text("")
    config.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOPLINE_")}
    env.update(sandbox_env)
    env.update(
        STOPLINE_CONFIG=str(config),
        STOPLINE_DATA_DIR=str(home / "data"),
        STOPLINE_LOG_DIR=str(home / "log"),
        STOPLINE_OPERATOR="bench",
    )
    return env


@dataclass
class BatchFigures:
    elapsed: float
    cpu: float
    """CPU seconds this process used meanwhile (one event loop: one core at most)."""
    journal: float
    """Seconds spent inside journal calls, on the journal's own thread (off the event loop;
    one at a time, so they bound the pace if they add up to the elapsed time)."""
    outcomes: Counter[str]


async def run_batch(provider: str, ids: list[str], concurrency: int) -> BatchFigures:
    """The batch through BatchRunner and StoplineService, journal included."""
    from tui.core.batch import BatchRunner, parse_batch
    from tui.core.journal import SqliteJournal, SqliteStore
    from tui.core.service import StoplineService
    from tui.core.settings import load_settings

    blocked = [0.0]

    def timed(call: Any, *args: Any, **kw: Any) -> Any:
        started = time.perf_counter()
        try:
            return call(*args, **kw)
        finally:
            blocked[0] += time.perf_counter() - started

    class TimedStore(SqliteStore):
        """The real store, timing the calls a batch makes (on the journal's thread)."""

        def claim(self, *args: Any, **kw: Any) -> Any:
            return timed(super().claim, *args, **kw)

        def withdraw(self, *args: Any, **kw: Any) -> Any:
            return timed(super().withdraw, *args, **kw)

        def mark_sent(self, *args: Any, **kw: Any) -> Any:
            return timed(super().mark_sent, *args, **kw)

        def finish(self, *args: Any, **kw: Any) -> Any:
            return timed(super().finish, *args, **kw)

        def settle(self, *args: Any, **kw: Any) -> Any:
            return timed(super().settle, *args, **kw)

        def latest_for(self, *args: Any, **kw: Any) -> Any:
            return timed(super().latest_for, *args, **kw)

    settings = load_settings()
    journal = SqliteJournal(TimedStore(settings.journal_path()))
    # The service owns the journal and closes it.
    async with StoplineService.from_settings(settings, journal=journal) as service:
        runner = BatchRunner(service, concurrency)
        plan = runner.preflight(parse_batch("\n".join(ids), provider=provider, reason="bench"))
        assert not plan.errors, plan.errors[:3]
        cpu = time.process_time()
        began = time.perf_counter()
        summary = await runner.run(plan.rows)
        elapsed = time.perf_counter() - began
        cpu = time.process_time() - cpu
    return BatchFigures(elapsed, cpu, blocked[0], Counter(summary.by_outcome()))


def run_cli(
    provider: str, file: Path, concurrency: int, env: dict[str, str]
) -> tuple[float, dict[str, Any]]:
    import json

    command = [sys.executable, "-m", "tui", "batch", str(file), "-p", provider, "-r", "bench"]
    command += ["-c", str(concurrency), "--yes", "--json"]
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(f"stopline batch exited {done.returncode}: {done.stderr[-500:]}")
    summary = json.loads(done.stdout.splitlines()[-1])["summary"]
    return elapsed, summary


def run_curl(
    provider: str, ids: list[str], concurrency: int, sandbox_env: dict[str, str]
) -> tuple[float, Counter[str]]:
    """`xargs -P N curl`: one curl process per cancel, with a token fetched beforehand."""
    if provider == "pattern":
        token = httpx.post(
            sandbox_env["STOPLINE_PATTERN__TOKEN_URL"],
            json={
                "grant_type": "client_credentials",
                "client_id": sandbox_env["STOPLINE_PATTERN__CLIENT_ID"],
                "client_secret": sandbox_env["STOPLINE_PATTERN__CLIENT_SECRET"],
            },
            trust_env=False,
        ).json()["access_token"]
        base = sandbox_env["STOPLINE_PATTERN__BASE_URL"]
        urls = [f"{base}/v1/orders/cancel_order?market_order_id={i}" for i in ids]
        body: list[str] = []
    else:
        base = sandbox_env["STOPLINE_ORDERMESH__BASE_URL"]
        token = httpx.post(
            f"{base}/user/v1/clients/token",
            json={
                "client_id": sandbox_env["STOPLINE_ORDERMESH__CLIENT_ID"],
                "client_secret": sandbox_env["STOPLINE_ORDERMESH__CLIENT_SECRET"],
            },
            trust_env=False,
        ).json()["access_token"]
        urls = [f"{base}/v1/orders/{i}/cancel" for i in ids]
        body = [
            "-H",
            "Content-Type: application/json",
            "-d",
            '{"cancelReason":"bench","orderItems":[],"triggerFlow":true}',
        ]
    command = [
        "xargs", "-P", str(concurrency), "-n", "1",
        "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}\\n", "--noproxy", "*",
        "-X", "POST", "-H", f"Authorization: Bearer {token}", *body,
    ]  # fmt: skip
    began = time.perf_counter()
    done = subprocess.run(
        command, input="\n".join(urls) + "\n", capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - began
    return elapsed, Counter(done.stdout.split())


# -- report ----------------------------------------------------------------------------------


def line(name: str, elapsed: float, ideal: float, note: str = "") -> str:
    return f"{name:<6} {elapsed:6.2f} s   {elapsed / ideal:5.2f}x ideal   {note}".rstrip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--provider", choices=("pattern", "ordermesh"), default="pattern")
    parser.add_argument("--no-cli", action="store_true", help="skip the `stopline batch` run")
    parser.add_argument("--no-curl", action="store_true", help="skip the xargs + curl run")
    parser.add_argument(
        "--journal-dir",
        type=Path,
        default=None,
        help="where the runs' journals go (default: the temp dir); /dev/shm shows what the "
        "journal's fsync per attempt costs",
    )
    args = parser.parse_args()
    if not args.no_curl and not (shutil.which("curl") and shutil.which("xargs")):
        parser.error("curl and xargs are needed (or pass --no-curl)")

    provider, n, concurrency = args.provider, args.orders, args.concurrency
    ideal_cancels = n * args.latency_ms / 1000 / concurrency
    ideal = 2 * ideal_cancels  # a look-up and a cancel an order
    ids = extra_order_ids(provider, n)
    config = SandboxConfig(
        latency_ms={provider: args.latency_ms},
        extra_orders={provider: n},
        pattern_cancel_delay_s=0.0,
    )
    with (
        ChildSandbox(config) as (root, sandbox_env, started),
        tempfile.TemporaryDirectory(prefix="stopline-bench-", dir=args.journal_dir) as tmp,
    ):
        print(f"sandbox: {root} (child process, started in {started * 1000:.0f} ms)")
        print(
            f"{n} {provider} cancels, {args.latency_ms} ms latency a request, concurrency "
            f"{concurrency}: ideal {ideal:.2f} s for Stopline (N x 2 requests x latency / "
            f"concurrency: a look-up, then the cancel), {ideal_cancels:.2f} s for curl "
            "(the cancels alone)"
        )
        load = os.getloadavg()[0]
        print(f"{os.cpu_count()} CPUs, load average {load:.2f}; journals in {tmp}")

        env = isolated_env(sandbox_env, Path(tmp) / "batch")
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(env)
        try:
            batch = asyncio.run(run_batch(provider, ids, concurrency))
        finally:
            os.environ.clear()
            os.environ.update(saved)
        verdict = "OK" if batch.elapsed <= TARGET_RATIO * ideal else f"over {TARGET_RATIO}x"
        print(line("batch", batch.elapsed, ideal, f"{dict(batch.outcomes)}  target {verdict}"))
        print(
            f"       client CPU {batch.cpu:.2f} s ({batch.cpu / n * 1000:.2f} ms an order); "
            f"time in journal calls (the journal's thread) {batch.journal:.2f} s"
        )
        if batch.outcomes != Counter({"complete": n}):
            print("  not every order was complete: the figures are not comparable")

        if not args.no_cli:
            reset(root)
            file = Path(tmp) / "orders.txt"
            file.write_text("\n".join(ids) + "\n")
            env = isolated_env(sandbox_env, Path(tmp) / "cli")
            elapsed, summary = run_cli(provider, file, concurrency, env)
            print(line("cli", elapsed, ideal, f"{summary['by_outcome']}  (process start included)"))

        if not args.no_curl:
            reset(root)
            elapsed, codes = run_curl(provider, ids, concurrency, sandbox_env)
            print(line("curl", elapsed, ideal_cancels, f"HTTP {dict(codes)}  (cancels only)"))
            print(
                f"batch vs xargs+curl: {batch.elapsed / elapsed:.2f}x the time for 2x the "
                f"requests; per request {batch.elapsed / 2 / elapsed:.2f}x"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
