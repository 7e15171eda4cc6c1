"""Decode raster images (JPEG, PNG, TIFF multi-page, WebP, BMP) into RGB frames, safely.

Sizes are checked from the header before any pixel is decoded, so a decompression bomb costs
nothing; EXIF orientation is applied so phone photos come out the way they were shot.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from pipeline.ocr.errors import CorruptDocument, ImageTooSmall, PageLimitExceeded, PixelLimitExceeded

# What Pillow raises for a damaged TIFF page directory when counting or seeking frames: EOFError for a
# missing page, TypeError("Missing dimensions")/KeyError for a directory without ImageWidth, ...
_FRAME_ERRORS = (EOFError, OSError, ValueError, TypeError, KeyError, SyntaxError, struct.error)


@dataclass(frozen=True)
class ImageLimits:
    max_pixels: int
    max_side: int
    min_side: int
    max_frames: int


@dataclass
class Frame:
    index: int
    rgb: np.ndarray  # HxWx3 uint8
    dpi: float


def check_size(width: int, height: int, limits: ImageLimits, what: str = "image") -> None:
    """Raise a typed error when a width x height raster is outside the limits."""
    if width < limits.min_side or height < limits.min_side:
        raise ImageTooSmall(f"{what} too small to hold text ({width}x{height} px, minimum {limits.min_side} px a side)")
    if max(width, height) > limits.max_side:
        raise PixelLimitExceeded(f"{what} exceeds side limit ({width}x{height} px, limit {limits.max_side} px)")
    if width * height > limits.max_pixels:
        raise PixelLimitExceeded(
            f"{what} exceeds pixel limit ({width}x{height} = {width * height:,} px, limit {limits.max_pixels:,})"
        )


def to_rgb(im: Image.Image) -> np.ndarray:
    """Any PIL mode -> RGB uint8; transparency composited on white, 16/32-bit greys rescaled."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(im, dtype=np.float32)
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) * (255.0 / (hi - lo)) if hi > lo else np.full_like(arr, 255.0)
        grey = arr.astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if im.mode == "P":
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA"):
        rgba = im.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return np.asarray(canvas)
    if im.mode != "RGB":
        im = im.convert("RGB")
    return np.asarray(im)


def _dpi(im: Image.Image) -> float:
    dpi = im.info.get("dpi")
    try:
        value = float(dpi[0]) if dpi else 0.0
    except (TypeError, ValueError, IndexError):
        value = 0.0
    return value if 30.0 <= value <= 2400.0 else 72.0


def iter_frames(data: bytes, limits: ImageLimits) -> Iterator[Frame]:
    """Yield every frame (TIFF pages) as RGB; typed errors for anything unreadable or out of limits."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))  # PIL refuses before we see the size
        size = f"{int(found.group(1)):,} px" if found else "size unknown"
        raise PixelLimitExceeded(f"image exceeds pixel limit ({size}, limit {limits.max_pixels:,})") from None
    except UnidentifiedImageError:
        raise CorruptDocument("image data is corrupt or not decodable") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise CorruptDocument(f"image header is corrupt ({exc.__class__.__name__})") from None
    with im:
        try:
            n_frames = int(getattr(im, "n_frames", 1) or 1)  # TIFF: walks every page directory
        except _FRAME_ERRORS as exc:
            raise CorruptDocument(f"image page directory is corrupt ({exc.__class__.__name__})") from None
        if n_frames > limits.max_frames:
            raise PageLimitExceeded(f"image has {n_frames} frames, limit is {limits.max_frames}")
        for index in range(n_frames):
            try:
                im.seek(index)
            except _FRAME_ERRORS:
                raise CorruptDocument(f"image frame {index + 1} of {n_frames} is missing (truncated file)") from None
            check_size(im.width, im.height, limits, what=f"image frame {index + 1}" if n_frames > 1 else "image")
            try:
                im.load()
                upright = ImageOps.exif_transpose(im)  # per frame: TIFF pages carry their own tags
                rgb = to_rgb(upright)
            except (OSError, ValueError, SyntaxError, struct.error) as exc:
                raise CorruptDocument(f"truncated or corrupt image data ({exc.__class__.__name__})") from None
            yield Frame(index=index, rgb=np.ascontiguousarray(rgb), dpi=_dpi(im))
