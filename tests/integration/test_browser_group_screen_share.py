"""Screen share in a group call on Chorus's web page (issue 14): two headless Chromiums; A
publishes its camera (simulcast h/f) and, from the page's "Share screen" button, its screen
(getDisplayMedia; Chromium's fake screen with --use-fake-ui-for-media-stream, no picker), a second
video m-line that A's `sfu-offer` names in `screenShare`.

1. Chorus knows the source: room state shows A's tracks as microphone, camera and screen, and
   what B receives of them with the same sources; B's page shows the screen share in a tile of
   its own and decodes it (and A's page shows A what it shares).
2. Issue 14's priority: B's downlink capped (in a network namespace of the test's own, as in
   test_browser_group_simulcast.py) to about what A's audio and screen share need, which leaves
   no room for A's camera beside them. The allocator serves the screen share first: the camera
   is paused (or held below the layer B asks for) while B's screen consumer keeps forwarding
   (its packetsOut grows, B decodes it, it is pausedForBandwidth in at most a fifth of the room
   state samples), and never the camera flowing with the screen share paused.
3. Stopping the share (the button again) takes the track away: room state no longer lists it
   and B's screen tile goes.

Assertions are on Chorus's room state and counters and the events B got, never on how fast."""

from __future__ import annotations

import time
from typing import Any

import requests

from browser import Browser, browsers, inbound, record_timing, tone_wav, wait_until
from conftest import ChorusServer, artifacts_dir
from netns import netns, skip_on_postgres_pass
from test_browser_group_simulcast import namespaced, start_call, user

import pytest

pytestmark = [pytest.mark.browser]

__all__ = ["browsers", "netns", "namespaced"]  # fixtures, imported for pytest

# How long the capped downlink is watched: within Chorus's first binding of B's estimate. It
# binds the allocation from the first congestion it sees (right after the cap) until 10 s after
# the last; then it lets everything try again (docs/API.md, **Bandwidth**): the camera resumes,
# overloads the link, the estimate falls sharply, and how far it falls decides what the next
# pauses take. The priority is what the allocator does with one estimate, so it is watched here.
WATCH_SECONDS = 9
# Bitrates are measured over this long before the cap.
MEASURE_SECONDS = 5
# A router's buffer in front of B's capped port: ~50 packets (about a second at the cap), so that
# a screen share's keyframe (tens of packets at once) is queued, not dropped, and an overshoot
# of the estimate (a probe) shows as delay before it shows as loss.
QUEUE_PACKETS = 50


