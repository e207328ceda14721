"""Issue 3's real-peer test: an aiortc publisher sends VP8 video + Opus audio over WHIP, a second
aiortc peer receives and decodes them over WHEP, and server-side mute stops and resumes exactly
the muted kind, with the moderation rights the contract gives (admin vs. the participant)."""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import AsyncIterator

from chorus_api import ChorusAPI, assert_answer_shape, assert_created, assert_error, describe
from conftest import ChorusServer
from peers import DecodeFailures, FrameCounter, Publisher, Subscriber, close_all, in_thread, inbound_rtp, run, wait_connected
import room_state

# An unmuted kind must resume (the SFU asks the publisher for a keyframe; aiortc answers PLI at
# once, so on an idle machine it takes well under a second): RESUME is a deadline generous
# enough for a busy CI machine, not a latency measure. Whether a muted kind stops is asked of
# the server's counters (room_state.MuteWatch), not of the decoder.
RESUME = 15.0


@dataclass
class Tokens:
    alice: str  # the publisher: publish + subscribe in the room
    bob: str  # a viewer: subscribe only
    carol: str  # another participant: publish + subscribe, not admin
    admin: str  # a moderator of the room
    other_admin: str  # a moderator of another room

    @classmethod
    def mint(cls, chorus: ChorusServer, room: str) -> "Tokens":
        return cls(
            alice=chorus.token("alice", room, publish=True, subscribe=True),
            bob=chorus.token("bob", room, subscribe=True),
            carol=chorus.token("carol", room, publish=True, subscribe=True),
            admin=chorus.token("moderator", room, admin=True),
            other_admin=chorus.token("moderator", room + "-other", admin=True),
        )


@dataclass
class Call:
    room: str
    participant: str
    whip_path: str
    whep_path: str
    publisher: Publisher
    subscriber: Subscriber
    video: FrameCounter
    audio: FrameCounter


@asynccontextmanager
async def connected_call(chorus: ChorusServer, api: ChorusAPI, room: str, tokens: Tokens) -> AsyncIterator[Call]:
    """alice publishes, bob subscribes to her, and both kinds are decoded at bob's before the
    body runs. Peers are closed and resources deleted (best effort) afterwards."""
    publisher: Publisher | None = None
    subscriber: Subscriber | None = None
    paths: list[tuple[str, str]] = []
    try:
        publisher = await Publisher.create(audio="audio/opus", video="video/VP8")
        response = await in_thread(api.whip, room, publisher.offer, tokens.alice)
        whip = assert_created(response, f"/whip/{room}")
        paths.append((whip.path, tokens.alice))
        assert_answer_shape(whip.answer, chorus.announced_ip, chorus.udp_ports, chorus.tcp_ports)
        participant = whip.last_segment
        await publisher.accept(whip.answer)
        await wait_connected(publisher.pc, 10, "publisher")

        # Join well after aiortc's first keyframe, so the subscriber's first picture depends on
        # the SFU asking the publisher for a new one (PLI on consumer start).
        await asyncio.sleep(1.5)

        subscriber = await Subscriber.create(("audio", "video"))
        response = await in_thread(api.whep, room, participant, subscriber.offer, tokens.bob)
        whep = assert_created(response, f"/whep/{room}/{participant}")
        paths.insert(0, (whep.path, tokens.bob))
        assert_answer_shape(whep.answer, chorus.announced_ip, chorus.udp_ports, chorus.tcp_ports)
        await subscriber.accept(whep.answer)
        await wait_connected(subscriber.pc, 10, "subscriber")

        video = await subscriber.counter("video")
        audio = await subscriber.counter("audio")
        started = time.monotonic()
        assert await video.wait_for_count(15, 10), f"subscriber decoded {video.count} video frames in 10 s"
        assert await audio.wait_for_count(25, 10), f"subscriber decoded {audio.count} audio frames in 10 s"
        print(f"first media at the subscriber after {time.monotonic() - started:.2f}s")
        yield Call(room, participant, whip.path, whep.path, publisher, subscriber, video, audio)
    finally:
        if subscriber is not None:
            await subscriber.stop_counting()
        for path, token in paths:
            try:
                await in_thread(api.delete, path, token)
            except Exception:  # cleanup must not mask the test's own failure
                pass
        await close_all(subscriber.pc if subscriber else None, publisher.pc if publisher else None)


async def participant_state(api: ChorusAPI, call: Call, admin: str) -> dict:
    response = await in_thread(api.room, call.room, admin)
    assert response.status_code == 200, describe(response)
    participant = room_state.find_participant(response.json(), call.participant)
    assert participant is not None, f"room does not list {call.participant}: {json.dumps(response.json())[:1500]}"
    return participant


