"""Batch cancelling at scale, against a bare ``httpx`` loop sending the same requests in the
same run: wall time, client CPU per order and peak memory, at 2,000 and 20,000 orders.

    .venv/bin/python bench/batch_throughput.py [--sizes 2000,20000] [--latency-ms 50]
        [--concurrency 32] [--provider pattern|ordermesh] [--journal-dir DIR] [--repeat 3]

The sandbox runs in a child process (a real provider is another machine: the client must not
share the server's interpreter lock) with ``latency_ms`` on the chosen provider and fresh
cancellable orders. Every Stopline cancel is a look-up (the order's state, written ahead)
and then the cancel, so the baseline sends both too. For each size, with the sandbox's data
reset before each run and each run in a process of its own (so its peak RSS is its own):

1. **bare**: one ``httpx.AsyncClient``, a token, then per order ``GET`` the look-up and
   ``POST`` the cancel, ``concurrency`` orders at a time — no journal, no checks;
2. **runner**: :class:`~tui.core.batch.BatchRunner` on the service (the adapters over HTTP,
   claims, write-ahead and answers in a fresh SQLite journal), in a process settled for the
   batch as ``stopline batch`` settles its own (``settle_process_for_batch``);
3. **cli --json**: ``stopline batch FILE --yes --json -c N`` as a user runs it, its output
   read by this bench;
4. **cli, progress bar**: the same without ``--json``, its stderr a terminal (a pty), so the
   progress bar draws.

CPU per order is the process's CPU time (all its threads) over the orders: for bare and
runner, measured around the run alone, after each has cancelled ``WARM_UP`` other orders
untimed (connections, lazily loaded code, the journal's first pages); for the CLI, the
whole process (start-up included).
Every kind runs ``--repeat`` times (default 3), the kinds in turn, and each figure is the
median of its runs: one noisy spell on a shared machine moves no figure alone. Each figure is
printed as a ratio to bare's at the same size (the aims: CPU per order within
1.5x; peak RSS at 100k orders within 1.5x of that at 2k, see ``--sizes 2000,100000``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import pty
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tui.sandbox import SandboxConfig  # noqa: E402
from tui.sandbox.providers import extra_order_ids  # noqa: E402

AIM_CPU = 1.5
RUNS = ("bare", "runner", "cli --json", "cli, progress bar")

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
        if not self._conn.poll(60):
            raise RuntimeError("the sandbox did not start")
        root, env, started = self._conn.recv()
        return root, env, started

    def __exit__(self, *exc: object) -> None:
        self._conn.send("stop")
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()


def reset(root: str) -> None:
    httpx.post(f"{root}/_sandbox/reset", timeout=60).raise_for_status()


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


# -- the workers: each run in a process of its own ------------------------------------------


WARM_UP = 64
"""Orders each worker cancels, untimed, before its timed run (other orders than the run's):
first connections, lazily loaded code and the journal's first pages are start-up costs,
which the CLI runs include; the timed run is the cost of an order."""


async def bare(
    provider: str, ids: list[str], concurrency: int, warm: list[str]
) -> dict[str, Any]:
    """The same requests as Stopline's, with nothing around them."""
    env = os.environ
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
    if provider == "pattern":
        base = env["STOPLINE_PATTERN__BASE_URL"]
        body = {
            "grant_type": "client_credentials",
            "client_id": env["STOPLINE_PATTERN__CLIENT_ID"],
            "client_secret": env["STOPLINE_PATTERN__CLIENT_SECRET"],
        }
        token_url = env["STOPLINE_PATTERN__TOKEN_URL"]
    else:
        base = env["STOPLINE_ORDERMESH__BASE_URL"]
        body = {
            "client_id": env["STOPLINE_ORDERMESH__CLIENT_ID"],
            "client_secret": env["STOPLINE_ORDERMESH__CLIENT_SECRET"],
        }
        token_url = f"{base}/user/v1/clients/token"
    async with httpx.AsyncClient(base_url=base, limits=limits) as client:
        token = (await client.post(token_url, json=body)).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        slots = asyncio.Semaphore(concurrency)
        statuses: dict[str, int] = {}

        async def one(order_id: str) -> None:
            async with slots:
                if provider == "pattern":
                    params = {"market_order_id": order_id}
                    found = await client.get("/v1/orders/status", params=params, headers=headers)
                    found.json()
                    done = await client.post(
                        "/v1/orders/cancel_order", params=params, headers=headers
                    )
                else:
                    found = await client.get(f"/v1/orders/{order_id}", headers=headers)
                    found.json()
                    done = await client.post(
                        f"/v1/orders/{order_id}/cancel",
                        headers=headers,
                        json={"cancelReason": "bench", "orderItems": [], "triggerFlow": True},
                    )
                done.json()
                key = str(done.status_code)
                statuses[key] = statuses.get(key, 0) + 1

        await asyncio.gather(*(one(i) for i in warm))
        statuses.clear()
        cpu, began = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one(i) for i in ids))
        return {
            "elapsed": time.perf_counter() - began,
            "cpu": time.process_time() - cpu,
            "outcomes": statuses,
        }


