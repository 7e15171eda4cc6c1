"""Account administration (used by `docpipe users add` and the admin page)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.review import audit
from pipeline.review.auth import hash_password
from pipeline.review.models import User
from pipeline.review.permissions import parse_roles

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def add_user(
    db: Session,
    username: str,
    password: str,
    roles: str,
    display_name: str | None = None,
    *,
    actor: str = "cli",
) -> User:
    """Create an account; ValueError with a readable message on a bad name, role or password."""
    if not _USERNAME.match(username):
        raise ValueError("user name must be 2-64 characters: lower-case letters, digits, '.', '_' or '-'")
    role_set = parse_roles(roles)
    if db.scalar(select(User.id).where(User.username == username)) is not None:
        raise ValueError(f"user {username!r} already exists")
    user = User(
        username=username,
        display_name=(display_name or username)[:128],
        password_hash=hash_password(password),
        roles=",".join(sorted(r.value for r in role_set)),
        active=True,
        session_version=1,
        created_at=datetime.now(UTC),
    )
    db.add(user)
    db.flush()
    audit.append(db, actor=actor, action="user_add", after={"username": username, "roles": user.roles})
    return user
