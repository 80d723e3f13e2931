"""Fixed demo orders that show one outcome each, reset to the same state at every sandbox start.

The generated demo data (see `data.py`) adds a few hundred more orders around these. The README
and the UI's demo banner read `SHOWCASE`.
"""

from __future__ import annotations

# --- Pattern Hub -----------------------------------------------------------------------------

PATTERN_ALL_CANCELLABLE = "114-3941689-8772232"
"""Two warehouse orders, `new` and `backordered`: cancel answers 200, both initiated; the status
look-up shows them `cancelled` only after the asynchronous delay."""

PATTERN_PARTIAL = "114-5506610-2201458"
"""Three warehouse orders, `new`, `picked` and `backordered`: cancel answers 206."""

PATTERN_NONE = "114-7720013-9390114"
"""Two warehouse orders, `packed` and `departed`: cancel answers 409 (with `success: true`)."""

HOSTILE_TEXT_ORDER = "114-0000666-0000666"
"""A Pattern market order whose SKUs, cancel message and refusal reasons carry Rich markup
(`[bold red]x[/]`, a stray `[/]`), an ANSI escape and a BEL: for the client's sanitiser.
Cancel answers 409 every time, so it stays reusable."""

HOSTILE_TEXT = "[bold red]x[/] seal [/]broken \x1b[31mRED\x1b[0m ding\x07"
"""The hostile fragment embedded in `HOSTILE_TEXT_ORDER`'s texts."""

# --- OrderMesh -------------------------------------------------------------------------------

ORDERMESH_MULTI_ITEM = "670e58fe7741035996cf7d20"
"""Three items, quantities 3, 1 and 2, all `Pending`: cancel whole, per item or part of an
item's quantity. Its 200 answer is the `text/plain` "OK" variant."""

ORDERMESH_SHIPPED = "670e58fe7741035996cf7d21"
"""All items `Shipped`: cancel answers 400."""

# --- Shoplazza -------------------------------------------------------------------------------

SHOPLAZZA_OPEN_ID = "633130-00000004"
"""`placed`, paid, unfulfilled: cancel answers 200 with the order `cancelled`."""

SHOPLAZZA_OPEN_NUMBER = "1004"
"""Order number of `SHOPLAZZA_OPEN_ID` (look-up by number)."""

SHOPLAZZA_FINISHED_ID = "633130-00000005"
"""`finished`: cancel answers 406."""

SHOPLAZZA_FINISHED_NUMBER = "1005"
"""Order number of `SHOPLAZZA_FINISHED_ID`."""

# --- Rx-Universe -----------------------------------------------------------------------------

RX_CANCELLABLE_ORDER = "72544"
"""Active job at an early station that allows cancel: DELETE answers 200, then `/status` answers
200 "Order marked for cancelation". Also found by tray and by PO (which contains `/`)."""

RX_CANCELLABLE_TRAY = "337178"
"""Tray number of `RX_CANCELLABLE_ORDER`."""

RX_CANCELLABLE_PO = "PO/2026/0042"
"""PO number of `RX_CANCELLABLE_ORDER`; must be sent percent-encoded (`PO%2F2026%2F0042`)."""

RX_AT_NO_CANCEL_STATION = "72545"
"""Job that has been through 40 SURFACING: DELETE answers 400 (station prevents cancellation)."""

RX_AT_NO_CANCEL_STATION_TRAY = "337179"
"""Tray number of `RX_AT_NO_CANCEL_STATION`."""

RX_AT_NO_CANCEL_STATION_PO = "PO-7781"
"""PO number of `RX_AT_NO_CANCEL_STATION`."""

RX_COMPLETED = "72546"
"""Completed job (status C): DELETE answers 400 "Order already completed"."""

RX_COMPLETED_TRAY = "337180"
"""Tray of `RX_COMPLETED`; trays only find active jobs, so looking this one up answers 404."""

SHOWCASE: dict[str, list[tuple[str, str]]] = {
    "pattern": [
        (PATTERN_ALL_CANCELLABLE, "cancel 200: every warehouse order initiated, confirmed later"),
        (PATTERN_PARTIAL, "cancel 206: partial, one warehouse order already picked"),
        (PATTERN_NONE, "cancel 409: packed and departed, nothing cancellable"),
        (HOSTILE_TEXT_ORDER, "hostile text: Rich markup, ANSI and BEL in SKUs and reasons"),
    ],
    "ordermesh": [
        (ORDERMESH_MULTI_ITEM, "three items (qty 3, 1, 2): whole, per-item or partial quantity"),
        (ORDERMESH_SHIPPED, "cancel 400: every item already shipped"),
    ],
    "shoplazza": [
        (SHOPLAZZA_OPEN_ID, "cancel 200: placed, paid, unfulfilled (number 1004)"),
        (SHOPLAZZA_FINISHED_ID, "cancel 406: finished (number 1005)"),
    ],
    "rxuniverse": [
        (RX_CANCELLABLE_ORDER, "cancel 200: early station (tray 337178, PO PO/2026/0042)"),
        (RX_AT_NO_CANCEL_STATION, "cancel 400: has been through 40 SURFACING"),
        (RX_COMPLETED, "cancel 400: order already completed"),
    ],
}
"""Provider key → (identifier, what it demonstrates), for the README and the demo banner."""
