"""A long-lived process standing in for the console: it runs a batch through the same
:class:`BatchRunner` the console's batch screen uses, stops it the way ``s`` does (the task
is cancelled) while a cancel is in flight, prints ``stopped`` — and then stays open, as a
console does for hours.

argv: PROVIDER SANDBOX_ROOT_URL ORDER... STAY_SECONDS
"""

import asyncio
import sys

from tui.core.batch.parse import BatchRow
from tui.core.batch.runner import BatchRunner
from tui.core.domain import CancelRequest
from tui.runtime import open_runtime
from tui.sandbox import control


async def main(provider: str, root: str, orders: list[str], stay: float) -> None:
    service = open_runtime().open_service()
    rows = [
        BatchRow(n, CancelRequest(provider=provider, order_id=order, reason="stock-out"))
        for n, order in enumerate(orders, start=1)
    ]
    task = asyncio.create_task(BatchRunner(service, 4).run(rows))
    while len(control.calls(root, "cancel")) < len(orders):  # noqa: ASYNC110 (another process)
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    print("stopped", flush=True)
    await asyncio.sleep(stay)
    await service.aclose()


if __name__ == "__main__":
    provider, root, *orders, stay = sys.argv[1:]
    asyncio.run(main(provider, root, orders, float(stay)))
