"""Authentication: argon2id password hashes, signed session cookies, CSRF tokens, login rate limits.

Sessions are stateless signed cookies (itsdangerous, HMAC-SHA1 key derivation + timestamp) holding
the user id, the user's `session_version` (bump it to revoke every session of a user) and the
session's CSRF token. Every state-changing form carries that token; it is compared in constant time.
Failed sign-ins are counted in the database per user name and per client address, so the limit holds
across processes; while over the limit even a correct password is refused.
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from pipeline.config import Settings
from pipeline.review.models import LoginFailure, User

_HASHER = PasswordHasher()  # argon2id, library defaults (RFC 9106 low-memory profile)
# Verified when the user name is unknown, so both paths cost one argon2 verification (no user probing).
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))
MIN_PASSWORD = 10
COOKIE = "docpipe_review"


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"password must have at least {MIN_PASSWORD} characters")
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def secret_key(settings: Settings) -> str:
    """The configured key, else one generated once and kept in <home>/review-secret (mode 0600)."""
    if settings.review_secret_key:
        return settings.review_secret_key
    path = Path(settings.home) / "review-secret"
    if path.is_file():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


@dataclass(frozen=True)
class SessionData:
    user_id: int | None
    session_version: int
    csrf: str

    @classmethod
    def anonymous(cls) -> SessionData:
        return cls(None, 0, secrets.token_urlsafe(32))


class SessionCodec:
    def __init__(self, key: str, ttl_s: int) -> None:
        self._ser = URLSafeTimedSerializer(key, salt="docpipe-review-session")
        self.ttl_s = ttl_s

    def dumps(self, data: SessionData) -> str:
        return self._ser.dumps({"u": data.user_id, "v": data.session_version, "c": data.csrf})

    def loads(self, cookie: str | None) -> SessionData | None:
        if not cookie or len(cookie) > 4096:
            return None
        try:
            raw: Any = self._ser.loads(cookie, max_age=self.ttl_s)
        except BadSignature:  # includes SignatureExpired
            return None
        if not isinstance(raw, dict) or not isinstance(raw.get("c"), str):
            return None
        uid, ver = raw.get("u"), raw.get("v")
        if (uid is not None and not isinstance(uid, int)) or not isinstance(ver, int):
            return None
        return SessionData(uid, ver, raw["c"])


def csrf_ok(session: SessionData, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(session.csrf.encode(), str(token).encode())


class LoginRefused(Exception):
    """Sign-in failed; the message is safe to show (never says whether the user exists)."""

    def __init__(self, message: str, throttled: bool = False) -> None:
        super().__init__(message)
        self.throttled = throttled


def _failures_since(db: Session, column: Any, value: str, since: datetime) -> int:
    return (
        db.scalar(
            select(func.count()).select_from(LoginFailure).where(column == value, LoginFailure.at >= since)
        )
        or 0
    )


def authenticate(
    db: Session, settings: Settings, username: str, password: str, client: str, now: datetime | None = None
) -> User:
    """Return the active user or raise LoginRefused. Records failures; the caller commits."""
    now = now or datetime.now(UTC)
    since = now - timedelta(seconds=settings.review_login_window_s)
    username = username.strip()[:64]
    client = client[:64]
    if (
        _failures_since(db, LoginFailure.username, username, since) >= settings.review_login_max_failures
        or _failures_since(db, LoginFailure.client, client, since) >= 4 * settings.review_login_max_failures
    ):
        raise LoginRefused("Too many failed sign-ins. Wait a few minutes and try again.", throttled=True)
    user = db.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not ok or not user.active:
        db.add(LoginFailure(username=username, client=client, at=now))
        raise LoginRefused("Unknown user name or wrong password.")
    db.execute(delete(LoginFailure).where(LoginFailure.username == username))
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = _HASHER.hash(password)
    return user
