"""A group-call participant played by aiortc: the native WebSocket (/ws) for call events, one
RTCPeerConnection to the SFU negotiated with sfu-offer/sfu-answer (the polite side of perfect
negotiation, as docs/API.md describes it), counters of what arrives from whom."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import websocket
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription

from peers import FrameCounter, NumberedVideoTrack, SineAudioTrack, close_all, new_peer_connection


class Realtime:
    """A /ws connection: a reader thread feeds events into the asyncio loop."""

    def __init__(self, base_url: str, token: str, loop: asyncio.AbstractEventLoop) -> None:
        url = base_url.replace("http://", "ws://") + "/ws?token=" + token
        self.ws = websocket.create_connection(url, timeout=10)
        self.ws.settimeout(None)
        self.loop = loop
        self.events: list[dict[str, Any]] = []
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while True:
            try:
                text = self.ws.recv()
            except Exception:  # noqa: BLE001 - closed
                return
            if not text:
                return
            message = json.loads(text)
            self.loop.call_soon_threadsafe(self._arrived, message)

    def _arrived(self, message: dict[str, Any]) -> None:
        self.events.append(message)
        self.queue.put_nowait(message)

    def send(self, event: str, data: dict[str, Any]) -> None:
        with self.lock:
            self.ws.send(json.dumps({"event": event, "data": data}))

    def named(self, event: str) -> list[dict[str, Any]]:
        return [m["data"] for m in self.events if m.get("event") == event]

    async def wait_for(self, event: str, predicate: Callable[[dict[str, Any]], bool] = lambda _: True,
                       timeout: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.events:
                if message.get("event") == event and predicate(message["data"]):
                    return message["data"]
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {event} within {timeout}s; got {[m.get('event') for m in self.events]}")

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:  # noqa: BLE001
            pass


@dataclass
class RemoteTrack:
    track: MediaStreamTrack
    kind: str
    stream_id: str
    mid: str | None = None
    counter: FrameCounter | None = None
    ended: bool = False


def disabled_mids(sdp: str) -> set[str]:
    """Mids of the m= sections with port 0 (RFC 3264 §8.2): aiortc keeps their tracks alive, a
    browser stops them, so the tests read the description itself."""
    mids: set[str] = set()
    disabled = False
    for line in sdp.splitlines():
        if line.startswith("m="):
            disabled = line.split()[1] == "0"
        elif line.startswith("a=mid:") and disabled:
            mids.add(line[len("a=mid:"):].strip())
    return mids


@dataclass
class GroupPeer:
    user: str
    realtime: Realtime
    pc: RTCPeerConnection = field(default_factory=new_peer_connection)
    call_id: str = ""
    remote: list[RemoteTrack] = field(default_factory=list)
    streams: dict[str, str] = field(default_factory=dict)  # msid stream id -> user
    offers_answered: int = 0
    negotiation_error: str | None = None
    audio: SineAudioTrack | None = None  # what it publishes (its amplitude can change)
    _task: asyncio.Task | None = None

    @classmethod
    async def connect(cls, base_url: str, token: str, user: str) -> "GroupPeer":
        return cls(user=user, realtime=Realtime(base_url, token, asyncio.get_running_loop()))

    async def join(self, call_id: str, publish: bool = True, amplitude: int = 8000) -> None:
        self.call_id = call_id
        self.realtime.send("join-call", {"callId": call_id})
        if publish:
            self.audio = SineAudioTrack(amplitude)
            self.pc.addTransceiver(self.audio, direction="sendonly")
            self.pc.addTransceiver(NumberedVideoTrack(), direction="sendonly")
        else:
            self.pc.addTransceiver("audio", direction="recvonly")
            self.pc.addTransceiver("video", direction="recvonly")

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            stream_id = track.id.rsplit("-", 1)[0] if track.id else ""
            mid = next((t.mid for t in self.pc.getTransceivers() if t.receiver.track is track), None)
            remote = RemoteTrack(track=track, kind=track.kind, stream_id=stream_id, mid=mid)
            remote.counter = FrameCounter(track)
            self.remote.append(remote)

            @track.on("ended")
            def on_ended() -> None:
                remote.ended = True

        self._task = asyncio.create_task(self._negotiate())
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self.realtime.send("sfu-offer", {"callId": call_id, "sdp": self.pc.localDescription.sdp})

    async def _negotiate(self) -> None:
        try:
            await self._negotiate_forever()
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - kept for the test's assertion message
            self.negotiation_error = repr(error)
            raise

    async def _negotiate_forever(self) -> None:
        while True:
            message = await self.realtime.queue.get()
            event, data = message.get("event"), message.get("data", {})
            if data.get("callId") != self.call_id:
                continue
            for entry in data.get("streams", []):
                self.streams[entry["streamId"]] = entry["userId"]
            if event == "sfu-answer":
                await self.pc.setRemoteDescription(RTCSessionDescription(data["sdp"], "answer"))
            elif event == "sfu-offer":
                await self.pc.setRemoteDescription(RTCSessionDescription(data["sdp"], "offer"))
                await self.pc.setLocalDescription(await self.pc.createAnswer())
                self.realtime.send("sfu-answer", {"callId": self.call_id, "sdp": self.pc.localDescription.sdp})
                self.offers_answered += 1

    def tracks_from(self, user: str, kind: str) -> list[RemoteTrack]:
        """Live tracks of `user`: not ended, not on an m= section the last remote description disabled."""
        remote = self.pc.remoteDescription
        disabled = disabled_mids(remote.sdp) if remote else set()
        return [t for t in self.remote if t.kind == kind and self.streams.get(t.stream_id) == user
                and not t.ended and t.mid not in disabled]

    async def wait_tracks(self, users: list[str], timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self.tracks_from(u, k) for u in users for k in ("audio", "video")):
                return
            await asyncio.sleep(0.1)
        raise AssertionError(
            f"{self.user} (negotiation error: {self.negotiation_error}) has no audio+video of {users} within {timeout}s: "
            f"{[(t.kind, t.stream_id, self.streams.get(t.stream_id), t.ended) for t in self.remote]}")

    def frames_from(self, user: str, kind: str = "video") -> int:
        return sum(t.counter.count for t in self.tracks_from(user, kind) if t.counter)

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
        for remote in self.remote:
            if remote.counter:
                await remote.counter.stop()
        await close_all(self.pc)
        self.realtime.close()
