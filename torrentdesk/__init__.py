"""torrentdesk: many rTorrent, Transmission and qBittorrent servers, one list."""

__version__ = "0.1.0"
