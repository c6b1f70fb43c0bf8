"""Per-install secrets kept in the data dir with mode 0600: the Fernet key and session secret."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

FERNET_KEY_FILE = "secret.key"
SESSION_SECRET_FILE = "session.secret"


class SecretStore:
    """Encrypts server passwords at rest and provides the session-signing secret."""

    def __init__(self, data_dir: Path) -> None:
        self._fernet = Fernet(_read_or_create(data_dir / FERNET_KEY_FILE, Fernet.generate_key))
        self.session_secret = _read_or_create(
            data_dir / SESSION_SECRET_FILE, lambda: secrets.token_urlsafe(48).encode()
        ).decode()

    def encrypt(self, clear: str) -> str:
        return self._fernet.encrypt(clear.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise ValueError(
                f"a stored server password cannot be decrypted with {FERNET_KEY_FILE}: "
                "the key file was replaced; enter the server's password again"
            ) from None


def _read_or_create(path: Path, make) -> bytes:
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write a private temp file, then link it into place: link fails if another process won
    # the race, and nobody ever reads a half-written key.
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(make())
    try:
        os.link(temp, path)
    except FileExistsError:
        pass
    finally:
        temp.unlink()
    return path.read_bytes().strip()
