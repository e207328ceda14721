"""Reachability for browsers whose UDP is blocked (issue 13, test 4), each in a network namespace
of its own with Chorus and two headless Chromiums (netns.py):

1. All UDP dropped in the namespace (nftables, counted): both browsers join a group call through
   the web client over ICE-TCP (the answer's passive TCP candidate) and decode each other, and
   one publishes over WHIP while the other receives it over WHEP. Asserted on each browser's
   selected candidate pair (tcp, to Chorus's TCP port), its decoded frames, Chorus's
   chorus_ice_tcp_* counters, and the UDP the namespace dropped.
2. UDP dropped except between a coturn relay and Chorus, and TCP to Chorus's media port dropped
   too: the web client's SFU connection uses the ICE servers from /api/ice-servers and reaches
   Chorus through coturn over TCP (the selected pair is a relay candidate, TURN over tcp)."""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path

import pytest

from browser import (
    Browser,
    browsers,
    install_whip_client,
    metric_value,
    page_url,
    wait_flowing,
    wait_until,
    wait_whip_flowing,
    whip_stats,
)
from conftest import ChorusServer, start_server, stop_process
from coturn import start_coturn
from netns import netns, skip_on_postgres_pass, sqlite_database

pytestmark = [pytest.mark.browser, skip_on_postgres_pass]

__all__ = ["browsers", "netns"]  # fixtures, imported for pytest


def user(name: str) -> str:
    return f"@{name}-{uuid.uuid4().hex[:8]}:example.org"


def group_call(chorus: ChorusServer, a: Browser, b: Browser, a_id: str, b_id: str) -> str:
    """A starts a group call with B, B joins; returns the call id once both decode each other."""
    call_id = a.hook("startGroupCall", [b_id])
    b.wait_event("incoming-call", lambda d: d["callId"] == call_id, timeout=20)
    b.hook("join", call_id)
    for browser, other in ((a, b_id), (b, a_id)):
        wait_until(lambda: browser.state()["connectionState"] == "connected", 40,
                   lambda: f"{browser.name}: SFU connection {browser.state()['connectionState']}; {browser.logs_text()}")
        wait_flowing(browser, "video", [other], timeout=40)
        wait_flowing(browser, "audio", [other], timeout=20)
    return call_id


def open_pages(chorus: ChorusServer, browsers, names: dict[str, str]) -> dict[str, Browser]:
    opened = {}
    for key, identity in names.items():
        browser = browsers(f"{key}-{uuid.uuid4().hex[:4]}")
        browser.open(page_url(chorus, chorus.token(identity, "*", publish=True, subscribe=True)))
        opened[key] = browser
    for browser in opened.values():
        browser.wait_ready()
    return opened


