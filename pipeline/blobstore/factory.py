"""Choose a blob store by URI scheme (file:// today; s3:// plugs in behind the same interface)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from pipeline.blobstore.base import BlobStore
from pipeline.blobstore.local import LocalBlobStore


def open_blobstore(root_uri: str) -> BlobStore:
    parsed = urlparse(root_uri)
    if parsed.scheme in ("", "file"):
        return LocalBlobStore(Path(unquote(parsed.path) if parsed.scheme else root_uri))
    raise ValueError(f"unsupported blob store scheme {parsed.scheme!r} (supported: file)")
