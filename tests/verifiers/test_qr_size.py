"""A typical business licence fits a QR code of version <= 18 at error correction Q."""

from __future__ import annotations

import json

from conftest import VECTORS

from verifiers import LicenceClaims, Signer, build_token, qr_png, qr_svg, qr_version
from verifiers.qr import MAX_VERSION, qr_code


def typical() -> LicenceClaims:
    data = json.loads((VECTORS / "typical_licence.json").read_text(encoding="utf-8"))
    data.pop("description")
    data["document_digest"] = bytes.fromhex(data["document_digest"])
    return LicenceClaims(**data)


def test_typical_licence_has_eight_fields_with_chinese_text() -> None:
    claims = typical()
    # holder name, id and id type, as the node puts them, plus five subject fields
    assert len(claims.disclosed) == 8
    chinese = [v for v in claims.disclosed.values() if any("\u4e00" <= ch <= "\u9fff" for ch in str(v))]
    assert len(chinese) == 5


def test_typical_licence_fits_version_18_at_q_every_time() -> None:
    # ECDSA signatures are random and zlib output length varies with them: try several.
    signer = Signer.from_pem((VECTORS / "keys" / "market2.pem").read_bytes())
    versions = {qr_version(build_token(typical(), signer)) for _ in range(20)}
    assert max(versions) <= MAX_VERSION == 18


def test_qr_code_is_alphanumeric_at_q() -> None:
    token = build_token(typical(), Signer.generate())
    code = qr_code(token)
    assert (code.error, code.mode) == ("Q", "alphanumeric")
    assert qr_png(token).startswith(b"\x89PNG")
    assert qr_svg(token).lstrip().startswith("<?xml")
