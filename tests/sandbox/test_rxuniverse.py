"""Rx-Universe over HTTP: identifiers (order, tray, PO with `/`), status, DELETE rules."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from tui.sandbox import SandboxConfig, SandboxServer
from tui.sandbox.showcase import (
    RX_AT_NO_CANCEL_STATION,
    RX_AT_NO_CANCEL_STATION_PO,
    RX_CANCELLABLE_ORDER,
    RX_CANCELLABLE_PO,
    RX_CANCELLABLE_TRAY,
    RX_COMPLETED,
    RX_COMPLETED_TRAY,
)

ORDERS = "/rxuniverse/api/v2/orders/"


def order_path(identifier: str, suffix: str = "") -> str:
    return ORDERS + quote(identifier, safe="") + suffix


def test_po_with_slashes_is_sent_encoded() -> None:
    assert order_path(RX_CANCELLABLE_PO, "/status").endswith("PO%2F2026%2F0042/status")


@pytest.mark.parametrize(
    "identifier", [RX_CANCELLABLE_ORDER, RX_CANCELLABLE_TRAY, RX_CANCELLABLE_PO]
)
def test_order_is_found_by_number_tray_or_po(client: httpx.Client, identifier: str) -> None:
    response = client.get(order_path(identifier))
    assert response.status_code == 200
    body = response.json()
    assert (body["orderNumber"], body["trayNumber"], body["poNumber"]) == (
        RX_CANCELLABLE_ORDER,
        RX_CANCELLABLE_TRAY,
        RX_CANCELLABLE_PO,
    )
    for field in ("currentStation", "customerNumber", "orderDate", "dueDate", "frameModel"):
        assert body[field]
    assert body["status"] == "P"


@pytest.mark.parametrize("identifier", [RX_CANCELLABLE_ORDER, RX_CANCELLABLE_PO])
def test_status_by_any_identifier(client: httpx.Client, identifier: str) -> None:
    response = client.get(order_path(identifier, "/status"))
    assert response.status_code == 200
    assert response.json() == {
        "orderNumber": RX_CANCELLABLE_ORDER,
        "trayNumber": RX_CANCELLABLE_TRAY,
        "poNumber": RX_CANCELLABLE_PO,
        "currentStation": "20",
        "currentStationDesc": "FRAME PICK",
        "currentStationDateTime": response.json()["currentStationDateTime"],
        "status": "P",
        "statusDesc": "In process",
    }


def test_unencoded_slashes_do_not_find_the_po(client: httpx.Client) -> None:
    response = client.get(ORDERS + RX_CANCELLABLE_PO)
    assert response.status_code == 404
    assert response.json()["error"] == "No record found"


@pytest.mark.parametrize("identifier", ["9999999", RX_COMPLETED_TRAY])
def test_unknown_identifier_is_404(client: httpx.Client, identifier: str) -> None:
    """A completed job's tray is not found: trays only identify active jobs."""
    for response in (
        client.get(order_path(identifier)),
        client.get(order_path(identifier, "/status")),
        client.delete(order_path(identifier), params={"deleteReason": "1"}),
    ):
        assert response.status_code == 404
        assert response.json() == {
            "error": "No record found",
            "details": [f"Provided: {identifier}"],
        }


def test_completed_job_is_still_found_by_number(client: httpx.Client) -> None:
    response = client.get(order_path(RX_COMPLETED, "/status"))
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["statusDesc"]) == ("C", "Complete")


def test_delete_needs_a_reason(client: httpx.Client) -> None:
    response = client.delete(order_path(RX_CANCELLABLE_ORDER))
    assert response.status_code == 400
    assert response.json() == {"error": "Delete reason required", "details": []}


def test_delete_with_an_unknown_reason_is_400(client: httpx.Client) -> None:
    response = client.delete(order_path(RX_CANCELLABLE_ORDER), params={"deleteReason": "9999"})
    assert response.status_code == 400
    assert response.json() == {
        "error": "Delete reason code does not exist",
        "details": ["Provided: 9999"],
    }


def test_delete_flags_the_order_and_status_says_so(client: httpx.Client) -> None:
    response = client.delete(order_path(RX_CANCELLABLE_PO), params={"deleteReason": "2"})
    assert response.status_code == 200
    assert response.json() == {
        "orderNumber": RX_CANCELLABLE_ORDER,
        "trayNumber": RX_CANCELLABLE_TRAY,
        "poNumber": RX_CANCELLABLE_PO,
        "message": "",
    }
    for identifier in (RX_CANCELLABLE_ORDER, RX_CANCELLABLE_TRAY, RX_CANCELLABLE_PO):
        status = client.get(order_path(identifier, "/status"))
        assert status.status_code == 200  # documented: a 200 with an error-shaped body
        assert status.json() == {"error": "Order marked for cancelation", "details": []}
    again = client.delete(order_path(RX_CANCELLABLE_ORDER), params={"deleteReason": "2"})
    assert again.status_code == 400
    assert again.json() == {"error": "Order already completed", "details": []}


