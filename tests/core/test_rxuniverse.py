"""Rx-Universe optical lab (seed 003): order/tray/PO identifiers, /status, DELETE with a reason."""

from __future__ import annotations

import json

import pytest

from tui.core.domain import CancelRequest, Outcome
from tui.core.errors import ProviderError

from .cases import RX_MARKED, rx_detail, rx_status

ORDERS = "/api/v2/orders"


def cancel_request(
    order_id: str = "72544", reason: str = "Customer request", code: str | None = None
) -> CancelRequest:
    return CancelRequest(provider="rxuniverse", order_id=order_id, reason=reason, reason_code=code)


@pytest.fixture
def rx(provider_for):
    return provider_for("rxuniverse")


def install(api, encoded: str, detail=None, status=None) -> None:
    api.add("GET", f"{ORDERS}/{encoded}", (200, detail or rx_detail()))
    api.add("GET", f"{ORDERS}/{encoded}/status", (200, status or rx_status()))


@pytest.mark.parametrize(
    ("identifier", "encoded", "found_by"),
    [
        ("72544", "72544", "order_number"),
        ("337178", "337178", "tray"),
        ("PO/55 #2", "PO%2F55%20%232", "po"),
    ],
)
async def test_lookup_by_order_tray_or_po(api, rx, identifier, encoded, found_by):
    status = {**rx_status(), "poNumber": "PO/55 #2"}
    install(api, encoded, detail=rx_detail(po="PO/55 #2"), status=status)

    order = await rx.lookup(identifier)

    assert len(api.calls("GET", f"{ORDERS}/{encoded}")) == 1
    assert len(api.calls("GET", f"{ORDERS}/{encoded}/status")) == 1
    assert order is not None
    assert order.found_by == found_by
    assert order.order_id == "72544"  # the order number is what cancel takes
    assert order.identifiers == {"order_number": "72544", "tray": "337178", "po": "PO/55 #2"}


async def test_lookup_status_and_station(api, rx):
    install(api, "72544", status=rx_status("P", "Process", "Surfacing"))
    order = await rx.lookup("72544")
    assert order.status == "Process @ Surfacing"
    assert order.cancellable and not order.cancelled


async def test_lookup_complete_job_is_not_cancellable(api, rx):
    install(api, "72544", status=rx_status("C", "", ""))
    order = await rx.lookup("72544")
    assert order.status.startswith("complete")
    assert not order.cancellable
    assert order.not_cancellable_reason == "job is complete"


async def test_status_marked_for_cancelation_answers_200(api, rx):
    install(api, "72544", status=RX_MARKED)
    order = await rx.lookup("72544")
    assert order.cancelled is True
    assert order.status == "marked for cancelation"
    assert order.not_cancellable_reason == "already marked for cancelation"


async def test_lookup_404_no_record_found(api, rx):
    api.add(
        "GET", f"{ORDERS}/999", (404, {"error": "No record found", "details": ["Provided: 999"]})
    )
    api.add("GET", f"{ORDERS}/999/status", (404, {"error": "No record found", "details": []}))
    assert await rx.lookup("999") is None


async def test_lookup_status_failure_is_an_error(api, rx):
    api.add("GET", f"{ORDERS}/72544", (200, rx_detail()))
    api.add("GET", f"{ORDERS}/72544/status", (400, {"error": "Job Tracker module required"}))
    with pytest.raises(ProviderError, match="Job Tracker"):
        await rx.lookup("72544")


# -- cancel -----------------------------------------------------------------------------------


LAB_CODES = {"1": "Customer request", "DUP": "Duplicate order", "9": "Other"}
"""A lab's own codes, as its settings would list them (Stopline ships none)."""


@pytest.mark.parametrize(
    ("reason", "code", "sent"),
    [
        ("Customer request", None, "Customer request"),  # no codes known: sent as given
        ("3", None, "3"),
        ("whatever the operator typed", "DUP", "DUP"),  # an explicit code wins
    ],
)
async def test_without_configured_codes_the_reason_is_sent_as_given(api, rx, reason, code, sent):
    api.add("DELETE", f"{ORDERS}/72544", (200, {"orderNumber": "72544", "message": ""}))

    outcome = await rx.cancel(cancel_request(reason=reason, code=code))

    (call,) = api.calls("DELETE", f"{ORDERS}/72544")
    assert call.url.params["deleteReason"] == sent
    assert call.content == b""
    assert outcome.outcome is Outcome.COMPLETE
    assert outcome.confirmed is True
    assert outcome.warnings == []
    assert [(c.id, c.status) for c in outcome.cancelled] == [("72544", "flagged for deletion")]


