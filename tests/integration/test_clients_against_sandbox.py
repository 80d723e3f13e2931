"""The real adapters, over real HTTP, against the simulator: every outcome a cancel can have,
through the one lifecycle (claim → look-up → write-ahead → send → answer)."""

from __future__ import annotations

import asyncio

import pytest

from tui.core.domain import CancelRequest, ItemSelection, LookupState, Outcome
from tui.core.identifiers import InvalidInput
from tui.core.lifecycle import Answered, Done, NotSent, Updated, Why
from tui.core.service import StoplineService
from tui.sandbox import control, showcase


def request(provider: str, order_id: str, reason: str = "customer request", **kw: object):
    return CancelRequest(provider=provider, order_id=order_id, reason=reason, **kw)


async def sent(service: StoplineService, req: CancelRequest, **kw: bool) -> Done:
    final = await service.cancel(req, **kw)
    assert isinstance(final, Done), final
    return final


def cancels(root_url: str) -> list[dict[str, str]]:
    """The cancel requests the sandbox received."""
    return control.calls(root_url, "cancel")


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
    service: StoplineService, root_url: str
) -> None:
    req = request("pattern", showcase.PATTERN_ALL_CANCELLABLE)
    events = [e async for e in service.cancel_events(req, confirm=True)]
    answered = next(e for e in events if isinstance(e, Answered))
    assert answered.outcome.outcome is Outcome.COMPLETE
    assert answered.outcome.http_status == 200
    assert not answered.outcome.confirmed  # asynchronous: initiated only
    assert answered.confirming
    updates = [e for e in events if isinstance(e, Updated)]
    assert updates and updates[-1].outcome.confirmed
    final = events[-1]
    assert isinstance(final, Done)
    assert final.outcome.confirmed and final.outcome.outcome is Outcome.COMPLETE
    assert len(cancels(root_url)) == 1


async def test_pattern_initiated_is_awaited_not_sent_again_and_rechecked(
    service: StoplineService, root_url: str
) -> None:
    req = request("pattern", showcase.PATTERN_ALL_CANCELLABLE)
    initiated = await sent(service, req)
    assert initiated.outcome.outcome is Outcome.COMPLETE and not initiated.outcome.confirmed

    again = await service.cancel(req)
    assert isinstance(again, NotSent) and again.why is Why.AWAITING_CONFIRMATION
    assert len(cancels(root_url)) == 1

    attempt_id = initiated.outcome.attempt_id
    assert attempt_id is not None
    # The sandbox applies Pattern cancels after a delay: re-check until it shows it.
    for _ in range(200):
        result = await service.recheck(attempt_id)
        if result.attempt.confirmed:
            break
        await asyncio.sleep(0.05)
    assert result.attempt.confirmed and result.attempt.outcome is Outcome.COMPLETE
    assert len(cancels(root_url)) == 1


async def test_pattern_partial_lists_both_sides(service: StoplineService) -> None:
    outcome = (await sent(service, request("pattern", showcase.PATTERN_PARTIAL))).outcome
    assert outcome.outcome is Outcome.PARTIAL
    assert outcome.http_status == 206
    assert outcome.cancelled and outcome.not_cancelled
    assert all(line.reason for line in outcome.not_cancelled)


async def test_pattern_409_is_refused_even_though_success_is_true(
    service: StoplineService,
) -> None:
    outcome = (await sent(service, request("pattern", showcase.PATTERN_NONE))).outcome
    assert outcome.outcome is Outcome.REFUSED
    assert outcome.cancelled == []


