import hashlib
import hmac

import pytest

from pipeline.erp.signature import SignatureError, compute, parse, sign, verify

BODY = b'{"event_id":"e1","payload":{"total":"10.00"}}'


def test_known_vector_matches_plain_hmac() -> None:
    expected = hmac.new(b"s3cret", b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert compute("s3cret", 1700000000, BODY) == expected
    assert sign("s3cret", BODY, 1700000000) == f"t=1700000000,v1={expected}"


def test_roundtrip_and_returns_timestamp() -> None:
    header = sign("k", BODY, 1_000)
    assert verify("k", header, BODY, tolerance_s=10, now=1_005) == 1_000


@pytest.mark.parametrize(
    ("secret", "body", "now", "reason"),
    [
        ("other", BODY, 1_000, "mismatch"),
        ("k", BODY + b" ", 1_000, "mismatch"),
        ("k", BODY, 1_301, "tolerance"),
        ("k", BODY, 699, "tolerance"),  # clock skew the other way
    ],
)
def test_rejects_tampering_wrong_secret_and_stale(secret: str, body: bytes, now: float, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        verify(secret, sign("k", BODY, 1_000), body, tolerance_s=300, now=now)


def test_tolerance_zero_disables_age_check() -> None:
    assert verify("k", sign("k", BODY, 5), BODY, tolerance_s=0, now=10**10) == 5


def test_rotation_any_listed_secret_verifies() -> None:
    header = sign(["new", "old"], BODY, 1_000)
    assert header.count("v1=") == 2
    assert verify("old", header, BODY, now=1_000) == 1_000
    assert verify("new", header, BODY, now=1_000) == 1_000


def test_timestamp_is_covered_by_the_mac() -> None:
    header = sign("k", BODY, 1_000).replace("t=1000", "t=1001")
    with pytest.raises(SignatureError, match="mismatch"):
        verify("k", header, BODY, now=1_000)


@pytest.mark.parametrize("header", ["", "v1=abc", "t=12", "t=x,v1=ab", "garbage", "t=1,v2=ab"])
def test_malformed_headers_are_refused(header: str) -> None:
    with pytest.raises(SignatureError):
        verify("k", header, BODY, now=1)


def test_unknown_schemes_are_ignored() -> None:
    ts, sigs = parse("t=5,v0=dead,v1=ABCD")
    assert ts == 5 and sigs == ["abcd"]


def test_empty_secret_is_an_error() -> None:
    with pytest.raises(SignatureError):
        sign("", BODY)
    with pytest.raises(SignatureError):
        sign([], BODY)
