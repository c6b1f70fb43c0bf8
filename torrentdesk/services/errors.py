"""Errors the services raise; the API, UI and CLI turn them into their own shapes."""

from __future__ import annotations


class ServiceError(Exception):
    """Base for expected failures whose message is fit to show a user."""


class InvalidInput(ServiceError):
    pass


class NotFound(ServiceError):
    pass


class AlreadyExists(ServiceError):
    pass