async def test_ordermesh_item_cancel_decreases_quantity(service: StoplineService) -> None:
    [before] = (await service.lookup_all(showcase.ORDERMESH_MULTI_ITEM, ["ordermesh"]))[0].orders
    first = before.lines[0]
    assert first.quantity == 3
    outcome = (
        await sent(
            service,
            request(
                "ordermesh",
                showcase.ORDERMESH_MULTI_ITEM,
                items=(ItemSelection(id=first.id, quantity=2),),
            ),
        )
    ).outcome
    assert outcome.outcome is Outcome.COMPLETE and outcome.confirmed
    [after] = (await service.lookup_all(showcase.ORDERMESH_MULTI_ITEM, ["ordermesh"]))[0].orders
    assert after.lines[0].quantity == 1
    assert after.lines[1].quantity == before.lines[1].quantity
    attempt = await service.attempt(outcome.attempt_id)  # type: ignore[arg-type]
    assert attempt is not None and attempt.before is not None
    assert attempt.before.lines[0].quantity == 3  # the order as it was when sent


async def test_ordermesh_items_that_do_not_fit_are_not_sent(
    service: StoplineService, root_url: str
) -> None:
    from tui.core.identifiers import InvalidInput

    [order] = (await service.lookup_all(showcase.ORDERMESH_MULTI_ITEM, ["ordermesh"]))[0].orders
    first = order.lines[0]
    assert first.quantity == 3
    for item, words in (
        (ItemSelection(id="nope", quantity=1), "item nope is not on"),
        (ItemSelection(id=first.id, quantity=4), "4 asked, only 3 left"),
    ):
        req = request("ordermesh", showcase.ORDERMESH_MULTI_ITEM, items=(item,))
        with pytest.raises(InvalidInput, match=words):
            await service.cancel(req)
    assert cancels(root_url) == []
    assert await service.attempts() == []


async def test_ordermesh_shipped_order_is_refused(service: StoplineService) -> None:
    outcome = (await sent(service, request("ordermesh", showcase.ORDERMESH_SHIPPED))).outcome
    assert outcome.outcome is Outcome.REFUSED
    assert outcome.http_status == 400


async def test_shoplazza_cancel_returns_the_cancelled_order(
    service: StoplineService, root_url: str
) -> None:
    outcome = (await sent(service, request("shoplazza", showcase.SHOPLAZZA_OPEN_ID))).outcome
    assert outcome.outcome is Outcome.COMPLETE and outcome.confirmed
    assert outcome.request_id
    # Asked again, the look-up shows it cancelled: nothing is sent (it used to earn a 406).
    again = await service.cancel(request("shoplazza", showcase.SHOPLAZZA_OPEN_ID))
    assert isinstance(again, NotSent) and again.why is Why.ALREADY_CANCELLED
    assert len(cancels(root_url)) == 1


async def test_shoplazza_finished_order_is_refused(service: StoplineService) -> None:
    outcome = (await sent(service, request("shoplazza", showcase.SHOPLAZZA_FINISHED_ID))).outcome
    assert outcome.outcome is Outcome.REFUSED
    assert outcome.http_status == 406


async def test_shoplazza_number_is_cancelled_under_the_real_id(
    service: StoplineService, root_url: str
) -> None:
    final = await sent(service, request("shoplazza", showcase.SHOPLAZZA_OPEN_NUMBER))
    assert final.outcome.outcome is Outcome.COMPLETE
    assert final.outcome.order_id == showcase.SHOPLAZZA_OPEN_ID
    (call,) = cancels(root_url)
    assert showcase.SHOPLAZZA_OPEN_ID in call["path"]
    (attempt,) = await service.attempts()
    assert attempt.order_id == showcase.SHOPLAZZA_OPEN_ID


