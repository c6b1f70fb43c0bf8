"""Every server type, described once: its label, client class, protocols, default ports and RPC
path, and what it can do (SPEC §9). Services, the API and the UI read
these facts here and nowhere else; adding a server type is one client module and one entry.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .base import BaseTorrentClient
from .qbittorrent import QBittorrentClient
from .rtorrent import RTorrentClient
from .transmission import TransmissionClient

Capabilities = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Protocol:
    name: str  # scgi | http | https
    label: str  # as forms show it
    default_port: int
    auth: bool = True  # takes a username and password (the servers form asks for them)


@dataclass(frozen=True, slots=True)
class ServerKind:
    server_type: str
    label: str
    client_class: type[BaseTorrentClient]
    protocols: tuple[Protocol, ...]  # the first is the default
    default_rpc_path: str | None  # over http(s); None where the protocol has no path
    capabilities_for: Callable[[str | None], Capabilities]
    # A hint the servers form shows under a protocol, e.g. SCGI's lack of authentication.
    protocol_notes: tuple[tuple[str, str], ...] = ()
    # PREFIX_HOST, _PORT (of the default protocol), _USERNAME, _PASSWORD pre-fill the servers
    # form for a new server of this type (SPEC §2).
    env_prefix: str | None = None

    @property
    def protocol_names(self) -> tuple[str, ...]:
        return tuple(protocol.name for protocol in self.protocols)

    @property
    def default_protocol(self) -> str:
        return self.protocols[0].name

    def default_port(self, protocol: str) -> int:
        return next(p.default_port for p in self.protocols if p.name == protocol)

    def protocol(self, name: str | None) -> Protocol | None:
        return next((p for p in self.protocols if p.name == name), None)

    def rpc_path_for(self, protocol: str) -> str | None:
        """The default RPC path over `protocol` (SCGI has none)."""
        return None if protocol == "scgi" else self.default_rpc_path

    def capabilities(self, version: str | None) -> Capabilities:
        """What a server of this type can do, from the version it reported at its last
        successful connection; empty until it has connected once."""
        return {} if not version else self.capabilities_for(version)


def _version_number(version: str) -> tuple[int, ...]:
    """(3, 0) from "Transmission 3.00 (bb6b5a062e)", (0, 9, 8) from "rTorrent 0.9.8 / …"."""
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", version)
    if match is None:
        return ()
    major, minor, patch = match.groups()
    if len(minor) == 2 and patch is None:  # Transmission's "3.00" is 3.0, "2.94" is 2.94
        return int(major), int(minor)
    return tuple(int(part) for part in (major, minor, patch) if part is not None)


def _rtorrent_capabilities(version: str) -> Capabilities:
    return {
        "labels": "multi",  # d.custom1, comma-joined and URL-encoded (ruTorrent/Flood)
        "move_data": False,  # no rTorrent RPC moves data: a move only relocates
        "free_space": "approximate",
        "alt_speed": "emulated",  # switching the global limits, remembered by torrentdesk
        "alt_unlimited": True,  # an alternative limit may be null (unlimited)
        "torrent_limits": False,
        "queue": False,
        "recheck": True,
        "reannounce": True,
        "tracker_edit": "add_disable",  # trackers from the .torrent can only be disabled
        "file_priorities": ["off", "normal", "high"],
        "metainfo": False,
    }


def _transmission_capabilities(version: str) -> Capabilities:
    number = _version_number(version)
    return {
        # Labels arrived with RPC 16 (Transmission 3.00).
        "labels": "multi" if number >= (3, 0) else "none",
        "move_data": True,
        "free_space": "exact",
        "alt_speed": "native",
        "alt_unlimited": False,  # alt-speed-down/up are always a number of kB/s
        "torrent_limits": True,
        "queue": number >= (2, 40),  # queue-move-* since RPC 14
        "recheck": True,
        "reannounce": True,
        "tracker_edit": "replace",
        "file_priorities": ["off", "low", "normal", "high"],
        "metainfo": False,
    }


def _qbittorrent_capabilities(version: str) -> Capabilities:
    return {
        "labels": "multi",  # tags (created when missing); the category shows as the first
        "move_data": True,  # setLocation moves the data
        "free_space": "exact",  # maindata's free_space_on_disk: the default save path's disk
        "alt_speed": "native",
        "alt_unlimited": True,  # 0 is "no limit" for the alternative pair too
        "torrent_limits": True,
        "queue": True,  # queue moves need "torrent queueing" on in qBittorrent's options
        "recheck": True,
        "reannounce": True,
        "tracker_edit": "replace",  # editTracker, addTrackers, removeTrackers
        "file_priorities": ["off", "normal", "high"],  # 0, 1, 6 (7 "maximal" reads as high)
        "metainfo": _version_number(version) >= (4, 5),  # torrents/export (Web API 2.8.14)
    }


RTORRENT = ServerKind(
    server_type="rtorrent",
    label="rTorrent",
    client_class=RTorrentClient,
    protocols=(
        Protocol("scgi", "SCGI", 5000, auth=False),
        Protocol("http", "HTTP (web server /RPC2)", 80),
        Protocol("https", "HTTPS", 443),
    ),
    default_rpc_path="/RPC2",
    capabilities_for=_rtorrent_capabilities,
    protocol_notes=(
        (
            "scgi",
            "SCGI has no authentication: bind rTorrent's SCGI port to 127.0.0.1 or reach it "
            "through a tunnel.",
        ),
    ),
)
TRANSMISSION = ServerKind(
    server_type="transmission",
    label="Transmission",
    client_class=TransmissionClient,
    protocols=(Protocol("http", "HTTP", 9091), Protocol("https", "HTTPS", 443)),
    default_rpc_path="/transmission/rpc",
    capabilities_for=_transmission_capabilities,
    env_prefix="TRANSMISSION",
)

QBITTORRENT = ServerKind(
    server_type="qbittorrent",
    label="qBittorrent",
    client_class=QBittorrentClient,
    protocols=(Protocol("http", "HTTP", 8080), Protocol("https", "HTTPS", 443)),
    default_rpc_path=None,  # the Web API is always at /api/v2
    capabilities_for=_qbittorrent_capabilities,
    env_prefix="QBITTORRENT",
)

SERVER_KINDS: dict[str, ServerKind] = {
    kind.server_type: kind for kind in (RTORRENT, TRANSMISSION, QBITTORRENT)
}


def server_type_labels(conjunction: str = "or") -> str:
    """"rTorrent, Transmission or qBittorrent": every type, for texts that name them."""
    *first, last = [kind.label for kind in SERVER_KINDS.values()]
    return f"{', '.join(first)} {conjunction} {last}" if first else last


def server_kind(server_type: str) -> ServerKind:
    kind = SERVER_KINDS.get(server_type)
    if kind is None:
        raise ValueError(
            f"unknown server type {server_type!r}: use one of {', '.join(SERVER_KINDS)}"
        )
    return kind
