"""Every kind of bad input gets a typed error with a one-line reason; odd-but-valid input is read."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline.config import Settings
from pipeline.ocr import synth
from pipeline.ocr.api import read_bytes
from pipeline.ocr.errors import (
    CorruptDocument,
    DocumentError,
    EmptyDocument,
    EncryptedDocument,
    ImageTooSmall,
    PageLimitExceeded,
    PixelLimitExceeded,
    UnsupportedDocument,
)
from pipeline.ocr.images import ImageLimits, iter_frames
from pipeline.ocr.settings import OcrSettings

LIMITS = ImageLimits(max_pixels=60_000_000, max_side=20_000, min_side=8, max_frames=5)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width x height but carries (almost) no pixel data: a decompression bomb shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00"))
        + chunk(b"IEND", b"")
    )


def encode(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def text_only_settings(**ocr: object) -> Settings:
    return Settings(max_pages=5, ocr=OcrSettings(**ocr))


@pytest.mark.parametrize(
    ("data", "error", "reason"),
    [
        (b"", EmptyDocument, "empty file"),
        (b"PK\x03\x04 this is a zip", UnsupportedDocument, "unsupported file type"),
        (b'{"hello": "world"}', UnsupportedDocument, "not a PO change"),
        (b"%PDF-1.7\n1 0 obj garbage", CorruptDocument, "corrupt or truncated PDF"),
        (synth.invoice_pdf(1)[:900], CorruptDocument, "corrupt or truncated PDF"),
        (synth.text_pdf(["secret"], encrypt="pw"), EncryptedDocument, "encrypted PDF: no password"),
        (synth.empty_pdf(), EmptyDocument, "PDF has 0 pages"),
        (synth.invoice_pdf(1, pages=6), PageLimitExceeded, "PDF has 6 pages, limit is 5"),
        (png_header_only(100_000, 100_000), PixelLimitExceeded, "pixel limit"),
        (png_header_only(30_000, 30_000), PixelLimitExceeded, "limit"),
        (png_header_only(30_000, 40), PixelLimitExceeded, "side limit"),
        (png_header_only(40, 30_000), PixelLimitExceeded, "side limit"),
        (encode(Image.new("RGB", (1, 1), "white"), "PNG"), ImageTooSmall, "1x1 px"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, CorruptDocument, "corrupt"),
    ],
    ids=[
        "empty",
        "zip",
        "json",
        "pdf-garbage",
        "pdf-truncated",
        "pdf-encrypted",
        "pdf-0-pages",
        "page-limit",
        "bomb-100k",
        "bomb-30k",
        "side-30k-wide",
        "side-30k-tall",
        "1x1",
        "png-corrupt",
    ],
)
def test_bad_input_raises_typed_error(data: bytes, error: type[DocumentError], reason: str) -> None:
    with pytest.raises(error) as info:
        read_bytes(data, text_only_settings())
    message = str(info.value)
    assert reason in message
    assert "\n" not in message and "secret" not in message


def test_truncated_jpeg(sroie: Path) -> None:
    data = (sroie / "img" / "401.jpg").read_bytes()
    with pytest.raises(CorruptDocument, match="truncated or corrupt image"):
        list(iter_frames(data[: len(data) // 3], LIMITS))


def test_tiff_multipage_webp_bmp_and_frame_limit() -> None:
    pages = [Image.new("RGB", (64, 48), c) for c in ("white", "black", "gray")]
    tiff = io.BytesIO()
    pages[0].save(tiff, format="TIFF", save_all=True, append_images=pages[1:], compression="tiff_deflate")
    frames = list(iter_frames(tiff.getvalue(), LIMITS))
    assert [f.index for f in frames] == [0, 1, 2]
    assert frames[1].rgb[0, 0].tolist() == [0, 0, 0]
    with pytest.raises(PageLimitExceeded, match="3 frames, limit is 2"):
        list(iter_frames(tiff.getvalue(), ImageLimits(60_000_000, 20_000, 8, 2)))
    for fmt in ("WEBP", "BMP", "JPEG", "PNG"):
        (frame,) = iter_frames(encode(pages[2], fmt), LIMITS)
        assert frame.rgb.shape == (48, 64, 3) and frame.rgb.dtype == np.uint8


def test_exif_orientation_applied() -> None:
    img = Image.new("RGB", (80, 40), "white")
    img.paste((0, 0, 0), (0, 0, 10, 10))  # black mark top-left as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    (frame,) = iter_frames(encode(img, "JPEG", exif=exif.tobytes(), quality=95), LIMITS)
    assert frame.rgb.shape == (80, 40, 3)  # portrait after transpose
    assert frame.rgb[2:8, 32:38].mean() < 60  # the mark moved to the top-right


def test_odd_modes_are_converted() -> None:
    grey16 = Image.fromarray(np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16)
    rgba = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    for data in (encode(grey16, "PNG"), encode(rgba, "PNG"), encode(Image.new("1", (32, 32), 1), "BMP")):
        (frame,) = iter_frames(data, LIMITS)
        assert frame.rgb.ndim == 3 and frame.rgb.shape[2] == 3
    (transparent,) = iter_frames(encode(rgba, "PNG"), LIMITS)
    assert transparent.rgb.min() == 255  # transparency composited on white, not black


def test_blank_page_is_an_empty_result_not_an_error(engine) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(ocr=engine.settings)
    result = read_bytes(encode(Image.new("RGB", (600, 800), "white"), "PNG"), settings)
    assert len(result.pages) == 1 and result.pages[0].lines == []
    assert result.pages[0].source == "ocr"
