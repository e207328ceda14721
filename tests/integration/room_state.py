"""Reads GET /api/rooms/{room} JSON. The exact shape is not fixed yet, so every lookup of it lives
here and searches tolerantly (ids under common key names, mute flags in several spellings).
When the shape is settled, tighten these functions; the tests call nothing else."""

from __future__ import annotations

import time
from typing import Any, Callable, Iterator

ID_KEYS = ("id", "participant", "participantId", "participant_id", "participantID")
KINDS = ("audio", "video")


def _walk(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, path + (str(key),))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, path + (str(index),))


def participants(room: Any) -> dict[str, dict[str, Any]]:
    """Participant id -> its JSON object, from a "participants" list (objects with an id key) or
    a "participants" object keyed by id."""
    found: dict[str, dict[str, Any]] = {}
    for _, node in _walk(room):
        if not isinstance(node, dict) or "participants" not in node:
            continue
        listed = node["participants"]
        if isinstance(listed, list):
            for item in listed:
                if isinstance(item, dict):
                    pid = next((item[k] for k in ID_KEYS if isinstance(item.get(k), str)), None)
                    if pid is not None:
                        found[pid] = item
        elif isinstance(listed, dict):
            for pid, item in listed.items():
                if isinstance(item, dict):
                    found[str(pid)] = item
    return found


def find_participant(room: Any, participant_id: str) -> dict[str, Any] | None:
    return participants(room).get(participant_id)


def _truthy_mute(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, str):
        # e.g. "admin" / "self" for who muted, "" or "none" for not muted
        return value.lower() not in ("", "none", "false", "unmuted")
    if isinstance(value, dict):
        for key in ("muted", "value", "active"):
            if key in value:
                return _truthy_mute(value[key])
        return any(_truthy_mute(v) for v in value.values())
    return None


def mute_state(participant: dict[str, Any]) -> dict[str, bool | None]:
    """{"audio": bool|None, "video": bool|None}; None when the JSON says nothing about that kind.
    Accepts muted:{audio,video}, mute:{...}, audioMuted/videoMuted, audio_muted, audio:{muted},
    and tracks:[{kind, muted}]."""
    state: dict[str, bool | None] = {kind: None for kind in KINDS}
    for container_key in ("muted", "mute", "mutes", "muteState", "mute_state"):
        container = participant.get(container_key)
        if isinstance(container, dict):
            for kind in KINDS:
                if kind in container and state[kind] is None:
                    state[kind] = _truthy_mute(container[kind])
        elif isinstance(container, list):
            # e.g. "muted": ["video"]
            for kind in KINDS:
                if state[kind] is None:
                    state[kind] = kind in container
    for kind in KINDS:
        if state[kind] is not None:
            continue
        for key in (f"{kind}Muted", f"{kind}_muted", f"{kind}muted"):
            if key in participant:
                state[kind] = _truthy_mute(participant[key])
                break
        else:
            sub = participant.get(kind)
            if isinstance(sub, dict) and "muted" in sub:
                state[kind] = _truthy_mute(sub["muted"])
    for track in tracks(participant):
        kind = track.get("kind")
        if kind in KINDS and state[kind] is None:
            for key in ("muted", "mute", "paused"):
                if key in track:
                    state[kind] = _truthy_mute(track[key])
                    break
    return state


def tracks(participant: dict[str, Any]) -> list[dict[str, Any]]:
    """The participant's track objects (each with a "kind"), wherever they are listed."""
    found = []
    for key in ("tracks", "producers", "media"):
        listed = participant.get(key)
        if isinstance(listed, list):
            found += [t for t in listed if isinstance(t, dict)]
        elif isinstance(listed, dict):
            found += [dict(t, kind=t.get("kind", k)) for k, t in listed.items() if isinstance(t, dict)]
    return found


def numbers(node: Any) -> dict[str, float]:
    """Every numeric leaf, keyed by its dotted path (booleans excluded)."""
    return {
        ".".join(path): float(value)
        for path, value in _walk(node)
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    }


def _kind_nodes(participant: dict[str, Any], kind: str) -> list[Any]:
    nodes = [t for t in tracks(participant) if t.get("kind") == kind]
    if isinstance(participant.get(kind), dict):
        nodes.append(participant[kind])
    return nodes


def packet_counters(participant: dict[str, Any], kind: str) -> dict[str, float]:
    """Numeric leaves mentioning packets or bytes in this kind's track objects."""
    found: dict[str, float] = {}
    for node in _kind_nodes(participant, kind):
        for path, value in numbers(node).items():
            if "packet" in path.lower() or "byte" in path.lower():
                found[path] = value
    return found


def dropped_counter(participant: dict[str, Any], kind: str) -> float | None:
    """The largest counter of dropped/muted packets of this kind, or None if the JSON has none."""
    values = [
        value
        for node in _kind_nodes(participant, kind)
        for path, value in numbers(node).items()
        if "drop" in path.lower() or "mute" in path.lower()
    ]
    return max(values) if values else None


def participant_from_response(body: Any, participant_id: str) -> dict[str, Any]:
    """The participant object in a mute response: the body itself, {"participant": {...}}, or a
    room-shaped body that lists it."""
    if isinstance(body, dict):
        listed = find_participant(body, participant_id)
        if listed is not None:
            return listed
        if isinstance(body.get("participant"), dict):
            return body["participant"]
        return body
    raise AssertionError(f"mute response is not a JSON object: {body!r}")


class MuteWatch:
    """Whether the SFU forwards a muted track, from its own counters rather than from receivers'
    decoders (a busy machine may decode frames that arrived before the mute late, which says
    nothing about the server). From the moment the mute took effect, the publisher's track must
    show no new packets forwarded (`packetsOut`, summed over its consumers) while it keeps
    dropping what the publisher still sends (`packetsDroppedMuted`). `fetch` returns the room's
    JSON; call `step()` until it returns True, pausing between calls as the test's loop allows."""

    def __init__(self, fetch: Callable[[], Any], identity: str, kind: str, dropped: int = 10, timeout: float = 20.0) -> None:
        self.fetch, self.identity, self.kind, self.dropped = fetch, identity, kind, dropped
        self.deadline = time.monotonic() + timeout
        self.before = self._track()

    def _track(self) -> dict[str, Any]:
        for participant in self.fetch()["participants"]:
            if participant.get("identity") == self.identity:
                return next(t for t in participant["tracks"] if t["kind"] == self.kind)
        raise AssertionError(f"{self.identity} is not in the room")

    def step(self) -> bool:
        after = self._track()
        assert after["packetsOut"] == self.before["packetsOut"], (
            f"{self.identity}'s muted {self.kind} was forwarded: {self.before} -> {after}")
        if after["packetsDroppedMuted"] >= self.before["packetsDroppedMuted"] + self.dropped:
            return True
        assert time.monotonic() < self.deadline, f"{self.identity} sent no {self.kind} while muted: {self.before} -> {after}"
        return False

    def wait(self, interval: float = 0.5) -> None:
        while not self.step():
            time.sleep(interval)

    async def wait_async(self, interval: float = 0.5) -> None:
        """The same without blocking the event loop (aiortc peers keep sending meanwhile)."""
        import asyncio
        while not self.step():
            await asyncio.sleep(interval)
