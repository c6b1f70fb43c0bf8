"""torrentdesk: many rTorrent and Transmission servers, one list."""

__version__ = "0.1.0"
