"""Typed errors for documents the OCR stage cannot read. Messages are one line, never document content.

All derive from DocumentError so the stage maps every one of them to a PermanentError (-> DLQ)
while programmatic callers can still tell the cases apart.
"""

from __future__ import annotations


class DocumentError(ValueError):
    """The document bytes cannot be turned into pages (not retryable)."""


class EmptyDocument(DocumentError):
    """Zero bytes, or a PDF with zero pages."""


class UnsupportedDocument(DocumentError):
    """Not a media type the OCR stage reads."""


class CorruptDocument(DocumentError):
    """Corrupt or truncated PDF/image data."""


class EncryptedDocument(DocumentError):
    """Encrypted PDF and no password available."""


class PageLimitExceeded(DocumentError):
    """More pages/frames than the configured limit."""


class PixelLimitExceeded(DocumentError):
    """A page or image larger than the pixel/side limits (decompression-bomb guard)."""


class ImageTooSmall(DocumentError):
    """An image too small on a side to hold readable text (e.g. 1x1 tracking pixels)."""


class EngineUnavailable(RuntimeError):
    """A configured OCR backend cannot be loaded (missing optional extra, missing model files)."""
