"""A group call of three real Chromiums on Chorus's web page, through the SFU: each browser has
one RTCPeerConnection to the SFU (sfu-offer/sfu-answer) and decodes the other two's video and
audio; a self video mute stops A's frames at the others while A's audio flows; an admin's
mute-participant locks B's microphone (B's unmute is refused with muted_by_admin and B's audio
stops reaching A and C); C leaves and its tracks and transport go away. Also measures the time
from B's join to B's first decoded remote frame (artifacts/integration/browser-timings.json)."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from browser import (
    Browser,
    browsers,
    inbound,
    page_url,
    record_timing,
    require_page,
    tone_wav,
    wait_flowing,
    wait_until,
    web_dev_server,
)
from conftest import ChorusServer, artifacts_dir
from room_state import MuteWatch

pytestmark = pytest.mark.browser

__all__ = ["browsers"]  # the fixture, imported for pytest


def user(name: str) -> str:
    return f"@{name}-{uuid.uuid4().hex[:8]}:example.org"


def assert_not_forwarded(chorus: ChorusServer, token: str, call_id: str, sender: str, kind: str) -> None:
    """The SFU forwards none of the sender's muted track while the browser keeps sending it
    (asked of the server's counters: a busy machine's decoders may lag behind the mute)."""
    def fetch() -> dict:
        response = requests.get(f"{chorus.base_url}/api/rooms/{call_id}", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()
    MuteWatch(fetch, sender, kind).wait()


def first_frame_ms(browser: Browser, join_started: float, timeout: float = 30) -> dict[str, float]:
    """Polls B's stats every 50 ms until a remote video frame is decoded; also reads the page's
    own measure (join() to the first requestVideoFrameCallback of a remote tile)."""
    def decoded() -> bool:
        return any((s["framesDecoded"] or 0) > 0 for s in inbound(browser.stats(), "video"))
    wait_until(decoded, timeout, lambda: f"{browser.name}: no remote frame decoded; {browser.logs_text()}", interval=0.05)
    polled = (time.monotonic() - join_started) * 1000
    timings = wait_until(lambda: (browser.state()["timings"] or {}).get("firstRemoteFrame") and browser.state()["timings"],
                         10, f"{browser.name}: the page recorded no first remote frame")
    return {"polled_stats_ms": round(polled), "page_ms": timings["firstRemoteFrame"] - timings["joinStarted"]}


def test_group_call_three_browsers(chorus: ChorusServer, browsers) -> None:
    static = web_dev_server()
    try:
        require_page(chorus, static)
        ids = {"a": user("alice"), "b": user("bob"), "c": user("carol")}
        a_id, b_id, c_id = ids["a"], ids["b"], ids["c"]
        tokens = {k: chorus.token(v, "*", publish=True, subscribe=True, admin=(k == "a")) for k, v in ids.items()}
        # A talks (a tone on its fake microphone); B and C have the fake device's short beeps.
        tone = tone_wav(artifacts_dir() / "group-a-tone.wav")
        a = browsers("group-a", [f"--use-file-for-fake-audio-capture={tone}"])
        b, c = browsers("group-b"), browsers("group-c")
        for key, browser in (("a", a), ("b", b), ("c", c)):
            browser.open(page_url(chorus, tokens[key], static=static))
        for browser in (a, b, c):
            browser.wait_ready()
        assert a.state()["admin"] is True and b.state()["admin"] is False

        # A starts the call and gets its media session up before anyone joins.
        call_id = a.hook("startGroupCall", [b_id, c_id])
        wait_until(lambda: a.state()["connectionState"] == "connected", 30,
                   lambda: f"A's pc to the SFU is {a.state()['connectionState']}; {a.logs_text()}")
        for browser in (b, c):
            incoming = browser.wait_event("incoming-call", lambda d: d["callId"] == call_id)
            assert incoming["isGroupCall"] is True and incoming["from"] == a_id

        # B joins: time to its first decoded frame (of A), then C joins.
        join_started = time.monotonic()
        b.hook("join", call_id)
        timing = first_frame_ms(b, join_started)
        print(f"join-to-first-frame (B): {timing}")
        record_timing("group_join_to_first_frame", timing)
        c.hook("join", call_id)

        everyone = {"a": (a, a_id), "b": (b, b_id), "c": (c, c_id)}
        for key, (browser, me) in everyone.items():
            others = [uid for k, (_, uid) in everyone.items() if k != key]
            wait_until(lambda: browser.state()["connectionState"] == "connected", 30,
                       lambda: f"{browser.name}: pc {browser.state()['connectionState']}; {browser.logs_text()}")
            wait_flowing(browser, "video", others, timeout=40)
            wait_flowing(browser, "audio", others, timeout=20)
            video = inbound(browser.stats(), "video")
            assert sorted(s["userId"] for s in video) == sorted(others), video
            wait_until(lambda: sorted(t["userId"] for t in browser.state()["tiles"] if t["hasVideo"]) == sorted([me, *others]),
                       10, lambda: f"{browser.name}: tiles {browser.state()['tiles']}")

        # Chorus names A the active speaker (from the audio levels Chromium sends); B's and C's
        # pages highlight A's tile.
        for browser in (b, c):
            speaker = browser.wait_event("active-speaker", lambda d: d["callId"] == call_id and d.get("userId") == a_id)
            assert speaker["userId"] == a_id
            wait_until(lambda: [e.get_attribute("data-user") for e in browser.driver.find_elements("css selector", ".tile.speaking")] == [a_id],
                       10, lambda: f"{browser.name}: highlighted tiles "
                                   f"{[e.get_attribute('data-user') for e in browser.driver.find_elements('css selector', '.tile.speaking')]}")

        # A turns its camera off: the SFU stops A's video at B and C; A's audio still flows.
        a.hook("toggleVideo", False)
        for browser in (b, c):
            toggled = browser.wait_event("video-toggled", lambda d: d["callId"] == call_id and d["userId"] == a_id)
            assert toggled["enabled"] is False
        assert_not_forwarded(chorus, tokens["a"], call_id, a_id, "video")
        for browser in (b, c):
            wait_flowing(browser, "audio", [a_id], timeout=10)
            tile = next(t for t in browser.state()["tiles"] if t["userId"] == a_id)
            assert tile["videoMuted"] and not tile["hasVideo"], tile
        a.hook("toggleVideo", True)
        for browser in (b, c):
            wait_flowing(browser, "video", [a_id], timeout=20)

        # Admin A mutes B's microphone: B may not unmute, and nobody hears B.
        a.hook("muteParticipant", b_id, "audio", True)
        for browser in (b, c):
            muted = browser.wait_event("audio-toggled", lambda d: d["callId"] == call_id and d["userId"] == b_id)
            assert muted["enabled"] is False and muted.get("byAdmin") is True and muted.get("from") == a_id, muted
        wait_until(lambda: b.state()["audioLocked"] is True and b.state()["audioEnabled"] is False, 5,
                   lambda: f"B's page does not show the admin mute: {b.state()}")
        b.hook("toggleAudio", True)
        refused = b.wait_event("error", lambda d: d.get("code") == "muted_by_admin")
        assert refused.get("event") == "toggle-audio" and refused.get("callId") == call_id, refused
        assert b.state()["audioEnabled"] is False, "B's microphone button was not reverted"
        tile_of_b = next(t for t in c.state()["tiles"] if t["userId"] == b_id)
        assert tile_of_b["audioMuted"] and tile_of_b["audioLocked"], tile_of_b
        grid = a.driver.find_element("id", "grid")
        grid.screenshot(str(artifacts_dir() / "group-call-grid.png"))
        a.screenshot(artifacts_dir() / "group-call-page.png")
        assert_not_forwarded(chorus, tokens["a"], call_id, b_id, "audio")
        for browser in (a, c):  # B's video is untouched by the audio mute
            wait_flowing(browser, "video", [b_id], timeout=10)

        # C leaves: A and B lose C's tracks and tile; the SFU room keeps A and B only.
        c.hook("leave")
        for browser in (a, b):
            left = browser.wait_event("user-left", lambda d: d["callId"] == call_id and d["userId"] == c_id)
            assert left["from"] == c_id
            wait_until(lambda: not inbound(browser.stats(), "video", c_id) and not inbound(browser.stats(), "audio", c_id), 15,
                       lambda: f"{browser.name}: still a live inbound track of C: "
                               f"{[s for s in browser.stats()['inbound'] if s['userId'] == c_id]}")
            assert c_id not in [t["userId"] for t in browser.state()["tiles"]]
        wait_flowing(a, "video", [b_id], timeout=10)
        wait_flowing(b, "video", [a_id], timeout=10)

        def room() -> dict:
            response = requests.get(f"{chorus.base_url}/api/rooms/{call_id}",
                                    headers={"Authorization": f"Bearer {tokens['a']}"}, timeout=10)
            assert response.status_code == 200, response.text
            return response.json()
        wait_until(lambda: len(room()["participants"]) == 2, 10, lambda: f"room still has {room()['participants']}")
        identities = sorted(p["identity"] for p in room()["participants"])
        assert identities == sorted([a_id, b_id]), room()
        assert c.state()["callId"] is None

        a.hook("leave")
        b.hook("leave")
    finally:
        if static is not None:
            static.close()


def test_group_rejoin_after_reload_with_real_clicks(chorus: ChorusServer, browsers) -> None:
    """B reloads the page in a call (protocol step 9): the lobby lists the call, B clicks Rejoin,
    its new RTCPeerConnection replaces the old transport (one media session per user), media
    flows both ways again, and B's microphone button sends toggle-audio."""
    static = web_dev_server()
    try:
        require_page(chorus, static)
        a_id, b_id = user("alice"), user("bob")
        a_token = chorus.token(a_id, "*", publish=True, subscribe=True, admin=True)
        b_token = chorus.token(b_id, "*", publish=True, subscribe=True)
        a, b = browsers("rejoin-a"), browsers("rejoin-b")
        a.open(page_url(chorus, a_token, static=static))
        b.open(page_url(chorus, b_token, static=static))
        a.wait_ready()
        b.wait_ready()
        call_id = a.hook("startGroupCall", [b_id])
        b.wait_event("incoming-call", lambda d: d["callId"] == call_id)
        # The incoming-call toast's Join button.
        b.driver.find_element("css selector", ".toast.call button.primary").click()
        wait_until(lambda: b.state()["callId"] == call_id, 10, "B's Join click did not join")
        wait_flowing(a, "video", [b_id], timeout=40)
        wait_flowing(b, "video", [a_id], timeout=40)

        b.driver.refresh()
        b.wait_ready()
        assert b.state()["callId"] is None and b.state()["user"] == b_id  # token kept in sessionStorage
        rejoin = f"#call-list li[data-call-id='{call_id}'] button.primary"
        wait_until(lambda: b.driver.find_elements("css selector", rejoin), 10,
                   lambda: "B's lobby does not list the call: " + b.js("return document.getElementById('call-list').innerText"))
        b.driver.find_element("css selector", rejoin).click()
        wait_until(lambda: b.state()["connectionState"] == "connected", 30,
                   lambda: f"B's new pc is {b.state()['connectionState']}; {b.logs_text()}")
        wait_flowing(b, "video", [a_id], timeout=30)
        wait_flowing(a, "video", [b_id], timeout=30)
        wait_until(lambda: len(inbound(a.stats(), "video", b_id)) == 1, 15,
                   lambda: f"A has {len(inbound(a.stats(), 'video', b_id))} live video streams of B")

        response = requests.get(f"{chorus.base_url}/api/rooms/{call_id}", headers={"Authorization": f"Bearer {a_token}"}, timeout=10)
        assert response.status_code == 200, response.text
        assert sorted(p["identity"] for p in response.json()["participants"]) == sorted([a_id, b_id]), response.json()

        b.driver.find_element("id", "btn-mic").click()
        toggled = a.wait_event("audio-toggled", lambda d: d["callId"] == call_id and d["userId"] == b_id)
        assert toggled["enabled"] is False
        assert b.driver.find_element("id", "btn-mic").get_attribute("aria-pressed") == "true"
        b.driver.find_element("id", "btn-leave").click()
        a.wait_event("user-left", lambda d: d["callId"] == call_id and d["userId"] == b_id)
        a.hook("leave")
    finally:
        if static is not None:
            static.close()
