"""Generate the golden QR-token vectors, their snapshot, keys and images.

    .venv/bin/python scripts/make_vectors.py          # write tests/vectors/

Keys are created once and then read back from tests/vectors/keys/*.pem, times
and digests are fixed; ECDSA signatures are randomised, so a re-run changes the
token bytes (never the verdicts). Commit the output; tests/verifiers/test_vectors.py
checks every vector against the snapshot.
"""

from __future__ import annotations

import hashlib
import io
import json
import zlib
from pathlib import Path
from typing import Any

import base45
import cbor2
from PIL import Image, ImageFilter
from pycose.algorithms import Es256
from pycose.headers import KID, Algorithm
from pycose.keys import CoseKey
from pycose.messages import Sign1Message

from verifiers import (
    ChainPosition,
    DepartmentRecord,
    LicenceClaims,
    LicenceStatus,
    Signer,
    StatusEvent,
    TrustRelation,
    TrustSnapshot,
    build_token,
    export_snapshot,
    qr_png,
)
from verifiers.token import PREFIX, decode_cose

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "vectors"

SHENZHEN, BEIJING, SHANGHAI = "440300", "110000", "310000"
BUSINESS = "11100000000013338W011"  # 营业执照
FOOD = "11100000000013338W042"  # 食品经营许可证
T_M1_FROM, T_ROTATE, T_CIVIL_COMPROMISED = 1_700_000_000, 1_800_000_000, 1_795_000_000
ISSUED = 1_800_100_000
STATUS_CHANGE = 1_800_150_000
EXPORTED_AT = 1_800_190_000
NOW = 1_800_200_000

KEY_ALGS = {"market1": "ES256", "market2": "ES256", "police1": "EdDSA", "bjmarket1": "ES384",
            "civil1": "ES256", "rogue": "ES256"}


def load_keys() -> dict[str, Signer]:
    """Read the fixed test keys, creating any that are missing."""
    from verifiers.trust import ALG_IDS

    folder = OUT / "keys"
    folder.mkdir(parents=True, exist_ok=True)
    signers = {}
    for name, alg in KEY_ALGS.items():
        path = folder / f"{name}.pem"
        if not path.exists():
            path.write_bytes(Signer.generate(ALG_IDS[alg]).private_pem())
        signers[name] = Signer.from_pem(path.read_bytes())
    return signers


def digest(name: str) -> bytes:
    """Return the fixed document digest of a named test licence."""
    return hashlib.sha256(f"regnode test licence {name}".encode()).digest()


def identifier(serial: int, uscc: str = "11430000006122244L") -> str:
    """Return a test identifier of the GB/T 36904 shape (check character not computed)."""
    return f"1.2.156.3005.2.{BUSINESS}.{uscc}.2026{serial:07d}.001.U"


def claims(name: str, serial: int, *, issuer: str = "MARKET", region: str = SHENZHEN,
           licence_type: str = BUSINESS, issued_at: int = ISSUED, valid_from: int | None = None,
           valid_until: int | None = None, disclosed: dict[str, str | int] | None = None,
           ) -> LicenceClaims:
    return LicenceClaims(
        identifier=identifier(serial), issuer=issuer, issuer_region=region,
        licence_type=licence_type, type_name="营业执照", issued_at=issued_at,
        valid_from=issued_at if valid_from is None else valid_from, valid_until=valid_until,
        document_digest=digest(name),
        disclosed={"name": f"测试公司{serial}号", "rep": "张伟"} if disclosed is None else disclosed,
    )


TYPICAL_DISCLOSED: dict[str, str | int] = {
    "holderName": "深圳市星辰智能科技有限公司",
    "holderId": "91440300MA5FXK2Q3E",
    "holderIdType": "USCC",
    "legalRepresentative": "张伟",
    "registeredCapital": "1000万元人民币",
    "address": "深圳市南山区粤海街道科技南十二路18号星辰大厦12层",
    "businessScope": "软件开发；信息系统集成服务；人工智能应用软件开发",
    "establishedDate": "2019-03-15",
}


def typical_claims() -> LicenceClaims:
    """Return a typical business licence: 8 disclosed fields as the node issues them, open-ended."""
    return LicenceClaims(
        identifier="1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
        issuer="MARKET", issuer_region=SHENZHEN, licence_type=BUSINESS, type_name="营业执照",
        issued_at=ISSUED, valid_from=ISSUED, valid_until=None,
        document_digest=digest("typical"), disclosed=dict(TYPICAL_DISCLOSED),
    )


