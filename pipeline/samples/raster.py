"""Raster renderings: scanned look, fax (1-bit), phone photo, multi-page TIFF.

The born-digital PDF is rasterized with pdfium, then distorted by a homography H that maps PDF points
to output pixels. The same H is returned for every page so the ground truth boxes can be mapped
exactly (truth.transform_truth). Noise, blur, shadows and JPEG artefacts change pixels, not geometry.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageFilter
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from pipeline.ocr.pdfium_lock import PDFIUM_LOCK


@dataclass
class RasterPage:
    image: Image.Image
    matrix: np.ndarray  # 3x3, PDF points (top-left origin) -> output pixels
    info: dict[str, object]


def rasterize(pdf_bytes: bytes, dpi: float, grayscale: bool = True) -> list[Image.Image]:
    with PDFIUM_LOCK:
        pdf = pdfium.PdfDocument(pdf_bytes)
        try:
            pages = []
            for i in range(len(pdf)):
                page = pdf[i]
                bitmap = page.render(scale=dpi / 72.0, grayscale=grayscale)
                img = bitmap.to_pil()
                pages.append(img.convert("L") if grayscale else img.convert("RGB"))
                page.close()
            return pages
        finally:
            pdf.close()


def _scale(dpi: float) -> np.ndarray:
    s = dpi / 72.0
    return np.array([[s, 0, 0], [0, s, 0], [0, 0, 1]], dtype=float)


def _rotation(angle_deg: float, cx: float, cy: float) -> np.ndarray:
    a = math.radians(angle_deg)
    c, s = math.cos(a), math.sin(a)
    to_origin = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]], dtype=float)
    rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]], dtype=float)
    back = np.array([[1, 0, cx], [0, 1, cy], [0, 0, 1]], dtype=float)
    return back @ rot @ to_origin


def homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Exact 3x3 H with H @ src_i ~ dst_i for four point pairs (direct linear solve)."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(src, dst, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rhs.append(u)
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs.append(v)
    sol = np.linalg.solve(np.array(rows, dtype=float), np.array(rhs, dtype=float))
    return np.append(sol, 1.0).reshape(3, 3)


def warp(img: Image.Image, h: np.ndarray, size: tuple[int, int], fill: int | tuple[int, ...]) -> Image.Image:
    """Apply forward homography h (input px -> output px); PIL wants the inverse, normalised."""
    inv = np.linalg.inv(h)
    inv = inv / inv[2, 2]
    return img.transform(
        size,
        Image.Transform.PERSPECTIVE,
        tuple(inv.flatten()[:8]),
        resample=Image.Resampling.BILINEAR,
        fillcolor=fill,
    )


def _noise(arr: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    noisy = arr.astype(np.int16) + rng.normal(0, sigma, arr.shape).astype(np.int16)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def scan_page(img: Image.Image, rng: np.random.Generator, dpi: float, max_angle: float = 3.0) -> RasterPage:
    """Flatbed scan look: slight rotation, grey paper, sensor noise, soft focus, dust specks."""
    angle = float(rng.uniform(-max_angle, max_angle))
    w, h = img.size
    geom = _rotation(angle, w / 2, h / 2)
    out = warp(img, geom, (w, h), 255)
    arr = np.asarray(out, dtype=np.uint8)
    paper = int(rng.integers(228, 250))
    arr = (arr.astype(np.float32) * (paper / 255.0) + float(rng.uniform(0, 6))).astype(np.uint8)
    arr = _noise(arr, rng, float(rng.uniform(3, 9)))
    specks = rng.random(arr.shape) < float(rng.uniform(0.0001, 0.0006))
    arr[specks] = rng.integers(0, 90, int(specks.sum())).astype(np.uint8)
    out = Image.fromarray(arr, "L").filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 0.9))))
    return RasterPage(out, geom @ _scale(dpi), {"rotation_deg": round(angle, 3), "effect": "scan"})


def fax_page(img: Image.Image, rng: np.random.Generator, dpi: float) -> RasterPage:
    """Fax look: small skew, threshold to 1 bit with noisy threshold, horizontal streaks."""
    angle = float(rng.uniform(-1.5, 1.5))
    w, h = img.size
    geom = _rotation(angle, w / 2, h / 2)
    arr = np.asarray(warp(img, geom, (w, h), 255), dtype=np.float64) + rng.normal(0, 28, (h, w))
    streaks = rng.random(h) < 0.004
    arr[streaks, :] -= 60
    bw = (arr > float(rng.uniform(135, 165))).astype(np.uint8) * 255
    out = Image.fromarray(bw, "L").convert("1", dither=Image.Dither.NONE)
    return RasterPage(out, geom @ _scale(dpi), {"rotation_deg": round(angle, 3), "effect": "fax"})


def photo_page(img: Image.Image, rng: np.random.Generator, dpi: float) -> RasterPage:
    """Phone photo: the page on a darker surface, perspective from a tilted camera, a soft shadow."""
    img = img.convert("RGB")
    w, h = img.size
    pad_x, pad_y = int(w * 0.18) + 40, int(h * 0.10) + 40
    out_w, out_h = w + 2 * pad_x, h + 2 * pad_y
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=float)
    jitter = np.stack([rng.uniform(-0.12, 0.12, 4) * w, rng.uniform(-0.06, 0.06, 4) * h], axis=1)
    dst = src + np.array([pad_x, pad_y]) + jitter
    geom = homography(src, dst)
    surface = tuple(int(v) for v in rng.integers(40, 120, 3))
    bg = Image.new("RGB", (out_w, out_h), surface)
    page = warp(img, geom, (out_w, out_h), surface)
    mask = warp(Image.new("L", (w, h), 255), geom, (out_w, out_h), 0)
    bg.paste(page, (0, 0), mask)
    arr = np.asarray(bg, dtype=np.float32)
    # Shadow: a smooth darkening from one side (a hand or the phone), plus warm indoor light.
    yy, xx = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
    theta = float(rng.uniform(0, 2 * math.pi))
    proj = xx * math.cos(theta) + yy * math.sin(theta)
    proj = (proj - proj.min()) / max(1.0, float(proj.max() - proj.min()))
    strength = float(rng.uniform(0.35, 0.6))
    shade = 1.0 - strength * np.clip((proj - 0.55) / 0.45, 0, 1)
    tint = np.array([1.0, float(rng.uniform(0.94, 1.0)), float(rng.uniform(0.82, 0.95))], dtype=np.float32)
    arr = arr * shade[..., None] * tint
    arr = arr + rng.normal(0, 4, arr.shape)
    out = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
    out = out.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.4, 1.1))))
    return RasterPage(out, geom @ _scale(dpi), {"effect": "photo", "corners_px": np.round(dst, 1).tolist()})


def encode_jpeg(img: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, optimize=False)
    return buf.getvalue()


def encode_png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", compress_level=6)
    return buf.getvalue()


def encode_tiff(pages: list[Image.Image], dpi: float) -> bytes:
    """Multi-page TIFF: CCITT G4 for 1-bit pages (fax), LZW for greyscale."""
    buf = io.BytesIO()
    compression = "group4" if pages[0].mode == "1" else "tiff_lzw"
    pages[0].save(
        buf, "TIFF", save_all=True, append_images=pages[1:], compression=compression, dpi=(dpi, dpi)
    )
    return buf.getvalue()


def image_pdf(jpegs: list[tuple[bytes, tuple[int, int]]], dpi: float) -> bytes:
    """A scanner-style PDF: one JPEG per page, no text layer, page size = image size at `dpi`."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1)
    for data, (w, h) in jpegs:
        pw, ph = w * 72.0 / dpi, h * 72.0 / dpi
        c.setPageSize((pw, ph))
        c.drawImage(ImageReader(io.BytesIO(data)), 0, 0, pw, ph)
        c.showPage()
    c.save()
    return buf.getvalue()
