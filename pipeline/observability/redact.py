"""Redaction: keep document content, personal data and secrets out of logs.

Two layers, because neither alone is enough:
- by key: structured values whose key names document content or a secret (text, value, raw,
  source_text, password, ...) are replaced wholesale, however harmless they look;
- by pattern: free text (messages, exception text) is scrubbed of e-mail addresses, IBANs,
  Luhn-valid card numbers, `password=...`-style secrets, pydantic `input_value=...` echoes and
  long base64 blobs (a DLQ record's original message).
Document ids (lowercase sha256 hex), topic names and offsets survive: they are what an operator
needs and carry no content.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted]"

# Exact key names (case-insensitive) whose values are document content or personal data.
CONTENT_KEYS = frozenset({
    "text", "value", "values", "raw", "source_text", "before", "after", "content", "body", "lines",
    "words", "original_b64", "document_text", "prompt", "completion", "answer", "context", "comment",
    "iban", "email", "card", "card_number", "tax_id", "vendor_tax_id", "buyer", "address",
    "merchant_address",
})
# Fragments that mark a secret wherever they appear in a key name ("token" but not "tokens"/"tokenizer").
_SECRET_KEY = re.compile(
    r"password|passwd|secret|credential|api[_\-.]?key|private[_\-.]?key|authorization|cookie|token(?!s|iz)",
    re.I)

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
# Upper-case country code + check digits + 11..30 alphanumerics, optionally grouped by spaces.
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b")
_CARD = re.compile(r"(?<![\d.])\d(?:[ \-]?\d){12,18}(?![\d.])")
_SECRET_KV = re.compile(
    r"""(?ix)
    (["']?)                                               # optional quote around the key
    ([\w.\-]*(?:password|passwd|secret|credential|token(?!s|iz)|api[_\-.]?key|authorization)[\w.\-]*)
    \1\s*[:=]\s*
    (?:"[^"]*"|'[^']*'|[^\s,;}\]]+)                        # the value, quoted or bare
    """
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/\-]+=*")
_INPUT_VALUE = re.compile(r"input_value=.*?(?=, input_type=|\]$|$)", re.S)
_BASE64 = re.compile(r"[A-Za-z0-9+/]{120,}={0,2}")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "[card]" if 13 <= len(digits) <= 19 and _luhn_ok(digits) else match.group(0)


def scrub_text(text: str) -> str:
    """Remove personal data and secrets from free text; everything else is kept verbatim."""
    if not text:
        return text
    text = _INPUT_VALUE.sub("input_value=" + REDACTED, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _SECRET_KV.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(1)}={REDACTED}", text)
    text = _EMAIL.sub("[email]", text)
    text = _IBAN.sub("[iban]", text)
    text = _CARD.sub(_card, text)
    text = _BASE64.sub("[base64]", text)
    return text


def is_sensitive_key(key: str) -> bool:
    k = key.lower()
    if k in CONTENT_KEYS:
        return True
    return bool(_SECRET_KEY.search(k))


def redact_value(value: Any, key: str | None = None, _depth: int = 0) -> Any:
    """Redact a structured value (extra log fields, dicts, lists) by key and by pattern."""
    if key is not None and is_sensitive_key(key):
        return REDACTED
    if _depth > 8:
        return REDACTED
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, Mapping):
        return {str(k): redact_value(v, str(k), _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [redact_value(v, None, _depth + 1) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return scrub_text(str(value))