async def runner(
    provider: str, ids: list[str], concurrency: int, warm: list[str]
) -> dict[str, Any]:
    """BatchRunner through the service, journal included."""
    from tui.cli.batch_cmd import settle_process_for_batch
    from tui.core.batch import BatchRunner, parse_batch
    from tui.core.service import StoplineService
    from tui.core.settings import load_settings

    settings = load_settings()
    async with StoplineService.from_settings(settings) as service:
        batch = BatchRunner(service, concurrency)
        plan = batch.preflight(parse_batch("\n".join(ids), provider=provider, reason="bench"))
        assert not plan.errors, plan.errors[:3]
        warm_plan = batch.preflight(parse_batch("\n".join(warm), provider=provider, reason="bench"))
        await batch.run(warm_plan.rows)
        settle_process_for_batch()  # as `stopline batch` does before its run
        cpu, began = time.process_time(), time.perf_counter()
        summary = await batch.run(plan.rows)
        return {
            "elapsed": time.perf_counter() - began,
            "cpu": time.process_time() - cpu,
            "outcomes": summary.by_outcome(),
        }


def worker(kind: str, provider: str, count: int, concurrency: int) -> None:
    import resource

    everything = extra_order_ids(provider, count + WARM_UP)
    ids, warm = everything[:count], everything[count:]
    run = bare if kind == "bare" else runner
    figures = asyncio.run(run(provider, ids, concurrency, warm))
    figures["rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(figures))


# -- the runs --------------------------------------------------------------------------------


@dataclass
class Figures:
    elapsed: float
    cpu: float
    rss: float
    """Peak resident memory, MiB."""
    outcomes: dict[str, int]

    @staticmethod
    def median(runs: list[Figures]) -> Figures:
        """Each figure's median over repeated runs (the outcomes of the first)."""
        return Figures(
            statistics.median(r.elapsed for r in runs),
            statistics.median(r.cpu for r in runs),
            statistics.median(r.rss for r in runs),
            runs[0].outcomes,
        )


def run_worker(kind: str, args: argparse.Namespace, count: int, env: dict[str, str]) -> Figures:
    command = [sys.executable, __file__, "--worker", kind, "--provider", args.provider]
    command += ["--count", str(count), "--concurrency", str(args.concurrency)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{kind}: {done.stderr[-800:]}")
    got = json.loads(done.stdout.splitlines()[-1])
    return Figures(got["elapsed"], got["cpu"], got["rss"], got["outcomes"])


def run_cli(
    args: argparse.Namespace, file: Path, env: dict[str, str], *, json_lines: bool
) -> Figures:
    command = [sys.executable, "-m", "tui", "batch", str(file), "-p", args.provider]
    command += ["-r", "bench", "-c", str(args.concurrency), "--yes"]
    if json_lines:
        command.append("--json")
    master, slave = pty.openpty()  # stderr a terminal: the progress bar draws
    drained = threading.Thread(target=_drain, args=(master,), daemon=True)
    drained.start()
    began = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    assert proc.stdout is not None
    last = b""
    for line in proc.stdout:
        last = line if line.strip() else last
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - began
    proc.returncode = os.waitstatus_to_exitcode(status)
    drained.join(5)
    if proc.returncode not in (0,):
        raise RuntimeError(f"stopline batch exited {proc.returncode}")
    outcomes = json.loads(last)["summary"]["by_outcome"] if json_lines else {"exit 0": 1}
    return Figures(elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, outcomes)


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 1 << 16):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="2000,20000")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--provider", choices=("pattern", "ordermesh"), default="pattern")
    parser.add_argument("--journal-dir", type=Path, default=None)
    parser.add_argument(
        "--only",
        default="bare,runner,cli --json,cli, progress bar",
        help="which runs, comma-separated among: bare, runner, cli --json, cli progress "
        "(e.g. --sizes 2000,100000 --only runner,'cli --json' for the memory check)",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each kind, in turn; medians (default 3)"
    )
    parser.add_argument("--worker", choices=("bare", "runner"), help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.provider, args.count, args.concurrency)
        return 0
    sizes = [int(x) for x in args.sizes.split(",")]
    wanted = {w.strip().replace(",", "") for w in args.only.replace("cli, ", "cli ").split(",")}
    config = SandboxConfig(
        latency_ms={args.provider: args.latency_ms},
        extra_orders={args.provider: max(sizes) + WARM_UP},
        pattern_cancel_delay_s=0.0,
    )
    rows: list[tuple[int, str, Figures]] = []
    with (
        ChildSandbox(config) as (root, sandbox_env, started),
        tempfile.TemporaryDirectory(prefix="stopline-bench-", dir=args.journal_dir) as tmp,
    ):
        print(f"sandbox: {root} (child process, started in {started * 1000:.0f} ms); "
              f"{args.provider}, {args.latency_ms} ms a request, concurrency {args.concurrency}; "
              f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")  # fmt: skip
        for count in sizes:
            ids = extra_order_ids(args.provider, count)
            file = Path(tmp) / f"orders-{count}.txt"
            file.write_text("\n".join(ids) + "\n")
            runs: dict[str, list[Figures]] = {}
            for _ in range(args.repeat):  # in turn, so a noisy spell hits every kind alike
                for name in RUNS:
                    if name.replace(",", "") not in wanted:
                        continue
                    reset(root)
                    home = Path(tmp) / f"{name.split()[0]}-{count}-{time.time_ns()}"
                    env = isolated_env(sandbox_env, home)
                    if name in ("bare", "runner"):
                        got = run_worker(name, args, count, env)
                    else:
                        got = run_cli(args, file, env, json_lines=name == "cli --json")
                    runs.setdefault(name, []).append(got)
            rows.extend((count, name, Figures.median(each)) for name, each in runs.items())
    ideal = {n: 2 * n * args.latency_ms / 1000 / args.concurrency for n in sizes}
    print(f"{'orders':>8} {'run':<18} {'wall':>8} {'x bare':>7} {'CPU/order':>10} {'x bare':>7} "
          f"{'peak RSS':>9} {'x bare':>7}  outcomes")  # fmt: skip
    for count in sizes:
        base = next((f for n, name, f in rows if n == count and name == "bare"), None)
        for n, name, f in rows:
            if n != count:
                continue
            if base is None:
                print(f"{count:>8,} {name:<18} {f.elapsed:7.2f}s {'':>7} "
                      f"{f.cpu / count * 1000:8.2f}ms {'':>7} {f.rss:7.1f}MB {'':>7}  "
                      f"{f.outcomes}")  # fmt: skip
                continue
            print(
                f"{count:>8,} {name:<18} {f.elapsed:7.2f}s {f.elapsed / base.elapsed:6.2f}x "
                f"{f.cpu / count * 1000:8.2f}ms {f.cpu / base.cpu:6.2f}x "
                f"{f.rss:7.1f}MB {f.rss / base.rss:6.2f}x  {f.outcomes}"
            )
        print(f"{'':>8} (ideal wall: N x 2 requests x latency / concurrency = {ideal[count]:.2f}s)")
    small, large = min(sizes), max(sizes)
    for name in RUNS:
        a = next((f for n, k, f in rows if n == small and k == name), None)
        b = next((f for n, k, f in rows if n == large and k == name), None)
        if a is not None and b is not None and large != small:
            print(f"peak RSS at {large:,} vs {small:,} orders, {name:<18} {b.rss / a.rss:5.2f}x")
    runner_cpu = [f.cpu / n for n, k, f in rows if k == "runner"]
    bare_cpu = [f.cpu / n for n, k, f in rows if k == "bare"]
    if runner_cpu and len(runner_cpu) == len(bare_cpu):
        worst = max(r / b for r, b in zip(runner_cpu, bare_cpu, strict=True))
        print(f"aim: runner CPU per order within {AIM_CPU}x bare: "
              f"{'met' if worst <= AIM_CPU else 'NOT met'} (worst {worst:.2f}x)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
