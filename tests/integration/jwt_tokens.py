"""HS256 JWTs minted and read in pure Python (hmac/hashlib/base64), for the tokens `chorus token`
cannot make: forged, expired, alg=none, malformed. Claims follow Chorus: sub, room (name or "*"),
publish, subscribe, admin, exp (RFC 7519 NumericDate)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any


def b64url(data: bytes) -> str:
    # RFC 7515 §2: base64url without padding.
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def claims(
    identity: str,
    room: str,
    *,
    publish: bool = False,
    subscribe: bool = False,
    admin: bool = False,
    ttl: int = 3600,
    now: float | None = None,
) -> dict[str, Any]:
    """Chorus claims; a negative ttl gives an already expired token."""
    issued = int(time.time() if now is None else now)
    return {
        "sub": identity,
        "room": room,
        "publish": publish,
        "subscribe": subscribe,
        "admin": admin,
        "exp": issued + ttl,
    }


def mint(secret: str | bytes, payload: dict[str, Any], *, alg: str = "HS256") -> str:
    """Signs payload with HMAC-SHA256 (RFC 7518 §3.2). alg="none" gives an unsigned token
    (RFC 7519 §6.1), which a server must refuse."""
    header = {"alg": alg, "typ": "JWT"}
    signing_input = (
        b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + b64url(json.dumps(payload, separators=(",", ":")).encode())
    )
    if alg == "none":
        return signing_input + "."
    if alg != "HS256":
        raise ValueError(f"unsupported alg {alg}")
    key = secret.encode() if isinstance(secret, str) else secret
    signature = hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + b64url(signature)


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, payload) of a compact JWS, without checking the signature."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError(f"not a compact JWS: {len(parts)} parts")
    return json.loads(b64url_decode(parts[0])), json.loads(b64url_decode(parts[1]))


def verify_hs256(token: str, secret: str | bytes) -> bool:
    head, body, sig = token.split(".")
    key = secret.encode() if isinstance(secret, str) else secret
    expected = hmac.new(key, f"{head}.{body}".encode("ascii"), hashlib.sha256).digest()
    return hmac.compare_digest(expected, b64url_decode(sig))
