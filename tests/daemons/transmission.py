"""Placeholder: fixtures for a real transmission-daemon."""
