"""Tenant-given hosts (connectors/hosts.py): validated, resolved once, and pinned."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import requests

from connectors.hosts import HostError, PinnedHost, pin_session, public_address, tenant_host


def resolver(*addresses: str):
    return lambda host, port: list(addresses)


PUBLIC = resolver("93.184.215.14")


def test_a_bare_name_gets_the_default_suffix() -> None:
    pinned = tenant_host("acme", default_suffix=".wildixin.com", resolve=PUBLIC, require_https=True)
    assert pinned.base_url == "https://acme.wildixin.com"
    assert pinned.address == "93.184.215.14"


def test_a_full_host_or_url_is_kept() -> None:
    for typed in ("pbx.acme.it", "https://pbx.acme.it/", "PBX.Acme.IT."):
        pinned = tenant_host(typed, default_suffix=".wildixin.com", resolve=PUBLIC)
        assert pinned.host == "pbx.acme.it"
    assert tenant_host("https://pbx.acme.it:8443", resolve=PUBLIC).base_url == (
        "https://pbx.acme.it:8443"
    )


def test_http_is_refused_when_https_is_required() -> None:
    with pytest.raises(HostError, match="https"):
        tenant_host("http://pbx.acme.it", resolve=PUBLIC, require_https=True)
    assert tenant_host("http://pbx.acme.it", resolve=PUBLIC, require_https=False).scheme == "http"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "a b",
        "pbx.acme.it/api",
        "https://u:p@pbx.acme.it",
        "ftp://pbx.acme.it",
        "-x.acme.it",
        "pbx.acme.it:99999",
        "https://pbx.acme.it?x=1",
    ],
)
def test_malformed_hosts_are_refused(typed: str) -> None:
    with pytest.raises(HostError):
        tenant_host(typed, resolve=PUBLIC, require_https=False)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 (an address under test, not a bind)
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "2002:7f00:1::1",
        "2001:db8::1",
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not public_address(address)
    with pytest.raises(HostError, match="private or reserved"):
        tenant_host("pbx.acme.it", resolve=resolver(address), allow_private=False)
    with pytest.raises(HostError):
        tenant_host(address if ":" not in address else f"[{address}]", allow_private=False)


def test_public_addresses_pass() -> None:
    assert public_address("93.184.215.14")
    assert public_address("2606:2800:21f:cb07:6820:80da:af6b:8b2c")
    assert public_address("::ffff:93.184.215.14")


def test_one_private_answer_among_public_ones_refuses_the_name() -> None:
    with pytest.raises(HostError):
        tenant_host(
            "pbx.acme.it", resolve=resolver("93.184.215.14", "10.0.0.5"), allow_private=False
        )


def test_the_operator_setting_allows_private_addresses(settings) -> None:
    settings.ALLOW_PRIVATE_HOSTS = True
    assert tenant_host("http://127.0.0.1:8080", require_https=False).address == "127.0.0.1"
    settings.ALLOW_PRIVATE_HOSTS = False
    with pytest.raises(HostError):
        tenant_host("http://127.0.0.1:8080", require_https=False)


def test_production_requires_https_by_default(settings) -> None:
    settings.PRODUCTION = True
    with pytest.raises(HostError, match="https"):
        tenant_host("http://pbx.acme.it", resolve=PUBLIC)


class _Echo(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/away":
            self.send_response(302)
            self.send_header("Location", "http://elsewhere.test:1/")
            self.end_headers()
            return
        body = self.headers["Host"].encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = HTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_a_pinned_session_connects_to_the_pinned_address_and_keeps_the_name(
    echo_port: int,
) -> None:
    # The name does not resolve at all: only the pinned address can have answered.
    pinned = PinnedHost(
        scheme="http", host="pbx.unresolvable.test", port=echo_port, address="127.0.0.1"
    )
    session = requests.Session()
    pin_session(session, pinned)
    answer = session.get(f"http://pbx.unresolvable.test:{echo_port}/", timeout=5)
    assert answer.text == f"pbx.unresolvable.test:{echo_port}"


def test_a_pinned_session_refuses_other_hosts_and_redirects(echo_port: int) -> None:
    pinned = PinnedHost(
        scheme="http", host="pbx.unresolvable.test", port=echo_port, address="127.0.0.1"
    )
    session = requests.Session()
    pin_session(session, pinned)
    with pytest.raises(requests.ConnectionError, match="Refusing"):
        session.get(f"http://127.0.0.1:{echo_port}/", timeout=5)
    with pytest.raises(requests.ConnectionError, match="Refusing"):
        session.get(f"http://pbx.unresolvable.test:{echo_port}/away", timeout=5)
