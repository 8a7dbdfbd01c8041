"""The SSRF guard: which URLs a webhook may be sent to.

Checked at registration and again before every delivery, because a name that resolved to a
public address yesterday may resolve to 127.0.0.1 today (DNS rebinding). The check returns the
addresses it vetted, and the delivery connects to exactly those rather than resolving again.

Live mode: https only, and every address the name resolves to must be public. Test mode: http
or https, and loopback or private addresses are allowed (local development needs them) unless the
operator turns that off with ``BEYONDPAY_WEBHOOKS_ALLOW_PRIVATE_TEST_URLS=false``. Link-local
addresses (the cloud metadata service at 169.254.169.254 among them), multicast, reserved and
unspecified addresses are refused in both modes: no receiver lives there.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from beyondpay.kit.errors import InvalidRequestError

URL_CHARS_MAX: Final = 2_048
RESOLVE_TIMEOUT_S: Final = 5.0
URL_PARAM: Final = "url"
_SCHEME_PORTS: Final = {"http": 80, "https": 443}
_LOOPBACK_NAMES: Final = ("localhost", "localhost.localdomain")

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port → the addresses (text) a connection to them could reach.
Resolver = Callable[[str, int], Awaitable[list[str]]]


class UrlInvalidError(InvalidRequestError):
    """Stripe's code for a webhook URL it will not send to. The message never echoes the URL
    (its query may carry the receiver's own token)."""

    code = "url_invalid"


@dataclass(frozen=True, slots=True)
class VettedUrl:
    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]


async def system_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(sockaddr[0]) for _family, _type, _proto, _name, sockaddr in found]


def _refuse(reason: str) -> UrlInvalidError:
    return UrlInvalidError(f"Invalid URL: {reason}.", param=URL_PARAM)


def _embedded_ipv4(address: IpAddress) -> list[IpAddress]:
    """IPv4 addresses an IPv6 address tunnels to: 6to4 (2002::/16) and Teredo (2001::/32)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    embedded: list[IpAddress] = []
    if address.sixtofour is not None:
        embedded.append(address.sixtofour)
    if address.teredo is not None:
        embedded.extend(address.teredo)
    return embedded


def _never_allowed(address: IpAddress) -> bool:
    return (
        address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or (address.is_reserved and not address.is_loopback)
    )


def _public(address: IpAddress) -> bool:
    # is_global is false for private, loopback, link-local, CGNAT (100.64.0.0/10), ULA
    # (fc00::/7), documentation and reserved ranges; multicast is refused on its own.
    return address.is_global and not address.is_multicast


def address_allowed(address: IpAddress, *, livemode: bool, allow_private_test_urls: bool) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # ::ffff:a.b.c.d is a.b.c.d on the wire; judged as the IPv6 wrapper it would be
        # "reserved" (::/8) whatever the IPv4 address inside.
        address = address.ipv4_mapped
    for candidate in (address, *_embedded_ipv4(address)):
        if _never_allowed(candidate):
            return False
        if not _public(candidate) and (livemode or not allow_private_test_urls):
            return False
    return True


def _parse_address(text: str) -> IpAddress | None:
    try:
        # An IPv6 link-local address comes back from getaddrinfo with its zone (fe80::1%eth0).
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def _split(url: str, *, livemode: bool) -> tuple[str, str, int]:
    """Scheme, host and port of a URL deliveries may use, before any resolution."""
    if len(url) > URL_CHARS_MAX:
        raise _refuse(f"a URL has at most {URL_CHARS_MAX} characters")
    if any(character.isspace() or ord(character) < 0x20 for character in url):
        raise _refuse("a URL has no spaces or control characters")
    try:
        parts = urlsplit(url)
        port_number = parts.port
    except ValueError:
        raise _refuse("it is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEME_PORTS:
        raise _refuse("the scheme must be https (or http in test mode)")
    if livemode and scheme != "https":
        raise _refuse("live-mode webhook endpoints must use https")
    if parts.username is not None or parts.password is not None:
        raise _refuse("a URL with a user name or password is not accepted")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise _refuse("the URL has no host")
    return scheme, host, port_number if port_number is not None else _SCHEME_PORTS[scheme]


async def check_url(
    url: str,
    *,
    livemode: bool,
    allow_private_test_urls: bool,
    resolver: Resolver = system_resolver,
    timeout_s: float = RESOLVE_TIMEOUT_S,
) -> VettedUrl:
    """The URL and the addresses a delivery may connect to; ``UrlInvalidError`` (400, param
    ``url``) when it may not be sent to."""
    scheme, host, port = _split(url, livemode=livemode)
    private_allowed = not livemode and allow_private_test_urls
    if not private_allowed and (host in _LOOPBACK_NAMES or host.endswith(".localhost")):
        raise _refuse("the host must be a public address")
    literal = _parse_address(host)
    if literal is not None:
        resolved = [str(literal)]
    else:
        try:
            resolved = await asyncio.wait_for(resolver(host, port), timeout_s)
        except (OSError, UnicodeError, TimeoutError):
            raise _refuse("the host does not resolve") from None
    addresses = [_parse_address(text) for text in resolved]
    if not addresses:
        raise _refuse("the host does not resolve")
    for address in addresses:
        if address is None or not address_allowed(
            address, livemode=livemode, allow_private_test_urls=allow_private_test_urls
        ):
            raise _refuse("the host must resolve to public addresses only")
    vetted = tuple(dict.fromkeys(str(address) for address in addresses))
    return VettedUrl(url=url, scheme=scheme, host=host, port=port, addresses=vetted)
