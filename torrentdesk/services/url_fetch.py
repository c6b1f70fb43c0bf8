"""Fetch a .torrent from an http(s) URL ourselves (SPEC §11), so its info hash and name are
known at once on every client, within limits: size, time, redirects, and no loopback,
link-local or private address unless an admin allows it (SSRF)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urljoin, urlsplit

import httpx

from ..torrent_input import MAX_TORRENT_FILE_SIZE, TorrentMetainfo, parse_torrent_file
from .errors import InvalidInput, ServiceError, quoted

MAX_REDIRECTS = 5
FETCH_TIMEOUT = 20.0  # seconds for the whole fetch, redirects included


class FetchFailed(ServiceError):
    """The URL's server failed or sent something that is not a .torrent (a 502)."""


class FetchTimedOut(FetchFailed):
    """The URL's server did not send the whole file in time (a 504)."""


# What went wrong, in words, for httpx's errors (its class names mean nothing to a user).
_HTTP_FAILURES: tuple[tuple[type[httpx.HTTPError], str], ...] = (
    (httpx.ConnectError, "the connection was refused or failed — is the address right?"),
    (httpx.RemoteProtocolError, "its server broke the HTTP protocol or closed the connection"),
    (httpx.ReadError, "the connection broke off while reading"),
    (httpx.UnsupportedProtocol, "only http and https URLs can be fetched"),
    (httpx.TransportError, "the connection failed"),
)


async def fetch_torrent(url: str, allow_private: bool) -> TorrentMetainfo:
    try:
        async with asyncio.timeout(FETCH_TIMEOUT):
            data = await _fetch(url, allow_private)
    except TimeoutError:
        raise FetchTimedOut(
            f"fetching {_shown(url)} took longer than {FETCH_TIMEOUT:.0f} s: try again later"
        ) from None
    return await asyncio.to_thread(parse_torrent_file, data)


async def _fetch(url: str, allow_private: bool) -> bytes:
    asked = url
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            await _check_host(url, allow_private)
            try:
                async with client.stream("GET", url, headers={"Accept": "*/*"}) as reply:
                    if reply.is_redirect and "location" in reply.headers:
                        url = urljoin(url, reply.headers["location"])
                        if urlsplit(url).scheme.lower() not in ("http", "https"):
                            raise InvalidInput(f"{_shown(url)} redirects to a non-http(s) URL")
                        continue
                    if reply.status_code != 200:
                        raise FetchFailed(
                            f"{_shown(url)} answered HTTP {reply.status_code}: check the URL"
                        )
                    return await _body(reply, url)
            except httpx.HTTPError as exc:
                what = next(
                    (w for kind, w in _HTTP_FAILURES if isinstance(exc, kind)), "the request failed"
                )
                where = _shown(url)
                if url != asked:
                    where += f" (redirected from {_shown(asked)})"
                raise FetchFailed(f"could not fetch {where}: {what}") from None
        raise FetchFailed(
            f"{_shown(asked)} redirected more than {MAX_REDIRECTS} times: give the final URL"
        )


async def _body(reply: httpx.Response, url: str) -> bytes:
    declared = reply.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_TORRENT_FILE_SIZE:
        raise InvalidInput(_too_large(url))
    chunks, size = [], 0
    async for chunk in reply.aiter_bytes():
        size += len(chunk)
        if size > MAX_TORRENT_FILE_SIZE:
            raise InvalidInput(_too_large(url))
        chunks.append(chunk)
    return b"".join(chunks)


async def _check_host(url: str, allow_private: bool) -> None:
    host = urlsplit(url).hostname or ""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        raise FetchFailed(f"the host of {_shown(url)} could not be resolved") from None
    if allow_private:
        return
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global:
            raise InvalidInput(
                f"{_shown(url)} points to {address}, a loopback, link-local or private "
                "address: an admin can allow fetching from such addresses in the admin settings"
            )


def _too_large(url: str) -> str:
    return f"the file at {_shown(url)} is larger than 10 MiB, the limit for a .torrent"


def _shown(url: str) -> str:
    return quoted(url, 120)
