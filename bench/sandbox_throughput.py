"""Sandbox start time and throughput: mixed look-ups and cancels over real HTTP.

    .venv/bin/python bench/sandbox_throughput.py [--requests 4000] [--concurrency 32]

Starts a `SandboxServer` in this process (as the TUI does), prints how long `start()` took, then
drives look-ups on all four providers plus ~10 % cancels with one `httpx.AsyncClient` at the given
concurrency, for at most `--seconds`. Prints requests/s, p50/p99 latency and the status codes
seen. Shoplazza's 2 requests/s bucket is lifted for the run (it would otherwise turn almost every
Shoplazza call into a 429, which measures the limiter, not the server).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from tui.sandbox import DEMO_CREDENTIALS, SandboxConfig, SandboxServer


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    json: object = None
    provider: str = ""


def build_calls(ids: dict[str, list[str]], count: int, seed: int) -> list[Call]:
    """A fixed, shuffled mix: 90 % look-ups spread over the providers, 10 % cancels."""
    rng = random.Random(seed)
    shop = "/shoplazza/openapi/2022-01/orders"
    calls: list[Call] = []
    for _ in range(count):
        provider = rng.choice(("pattern", "ordermesh", "shoplazza", "rxuniverse"))
        ident = rng.choice(ids[provider])
        cancel = rng.random() < 0.10
        if provider == "pattern":
            path = "/pattern/hub/v1/orders/" + ("cancel_order" if cancel else "status")
            calls.append(
                Call("POST" if cancel else "GET", path, {"market_order_id": ident}, None, provider)
            )
        elif provider == "ordermesh":
            if cancel:
                body = {"cancelReason": "bench", "orderItems": [], "triggerFlow": True}
                calls.append(
                    Call("POST", f"/ordermesh/v1/orders/{ident}/cancel", {}, body, provider)
                )
            else:
                calls.append(Call("GET", f"/ordermesh/v1/orders/{ident}", provider=provider))
        elif provider == "shoplazza":
            if cancel:
                calls.append(
                    Call("POST", f"{shop}/{ident}/cancel", {}, {"reason": "bench"}, provider)
                )
            else:
                calls.append(Call("GET", f"{shop}/{ident}", provider=provider))
        else:
            path = f"/rxuniverse/api/v2/orders/{quote(ident, safe='')}"
            if cancel:
                calls.append(Call("DELETE", path, {"deleteReason": "1"}, provider=provider))
            else:
                suffix = rng.choice(("", "/status"))
                calls.append(Call("GET", path + suffix, provider=provider))
    return calls


async def drive(
    root: str, calls: list[Call], concurrency: int, max_seconds: float, clients: int = 4
) -> tuple[list[float], Counter[int], float]:
    """Run `calls` with `concurrency` workers spread over `clients` AsyncClients.

    One AsyncClient's pool costs more CPU per request the more connections it juggles
    (encode/httpx#3215); a few smaller pools keep the driver from becoming the bottleneck."""
    per_client = max(1, -(-concurrency // clients))
    limits = httpx.Limits(max_connections=per_client, max_keepalive_connections=per_client)
    pool = [
        httpx.AsyncClient(base_url=root, limits=limits, timeout=10.0, trust_env=False)
        for _ in range(clients)
    ]
    try:
        http = pool[0]
        pattern = await http.post(
            "/pattern-admin/adminczar/api/v1/oauth2/token",
            json={"grant_type": "client_credentials", **DEMO_CREDENTIALS["pattern"]},
        )
        mesh = await http.post(
            "/ordermesh/user/v1/clients/token", json=DEMO_CREDENTIALS["ordermesh"]
        )
        headers = {
            "pattern": {"Authorization": f"Bearer {pattern.json()['access_token']}"},
            "ordermesh": {"Authorization": f"Bearer {mesh.json()['access_token']}"},
            "shoplazza": {"Access-Token": DEMO_CREDENTIALS["shoplazza"]["access_token"]},
            "rxuniverse": {},
        }
        latencies: list[float] = []
        statuses: Counter[int] = Counter()
        queue = iter(calls)
        began = time.perf_counter()
        deadline = began + max_seconds

        async def worker(http: httpx.AsyncClient) -> None:
            for call in queue:
                if time.perf_counter() > deadline:
                    return
                start = time.perf_counter()
                response = await http.request(
                    call.method,
                    call.path,
                    params=call.params or None,
                    json=call.json,
                    headers=headers[call.provider],
                )
                await response.aread()
                latencies.append(time.perf_counter() - start)
                statuses[response.status_code] += 1

        await asyncio.gather(*(worker(pool[i % clients]) for i in range(concurrency)))
        return latencies, statuses, time.perf_counter() - began
    finally:
        for http in pool:
            await http.aclose()


def drive_in_child(
    root: str, calls: list[Call], concurrency: int, max_seconds: float, clients: int
) -> tuple[list[float], Counter[int], float]:
    """Run `drive` in a separate process, so the client's own CPU cost does not eat into the
    server's share of the GIL: that measures what the sandbox can serve."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(_drive_sync, (root, calls, concurrency, max_seconds, clients))


def _drive_sync(
    root: str, calls: list[Call], concurrency: int, max_seconds: float, clients: int
) -> tuple[list[float], Counter[int], float]:
    return asyncio.run(drive(root, calls, concurrency, max_seconds, clients))


def server_cpu_seconds(server: SandboxServer) -> float:
    """CPU time used so far by the server's thread (Linux; 0.0 where unsupported)."""
    thread = server._thread  # the bench may peek: it measures the server
    if thread is None or thread.ident is None or not hasattr(time, "pthread_getcpuclockid"):
        return 0.0
    return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30.0, help="stop after this long")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--clients", type=int, default=8, help="AsyncClients the workers are spread over"
    )
    parser.add_argument(
        "--child-process",
        action="store_true",
        help="drive from a child process (the server then has the GIL to itself)",
    )
    args = parser.parse_args()

    server = SandboxServer(SandboxConfig(shoplazza_rate_per_s=None))
    root = server.start()
    print(f"sandbox start: {server.start_seconds * 1000:.0f} ms  ({root})")
    try:
        ids = httpx.get(f"{root}/_sandbox/orders", trust_env=False).json()
        calls = build_calls(ids, args.requests, args.seed)
        cpu_before = server_cpu_seconds(server)
        if args.child_process:
            latencies, statuses, elapsed = drive_in_child(
                root, calls, args.concurrency, args.seconds, args.clients
            )
        else:
            latencies, statuses, elapsed = asyncio.run(
                drive(root, calls, args.concurrency, args.seconds, args.clients)
            )
        server_cpu = server_cpu_seconds(server) - cpu_before
    finally:
        server.stop()
    done = len(latencies)
    where = "a child process" if args.child_process else "this process"
    print(
        f"requests:      {done} in {elapsed:.2f} s at concurrency {args.concurrency} "
        f"({args.clients} AsyncClients), driven from {where}"
    )
    print(f"throughput:    {done / elapsed:.0f} requests/s")
    print(
        f"latency:       p50 {percentile(latencies, 0.50) * 1000:.1f} ms   "
        f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms   "
        f"mean {statistics.fmean(latencies) * 1000:.1f} ms"
    )
    if server_cpu > 0:
        per_request = server_cpu / done
        print(
            f"server CPU:    {per_request * 1000:.2f} ms per request "
            f"(one core could serve ~{1 / per_request:.0f} requests/s)"
        )
    print("statuses:      " + "  ".join(f"{s}: {n}" for s, n in sorted(statuses.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
