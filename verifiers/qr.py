"""Render QR tokens as QR codes with segno, in alphanumeric mode at error correction Q."""

from __future__ import annotations

import io
import os
from typing import BinaryIO

import segno

ERROR_CORRECTION = "Q"
#: The largest QR version a typical licence token may need (DESIGN.md, "QR token").
MAX_VERSION = 18


def qr_code(token: str) -> segno.QRCode:
    """Return the segno QR code for a token: alphanumeric mode, error correction Q."""
    # boost_error=False keeps Q even when a higher level would fit the same version,
    # so the version reported is the one Q needs.
    return segno.make(token, error=ERROR_CORRECTION, mode="alphanumeric",
                      boost_error=False, micro=False)


def qr_version(token: str) -> int:
    """Return the QR version (1–40) the token needs at error correction Q."""
    version: int = qr_code(token).version
    return version


def qr_png(token: str, target: str | os.PathLike[str] | BinaryIO | None = None,
           *, scale: int = 4, border: int = 4) -> bytes:
    """Return the QR code as PNG bytes, also writing them to `target` when given."""
    buffer = io.BytesIO()
    qr_code(token).save(buffer, kind="png", scale=scale, border=border)
    data = buffer.getvalue()
    if target is not None:
        if isinstance(target, str | os.PathLike):
            with open(target, "wb") as handle:
                handle.write(data)
        else:
            target.write(data)
    return data


def qr_svg(token: str, *, scale: int = 4, border: int = 4) -> str:
    """Return the QR code as an SVG document."""
    buffer = io.BytesIO()
    qr_code(token).save(buffer, kind="svg", scale=scale, border=border)
    return buffer.getvalue().decode("utf-8")
