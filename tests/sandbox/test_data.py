"""The generated demo data: size, coverage of every state, showcase orders, determinism."""

from __future__ import annotations

from tui.sandbox import showcase
from tui.sandbox.providers import generate, pattern

SEED = 20261123


def test_a_few_hundred_orders_in_all() -> None:
    data = generate(SEED)
    assert 300 <= data.count() <= 500
    assert all(len(ids) >= 80 for ids in data.identifiers().values())


def test_generation_is_deterministic() -> None:
    one, two = generate(SEED), generate(SEED)
    assert one.identifiers() == two.identifiers()
    assert one.pattern == two.pattern
    assert one.ordermesh == two.ordermesh
    assert one.shoplazza == two.shoplazza
    assert one.rx == two.rx
    assert generate(SEED + 1).identifiers() != one.identifiers()


def test_showcase_orders_do_not_depend_on_the_seed() -> None:
    one, two = generate(1), generate(2)
    for provider, entries in showcase.SHOWCASE.items():
        for identifier, _ in entries:
            if provider == "pattern":
                assert one.pattern[identifier] == two.pattern[identifier]
            elif provider == "ordermesh":
                assert one.ordermesh[identifier] == two.ordermesh[identifier]
            elif provider == "shoplazza":
                assert one.shoplazza[identifier] == two.shoplazza[identifier]
            else:
                assert one.rx.orders[identifier] == two.rx.orders[identifier]


def test_pattern_covers_every_warehouse_status_and_outcome() -> None:
    orders = generate(SEED).pattern.values()
    statuses = {wo.status for order in orders for wo in order.warehouse_orders}
    assert statuses == {*pattern.WAREHOUSE_STATUSES, "cancelled"}
    outcomes = set()
    for order in orders:
        cancellable = [wo for wo in order.warehouse_orders if wo.status in pattern.CANCELLABLE]
        if len(cancellable) == len(order.warehouse_orders):
            outcomes.add(200)
        elif cancellable:
            outcomes.add(206)
        else:
            outcomes.add(409)
    assert outcomes == {200, 206, 409}
    assert all(wo.warehouse_order_id > 0 for order in orders for wo in order.warehouse_orders)


def test_ordermesh_covers_every_order_status() -> None:
    orders = generate(SEED).ordermesh.values()
    assert {order.status for order in orders} == {
        "Pending",
        "Processing",
        "Shipped",
        "Cancelled",
        "PartiallyCancelled",
    }
    assert any(len(order.items) >= 3 for order in orders)
    assert any(item.quantity > 1 for order in orders for item in order.items)
    assert all(len(order.id) == 24 and int(order.id, 16) for order in orders)


def test_rx_trays_identify_one_active_job_and_pos_are_unique() -> None:
    lab = generate(SEED).rx
    assert all(job.active for job in lab.by_tray.values())
    pos = [job.po_number for job in lab.orders.values() if job.po_number]
    assert len(pos) == len(set(pos))
    assert any("/" in po for po in pos)
    assert lab.find(showcase.RX_CANCELLABLE_PO) is lab.orders[showcase.RX_CANCELLABLE_ORDER]
    assert lab.find(showcase.RX_COMPLETED_TRAY) is None
