"""Claim + write-ahead latency with 8 concurrent writers, and a 2,000-order batch, through the
local SQLite journal and the shared PostgreSQL journal, side by side.

    .venv/bin/python bench/journal_claims.py [--writers 8] [--claims 200] [--orders 2000]

Starts a throwaway PostgreSQL server (tests/postgres_cluster.py: the distribution's
``postgresql`` package must be installed) and the demo sandbox. Each writer is its own
process (as on a floor: machines, or supervisors' consoles), claiming distinct orders:
claim → mark_sent (the durable write-ahead) is what a cancel waits for before its request
may leave; the finish after the answer is timed apart. Figures are milliseconds; the batch
is printed as a ratio to the SQLite run of the same size in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from postgres_cluster import PostgresCluster

from tui.core.domain import CancelOutcome, CancelRequest, Order, Outcome
from tui.core.journal import Holder, SqliteJournal
from tui.core.journal.model import utcnow
from tui.core.journal.postgres import PostgresJournal


def _journal(target: str) -> SqliteJournal | PostgresJournal:
    if target.startswith("postgresql://"):
        return PostgresJournal(target)
    return SqliteJournal.open(target)


async def _writer(target: str, writer: int, claims: int) -> tuple[list[float], list[float]]:
    journal = _journal(target)
    await journal.connect()
    holder = Holder(operator=f"w{writer}", host="bench", pid=writer)
    ahead: list[float] = []
    finish: list[float] = []
    before = Order(provider="ordermesh", order_id="x")
    try:
        for n in range(claims):
            request = CancelRequest(
                provider="ordermesh", order_id=f"W{writer}-{n}", reason="bench"
            )
            started = time.perf_counter()
            claim = await journal.claim(
                request,
                holder,
                lease_until=utcnow() + timedelta(seconds=60),
                take_over=lambda _: False,
            )
            assert claim.attempt_id is not None
            await journal.mark_sent(
                claim.attempt_id, before, lease_until=utcnow() + timedelta(seconds=60)
            )
            ahead.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            outcome = CancelOutcome(
                provider="ordermesh", order_id=request.order_id, outcome=Outcome.COMPLETE
            )
            await journal.finish(claim.attempt_id, outcome, 1.0)
            finish.append((time.perf_counter() - started) * 1000)
    finally:
        await journal.aclose()
    return ahead, finish


def _writer_process(args: tuple[str, int, int]) -> tuple[list[float], list[float]]:
    return asyncio.run(_writer(*args))


def claims_bench(target: str, writers: int, claims: int) -> dict[str, float]:
    # The schema first (a fresh file or database), then the writers at once.
    asyncio.run(_writer(target, 999, 1))
    with multiprocessing.get_context("spawn").Pool(writers) as pool:
        started = time.perf_counter()
        results = pool.map(_writer_process, [(target, w, claims) for w in range(writers)])
        wall = time.perf_counter() - started
    ahead = sorted(x for a, _ in results for x in a)
    finish = sorted(x for _, f in results for x in f)

    def pct(values: list[float], q: float) -> float:
        return values[min(len(values) - 1, int(q * len(values)))]

    return {
        "ahead_p50": statistics.median(ahead),
        "ahead_p99": pct(ahead, 0.99),
        "finish_p50": statistics.median(finish),
        "finish_p99": pct(finish, 0.99),
        "per_s": len(ahead) / wall,
    }


def batch_bench(journal_target: str, orders: int) -> tuple[float, int]:
    """Seconds for a batch of ``orders`` OrderMesh cancels against the sandbox."""
    from tui.core.batch import BatchRow, BatchRunner
    from tui.core.service import StoplineService
    from tui.core.settings import load_settings
    from tui.runtime import env_to_overrides
    from tui.sandbox import SandboxConfig, SandboxServer

    config = SandboxConfig(extra_orders={"ordermesh": orders})
    with SandboxServer(config) as server:
        ids = sorted(
            order_id
            for order_id, order in server.sandbox.data.ordermesh.items()
            if order.items and all(item.cancellable for item in order.items)
        )[:orders]
        settings = load_settings(**env_to_overrides(server.settings_env()))

        async def run() -> float:
            service = StoplineService.from_settings(settings, journal=_journal(journal_target))
            rows = [
                BatchRow(
                    n,
                    CancelRequest(provider="ordermesh", order_id=i, reason="bench", operator="b"),
                )
                for n, i in enumerate(ids, 1)
            ]
            runner = BatchRunner(service, 32)
            started = time.perf_counter()
            summary = await runner.run(rows)
            took = time.perf_counter() - started
            await service.aclose()
            assert summary.done == len(rows)
            return took

        return asyncio.run(run()), len(ids)


async def _notice_latency(target: str, rounds: int, poll_s: float) -> list[float]:
    """Milliseconds from one journal's commit to another's watch yielding it."""
    writer, reader = _journal(target), _journal(target)
    await writer.connect()
    await reader.connect()
    seen: asyncio.Queue[float] = asyncio.Queue()

    async def watch() -> None:
        async for _ in reader.watch(poll_s):
            seen.put_nowait(time.perf_counter())

    task = asyncio.create_task(watch())
    await asyncio.sleep(0.5)
    holder = Holder(operator="w", host="bench", pid=1)
    latencies = []
    try:
        for n in range(rounds):
            request = CancelRequest(provider="shoplazza", order_id=f"N-{n}", reason="bench")
            started = time.perf_counter()
            await writer.claim(
                request,
                holder,
                lease_until=utcnow() + timedelta(seconds=60),
                take_over=lambda _: False,
            )
            latencies.append((await seen.get() - started) * 1000)
            while not seen.empty():
                seen.get_nowait()
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await writer.aclose()
        await reader.aclose()
    return sorted(latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--claims", type=int, default=200)
    parser.add_argument("--orders", type=int, default=2000)
    args = parser.parse_args()

    cluster = PostgresCluster().start()
    try:
        cluster.execute("CREATE DATABASE bench_claims", "CREATE DATABASE bench_batch")
        folder = Path(tempfile.mkdtemp(prefix="stopline-bench-"))
        targets = {
            "SQLite": (str(folder / "claims.sqlite3"), str(folder / "batch.sqlite3")),
            "PostgreSQL": (
                cluster.url("postgres", "bench_claims"),
                cluster.url("postgres", "bench_batch"),
            ),
        }
        print(
            f"claim + write-ahead, {args.writers} writer processes x {args.claims} claims "
            "(ms; rate in claims/s)"
        )
        print(f"{'journal':<12}{'p50':>8}{'p99':>8}{'finish p50':>12}{'p99':>8}{'rate':>9}")
        for name, (claims_target, _) in targets.items():
            r = claims_bench(claims_target, args.writers, args.claims)
            print(
                f"{name:<12}{r['ahead_p50']:>8.2f}{r['ahead_p99']:>8.2f}"
                f"{r['finish_p50']:>12.2f}{r['finish_p99']:>8.2f}{r['per_s']:>9.0f}"
            )
        print("\nanother console hears of an attempt (ms from commit; SQLite polls every 0.5 s)")
        for name, (claims_target, _) in targets.items():
            lat = asyncio.run(_notice_latency(claims_target, 20, 0.5 if name == "SQLite" else 30))
            print(f"{name:<12} p50 {statistics.median(lat):7.1f}   max {lat[-1]:7.1f}")
        print("\nbatch of OrderMesh cancels through each journal (concurrency 32)")
        base: float | None = None
        for name, (_, batch_target) in targets.items():
            took, count = batch_bench(batch_target, args.orders)
            base = base or took
            print(f"{name:<12}{count:>6} orders {took:>7.2f} s   {took / base:>5.2f}x SQLite")
    finally:
        cluster.remove()


if __name__ == "__main__":
    main()
