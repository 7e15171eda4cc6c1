"""Roles and permissions: ONE table, consulted by every endpoint (see web.routes `Require`)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Role(StrEnum):
    reviewer = "reviewer"  # works the queue: claim, correct, approve (single control), reject
    approver = "approver"  # everything a reviewer does, plus the second approval under dual control
    admin = "admin"  # everything, plus user administration
    auditor = "auditor"  # read-only: queue, documents, audit trail


class Perm(StrEnum):
    queue_view = "queue.view"
    item_view = "item.view"
    item_claim = "item.claim"
    item_edit = "item.edit"
    item_comment = "item.comment"
    item_approve = "item.approve"
    item_approve_second = "item.approve_second"
    item_reject = "item.reject"
    audit_view = "audit.view"
    users_manage = "users.manage"
    signed_in = "signed_in"  # any active account (sign-out, own session)


_WORK = {
    Perm.queue_view,
    Perm.item_view,
    Perm.item_claim,
    Perm.item_edit,
    Perm.item_comment,
    Perm.item_approve,
    Perm.item_reject,
    Perm.signed_in,
}

PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.reviewer: frozenset(_WORK),
    Role.approver: frozenset(_WORK | {Perm.item_approve_second}),
    Role.admin: frozenset(Perm),
    Role.auditor: frozenset({Perm.queue_view, Perm.item_view, Perm.audit_view, Perm.signed_in}),
}


def parse_roles(text: str | Iterable[str]) -> frozenset[Role]:
    """'reviewer,approver' -> {Role.reviewer, Role.approver}; unknown names raise ValueError."""
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    if not names:
        raise ValueError("at least one role is required")
    try:
        return frozenset(Role(n) for n in names)
    except ValueError:
        bad = [n for n in names if n not in Role.__members__]
        raise ValueError(
            f"unknown role(s) {', '.join(bad)}; known: {', '.join(r.value for r in Role)}"
        ) from None


def permissions_of(roles: Iterable[str]) -> frozenset[Perm]:
    out: set[Perm] = set()
    for r in roles:
        if r in Role.__members__:
            out |= PERMISSIONS[Role(r)]
    return frozenset(out)


def allowed(roles: Iterable[str], perm: Perm) -> bool:
    return perm in permissions_of(roles)
