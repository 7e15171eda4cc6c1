"""Content-addressed blob store (claim check). Pick an implementation by URI scheme."""

from pipeline.blobstore.base import BlobNotFound, BlobStore, PutResult
from pipeline.blobstore.factory import open_blobstore

__all__ = ["BlobNotFound", "BlobStore", "PutResult", "open_blobstore"]
