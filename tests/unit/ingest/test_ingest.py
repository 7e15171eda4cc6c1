"""Submission: content addressing, duplicates and every kind of bad input, without a broker."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from pipeline.blobstore import BlobNotFound, open_blobstore
from pipeline.config import Settings
from pipeline.ingest.media import PDF, PNG, PO_CHANGE_JSON, TIFF, WEBP, UnsupportedMediaType, sniff
from pipeline.ingest.submit import SubmissionError, expand_paths, ingest_bytes, read_document


def _image(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buf, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize(("data", "media"), [
    (b"%PDF-1.7\n...", PDF),
    (_image("PNG"), PNG),
    (_image("TIFF"), TIFF),
    (_image("WEBP"), WEBP),
    (_image("JPEG"), "image/jpeg"),
    (_image("BMP"), "image/bmp"),
    (b'{"document_type": "po_change", "po_number": "PO-1"}', PO_CHANGE_JSON),
])
def test_sniff_by_magic_bytes(data: bytes, media: str) -> None:
    assert sniff(data) == media


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "empty file"),
    (b"PK\x03\x04 a zip file", "unsupported file type"),
    (b"<html><script>alert(1)</script>", "unsupported file type"),
    (b'{"hello": 1}', "not a PO change"),
    (b"{not json", "does not parse"),
])
def test_sniff_rejects_with_reason(data: bytes, reason: str) -> None:
    with pytest.raises(UnsupportedMediaType, match=reason):
        sniff(data)


def test_same_bytes_are_one_document(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    store = open_blobstore(settings.blob_root)
    env1, existed1 = ingest_bytes(b"%PDF-1.4 one", store, filename="a.pdf", settings=settings)
    env2, existed2 = ingest_bytes(b"%PDF-1.4 one", store, filename="renamed.pdf", settings=settings)
    assert (existed1, existed2) == (False, True)
    assert env1.document_id == env2.document_id == env1.payload.blob.sha256
    assert env1.event_id == env2.event_id  # every stage's ledger turns the second into a no-op
    assert store.get(env1.payload.blob.uri) == b"%PDF-1.4 one"
    assert env1.payload.blob.media_type == PDF


def test_blob_store_detects_corruption_and_escapes(tmp_path: Path) -> None:
    store = open_blobstore((tmp_path / "b").as_uri())
    put = store.put(b"%PDF-1.4 x")
    Path(put.uri.removeprefix("file://")).write_bytes(b"tampered")
    with pytest.raises(BlobNotFound, match="corrupted"):
        store.get(put.uri)
    with pytest.raises(BlobNotFound, match="outside"):
        store.get((tmp_path / "elsewhere").as_uri())


def test_bad_files_are_clear_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    big = tmp_path / "big.pdf"
    big.write_bytes(b"%PDF-" + b"0" * 2000)
    with pytest.raises(SubmissionError, match="empty file"):
        read_document(empty, 1000)
    with pytest.raises(SubmissionError, match="over the limit"):
        read_document(big, 1000)
    with pytest.raises(SubmissionError, match="no such file"):
        read_document(tmp_path / "missing.pdf", 1000)
    with pytest.raises(SubmissionError, match="not a regular file"):
        read_document(tmp_path, 1000)
    settings = Settings(home=tmp_path)
    with pytest.raises(SubmissionError, match="unsupported file type"):
        ingest_bytes(b"MZ\x90\x00 windows exe", open_blobstore(settings.blob_root), filename="x.pdf",
                     settings=settings)


def test_folders_are_walked_in_order_without_hidden_files(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.pdf").write_bytes(b"x")
    (tmp_path / "a.pdf").write_bytes(b"x")
    (tmp_path / ".hidden").write_bytes(b"x")
    assert [p.name for p in expand_paths([tmp_path])] == ["a.pdf", "2.pdf"]
