"""Demo data for all four providers, generated deterministically from one seed.

Each provider draws from its own `random.Random` stream (seeded with the seed and its key), so
the same seed always gives the same orders; the showcase orders (`showcase.py`) do not depend on
the seed at all.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from .providers import ordermesh, pattern, rxuniverse, shoplazza


@dataclass
class DemoData:
    pattern: dict[str, pattern.MarketOrder]
    ordermesh: dict[str, ordermesh.MeshOrder]
    shoplazza: dict[str, shoplazza.ShopOrder]
    shoplazza_numbers: dict[str, shoplazza.ShopOrder]
    rx: rxuniverse.RxLab

    def identifiers(self) -> dict[str, list[str]]:
        """Every order's primary identifier, per provider, in a stable order."""
        return {
            "pattern": sorted(self.pattern),
            "ordermesh": sorted(self.ordermesh),
            "shoplazza": sorted(self.shoplazza),
            "rxuniverse": sorted(self.rx.orders),
        }

    def count(self) -> int:
        """How many orders there are across the four providers."""
        return sum(len(ids) for ids in self.identifiers().values())


def generate(seed: int, extra_orders: Mapping[str, int] | None = None) -> DemoData:
    """Fresh demo data for `seed`, plus `extra_orders` open orders per provider (see
    `SandboxConfig.extra_orders`)."""

    def stream(provider: str) -> random.Random:
        return random.Random(f"stopline-sandbox:{seed}:{provider}")

    shop = shoplazza.generate(stream("shoplazza"))
    data = DemoData(
        pattern=pattern.generate(stream("pattern")),
        ordermesh=ordermesh.generate(stream("ordermesh")),
        shoplazza=shop,
        shoplazza_numbers={order.number: order for order in shop.values()},
        rx=rxuniverse.generate(stream("rxuniverse")),
    )
    for provider, count in (extra_orders or {}).items():
        _add_extra_orders(data, provider, count)
    return data


def extra_order_ids(provider: str, count: int) -> list[str]:
    """The identifiers of the orders `SandboxConfig.extra_orders` adds, in order. They cannot
    clash with generated ones (Pattern prefixes are 111-114 and 702; OrderMesh ids start with
    a 2024-2025 timestamp)."""
    if provider == "pattern":
        return [f"900-{i:07d}-0000000" for i in range(1, count + 1)]
    if provider == "ordermesh":
        return [f"ffff0000{i:016x}" for i in range(1, count + 1)]
    raise ValueError(f"extra orders are not available for {provider}")


def _add_extra_orders(data: DemoData, provider: str, count: int) -> None:
    created = datetime(2025, 1, 1, tzinfo=UTC)
    for i, order_id in enumerate(extra_order_ids(provider, count), start=1):
        if provider == "pattern":
            data.pattern[order_id] = pattern.MarketOrder(
                order_id,
                [pattern.WarehouseOrder(9_000_000 + i, "new", [pattern.PatternItem("BULK-1", 1)])],
            )
        else:
            item = ordermesh.MeshItem(f"fffe0000{i:016x}", "BULK-1", "Bulk item", 1, "Pending")
            data.ordermesh[order_id] = ordermesh.MeshOrder(
                order_id, f"BULK-{i}", f"OM-B{i:06d}", [item], created, created
            )