def test_udp_blocked_browsers_use_ice_tcp(netns, browsers, tmp_path: Path) -> None:
    network = netns.namespace("icetcp")
    network.enter()
    network.block("udp")
    chorus = start_server(tmp_path, database=sqlite_database(tmp_path), log_name="chorus-serve-ice-tcp.log")
    try:
        tcp_ports = chorus.tcp_ports
        ids = {"a": user("alice"), "b": user("bob")}
        pages = open_pages(chorus, browsers, ids)
        a, b = pages["a"], pages["b"]
        call_id = group_call(chorus, a, b, ids["a"], ids["b"])
        for browser in (a, b):
            pair = browser.stats()["pair"]
            # An active TCP candidate has port 9 in the SDP; Chorus's answer to its check names
            # the real source port, so Chromium reports the pair's local side as prflx.
            assert pair and pair["protocol"] == "tcp" and pair["local"] in ("host", "prflx"), f"{browser.name}: {pair}"
            assert int(pair["remoteAddress"].rsplit(":", 1)[1]) in tcp_ports, (pair, tcp_ports)
        assert metric_value(chorus.base_url, "chorus_ice_tcp_connections") >= 2
        assert metric_value(chorus.base_url, "chorus_ice_tcp_frames_in_total") > 0
        assert metric_value(chorus.base_url, "chorus_ice_tcp_frames_out_total") > 0
        assert network.counted("block-udp") > 0, "the browsers never tried UDP: nothing proves the fallback"

        # WHIP and WHEP over ICE-TCP too: A publishes, B receives it.
        room = f"tcp-{uuid.uuid4().hex[:8]}"
        token = chorus.token(ids["a"], room, publish=True, subscribe=True)
        for browser in (a, b):
            install_whip_client(browser)
        participant = a.js("return await window.whip.publish(arguments[0], arguments[1])", room, token)
        b.js("return await window.whip.subscribe(arguments[0], arguments[1], arguments[2])", room, participant, token)
        wait_whip_flowing(b, "video")
        wait_whip_flowing(b, "audio")
        for browser in (a, b):
            pairs = [s["pair"] for s in whip_stats(browser)]
            assert pairs and all(p and p["protocol"] == "tcp" for p in pairs), f"{browser.name}: {pairs}"
        assert metric_value(chorus.base_url, "chorus_ice_tcp_connections") >= 4
        dropped = metric_value(chorus.base_url, "chorus_ice_tcp_frames_dropped_total")
        print(f"ice-tcp: call {call_id}, frames dropped {dropped}, udp packets blocked {network.counted('block-udp')}")
    finally:
        code = stop_process(chorus.process)
    assert code == 0, f"chorus serve exited {code}"


def test_udp_and_tcp_to_chorus_blocked_browsers_use_turn_over_tcp(netns, browsers, tmp_path: Path) -> None:
    network = netns.namespace("turn")
    network.enter()
    coturn = start_coturn(tmp_path, secret=secrets.token_hex(16), tcp=True)
    try:
        turn_url = f"turn:127.0.0.1:{coturn.port}?transport=tcp"
        chorus = start_server(
            tmp_path, database=sqlite_database(tmp_path), log_name="chorus-serve-turn.log",
            extra_env={"CHORUS_TURN_URLS": turn_url, "CHORUS_TURN_SECRET": coturn.secret, "CHORUS_TURN_TTL": "600"})
        try:
            # Only the relay's UDP (coturn <-> Chorus) passes; the browsers' own UDP and their
            # TCP to Chorus's media port are dropped, so TCP to coturn is their only way.
            network.block("udp", allow_ports=coturn.relay_ports)
            for port in set(chorus.tcp_ports):
                network.block("tcp", port=port)
            ids = {"a": user("alice"), "b": user("bob")}
            pages = open_pages(chorus, browsers, ids)
            a, b = pages["a"], pages["b"]
            group_call(chorus, a, b, ids["a"], ids["b"])
            for browser in (a, b):
                pair = browser.stats()["pair"]
                assert pair and pair["local"] == "relay" and pair["localRelayProtocol"] == "tcp", f"{browser.name}: {pair}"
            assert metric_value(chorus.base_url, "chorus_ice_tcp_connections") == 0
            # libwebrtc gathers TCP candidates in a phase after the relay's and connects a TCP
            # pair when it forms it, so on a busy machine the relayed pair can be chosen before
            # the first connect toward Chorus's TCP port (seen once in a clean-clone run: 0 TCP
            # blocked when the call was up): wait for the attempt rather than read once.
            wait_until(lambda: network.counted("block-udp") > 0 and network.counted("block-tcp") > 0, 20,
                       lambda: "the browsers never tried the direct paths: nothing proves the fallback "
                               f"(blocked: {network.counted('block-udp')} UDP, {network.counted('block-tcp')} TCP)")
            # Everything Chorus got came through the relay's ports.
            relayed = network.counted("allow-udp")
            assert relayed > 200, f"only {relayed} UDP packets crossed coturn's relay ports"
        finally:
            code = stop_process(chorus.process)
        assert code == 0, f"chorus serve exited {code}"
    finally:
        coturn.stop()
