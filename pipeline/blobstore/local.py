"""Local-directory blob store: <root>/<aa>/<bb>/<sha256>, written via temp file + rename."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

from pipeline.blobstore.base import BlobNotFound, BlobStore, PutResult, sha256_hex


class LocalBlobStore(BlobStore):
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256[:80]!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def uri_for(self, sha256: str) -> str:
        return self._path(sha256).as_uri()

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).is_file()

    def put(self, data: bytes) -> PutResult:
        digest = sha256_hex(data)
        path = self._path(digest)
        if path.is_file():
            return PutResult(path.as_uri(), digest, len(data), existed=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return PutResult(path.as_uri(), digest, len(data), existed=False)

    def get(self, uri: str) -> bytes:
        parsed = urlparse(uri)
        if parsed.scheme != "file":
            raise ValueError(f"LocalBlobStore cannot read {parsed.scheme!r} URIs")
        path = Path(unquote(parsed.path)).resolve()
        if not path.is_relative_to(self.root):
            raise BlobNotFound(f"{uri} is outside the blob store root")
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise BlobNotFound(uri) from exc
        if sha256_hex(data) != path.name:
            raise BlobNotFound(f"{uri}: content does not match its address (corrupted blob)")
        return data
