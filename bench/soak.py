"""Bounded soak: 10,000 mixed operations through the real service with 5 % injected faults.

    .venv/bin/python bench/soak.py [--ops 10000] [--concurrency 16] [--fault-rate 0.05]
        [--max-seconds 600] [--seed 1]

Starts a `SandboxServer` in a child process on loopback (so this process's memory, sockets
and tasks are Stopline's alone) with fresh cancellable orders (`SandboxConfig.extra_orders`)
and fault rules of every kind (error, timeout, malformed JSON, HTML error page, reset, 401,
429; `before` and, where the call may have applied, `after`) whose rates add up to
`--fault-rate` of provider calls. Then drives `StoplineService` (adapters over HTTP, the
write-ahead journal, the support log, all in a temporary folder) with a mix of operations:

* 50 % look-ups fanned out to every provider, of random demo orders;
* 25 % cancels of fresh orders (Pattern and OrderMesh), each through the whole lifecycle:
  claim, look-up, write-ahead, cancel (a fault on the look-up means nothing is sent);
* 15 % re-checks of earlier attempts (a look-up, never a second cancel);
* 10 % small batches (3 fresh orders) through `BatchRunner`.

Every 1,000 operations it prints the resident memory (should stay flat), the sockets this
process holds open (bounded by the connection pools), the asyncio tasks alive (the workers
only) and the pace. At the end: tasks and sockets left once the service is closed (should be
~0), outcomes, how many calls the sandbox saw and how many faults fired, elapsed and ops/s.
It stops by itself after `--ops` operations or `--max-seconds`, whichever comes first, and
only ever talks to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import os
import random
import sys
import tempfile
import time
from collections import Counter, deque
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tui.sandbox import SandboxConfig  # noqa: E402
from tui.sandbox.providers import extra_order_ids  # noqa: E402

FRESH_KEYS = ("pattern", "ordermesh")
"""Providers whose fresh, cancellable orders the cancels and batches use (the sandbox can add
them: `SandboxConfig.extra_orders`)."""
COUNT_FOREVER = 1_000_000_000
"""A rule's ``count``: large enough never to run out, so its ``remaining`` counts firings."""
TIMEOUT_S = 0.5
"""The providers' ``timeout_s``: a `timeout` fault costs this, not the default 15 s."""

WEIGHTS = {"lookup": 50, "cancel": 25, "recheck": 15, "batch": 10}


# -- the sandbox, in its own process ---------------------------------------------------------


def _serve(config: SandboxConfig, conn: Connection) -> None:
    from tui.sandbox import SandboxServer

    server = SandboxServer(config)
    server.start()
    conn.send((server.root_url, server.settings_env()))
    conn.recv()  # any message: stop
    server.stop()


def start_sandbox(fresh: int) -> tuple[Any, Connection, str, dict[str, str]]:
    config = SandboxConfig(
        pattern_cancel_delay_s=0.0,
        shoplazza_rate_per_s=None,
        extra_orders=dict.fromkeys(FRESH_KEYS, fresh),
    )
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_serve, args=(config, child), daemon=True)
    process.start()
    if not parent.poll(60):
        process.kill()
        raise SystemExit("soak: the sandbox did not start")
    root, env = parent.recv()
    return process, parent, root, env


FAULTS: list[dict[str, Any]] = [
    *(
        {"mode": mode, "when": when}
        for mode in ("error", "timeout", "malformed_json", "html_error", "reset")
        for when in ("before", "after")
    ),
    {"mode": "unauthorized", "when": "before"},
    {"mode": "rate_limit", "when": "before"},
]


def install_faults(http: httpx.Client, rate: float) -> tuple[int, list[int]]:
    """A counting rule (every call), then the fault rules; returns their ids."""
    counter = http.post(
        "/_sandbox/faults", json={"mode": "latency", "latency_ms": 0, "count": COUNT_FOREVER}
    ).json()["id"]
    # k independent rules each firing with q: 1 - (1 - q)^k = rate.
    each = 1 - (1 - rate) ** (1 / len(FAULTS))
    ids = []
    for rule in FAULTS:
        body = {**rule, "provider": "*", "rate": each, "count": COUNT_FOREVER}
        response = http.post("/_sandbox/faults", json=body)
        response.raise_for_status()
        ids.append(response.json()["id"])
    return counter, ids