def wrap(cose: bytes) -> str:
    return PREFIX + base45.b45encode(zlib.compress(cose, 9)).decode("ascii")


def forge(payload: bytes, key: Signer, kid: bytes) -> str:
    """Sign with one key while naming another key's kid."""
    message = Sign1Message(phdr={Algorithm: Es256, KID: kid}, payload=payload)
    message.key = CoseKey.from_pem_private_key(key.private_pem().decode("ascii"))
    return wrap(message.encode())


def rewrite(token: str, change: Any) -> str:
    """Re-encode a token after `change(cose_array)` edits it in place; the signature is kept."""
    message = cbor2.loads(decode_cose(token))
    change(message.value)
    return wrap(cbor2.dumps(message))


def with_claims(token: str, edit: Any) -> str:
    """Re-encode a token with edited claims (int-keyed map) and the old signature."""
    def change(body: list[Any]) -> None:
        raw = cbor2.loads(body[2])
        edit(raw)
        body[2] = cbor2.dumps(raw, canonical=True)
    return rewrite(token, change)


def build() -> None:
    keys = load_keys()
    m1, m2, p1, b1, c1, rogue = (keys[n] for n in
                                 ("market1", "market2", "police1", "bjmarket1", "civil1", "rogue"))
    departments = [
        DepartmentRecord("MARKET", "深圳市市场监督管理局", SHENZHEN, 1),
        DepartmentRecord("POLICE", "深圳市公安局", SHENZHEN, 1),
        DepartmentRecord("BJMARKET", "北京市市场监督管理局", BEIJING, 1),
        DepartmentRecord("CIVIL", "深圳市民政局", SHENZHEN, 1),
    ]
    key_records = [
        m1.key_record("MARKET", T_M1_FROM, valid_to=T_ROTATE),
        m2.key_record("MARKET", T_ROTATE),
        p1.key_record("POLICE", T_M1_FROM),
        b1.key_record("BJMARKET", T_M1_FROM),
        c1.key_record("CIVIL", T_M1_FROM, compromised_since=T_CIVIL_COMPROMISED),
    ]
    relations = [TrustRelation(SHENZHEN, BEIJING, BUSINESS)]

    vectors: list[dict[str, Any]] = []
    anchored: list[tuple[bytes, str]] = []
    statuses: dict[bytes, list[StatusEvent]] = {}

    def add(name: str, token: str, verdict: str, description: str, *,
            region: str = SHENZHEN, now: int = NOW) -> None:
        vectors.append({"name": name, "description": description, "token": token, "now": now,
                        "verifier_region": region, "expected_verdict": verdict,
                        "snapshot": "snapshot.rns"})

    def anchor(c: LicenceClaims, issuer: str | None = None) -> None:
        anchored.append((c.leaf, issuer or c.issuer))

    # -- valid ------------------------------------------------------------------------
    valid = claims("valid", 1)
    anchor(valid)
    valid_token = build_token(valid, m2)
    add("valid", valid_token, "valid", "ES256 business licence, anchored, active, open-ended")
    typical = typical_claims()
    anchor(typical)
    typical_token = build_token(typical, m2)
    add("valid_typical", typical_token, "valid", "typical business licence (QR version <= 18 at Q)")
    eddsa = claims("eddsa", 2, issuer="POLICE")
    anchor(eddsa)
    add("valid_eddsa", build_token(eddsa, p1), "valid", "EdDSA (Ed25519) licence of POLICE")
    es384 = claims("es384", 3, issuer="BJMARKET", region=BEIJING)
    anchor(es384)
    es384_token = build_token(es384, b1)
    add("valid_es384_cross_region", es384_token, "valid",
        "ES384 Beijing licence; Shenzhen verifiers recognise Beijing business licences")
    rotated = claims("rotated", 4, issued_at=1_790_000_000)
    anchor(rotated)
    add("valid_old_key", build_token(rotated, m1), "valid",
        "signed by MARKET's retired key while it was valid")
    before_compromise = claims("civil-before", 5, issuer="CIVIL", issued_at=1_794_000_000)
    anchor(before_compromise)
    add("valid_before_compromise", build_token(before_compromise, c1), "valid",
        "signed by CIVIL's key before it was compromised")
    reinstated = claims("reinstated", 6)
    anchor(reinstated)
    statuses[reinstated.leaf] = [StatusEvent(STATUS_CHANGE, LicenceStatus.SUSPENDED, 1),
                                 StatusEvent(STATUS_CHANGE + 1000, LicenceStatus.ACTIVE, 0)]
    add("valid_reinstated", build_token(reinstated, m2), "valid", "suspended, then reinstated")
    add("valid_with_newline", valid_token + "\n", "valid", "scanner appended a newline")

    # -- status -----------------------------------------------------------------------
    revoked = claims("revoked", 10)
    anchor(revoked)
    statuses[revoked.leaf] = [StatusEvent(STATUS_CHANGE - 10, LicenceStatus.SUSPENDED, 1),
                              StatusEvent(STATUS_CHANGE, LicenceStatus.REVOKED, 3)]
    revoked_token = build_token(revoked, m2)
    add("revoked", revoked_token, "revoked", "suspended, then revoked with reason 3")
    add("revoked_but_suspended_earlier", revoked_token, "suspended",
        "the same licence checked between its suspension and its revocation",
        now=STATUS_CHANGE - 5)
    add("revoked_not_yet", revoked_token, "valid", "the same licence checked before any change",
        now=STATUS_CHANGE - 100)
    suspended = claims("suspended", 11)
    anchor(suspended)
    statuses[suspended.leaf] = [StatusEvent(STATUS_CHANGE, LicenceStatus.SUSPENDED, 1)]
    add("suspended", build_token(suspended, m2), "suspended", "suspended with reason 1")
    revoked_expired = claims("revoked-expired", 12, valid_until=STATUS_CHANGE + 10)
    anchor(revoked_expired)
    statuses[revoked_expired.leaf] = [StatusEvent(STATUS_CHANGE, LicenceStatus.REVOKED, 2)]
    add("revoked_and_expired", build_token(revoked_expired, m2), "revoked",
        "revoked wins over expired")

    # -- dates and anchoring ----------------------------------------------------------
    expired = claims("expired", 20, valid_until=STATUS_CHANGE)
    anchor(expired)
    add("expired", build_token(expired, m2), "expired", "valid until before now")
    add("expired_at_boundary", build_token(expired, m2), "expired", "now == valid until",
        now=STATUS_CHANGE)
    future = claims("future", 21, valid_from=NOW + 86_400)
    anchor(future)
    add("not_yet_valid", build_token(future, m2), "not_yet_valid", "valid from tomorrow")
    pending = claims("pending", 22)
    add("not_anchored_yet", build_token(pending, m2), "not_anchored_yet",
        "signed but its batch is not anchored yet")
    foreign_anchor = claims("foreign-anchor", 23)
    anchor(foreign_anchor, "POLICE")
    add("anchored_by_other_issuer", build_token(foreign_anchor, m2), "not_anchored_yet",
        "the leaf is anchored, but by another department")

    # -- keys -------------------------------------------------------------------------
    after_rotation = claims("after-rotation", 30)
    anchor(after_rotation)
    add("key_retired_before_issue", build_token(after_rotation, m1), "key_not_valid_at_issue",
        "signed by MARKET's retired key after its valid_to")
    before_key = claims("before-key", 31, issued_at=T_ROTATE - 10)
    anchor(before_key)
    add("key_not_yet_valid_at_issue", build_token(before_key, m2), "key_not_valid_at_issue",
        "issued before the signing key's valid_from")
    after_compromise = claims("civil-after", 32, issuer="CIVIL", issued_at=1_796_000_000)
    anchor(after_compromise)
    add("key_compromised", build_token(after_compromise, c1), "key_not_valid_at_issue",
        "signed by CIVIL's key after it was compromised")

    # -- issuer -----------------------------------------------------------------------
    add("unknown_kid", build_token(claims("rogue", 40), rogue), "unknown_issuer",
        "signed by a key that is in no key history")
    add("unknown_department", build_token(claims("nobody", 41, issuer="NOBODY"), m2),
        "unknown_issuer", "names a department that is not in the directory")
    add("region_mismatch", build_token(claims("region", 42, region=BEIJING), m2),
        "unknown_issuer", "names a region other than the issuer's registered region")
    add("cross_region_untrusted", valid_token, "unknown_issuer",
        "Shanghai verifiers recognise no Shenzhen licences", region=SHANGHAI)
    food = claims("food", 43, issuer="BJMARKET", region=BEIJING, licence_type=FOOD)
    anchor(food)
    add("cross_region_other_type", build_token(food, b1), "unknown_issuer",
        "Shenzhen recognises Beijing business licences, not food licences")

    # -- signatures -------------------------------------------------------------------
    add("tampered_disclosed", with_claims(valid_token, lambda c: c[11].update(name="假冒公司")),
        "tampered", "a disclosed field of a genuine, anchored licence was changed")
    add("tampered_validity", with_claims(valid_token, lambda c: c.update({9: NOW + 10**8})),
        "tampered", "valid until was added to a genuine licence")
    add("tampered_signature_bits",
        rewrite(valid_token, lambda b: b.__setitem__(3, bytes([b[3][0] ^ 1]) + b[3][1:])),
        "tampered", "one bit of a genuine licence's signature flipped")
    add("bad_signature_digest",
        with_claims(valid_token, lambda c: c.update({10: digest("forged")})),
        "bad_signature", "document digest replaced: the leaf is anchored nowhere")
    add("bad_signature_forged", forge(claims("forged", 50).to_cbor(), rogue, m2.kid),
        "bad_signature", "signed by a rogue key that names MARKET's kid")
    add("bad_signature_other_department",
        build_token(claims("cross-dept", 51, issuer="POLICE"), m2),
        "bad_signature", "MARKET's key signed a licence claiming to be POLICE's")
    add("tampered_alg_swap",
        rewrite(valid_token, lambda b: b.__setitem__(0, b"\xa2\x01\x27\x04\x48" + m2.kid)),
        "tampered", "protected header says EdDSA for MARKET's ES256 key")

    # -- malformed --------------------------------------------------------------------
    body = valid_token[len(PREFIX):]
    cose = decode_cose(valid_token)
    malformed = {
        "empty": ("", "empty text"),
        "bad_prefix": ("HC1:" + body, "EU DCC prefix instead of RN1:"),
        "lowercase_prefix": ("rn1:" + body, "prefix is case-sensitive"),
        "no_prefix": (body, "Base45 without prefix"),
        "bad_base45_char": (PREFIX + body[:10] + "!" + body[11:], "'!' is not Base45"),
        "bad_base45_length": (PREFIX + body + "A", "length leaves one trailing character"),
        "bad_base45_value": (PREFIX + ":::" + body[3:], "triplet value above 65535"),
        "bad_zlib": (PREFIX + base45.b45encode(b"not zlib at all").decode(), "not a zlib stream"),
        "truncated": (valid_token[:-12], "last 12 characters cut off"),
        "zlib_truncated": (wrap(cose)[:len(wrap(cose)) - 30], "zlib stream cut short"),
        "not_cose": (wrap(cbor2.dumps([1, 2, 3])), "zlib of a CBOR array, not COSE"),
        "not_cbor": (wrap(b"\xff\xff\xff"), "zlib of bytes that are not CBOR"),
        "cose_untagged": (wrap(cbor2.dumps(cbor2.loads(cose).value)), "COSE_Sign1 without tag 18"),
        "cose_wrong_tag": (wrap(cbor2.dumps(cbor2.CBORTag(98, cbor2.loads(cose).value))),
                           "tag 98 (COSE_Sign) instead of 18"),
        "unknown_alg": (rewrite(valid_token, lambda b: b.__setitem__(
            0, cbor2.dumps({1: -257, 4: m2.kid}))), "RS256 is not supported"),
        "short_kid": (rewrite(valid_token, lambda b: b.__setitem__(
            0, cbor2.dumps({1: -7, 4: m2.kid[:4]}))), "kid of 4 bytes"),
        "short_signature": (rewrite(valid_token, lambda b: b.__setitem__(3, b[3][:40])),
                            "ES256 signature of 40 bytes"),
        "claims_not_map": (rewrite(valid_token, lambda b: b.__setitem__(2, cbor2.dumps([1]))),
                           "payload is an array"),
        "claim_wrong_type": (with_claims(valid_token, lambda c: c.update({2: 12345})),
                             "identifier is an int"),
        "claim_time_text": (with_claims(valid_token, lambda c: c.update({7: "2027-01-01"})),
                            "issued at is text"),
        "claim_bool_time": (with_claims(valid_token, lambda c: c.update({8: True})),
                            "valid from is a CBOR true"),
        "claim_missing": (with_claims(valid_token, lambda c: c.pop(10)), "no document digest"),
        "claim_short_digest": (with_claims(valid_token, lambda c: c.update({10: b"\x01" * 20})),
                               "document digest of 20 bytes"),
        "claim_unknown_key": (with_claims(valid_token, lambda c: c.update({99: "x"})),
                              "claim key 99 is not defined"),
        "claim_version_2": (with_claims(valid_token, lambda c: c.update({1: 2})),
                            "format version 2"),
        "claim_disclosed_nested": (with_claims(valid_token, lambda c: c.update(
            {11: {"name": ["a", "b"]}})), "disclosed value is an array"),
    }
    for name, (token, description) in malformed.items():
        add(f"malformed_{name}", token, "malformed", description)

    # -- write ------------------------------------------------------------------------
    snapshot = TrustSnapshot(
        departments=departments, keys=key_records, relations=relations, statuses=statuses,
        anchored=anchored,
        position=ChainPosition(1337, bytes.fromhex("5fbdb2315678afecb367f032d93f642f64180aa3"),
                               12_345, hashlib.sha256(b"block 12345").digest(), EXPORTED_AT - 10),
        exported_at=EXPORTED_AT, exporter="MARKET", exporter_kid=m2.kid,
    )
    (OUT / "snapshot.rns").write_bytes(export_snapshot(snapshot, m2))
    (OUT / "snapshot.json").write_text(json.dumps({
        "file": "snapshot.rns", "exporter": "MARKET", "exporter_kid": m2.kid.hex(),
        "exported_at": EXPORTED_AT, "leaf_count": snapshot.leaf_count,
    }, indent=2) + "\n")
    qr_dir = OUT / "qr"
    qr_dir.mkdir(parents=True, exist_ok=True)
    for old in qr_dir.glob("*.json"):
        old.unlink()
    for vector in vectors:
        (qr_dir / f"{vector['name']}.json").write_text(
            json.dumps(vector, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (OUT / "typical_licence.json").write_text(json.dumps({
        "description": "a typical business licence; its token must fit QR version <= 18 at Q",
        "identifier": typical.identifier, "issuer": typical.issuer,
        "issuer_region": typical.issuer_region, "licence_type": typical.licence_type,
        "type_name": typical.type_name, "issued_at": typical.issued_at,
        "valid_from": typical.valid_from, "valid_until": typical.valid_until,
        "document_digest": typical.document_digest.hex(), "disclosed": typical.disclosed,
    }, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    write_images(typical_token, es384_token)


def write_images(token: str, other_token: str) -> None:
    """Write a clean PNG, a photo-like JPEG and a picture without a QR code."""
    folder = OUT / "images"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "clean.token").write_text(token + "\n")
    (folder / "photo.token").write_text(other_token + "\n")
    qr_png(token, folder / "clean.png", scale=4)
    code = Image.open(io.BytesIO(qr_png(other_token, scale=6))).convert("L")
    # A phone photo: grey paper, slight rotation, soft focus, uneven light and sensor noise.
    canvas = Image.new("L", (code.width + 160, code.height + 160), 205)
    canvas.paste(code, (80, 80))
    photo = canvas.rotate(13, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=190)
    photo = photo.filter(ImageFilter.GaussianBlur(1.2))
    shade = Image.linear_gradient("L").resize(photo.size).point(lambda v: 40 + v // 4)
    photo = Image.blend(photo, shade, 0.15)
    noise = Image.effect_noise(photo.size, 12)
    photo = Image.blend(photo, noise, 0.08)
    photo = photo.resize((int(photo.width * 0.8), int(photo.height * 0.8)),
                         Image.Resampling.BILINEAR)
    photo.convert("RGB").save(folder / "photo.jpg", quality=70)
    blank = Image.new("RGB", (320, 240), (240, 240, 230))
    blank.save(folder / "no_code.png")


if __name__ == "__main__":
    build()
