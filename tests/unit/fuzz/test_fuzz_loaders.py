"""Fuzzing PDF and image loading: mutated valid files raise only the OCR stage's typed DocumentErrors.

The loaders belong to the OCR stage (pipeline.ocr.pdf / pipeline.ocr.images); until that package is
present this module skips. Seeds are small valid files made here (Pillow, pypdfium2); hypothesis flips
bytes, truncates and splices them, and every page/frame is consumed, so decoding errors deep in a
file surface too.
"""

from __future__ import annotations

import io
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

images = pytest.importorskip("pipeline.ocr.images", reason="OCR stage (typed-error loaders) not merged yet")
pdf = pytest.importorskip("pipeline.ocr.pdf", reason="OCR stage (typed-error loaders) not merged yet")
errors = pytest.importorskip("pipeline.ocr.errors")

from PIL import Image, ImageDraw  # noqa: E402

LIMITS = images.ImageLimits(max_pixels=2_000_000, max_side=3000, min_side=8, max_frames=4)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                         HealthCheck.data_too_large])


def _picture() -> Image.Image:
    im = Image.new("RGB", (96, 64), "white")
    draw = ImageDraw.Draw(im)
    draw.rectangle((4, 4, 60, 20), outline="black")
    draw.text((8, 30), "TOTAL 12.50", fill="black")
    return im


def _image_seeds() -> dict[str, bytes]:
    out = {}
    for fmt, kwargs in [("PNG", {}), ("JPEG", {"quality": 80}), ("BMP", {}), ("WEBP", {"quality": 70}),
                        ("TIFF", {"compression": "tiff_deflate"}), ("GIF", {})]:
        buf = io.BytesIO()
        pic = _picture()
        if fmt == "TIFF":  # two pages, so frame seeking is exercised
            pic.save(buf, fmt, save_all=True, append_images=[pic.rotate(90, expand=True)], **kwargs)
        else:
            pic.save(buf, fmt, **kwargs)
        out[fmt] = buf.getvalue()
    return out


def _pdf_seed() -> bytes:
    from reportlab.lib.pagesizes import A6
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A6)
    c.drawString(20, 300, "INVOICE 4711")
    c.drawString(20, 280, "Total 12.50 EUR")
    c.showPage()
    c.rect(10, 10, 100, 100)  # second page without text: the raster path
    c.showPage()
    c.save()
    return buf.getvalue()


IMAGE_SEEDS = _image_seeds()
PDF_SEED = _pdf_seed()


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(0, 8))):
        pos = draw(st.integers(0, len(data) - 1))
        data[pos] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    if draw(st.booleans()) and data:
        start = draw(st.integers(0, len(data)))
        data[start:start] = draw(st.binary(max_size=64))
    return bytes(data)


def _consume_image(data: bytes) -> None:
    try:
        for frame in images.iter_frames(data, LIMITS):
            assert frame.rgb.ndim == 3 and frame.rgb.shape[2] == 3
    except errors.DocumentError as exc:
        assert str(exc) and "\n" not in str(exc)


def _consume_pdf(data: bytes) -> None:
    try:
        for _page in pdf.iter_pdf_pages(data, limits=LIMITS, dpi=72.0):
            pass
    except errors.DocumentError as exc:
        assert str(exc) and "\n" not in str(exc)


def test_seeds_load() -> None:
    for name, data in IMAGE_SEEDS.items():
        frames = list(images.iter_frames(data, LIMITS))
        assert frames, name
    assert len(list(pdf.iter_pdf_pages(PDF_SEED, limits=LIMITS, dpi=72.0))) == 2


def _tiff_second_page_without_width() -> bytes:
    """Found by this fuzzer: Pillow raises TypeError("Missing dimensions") when seeking to a TIFF page
    whose IFD lacks ImageWidth; the loader must turn that into a CorruptDocument, not crash."""
    buf = io.BytesIO()
    pic = _picture()
    pic.save(buf, "TIFF", save_all=True, append_images=[pic.rotate(90, expand=True)])
    data = bytearray(buf.getvalue())
    ifd0 = struct.unpack_from("<I", data, 4)[0]
    ifd1 = struct.unpack_from("<I", data, ifd0 + 2 + 12 * struct.unpack_from("<H", data, ifd0)[0])[0]
    for i in range(struct.unpack_from("<H", data, ifd1)[0]):
        pos = ifd1 + 2 + 12 * i
        if struct.unpack_from("<H", data, pos)[0] == 256:  # ImageWidth -> an unknown private tag
            struct.pack_into("<H", data, pos, 65000)
    return bytes(data)


def test_tiff_page_without_dimensions_is_a_typed_error() -> None:
    with pytest.raises(errors.DocumentError):
        list(images.iter_frames(_tiff_second_page_without_width(), LIMITS))


@FUZZ
@given(st.sampled_from(sorted(IMAGE_SEEDS)).flatmap(lambda k: mutated(IMAGE_SEEDS[k])))
def test_mutated_images_raise_only_typed_errors(data: bytes) -> None:
    _consume_image(data)


@FUZZ
@given(mutated(PDF_SEED))
def test_mutated_pdfs_raise_only_typed_errors(data: bytes) -> None:
    _consume_pdf(data)


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes(data: bytes) -> None:
    _consume_image(data)
    _consume_pdf(data)
