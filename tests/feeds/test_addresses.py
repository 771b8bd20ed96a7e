"""A feed cannot make the bot fetch from inside: redirects to loopback, private, link-local or
metadata addresses are refused, and a feed on such an address needs PSGBOT_FEEDS_ALLOW_PRIVATE.

No test may use the network, so a public feed is played by the local server acting as the bot's
proxy (PSGBOT_HTTP_PROXY), with names resolved by a stand-in resolver: the bot checks where each
request leads, and the proxy shows which requests left the bot.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path

import pytest
from conftest import make_settings
from sqlalchemy import func, select
from support.feed_server import FeedServer, Response
from support.feeds import ADMIN, FeedItem, recent, rss

from psgbot.app import prepare_storage
from psgbot.config import load_settings
from psgbot.db.models import Delivery, Feed, Item
from psgbot.feeds.addresses import IPAddress, Reach, classify, resolve_host
from psgbot.feeds.fetch import FeedClient, FetchError, FetchResult, fetch_source, http_client
from psgbot.feeds.poll import poll_source
from psgbot.render.notices import notice_message
from psgbot.services import Services

FEED = rss([FeedItem("a-1", "Court annuls the pardon", "ok", "https://n.example/1", recent())])
PUBLIC_FEED = "http://feeds.example/feed"
NAMES = {
    "feeds.example": ["93.184.216.34"],
    "mirror.example": ["93.184.216.35"],
    "intranet.example": ["10.0.0.7"],
    "split.example": ["93.184.216.36", "10.0.0.8"],
    "localhost.example": ["127.0.0.1"],
}


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Public-looking names for tests, which have no DNS; anything else as the system says."""
    if host in NAMES:
        return [ip_address(address) for address in NAMES[host]]
    return await resolve_host(host, port)


@pytest.fixture
def internal() -> Iterator[FeedServer]:
    """A server inside, e.g. a metadata service, that no feed may make the bot call."""
    server = FeedServer().start()
    server.routes["/latest/meta-data/iam"] = Response(
        b"secret", 200, {"Content-Type": "text/plain"}
    )
    yield server
    server.stop()


def through_proxy(proxy: FeedServer, *, allow_private: bool = False) -> FeedClient:
    return http_client(proxy=proxy.base_url, allow_private=allow_private, resolve=resolve)


@dataclass
class Polled:
    """A feed polled by the bot: what the poll said, what the feed's row recorded, and how many
    of its items were stored."""

    error: str | None
    recorded: str | None
    stored: int


