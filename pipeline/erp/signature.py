"""HMAC-SHA256 webhook signatures (sender and receiver side).

Header format (X-Docpipe-Signature), Stripe-style so the timestamp is covered by the MAC and
replays can be refused:

    t=<unix seconds>,v1=<hex hmac-sha256(secret, f"{t}.{body}")>[,v1=<...>]

Several v1 entries appear while a secret is being rotated (one per active secret); a receiver
accepts the request when any of them matches its secret.

Receiver example::

    from pipeline.erp.signature import SignatureError, verify
    try:
        verify(secret, request.headers["X-Docpipe-Signature"], raw_body, tolerance_s=300)
    except SignatureError as exc:
        return 400, str(exc)
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence

SCHEME = "v1"
DEFAULT_TOLERANCE_S = 300


class SignatureError(ValueError):
    """The signature header is malformed, too old, or matches none of the expected MACs."""


def _key(secret: str | bytes) -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    if not key:
        raise SignatureError("empty signing secret")
    return key


def compute(secret: str | bytes, timestamp: int, body: bytes) -> str:
    """hex HMAC-SHA256 over `f"{timestamp}." + body` (body as the exact bytes sent)."""
    return hmac.new(_key(secret), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def sign(secrets: str | bytes | Sequence[str | bytes], body: bytes, timestamp: int | None = None) -> str:
    """Build the X-Docpipe-Signature header value; one v1 entry per secret (rotation)."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    keys = [secrets] if isinstance(secrets, (str, bytes)) else list(secrets)
    if not keys:
        raise SignatureError("no signing secret configured")
    return ",".join([f"t={ts}", *(f"{SCHEME}={compute(k, ts, body)}" for k in keys)])


def parse(header: str) -> tuple[int, list[str]]:
    """Split a header into (timestamp, [v1 signatures]); unknown schemes are ignored (forward compatible)."""
    ts: int | None = None
    sigs: list[str] = []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            raise SignatureError("malformed signature header (expected t=...,v1=...)")
        if name == "t":
            if not value.isdigit():
                raise SignatureError("malformed signature timestamp")
            ts = int(value)
        elif name == SCHEME:
            sigs.append(value.lower())
    if ts is None:
        raise SignatureError("signature header has no timestamp")
    if not sigs:
        raise SignatureError(f"signature header has no {SCHEME} signature")
    return ts, sigs


def verify(
    secret: str | bytes,
    header: str,
    body: bytes,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    *,
    now: float | None = None,
) -> int:
    """Check a received request; return its signed timestamp or raise SignatureError.

    `body` must be the raw request bytes (before any JSON parsing). `tolerance_s` bounds the age
    (and clock skew) accepted, which limits replays of captured requests; 0 disables the check.
    """
    ts, sigs = parse(header)
    current = time.time() if now is None else now
    if tolerance_s and abs(current - ts) > tolerance_s:
        raise SignatureError(f"signature timestamp outside tolerance ({int(current - ts)} s)")
    expected = compute(secret, ts, body)
    if not any(hmac.compare_digest(expected, s) for s in sigs):
        raise SignatureError("signature mismatch")
    return ts
