"""Fuzzing file-type detection: any bytes give a supported media type or UnsupportedMediaType, nothing else.

Found and fixed here: deeply nested JSON (RecursionError) and >4300-digit numbers (ValueError) escaped
`sniff` as untyped exceptions."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pipeline.ingest.media import (
    BMP,
    JPEG,
    PDF,
    PNG,
    PO_CHANGE_JSON,
    SUPPORTED,
    TIFF,
    WEBP,
    UnsupportedMediaType,
    sniff,
)

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ_JSON = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MAGIC = {
    b"%PDF-1.7\n": PDF, b"\xff\xd8\xff\xe0": JPEG, b"\x89PNG\r\n\x1a\n": PNG, b"II*\x00": TIFF,
    b"MM\x00*": TIFF,
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


def check(data: bytes) -> str | None:
    try:
        media = sniff(data)
    except UnsupportedMediaType as exc:
        assert str(exc) and "\n" not in str(exc)  # one readable line
        return None
    assert media in SUPPORTED
    return media


@FUZZ
@given(st.binary(max_size=4096))
@example(b"")
@example(b"{" * 50_000)
@example(b'{"a":' * 50_000)
@example(b'{"document_type": "po_change", "n": ' + b"9" * 5000 + b"}")  # beyond int digit limit
@example(b"\xef\xbb\xbf{\xff\xfe}")
@example(b"RIFF\x00\x00\x00\x00WEBP")
@example(b"BM" + b"\x00" * 30)
def test_arbitrary_bytes(data: bytes) -> None:
    check(data)


@FUZZ
@given(st.sampled_from(sorted(MAGIC)), st.binary(max_size=512))
@example(b"\xff\xd8\xff\xe0", b"Exif comment: %PDF-1.4")  # found by fuzzing: was taken for a PDF
def test_magic_prefix_decides(prefix: bytes, tail: bytes) -> None:
    assert check(prefix + tail) == MAGIC[prefix]


@FUZZ
@given(st.binary(min_size=4, max_size=4), st.binary(max_size=256))
def test_webp_container(size: bytes, tail: bytes) -> None:
    assert check(b"RIFF" + size + b"WEBP" + tail) == WEBP


@FUZZ
@given(st.binary(min_size=25, max_size=300))
def test_bmp_needs_a_header(tail: bytes) -> None:
    assert check(b"BM" + tail) == BMP


@FUZZ
@given(st.binary(max_size=900).filter(lambda b: not b.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")))
def test_pdf_header_after_a_preamble(preamble: bytes) -> None:
    media = check(preamble + b"%PDF-1.4\n")
    assert media == PDF or preamble[:1] in (b"\xff", b"\x89", b"I", b"M", b"R", b"B")


@FUZZ_JSON
@given(st.dictionaries(st.text(max_size=10), json_values, max_size=6), st.booleans())
@example({"description": "scan of %PDF-1.4 attachment"}, True)
def test_json_documents(doc: dict, is_po_change: bool) -> None:
    if is_po_change:
        doc = {**doc, "document_type": "po_change"}
    else:
        doc.pop("document_type", None)
    media = check(json.dumps(doc).encode())
    assert media == (PO_CHANGE_JSON if is_po_change else None)


@FUZZ_JSON
@given(json_values.filter(lambda v: not isinstance(v, dict)))
def test_json_non_objects_are_unsupported(value: object) -> None:
    text = json.dumps(value).encode()
    assert check(text) in (None, PDF)  # a top-level string holding "%PDF-" is a PDF with a preamble
