"""Read a QR token from a photo or scan (PNG, JPEG, …) with zxing-cpp."""

from __future__ import annotations

import io
import os
from typing import BinaryIO

import zxingcpp
from PIL import Image, ImageOps, UnidentifiedImageError

from verifiers.errors import ImageUnreadable, NoCodeFound
from verifiers.token import PREFIX

#: Photos larger than this (pixels) are refused rather than decoded.
MAX_PIXELS = 40_000_000


def decode_image(source: bytes | str | os.PathLike[str] | BinaryIO | Image.Image) -> str:
    """Return the token text of the regnode QR code in an image.

    Raise ImageUnreadable when the input is not an image, NoCodeFound when no QR
    code carrying an `RN1:` token can be read.
    """
    image = _open(source)
    # Phones store rotation in EXIF; apply it so the decoder sees the upright photo.
    image = ImageOps.exif_transpose(image).convert("L")
    barcodes = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    texts = [barcode.text for barcode in barcodes if barcode.valid]
    tokens = [text for text in texts if text.startswith(PREFIX)]
    if tokens:
        return tokens[0]
    if texts:
        raise NoCodeFound(f"found {len(texts)} QR code(s), none holds an {PREFIX} token")
    raise NoCodeFound("no readable QR code in the image")


def _open(source: bytes | str | os.PathLike[str] | BinaryIO | Image.Image) -> Image.Image:
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, bytes | bytearray):
        source = io.BytesIO(source)
    try:
        image = Image.open(source)
        if image.width * image.height > MAX_PIXELS:
            raise ImageUnreadable(f"image of {image.width}×{image.height} pixels is too large")
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageUnreadable(f"not a readable image: {exc}") from None
    return image
