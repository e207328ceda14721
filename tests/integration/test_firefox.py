"""Firefox ESR against Chorus (issue 13, test 5): a group call through the web client with two
headless Chromiums, and WHIP and WHEP from Firefox itself.

Firefox gathers ICE candidates only on the interface of a default route (INTEROP.md), so the
browsers sit in one namespace and Chorus in another, joined by a veth pair (netns.py): Chorus
serves and announces its veth address, and the browsers load its page through a forwarder on
their own 127.0.0.1 (a secure context, as getUserMedia needs). Asserted on each browser's
getStats() (frames decoded per sender) and on Chorus's room state (a muted track is not
forwarded), never on timing."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import requests

from browser import (
    browsers,
    install_whip_client,
    inbound,
    page_url,
    wait_flowing,
    wait_until,
    wait_whip_flowing,
    whip_stats,
)
from conftest import start_server, stop_process
from firefox import firefoxes
from netns import PortForwarder, netns, skip_on_postgres_pass, sqlite_database
from room_state import MuteWatch
from test_browser_group import assert_not_forwarded, user

pytestmark = [pytest.mark.browser, skip_on_postgres_pass]

__all__ = ["browsers", "firefoxes", "netns"]  # fixtures, imported for pytest


@pytest.fixture
def split_network(netns, tmp_path: Path):
    """Chorus in one namespace on its veth address; the test's thread (and the browsers it
    starts) in the other, with a forwarder to Chorus's HTTP port on its 127.0.0.1."""
    clients, server = netns.namespace("clients"), netns.namespace("server")
    _, server_address = netns.link(clients, server)
    with server.entered():
        chorus = start_server(
            tmp_path, host=server_address, database=sqlite_database(tmp_path), log_name="chorus-serve-firefox.log")
    clients.enter()
    forwarder = PortForwarder((server_address, chorus.http_port))
    try:
        yield chorus, clients, f"http://127.0.0.1:{forwarder.port}"
    finally:
        forwarder.close()
        code = stop_process(chorus.process)
        assert code == 0, f"chorus serve exited {code}"


def test_firefox_in_a_group_call_with_two_chromiums(split_network, browsers, firefoxes) -> None:
    chorus, clients, origin = split_network
    ids = {"a": user("alice"), "b": user("bob"), "f": user("fiona")}
    a_id, b_id, f_id = ids["a"], ids["b"], ids["f"]
    tokens = {k: chorus.token(v, "*", publish=True, subscribe=True, admin=(k == "a")) for k, v in ids.items()}
    a, b = browsers("ff-group-a"), browsers("ff-group-b")
    f = firefoxes("ff-group-f", clients)
    for key, browser in (("a", a), ("b", b), ("f", f)):
        browser.open(page_url(chorus, tokens[key], origin=origin))
    for browser in (a, b, f):
        browser.wait_ready()

    call_id = a.hook("startGroupCall", [b_id, f_id])
    wait_until(lambda: a.state()["connectionState"] == "connected", 30,
               lambda: f"A's pc to the SFU is {a.state()['connectionState']}; {a.logs_text()}")
    for browser in (b, f):
        browser.wait_event("incoming-call", lambda d: d["callId"] == call_id, timeout=20)
        browser.hook("join", call_id)

    everyone = {"a": (a, a_id), "b": (b, b_id), "f": (f, f_id)}
    for key, (browser, _) in everyone.items():
        others = [uid for k, (_, uid) in everyone.items() if k != key]
        wait_until(lambda: browser.state()["connectionState"] == "connected", 40,
                   lambda: f"{browser.name}: pc {browser.state()['connectionState']}; {browser.logs_text()}")
        wait_flowing(browser, "video", others, timeout=45)
        wait_flowing(browser, "audio", others, timeout=20)
        video = inbound(browser.stats(), "video")
        assert sorted(s["userId"] for s in video) == sorted(others), video
    pair = f.stats()["pair"]
    assert pair and pair["remoteAddress"].startswith(chorus.announced_ip + ":"), f"Firefox's selected pair: {pair}"

    # Firefox turns its camera off: the SFU stops its video at A and B; its audio still flows.
    f.hook("toggleVideo", False)
    for browser in (a, b):
        toggled = browser.wait_event("video-toggled", lambda d: d["callId"] == call_id and d["userId"] == f_id)
        assert toggled["enabled"] is False
    # A disabled camera track sends about a black frame a second: three of them dropped at the
    # router while nothing is forwarded is the proof, without waiting for ten.
    room = lambda: requests.get(f"{chorus.base_url}/api/rooms/{call_id}",  # noqa: E731
                                headers={"Authorization": f"Bearer {tokens['a']}"}, timeout=10).json()
    MuteWatch(room, f_id, "video", dropped=3).wait()
    for browser in (a, b):
        wait_flowing(browser, "audio", [f_id], timeout=15)
    f.hook("toggleVideo", True)
    for browser in (a, b):
        wait_flowing(browser, "video", [f_id], timeout=30)

    # Moderator A mutes Firefox's microphone: Firefox may not unmute, and nobody gets its audio.
    a.hook("muteParticipant", f_id, "audio", True)
    muted = f.wait_event("audio-toggled", lambda d: d["callId"] == call_id and d["userId"] == f_id)
    assert muted["enabled"] is False and muted.get("byAdmin") is True, muted
    wait_until(lambda: f.state()["audioLocked"] is True, 10, lambda: f"Firefox's page shows no admin mute: {f.state()}")
    f.hook("toggleAudio", True)
    refused = f.wait_event("error", lambda d: d.get("code") == "muted_by_admin")
    assert refused.get("callId") == call_id, refused
    assert_not_forwarded(chorus, tokens["a"], call_id, f_id, "audio")
    # Firefox still receives everything while its microphone is locked.
    wait_flowing(f, "video", [a_id, b_id], timeout=20)
    a.hook("muteParticipant", f_id, "audio", False)
    for browser in (a, b):
        wait_flowing(browser, "audio", [f_id], timeout=20)


