"""Offers the server must accept, from an unmodified aiortc: audio only, video only, H264
(passed through), aiortc's default codec lists (the answer picks Opus and VP8), and a token
whose room claim is "*". Transports are never connected; each participant is deleted again."""

from __future__ import annotations

import re

import pytest

import jwt_tokens
from chorus_api import ChorusAPI, assert_answer_shape, assert_created, describe, media_sections
from conftest import ChorusServer
from peers import publish_offer


def publish_and_delete(chorus: ChorusServer, api: ChorusAPI, room: str, offer: str, token: str) -> str:
    created = assert_created(api.whip(room, offer, token), f"/whip/{room}")
    assert_answer_shape(created.answer, chorus.announced_ip, chorus.udp_ports, chorus.tcp_ports)
    response = api.delete(created.path, token)
    assert response.status_code in (200, 204), describe(response)
    return created.answer


def answer_codecs(answer: str, kind: str) -> set[str]:
    """Codec names the answer's m=<kind> section accepts (ignoring rtx)."""
    sections = re.split(r"(?m)^(?=m=)", answer.replace("\r\n", "\n"))
    names: set[str] = set()
    for section in sections:
        if section.startswith(f"m={kind} ") and not section.startswith(f"m={kind} 0 "):
            names |= {m.lower() for m in re.findall(r"(?m)^a=rtpmap:\d+ ([^/\s]+)/", section)}
    return names - {"rtx"}


@pytest.mark.parametrize(
    "audio, video, expect",
    [
        ("audio/opus", None, {"audio": {"opus"}}),
        (None, "video/VP8", {"video": {"vp8"}}),
        ("audio/opus", "video/H264", {"audio": {"opus"}, "video": {"h264"}}),
    ],
    ids=["opus-only", "vp8-only", "opus+h264"],
)
def test_single_codec_offers_are_accepted(
    chorus: ChorusServer, api: ChorusAPI, room: str, audio: str | None, video: str | None, expect: dict
) -> None:
    token = chorus.token("alice", room, publish=True)
    answer = publish_and_delete(chorus, api, room, publish_offer(audio=audio, video=video), token)
    assert len(media_sections(answer)) == len(expect), media_sections(answer)
    for kind, codecs in expect.items():
        assert answer_codecs(answer, kind) == codecs, f"{kind} answer codecs: {answer}"


def test_default_aiortc_offer_gets_opus_and_vp8(chorus: ChorusServer, api: ChorusAPI, room: str) -> None:
    # Without preferences aiortc offers opus, G722, PCMU, PCMA and VP8, H264 with rtx.
    offer = publish_offer(audio="*", video="*")
    assert "G722" in offer and "H264" in offer, "aiortc no longer offers its default list"
    token = chorus.token("alice", room, publish=True)
    answer = publish_and_delete(chorus, api, room, offer, token)
    assert "opus" in answer_codecs(answer, "audio"), answer
    assert answer_codecs(answer, "audio") <= {"opus"}, f"answer accepts more than Opus for audio: {answer}"
    assert answer_codecs(answer, "video") & {"vp8", "h264"}, answer


def test_wildcard_room_token_publishes_anywhere(chorus: ChorusServer, api: ChorusAPI, room: str) -> None:
    token = chorus.token("alice", "*", publish=True)
    publish_and_delete(chorus, api, room, publish_offer(), token)
    publish_and_delete(chorus, api, room + "-b", publish_offer(), token)


def test_python_minted_wildcard_token(chorus: ChorusServer, api: ChorusAPI, room: str) -> None:
    token = jwt_tokens.mint(chorus.secret, jwt_tokens.claims("alice", "*", publish=True))
    publish_and_delete(chorus, api, room, publish_offer(), token)