async def set_mute(api: ChorusAPI, call: Call, kind: str, muted: bool, token: str) -> dict[str, bool | None]:
    response = await in_thread(api.mute, call.room, call.participant, kind, muted, token)
    assert response.status_code == 200, describe(response)
    state = room_state.mute_state(room_state.participant_from_response(response.json(), call.participant))
    assert state[kind] is muted, f"mute response says {kind} muted={state[kind]}: {response.text[:800]}"
    return state


async def assert_stops(api: ChorusAPI, call: Call, admin: str, stopped: FrameCounter, flowing: FrameCounter) -> None:
    """The SFU forwards none of the muted kind while the publisher keeps sending it (asked of
    the server's counters, not of bob's decoder, which may lag on a busy machine), and the
    other kind keeps reaching bob."""
    def fetch() -> dict:
        response = api.room(call.room, admin)
        assert response.status_code == 200, describe(response)
        return response.json()
    flowing_before = flowing.count
    watch = await in_thread(room_state.MuteWatch, fetch, "alice", stopped.kind)
    while not await in_thread(watch.step):
        await asyncio.sleep(0.5)
    # 20 ms audio frames or ~30 fps video: ask for a fraction of a second's worth, in time.
    minimum = 40 if flowing.kind == "audio" else 20
    deadline = time.monotonic() + 15
    while flowing.count - flowing_before < minimum:
        assert time.monotonic() < deadline, f"unmuted {flowing.kind}: only {flowing.count - flowing_before} frames while the other was muted"
        await asyncio.sleep(0.2)


async def assert_resumes(counter: FrameCounter, frames: int = 5) -> float:
    """`counter` decodes `frames` new frames within RESUME seconds; returns the delay."""
    before = counter.count
    started = time.monotonic()
    assert await counter.wait_for_count(before + frames, RESUME), (
        f"{counter.kind} did not resume: {counter.count - before} frames in {RESUME}s after unmute"
    )
    return counter.times[before] - started


def test_publish_subscribe_admin_mute_video_then_unmute(chorus: ChorusServer, api: ChorusAPI, room: str) -> None:
    tokens = Tokens.mint(chorus, room)

    async def scenario() -> None:
        with DecodeFailures() as failures:
            async with connected_call(chorus, api, room, tokens) as call:
                video, audio = call.video, call.audio

                # The pictures are alice's: they carry her frame numbers, in order.
                assert video.sizes == {(320, 240)}, f"decoded sizes {video.sizes}"
                numbers = [n for n in video.numbers if n is not None]
                assert len(numbers) >= 0.8 * len(video.numbers), f"unreadable frames: {video.numbers}"
                assert numbers == sorted(set(numbers)), f"frame numbers out of order: {numbers}"

                participant = await participant_state(api, call, tokens.admin)
                assert room_state.mute_state(participant) == {"audio": False, "video": False}, participant
                counters = room_state.packet_counters(participant, "video")
                assert counters and max(counters.values()) > 0, f"no video packet counters > 0: {participant}"

                # Admin mutes alice's video: bob's video stops, his audio does not.
                await set_mute(api, call, "video", True, tokens.admin)
                last_before_mute = video.last_number()
                await assert_stops(api, call, tokens.admin, video, audio)
                participant = await participant_state(api, call, tokens.admin)
                assert room_state.mute_state(participant) == {"audio": False, "video": True}, participant
                dropped = room_state.dropped_counter(participant, "video")
                assert dropped is None or dropped > 0, f"video muted for 3 s but dropped counter is {dropped}"

                # alice may not lift a moderator's mute.
                response = await in_thread(api.mute, room, call.participant, "video", False, tokens.alice)
                assert_error(response, 403)
                participant = await participant_state(api, call, tokens.admin)
                assert room_state.mute_state(participant)["video"] is True, participant
                quiet_count = video.count
                await asyncio.sleep(0.5)
                assert video.count == quiet_count, "video flowed after alice's refused unmute"

                # The moderator unmutes: video resumes with fresh pictures, at a keyframe, and
                # with no sequence gap at bob's receiver.
                await set_mute(api, call, "video", False, tokens.admin)
                delay = await assert_resumes(video)
                print(f"video resumed {delay:.2f}s after unmute")
                resumed = [n for n in video.numbers[quiet_count:] if n is not None]
                assert resumed and last_before_mute is not None and resumed[0] > last_before_mute, (
                    f"after unmute frame {resumed[:1]} is not newer than {last_before_mute}"
                )
                await asyncio.sleep(0.5)
                # Neither on joining nor on unmute may bob be handed video he cannot decode.
                assert not failures.messages, f"subscriber failed to decode: {failures.messages[:3]}"
                stats = await inbound_rtp(call.subscriber.pc)
                assert "video" in stats and stats["video"]["packetsLost"] < 30, (
                    f"subscriber counts a sequence gap across the mute: {stats}"
                )

                # DELETE of the WHEP resource ends bob's subscription: no more media.
                response = await in_thread(api.delete, call.whep_path, tokens.bob)
                assert response.status_code in (200, 204), describe(response)
                # Asked of the server, not of bob's decoder: no subscription, nothing to forward to.
                participant = await participant_state(api, call, tokens.admin)
                assert participant["subscriptions"] == [], participant["subscriptions"]
                assert all(track["consumers"] == 0 for track in participant["tracks"]), participant["tracks"]

                # DELETE of the WHIP resource removes alice from the room.
                response = await in_thread(api.delete, call.whip_path, tokens.alice)
                assert response.status_code in (200, 204), describe(response)
                response = await in_thread(api.room, room, tokens.admin)
                if response.status_code != 404:
                    assert response.status_code == 200, describe(response)
                    assert room_state.find_participant(response.json(), call.participant) is None, response.text
                response = await in_thread(api.whep, room, call.participant, call.subscriber.offer, tokens.bob)
                assert_error(response, 404)

    run(scenario(), timeout=120)


