"""Typed review errors: each carries a message safe to show on the page and an HTTP status."""

from __future__ import annotations


class ReviewError(Exception):
    status = 400

    def __init__(self, message: str, field_errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}


class NotFound(ReviewError):
    status = 404


class Conflict(ReviewError):
    """Stale edit, claim held by someone else, claim expired, item already decided."""

    status = 409


class Denied(ReviewError):
    status = 403


class Invalid(ReviewError):
    """Malformed or unacceptable input; nothing was changed."""

    status = 400


class TooLarge(ReviewError):
    status = 413
