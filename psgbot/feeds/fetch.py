"""Reads a feed source: an http(s) URL through httpx, or a local file.

HTTP fetches are bounded (timeouts, redirects, a body cap that also holds for compressed bodies,
since the cap counts decoded bytes as they stream) and conditional (ETag / Last-Modified), so a
hostile or broken server costs little and an unchanged feed costs one small request. They reach
only the addresses ``psgbot.feeds.addresses`` allows, redirects included.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import anyio
import httpx

from psgbot import __version__
from psgbot.db.models import ETAG_MAX, LAST_MODIFIED_MAX
from psgbot.feeds.addresses import AddressError, AddressPolicy, IPAddress, Resolver, resolve_host
from psgbot.feeds.sources import HideUrlSecrets, hide_secrets, is_url

MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 5
USER_AGENT = f"psgbot/{__version__} (+https://perusupportgroup.org.uk/; Telegram news bot)"
_MAX_AGE = re.compile(r"max-age=(\d+)")
_HIDE_URL_SECRETS = HideUrlSecrets()
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class FetchError(Exception):
    """The source could not be read; the message says why in one line."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class FetchResult:
    """What a fetch brought back; ``body`` is None when the server said 304 Not Modified."""

    body: bytes | None
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    max_age: int | None = None

    @property
    def not_modified(self) -> bool:
        return self.body is None


class FeedClient(httpx.AsyncClient):
    """httpx's client with what every feed request obeys: the address policy, and whether this
    process connects or a proxy does (which then also resolves the names)."""

    def __init__(self, *, policy: AddressPolicy, proxy: str | None, timeout: float) -> None:
        super().__init__(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            # fetch_source follows redirects itself, checking where each one leads.
            follow_redirects=False,
            headers={
                "User-Agent": USER_AGENT,
                "Accept": "application/rss+xml, application/atom+xml, "
                "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
            },
            # An explicit transport: the proxy is PSGBOT_HTTP_PROXY or none (not HTTP_PROXY from
            # the environment), so the client knows whether it connects itself. No keep-alive:
            # requests go to an address (see _send), and a connection opened for one host name
            # must not carry a request for another that shares its address.
            transport=httpx.AsyncHTTPTransport(
                proxy=proxy, limits=httpx.Limits(max_keepalive_connections=0)
            ),
        )
        self.policy = policy
        self.proxied = proxy is not None


def http_client(
    *,
    timeout: float = 20.0,
    proxy: str | None = None,
    allow_private: bool = False,
    resolve: Resolver = resolve_host,
) -> FeedClient:
    """The client feed fetches share: psgbot's User-Agent, bounded waits, public addresses only
    unless ``allow_private`` (PSGBOT_FEEDS_ALLOW_PRIVATE)."""
    # httpx logs each request's URL, which for a feed may hold credentials or an API key.
    logging.getLogger("httpx").addFilter(_HIDE_URL_SECRETS)
    policy = AddressPolicy(allow_private=allow_private, resolve=resolve)
    return FeedClient(policy=policy, proxy=proxy, timeout=timeout)


async def fetch_source(
    source: str,
    client: FeedClient,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    total_timeout: float = 60.0,
) -> FetchResult:
    """Fetches one source, raising :class:`FetchError` with a readable reason on any failure."""
    if not is_url(source):
        return await _read_file(source)
    headers = {}
    if etag := _validator(etag, ETAG_MAX):
        headers["If-None-Match"] = etag
    if last_modified := _validator(last_modified, LAST_MODIFIED_MAX):
        headers["If-Modified-Since"] = last_modified
    try:
        with anyio.fail_after(total_timeout):
            return await _fetch_http(source, client, headers)
    except TimeoutError:
        raise FetchError(f"timed out after {total_timeout:g} s") from None
    except AddressError as exc:
        raise FetchError(str(exc)) from None
    except httpx.InvalidURL:
        raise FetchError("not a valid URL") from None
    except httpx.TimeoutException:
        raise FetchError("timed out") from None
    except httpx.HTTPError as exc:
        # httpx's messages may quote the URL, credentials and API key included.
        message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise FetchError(hide_secrets(message, source)) from None


