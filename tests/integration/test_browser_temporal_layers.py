"""VP8 temporal layers from a real browser (issue 14): a headless Chromium publishes its camera over
WHIP as VP8 with three temporal layers (scalabilityMode "L1T3"), another receives it over WHEP,
and the layer API caps the subscription to temporal layer 0, then lifts the cap. While capped
the server drops the upper layers (temporal_layer drops grow) and the subscriber decodes clearly
fewer frames per second without freezing; once lifted the drops stop and the rate comes back.
Rates and drops are written to artifacts/integration/browser-timings.json; no wall-clock
performance is asserted."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from browser import browsers, metric_value, open_whip_pages, record_timing, wait_until, wait_whip_flowing, whip_stats

pytestmark = [pytest.mark.browser]

__all__ = ["browsers"]  # fixture, imported for pytest

DROPS = ("chorus_packets_dropped_total", 'reason="temporal_layer"')


def publisher_video(browser) -> dict:
    sessions = [s for s in whip_stats(browser) if s["kind"] == "publish"]
    return (sessions[0]["outbound"].get("video") or {}) if sessions else {}


def subscriber_media(browser) -> dict:
    sessions = [s for s in browser.js("return await window.whip.mediaStats()") if s["kind"] == "subscribe"]
    return (sessions[0]["inbound"].get("video") or {}) if sessions else {}


def frame_rate(browser, seconds: float) -> tuple[float, int, int, dict]:
    """Frames the subscriber decoded per second over `seconds`, the freezes it counted, the NACKs
    it sent (a gap in the sequence numbers would show there), and other counters' growth."""
    before, started = subscriber_media(browser), time.monotonic()
    time.sleep(seconds)
    after, elapsed = subscriber_media(browser), time.monotonic() - started

    def grown(name: str) -> int:
        return (after.get(name) or 0) - (before.get(name) or 0)

    other = {name: grown(name) for name in ("packetsReceived", "pliCount", "keyFramesDecoded", "framesDropped")}
    return grown("framesDecoded") / elapsed, grown("freezeCount"), grown("nackCount"), other


def test_whep_subscriber_capped_to_temporal_layer_0_decodes_fewer_frames(chorus, browsers) -> None:
    identity = f"@temporal-{uuid.uuid4().hex[:8]}:example.org"
    room = f"temporal-{uuid.uuid4().hex[:8]}"
    token = chorus.token(identity, room, publish=True, subscribe=True)
    headers = {"Authorization": f"Bearer {token}"}
    publisher, subscriber = open_whip_pages(chorus, browsers, identity, ["temporal-pub", "temporal-sub"])

    participant = publisher.js(
        "return await window.whip.publish(arguments[0], arguments[1], null, {scalabilityMode: 'L1T3'})", room, token)
    wait_until(lambda: (publisher_video(publisher).get("framesEncoded") or 0) > 30, 30,
               lambda: f"publisher: {publisher_video(publisher)}")
    assert publisher_video(publisher).get("scalabilityMode") == "L1T3", publisher_video(publisher)

    location = subscriber.js(
        "return await window.whip.subscribe(arguments[0], arguments[1], arguments[2])", room, participant, token)
    subscription = location.rsplit("/", 1)[1]
    layers_url = f"{chorus.base_url}/api/rooms/{room}/subscriptions/{subscription}/layers"
    wait_whip_flowing(subscriber, "video", timeout=40)

    def consumer() -> dict:
        state = requests.get(f"{chorus.base_url}/api/rooms/{room}", headers=headers, timeout=10).json()
        subscriptions = [s for p in state["participants"] for s in p.get("subscriptions", [])]
        return next(t for s in subscriptions for t in s["tracks"] if t["kind"] == "video")

    time.sleep(2)  # past the start's keyframe and the encoder's ramp-up
    full, full_freezes, full_nacks, full_other = frame_rate(subscriber, 5)

    response = requests.post(layers_url, json={"spatial": 0, "temporal": 0}, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    wait_until(lambda: consumer().get("forwardedTemporalLayer") == 0, 10, lambda: f"consumer: {consumer()}")
    time.sleep(1)
    drops_before = metric_value(chorus.base_url, *DROPS)
    capped, capped_freezes, capped_nacks, capped_other = frame_rate(subscriber, 5)
    drops_capped = metric_value(chorus.base_url, *DROPS) - drops_before
    capped_state = consumer()

    response = requests.post(layers_url, json={"spatial": 0}, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    wait_until(lambda: consumer().get("forwardedTemporalLayer") is None, 10, lambda: f"consumer: {consumer()}")
    time.sleep(1)
    drops_before = metric_value(chorus.base_url, *DROPS)
    lifted, lifted_freezes, lifted_nacks, lifted_other = frame_rate(subscriber, 5)
    drops_lifted = metric_value(chorus.base_url, *DROPS) - drops_before

    numbers = {
        "framesPerSecond": {"full": round(full, 1), "capped": round(capped, 1), "lifted": round(lifted, 1)},
        "freezes": {"full": full_freezes, "capped": capped_freezes, "lifted": lifted_freezes},
        "nacks": {"full": full_nacks, "capped": capped_nacks, "lifted": lifted_nacks},
        "subscriber": {"full": full_other, "capped": capped_other, "lifted": lifted_other},
        "consumerAfter": {k: v for k, v in consumer().items() if k not in ("id", "kind", "mid", "ssrc")},
        "temporalLayerDrops": {"capped": drops_capped, "lifted": drops_lifted,
                               "consumer": capped_state.get("packetsDroppedTemporalLayer")},
    }
    record_timing("vp8_temporal_layers", numbers)
    print(f"vp8 temporal layers: {numbers}")

    assert drops_capped > 0, f"Chorus dropped nothing above TID 0 (no TIDs from Chromium?): {numbers}"
    assert capped_state["temporalLayer"] == 0 and capped_state["packetsDroppedTemporalLayer"] > 0, capped_state
    assert drops_lifted == 0, f"drops went on after the cap was lifted: {numbers}"
    # L1T3's base layer is a quarter of the frames; loosely, to leave room for the machine's load.
    assert capped < 0.7 * full, numbers
    assert lifted > 1.3 * capped, numbers
    # No gaps in sequence numbers or picture IDs: the subscriber asks for nothing (on loopback,
    # where nothing is lost) and its decoder waits for nothing.
    assert capped_nacks <= 2, numbers
    assert capped_freezes + lifted_freezes <= 1, numbers
