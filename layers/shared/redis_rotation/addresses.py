"""Grant addresses (``redisAddresses``): parsed, never globbed.

A pattern is a host form and a port form joined by ``:``:

- an IPv4 address ``10.0.0.5`` or range ``10.0.0.0/24``;
- an IPv6 address or range in brackets, ``[fd00:1::5]`` or ``[fd00::/64]``;
- a DNS name ``redis.example.com``, or ``*.redis.example.com`` where ``*`` is exactly one
  label;
- a port ``6379`` or a range ``6379-6380``.

IPs are compared with ``ipaddress``; names label by label in lower case. An IP pattern
never matches a name and a name pattern never matches an IP. A host the resolver could
read as a number although it is no dotted-decimal or IPv6 literal (``0``, ``127.1``,
``010.0.0.1``, ``0x7f.0.0.1``) matches no pattern: ``getaddrinfo`` connects ``0`` to
this machine and ``010.0.0.1`` to 8.0.0.1.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis_rotation.secret import Endpoint

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# A DNS label as resolvers take it (``_`` included: service names use it); ASCII only.
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?", re.ASCII)
_PORT = re.compile(r"([0-9]{1,5})(?:-([0-9]{1,5}))?", re.ASCII)
# An old IPv4 glob whose meaning a CIDR range keeps: ``10.0.0.*``, ``10.0.*.*``.
_IPV4_GLOB = re.compile(r"((?:[0-9]{1,3}\.){1,3})\*(?:\.\*){0,2}", re.ASCII)
_GLOB = frozenset("*?[]")
FORMS = (
    "write an IP (10.0.0.5, [fd00::5]), a range (10.0.0.0/24, [fd00::/64]), a name "
    "(redis.example.com) or *.name (*.redis.example.com), then :port or :low-high"
)


class AddressPatternError(ValueError):
    """A grant address that is not one of the forms; the message says what to write."""


@dataclass(frozen=True)
class AddressPattern:
    """One parsed ``redisAddresses`` entry: a network or a name, and a port range."""

    text: str
    low: int
    high: int
    network: IPNetwork | None = None
    # The name's labels, lower case; with ``wildcard`` the labels after the leading ``*``.
    labels: tuple[str, ...] = ()
    wildcard: bool = False

    def matches(self, endpoint: Endpoint) -> bool:
        if not self.low <= endpoint.port <= self.high:
            return False
        host = host_of(endpoint.host)
        if self.network is not None:
            return isinstance(host, IPAddress) and host in self.network
        if not isinstance(host, tuple):
            return False
        if self.wildcard:
            return len(host) == len(self.labels) + 1 and host[1:] == self.labels
        return host == self.labels


def host_of(host: str) -> IPAddress | tuple[str, ...] | None:
    """The address or the name's labels ``host`` stands for; None when it may be neither
    matched nor trusted (a numeric form other than an IP literal, a zone id, non-ASCII)."""
    if not host.isascii() or "%" in host:
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return name_labels(host)
    # ::ffff:10.0.0.5 reaches 10.0.0.5: compare it as what it reaches.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def name_labels(name: str) -> tuple[str, ...] | None:
    """A DNS name's labels in lower case (one trailing dot dropped), or None if it is not
    a name: a bad label, or a last label that does not start with a letter (no top-level
    domain does; ``10.0.0.1`` or ``0x7f`` would be read as a number)."""
    lowered = name.lower()
    lowered = lowered.removesuffix(".")
    if not lowered.isascii() or len(lowered) > 253:
        return None
    labels = tuple(lowered.split("."))
    if not all(_LABEL.fullmatch(label) for label in labels):
        return None
    if not labels[-1][0].isalpha():
        return None
    return labels


def parse_address_pattern(text: str) -> AddressPattern:
    """``text`` as a pattern; raises AddressPatternError saying what to write instead."""
    if not text.isascii():
        raise AddressPatternError(f"is not ASCII: write a name in its xn-- form; {FORMS}")
    host, colon, port = text.rpartition(":")
    if not colon or not host:
        raise AddressPatternError(f"has no port: {FORMS}")
    low, high = _ports(port)
    network, labels, wildcard = _host(host, port)
    return AddressPattern(text, low, high, network, labels, wildcard)


def _host(host: str, port: str) -> tuple[IPNetwork | None, tuple[str, ...], bool]:
    """The host form: (network, no labels, False) or (None, the name's labels, wildcard)."""
    if "%" in host:
        raise AddressPatternError("has a zone id (%): write the address without it")
    if host.startswith("[") and host.endswith("]") and not _GLOB & set(host[1:-1]):
        return _network(host[1:-1], 6), (), False
    if host.startswith("*.") and not _GLOB & set(host[2:]):
        labels = name_labels(host[2:])
        if labels is None:
            raise AddressPatternError(f"is not a DNS name after '*.': {FORMS}")
        return None, labels, True
    if _GLOB & set(host):
        raise AddressPatternError(_glob_problem(host, port))
    if ":" in host:
        raise AddressPatternError("has an IPv6 address without brackets: write [fd00::5]:6379")
    if "/" in host or host.replace(".", "").isdigit():
        return _network(host, 4), (), False
    labels = name_labels(host)
    if labels is None:
        raise AddressPatternError(f"is neither an IP nor a DNS name: {FORMS}")
    return None, labels, False


def _ports(port: str) -> tuple[int, int]:
    if _GLOB & set(port):
        raise AddressPatternError("has a glob for its port: write a range such as 1-65535")
    found = _PORT.fullmatch(port)
    if found is None:
        raise AddressPatternError(f"has no port: {FORMS}")
    low = int(found.group(1))
    high = int(found.group(2) or low)
    if not 1 <= low <= high <= 65535:
        raise AddressPatternError("has a port outside 1-65535 or a range whose low end is higher")
    return low, high


def _network(text: str, version: int) -> IPNetwork:
    """``text`` as an address (a one-address network) or a CIDR range of IP ``version``."""
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError:
        try:
            loose = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise AddressPatternError(
                f"is not an IPv{version} address or range (dotted decimal, no leading zeros)"
            ) from None
        raise AddressPatternError(f"has host bits set: write {loose}") from None
    if network.version != version:
        form = "without brackets" if version == 6 else "in brackets"
        raise AddressPatternError(f"is an IPv{network.version} address: write it {form}")
    if isinstance(network, ipaddress.IPv6Network) and (
        network.network_address.ipv4_mapped is not None
    ):
        raise AddressPatternError("is an IPv4-mapped IPv6 address: write the IPv4 form")
    return network


def _glob_problem(host: str, port: str) -> str:
    """What to write instead of an old glob; the CIDR range where one means the same."""
    old = _IPV4_GLOB.fullmatch(host)
    if old is not None:
        fixed = old.group(1).rstrip(".").split(".")
        prefix = ".".join(fixed + ["0"] * (4 - len(fixed)))
        return f"is a glob; write {prefix}/{8 * len(fixed)}:{port}"
    return f"is a glob; {FORMS}"
