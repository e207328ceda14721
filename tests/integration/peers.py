"""aiortc peers for the integration tests: loopback-only ICE, generated VP8-able video that carries
its frame number in the picture, a sine tone for Opus, publisher and subscriber offers, counters
of decoded frames, and closing with timeouts (aiortc's decoder threads are non-daemon: an unclosed peer connection
keeps the test process from exiting)."""

from __future__ import annotations

import asyncio
import fractions
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, TypeVar

import aioice.ice
import av
import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import MediaStreamError

log = logging.getLogger("peers")

WIDTH, HEIGHT = 320, 240
# The frame number is drawn as BITS black/white blocks across the top band of each picture, big
# enough to survive lossy VP8/H264 coding: the receiver reads back which frame it decoded.
BITS = 16
BLOCK_W = WIDTH // BITS
BAND_H = 48
SAMPLE_RATE = 48000
AUDIO_SAMPLES = 960  # 20 ms at 48 kHz, Opus's usual frame

T = TypeVar("T")


def use_loopback_only() -> None:
    """aioice skips 127.0.0.1 when gathering host candidates; keep every test on loopback."""
    aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=False: ["127.0.0.1"]


def new_peer_connection() -> RTCPeerConnection:
    # No ICE servers: otherwise aiortc adds a public STUN server and waits for it.
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


class NumberedVideoTrack(VideoStreamTrack):
    """~30 fps moving pictures, each carrying its frame number in the top band."""

    def __init__(self) -> None:
        super().__init__()
        self.frames_sent = 0
        self._yy, self._xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.uint16)

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        number = self.frames_sent
        shift = (number * 4) % 256
        image = np.empty((HEIGHT, WIDTH, 3), np.uint8)
        image[..., 0] = (self._xx + shift) % 256
        image[..., 1] = (self._yy + 2 * shift) % 256
        image[..., 2] = (self._xx + self._yy + 3 * shift) % 256
        for bit in range(BITS):
            on = (number >> (BITS - 1 - bit)) & 1
            image[:BAND_H, bit * BLOCK_W : (bit + 1) * BLOCK_W, :] = 255 if on else 0
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = pts
        frame.time_base = time_base
        self.frames_sent += 1
        return frame


def decode_frame_number(frame: av.VideoFrame) -> int | None:
    """Reads back NumberedVideoTrack's number; None if the picture is not one of ours."""
    if frame.width != WIDTH or frame.height != HEIGHT:
        return None
    gray = frame.to_ndarray(format="gray")
    number = 0
    for bit in range(BITS):
        # The block's centre, away from edges that the codec blurs.
        x0 = bit * BLOCK_W + BLOCK_W // 4
        block = gray[BAND_H // 4 : 3 * BAND_H // 4, x0 : x0 + BLOCK_W // 2]
        mean = float(block.mean())
        if 80 < mean < 176:
            return None
        number = (number << 1) | (1 if mean >= 128 else 0)
    return number


class SineAudioTrack(MediaStreamTrack):
    """A 440 Hz tone in 20 ms mono frames at 48 kHz, paced in real time like aiortc's own
    AudioStreamTrack. `amplitude` (of 32767) may change while it plays: 0 is silence, which
    aiortc reports as -127 dBov in the audio level extension."""

    kind = "audio"

    def __init__(self, amplitude: int = 8000) -> None:
        super().__init__()
        self.amplitude = amplitude
        self._start: float | None = None
        self._samples = 0

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        else:
            wait = self._start + self._samples / SAMPLE_RATE - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
        t = np.arange(self._samples, self._samples + AUDIO_SAMPLES) / SAMPLE_RATE
        pcm = (np.sin(2 * np.pi * 440.0 * t) * self.amplitude).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        self._samples += AUDIO_SAMPLES
        return frame


def codecs(kind: str, mime_type: str) -> list[Any]:
    """Capability objects for one codec (setCodecPreferences accepts only these)."""
    found = [c for c in RTCRtpSender.getCapabilities(kind).codecs if c.mimeType.lower() == mime_type.lower()]
    if not found:
        raise ValueError(f"aiortc has no {mime_type}")
    return found


async def local_offer(pc: RTCPeerConnection) -> str:
    # aiortc's setLocalDescription gathers all candidates (non-trickle), as WHIP needs.
    await pc.setLocalDescription(await pc.createOffer())
    deadline = time.monotonic() + 5
    while pc.iceGatheringState != "complete":
        if time.monotonic() > deadline:
            raise AssertionError("ICE gathering did not complete")
        await asyncio.sleep(0.02)
    return pc.localDescription.sdp


@dataclass
class Publisher:
    pc: RTCPeerConnection
    offer: str
    video: NumberedVideoTrack | None
    audio: SineAudioTrack | None

    @classmethod
    async def create(
        cls,
        *,
        audio: str | None = "audio/opus",
        video: str | None = "video/VP8",
    ) -> "Publisher":
        """A sendonly publisher; audio/video name the single codec offered ("*" for aiortc's
        default list), None leaves that kind out."""
        pc = new_peer_connection()
        audio_track = video_track = None
        if audio is not None:
            audio_track = SineAudioTrack()
            transceiver = pc.addTransceiver(audio_track, direction="sendonly")
            if audio != "*":
                transceiver.setCodecPreferences(codecs("audio", audio))
        if video is not None:
            video_track = NumberedVideoTrack()
            transceiver = pc.addTransceiver(video_track, direction="sendonly")
            if video != "*":
                transceiver.setCodecPreferences(codecs("video", video))
        return cls(pc=pc, offer=await local_offer(pc), video=video_track, audio=audio_track)

    async def accept(self, answer: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))


