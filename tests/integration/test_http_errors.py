"""Bad input and bad credentials against the running server: each request has exactly one thing
wrong and must get its 4xx with the JSON error shape, never a 5xx, crash or hang; the server keeps
serving afterwards (conftest checks /healthz after every test)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from typing import Iterator

import pytest

import jwt_tokens
import room_state
from chorus_api import ChorusAPI, assert_created, assert_error, describe
from conftest import ChorusServer
from peers import datachannel_offer, publish_offer, subscribe_offer


@dataclass
class Published:
    """A participant that published; its transport never connects, which is enough for HTTP checks."""

    room: str
    participant: str
    path: str
    publisher: str  # alice's token
    viewer: str  # bob's token: subscribe only
    admin: str


@pytest.fixture
def published(chorus: ChorusServer, api: ChorusAPI, room: str) -> Iterator[Published]:
    # Fresh per test: a transport that never connects may be reclaimed by the server (ICE
    # consent), so a long-lived one would turn later tests' expected 4xx into 404s.
    alice = chorus.token("alice", room, publish=True, subscribe=True)
    created = assert_created(api.whip(room, publish_offer(), alice), f"/whip/{room}")
    yield Published(
        room=room,
        participant=created.last_segment,
        path=created.path,
        publisher=alice,
        viewer=chorus.token("bob", room, subscribe=True),
        admin=chorus.token("moderator", room, admin=True),
    )
    api.delete(created.path, alice)


@pytest.fixture(scope="module")
def offer() -> str:
    """A valid publisher offer, for requests that fail before any transport exists."""
    return publish_offer()


# --- health and metrics ------------------------------------------------------------------------


def test_healthz(api: ChorusAPI) -> None:
    response = api.healthz()
    assert response.status_code == 200, describe(response)


def test_metrics_are_prometheus_text_with_chorus_names(api: ChorusAPI, published: Published) -> None:
    response = api.metrics()
    assert response.status_code == 200, describe(response)
    assert response.headers.get("Content-Type", "").startswith("text/plain"), describe(response)
    names = set(re.findall(r"^(chorus_[a-zA-Z0-9_]+)", response.text, re.MULTILINE))
    assert names, f"no chorus_ metrics in:\n{response.text[:1500]}"


# --- 401: who are you? -------------------------------------------------------------------------


def test_python_minted_token_is_accepted(chorus: ChorusServer, api: ChorusAPI, room: str) -> None:
    # Guards the 401 cases below: a server refusing every hand-made token would pass them.
    token = jwt_tokens.mint(chorus.secret, jwt_tokens.claims("alice", room, publish=True))
    created = assert_created(api.whip(room, publish_offer(), token), f"/whip/{room}")
    response = api.delete(created.path, token)
    assert response.status_code in (200, 204), describe(response)


@pytest.mark.parametrize(
    "case",
    ["missing", "forged", "expired", "alg-none", "not-a-jwt", "basic-scheme", "tampered-claims"],
)
def test_whip_bad_credentials_401(chorus: ChorusServer, api: ChorusAPI, room: str, offer: str, case: str) -> None:
    good_claims = jwt_tokens.claims("alice", room, publish=True, subscribe=True, admin=True)
    headers = {"Content-Type": "application/sdp"}
    if case == "forged":
        headers["Authorization"] = "Bearer " + jwt_tokens.mint("not-the-server-secret", good_claims)
    elif case == "expired":
        expired = jwt_tokens.claims("alice", room, publish=True, ttl=-120)
        headers["Authorization"] = "Bearer " + jwt_tokens.mint(chorus.secret, expired)
    elif case == "alg-none":
        headers["Authorization"] = "Bearer " + jwt_tokens.mint(chorus.secret, good_claims, alg="none")
    elif case == "not-a-jwt":
        headers["Authorization"] = "Bearer not-a-jwt"
    elif case == "basic-scheme":
        headers["Authorization"] = "Basic YWxpY2U6c2VjcmV0"
    elif case == "tampered-claims":
        # A real token for a viewer whose payload is swapped for one granting publish.
        head, _, signature = chorus.token("alice", room, subscribe=True).split(".")
        payload = jwt_tokens.b64url(
            (
                '{"sub":"alice","room":"%s","publish":true,"subscribe":true,"admin":true,"exp":%d}'
                % (room, good_claims["exp"])
            ).encode()
        )
        headers["Authorization"] = f"Bearer {head}.{payload}.{signature}"
    response = api.request("POST", f"/whip/{room}", data=offer, headers=headers)
    assert_error(response, 401)


def test_mute_without_token_401(api: ChorusAPI, published: Published) -> None:
    assert_error(api.mute(published.room, published.participant, "video", True, None), 401)


def test_whep_without_token_401(api: ChorusAPI, published: Published) -> None:
    assert_error(api.whep(published.room, published.participant, subscribe_offer(), None), 401)


# --- 403: not allowed --------------------------------------------------------------------------


def test_whip_token_for_another_room_403(chorus: ChorusServer, api: ChorusAPI, room: str, offer: str) -> None:
    token = chorus.token("alice", room + "-elsewhere", publish=True, subscribe=True)
    assert_error(api.whip(room, offer, token), 403)


def test_whip_without_publish_grant_403(chorus: ChorusServer, api: ChorusAPI, room: str, offer: str) -> None:
    token = chorus.token("alice", room, subscribe=True)
    assert_error(api.whip(room, offer, token), 403)


def test_whep_without_subscribe_grant_403(chorus: ChorusServer, api: ChorusAPI, published: Published) -> None:
    token = chorus.token("carol", published.room, publish=True)
    assert_error(api.whep(published.room, published.participant, subscribe_offer(), token), 403)


def test_whep_token_for_another_room_403(chorus: ChorusServer, api: ChorusAPI, published: Published) -> None:
    token = chorus.token("bob", published.room + "-elsewhere", subscribe=True)
    assert_error(api.whep(published.room, published.participant, subscribe_offer(), token), 403)


def test_mute_by_a_viewer_403(api: ChorusAPI, published: Published) -> None:
    assert_error(api.mute(published.room, published.participant, "audio", True, published.viewer), 403)


# --- 415 / 413 / 400: what was sent ------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", None])
def test_whip_wrong_content_type_415(chorus: ChorusServer, api: ChorusAPI, room: str, offer: str, content_type: str | None) -> None:
    token = chorus.token("alice", room, publish=True)
    assert_error(api.whip(room, offer, token, content_type=content_type), 415)


def test_whip_oversized_body_413(chorus: ChorusServer, api: ChorusAPI, room: str, offer: str) -> None:
    token = chorus.token("alice", room, publish=True)
    # A real offer padded with attribute lines to 100 KiB, so only its size is wrong.
    padding = "".join(f"a=x-padding:{i:06d}{'p' * 80}\r\n" for i in range(1200))
    body = (offer + padding).encode()
    assert len(body) > 100 * 1024
    assert_error(api.whip(room, body, token), 413)


def _only_codec(sdp: str, codec: str) -> str:
    """Sanity check on a generated offer: it offers `codec` and nothing else in its m-lines."""
    assert re.search(rf"a=rtpmap:\d+ {codec}/", sdp), sdp
    return sdp


@pytest.mark.parametrize(
    "case",
    ["garbage", "empty", "truncated", "datachannel-only", "audio-g722-only", "no-fingerprint", "no-ice-credentials"],
)
def test_whip_unusable_offer_400(chorus: ChorusServer, api: ChorusAPI, room: str, offer: str, case: str) -> None:
    token = chorus.token("alice", room, publish=True)
    if case == "garbage":
        body = "this is not SDP\r\n\x00\xff"
    elif case == "empty":
        body = ""
    elif case == "truncated":
        # Cut inside the first m= line: no media section is complete.
        body = offer[: offer.index("\nm=") + 12]
    elif case == "datachannel-only":
        body = datachannel_offer()
        assert "m=application" in body and "m=audio" not in body and "m=video" not in body
    elif case == "audio-g722-only":
        body = _only_codec(publish_offer(audio="audio/G722", video=None), "G722")
        assert "opus" not in body
    elif case == "no-fingerprint":
        body = "".join(line for line in offer.splitlines(keepends=True) if not line.startswith("a=fingerprint:"))
    elif case == "no-ice-credentials":
        body = "".join(
            line for line in offer.splitlines(keepends=True) if not line.startswith(("a=ice-ufrag:", "a=ice-pwd:"))
        )
    else:
        raise AssertionError(case)
    assert_error(api.whip(room, body, token), 400)


@pytest.mark.parametrize(
    ("path_room", "token_room"),
    [
        ("%2e%2e", ".."),  # percent-decoded into a path segment of its own meaning
        ("%2E", "."),
        ("*", "*"),  # in a token, "*" means every room: no room is called that
        ("a%20b", "*"),
        ("%C3%A9t%C3%A9", "*"),
        ("r" * 129, "*"),
    ],
    ids=["dotdot", "dot", "star", "space", "non-ascii", "too-long"],
)
def test_room_names_are_checked_400(chorus: ChorusServer, api: ChorusAPI, offer: str, path_room: str, token_room: str) -> None:
    star = chorus.token("alice", "*", publish=True, subscribe=True, admin=True)
    error = assert_error(api.whip(path_room, offer, star), 400)
    assert error["code"] == "bad_room"
    assert assert_error(api.room(path_room, star), 400)["code"] == "bad_room"
    assert assert_error(api.whep(path_room, "p1", offer, star), 400)["code"] == "bad_room"
    if token_room not in ("*",):
        # `chorus token` refuses to sign a claim for a room that cannot exist.
        args = [str(chorus.binary), "token", "--identity", "alice", "--room", token_room, "--jwt-secret", chorus.secret]
        done = subprocess.run(args, capture_output=True, text=True, timeout=30)
        assert done.returncode != 0 and "room" in done.stderr, done


def test_room_names_of_matrix_ids_and_call_ids_work(chorus: ChorusServer, api: ChorusAPI, offer: str) -> None:
    for room in ("!opaque-Id_1:example.org", "2f1b9f4e-5d1c-4f0e-9a57-0c5b7a1e9d10", "r" * 128):
        token = chorus.token("alice", room, publish=True)
        created = assert_created(api.whip(room, offer, token), f"/whip/{room}")
        api.delete(created.path, token)


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'{"kind":"screen","muted":true}',
        b'{"kind":"video","muted":"yes"}',
        b'{"kind":"video"}',
        b'{"muted":true}',
        b"",
    ],
    ids=["invalid-json", "array", "unknown-kind", "muted-not-bool", "missing-muted", "missing-kind", "empty"],
)
def test_mute_bad_json_400(api: ChorusAPI, published: Published, body: bytes) -> None:
    assert_error(api.mute_raw(published.room, published.participant, body, published.admin), 400)


# --- 404: what does not exist ------------------------------------------------------------------


def test_whep_unknown_participant_404(api: ChorusAPI, published: Published) -> None:
    assert_error(api.whep(published.room, "no-such-participant", subscribe_offer(), published.viewer), 404)


def test_whep_unknown_room_404(chorus: ChorusServer, api: ChorusAPI, room: str) -> None:
    token = chorus.token("bob", room, subscribe=True)
    assert_error(api.whep(room, "no-such-participant", subscribe_offer(), token), 404)


def test_mute_unknown_participant_404(api: ChorusAPI, published: Published) -> None:
    assert_error(api.mute(published.room, "no-such-participant", "video", True, published.admin), 404)


def test_room_unknown_404(chorus: ChorusServer, api: ChorusAPI, room: str) -> None:
    assert_error(api.room(room, chorus.token("moderator", room, admin=True)), 404)


def test_delete_unknown_whip_resource_404(api: ChorusAPI, published: Published) -> None:
    assert_error(api.delete(f"/whip/{published.room}/no-such-participant", published.publisher), 404)


def test_delete_unknown_whep_resource_404(api: ChorusAPI, published: Published) -> None:
    path = f"/whep/{published.room}/{published.participant}/no-such-subscription"
    assert_error(api.delete(path, published.viewer), 404)


# --- and afterwards ----------------------------------------------------------------------------


def test_room_lists_the_published_participant(api: ChorusAPI, published: Published) -> None:
    response = api.room(published.room, published.admin)
    assert response.status_code == 200, describe(response)
    assert room_state.find_participant(response.json(), published.participant) is not None, response.text


def test_still_serves_a_fresh_whip_after_bad_input(chorus: ChorusServer, api: ChorusAPI, room: str) -> None:
    token = chorus.token("alice", room, publish=True)
    created = assert_created(api.whip(room, publish_offer(), token), f"/whip/{room}")
    response = api.delete(created.path, token)
    assert response.status_code in (200, 204), describe(response)


def test_errors_keep_their_status_for_pages_on_other_origins(chorus: ChorusServer, api: ChorusAPI, room: str, offer: str) -> None:
    # A browser page elsewhere (RFC 9725 §4.8) sends Origin; its errors must stay 4xx with the
    # JSON body and the CORS header, not turn into 500s.
    headers = {"Origin": "https://app.example", "Content-Type": "application/sdp"}
    response = api.request("POST", f"/whip/{room}", data=offer, headers=headers)
    assert_error(response, 401)
    assert response.headers.get("Access-Control-Allow-Origin") == "*"
    viewer = chorus.token("bob", room, subscribe=True)
    response = api.request("POST", f"/whip/{room}", data=offer, headers={**headers, "Authorization": f"Bearer {viewer}"})
    assert_error(response, 403)
