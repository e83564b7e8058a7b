"""Where the sandbox may send webhooks: http(s) to public addresses, or a host the settings name.

Checked twice: when a URL is given (`check_url`: scheme, and a literal address or a local name) and
when a delivery is sent (`resolve_target`: every address the name resolves to, then the connection
goes to the checked address itself, so a name that re-resolves elsewhere in between is not followed).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Beyond what `is_global` already refuses: ranges some Python versions count as global, and the
# cloud metadata endpoints by name.
_FORBIDDEN_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4",
        "255.255.255.255/32", "::/128", "::1/128", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
        "64:ff9b:1::/48", "100::/64", "2001:db8::/32",
    )
)  # fmt: skip
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "metadata.google.internal", "metadata")

Resolver = Callable[[str, int], list[str]]


class ForbiddenTarget(ValueError):
    """The URL may not be delivered to; the message says why, without echoing secrets."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written in the URL (the Host header and the TLS name)
    port: int
    address: str  # the checked address the connection goes to
    path: str  # path and query


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# Tests put a resolver of their own here, so no name is ever looked up on the network.
resolver: Resolver = system_resolver


def why_forbidden(address: IPAddress) -> str | None:
    """None for a public unicast address, else the kind of address it is."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            reason = why_forbidden(embedded)
            return None if reason is None else f"{reason} (inside an IPv6 address)"
    for test, reason in (
        ("is_unspecified", "unspecified"), ("is_loopback", "loopback"), ("is_link_local", "link-local"),
        ("is_multicast", "multicast"), ("is_private", "private"), ("is_reserved", "reserved"),
    ):  # fmt: skip
        if getattr(address, test):
            return reason
    if any(address in network for network in _FORBIDDEN_NETWORKS if network.version == address.version):
        return "not public"
    if not address.is_global:
        return "not public"
    return None


def _literal_address(host: str) -> IPAddress | None:
    """The address a host names by itself, including the legacy IPv4 forms (`127.1`, `0x7f.1`)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefxABCDEFX." for c in host) and host[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _allowed_host(host: str, port: int) -> bool:
    for entry in settings.SANDBOX_WEBHOOK_ALLOWED_HOSTS:
        allowed = urlsplit(f"//{entry.strip().lower()}")
        if allowed.hostname == host and (allowed.port is None or allowed.port == port):
            return True
    return False


def _split(url: str) -> tuple[str, str, int, str]:
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise ForbiddenTarget("must be an http(s) URL without spaces or control characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ForbiddenTarget("must be an http(s) URL with a host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ForbiddenTarget("has an invalid port") from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname.rstrip(".").lower(), port, path


def check_url(url: str) -> str:
    """The URL when it may be subscribed to; ForbiddenTarget otherwise (no name is looked up)."""
    _scheme, host, port, _path = _split(url)
    if _allowed_host(host, port):
        return url
    if host in _LOCAL_NAMES or host.endswith((".localhost", ".local", ".internal")):
        raise ForbiddenTarget(f"must point to a public address ({host} is a local name)")
    address = _literal_address(host)
    if address is not None and (reason := why_forbidden(address)) is not None:
        raise ForbiddenTarget(f"must point to a public address ({address} is {reason})")
    return url


def resolve_target(url: str) -> Target:
    """Where a delivery to `url` connects: every resolved address must be public (or the host allowed)."""
    check_url(url)
    scheme, host, port, path = _split(url)
    literal = _literal_address(host)
    try:
        addresses = [str(literal)] if literal is not None else resolver(host, port)
    except OSError:
        raise ForbiddenTarget(f"{host} does not resolve") from None
    if not addresses:
        raise ForbiddenTarget(f"{host} does not resolve")
    if not _allowed_host(host, port):
        for text in addresses:
            reason = why_forbidden(ipaddress.ip_address(text.split("%", 1)[0]))
            if reason is not None:
                raise ForbiddenTarget(f"{host} resolves to {text}, which is {reason}")
    return Target(scheme=scheme, host=host, port=port, address=addresses[0], path=path)