class Poller:
    """Polls a feed as the bot does (storage included), through a client of the test's choice."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def poll(self, source: str, client: FeedClient) -> Polled:
        await self.services.http.aclose()
        self.services.http = client
        outcome = await poll_source(self.services, source, force=True)
        async with self.services.sessions() as session:
            feed = await session.scalar(select(Feed).where(Feed.source == source))
            assert feed is not None
            stored = await session.scalar(
                select(func.count()).select_from(Item).where(Item.feed_id == feed.id)
            )
        return Polled(outcome.error, feed.last_error, int(stored or 0))


@pytest.fixture
async def poller(database_url: str) -> AsyncIterator[Poller]:
    services = Services.create(make_settings(database_url, feeds=[PUBLIC_FEED]))
    await prepare_storage(services)
    yield Poller(services)
    await services.close()


def direct(*, allow_private: bool) -> FeedClient:
    return http_client(allow_private=allow_private, resolve=resolve)


def internal_targets(internal: FeedServer) -> list[str]:
    port = internal.httpd.server_address[1]
    return [
        f"http://127.0.0.1:{port}/latest/meta-data/iam",
        "http://10.1.2.3/latest/meta-data/iam",
        "http://169.254.169.254/latest/meta-data/iam",
        f"http://[::1]:{port}/latest/meta-data/iam",
        "http://[fd00:ec2::254]/latest/meta-data/iam",
        f"http://[::ffff:127.0.0.1]:{port}/latest/meta-data/iam",
        f"http://0.0.0.0:{port}/latest/meta-data/iam",
        "http://intranet.example/latest/meta-data/iam",
        "http://split.example/latest/meta-data/iam",
    ]


@pytest.mark.parametrize("allow_private", [False, True])
@pytest.mark.parametrize("target", range(9))
async def test_a_public_feed_cannot_redirect_inside(
    poller: Poller, feed_server: FeedServer, internal: FeedServer, target: int, allow_private: bool
) -> None:
    location = internal_targets(internal)[target]
    feed_server.routes[PUBLIC_FEED] = Response(b"", 302, {"Location": location})
    polled = await poller.poll(PUBLIC_FEED, through_proxy(feed_server, allow_private=allow_private))
    assert [path for path, _headers in feed_server.requests] == [PUBLIC_FEED]
    assert internal.requests == []
    assert "refused: redirect" in (polled.error or "")
    assert location.split("/latest")[0] in (polled.error or "")
    assert polled.recorded == polled.error, "the refusal is on the feed's record"
    assert polled.stored == 0


async def test_a_public_feed_may_redirect_to_another_public_address(
    poller: Poller, feed_server: FeedServer
) -> None:
    feed_server.routes[PUBLIC_FEED] = Response(b"", 301, {"Location": "http://mirror.example/f"})
    feed_server.routes["http://mirror.example/f"] = Response(FEED)
    polled = await poller.poll(PUBLIC_FEED, through_proxy(feed_server))
    assert polled.error is None
    assert polled.stored == 1


async def fetch_directly(url: str, *, allow_private: bool) -> FetchResult:
    async with http_client(allow_private=allow_private, resolve=resolve) as client:
        return await fetch_source(url, client)


async def test_a_feed_on_a_private_address_needs_the_setting(
    poller: Poller, feed_server: FeedServer
) -> None:
    feed_server.routes["/feed"] = Response(FEED)
    port = feed_server.httpd.server_address[1]
    for url in (feed_server.url("/feed"), f"http://localhost.example:{port}/feed"):
        polled = await poller.poll(url, direct(allow_private=False))
        assert "PSGBOT_FEEDS_ALLOW_PRIVATE=true" in (polled.error or "")
        assert "a loopback address" in (polled.error or "")
        assert polled.recorded == polled.error
        assert polled.stored == 0
    assert feed_server.requests == []
    allowed = await poller.poll(feed_server.url("/feed"), direct(allow_private=True))
    assert allowed.error is None
    assert allowed.stored == 1


async def test_an_intranet_feed_may_redirect_within_the_intranet(
    poller: Poller, feed_server: FeedServer, internal: FeedServer
) -> None:
    internal.routes["/moved"] = Response(FEED)
    feed_server.routes["/old"] = Response(b"", 302, {"Location": "/feed"})
    feed_server.routes["/feed"] = Response(b"", 301, {"Location": internal.url("/moved")})
    polled = await poller.poll(feed_server.url("/old"), direct(allow_private=True))
    assert polled.error is None
    assert polled.stored == 1


@pytest.mark.parametrize(
    "location",
    [
        "http://169.254.169.254/latest/meta-data/iam",
        "http://[fd00:ec2::254]/latest/meta-data/iam",
        "http://224.0.0.1/feed",
    ],
)
async def test_metadata_and_multicast_are_refused_even_for_intranet_feeds(
    poller: Poller, feed_server: FeedServer, location: str
) -> None:
    feed_server.routes["/feed"] = Response(b"", 302, {"Location": location})
    polled = await poller.poll(feed_server.url("/feed"), direct(allow_private=True))
    assert "refused: redirect to" in (polled.error or "")
    assert polled.recorded == polled.error
    assert polled.stored == 0


async def test_the_fetch_connects_to_the_address_that_was_checked(
    poller: Poller, feed_server: FeedServer
) -> None:
    # No DNS knows localhost.example: only the checked address can have been connected to.
    feed_server.routes["/feed"] = Response(FEED)
    port = feed_server.httpd.server_address[1]
    polled = await poller.poll(f"http://localhost.example:{port}/feed", direct(allow_private=True))
    assert polled.error is None
    assert polled.stored == 1
    _path, headers = feed_server.requests[-1]
    assert headers["Host"] == f"localhost.example:{port}"


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost.example, made now (no key lives in the repo)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost.example"),
            *("-addext", "subjectAltName=DNS:localhost.example"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_https_checks_the_name_while_connecting_to_the_checked_address(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # httpx trusts it, as it would a real CA
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    server_names: list[str | None] = []
    tls.sni_callback = lambda _socket, name, _context: server_names.append(name)
    server = FeedServer(tls=tls).start()
    server.routes["/feed"] = Response(FEED)
    port = server.httpd.server_address[1]
    try:
        result = await fetch_directly(f"https://localhost.example:{port}/feed", allow_private=True)
        assert result.body == FEED
        assert server_names == ["localhost.example"]
        assert server.requests[-1][1]["Host"] == f"localhost.example:{port}"
        # The certificate is checked against the name, not the address connected to.
        with pytest.raises(FetchError, match="CERTIFICATE_VERIFY_FAILED"):
            await fetch_directly(f"https://127.0.0.1:{port}/feed", allow_private=True)
    finally:
        server.stop()


async def test_a_refused_redirect_is_recorded_on_the_feed(
    database_url: str, feed_server: FeedServer, internal: FeedServer
) -> None:
    location = internal_targets(internal)[0]
    feed_server.routes[PUBLIC_FEED] = Response(b"", 302, {"Location": location})
    settings = make_settings(
        database_url,
        feeds=[PUBLIC_FEED],
        admins=[ADMIN],
        feeds_allow_private=False,
        http_proxy=feed_server.base_url,
    )
    services = Services.create(settings)
    await services.http.aclose()
    services.http = through_proxy(feed_server)
    try:
        await prepare_storage(services)
        outcome = await poll_source(services, PUBLIC_FEED)
        async with services.sessions() as session:
            feed = await session.scalar(select(Feed).where(Feed.source == PUBLIC_FEED))
            notices = list(await session.scalars(select(Delivery)))
    finally:
        await services.close()
    expected = f"refused: redirect to {location} (127.0.0.1, a loopback address)"
    assert outcome.error == "cannot read: " + expected
    assert feed is not None
    assert feed.failures == 1
    assert feed.next_poll_at is not None
    assert feed.last_error == outcome.error
    assert [notice.chat_id for notice in notices] == [ADMIN]
    # The notice is rendered when it is sent, from the feed's row.
    assert notices[0].notice is not None
    told = notice_message(notices[0].notice, event=None, feed=feed, hours=None) or ""
    assert "is failing" in told
    assert expected in told
    assert internal.requests == []
    assert [path for path, _headers in feed_server.requests] == [PUBLIC_FEED]


async def test_an_intranet_feed_cannot_redirect_to_the_unspecified_address(
    database_url: str, feed_server: FeedServer, internal: FeedServer
) -> None:
    # 0.0.0.0 reaches this machine's own services on Linux.
    port = internal.httpd.server_address[1]
    feed_server.routes["/feed"] = Response(
        b"", 302, {"Location": f"http://0.0.0.0:{port}/latest/meta-data/iam"}
    )
    settings = make_settings(database_url, feeds=[feed_server.url("/feed")], admins=[ADMIN])
    services = Services.create(settings)
    try:
        await prepare_storage(services)
        outcome = await poll_source(services, feed_server.url("/feed"))
    finally:
        await services.close()
    assert internal.requests == []
    assert outcome.error is not None
    assert "an unspecified address" in outcome.error


def test_psgbot_ingest_refuses_a_private_feed_by_default(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    feed_server.routes["/feed"] = Response(FEED)
    result = subprocess.run(
        [sys.executable, "-m", "psgbot", "ingest", feed_server.url("/feed"), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=dict(os.environ),
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "refused" in result.stderr
    assert "PSGBOT_FEEDS_ALLOW_PRIVATE=true" in result.stderr
    assert feed_server.requests == []


def test_private_feeds_are_off_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(_env_file=None).feeds_allow_private is False
    monkeypatch.setenv("PSGBOT_FEEDS_ALLOW_PRIVATE", "true")
    assert load_settings(_env_file=None).feeds_allow_private is True


@pytest.mark.parametrize(
    ("address", "reach"),
    [
        ("93.184.216.34", Reach.PUBLIC),
        ("2606:4700::1", Reach.PUBLIC),
        ("127.0.0.1", Reach.PRIVATE),
        ("127.8.9.10", Reach.PRIVATE),
        ("::1", Reach.PRIVATE),
        ("::ffff:127.0.0.1", Reach.PRIVATE),
        ("10.1.2.3", Reach.PRIVATE),
        ("172.16.0.1", Reach.PRIVATE),
        ("192.168.1.1", Reach.PRIVATE),
        ("100.64.0.1", Reach.PRIVATE),
        ("169.254.1.1", Reach.PRIVATE),
        ("fe80::1", Reach.PRIVATE),
        ("fd12:3456::1", Reach.PRIVATE),
        ("fec0::1", Reach.PRIVATE),
        ("169.254.169.254", Reach.NEVER),
        ("::ffff:169.254.169.254", Reach.NEVER),
        ("fd00:ec2::254", Reach.NEVER),
        ("0.0.0.0", Reach.NEVER),
        ("::", Reach.NEVER),
        ("224.0.0.1", Reach.NEVER),
        ("ff02::1", Reach.NEVER),
        ("240.0.0.1", Reach.NEVER),
        ("255.255.255.255", Reach.NEVER),
        ("::7f00:1", Reach.NEVER),
    ],
)
def test_addresses_are_classified(address: str, reach: Reach) -> None:
    assert classify(ip_address(address))[0] is reach