def fired(http: httpx.Client) -> dict[int, int]:
    return {
        rule["id"]: COUNT_FOREVER - int(rule["remaining"])
        for rule in http.get("/_sandbox/faults").json()
    }


# -- this process ----------------------------------------------------------------------------


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def open_sockets() -> int:
    count = 0
    for fd in Path("/proc/self/fd").iterdir():
        try:
            if str(fd.readlink()).startswith("socket:"):
                count += 1
        except OSError:
            continue
    return count


def other_tasks() -> int:
    return len(asyncio.all_tasks()) - 1


async def soak(args: argparse.Namespace, root: str, env: dict[str, str], work: Path) -> int:
    from tui.core.batch import BatchRow, BatchRunner, BatchSummary
    from tui.core.domain import CancelRequest
    from tui.core.journal import SqliteJournal
    from tui.core.lifecycle import Done
    from tui.core.logs import setup_logging
    from tui.core.service import StoplineService
    from tui.core.settings import load_settings
    from tui.runtime import env_to_overrides

    overrides = env_to_overrides(env)
    for section in ("pattern", "ordermesh", "shoplazza", "rxuniverse"):
        overrides[section]["timeout_s"] = TIMEOUT_S
    overrides["shoplazza"]["rate_per_s"] = 100.0
    settings = load_settings(
        **overrides, data_dir=work / "data", log_dir=work / "log", operator="soak"
    )
    log_path = setup_logging(settings)
    # The service owns the journal (one thread of its own) and closes it.
    service = StoplineService.from_settings(
        settings, journal=SqliteJournal.open(settings.journal_path())
    )
    loop = asyncio.get_running_loop()
    loop_errors: list[str] = []
    loop.set_exception_handler(lambda _loop, context: loop_errors.append(context["message"]))

    rng = random.Random(args.seed)
    async with httpx.AsyncClient(base_url=root, timeout=10, trust_env=False) as http:
        listed = (await http.get("/_sandbox/orders")).json()
    demo_ids = [ident for ids in listed.values() for ident in ids]
    fresh = {key: iter(extra_order_ids(key, args.ops)) for key in FRESH_KEYS}
    fresh_keys = list(FRESH_KEYS)
    kinds = rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()), k=args.ops)
    # Attempt ids of recent cancels, to re-check; bounded, so that the soak itself holds no
    # growing state and the memory figures are Stopline's.
    done: deque[int] = deque(maxlen=500)
    ops = Counter[str]()
    outcomes = Counter[str]()
    unexpected = Counter[str]()
    next_op = 0
    started = time.perf_counter()
    deadline = started + args.max_seconds
    print(f"{'ops':>6} {'rss MiB':>8} {'sockets':>7} {'tasks':>5} {'ops/s':>7}  breakers")
    samples: list[float] = []

    def sample(count: int) -> None:
        elapsed = time.perf_counter() - started
        rss = rss_mib()
        samples.append(rss)
        breakers = " ".join(
            f"{key}={provider.breaker.state}"
            for key, provider in service.providers.items()
            if str(provider.breaker.state) != "closed"
        )
        print(
            f"{count:>6} {rss:>8.1f} {open_sockets():>7} {other_tasks():>5} "
            f"{count / elapsed:>7.0f}  {breakers or 'all closed'}",
            flush=True,
        )

    def fresh_request(index: int) -> Any:
        key = fresh_keys[index % len(fresh_keys)]
        return CancelRequest(provider=key, order_id=next(fresh[key]), reason="soak")

    async def one(index: int, kind: str) -> None:
        if kind == "lookup":
            for result in await service.lookup_all(rng.choice(demo_ids)):
                outcomes[f"lookup {result.state.value}"] += 1
        elif kind == "cancel":
            final = await service.cancel(fresh_request(index))
            if isinstance(final, Done):
                outcomes[f"cancel {final.outcome.outcome.value}"] += 1
                if final.outcome.attempt_id is not None:
                    done.append(final.outcome.attempt_id)
            else:
                outcomes[f"cancel not sent ({final.why.value})"] += 1
        elif kind == "recheck" and done:
            checked = await service.recheck(rng.choice(done))
            outcomes[f"recheck {checked.verdict.value}"] += 1
        elif kind == "batch":
            rows = [BatchRow(n, fresh_request(index + n)) for n in range(1, 4)]
            summary = await BatchRunner(service, concurrency=3).run(
                rows, summary=BatchSummary(keep_all=True)
            )
            for result in summary.results:
                sent = "" if result.not_sent is None else f" not sent ({result.not_sent.value})"
                outcomes[f"batch {result.status}{sent}"] += 1

    async def worker() -> None:
        nonlocal next_op
        while next_op < args.ops and time.perf_counter() < deadline:
            index, next_op = next_op, next_op + 1
            kind = kinds[index]
            try:
                await one(index, kind)
            except Exception as exc:  # anything escaping the service is a finding
                unexpected[f"{kind}: {type(exc).__name__}: {exc}"] += 1
            ops[kind] += 1
            if (index + 1) % 1000 == 0:
                sample(index + 1)

    sample(0)
    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    elapsed = time.perf_counter() - started
    total = sum(ops.values())
    tasks_before_close = other_tasks()
    sockets_before_close = open_sockets()
    await service.aclose()
    await asyncio.sleep(0.1)
    gc.collect()

    with httpx.Client(base_url=root, timeout=10, trust_env=False) as http:
        counts = fired(http)
    calls = counts.pop(min(counts))  # the counting rule was added first
    print()
    print(
        f"operations     {total} in {elapsed:.1f} s = {total / elapsed:.0f} ops/s "
        f"({', '.join(f'{k} {v}' for k, v in sorted(ops.items()))})"
    )
    print(
        f"provider calls {calls} seen by the sandbox; faults fired {sum(counts.values())} "
        f"({100 * sum(counts.values()) / max(1, calls):.1f} %)"
    )
    print(
        f"rss MiB        first {samples[0]:.1f}, after 1,000 ops "
        f"{samples[min(1, len(samples) - 1)]:.1f}, last {samples[-1]:.1f}, max {max(samples):.1f}"
    )
    print(
        f"at the end     tasks alive {tasks_before_close} (workers done) -> "
        f"{other_tasks()} after close; sockets {sockets_before_close} -> {open_sockets()} "
        "after close"
    )
    rows = journal_rows(settings)
    print(
        f"journal        {len(rows)} attempts, {sum(a.open for a in rows)} still open "
        f"(unknown until reconciled); log {log_path} "
        f"({log_path.stat().st_size if log_path else 0} bytes)"
    )
    print("outcomes       " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
    print(f"unexpected     {sum(unexpected.values())} exceptions, {len(loop_errors)} loop errors")
    for what, n in unexpected.most_common(10):
        print(f"  {n} x {what}")
    for message in loop_errors[:10]:
        print(f"  loop: {message}")
    errors = outcomes.get("cancel error", 0) + outcomes.get("batch error", 0)
    not_sent = sum(n for k, n in outcomes.items() if "not sent" in k)
    print(
        f"errors (provably not applied): {errors}; unknown: "
        f"{outcomes.get('cancel unknown', 0) + outcomes.get('batch unknown', 0)}; "
        f"not sent (look-up failed, held…): {not_sent}"
    )
    return 1 if unexpected or loop_errors else 0


def journal_rows(settings: Any) -> list[Any]:
    from tui.core.journal import SqliteStore

    with SqliteStore(settings.journal_path()) as journal:
        return journal.attempts(limit=None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--fault-rate", type=float, default=0.05)
    parser.add_argument("--max-seconds", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not 1 <= args.ops <= 100_000 or not 0 <= args.fault_rate < 1:
        parser.error("--ops must be 1..100000 and --fault-rate 0..1")
    for name in list(os.environ):
        if name.startswith("STOPLINE_"):
            del os.environ[name]
    # Cancels (25 %) and batch rows (10 % x 3) use at most 0.55 x ops fresh orders in all.
    process, conn, root, env = start_sandbox(fresh=args.ops)
    try:
        with tempfile.TemporaryDirectory(prefix="stopline-soak-") as tmp:
            work = Path(tmp)
            (work / "config.toml").write_text("")
            os.environ["STOPLINE_CONFIG"] = str(work / "config.toml")
            with httpx.Client(base_url=root, timeout=10, trust_env=False) as http:
                install_faults(http, args.fault_rate)
            print(
                f"soak: {args.ops} operations, {args.concurrency} at a time, "
                f"{100 * args.fault_rate:.0f} % faults, sandbox {root} (child process)"
            )
            return asyncio.run(soak(args, root, env, work))
    finally:
        conn.send("stop")
        process.join(10)
        if process.is_alive():
            process.kill()


if __name__ == "__main__":
    raise SystemExit(main())
