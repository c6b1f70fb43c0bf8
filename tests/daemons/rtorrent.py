"""Placeholder: fixtures for real rtorrent (SCGI) and nginx in front of it."""
