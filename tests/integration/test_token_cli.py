"""`chorus token` prints an HS256 JWT with the contract's claims (sub, room, publish, subscribe,
admin, exp), signed with --jwt-secret or CHORUS_JWT_SECRET."""

from __future__ import annotations

import os
import subprocess
import time

import jwt_tokens
from conftest import ChorusServer


def test_token_claims_and_signature(chorus: ChorusServer) -> None:
    before = time.time()
    token = chorus.token("alice", "r1", publish=True, subscribe=True, ttl=120)
    header, payload = jwt_tokens.decode_unverified(token)
    assert header.get("alg") == "HS256", header
    assert jwt_tokens.verify_hs256(token, chorus.secret), "signature does not verify with --jwt-secret"
    assert not jwt_tokens.verify_hs256(token, chorus.secret + "x")
    assert payload["sub"] == "alice"
    assert payload["room"] == "r1"
    assert payload["publish"] is True and payload["subscribe"] is True and payload["admin"] is False, payload
    assert before + 120 - 5 <= payload["exp"] <= time.time() + 120 + 5, payload


def test_token_admin_wildcard_default_ttl(chorus: ChorusServer) -> None:
    token = chorus.token("moderator", "*", admin=True)
    _, payload = jwt_tokens.decode_unverified(token)
    assert payload["room"] == "*" and payload["admin"] is True, payload
    assert payload["publish"] is False and payload["subscribe"] is False, payload
    assert payload["exp"] > time.time() + 60, f"default ttl too short: {payload}"


def test_token_secret_from_environment(chorus: ChorusServer) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHORUS_")}
    env["CHORUS_JWT_SECRET"] = "secret-from-the-environment"
    done = subprocess.run(
        [str(chorus.binary), "token", "--identity", "bob", "--room", "r2", "--subscribe"],
        capture_output=True, text=True, timeout=30, env=env,
    )
    assert done.returncode == 0, done.stderr
    token = [line.strip() for line in done.stdout.splitlines() if line.strip()][-1]
    assert jwt_tokens.verify_hs256(token, "secret-from-the-environment")
    _, payload = jwt_tokens.decode_unverified(token)
    assert payload["sub"] == "bob" and payload["subscribe"] is True and payload["publish"] is False, payload