def room_state(server: ChorusServer, call_id: str, who: str) -> dict[str, Any]:
    token = server.token(who, "*", publish=True, subscribe=True)
    answer = requests.get(f"{server.base_url}/api/rooms/{call_id}", timeout=10, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def participant(state: dict[str, Any], identity: str) -> dict[str, Any]:
    return next(p for p in state["participants"] if p["identity"] == identity)


def receiving(state: dict[str, Any], identity: str, source: str) -> dict[str, Any] | None:
    """What `identity` receives on its own transport of the track with this source (video)."""
    return next((c for c in participant(state, identity)["receiving"] if c["kind"] == "video" and c["source"] == source), None)


def screen_frames(page: Browser) -> int:
    return sum(int(s["framesDecoded"] or 0) for s in inbound(page.stats(), "video") if s.get("source") == "screen")


@skip_on_postgres_pass
def test_a_screen_share_keeps_flowing_when_the_camera_beside_it_does_not_fit(namespaced, browsers) -> None:
    network, server, origin, toward_clients = namespaced
    names = {"a": user("alice"), "b": user("bob")}
    silence = tone_wav(artifacts_dir() / "gshare-silence.wav", amplitude=0)
    call_id, pages = start_call(server, browsers, names, {key: silence for key in names}, origin=origin)
    a, b = pages["a"], pages["b"]
    a_id, b_id = names["a"], names["b"]

    # 1. A shares its screen with the page's button.
    a.driver.find_element("id", "btn-screen").click()
    wait_until(lambda: a.state()["screenSharing"] is True, 10, lambda: f"A does not share: {a.logs_text()}")
    assert any(t["screen"] and t["self"] for t in a.state()["tiles"]), f"A does not show what it shares: {a.state()['tiles']}"
    wait_until(lambda: any(t["screen"] and t["userId"] == a_id for t in b.state()["tiles"]), 30,
               lambda: f"B shows no screen tile of A: {b.state()['tiles']}; {b.logs_text()}")
    first = screen_frames(b)
    wait_until(lambda: screen_frames(b) > first + 10, 30, lambda: f"B decodes no screen share: {b.stats()['inbound']}")
    b.screenshot(artifacts_dir() / "group-screen-share-b.png")  # the layout, for a person to look at
    state = room_state(server, call_id, a_id)
    tracks = participant(state, a_id)["tracks"]
    assert sorted((t["kind"], t["source"]) for t in tracks) == [("audio", "microphone"), ("video", "camera"), ("video", "screen")], tracks
    screen_track = next(t for t in tracks if t["source"] == "screen")
    camera_track = next(t for t in tracks if t["source"] == "camera")
    screen_in, camera_in = receiving(state, b_id, "screen"), receiving(state, b_id, "camera")
    assert screen_in and screen_in["producerId"] == screen_track["id"], participant(state, b_id)["receiving"]
    assert camera_in and camera_in["producerId"] == camera_track["id"]

    # What A sends: its audio (silence: little, with DTX), the screen share and the camera's
    # layers, over a few seconds.
    def bytes_in() -> tuple[int, int, list[int]]:
        tracks = participant(room_state(server, call_id, a_id), a_id)["tracks"]
        audio = next(t for t in tracks if t["source"] == "microphone")
        screen = next(t for t in tracks if t["source"] == "screen")
        camera = next(t for t in tracks if t["source"] == "camera")
        return audio["bytesIn"], screen["bytesIn"], [layer["bytesIn"] for layer in camera["layers"]]
    start_audio, start_screen, start_layers = bytes_in()
    time.sleep(MEASURE_SECONDS)
    end_audio, end_screen, end_layers = bytes_in()
    def kbit(start: int, end: int) -> float:
        return (end - start) * 8 / MEASURE_SECONDS / 1000
    audio_kbit, screen_kbit = kbit(start_audio, end_audio), kbit(start_screen, end_screen)
    layer_kbit = [kbit(s, e) for s, e in zip(start_layers, end_layers)]
    camera_low_kbit = min(k for k in layer_kbit if k > 0)
    # Room for A's audio and screen share with some to spare (packet headers, keyframes,
    # retransmissions), not for the camera's lowest layer beside them: resuming it needs that
    # layer and 15 % more, well above the cap even when the estimate overshoots it a little.
    cap_kbit = int(audio_kbit + screen_kbit * 1.1 + camera_low_kbit * 0.4 + 10)

    pair = b.stats()["pair"]
    b_port = int(pair["localAddress"].rsplit(":", 1)[1])
    network.rate(cap_kbit, port=b_port, device=toward_clients, direction="dport")
    classid = network.network.rate_classes[network.name][-1]
    network.run(["tc", "qdisc", "add", "dev", toward_clients, "parent", classid, "pfifo", "limit", str(QUEUE_PACKETS)])
    capped_at, capped_wall = time.monotonic(), time.time()
    top = len(camera_track["layers"]) - 1
    # What B's tile asks of A's camera (`sfu-layers`): giving way is going below that, or a pause.
    asked = min(top, b.state()["layers"].get(a_id, top))
    samples: list[dict[str, Any]] = []

    def sample() -> dict[str, Any]:
        """B's two videos of A in room state now, kept in `samples`."""
        me = participant(room_state(server, call_id, b_id), b_id)
        screen = next(c for c in me["receiving"] if c["kind"] == "video" and c["source"] == "screen")
        camera = next(c for c in me["receiving"] if c["kind"] == "video" and c["source"] == "camera")
        samples.append({"screenPaused": screen["pausedForBandwidth"], "cameraPaused": camera["pausedForBandwidth"],
                        "cameraTarget": camera["targetSpatialLayer"], "estimate": me.get("availableBitrate")})
        return samples[-1]

    try:
        # 2. The camera gives way (paused, or held below the layer B asks for); the screen share
        # does not.
        frames_before = screen_frames(b)
        packets_before = receiving(room_state(server, call_id, b_id), b_id, "screen")["packetsOut"]
        while time.monotonic() - capped_at < WATCH_SECONDS:
            sample()
            time.sleep(0.4)
        screen_after = receiving(room_state(server, call_id, b_id), b_id, "screen")
        frames_after = screen_frames(b)
        pauses = [e["data"] for e in b.events("stream-paused")]
        bottleneck = network.qdisc_stats(toward_clients)
    finally:
        network.uncap(toward_clients)

    screen_pauses = [p for p in pauses if p.get("source") == "screen"]
    camera_pauses = [p for p in pauses if p.get("source") == "camera"]
    gave_way = next((i for i, s in enumerate(samples) if s["cameraPaused"] or s["cameraTarget"] < asked), None)
    result = {"events": [(e["event"], e["data"].get("source"), round(e["at"] / 1000 - capped_wall, 1))
                         for e in b.events() if e["event"] in ("stream-paused", "stream-resumed")],
              "audio_kbit": round(audio_kbit), "screen_kbit": round(screen_kbit), "camera_layer_asked": asked, "camera_layers_kbit": [round(k) for k in layer_kbit], "cap_kbit": cap_kbit,
              "camera_gave_way_at_sample": gave_way,
              "samples": samples, "screen_frames_decoded_while_watched": frames_after - frames_before,
              "screen_packets_forwarded_while_watched": screen_after["packetsOut"] - packets_before,
              "camera_pauses": len(camera_pauses), "screen_pauses": len(screen_pauses)}
    print(f"\nscreen share under B's capped downlink: {result}\n  bottleneck: {' '.join(bottleneck.split())}")
    record_timing("group_screen_share_capped_downlink", result)
    assert gave_way is not None, f"B's camera consumer of A did not give way under {cap_kbit} kbit/s: {result}"
    # The priority itself: never the camera flowing while the screen share is paused. The screen
    # share flows through nearly all of the watch; a brief pause of it too is allowed (with the
    # camera paused as well), because an estimate that dives below the screen share alone (a
    # probe's overshoot, a keyframe in a full queue) pauses everything, as it should (1 run in 11
    # on the shared machine, between two samples).
    assert not any(s["screenPaused"] and not s["cameraPaused"] for s in samples), f"the screen share was paused while the camera flowed: {result}"
    flowing = sum(not s["screenPaused"] for s in samples)
    assert flowing >= 0.8 * len(samples), f"the screen share was paused for B in {len(samples) - flowing} of {len(samples)} samples: {result}"
    if any(s["cameraPaused"] for s in samples):
        assert camera_pauses and camera_pauses[0]["trackId"] == camera_track["id"], f"B was not told its camera of A paused: {pauses}"
    assert len(screen_pauses) <= len(camera_pauses), f"B was told its screen share paused more often than its camera: {result}"
    assert screen_after["packetsOut"] > packets_before, f"Chorus stopped forwarding the screen share to B: {result}"
    assert frames_after > frames_before, f"B stopped decoding the screen share: {result}"

    # 3. A stops sharing: the track goes from the room and from B's page.
    a.driver.find_element("id", "btn-screen").click()
    wait_until(lambda: not any(t["source"] == "screen" for t in participant(room_state(server, call_id, a_id), a_id)["tracks"]), 20,
               lambda: f"A's screen track is still in the room: {participant(room_state(server, call_id, a_id), a_id)['tracks']}")
    wait_until(lambda: not any(t["screen"] for t in b.state()["tiles"]), 20, lambda: f"B still shows a screen tile: {b.state()['tiles']}")
    assert a.state()["screenSharing"] is False and not any(t["screen"] for t in a.state()["tiles"]), a.state()["tiles"]
    for page in pages.values():
        page.hook("leave")
