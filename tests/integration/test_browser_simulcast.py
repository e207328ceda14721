"""Simulcast from a real browser (issue 14, test 2): a headless Chromium publishes its camera over
WHIP in three encodings (rid q/h/f: 320, 640 and 1280 wide), another receives it over WHEP, and
the layer API forces the subscription to layer 0, 2, then 1. Each choice must show as the width
the subscriber decodes (getStats frameWidth), with the stream never stalling. Freeze counts
across the switches are reported (artifacts/integration/browser-timings.json), not asserted:
this machine's load decides them as much as Chorus does."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from browser import browsers, open_whip_pages, record_timing, wait_until, wait_whip_flowing, whep_video, whip_stats

pytestmark = [pytest.mark.browser]

__all__ = ["browsers"]  # fixture, imported for pytest

WIDTHS = {0: 320, 1: 640, 2: 1280}


def publisher_layers(browser) -> dict:
    sessions = [s for s in whip_stats(browser) if s["kind"] == "publish"]
    return ((sessions[0]["outbound"].get("video") or {}).get("layers") or {}) if sessions else {}


def test_whep_subscriber_forced_to_each_layer_decodes_its_width(chorus, browsers) -> None:
    identity = f"@sim-{uuid.uuid4().hex[:8]}:example.org"
    room = f"simulcast-{uuid.uuid4().hex[:8]}"
    token = chorus.token(identity, room, publish=True, subscribe=True)
    publisher, subscriber = open_whip_pages(chorus, browsers, identity, ["simulcast-pub", "simulcast-sub"])

    participant = publisher.js(
        "return await window.whip.publish(arguments[0], arguments[1], null, {simulcast: true})", room, token)
    # Chromium enables its upper encodings as its bandwidth estimate (fed by Chorus's
    # transport-cc feedback) grows: wait until all three are sent at their sizes.
    wait_until(
        lambda: all((publisher_layers(publisher).get(rid) or {}).get("frameWidth") == WIDTHS[i] for i, rid in enumerate("qhf")),
        60, lambda: f"publisher layers: {publisher_layers(publisher)}")
    state = requests.get(f"{chorus.base_url}/api/rooms/{room}", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
    video = next(t for t in state["participants"][0]["tracks"] if t["kind"] == "video")
    assert [layer.get("rid") for layer in video["layers"]] == ["q", "h", "f"], video
    assert all(layer.get("ssrc") and layer["packetsIn"] > 0 for layer in video["layers"]), video

    location = subscriber.js(
        "return await window.whip.subscribe(arguments[0], arguments[1], arguments[2])", room, participant, token)
    subscription = location.rsplit("/", 1)[1]
    wait_whip_flowing(subscriber, "video", timeout=40)
    assert whep_video(subscriber)["frameWidth"] == WIDTHS[2], f"the highest layer by default: {whep_video(subscriber)}"

    switches = {}
    for spatial in (0, 2, 1):
        before = whep_video(subscriber)
        started = time.monotonic()
        response = requests.post(
            f"{chorus.base_url}/api/rooms/{room}/subscriptions/{subscription}/layers", json={"spatial": spatial},
            headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert response.status_code == 200, response.text
        wait_until(lambda: whep_video(subscriber).get("frameWidth") == WIDTHS[spatial], 30,
                   lambda: f"layer {spatial}: {whep_video(subscriber)}, room {requests.get(f'{chorus.base_url}/api/rooms/{room}', headers={'Authorization': f'Bearer {token}'}, timeout=10).text}")
        switched = time.monotonic() - started
        # Frames keep coming after the switch: the stream did not stall.
        decoded = whep_video(subscriber)["framesDecoded"]
        wait_until(lambda: whep_video(subscriber)["framesDecoded"] > decoded + 10, 20,
                   lambda: f"after the switch to layer {spatial}: {whep_video(subscriber)}")
        after = whep_video(subscriber)
        switches[str(spatial)] = {
            "seconds": round(switched, 3),
            "freezes": (after.get("freezeCount") or 0) - (before.get("freezeCount") or 0),
            "freezeSeconds": round((after.get("totalFreezesDuration") or 0) - (before.get("totalFreezesDuration") or 0), 3),
        }
    record_timing("simulcast_layer_switches", switches)
    print(f"simulcast layer switches: {switches}")
