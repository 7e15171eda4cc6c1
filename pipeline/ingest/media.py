"""Media type detection from magic bytes, never from the file name."""

from __future__ import annotations

import json

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
TIFF = "image/tiff"
WEBP = "image/webp"
BMP = "image/bmp"
PO_CHANGE_JSON = "application/vnd.docpipe.po-change+json"

SUPPORTED = (PDF, JPEG, PNG, TIFF, WEBP, BMP, PO_CHANGE_JSON)
IMAGE_TYPES = (JPEG, PNG, TIFF, WEBP, BMP)


class UnsupportedMediaType(ValueError):
    """The bytes are not a document type the pipeline reads."""


def sniff(data: bytes) -> str:
    """Return the media type of `data` or raise UnsupportedMediaType with a readable reason."""
    if not data:
        raise UnsupportedMediaType("empty file")
    head = data[:16]
    # Magic at offset 0 is unambiguous and wins; "%PDF-" may sit anywhere in the first KiB (readers
    # tolerate a preamble), but an image or JSON document merely *containing* that text is no PDF.
    if data[:1024].lstrip(b"\x00\t\r\n ").startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return TIFF
    if head[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if head[:2] == b"BM" and len(data) > 26:
        return BMP
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] == b"{":
        return _sniff_json(data)
    if b"%PDF-" in data[:1024]:
        return PDF
    raise UnsupportedMediaType(f"unsupported file type (starts with {head[:8]!r})")


def _sniff_json(data: bytes) -> str:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (ValueError, RecursionError) as exc:  # bad JSON/UTF-8, >4300-digit ints, pathological nesting
        raise UnsupportedMediaType(f"JSON document does not parse: {exc.__class__.__name__}") from None
    if isinstance(doc, dict) and doc.get("document_type") == "po_change":
        return PO_CHANGE_JSON
    raise UnsupportedMediaType("JSON document is not a PO change (needs \"document_type\": \"po_change\")")
