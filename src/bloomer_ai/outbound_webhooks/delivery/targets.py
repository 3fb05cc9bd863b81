"""Where a webhook may go (SSRF rules).

In production an endpoint is https and every address its name resolves to is public
(``is_global``: not loopback, private, link-local, shared, reserved or multicast; an
IPv4 address mapped into IPv6 is judged as itself). The name is resolved once per
attempt and the request goes to that address, so a name that resolves to a public
address for the check and to an internal one for the connection (DNS rebinding) never
reaches the inside. Development and tests may allow loopback and private addresses and
plain http (``WEBHOOK_ALLOW_PRIVATE_TARGETS``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

RefusalCode = Literal[
    "not_a_url",
    "https_required",
    "credentials_in_url",
    "private_address",
    "unresolvable",
]


class TargetRefused(Exception):
    """This URL may not be delivered to; ``code`` is short and safe to store."""

    def __init__(self, code: RefusalCode) -> None:
        self.code: RefusalCode = code
        super().__init__(code)


@dataclass(frozen=True)
class TargetUrl:
    scheme: str
    host: str
    """The name (lower case) or address literal, without brackets."""
    port: int
    path: str
    """Path and query, as given."""

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"

    def at(self, address: IPAddress) -> str:
        """The URL with the resolved address in place of the name."""
        host = f"[{address}]" if address.version == 6 else str(address)
        return f"{self.scheme}://{host}:{self.port}{self.path}"


def address_allowed(address: IPAddress, *, private_allowed: bool) -> bool:
    if private_allowed:
        return True
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def parse_target(url: str, *, private_allowed: bool) -> TargetUrl:
    """The URL's parts, or TargetRefused (checks that need no name resolution)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise TargetRefused("not_a_url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("not_a_url")
    if parts.scheme != "https" and not private_allowed:
        raise TargetRefused("https_required")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("credentials_in_url")
    host = parts.hostname.lower()
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None and not address_allowed(literal, private_allowed=private_allowed):
        raise TargetRefused("private_address")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return TargetUrl(
        scheme=parts.scheme,
        host=host,
        port=port or (443 if parts.scheme == "https" else 80),
        path=path,
    )


async def system_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return []
    return [str(info[4][0]) for info in infos]


async def resolve(target: TargetUrl, *, private_allowed: bool, resolver: Resolver) -> IPAddress:
    """The one address this attempt connects to: every address of the name must be
    allowed (a mixed answer is refused), and the first is used."""
    found = await resolver(target.host, target.port)
    addresses = [ipaddress.ip_address(item.split("%", 1)[0]) for item in found]
    if not addresses:
        raise TargetRefused("unresolvable")
    if not all(address_allowed(item, private_allowed=private_allowed) for item in addresses):
        raise TargetRefused("private_address")
    return addresses[0]
