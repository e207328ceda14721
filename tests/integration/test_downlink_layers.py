"""Simulcast and each subscriber's own downlink (issue 14, test 1): a headless Chromium publishes
its camera in three encodings (320, 640 and 1280 wide) over WHIP, two Chromium subscribers
receive it over WHEP, all in a network namespace apart from Chorus's. One subscriber's downlink is
then capped at 400 kbit/s (an htb class for its port on Chorus's end of the link): Chorus's estimate of that downlink
(its transport-cc feedback) falls and the allocator moves it to the low layer, while the other
keeps the high one. Lifting the cap lets probing find the room again, and the high layer comes
back. What is asserted is what the subscribers decoded (getStats frameWidth) and what Chorus
reports (targetSpatialLayer, availableBitrate); switch times and freezes are printed and written
to artifacts/integration/, not asserted: the machine's load decides them as much as Chorus."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
import requests

from browser import Browser, browsers, install_whip_client, wait_until, wait_whip_flowing, whip_stats
from conftest import artifacts_dir
from netns import PortForwarder, netns, skip_on_postgres_pass
from test_network_quality import local_port, serve

pytestmark = [pytest.mark.browser, skip_on_postgres_pass]

__all__ = ["browsers", "netns", "serve"]  # fixtures, imported for pytest

WIDTHS = {0: 320, 1: 640, 2: 1280}
CAP_KBIT = 400
SWITCH_TIMEOUT = 45
RECOVERY_TIMEOUT = 90


def video_in(browser: Browser) -> dict[str, Any]:
    sessions = [s for s in whip_stats(browser) if s["kind"] == "subscribe"]
    return (sessions[0]["inbound"].get("video") or {}) if sessions else {}


def publisher_layers(browser: Browser) -> dict[str, Any]:
    sessions = [s for s in whip_stats(browser) if s["kind"] == "publish"]
    return ((sessions[0]["outbound"].get("video") or {}).get("layers") or {}) if sessions else {}


def subscription_state(base_url: str, room: str, token: str, subscription: str) -> dict[str, Any]:
    state = requests.get(f"{base_url}/api/rooms/{room}", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
    for participant in state["participants"]:
        for sub in participant["subscriptions"]:
            if sub["id"] == subscription:
                return sub
    raise AssertionError(f"no subscription {subscription} in {state}")


def freezes(after: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    return {
        "freezes": (after.get("freezeCount") or 0) - (before.get("freezeCount") or 0),
        "freezeSeconds": round((after.get("totalFreezesDuration") or 0) - (before.get("totalFreezesDuration") or 0), 3),
    }


def test_a_capped_downlink_gets_the_low_layer_and_the_high_one_comes_back(netns, serve, browsers) -> None:
    clients, server = netns.namespace("dlcli"), netns.namespace("dlsrv")
    _, server_address = netns.link(clients, server)
    toward_clients = netns.links[-1].device_b  # Chorus's end of the link: what the subscribers receive
    with server.entered():
        chorus = serve("downlink-layers", host=server_address)
    clients.enter()

    identity = f"@dl-{uuid.uuid4().hex[:6]}:example.org"
    room = f"downlink-{uuid.uuid4().hex[:8]}"
    token = chorus.token(identity, room, publish=True, subscribe=True)
    forwarder = PortForwarder((server_address, chorus.http_port))
    pages: dict[str, Browser] = {}
    try:
        for name in ("publisher", "open", "capped"):
            page = browsers(f"downlink-{name}")
            page.open(f"http://127.0.0.1:{forwarder.port}/healthz")
            install_whip_client(page)
            pages[name] = page

        participant = pages["publisher"].js(
            "return await window.whip.publish(arguments[0], arguments[1], null, {simulcast: true})", room, token)
        wait_until(
            lambda: all((publisher_layers(pages["publisher"]).get(rid) or {}).get("frameWidth") == WIDTHS[i]
                        for i, rid in enumerate("qhf")),
            60, lambda: f"publisher layers: {publisher_layers(pages['publisher'])}")

        subscriptions = {}
        for name in ("open", "capped"):
            location = pages[name].js(
                "return await window.whip.subscribe(arguments[0], arguments[1], arguments[2])", room, participant, token)
            subscriptions[name] = location.rsplit("/", 1)[1]
            wait_whip_flowing(pages[name], "video", timeout=40)
        # Settled: both estimates exist (a second of feedback) and both decode the high layer.
        # A young estimate on a loaded machine may dip and be probed back up: wait that out.
        for name in ("open", "capped"):
            wait_until(lambda: subscription_state(chorus.base_url, room, token, subscriptions[name]).get("availableBitrate"),
                       20, f"{name}: no downlink estimate")
        time.sleep(3)
        for name in ("open", "capped"):
            wait_until(lambda: video_in(pages[name]).get("frameWidth") == WIDTHS[2], 60,
                       lambda: f"{name}: the highest layer while nothing limits it: {video_in(pages[name])}; Chorus: "
                               f"{subscription_state(chorus.base_url, room, token, subscriptions[name])}", interval=1)

        report: dict[str, Any] = {"cap_kbit": CAP_KBIT}
        before = {name: video_in(pages[name]) for name in pages if name != "publisher"}
        # Only what goes to the capped subscriber's port: the other shares the link, not the cap.
        server.rate(CAP_KBIT, port=local_port(pages["capped"], "subscribe"), device=toward_clients)
        started = time.monotonic()
        wait_until(lambda: video_in(pages["capped"]).get("frameWidth") == WIDTHS[0], SWITCH_TIMEOUT,
                   lambda: f"capped subscriber: {video_in(pages['capped'])}; Chorus: "
                           f"{subscription_state(chorus.base_url, room, token, subscriptions['capped'])}")
        report["down_after_s"] = round(time.monotonic() - started, 1)
        capped_state = subscription_state(chorus.base_url, room, token, subscriptions["capped"])
        video_track = next(t for t in capped_state["tracks"] if t["kind"] == "video")
        assert video_track["targetSpatialLayer"] == 0, capped_state
        assert capped_state.get("availableBitrate") and capped_state["availableBitrate"] < 1_000_000, capped_state
        report["capped_estimate_bps"] = capped_state["availableBitrate"]
        # The capped one keeps decoding on the low layer; the open one gets the high one (the
        # same publisher's layers: the cap is the capped subscriber's alone).
        wait_whip_flowing(pages["capped"], "video", timeout=30)
        report["open_width_when_capped_switched"] = video_in(pages["open"]).get("frameWidth")
        wait_until(lambda: video_in(pages["open"]).get("frameWidth") == WIDTHS[2], 30,
                   lambda: f"open subscriber: {video_in(pages['open'])}; Chorus: "
                           f"{subscription_state(chorus.base_url, room, token, subscriptions['open'])}", interval=1)
        assert video_in(pages["capped"]).get("frameWidth") == WIDTHS[0], video_in(pages["capped"])
        report["while_capped"] = {name: freezes(video_in(pages[name]), before[name]) for name in before}
        report["bottleneck"] = " ".join(server.qdisc_stats(toward_clients).split())

        before = {name: video_in(pages[name]) for name in before}
        server.uncap(toward_clients)
        lifted = time.monotonic()
        wait_until(lambda: video_in(pages["capped"]).get("frameWidth") == WIDTHS[2], RECOVERY_TIMEOUT,
                   lambda: f"after the cap: {video_in(pages['capped'])}; Chorus: "
                           f"{subscription_state(chorus.base_url, room, token, subscriptions['capped'])}",
                   interval=1)
        report["up_after_s"] = round(time.monotonic() - lifted, 1)
        wait_whip_flowing(pages["capped"], "video", timeout=30)
        report["after_cap"] = {name: freezes(video_in(pages[name]), before[name]) for name in before}
        report["capped_estimate_after_bps"] = subscription_state(
            chorus.base_url, room, token, subscriptions["capped"]).get("availableBitrate")
    finally:
        for page in pages.values():
            try:
                page.js("return await window.whip.close()")
            except Exception as error:  # a page already gone: nothing left to close
                print(f"closing {page.name}'s sessions: {error!r}")
        server.uncap(toward_clients)
        forwarder.close()

    path = artifacts_dir() / "downlink-layers.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"\ndownlink cap {CAP_KBIT} kbit/s on one of two subscribers: {json.dumps(report)} ({path})")