class FrameCounter:
    """Pulls decoded frames from a remote track and notes when each arrived (and, for video, which
    frame number it showed)."""

    def __init__(self, track: MediaStreamTrack) -> None:
        self.kind = track.kind
        self.times: list[float] = []
        self.numbers: list[int | None] = []
        self.sizes: set[tuple[int, int]] = set()
        self.ended = False
        self.task = asyncio.ensure_future(self._run(track))

    async def _run(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                self.times.append(time.monotonic())
                if self.kind == "video":
                    self.sizes.add((frame.width, frame.height))
                    self.numbers.append(decode_frame_number(frame))
        except MediaStreamError:
            self.ended = True

    @property
    def count(self) -> int:
        return len(self.times)

    def last_number(self) -> int | None:
        return next((n for n in reversed(self.numbers) if n is not None), None)

    async def wait_for_count(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.count < count:
            if time.monotonic() > deadline or self.task.done():
                return False
            await asyncio.sleep(0.02)
        return True

    async def stop(self) -> None:
        self.task.cancel()
        try:
            await asyncio.wait_for(self.task, 2)
        except (asyncio.CancelledError, asyncio.TimeoutError):
            pass


@dataclass
class Subscriber:
    pc: RTCPeerConnection
    offer: str
    counters: dict[str, FrameCounter] = field(default_factory=dict)

    @classmethod
    async def create(cls, kinds: tuple[str, ...] = ("audio", "video")) -> "Subscriber":
        """A recvonly peer with aiortc's default codec list, as a plain WHEP player would offer."""
        pc = new_peer_connection()
        for kind in kinds:
            pc.addTransceiver(kind, direction="recvonly")
        subscriber = cls(pc=pc, offer="")

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            subscriber.counters[track.kind] = FrameCounter(track)

        subscriber.offer = await local_offer(pc)
        return subscriber

    async def accept(self, answer: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    async def counter(self, kind: str, timeout: float = 5) -> FrameCounter:
        deadline = time.monotonic() + timeout
        while kind not in self.counters:
            if time.monotonic() > deadline:
                raise AssertionError(f"no remote {kind} track appeared (answer lacks it?)")
            await asyncio.sleep(0.02)
        return self.counters[kind]

    async def stop_counting(self) -> None:
        for counter in self.counters.values():
            await counter.stop()


async def wait_connected(pc: RTCPeerConnection, timeout: float, what: str) -> None:
    """Waits for ICE + DTLS to complete (connectionState "connected")."""
    deadline = time.monotonic() + timeout
    while pc.connectionState != "connected":
        if pc.connectionState in ("failed", "closed"):
            raise AssertionError(f"{what}: connection {pc.connectionState}")
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{what}: not connected after {timeout}s (ice {pc.iceConnectionState}, "
                f"connection {pc.connectionState})"
            )
        await asyncio.sleep(0.02)


async def close_all(*pcs: RTCPeerConnection | None, timeout: float = 5) -> None:
    for pc in pcs:
        if pc is None:
            continue
        try:
            await asyncio.wait_for(pc.close(), timeout)
        except Exception as error:  # closing must never mask the test's own failure
            log.warning("closing peer connection failed: %r", error)


async def offer_and_close(make: Callable[[RTCPeerConnection], None]) -> str:
    """An offer from a peer connection that `make` configures; the peer is closed right away,
    for requests that must fail or that never need media."""
    pc = new_peer_connection()
    try:
        make(pc)
        return await local_offer(pc)
    finally:
        await close_all(pc)


def publish_offer(audio: str | None = "audio/opus", video: str | None = "video/VP8") -> str:
    """A fresh sendonly publisher offer (synchronous; the peer is closed again)."""

    async def make() -> str:
        publisher = await Publisher.create(audio=audio, video=video)
        try:
            return publisher.offer
        finally:
            await close_all(publisher.pc)

    return asyncio.run(make())


def subscribe_offer() -> str:
    def make(pc: RTCPeerConnection) -> None:
        pc.addTransceiver("audio", direction="recvonly")
        pc.addTransceiver("video", direction="recvonly")

    return asyncio.run(offer_and_close(make))


def datachannel_offer() -> str:
    def make(pc: RTCPeerConnection) -> None:
        pc.createDataChannel("chat")

    return asyncio.run(offer_and_close(make))


def run(coro: Awaitable[T], timeout: float) -> T:
    """Runs one test scenario on a fresh event loop with an overall deadline."""

    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Blocking HTTP off the event loop, so media keeps flowing during a request."""
    return await asyncio.to_thread(fn, *args, **kwargs)


async def inbound_rtp(pc: RTCPeerConnection) -> dict[str, dict[str, int]]:
    """Per kind: packetsReceived and packetsLost as the receiver counts them. packetsLost is
    expected (from the highest sequence number) minus received, so a sequence gap the SFU leaves
    across a mute shows up here."""
    report = await pc.getStats()
    found: dict[str, dict[str, int]] = {}
    for stats in report.values():
        if getattr(stats, "type", None) == "inbound-rtp":
            found[stats.kind] = {"packetsReceived": stats.packetsReceived, "packetsLost": stats.packetsLost}
    return found


class DecodeFailures(logging.Handler):
    """Counts aiortc's "failed to decode" warnings: a subscriber handed a delta frame without its
    keyframe (e.g. on join or unmute) fails to decode until the next keyframe."""

    LOGGER = "aiortc.rtcrtpreceiver"

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "failed to decode" in message:
            self.messages.append(message)

    def __enter__(self) -> "DecodeFailures":
        logging.getLogger(self.LOGGER).addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger(self.LOGGER).removeHandler(self)
