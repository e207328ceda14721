"""A room that belongs to a call admits that call's participants only (reliability finding 1).

A group call's SFU room is named by its call id. A probe with a `room: "*"` token that was not a
participant read the room's state, subscribed over WHEP, published into it, and with an admin
grant muted and removed participants. Here the same stranger tries each of those and must get a
403 JSON error, while the call's own participants keep their rights: the initiator moderates,
an invitee with an admin grant moderates once in the call, a plain participant does not."""

from __future__ import annotations

import json

import pytest
import requests
import websocket

from chorus_api import ChorusAPI, assert_created, assert_error, bearer
from conftest import ChorusServer
from peers import publish_offer, subscribe_offer


def initiate_group(chorus: ChorusServer, token: str, invitees: list[str]) -> str:
    response = requests.post(
        chorus.base_url + "/api/calls/initiate", headers=bearer(token),
        json={"roomId": "!standup:example.org", "callType": "video", "invitees": invitees, "isGroupCall": True},
        timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["callId"]


def answer(chorus: ChorusServer, token: str, call_id: str) -> None:
    response = requests.post(f"{chorus.base_url}/api/calls/{call_id}/answer", headers=bearer(token), timeout=10)
    assert response.status_code == 200, response.text


@pytest.fixture
def call(chorus: ChorusServer, api: ChorusAPI):
    """alice starts a group call with bob (plain) and dave (admin grant); alice publishes into
    the call's room over WHIP. mallory holds an admin token for every room and is not invited."""
    tag = chorus.secret[:6]
    users = {name: f"@{name}-{tag}:example.org" for name in ("alice", "bob", "dave", "mallory")}
    tokens = {
        "alice": chorus.token(users["alice"], "*", publish=True, subscribe=True),
        "bob": chorus.token(users["bob"], "*", publish=True, subscribe=True),
        "dave": chorus.token(users["dave"], "*", publish=True, subscribe=True, admin=True),
        "mallory": chorus.token(users["mallory"], "*", publish=True, subscribe=True, admin=True),
    }
    call_id = initiate_group(chorus, tokens["alice"], [users["bob"], users["dave"]])
    published = assert_created(api.whip(call_id, publish_offer(), tokens["alice"]), f"/whip/{call_id}")
    yield call_id, published, users, tokens
    api.delete(published.path, tokens["alice"])


def test_a_stranger_with_a_star_admin_token_gets_nothing_of_a_call_room(chorus: ChorusServer, api: ChorusAPI, call) -> None:
    call_id, published, users, tokens = call
    mallory = tokens["mallory"]
    participant = published.last_segment

    assert_error(api.room(call_id, mallory), 403)
    assert_error(api.whep(call_id, participant, subscribe_offer(), mallory), 403)
    assert_error(api.whip(call_id, publish_offer(), mallory), 403)
    assert_error(api.mute(call_id, participant, "audio", True, mallory), 403)
    assert_error(api.delete(published.path, mallory), 403)

    # Nothing happened to alice: still there, unmuted, without a subscriber.
    state = api.room(call_id, tokens["alice"])
    assert state.status_code == 200, state.text
    (alice,) = state.json()["participants"]
    assert alice["id"] == participant
    assert alice["audioMuted"] is False and alice["subscriptions"] == []


def test_participants_keep_their_rights_by_their_place_in_the_call(chorus: ChorusServer, api: ChorusAPI, call) -> None:
    call_id, published, users, tokens = call
    participant = published.last_segment

    # Invited but not joined: may look, may not receive media yet.
    assert api.room(call_id, tokens["bob"]).status_code == 200
    assert_error(api.whep(call_id, participant, subscribe_offer(), tokens["bob"]), 403)

    answer(chorus, tokens["bob"], call_id)
    subscribed = assert_created(api.whep(call_id, participant, subscribe_offer(), tokens["bob"]), f"/whep/{call_id}/{participant}")
    # The subscriber chooses its layer; a stranger cannot, even with an admin token for "*".
    layers = f"{chorus.base_url}/api/rooms/{call_id}/subscriptions/{subscribed.last_segment}/layers"
    assert_error(requests.post(layers, json={"spatial": 0}, headers=bearer(tokens["mallory"]), timeout=10), 403)
    chosen = requests.post(layers, json={"spatial": 0}, headers=bearer(tokens["bob"]), timeout=10)
    assert chosen.status_code == 200, chosen.text
    # A plain participant is no moderator: it cannot mute alice or end her publication.
    assert_error(api.mute(call_id, participant, "audio", True, tokens["bob"]), 403)
    assert_error(api.delete(published.path, tokens["bob"]), 403)

    # dave's admin grant counts once dave is a participant: a moderator's mute.
    answer(chorus, tokens["dave"], call_id)
    muted = api.mute(call_id, participant, "video", True, tokens["dave"])
    assert muted.status_code == 200, muted.text
    assert muted.json()["video"]["byAdmin"] is True
    # alice is the initiator: she may lift it although her token has no admin grant.
    lifted = api.mute(call_id, participant, "video", False, tokens["alice"])
    assert lifted.status_code == 200, lifted.text
    assert lifted.json()["videoMuted"] is False

    assert api.delete(subscribed.path, tokens["bob"]).status_code in (200, 204)


def test_an_ended_call_keeps_its_room_closed_to_strangers(chorus: ChorusServer, api: ChorusAPI, call) -> None:
    call_id, _, _, tokens = call
    ended = requests.post(f"{chorus.base_url}/api/calls/{call_id}/end", headers=bearer(tokens["alice"]), timeout=10)
    assert ended.status_code == 200, ended.text
    assert_error(api.whip(call_id, publish_offer(), tokens["mallory"]), 403)
    # Its own initiator cannot send media into a call that is over.
    assert_error(api.whip(call_id, publish_offer(), tokens["alice"]), 409)


def test_a_stranger_cannot_mute_a_group_call_participant_over_the_websocket(chorus: ChorusServer, call) -> None:
    call_id, _, users, tokens = call
    ws = websocket.create_connection(f"ws://127.0.0.1:{chorus.http_port}/ws?token={tokens['mallory']}", timeout=10)
    try:
        ws.send(json.dumps({"event": "mute-participant", "data": {
            "callId": call_id, "userId": users["alice"], "kind": "audio", "muted": True}}))
        reply = json.loads(ws.recv())
    finally:
        ws.close()
    assert reply["event"] == "error", reply
    assert reply["data"]["code"] == "forbidden", reply


def test_rooms_that_belong_to_no_call_still_go_by_the_token_claim(chorus: ChorusServer, api: ChorusAPI, room: str) -> None:
    alice = chorus.token("alice", room, publish=True)
    created = assert_created(api.whip(room, publish_offer(), alice), f"/whip/{room}")
    try:
        moderator = chorus.token("moderator", "*", admin=True)
        muted = api.mute(room, created.last_segment, "audio", True, moderator)
        assert muted.status_code == 200, muted.text
        assert_error(api.room(room, chorus.token("eve", "another-room")), 403)
    finally:
        api.delete(created.path, alice)


def test_sfu_layers_needs_a_joined_participant_and_a_layer(chorus: ChorusServer, call) -> None:
    call_id, _, users, tokens = call

    def send(token: str, data: dict) -> dict:
        ws = websocket.create_connection(f"ws://127.0.0.1:{chorus.http_port}/ws?token={token}", timeout=10)
        try:
            ws.send(json.dumps({"event": "sfu-layers", "data": {"callId": call_id, **data}}))
            return json.loads(ws.recv())
        finally:
            ws.close()

    stranger = send(tokens["mallory"], {"userId": users["alice"], "spatial": 0})
    assert stranger["event"] == "error" and stranger["data"]["code"] == "forbidden", stranger
    bad = send(tokens["alice"], {"userId": users["bob"], "spatial": 5})
    assert bad["event"] == "error" and bad["data"]["code"] == "invalid_field", bad
    missing = send(tokens["alice"], {"userId": users["bob"]})
    assert missing["event"] == "error" and missing["data"]["code"] == "missing_field", missing
    bad_temporal = send(tokens["alice"], {"userId": users["bob"], "spatial": 0, "temporal": 4})
    assert bad_temporal["event"] == "error" and bad_temporal["data"]["code"] == "invalid_field", bad_temporal
    assert "temporal" in json.dumps(bad_temporal["data"]), bad_temporal
