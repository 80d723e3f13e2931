"""A long-lived process standing in for the console's lookup screen: one cancel through the
service's event stream (as the screen's worker runs it), its final outcome printed as JSON,
then it stays open — as a console does for hours.

argv: PROVIDER ORDER STAY_SECONDS"""

import asyncio
import json
import sys

from tui.core.domain import CancelRequest
from tui.runtime import open_runtime


async def main(provider: str, order: str, stay: float) -> None:
    service = open_runtime().open_service()
    request = CancelRequest(provider=provider, order_id=order, reason="stock-out")
    final = None
    try:
        async for event in service.cancel_events(request, confirm=True):
            final = event
    except Exception as exc:  # as the screen's worker does: shown, and the console stays
        print(json.dumps({"kind": "failed", "error": type(exc).__name__}), flush=True)
    else:
        outcome = final.outcome.model_dump(mode="json") if final and final.outcome else {}
        print(json.dumps({"kind": type(final).__name__, **outcome}), flush=True)
    await asyncio.sleep(stay)
    await service.aclose()


if __name__ == "__main__":
    provider, order, stay = sys.argv[1:]
    asyncio.run(main(provider, order, float(stay)))