def test_no_reason_codes_are_invented(rx):
    assert rx.reason_codes == {}
    assert rx.reason_required is False


@pytest.mark.parametrize(
    ("reason", "code", "sent"),
    [
        ("Customer request", None, "1"),  # description → code
        ("customer REQUEST", None, "1"),  # case-insensitive
        ("DUP", None, "DUP"),  # the code itself
        ("whatever the operator typed", "9", "9"),  # an explicit code wins
        ("whatever", "other", "9"),  # an explicit code by its description
    ],
)
async def test_configured_codes_are_sent_as_codes(
    api, provider_for, settings_for, reason, code, sent
):
    provider = provider_for("rxuniverse", settings_for(rxuniverse={"reason_codes": LAB_CODES}))
    api.add("DELETE", f"{ORDERS}/72544", (200, {"orderNumber": "72544", "message": ""}))

    outcome = await provider.cancel(cancel_request(reason=reason, code=code))

    (call,) = api.calls("DELETE", f"{ORDERS}/72544")
    assert call.url.params["deleteReason"] == sent
    assert outcome.outcome is Outcome.COMPLETE


async def test_reason_in_the_body_when_configured(api, provider_for, settings_for):
    settings = settings_for(rxuniverse={"reason_param": "body", "reason_field": "reasonCode"})
    api.add("DELETE", f"{ORDERS}/72544", (200, {"orderNumber": "72544"}))
    provider = provider_for("rxuniverse", settings=settings)

    await provider.cancel(cancel_request())

    (call,) = api.calls("DELETE", f"{ORDERS}/72544")
    assert call.url.query == b""
    assert json.loads(call.content) == {"reasonCode": "Customer request"}


async def test_a_required_code_the_reason_does_not_name_is_an_error_and_nothing_is_sent(
    api, provider_for, settings_for
):
    settings = settings_for(rxuniverse={"reason_codes": LAB_CODES, "reason_required": True})
    provider = provider_for("rxuniverse", settings=settings)
    outcome = await provider.cancel(cancel_request(reason="because"))

    assert outcome.outcome is Outcome.ERROR
    assert "needs one of its reason codes" in outcome.message
    assert "1 Customer request" in outcome.message
    assert "nothing was sent" in outcome.message
    assert api.requests == []


@pytest.mark.parametrize("code", ["9999", "x\x07", "c" * 65])
async def test_an_explicit_code_is_checked_before_sending(api, provider_for, settings_for, code):
    provider = provider_for("rxuniverse", settings_for(rxuniverse={"reason_codes": LAB_CODES}))
    outcome = await provider.cancel(cancel_request(reason="because", code=code))
    assert outcome.outcome is Outcome.ERROR
    assert "nothing was sent" in outcome.message
    assert api.requests == []


async def test_codes_not_required_and_not_named_send_no_reason(api, provider_for, settings_for):
    settings = settings_for(rxuniverse={"reason_codes": LAB_CODES, "reason_required": False})
    api.add("DELETE", f"{ORDERS}/72544", (200, {"orderNumber": "72544"}))
    provider = provider_for("rxuniverse", settings=settings)

    outcome = await provider.cancel(cancel_request(reason="because"))

    (call,) = api.calls("DELETE", f"{ORDERS}/72544")
    assert "deleteReason" not in call.url.params
    assert outcome.outcome is Outcome.COMPLETE


async def test_lab_reason_codes_come_from_settings(api, provider_for, settings_for):
    settings = settings_for(rxuniverse={"reason_codes": {"77": "Remake"}})
    api.add("DELETE", f"{ORDERS}/72544", (200, {"orderNumber": "72544"}))
    provider = provider_for("rxuniverse", settings=settings)
    assert provider.reason_codes == {"77": "Remake"}
    assert provider.reason_required is False

    await provider.cancel(cancel_request(reason="remake"))

    assert api.calls("DELETE", f"{ORDERS}/72544")[0].url.params["deleteReason"] == "77"


