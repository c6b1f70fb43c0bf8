"""Placeholder: replaced by the Transmission client."""

from .base import BaseTorrentClient


class TransmissionClient(BaseTorrentClient):  # type: ignore[abstract]
    server_type = "transmission"
