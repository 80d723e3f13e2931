"""A long-lived process standing in for the console: it runs a batch through the same
:class:`BatchRunner` the console's batch screen uses, stops it the way ``s`` does (the task
is cancelled), prints ``stopped`` — and then stays open, as a console does for hours.

argv: WHEN PROVIDER SANDBOX_ROOT_URL ORDER... STAY_SECONDS, where WHEN is

* ``sending``: stop while every order's cancel request is with the provider;
* ``rechecking``: stop while the look-up that settles an unanswered cancel runs (the
  provider is made slow to answer it).
"""

import asyncio
import sys

from tui.core.batch.parse import BatchRow
from tui.core.batch.runner import BatchRunner
from tui.core.domain import CancelRequest
from tui.runtime import open_runtime
from tui.sandbox import control


async def main(when: str, provider: str, root: str, orders: list[str], stay: float) -> None:
    service = open_runtime().open_service()
    rows = [
        BatchRow(n, CancelRequest(provider=provider, order_id=order, reason="stock-out"))
        for n, order in enumerate(orders, start=1)
    ]
    task = asyncio.create_task(BatchRunner(service, 4).run(rows))
    while len(control.calls(root, "cancel")) < len(orders):  # noqa: ASYNC110 (another process)
        await asyncio.sleep(0.02)
    if when == "rechecking":
        control.add_fault(
            root, provider=provider, mode="latency", latency_ms=6000, operations=["lookup"]
        )
        looked = len(control.calls(root, "lookup"))
        while len(control.calls(root, "lookup")) <= looked:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    control.clear_faults(root)
    print("stopped", flush=True)
    await asyncio.sleep(stay)
    await service.aclose()


if __name__ == "__main__":
    when, provider, root, *orders, stay = sys.argv[1:]
    asyncio.run(main(when, provider, root, orders, float(stay)))