async def test_200_message_is_kept_as_a_warning(api, rx):
    api.add(
        "DELETE",
        f"{ORDERS}/72544",
        (
            200,
            {
                "orderNumber": "72544",
                "trayNumber": "337178",
                "poNumber": "PO-55",
                "message": "deleteReason ignored: system does not use reason codes",
            },
        ),
    )
    outcome = await rx.cancel(cancel_request())
    assert outcome.outcome is Outcome.COMPLETE
    assert outcome.warnings == ["deleteReason ignored: system does not use reason codes"]


@pytest.mark.parametrize(
    "error",
    [
        "Order has been through a non-cancel station",
        "Order has been through a station that prevents cancelation",
    ],
)
async def test_400_about_the_jobs_state_is_refused(api, rx, error):
    api.add("DELETE", f"{ORDERS}/72544", (400, {"error": error, "details": []}))
    outcome = await rx.cancel(cancel_request())
    assert outcome.outcome is Outcome.REFUSED
    assert outcome.http_status == 400
    assert outcome.message == error


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (RX_MARKED, "already marked for cancellation before this request"),
        (rx_status("C", "", ""), "the job is complete"),
    ],
)
async def test_already_completed_is_told_apart_by_a_look_up(api, rx, status, words):
    """The lab says "Order already completed" for both; the look-up tells which."""
    api.add("DELETE", f"{ORDERS}/72544", (400, {"error": "Order already completed"}))
    install(api, "72544", status=status)
    outcome = await rx.cancel(cancel_request())
    assert outcome.outcome is Outcome.REFUSED
    assert words in outcome.message and "Order already completed" in outcome.message
    assert len(api.calls("DELETE", f"{ORDERS}/72544")) == 1  # never sent twice


async def test_already_completed_when_the_look_up_fails_says_so(api, rx):
    api.add("DELETE", f"{ORDERS}/72544", (400, {"error": "Order already completed"}))
    api.add("GET", f"{ORDERS}/72544", (500, {"error": "down"}))
    api.add("GET", f"{ORDERS}/72544/status", (500, {"error": "down"}))
    outcome = await rx.cancel(cancel_request())
    assert outcome.outcome is Outcome.REFUSED
    assert "the look-up to tell which failed" in outcome.message


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (
            {"error": "Delete reason code does not exist", "details": ["Provided: 9999"]},
            ["does not know this delete reason", "Provided: 9999", "rxuniverse.reason_codes"],
        ),
        (
            {"error": "The delete reasons file is empty", "details": []},
            ["has none set up", "Order Delete Reasons"],
        ),
        (
            {"error": "A valid reason is required", "details": []},
            ["requires a delete reason code", "--reason-code", "reason_required"],
        ),
        (
            {"error": "Job Tracker module required for cancel method", "details": []},
            ["Job Tracker"],
        ),
    ],
)
async def test_400_about_the_request_is_an_error_that_says_what_to_do(api, rx, body, words):
    api.add("DELETE", f"{ORDERS}/72544", (400, body))
    outcome = await rx.cancel(cancel_request())
    assert outcome.outcome is Outcome.ERROR
    for word in words:
        assert word in outcome.message


async def test_404_no_record_found(api, rx):
    api.add(
        "DELETE",
        f"{ORDERS}/72544",
        (404, {"error": "No record found", "details": ["Provided: 72544"]}),
    )
    outcome = await rx.cancel(cancel_request())
    assert outcome.outcome is Outcome.NOT_FOUND
    assert outcome.message == "No record found; Provided: 72544"


async def test_po_with_a_slash_is_one_path_segment_on_delete(api, rx):
    api.add("DELETE", f"{ORDERS}/PO%2F55", (200, {"orderNumber": "72544"}))
    outcome = await rx.cancel(cancel_request(order_id="PO/55"))
    assert outcome.outcome is Outcome.COMPLETE
    assert [c.id for c in outcome.cancelled] == ["72544"]


async def test_optional_api_key_header(api, provider_for, settings_for):
    install(api, "72544")
    plain = provider_for("rxuniverse")
    await plain.lookup("72544")
    assert all("x-api-key" not in r.headers for r in api.requests)

    keyed = provider_for(
        "rxuniverse",
        settings=settings_for(rxuniverse={"api_key": "lab-secret", "api_key_header": "X-Lab-Key"}),
    )
    await keyed.lookup("72544")
    assert [r.headers.get("x-lab-key") for r in api.requests[2:]] == ["lab-secret", "lab-secret"]