def test_self_mute_audio_and_who_may_mute(chorus: ChorusServer, api: ChorusAPI, room: str) -> None:
    tokens = Tokens.mint(chorus, room)

    async def scenario() -> None:
        async with connected_call(chorus, api, room, tokens) as call:
            video, audio = call.video, call.audio

            # alice mutes her own audio: bob's audio stops, video keeps flowing.
            await set_mute(api, call, "audio", True, tokens.alice)
            await assert_stops(api, call, tokens.admin, audio, video)
            participant = await participant_state(api, call, tokens.admin)
            assert room_state.mute_state(participant) == {"audio": True, "video": False}, participant

            # She may lift her own mute.
            await set_mute(api, call, "audio", False, tokens.alice)
            await assert_resumes(audio, frames=10)

            # Nobody else but a moderator of this room may mute her.
            for who, token in (("bob (viewer)", tokens.bob), ("carol (participant)", tokens.carol),
                               ("moderator of another room", tokens.other_admin)):
                response = await in_thread(api.mute, room, call.participant, "video", True, token)
                assert response.status_code == 403, f"{who} muting alice: {describe(response)}"
                assert_error(response, 403)
            participant = await participant_state(api, call, tokens.admin)
            assert room_state.mute_state(participant) == {"audio": False, "video": False}, participant

            # A moderator's audio mute is one alice cannot lift either.
            await set_mute(api, call, "audio", True, tokens.admin)
            response = await in_thread(api.mute, room, call.participant, "audio", False, tokens.alice)
            assert_error(response, 403)
            await set_mute(api, call, "audio", False, tokens.admin)
            await assert_resumes(audio, frames=10)
            stats = await inbound_rtp(call.subscriber.pc)
            assert "audio" in stats and stats["audio"]["packetsLost"] < 30, (
                f"subscriber counts a sequence gap across the audio mutes: {stats}"
            )

    run(scenario(), timeout=120)


def test_a_remb_only_publisher_is_given_its_bitrate(chorus: ChorusServer, api: ChorusAPI, room: str) -> None:
    """aiortc offers goog-remb and abs-send-time but not transport-cc: Chorus estimates its
    uplink and sends REMB, which aiortc's sender hands to its VP8 encoder as the target."""
    from browser import metric_value

    tokens = Tokens.mint(chorus, room)

    async def scenario() -> None:
        # The server is shared by the session: count what happens during this call only.
        rembs_before = await in_thread(metric_value, chorus.base_url, "chorus_feedback_total", 'kind="remb_sent"')
        twcc_before = await in_thread(metric_value, chorus.base_url, "chorus_feedback_total", 'kind="transport_feedback_sent"')
        async with connected_call(chorus, api, room, tokens) as call:
            video_sender = next(s for s in call.publisher.pc.getSenders() if s.track and s.track.kind == "video")
            targets: list[int] = []
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                encoder = getattr(video_sender, "_RTCRtpSender__encoder", None)
                if encoder is not None:
                    targets.append(encoder.target_bitrate)
                sent = await in_thread(metric_value, chorus.base_url, "chorus_feedback_total", 'kind="remb_sent"') - rembs_before
                # aiortc's encoder starts at 500 kbit/s and clamps what it is told to 250k-1.5M.
                if sent >= 2 and targets and targets[-1] != 500_000:
                    break
                await asyncio.sleep(0.5)
            assert sent >= 2, f"Chorus sent {sent} REMBs in 20 s"
            assert targets and targets[-1] != 500_000, f"aiortc's encoder target never moved: {targets[-5:]}"
            transport_cc = await in_thread(
                metric_value, chorus.base_url, "chorus_feedback_total", 'kind="transport_feedback_sent"') - twcc_before
            assert transport_cc == 0, f"transport-cc feedback to a peer that did not negotiate it: {transport_cc}"
            print(f"REMBs sent: {sent:.0f}; aiortc encoder target now {targets[-1]} bit/s")

    run(scenario(), timeout=90)
