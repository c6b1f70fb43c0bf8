"""Signing in: API tokens (stored hashed) and login throttling shared by the form and the API."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from pony.orm import Database, db_session
from pony.orm.core import TransactionError

from ..db import as_utc, utcnow
from .errors import ServiceError
from .users import UserInfo, UserService

TOKEN_BYTES = 32
MAX_FAILURES = 5
FAILURE_WINDOW_SECONDS = 15 * 60
# Writing last_used_at on every request would turn each API read into a database write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class TokenView:
    """A token as its owner may see it: never the token itself (only its hash is kept)."""

    id: int
    created_at: datetime
    last_used_at: datetime | None


class InvalidCredentials(ServiceError):
    def __init__(self) -> None:
        super().__init__("wrong username or password")


class TooManyAttempts(ServiceError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins; try again in {retry_after} s")
        self.retry_after = retry_after


class LoginThrottle:
    """After MAX_FAILURES failures for one username or one address within the window, refuse
    until the oldest of them leaves the window.

    An attempt is reserved before its password is checked (counted as a failure at once, under
    the lock) and released when it succeeds: attempts made at the same moment can never get
    more than MAX_FAILURES tries past the check."""

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        window: float = FAILURE_WINDOW_SECONDS,
        clock=time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self._clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def reserve(self, username: str, address: str) -> None:
        """Count an attempt for both keys, or raise TooManyAttempts (counting nothing) while
        either is locked out."""
        now = self._clock()
        keys = _keys(username, address)
        with self._lock:
            wait = max(self._wait(key, now) for key in keys)
            if wait <= 0:
                for key in keys:
                    self._failures[key].append(now)
        if wait > 0:
            raise TooManyAttempts(max(1, int(wait + 0.999)))

    def succeeded(self, username: str, address: str) -> None:
        """The attempt was right: its reservation and the earlier failures are forgotten."""
        with self._lock:
            for key in _keys(username, address):
                self._failures.pop(key, None)

    def _wait(self, key: str, now: float) -> float:
        failures = self._failures.get(key)
        if not failures:
            return 0.0
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if len(failures) < self.max_failures:
            return 0.0
        return failures[-self.max_failures] + self.window - now


def _keys(username: str, address: str) -> tuple[str, str]:
    return f"user:{username.lower()}", f"addr:{address}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AuthService:
    def __init__(
        self, db: Database, users: UserService, throttle: LoginThrottle | None = None
    ) -> None:
        self._db = db
        self._users = users
        self.throttle = throttle or LoginThrottle()

    def sign_in(self, username: str, password: str, address: str) -> UserInfo:
        """Check credentials under the throttle; the form and the API both come here. The
        attempt counts before the password is checked, and stops counting if it was right."""
        self.throttle.reserve(username, address)
        user = self._users.authenticate(username, password)
        if user is None:
            raise InvalidCredentials()
        self.throttle.succeeded(username, address)
        return user

    def issue_token(self, user_id: int) -> str:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        with db_session:
            self._db.ApiToken(user=self._db.User[user_id], token_hash=hash_token(token))
        return token

    def user_for_token(self, token: str) -> UserInfo | None:
        try:
            with db_session:
                row = self._db.ApiToken.get(token_hash=hash_token(token))
                if row is None:
                    return None
                now = utcnow()
                if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
                    row.last_used_at = now  # no optimistic check: requests at once all write
                user = row.user
                return UserInfo(user.id, user.username, user.is_admin, user.created_at)
        except TransactionError:  # revoked (or its user deleted) at this very moment
            return None

    def list_tokens(self, user_id: int) -> list[TokenView]:
        with db_session:
            rows = self._db.ApiToken.select(lambda t: t.user.id == user_id).order_by(lambda t: t.id)
            return [TokenView(t.id, as_utc(t.created_at), as_utc(t.last_used_at)) for t in rows]

    def revoke_token_id(self, user_id: int, token_id: int) -> bool:
        """Revoke one of the user's tokens by its id; False when it is not theirs or gone."""
        with db_session:
            row = self._db.ApiToken.get(id=token_id)
            if row is None or row.user.id != user_id:
                return False
            row.delete()
            return True

    def revoke_token(self, token: str) -> bool:
        with db_session:
            row = self._db.ApiToken.get(token_hash=hash_token(token))
            if row is None:
                return False
            row.delete()
            return True
