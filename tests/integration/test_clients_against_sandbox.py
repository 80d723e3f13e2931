"""The real adapters, over real HTTP, against the simulator: every outcome a cancel can have."""

from __future__ import annotations

import pytest

from tui.core.domain import CancelRequest, ItemSelection, LookupState, Outcome
from tui.core.service import StoplineService
from tui.sandbox import control, showcase


def request(provider: str, order_id: str, reason: str = "customer request", **kw: object):
    return CancelRequest(provider=provider, order_id=order_id, reason=reason, **kw)


@pytest.mark.parametrize(
    ("provider", "identifier", "found_by"),
    [
        ("pattern", showcase.PATTERN_PARTIAL, "market_order_id"),
        ("ordermesh", showcase.ORDERMESH_MULTI_ITEM, "order_id"),
        ("shoplazza", showcase.SHOPLAZZA_OPEN_ID, "order_id"),
        ("shoplazza", "1004", "order_number"),
        ("shoplazza", "#1004", "order_number"),
        ("rxuniverse", "72544", "order_number"),
        ("rxuniverse", "337178", "tray"),
        ("rxuniverse", "PO/2026/0042", "po"),
    ],
)
async def test_lookup_finds_each_identifier_kind(
    service: StoplineService, provider: str, identifier: str, found_by: str
) -> None:
    [result] = await service.lookup_all(identifier, [provider])
    assert result.state is LookupState.FOUND, result.error
    assert result.orders[0].found_by == found_by


async def test_fan_out_finds_an_order_only_where_it_lives(service: StoplineService) -> None:
    results = {r.provider: r for r in await service.lookup_all("PO/2026/0042")}
    assert results["rxuniverse"].state is LookupState.FOUND
    assert results["ordermesh"].state is LookupState.SKIPPED  # not a 24-hex id
    assert results["pattern"].state is LookupState.NOT_FOUND
    assert results["shoplazza"].state is LookupState.NOT_FOUND


async def test_pattern_all_cancellable_is_complete_then_confirmed(
    service: StoplineService,
) -> None:
    req = request("pattern", showcase.PATTERN_ALL_CANCELLABLE)
    outcome = await service.cancel(req)
    assert outcome.outcome is Outcome.COMPLETE
    assert outcome.http_status == 200
    assert not outcome.confirmed  # asynchronous: initiated only
    updates = [u async for u in service.confirm(outcome, req)]
    assert updates[-1].confirmed
    assert updates[-1].outcome is Outcome.COMPLETE


async def test_pattern_partial_lists_both_sides(service: StoplineService) -> None:
    outcome = await service.cancel(request("pattern", showcase.PATTERN_PARTIAL))
    assert outcome.outcome is Outcome.PARTIAL
    assert outcome.http_status == 206
    assert outcome.cancelled and outcome.not_cancelled
    assert all(line.reason for line in outcome.not_cancelled)


async def test_pattern_409_is_refused_even_though_success_is_true(
    service: StoplineService,
) -> None:
    outcome = await service.cancel(request("pattern", showcase.PATTERN_NONE))
    assert outcome.outcome is Outcome.REFUSED
    assert outcome.cancelled == []


async def test_ordermesh_item_cancel_decreases_quantity(service: StoplineService) -> None:
    [before] = (await service.lookup_all(showcase.ORDERMESH_MULTI_ITEM, ["ordermesh"]))[0].orders
    first = before.lines[0]
    assert first.quantity == 3
    outcome = await service.cancel(
        request(
            "ordermesh",
            showcase.ORDERMESH_MULTI_ITEM,
            items=(ItemSelection(id=first.id, quantity=2),),
        )
    )
    assert outcome.outcome is Outcome.COMPLETE and outcome.confirmed
    [after] = (await service.lookup_all(showcase.ORDERMESH_MULTI_ITEM, ["ordermesh"]))[0].orders
    assert after.lines[0].quantity == 1
    assert after.lines[1].quantity == before.lines[1].quantity


async def test_ordermesh_shipped_order_is_refused(service: StoplineService) -> None:
    outcome = await service.cancel(request("ordermesh", showcase.ORDERMESH_SHIPPED))
    assert outcome.outcome is Outcome.REFUSED
    assert outcome.http_status == 400


async def test_shoplazza_cancel_returns_the_cancelled_order(service: StoplineService) -> None:
    outcome = await service.cancel(request("shoplazza", showcase.SHOPLAZZA_OPEN_ID))
    assert outcome.outcome is Outcome.COMPLETE and outcome.confirmed
    assert outcome.request_id
    again = await service.cancel(request("shoplazza", showcase.SHOPLAZZA_OPEN_ID))
    assert again.outcome is Outcome.REFUSED
    assert again.http_status == 406


