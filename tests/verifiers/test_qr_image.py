"""Read tokens from images: a clean render and a photo-like JPEG."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import segno
from conftest import VECTORS, make_claims
from PIL import Image

from verifiers import ImageUnreadable, NoCodeFound, Signer, build_token, qr_png
from verifiers.image import decode_image

IMAGES = VECTORS / "images"


@pytest.mark.parametrize("name", ["clean.png", "photo.jpg"])
def test_decodes_the_committed_images(name: str) -> None:
    expected = (IMAGES / name).with_suffix(".token").read_text().strip()
    assert decode_image((IMAGES / name).read_bytes()) == expected
    assert decode_image(IMAGES / name) == expected


def test_round_trip_through_a_png_file(tmp_path: Path) -> None:
    token = build_token(make_claims(), Signer.generate())
    qr_png(token, tmp_path / "code.png")
    assert decode_image(str(tmp_path / "code.png")) == token


def test_exif_rotated_photo_is_read_upright() -> None:
    token = build_token(make_claims(), Signer.generate())
    image = Image.open(io.BytesIO(qr_png(token, scale=5))).convert("RGB").rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif, quality=85)
    assert decode_image(buffer.getvalue()) == token


def test_image_without_a_code_raises_no_code_found() -> None:
    with pytest.raises(NoCodeFound, match="no readable QR code"):
        decode_image((IMAGES / "no_code.png").read_bytes())


def test_qr_code_of_something_else_raises_no_code_found() -> None:
    buffer = io.BytesIO()
    segno.make("https://example.com/", error="q").save(buffer, kind="png", scale=5)
    with pytest.raises(NoCodeFound, match="none holds"):
        decode_image(buffer.getvalue())


def test_bytes_that_are_no_image_raise_image_unreadable() -> None:
    with pytest.raises(ImageUnreadable):
        decode_image(b"RN1:not an image")
