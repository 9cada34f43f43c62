"""The client's address, for login throttling: REMOTE_ADDR, or behind a trusted reverse proxy
the address that proxy saw (KIP_TRUSTED_PROXIES).

X-Forwarded-For is a list each proxy appends its peer to, so only its right end can be believed:
walking from the right, every hop that is a trusted proxy is skipped and the first one that is
not is the client. Anything further left was written by the client itself and is never read,
so a client cannot spoof its way out of a lockout. Without a trusted direct peer the header is
ignored altogether."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def trusted_networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    """KIP_TRUSTED_PROXIES' addresses and CIDR networks; a bad entry stops the app with its name."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"KIP_TRUSTED_PROXIES: {entry!r} is not an IP address or CIDR network"
            ) from None
    return tuple(networks)


def parse_address(text: str) -> Address | None:
    """One hop as proxies write it: `192.0.2.1`, `2001:db8::1`, with a port (`192.0.2.1:443`,
    `[2001:db8::1]:443`) or in brackets; None for anything else (`unknown`, a hostname)."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, networks: Sequence[Network]) -> bool:
    return any(address.version == n.version and address in n for n in networks)


def resolve(peer: str, forwarded_for: str, networks: Sequence[Network]) -> str:
    """The client address, from the direct peer and the X-Forwarded-For header's value."""
    hop = parse_address(peer)
    if hop is None or not _trusted(hop, networks):
        return peer
    for entry in reversed(forwarded_for.split(",") if forwarded_for else []):
        previous = parse_address(entry)
        if previous is None:
            # A trusted proxy passed on something that is no address: what lies left of it
            # cannot be placed, so the last hop known is the best answer.
            break
        hop = previous
        if not _trusted(hop, networks):
            break
    return str(hop)


def client_address(request: HttpRequest) -> str:
    networks = trusted_networks(tuple(settings.KIP_TRUSTED_PROXIES))
    peer = str(request.META.get("REMOTE_ADDR", ""))
    if not networks:
        return peer
    return resolve(peer, str(request.META.get("HTTP_X_FORWARDED_FOR", "")), networks)