def test_firefox_publishes_over_whip_and_subscribes_over_whep(split_network, firefoxes) -> None:
    chorus, clients, origin = split_network
    identity = user("fiona")
    room = f"ff-{uuid.uuid4().hex[:8]}"
    token = chorus.token(identity, room, publish=True, subscribe=True)
    f = firefoxes("ff-whip", clients)
    f.open(page_url(chorus, token, origin=origin))
    f.wait_ready()
    install_whip_client(f)
    participant = f.js("return await window.whip.publish(arguments[0], arguments[1])", room, token)
    f.js("return await window.whip.subscribe(arguments[0], arguments[1], arguments[2])", room, participant, token)
    wait_whip_flowing(f, "video")
    wait_whip_flowing(f, "audio")
    sessions = whip_stats(f)
    published = next(s for s in sessions if s["kind"] == "publish")
    assert published["connectionState"] == "connected", sessions
    assert (published["outbound"].get("video") or {}).get("packetsSent", 0) > 0, sessions


def test_firefox_publishes_simulcast_over_whip(split_network, firefoxes) -> None:
    """Issue 14: RID simulcast from Firefox too. Firefox offers its three encodings (rid q/h/f,
    `a=simulcast:send`); Chorus answers them, learns each layer's SSRC from the RID extension on
    its first packets, and a WHEP subscriber (Firefox again) forced to layer 0 and then layer 2
    decodes the two sizes."""
    chorus, clients, origin = split_network
    identity = user("fiona")
    room = f"ffsim-{uuid.uuid4().hex[:8]}"
    token = chorus.token(identity, room, publish=True, subscribe=True)
    f = firefoxes("ff-simulcast", clients)
    f.open(page_url(chorus, token, origin=origin))
    f.wait_ready()
    install_whip_client(f)
    participant = f.js(
        "return await window.whip.publish(arguments[0], arguments[1], null, {simulcast: true, video: {width: 640, height: 480}})",
        room, token)
    remote = f.js("return window.whip.descriptions()")[0]["remote"]
    assert "a=simulcast:recv q;h;f" in remote, remote

    def layers() -> list[dict]:
        state = requests.get(f"{chorus.base_url}/api/rooms/{room}", headers={"Authorization": f"Bearer {token}"},
                             timeout=10).json()
        return next(t for t in state["participants"][0]["tracks"] if t["kind"] == "video")["layers"]
    wait_until(lambda: all(layer.get("ssrc") and layer["packetsIn"] > 0 for layer in layers()) and len(layers()) == 3,
               40, lambda: f"Firefox's layers at Chorus: {layers()}")
    assert [layer.get("rid") for layer in layers()] == ["q", "h", "f"], layers()
    assert len({layer["ssrc"] for layer in layers()}) == 3, layers()

    def forwarded_layer(subscription: str) -> int | None:
        state = requests.get(f"{chorus.base_url}/api/rooms/{room}", headers={"Authorization": f"Bearer {token}"},
                             timeout=10).json()
        subscriptions = [sub for p in state["participants"] for sub in p["subscriptions"] if sub["id"] == subscription]
        return next(t for t in subscriptions[0]["tracks"] if t["kind"] == "video").get("spatialLayer") if subscriptions else None

    location = f.js("return await window.whip.subscribe(arguments[0], arguments[1], arguments[2])", room, participant, token)
    subscription = location.rsplit("/", 1)[1]
    wait_whip_flowing(f, "video", timeout=40)

    def width() -> int | None:
        sessions = [s for s in whip_stats(f) if s["kind"] == "subscribe"]
        return (sessions[0]["inbound"].get("video") or {}).get("frameWidth") if sessions else None
    widths = {}
    for spatial in (0, 2):
        response = requests.post(f"{chorus.base_url}/api/rooms/{room}/subscriptions/{subscription}/layers",
                                 json={"spatial": spatial}, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert response.status_code == 200, response.text
        state = response.json()
        target = next(t for t in state["tracks"] if t["kind"] == "video")["targetSpatialLayer"]
        assert target == spatial, state
        wait_until(lambda: forwarded_layer(subscription) == spatial, 30, f"Chorus never switched to layer {spatial}")
        wait_whip_flowing(f, "video", timeout=30)
        wait_until(lambda: width() is not None, 10, "no decoded width")
        widths[spatial] = width()
    print(f"\nFirefox simulcast: subscriber widths by layer {widths}")
    assert widths[0] < widths[2], f"layer 0 decodes smaller than layer 2: {widths}"