def test_delete_after_a_no_cancel_station_is_400(client: httpx.Client) -> None:
    response = client.delete(order_path(RX_AT_NO_CANCEL_STATION_PO), params={"deleteReason": "1"})
    assert response.status_code == 400
    assert response.json() == {
        "error": "Order has been through a non-cancel station",
        "details": ["Station: 40 SURFACING"],
    }
    status = client.get(order_path(RX_AT_NO_CANCEL_STATION, "/status")).json()
    assert status["currentStation"] == "40"


def test_delete_of_a_completed_order_is_400(client: httpx.Client) -> None:
    response = client.delete(order_path(RX_COMPLETED), params={"deleteReason": "1"})
    assert response.status_code == 400
    assert response.json() == {"error": "Order already completed", "details": []}


def test_stations_mark_which_prevent_cancel(client: httpx.Client) -> None:
    stations = client.get("/rxuniverse/api/v2/job_track/stations").json()
    by_code = {station["code"]: station for station in stations}
    assert by_code["20"]["preventsCancel"] is False
    assert by_code["40"] == {"code": "40", "description": "SURFACING", "preventsCancel": True}


def test_delete_reasons_are_listed(client: httpx.Client) -> None:
    reasons = client.get("/rxuniverse/api/v2/delete_reasons").json()
    assert {"code": "1", "description": "Customer request"} in reasons
    assert [reason["code"] for reason in reasons] == ["1", "2", "3", "4", "5", "9"]


def test_demo_data_covers_every_status(client: httpx.Client) -> None:
    ids = client.get("/_sandbox/orders").json()["rxuniverse"]
    bodies = [client.get(order_path(i)).json() for i in ids]
    assert {body["status"] for body in bodies} == {"U", "V", "P", "C", "W"}
    slashed = [body for body in bodies if "/" in body["poNumber"]]
    assert len(slashed) > 5
    for body in slashed[:5]:
        found = client.get(order_path(body["poNumber"], "/status"))
        assert found.json()["orderNumber"] == body["orderNumber"]


@pytest.fixture(scope="module")
def lax_lab() -> Iterator[httpx.Client]:
    """A lab that does not use reason codes and wants an API key."""
    config = SandboxConfig(rx_reason_required=False, rx_api_key="lab-key")
    with (
        SandboxServer(config) as server,
        httpx.Client(base_url=server.root_url) as http,
    ):
        assert server.settings_env()["STOPLINE_RXUNIVERSE__API_KEY"] == "lab-key"
        yield http


def test_api_key_is_required_when_configured(lax_lab: httpx.Client) -> None:
    for headers in ({}, {"X-Api-Key": "wrong"}):
        response = lax_lab.get(order_path(RX_CANCELLABLE_ORDER), headers=headers)
        assert response.status_code == 401
        assert response.json()["error"] == "Unauthorized"
        assert isinstance(response.json()["details"], list)
    ok = lax_lab.get(order_path(RX_CANCELLABLE_ORDER), headers={"X-Api-Key": "lab-key"})
    assert ok.status_code == 200


def test_reason_is_ignored_with_a_warning_when_not_used(lax_lab: httpx.Client) -> None:
    response = lax_lab.delete(
        order_path(RX_CANCELLABLE_ORDER),
        params={"deleteReason": "9999"},
        headers={"X-Api-Key": "lab-key"},
    )
    assert response.status_code == 200
    assert response.json()["message"] == (
        "deleteReason ignored: system is not configured to use reason codes"
    )


def test_without_job_tracker_every_cancel_is_refused() -> None:
    with (
        SandboxServer(SandboxConfig(rx_job_tracker_installed=False)) as server,
        httpx.Client(base_url=server.root_url) as http,
    ):
        response = http.delete(order_path(RX_CANCELLABLE_ORDER), params={"deleteReason": "1"})
    assert response.status_code == 400
    assert response.json() == {
        "error": "Job Tracker module required for cancel method",
        "details": [],
    }


def test_a_lab_requiring_reasons_without_any_says_its_file_is_empty() -> None:
    config = SandboxConfig(rx_reason_required=True, rx_delete_reasons=[])
    with SandboxServer(config) as server, httpx.Client(base_url=server.root_url) as http:
        response = http.delete(order_path(RX_CANCELLABLE_ORDER), params={"deleteReason": "1"})
        assert response.status_code == 400
        assert response.json() == {"error": "The delete reasons file is empty", "details": []}
        assert "STOPLINE_RXUNIVERSE__REASON_CODES" not in server.settings_env()


def test_the_labs_settings_name_its_codes() -> None:
    """Stopline knows a lab's codes only from its settings; the sandbox's say them."""
    with SandboxServer(SandboxConfig()) as server:
        env = server.settings_env()
    assert json.loads(env["STOPLINE_RXUNIVERSE__REASON_CODES"])["1"] == "Customer request"
    assert env["STOPLINE_RXUNIVERSE__REASON_REQUIRED"] == "true"