async def test_rxuniverse_needs_a_reason_code_and_refuses_past_a_station(
    service: StoplineService,
) -> None:
    # A reason that is none of the lab's codes is refused before any claim or write-ahead.
    with pytest.raises(InvalidInput, match="this lab needs one of its reason codes"):
        await service.cancel(request("rxuniverse", "72544", reason="because"))
    assert await service.attempts() == []
    # By its PO number: resolved to the order number, claimed under it and sent.
    ok = await sent(service, request("rxuniverse", "PO/2026/0042", reason="Customer request"))
    assert ok.outcome.outcome is Outcome.COMPLETE
    assert ok.outcome.order_id == "72544"
    assert any("is order 72544" in note for note in ok.notes)
    station = (await sent(service, request("rxuniverse", "72545", reason="1"))).outcome
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
        sent = await service.cancel(request("rxuniverse", "72544", reason="because"))
        assert isinstance(sent, Done)
        free_text = sent.outcome
        assert free_text.outcome is Outcome.ERROR and free_text.http_status == 400
        assert "does not know this delete reason" in free_text.message
        assert "Provided: because" in free_text.message
        coded = await service.cancel(request("rxuniverse", "72544", reason="x", reason_code="2"))
        assert isinstance(coded, Done) and coded.outcome.outcome is Outcome.COMPLETE
        # Marked for cancellation now: the look-up says so, and nothing more is sent.
        again = await service.cancel(request("rxuniverse", "72544", reason_code="2"))
        assert isinstance(again, NotSent) and again.why is Why.ALREADY_CANCELLED


async def test_not_found_is_not_sent(service: StoplineService, root_url: str) -> None:
    for provider, ident in [
        ("pattern", "114-0000000-0000000"),
        ("ordermesh", "0" * 24),
        ("shoplazza", "999999-99999999"),
        ("rxuniverse", "99999999"),
    ]:
        final = await service.cancel(request(provider, ident, reason="1"))
        assert isinstance(final, NotSent) and final.why is Why.NOT_FOUND, provider
        assert final.outcome is not None and final.outcome.outcome is Outcome.NOT_FOUND
    assert cancels(root_url) == []
    assert await service.attempts() == []


async def test_timeout_after_applying_is_unknown_then_reconciled(
    service: StoplineService, root_url: str
) -> None:
    control.add_fault(
        root_url, provider="shoplazza", mode="timeout", operations=["cancel"], when="after"
    )
    outcome = (await sent(service, request("shoplazza", showcase.SHOPLAZZA_OPEN_ID))).outcome
    # The answer was lost, but the look-up that follows shows the order cancelled.
    assert outcome.outcome is Outcome.COMPLETE
    assert outcome.confirmed
    assert any("look-up" in w for w in outcome.warnings)
    assert len(cancels(root_url)) == 1


async def test_timeout_before_applying_stays_unknown_and_holds_the_order(
    service: StoplineService, root_url: str
) -> None:
    control.add_fault(
        root_url, provider="shoplazza", mode="timeout", operations=["cancel"], when="before"
    )
    req = request("shoplazza", showcase.SHOPLAZZA_OPEN_ID)
    outcome = (await sent(service, req)).outcome
    assert outcome.outcome is Outcome.UNKNOWN
    assert not outcome.confirmed
    # Inside its window the order stays held: nothing is sent again.
    again = await service.cancel(req)
    assert isinstance(again, NotSent) and again.why is Why.EARLIER_UNKNOWN
    assert len(cancels(root_url)) == 1


async def test_server_error_is_error_for_lookup_and_nothing_is_sent(
    service: StoplineService, root_url: str
) -> None:
    control.add_fault(root_url, provider="ordermesh", mode="error", status=503)
    [result] = await service.lookup_all(showcase.ORDERMESH_MULTI_ITEM, ["ordermesh"])
    assert result.state is LookupState.ERROR
    final = await service.cancel(request("ordermesh", showcase.ORDERMESH_MULTI_ITEM))
    assert isinstance(final, NotSent) and final.why is Why.LOOKUP_FAILED
    assert final.outcome is not None and final.outcome.outcome is Outcome.ERROR
    assert cancels(root_url) == []


async def test_server_error_on_the_cancel_alone_is_never_success(
    service: StoplineService, root_url: str
) -> None:
    control.add_fault(
        root_url, provider="ordermesh", mode="error", status=503, operations=["cancel"]
    )
    final = await sent(service, request("ordermesh", showcase.ORDERMESH_MULTI_ITEM))
    assert final.outcome.outcome in (Outcome.UNKNOWN, Outcome.ERROR)
    assert not final.outcome.cancelled
    assert len(cancels(root_url)) == 1


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
