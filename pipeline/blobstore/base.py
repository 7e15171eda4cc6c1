"""The blob store interface: put bytes once under their sha256, get them back by URI."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass


class BlobNotFound(LookupError):
    pass


@dataclass(frozen=True)
class PutResult:
    uri: str
    sha256: str
    size: int
    existed: bool  # the same bytes were stored before: one document, not two


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BlobStore(ABC):
    """Write-once, content-addressed. Implementations must make `put` atomic (no torn blobs)."""

    @abstractmethod
    def put(self, data: bytes) -> PutResult: ...

    @abstractmethod
    def get(self, uri: str) -> bytes: ...

    @abstractmethod
    def exists(self, sha256: str) -> bool: ...

    @abstractmethod
    def uri_for(self, sha256: str) -> str: ...