async def test_rxuniverse_needs_a_reason_code_and_refuses_past_a_station(
    service: StoplineService,
) -> None:
    free_text = await service.cancel(request("rxuniverse", "72544", reason="because"))
    assert free_text.outcome is Outcome.ERROR
    assert free_text.http_status is None  # refused before anything was sent
    ok = await service.cancel(request("rxuniverse", "PO/2026/0042", reason="Customer request"))
    assert ok.outcome is Outcome.COMPLETE
    station = await service.cancel(request("rxuniverse", "72545", reason="1"))
    assert station.outcome is Outcome.REFUSED
    [found] = (await service.lookup_all("72544", ["rxuniverse"]))[0].orders
    assert found.cancelled


async def test_rxuniverse_without_configured_codes_lets_the_lab_decide(
    sandbox: object, root_url: str
) -> None:
    """No codes in Stopline's settings: the reason goes as given and the lab's answer is
    turned into words that say what to configure; a code the lab knows goes through."""
    from tui.core.settings import load_settings
    from tui.runtime import env_to_overrides

    overrides = env_to_overrides(sandbox.settings_env())  # type: ignore[attr-defined]
    del overrides["rxuniverse"]["reason_codes"], overrides["rxuniverse"]["reason_required"]
    async with StoplineService.from_settings(load_settings(**overrides)) as service:
        assert service.provider("rxuniverse").reason_codes == {}
        free_text = await service.cancel(request("rxuniverse", "72544", reason="because"))
        assert free_text.outcome is Outcome.ERROR and free_text.http_status == 400
        assert "does not know this delete reason" in free_text.message
        assert "Provided: because" in free_text.message
        coded = await service.cancel(request("rxuniverse", "72544", reason="x", reason_code="2"))
        assert coded.outcome is Outcome.COMPLETE
        again = await service.cancel(request("rxuniverse", "72544", reason_code="2"))
        assert again.outcome is Outcome.REFUSED
        assert "already marked for cancellation" in again.message


async def test_not_found(service: StoplineService) -> None:
    for provider, ident in [
        ("pattern", "114-0000000-0000000"),
        ("ordermesh", "0" * 24),
        ("shoplazza", "999999-99999999"),
        ("rxuniverse", "99999999"),
    ]:
        outcome = await service.cancel(request(provider, ident, reason="1"))
        assert outcome.outcome is Outcome.NOT_FOUND, provider


async def test_timeout_after_applying_is_unknown_then_reconciled(
    service: StoplineService, root_url: str
) -> None:
    control.add_fault(
        root_url, provider="shoplazza", mode="timeout", operations=["cancel"], when="after"
    )
    outcome = await service.cancel(request("shoplazza", showcase.SHOPLAZZA_OPEN_ID))
    # The answer was lost, but the look-up that follows shows the order cancelled.
    assert outcome.outcome is Outcome.COMPLETE
    assert outcome.confirmed
    assert any("look-up" in w for w in outcome.warnings)


async def test_timeout_before_applying_stays_unknown(
    service: StoplineService, root_url: str
) -> None:
    control.add_fault(
        root_url, provider="shoplazza", mode="timeout", operations=["cancel"], when="before"
    )
    outcome = await service.cancel(request("shoplazza", showcase.SHOPLAZZA_OPEN_ID))
    assert outcome.outcome is Outcome.UNKNOWN
    assert not outcome.confirmed


async def test_server_error_is_error_for_lookup_and_never_success_for_cancel(
    service: StoplineService, root_url: str
) -> None:
    control.add_fault(root_url, provider="ordermesh", mode="error", status=503)
    [result] = await service.lookup_all(showcase.ORDERMESH_MULTI_ITEM, ["ordermesh"])
    assert result.state is LookupState.ERROR
    outcome = await service.cancel(request("ordermesh", showcase.ORDERMESH_MULTI_ITEM))
    assert outcome.outcome in (Outcome.UNKNOWN, Outcome.ERROR)


async def test_revoked_token_is_renewed_once(service: StoplineService, root_url: str) -> None:
    [first] = await service.lookup_all(showcase.PATTERN_PARTIAL, ["pattern"])
    assert first.state is LookupState.FOUND
    assert control.revoke_tokens(root_url) >= 1
    [again] = await service.lookup_all(showcase.PATTERN_PARTIAL, ["pattern"])
    assert again.state is LookupState.FOUND
    assert service.providers["pattern"].tokens.fetch_count == 2  # type: ignore[attr-defined]


async def test_rate_limit_is_waited_out(service: StoplineService, root_url: str) -> None:
    control.add_fault(
        root_url, provider="shoplazza", mode="rate_limit", operations=["lookup"], count=2
    )
    [result] = await service.lookup_all("1004", ["shoplazza"])
    assert result.state is LookupState.FOUND
