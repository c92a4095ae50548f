"""Hosts a tenant types (a PBX name, a CardDAV server): validated, resolved once, pinned.

Authorization settings are tenant-writable, so a host from them is untrusted input that
our servers will connect to (server-side request forgery). ``tenant_host`` turns what the
tenant typed into a ``PinnedHost``: the name, the scheme (https required unless the
operator allows http), and the one address it resolved to, checked against loopback,
link-local, private, multicast, reserved and unspecified ranges (IPv4 and IPv6, IPv4-mapped
and 6to4/Teredo-embedded IPv4 included) unless ``ALLOW_PRIVATE_HOSTS`` is set.

Why pin: checking a name and then letting the HTTP library resolve it again is open to
DNS rebinding (the second answer may be 127.0.0.1). ``pin_session`` mounts a requests
transport adapter that opens its TCP connection to the pinned address while TLS (SNI and
certificate check) and the ``Host`` header keep the name, and that refuses any request
to another host (a redirect to an internal address goes nowhere).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3 import PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util import connection as urllib3_connection

Resolver = Callable[[str, int], list[str]]

_LABEL_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-")


class HostError(ValueError):
    """The host a tenant gave is malformed or not allowed; the message says why, in
    words a tenant can act on."""


@dataclass(frozen=True)
class PinnedHost:
    """A validated tenant host: connect to ``address``, speak to ``host``."""

    scheme: str
    host: str
    port: int
    address: str

    @property
    def base_url(self) -> str:
        default = 443 if self.scheme == "https" else 80
        netloc = self.host if self.port == default else f"{self.host}:{self.port}"
        return f"{self.scheme}://{netloc}"


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IPv4 and IPv6)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise HostError(f"{host} does not resolve: {exc.strerror}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def public_address(address: str) -> bool:
    """Whether ``address`` is a global unicast address (not loopback, link-local,
    private, shared, multicast, reserved, unspecified, documentation), looking through
    IPv4-mapped, 6to4 and Teredo IPv6 addresses at the IPv4 inside."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d is a.b.c.d on a dual-stack socket
            return public_address(str(ip.ipv4_mapped))
        inner = ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if inner is not None and not public_address(str(inner)):
            return False
    if (
        ip.is_loopback
        or ip.is_link_local
        or ip.is_private
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    ):
        return False
    return ip.is_global


def split_host(value: str, default_suffix: str = "") -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of what a tenant typed: a bare name (``acme`` becomes
    ``acme{default_suffix}``), a host, or a URL. The scheme is empty when none was typed."""
    text = (value or "").strip()
    if not text:
        raise HostError("Enter a host name.")
    scheme = ""
    if "://" in text:
        parts = urlsplit(text)
        scheme = parts.scheme.lower()
        if parts.username or parts.password:
            raise HostError("Enter the host without a user name or password.")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise HostError("Enter only the host, without a path.")
        netloc = parts.netloc
    else:
        netloc = text.rstrip("/")
    if not netloc or "/" in netloc or "@" in netloc:
        raise HostError(f"{value!r} is not a host name.")
    host, port = netloc, None
    if host.startswith("["):  # [IPv6]:port
        close = host.find("]")
        if close < 0:
            raise HostError(f"{value!r} is not a host name.")
        rest, host = host[close + 1 :], host[1:close]
        if rest:
            port = _port(rest.removeprefix(":"), value)
    elif host.count(":") == 1:
        host, raw_port = host.split(":")
        port = _port(raw_port, value)
    host = host.lower().rstrip(".")
    if not _is_ip(host):
        if "." not in host and default_suffix:
            host += default_suffix
        _check_name(host, value)
    return scheme, host, port


def _port(text: str, value: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise HostError(f"{value!r} has an invalid port.")
    return int(text)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _check_name(host: str, value: str) -> None:
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise HostError(f"{value!r} is not a host name.") from exc
    labels = ascii_host.split(".")
    if len(ascii_host) > 253 or any(
        not label
        or len(label) > 63
        or label.startswith("-")
        or label.endswith("-")
        or not set(label) <= _LABEL_CHARS
        for label in labels
    ):
        raise HostError(f"{value!r} is not a host name.")


def tenant_host(
    value: str,
    *,
    default_suffix: str = "",
    allow_private: bool | None = None,
    require_https: bool | None = None,
    resolve: Resolver = system_resolver,
) -> PinnedHost:
    """Validate, resolve and pin a tenant-given host.

    ``allow_private`` defaults to the ``ALLOW_PRIVATE_HOSTS`` setting and
    ``require_https`` to production; every resolved address must be allowed (a name
    that resolves to one public and one private address is refused), and the first one
    is pinned."""
    from django.conf import settings  # late: usable outside a configured Django too

    if allow_private is None:
        allow_private = bool(getattr(settings, "ALLOW_PRIVATE_HOSTS", False))
    if require_https is None:
        require_https = bool(getattr(settings, "PRODUCTION", True))
    scheme, host, port = split_host(value, default_suffix)
    scheme = scheme or "https"
    if scheme not in ("http", "https"):
        raise HostError(f"Use https://, not {scheme}://.")
    if require_https and scheme != "https":
        raise HostError("The server must be reached over https.")
    port = port or (443 if scheme == "https" else 80)
    addresses = [host] if _is_ip(host) else resolve(host, port)
    if not addresses:
        raise HostError(f"{host} does not resolve.")
    if not allow_private:
        for address in addresses:
            if not public_address(address):
                raise HostError(
                    f"{host} points to a private or reserved address ({address}); "
                    "only servers reachable on the public internet can be used."
                )
    return PinnedHost(scheme=scheme, host=host, port=port, address=addresses[0])


# --- Pinning: the TCP connection goes to the pinned address, TLS and Host keep the name.


def _pinned_pool_classes(address: str) -> dict[str, type[HTTPConnectionPool]]:
    def connect(conn: HTTPConnection) -> socket.socket:
        return urllib3_connection.create_connection(
            (address, conn.port),
            conn.timeout,
            source_address=conn.source_address,
            socket_options=conn.socket_options,
        )

    class PinnedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return connect(self)

    class PinnedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return connect(self)

    class PinnedHTTPPool(HTTPConnectionPool):
        ConnectionCls = PinnedHTTPConnection

    class PinnedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = PinnedHTTPSConnection

    return {"http": PinnedHTTPPool, "https": PinnedHTTPSPool}


class PinnedAdapter(HTTPAdapter):
    """A requests adapter that only talks to ``pinned.host`` and always connects to
    ``pinned.address``."""

    def __init__(self, pinned: PinnedHost, **kwargs: Any) -> None:
        self.pinned = pinned
        super().__init__(**kwargs)

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **kw: Any
    ) -> None:
        self.poolmanager = PoolManager(num_pools=connections, maxsize=maxsize, block=block, **kw)
        self.poolmanager.pool_classes_by_scheme = _pinned_pool_classes(self.pinned.address)  # type: ignore[assignment]

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(request.url or "")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if (parts.scheme, (parts.hostname or "").lower(), port) != (
            self.pinned.scheme,
            self.pinned.host,
            self.pinned.port,
        ):
            raise requests.ConnectionError(f"Refusing to connect outside {self.pinned.base_url}")
        kwargs["proxies"] = {}  # a proxy would resolve the name again
        return super().send(request, *args, **kwargs)


def pin_session(session: requests.Session, pinned: PinnedHost) -> None:
    """Make ``session`` reach ``pinned.host`` only, at ``pinned.address``."""
    session.trust_env = False  # no proxy from the environment: it would resolve again
    adapter = PinnedAdapter(pinned)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
