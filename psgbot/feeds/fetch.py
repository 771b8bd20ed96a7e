"""Reads a feed source: an http(s) URL through httpx, or a local file.

HTTP fetches are bounded (timeouts, redirects, a body cap that also holds for compressed bodies,
since the cap counts decoded bytes as they stream) and conditional (ETag / Last-Modified), so a
hostile or broken server costs little and an unchanged feed costs one small request.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import anyio
import httpx

from psgbot import __version__
from psgbot.db.models import ETAG_MAX, LAST_MODIFIED_MAX
from psgbot.feeds.sources import HideUrlSecrets, hide_secrets, is_url

MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 5
USER_AGENT = f"psgbot/{__version__} (+https://perusupportgroup.org.uk/; Telegram news bot)"
_MAX_AGE = re.compile(r"max-age=(\d+)")
_HIDE_URL_SECRETS = HideUrlSecrets()


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


def http_client(*, timeout: float = 20.0, proxy: str | None = None) -> httpx.AsyncClient:
    """The client feed fetches share: one connection pool, psgbot's User-Agent, bounded waits."""
    # httpx logs each request's URL, which for a feed may hold credentials or an API key.
    logging.getLogger("httpx").addFilter(_HIDE_URL_SECRETS)
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        headers={
            "User-Agent": USER_AGENT,
            "Accept": "application/rss+xml, application/atom+xml, "
            "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
        },
        proxy=proxy,
    )


async def fetch_source(
    source: str,
    client: httpx.AsyncClient,
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
    except httpx.TooManyRedirects:
        raise FetchError(f"more than {MAX_REDIRECTS} redirects") from None
    except httpx.TimeoutException:
        raise FetchError("timed out") from None
    except httpx.HTTPError as exc:
        # httpx's messages may quote the URL, credentials and API key included.
        message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise FetchError(hide_secrets(message, source)) from None


async def _fetch_http(
    source: str, client: httpx.AsyncClient, headers: dict[str, str]
) -> FetchResult:
    async with client.stream("GET", source, headers=headers) as response:
        if response.status_code == 304:
            return FetchResult(
                body=None,
                etag=_validator(response.headers.get("etag"), ETAG_MAX)
                or headers.get("If-None-Match"),
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