async def _fetch_http(source: str, client: FeedClient, headers: dict[str, str]) -> FetchResult:
    """Follows up to MAX_REDIRECTS redirects, each to an address the policy allows.

    Redirects are followed here rather than by httpx, because the rule for a redirect depends on
    the requests before it (a public feed may not lead inside), and because the addresses a name
    was checked with must be the ones connected to (see _send); httpx's hooks offer neither.
    """
    url = httpx.URL(source)
    after_public = False
    for hop in range(MAX_REDIRECTS + 1):
        allowed = await client.policy.check(url, redirect=hop > 0, after_public=after_public)
        after_public = after_public or allowed.public
        response = await _send(client, url, allowed.addresses, headers)
        try:
            location = response.headers.get("location")
            if response.status_code in _REDIRECTS and location:
                url = _redirect_target(url, location)
                continue
            return await _read(response, headers)
        finally:
            await response.aclose()
    raise FetchError(f"more than {MAX_REDIRECTS} redirects")


async def _send(
    client: FeedClient, url: httpx.URL, addresses: list[IPAddress], headers: dict[str, str]
) -> httpx.Response:
    if client.proxied:
        # The proxy resolves the name and connects; the check of the name is what is left here.
        return await client.send(client.build_request("GET", url, headers=headers), stream=True)
    # Connect to the very addresses that were checked: resolving the name again could give
    # another (DNS rebinding). The Host header and the TLS server name stay the URL's own.
    pinned_headers = {**headers, "Host": url.netloc.decode("ascii")}
    extensions = {"sni_hostname": url.raw_host.decode("ascii")}
    refused: httpx.ConnectError | None = None
    for address in addresses:
        request = client.build_request(
            "GET", url.copy_with(host=str(address)), headers=pinned_headers, extensions=extensions
        )
        try:
            return await client.send(request, stream=True)
        except httpx.ConnectError as exc:  # try the name's next address, as a browser would
            refused = exc
    if refused is None:  # the policy never allows an empty list
        raise AddressError(f"cannot resolve {url.host}")
    raise refused


def _redirect_target(url: httpx.URL, location: str) -> httpx.URL:
    target = url.join(location).copy_with(fragment=None)
    if target.scheme not in {"http", "https"}:
        raise FetchError(f"redirect to a {target.scheme or 'relative'} URL, not http(s)")
    return target


async def _read(response: httpx.Response, headers: dict[str, str]) -> FetchResult:
    if response.status_code == 304:
        return FetchResult(
            body=None,
            etag=_validator(response.headers.get("etag"), ETAG_MAX) or headers.get("If-None-Match"),
            last_modified=_validator(response.headers.get("last-modified"), LAST_MODIFIED_MAX)
            or headers.get("If-Modified-Since"),
            max_age=_max_age(response.headers.get("cache-control")),
        )
    if response.status_code >= 400:
        raise FetchError(
            f"HTTP {response.status_code} {response.reason_phrase}".strip(),
            status=response.status_code,
        )
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise FetchError(f"body larger than {MAX_BODY_BYTES // (1024 * 1024)} MB")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise FetchError(f"body larger than {MAX_BODY_BYTES // (1024 * 1024)} MB")
        chunks.append(chunk)
    return FetchResult(
        body=b"".join(chunks),
        content_type=response.headers.get("content-type"),
        etag=_validator(response.headers.get("etag"), ETAG_MAX),
        last_modified=_validator(response.headers.get("last-modified"), LAST_MODIFIED_MAX),
        max_age=_max_age(response.headers.get("cache-control")),
    )


async def _read_file(source: str) -> FetchResult:
    path = await anyio.Path(source).expanduser()
    try:
        stat = await path.stat()
        if stat.st_size > MAX_BODY_BYTES:
            raise FetchError(f"file larger than {MAX_BODY_BYTES // (1024 * 1024)} MB")
        return FetchResult(body=await path.read_bytes())
    except FileNotFoundError:
        raise FetchError("no such file") from None
    except IsADirectoryError:
        raise FetchError("is a folder, not a feed file") from None
    except OSError as exc:
        raise FetchError(exc.strerror or str(exc)) from None


def _validator(value: str | None, limit: int) -> str | None:
    """A cache validator longer than its column is ignored: not stored, not sent back."""
    return value if value and len(value) <= limit else None


def _max_age(cache_control: str | None) -> int | None:
    if not cache_control:
        return None
    match = _MAX_AGE.search(cache_control)
    return int(match.group(1)) if match else None
