"""Limits on what one user or address may hold (reliability finding 3), on a server of its own
with small limits: calls started per minute, open calls, realtime connections per user and per
address, WHIP publishers and media transports per user and per worker, and the paged list of
active calls. Over a limit: 429 with Retry-After and the JSON error, and the server goes on."""

from __future__ import annotations

import json
from typing import Iterator

import pytest
import requests
import websocket

from chorus_api import ChorusAPI, assert_created, assert_error, bearer
from conftest import ChorusServer, start_server, stop_process
from peers import publish_offer, subscribe_offer

LIMITS = {
    "--max-calls-per-minute": 5,
    "--max-open-calls": 3,
    "--max-connections-per-user": 2,
    "--max-connections-per-address": 6,
    "--max-publishers-per-user": 2,
    "--max-transports-per-user": 3,
    "--max-transports-per-worker": 3,
}


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChorusServer]:
    args = [str(part) for option, value in LIMITS.items() for part in (option, value)]
    server = start_server(tmp_path_factory.mktemp("limits"), extra_args=args)
    try:
        yield server
    finally:
        stop_process(server.process)


def assert_limited(response: requests.Response, code: str) -> int:
    error = assert_error(response, 429)
    assert error["code"] == code, error
    retry_after = response.headers.get("Retry-After")
    assert retry_after is not None and retry_after.isdigit() and int(retry_after) >= 1, response.headers
    return int(retry_after)


def initiate(server: ChorusServer, token: str, invitee: str) -> requests.Response:
    return requests.post(
        server.base_url + "/api/calls/initiate", headers=bearer(token),
        json={"roomId": "!r:example.org", "callType": "voice", "invitees": [invitee]}, timeout=10)


def end(server: ChorusServer, token: str, call_id: str) -> None:
    response = requests.post(f"{server.base_url}/api/calls/{call_id}/end", headers=bearer(token), timeout=10)
    assert response.status_code == 200, response.text


def test_open_calls_then_calls_per_minute(limited: ChorusServer) -> None:
    alice = limited.token("@limit-alice:x", "*")
    started = []
    for _ in range(3):
        response = initiate(limited, alice, "@limit-bob:x")
        assert response.status_code == 201, response.text
        started.append(response.json()["callId"])
    assert_limited(initiate(limited, alice, "@limit-bob:x"), "too_many_open_calls")

    for call_id in started:
        end(limited, alice, call_id)
    # The refused start did not count: two more fit in the minute, the sixth does not.
    for _ in range(2):
        response = initiate(limited, alice, "@limit-bob:x")
        assert response.status_code == 201, response.text
        end(limited, alice, response.json()["callId"])
    retry = assert_limited(initiate(limited, alice, "@limit-bob:x"), "rate_limited")
    assert retry <= 60
    # Another user is not affected.
    other = initiate(limited, limited.token("@limit-carol:x", "*"), "@limit-bob:x")
    assert other.status_code == 201, other.text


def test_active_calls_come_in_pages(limited: ChorusServer) -> None:
    victim = "@limit-victim:x"
    callers = [limited.token(f"@limit-caller{i}:x", "*") for i in range(5)]
    for token in callers:
        assert initiate(limited, token, victim).status_code == 201
    token = limited.token(victim, "*")
    seen: list[str] = []
    url = limited.base_url + "/api/calls/active?limit=2"
    for _ in range(10):
        page = requests.get(url, headers=bearer(token), timeout=10)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["calls"]) <= 2 or body.get("nextBefore") is None
        seen += [call["callId"] for call in body["calls"]]
        if "nextBefore" not in body:
            break
        url = limited.base_url + f"/api/calls/active?limit=2&before={body['nextBefore']}"
    assert len(seen) == len(set(seen)) == 5
    everything = requests.get(limited.base_url + "/api/calls/active", headers=bearer(token), timeout=10).json()
    assert sorted(call["callId"] for call in everything["calls"]) == sorted(seen)
    assert_error(requests.get(limited.base_url + "/api/calls/active?limit=0", headers=bearer(token), timeout=10), 400)


def ws_url(server: ChorusServer, token: str) -> str:
    return f"ws://127.0.0.1:{server.http_port}/ws?token={token}"


def test_realtime_connections_per_user_and_per_address(limited: ChorusServer) -> None:
    erin = limited.token("@limit-erin:x", "*")
    sockets = [websocket.create_connection(ws_url(limited, erin), timeout=10) for _ in range(2)]
    try:
        refused = requests.get(
            f"{limited.base_url}/ws?token={erin}", timeout=10,
            headers={"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                     "Sec-WebSocket-Key": "MDEyMzQ1Njc4OWFiY2RlZg=="})
        assert_limited(refused, "too_many_connections")
        # Others from the same address fill it up to its limit (6 in all), then the address is full.
        for i in range(4):
            sockets.append(websocket.create_connection(ws_url(limited, limited.token(f"@limit-addr{i}:x", "*")), timeout=10))
        with pytest.raises(websocket.WebSocketBadStatusException) as refusal:
            websocket.create_connection(ws_url(limited, limited.token("@limit-addr-last:x", "*")), timeout=10)
        assert refusal.value.status_code == 429
    finally:
        for ws in sockets:
            ws.close()
    # Closed connections free their places.
    again = websocket.create_connection(ws_url(limited, erin), timeout=10)
    again.send(json.dumps({"event": "no-such-event", "data": {}}))
    assert json.loads(again.recv())["event"] == "error"
    again.close()


def test_publishers_and_transports_per_user(limited: ChorusServer) -> None:
    api = ChorusAPI(limited.base_url)
    frank = limited.token("@limit-frank:x", "*", publish=True, subscribe=True)
    made = []
    try:
        for room in ("limit-a", "limit-b"):
            made.append(assert_created(api.whip(room, publish_offer(), frank), f"/whip/{room}").path)
        assert_limited(api.whip("limit-c", publish_offer(), frank), "too_many_publishers")
        publisher = made[0].rsplit("/", 1)[1]
        made.append(assert_created(api.whep("limit-a", publisher, subscribe_offer(), frank), f"/whep/limit-a/{publisher}").path)
        assert_limited(api.whep("limit-a", publisher, subscribe_offer(), frank), "too_many_transports")
    finally:
        for path in reversed(made):
            api.delete(path, frank)


def test_transports_per_worker(limited: ChorusServer) -> None:
    # Two workers of at most 3 transports each: of 7 publishers in 7 rooms at least one is refused.
    api = ChorusAPI(limited.base_url)
    made, refused = [], 0
    try:
        for i in range(7):
            token = limited.token(f"@limit-worker{i}:x", "*", publish=True)
            response = api.whip(f"limit-worker-{i}", publish_offer(), token)
            if response.status_code == 201:
                made.append((assert_created(response, f"/whip/limit-worker-{i}").path, token))
            else:
                assert_limited(response, "server_full")
                refused += 1
        assert refused >= 1 and len(made) <= 6
    finally:
        for path, token in made:
            api.delete(path, token)
    # Freed places are taken again.
    token = limited.token("@limit-worker-again:x", "*", publish=True)
    created = assert_created(api.whip("limit-worker-0", publish_offer(), token), "/whip/limit-worker-0")
    api.delete(created.path, token)
