"""Which network addresses a feed fetch may reach.

A feed's server decides where its redirects lead. Unchecked, a public feed could send the bot to
127.0.0.1, the private network or the cloud's metadata service (169.254.169.254) and have it
fetch from inside what nobody outside may reach. So every address a fetch would connect to is
checked, for the configured URL and for each redirect:

- public addresses are always allowed;
- loopback, private, link-local and other non-public addresses only with
  PSGBOT_FEEDS_ALLOW_PRIVATE=true (intranet feeds, tests), and never after a public hop: a public
  feed may not lead inside;
- the metadata services, unspecified, multicast and reserved addresses never (no feed lives there).

Every address a host name resolves to must pass, and the fetch then connects to those very
addresses (``psgbot.feeds.fetch``), so a name cannot resolve to a public address for the check
and to an internal one for the connection.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from ipaddress import IPv4Address, IPv6Address, ip_address

import anyio
import httpx

from psgbot.feeds.sources import display_source

IPAddress = IPv4Address | IPv6Address
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]

METADATA_ADDRESSES = frozenset({ip_address("169.254.169.254"), ip_address("fd00:ec2::254")})


class Reach(Enum):
    PUBLIC = "public"
    PRIVATE = "private"  # allowed with PSGBOT_FEEDS_ALLOW_PRIVATE
    NEVER = "never"


class AddressError(Exception):
    """A fetch may not, or cannot, reach a URL's host; the message says which and why."""


def classify(address: IPAddress) -> tuple[Reach, str]:
    """Where an address is, with words for an error message (``a loopback address``)."""
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if address in METADATA_ADDRESSES:
        return Reach.NEVER, "the cloud metadata service"
    if address.is_unspecified:
        return Reach.NEVER, "an unspecified address"
    if address.is_multicast:
        return Reach.NEVER, "a multicast address"
    if address.is_loopback:
        return Reach.PRIVATE, "a loopback address"
    if address.is_link_local:
        return Reach.PRIVATE, "a link-local address"
    if address.is_reserved:
        return Reach.NEVER, "a reserved address"
    if address.is_private or (isinstance(address, IPv6Address) and address.is_site_local):
        return Reach.PRIVATE, "a private address"
    if not address.is_global:
        return Reach.PRIVATE, "a non-public address"
    return Reach.PUBLIC, "a public address"


async def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address the system resolver gives for a host name, in its order of preference."""
    try:
        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise AddressError(f"cannot resolve {host}") from exc
    found: list[IPAddress] = []
    for *_, sockaddr in infos:
        address = ip_address(str(sockaddr[0]).partition("%")[0])
        if address not in found:
            found.append(address)
    return found


@dataclass(frozen=True)
class Allowed:
    """Where a request may connect, and whether that is a public host."""

    addresses: list[IPAddress]
    public: bool


@dataclass(frozen=True)
class AddressPolicy:
    """The rule above; ``resolve`` is replaceable so tests can name hosts without a network."""

    allow_private: bool = False
    resolve: Resolver = resolve_host

    async def check(self, url: httpx.URL, *, redirect: bool, after_public: bool) -> Allowed:
        """The addresses ``url`` may be fetched from, or :class:`AddressError`.

        ``redirect``: the URL comes from a redirect, not the configuration; ``after_public``: an
        earlier request of this fetch went to a public host.
        """
        addresses = await self._addresses(url)
        if not addresses:
            raise AddressError(f"cannot resolve {url.host}")
        for address in addresses:
            reach, what = classify(address)
            if reach is Reach.PUBLIC:
                continue
            target = f"{display_source(str(url))} ({address}, {what})"
            if redirect and (reach is Reach.NEVER or not self.allow_private):
                raise AddressError(f"refused: redirect to {target}")
            if after_public:
                raise AddressError(f"refused: redirect from a public address to {target}")
            if reach is Reach.NEVER:
                raise AddressError(f"refused: {target}")
            if not self.allow_private:
                raise AddressError(
                    f"refused: {target}; PSGBOT_FEEDS_ALLOW_PRIVATE=true allows intranet feeds"
                )
        public = all(classify(address)[0] is Reach.PUBLIC for address in addresses)
        return Allowed(addresses=addresses, public=public)

    async def _addresses(self, url: httpx.URL) -> list[IPAddress]:
        try:
            return [ip_address(url.host)]
        except ValueError:
            pass
        host = url.raw_host.decode("ascii")  # IDNA-encoded, as the resolver wants it
        return await self.resolve(host, url.port or (443 if url.scheme == "https" else 80))
