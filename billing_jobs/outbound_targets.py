"""Where outbound webhooks may go: public addresses only, unless a setting says otherwise.

A tenant chooses its webhook URL, so without this a tenant could make Meterline POST to
the metadata service, the database's port or anything else on the private network
(SSRF). The check runs on the ADDRESSES a name resolves to, not on the name (any name
can resolve to 127.0.0.1), and the request then goes to the very address checked (the
URL is pinned to it; Host and TLS SNI keep the name), so a second, different DNS answer
cannot slip in between. Redirects are followed by hand, each hop checked the same way.

`address_allowed` is the pure rule; `resolve_target` does the DNS look-up.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from .errors import PermanentError

__all__ = ["TargetPolicy", "TargetRefused", "ResolvedTarget", "address_allowed", "resolve_target",
           "system_resolver"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


class TargetRefused(PermanentError):
    """The target (or a redirect) is not an address webhooks may go to. The message names
    the URL's host only: never what, if anything, answers on the internal address."""


@dataclass(frozen=True)
class TargetPolicy:
    allow_private: bool = False  # local development: anything goes
    allowed_networks: tuple[str, ...] = ()  # CIDRs allowed although not public

    def networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(cidr, strict=False) for cidr in self.allowed_networks]


def address_allowed(address: IPAddress, policy: TargetPolicy) -> bool:
    """Public unicast addresses only: `is_global` is false for loopback, private (RFC 1918,
    ULA), link-local (169.254/16, so the cloud metadata address too), shared (100.64/10),
    reserved and unspecified addresses."""
    if policy.allow_private or any(address in network for network in policy.networks()):
        return True
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return address.is_global and not address.is_multicast


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TargetRefused(f"webhook host {host} does not resolve") from exc
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class ResolvedTarget:
    url: str  # as the tenant gave it
    host: str
    host_header: str  # host[:port] as in the URL
    address: str  # checked; the request goes here
    pinned_url: str  # `url` with the host replaced by `address`

    @property
    def is_https(self) -> bool:
        return self.pinned_url.startswith("https:")


def resolve_target(url: str, policy: TargetPolicy, resolver: Resolver = system_resolver) -> ResolvedTarget:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("webhook URL must be http(s)://host/...")
    host = parts.hostname
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise TargetRefused(f"webhook URL has an invalid port: {exc}") from exc
    addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolver(host, port)]
    # Every answer must be allowed: a name with one public and one private record could
    # otherwise reach the private one on a later connection.
    if not addresses or not all(address_allowed(a, policy) for a in addresses):
        raise TargetRefused(f"webhook host {host} is not a public address; webhooks go to public addresses only")
    address = addresses[0]
    literal = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    pinned = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    return ResolvedTarget(url, host, parts.netloc.rsplit("@", 1)[-1], str(address), pinned)
