"""User accounts: argon2 password hashes, the first-start admin."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pony.orm import Database, db_session

from .errors import AlreadyExists, InvalidInput, NotFound

MAX_USERNAME_LENGTH = 64  # the column's size
USERNAME_PATTERN = re.compile(rf"[A-Za-z0-9][A-Za-z0-9_.@-]{{0,{MAX_USERNAME_LENGTH - 1}}}")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
INITIAL_ADMIN = "admin"

_hasher = PasswordHasher()
# Verifying an unknown username costs the same as a known one, so timing can't tell them apart.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    username: str
    is_admin: bool
    created_at: datetime


class UserService:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, username: str, password: str, is_admin: bool = False) -> UserInfo:
        _check_username(username)
        _check_password(password)
        with db_session:
            if self._db.User.get(username=username):
                raise AlreadyExists(f"user {username!r} already exists")
            user = self._db.User(
                username=username, password_hash=_hasher.hash(password), is_admin=is_admin
            )
            user.flush()
            return _info(user)

    def list(self) -> list[UserInfo]:
        with db_session:
            return [_info(u) for u in self._db.User.select().order_by(lambda u: u.username)]

    def delete(self, username: str) -> None:
        with db_session:
            self._get(username).delete()

    def set_password(self, username: str, password: str) -> None:
        _check_password(password)
        with db_session:
            user = self._get(username)
            user.password_hash = _hasher.hash(password)
            user.tokens.clear()  # a new password signs out every API client

    def authenticate(self, username: str, password: str) -> UserInfo | None:
        """The user when the password matches, else None."""
        with db_session:
            # A name longer than any stored one is no user (Pony refuses to look it up).
            fits = len(username) <= MAX_USERNAME_LENGTH
            user = self._db.User.get(username=username) if fits else None
            stored = user.password_hash if user else _DUMMY_HASH
            try:
                _hasher.verify(stored, password)
            except (VerificationError, InvalidHashError):
                return None
            if user is None:
                return None
            if _hasher.check_needs_rehash(stored):
                user.password_hash = _hasher.hash(password)
            return _info(user)

    def session_stamp(self, user_id: int) -> str | None:
        """Changes when the user's password does; None once the user is deleted. A web session
        keeps the stamp it was signed in with, so either change ends it."""
        with db_session:
            user = self._db.User.get(id=user_id)
            if user is None:
                return None
            return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]

    def get(self, username: str) -> UserInfo:
        """The user by name; NotFound when there is none."""
        with db_session:
            return _info(self._get(username))

    def owner(self) -> UserInfo | None:
        """Who a native window signs in: the first admin account."""
        with db_session:
            admin = self._db.User.select(lambda u: u.is_admin).order_by(lambda u: u.id).first()
            return _info(admin) if admin else None

    def ensure_initial_admin(self) -> str | None:
        """With no users at all, create `admin` with a random password and return it once."""
        with db_session:
            if self._db.User.select().exists():
                return None
            password = secrets.token_urlsafe(12)
            self._db.User(
                username=INITIAL_ADMIN, password_hash=_hasher.hash(password), is_admin=True
            )
            return password

    def _get(self, username: str):
        user = self._db.User.get(username=username)
        if user is None:
            raise NotFound(f"no user named {username!r}")
        return user


def _info(user) -> UserInfo:
    return UserInfo(user.id, user.username, user.is_admin, user.created_at)


def _check_username(username: str) -> None:
    if not USERNAME_PATTERN.fullmatch(username):
        raise InvalidInput(
            "a username is 1-64 characters: letters, digits and _ . @ -, starting with a "
            "letter or digit"
        )


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"a password has at most {MAX_PASSWORD_LENGTH} characters")
