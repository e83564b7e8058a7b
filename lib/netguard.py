"""Which URLs a person may make NovaCron (or the portal) post to: http(s) to a public address only.

A URL that someone types into a form (a webhook subscription, an integration endpoint) is fetched
later by a server. Aimed at loopback, a private network or a cloud metadata address, it would turn
that server into a tool for reaching what only it can reach (SSRF). `url_refusal` says why a URL is
refused, or None when it is acceptable:

- the scheme is http or https and there is a host;
- a host written as an address (IPv4 in any form `inet_aton` accepts, such as `2130706433` or
  `0x7f.1`; IPv6, IPv4-mapped IPv6 included) must be a public unicast address;
- names that always mean this machine (`localhost`, `*.localhost`) are refused;
- with `resolve=True` every address the name resolves to must be public (for delivery time: a name
  can point anywhere, and can change between the check and the request).

Hosts named in `settings.OUTGOING_URL_ALLOWED_HOSTS` (dev and tests: the local portal's receiver) are
accepted as they are. Only `ipaddress` and `socket` from the standard library; nothing is sent.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from django.conf import settings

type Address = ipaddress.IPv4Address | ipaddress.IPv6Address
type Resolver = Callable[[str], Iterable[str]]

# Ranges `is_global` does not already exclude, or that must be named for clarity.
_FORBIDDEN_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",  # "this network"
        "100.64.0.0/10",  # carrier-grade NAT (RFC 6598)
        "169.254.0.0/16",  # link-local, incl. the metadata address 169.254.169.254
        "fd00:ec2::254/128",  # AWS's IPv6 metadata address (inside the ULA range below as well)
        "fc00::/7",  # unique local (ULA)
        "64:ff9b:1::/48",  # local-use NAT64
    )
)


def _allowed_hosts() -> set[str]:
    return {host.strip().lower().rstrip(".") for host in getattr(settings, "OUTGOING_URL_ALLOWED_HOSTS", [])}


def address_refusal(address: Address) -> str | None:
    """Why a request to this address is refused, or None for a public unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return address_refusal(mapped)
    for check, name in (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address.is_private, "private"),
        (address.is_reserved, "reserved"),
    ):
        if check:
            return f"{name} address"
    if any(address in network for network in _FORBIDDEN_NETWORKS if network.version == address.version):
        return "non-public address"
    if not address.is_global:
        return "non-public address"
    return None


def literal_address(host: str) -> Address | None:
    """The address a host written as one stands for (any spelling a resolver accepts), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    # `127.1`, `2130706433`, `0x7f.0.0.1`, `0177.0.0.1`: libc reads them all as 127.0.0.1.
    if host and all(c in "0123456789abcdefx." for c in host.lower()) and host[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _system_resolver(host: str) -> list[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)]


def host_refusal(host: str, *, resolve: bool = False, resolver: Resolver | None = None) -> str | None:
    """Why requests to `host` are refused, or None (see the module's docstring)."""
    host = host.strip().lower().rstrip(".")
    if not host:
        return "no host"
    if host in _allowed_hosts():
        return None
    address = literal_address(host)
    if address is not None:
        return address_refusal(address)
    if host == "localhost" or host.endswith(".localhost"):
        return "loopback address"
    if not resolve:
        return None
    try:
        resolved = list((resolver or _system_resolver)(host))
    except OSError:
        return "the name does not resolve"
    if not resolved:
        return "the name does not resolve"
    for text in resolved:
        reason = address_refusal(ipaddress.ip_address(text.split("%", 1)[0]))
        if reason is not None:
            return f"it resolves to a {reason}"
    return None


def url_refusal(url: str, *, resolve: bool = False, resolver: Resolver | None = None) -> str | None:
    """Why a server must not send requests to `url`, or None when it may."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 (raises ValueError on a garbled port)
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "not an http:// or https:// URL"
    if not host:
        return "no host"
    return host_refusal(host, resolve=resolve, resolver=resolver)
