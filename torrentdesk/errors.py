"""The root of every error whose message is fit to show a user as it is: the clients' (a server
failed, naming it) and the services' (bad input, not found). `services.errors` exports it with
the specific ones the API maps to statuses, so `ui/` and `api/` import nothing from `clients/`."""

from __future__ import annotations


class UserFacingError(Exception):
    pass
