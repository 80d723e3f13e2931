"""Promise 4, TLS: every provider client verifies certificates, always; a ``ca_bundle`` adds a
lab's own CA (to the default ones, never instead of them); no source file turns it off."""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme

import tui
from tui.core.domain import LookupState
from tui.core.providers.factory import tls_verify
from tui.core.service import StoplineService
from tui.core.settings import ConfigError, Settings, load_settings
from tui.core.vocabulary import BUILTIN_PROVIDERS

from .kit import quick_sleep


class _Answer(BaseHTTPRequestHandler):
    """Any token request gets a token; any look-up a provider-shaped 404. The TLS handshake
    runs in the connection's own thread, so a client that walks away cannot stall accept()."""

    def setup(self) -> None:
        self.request.do_handshake()
        super().setup()

    def do_POST(self) -> None:
        self._send(200, {"access_token": "tls-token", "expires_in": 3600})

    def do_GET(self) -> None:
        self._send(404, {"error": "Order not found"})

    def _send(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(scope="module")
def lab_ca() -> trustme.CA:
    return trustme.CA(organization_name="Stopline test lab CA")


@pytest.fixture(scope="module")
def https_root(lab_ca: trustme.CA) -> Iterator[str]:
    """An HTTPS server on loopback whose certificate only the lab's own CA vouches for."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    server.handle_error = lambda *_args: None  # refused handshakes are the point here
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    lab_ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    server.socket = context.wrap_socket(
        server.socket, server_side=True, do_handshake_on_connect=False
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def settings_on(root: str, **extra: object) -> Settings:
    return load_settings(
        pattern={
            "base_url": f"{root}/hub",
            "token_url": f"{root}/token",
            "client_id": "i",
            "client_secret": "s",
            "timeout_s": 2,
        },
        ordermesh={"base_url": root, "client_id": "i", "client_secret": "s", "timeout_s": 2},
        shoplazza={"base_url": root, "access_token": "t", "rate_per_s": 50, "timeout_s": 2},
        rxuniverse={"base_url": root, "timeout_s": 2},
        **extra,
    )


IDS = {
    "pattern": "114-1-1",
    "ordermesh": "670e58fe7741035996cf7d20",
    "shoplazza": "633130-00000004",
    "rxuniverse": "72544",
}


async def lookups(settings: Settings) -> dict[str, object]:
    async with StoplineService.from_settings(settings, sleep=quick_sleep) as service:
        return {key: await service.lookup_one(key, IDS[key]) for key in BUILTIN_PROVIDERS}


def test_without_the_lab_ca_every_provider_refuses_with_a_clear_error(https_root: str) -> None:
    results = asyncio.run(lookups(settings_on(https_root)))
    for key, result in results.items():
        assert result.state is LookupState.ERROR, key
        assert "TLS certificate not trusted" in result.error, result.error
        assert "ca_bundle" in result.error


def test_with_the_lab_ca_as_ca_bundle_every_provider_connects(
    https_root: str, lab_ca: trustme.CA, tmp_path: Path
) -> None:
    bundle = tmp_path / "lab-ca.pem"
    lab_ca.cert_pem.write_to_path(str(bundle))
    results = asyncio.run(lookups(settings_on(https_root, ca_bundle=bundle)))
    for key, result in results.items():
        assert result.state is LookupState.NOT_FOUND, (key, result.error)


def test_a_ca_bundle_adds_to_the_default_cas(lab_ca: trustme.CA, tmp_path: Path) -> None:
    bundle = tmp_path / "lab-ca.pem"
    lab_ca.cert_pem.write_to_path(str(bundle))
    context = tls_verify(settings_on("https://lab.test", ca_bundle=bundle))
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    subjects = [dict(x[0] for x in ca["subject"]) for ca in context.get_ca_certs()]
    assert any(s.get("organizationName") == "Stopline test lab CA" for s in subjects)
    assert len(subjects) > 10, "the lab's CA replaced the public ones"


def test_every_provider_shares_one_context_built_only_for_https(
    https_root: str, lab_ca: trustme.CA, tmp_path: Path
) -> None:
    from tui.core.providers.factory import build_provider

    bundle = tmp_path / "lab-ca.pem"
    lab_ca.cert_pem.write_to_path(str(bundle))
    secure = settings_on(https_root, ca_bundle=bundle)
    contexts = {
        id(build_provider(key, secure).http.client._transport._pool._ssl_context)  # type: ignore[attr-defined]
        for key in secure.enabled_providers()
    }
    assert contexts == {id(tls_verify(secure))} and len(secure.enabled_providers()) == 4
    # Only http:// URLs (the demo sandbox, a lab on loopback): no CA is loaded at all, and
    # the context trusts nothing, so an https URL slipped in is refused, never unverified.
    plain = settings_on(https_root.replace("https://", "http://"))
    context = tls_verify(plain)
    assert context.get_ca_certs() == [] and context.cert_store_stats()["x509_ca"] == 0
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname


def test_a_missing_ca_bundle_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ca_bundle"):
        load_settings(ca_bundle=tmp_path / "nope.pem")


TURNS_VERIFY_OFF = re.compile(
    r"verify\s*=\s*False|CERT_NONE|check_hostname\s*=\s*False|_create_unverified_context"
    r"|PYTHONHTTPSVERIFY|trust_env\s*=\s*True"
)


def test_no_source_file_turns_verification_off() -> None:
    root = Path(tui.__file__).parent
    offenders = [
        f"{path.relative_to(root)}:{number}"
        for path in sorted(root.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if TURNS_VERIFY_OFF.search(line)
    ]
    assert offenders == []
    assert len(list(root.rglob("*.py"))) > 20  # the search really covered the tree
