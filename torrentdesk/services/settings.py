"""Admin settings (SPEC §14): what an install allows, stored in the database and changed only by
admins; and the one check of a network address against them, for servers and URL fetches."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
from dataclasses import asdict, dataclass, fields, replace
from typing import Literal

from pony.orm import Database, db_session

from .audit import AuditService
from .errors import Forbidden, InvalidInput

# Where an address leads, from the point of view of the machine torrentdesk runs on.
AddressKind = Literal["loopback", "link-local", "private", "public"]
# What an address is checked for: a torrent server a user adds (its host), or an http(s) URL
# the app itself fetches for an add (SPEC §11).
Purpose = Literal["server", "url_fetch"]


@dataclass(frozen=True, slots=True)
class AdminSettings:
    """Defaults for a household LAN: torrent servers live on 192.168.x.x or 10.x.x.x, so
    everyone may add those; the machine's own services (loopback) and link-local addresses
    (169.254.x.x, e.g. a cloud's metadata service) are an admin's to add; the app fetches
    torrent URLs from the public internet only, so a user cannot make it probe the LAN."""

    # Non-admins may add servers on private addresses (10/8, 172.16/12, 192.168/16, fc00::/7,
    # 100.64/10 and other non-public ranges).
    users_may_add_private_servers: bool = True
    # Non-admins may add servers on loopback (127/8, ::1) and link-local (169.254/16,
    # fe80::/10) addresses.
    users_may_add_loopback_servers: bool = False
    # URL adds may fetch from loopback, link-local and private addresses (anyone's adds).
    url_fetch_may_reach_local_networks: bool = False


SETTING_NAMES = tuple(f.name for f in fields(AdminSettings))
# What each setting says, for the settings page and the API docs.
DESCRIPTIONS = {
    "users_may_add_private_servers": (
        "Non-admins may add servers on private network addresses (192.168.x.x, 10.x.x.x, …)"
    ),
    "users_may_add_loopback_servers": (
        "Non-admins may add servers on this machine (loopback) or link-local addresses"
    ),
    "url_fetch_may_reach_local_networks": (
        "URL adds may fetch from loopback, link-local and private addresses"
    ),
}


class AddressNotAllowed(InvalidInput):
    """An address the admin settings do not allow for that purpose; the message says which
    address, why, and that an admin can allow it."""


def address_kind(address: str) -> AddressKind:
    """The kind of one IP address (IPv4-mapped IPv6 counts as its IPv4)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # fe80::1%eth0: the zone is no part
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback or ip.is_unspecified:  # 0.0.0.0 and :: reach this machine
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_private or not ip.is_global or ip.is_multicast:
        return "private"
    return "public"


def resolve(host: str) -> list[str]:
    """The addresses a host name stands for (itself when it is an address); [] when it does
    not resolve now."""
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
        return [host.strip("[]")]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in found))


class SettingsService:
    def __init__(self, db: Database, audit: AuditService) -> None:
        self._db = db
        self._audit = audit

    def current(self) -> AdminSettings:
        """The settings in force, for checks anywhere (no permission needed to be subject to
        them)."""
        with db_session:
            stored = {row.key: row.value for row in self._db.AdminSetting.select()}
        values = {}
        for name in SETTING_NAMES:
            if name in stored:
                with contextlib.suppress(ValueError):  # unreadable: its default
                    values[name] = bool(json.loads(stored[name]))
        return AdminSettings(**values)

    def is_admin(self, user_id: int) -> bool:
        with db_session:
            user = self._db.User.get(id=user_id)
            return bool(user and user.is_admin)

    def get(self, user_id: int) -> AdminSettings:
        """The settings, for an admin to see."""
        self._require_admin(user_id)
        return self.current()

    def update(self, user_id: int, changes: dict[str, bool]) -> AdminSettings:
        """An admin changes some settings; those left out keep their value. Audited."""
        self._require_admin(user_id)
        after, changed = self.save(changes)
        if changed:
            detail = ", ".join(f"{name} = {str(value).lower()}" for name, value in changed.items())
            self._audit.record(user_id, "settings.edit", True, detail=detail)
        return after

    def save(self, changes: dict[str, bool]) -> tuple[AdminSettings, dict[str, bool]]:
        """Store settings without asking who (the caller has: `update`, or a test's set-up);
        the settings now and what changed."""
        unknown = set(changes) - set(SETTING_NAMES)
        if unknown:
            raise InvalidInput(f"no admin setting named {', '.join(sorted(unknown))}")
        with db_session:
            before = self.current()
            after = replace(before, **{k: bool(v) for k, v in changes.items()})
            changed = {k: v for k, v in asdict(after).items() if asdict(before)[k] != v}
            for name, value in changed.items():
                row = self._db.AdminSetting.get(key=name)
                if row is None:
                    self._db.AdminSetting(key=name, value=json.dumps(value))
                else:
                    row.value = json.dumps(value)
        return after, changed

    def check_address(self, host: str, purpose: Purpose, is_admin: bool = False) -> None:
        """Raise AddressNotAllowed when `host` (a name or an address) leads anywhere the
        settings do not allow for `purpose`; a name counts by every address it resolves to.
        Admins may add servers anywhere; URL fetches follow the setting whoever asks. A name
        that does not resolve now passes: it reaches nothing (the connection checks nothing
        again, so a name whose DNS changes later is not caught)."""
        if purpose == "server" and is_admin:
            return
        allowed = self._allowed_kinds(purpose)
        if allowed >= {"loopback", "link-local", "private"}:
            return
        for address in resolve(host):
            kind = address_kind(address)
            if kind not in allowed:
                raise AddressNotAllowed(_refusal(host, address, kind, purpose))

    def _allowed_kinds(self, purpose: Purpose) -> set[str]:
        settings = self.current()
        allowed = {"public"}
        if purpose == "server":
            if settings.users_may_add_private_servers:
                allowed.add("private")
            if settings.users_may_add_loopback_servers:
                allowed |= {"loopback", "link-local"}
        elif settings.url_fetch_may_reach_local_networks:
            allowed |= {"loopback", "link-local", "private"}
        return allowed

    def _require_admin(self, user_id: int) -> None:
        if not self.is_admin(user_id):
            raise Forbidden("only an admin can see or change the admin settings")


def _refusal(host: str, address: str, kind: str, purpose: Purpose) -> str:
    what = {
        "loopback": "an address of this machine (loopback)",
        "link-local": "a link-local address",
    }.get(kind, "a private network address")
    named = f"{host} is" if host.strip("[]") == address else f"{host} resolves to {address},"
    if purpose == "server":
        return (
            f"{named} {what}: only an admin may add a server there. Ask an admin to add it, or "
            "to allow such servers for everyone in Admin settings."
        )
    return (
        f"the URL's host {named} {what}: torrentdesk does not fetch from there unless an admin "
        "allows it in Admin settings."
    )
