"""A thin HTTP client for Chorus's surface (WHIP, WHEP, mute, room state, health, metrics) and
the checks every response shares: the JSON error shape, Location paths, the SDP answer shape.
Every call has a timeout, so a hanging server fails a test instead of stalling the suite."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlparse

import requests

TIMEOUT = 10.0
SDP = "application/sdp"


@dataclass
class Created:
    """A 201 from WHIP or WHEP: the resource path from Location and the SDP answer."""

    path: str
    answer: str
    response: requests.Response

    @property
    def last_segment(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]


def bearer(token: str | None) -> dict[str, str]:
    return {} if token is None else {"Authorization": f"Bearer {token}"}


class ChorusAPI:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()

    def url(self, path: str) -> str:
        return self.base_url + path

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT)
        kwargs.setdefault("allow_redirects", False)
        return self.session.request(method, self.url(path), **kwargs)

    # WHIP / WHEP (RFC 9725 and its WHEP counterpart)
    def whip(self, room: str, sdp: str | bytes, token: str | None, *, content_type: str | None = SDP) -> requests.Response:
        return self.request("POST", f"/whip/{room}", data=sdp, headers=_headers(token, content_type))

    def whep(self, room: str, participant: str, sdp: str | bytes, token: str | None, *, content_type: str | None = SDP) -> requests.Response:
        return self.request("POST", f"/whep/{room}/{participant}", data=sdp, headers=_headers(token, content_type))

    def delete(self, path: str, token: str | None) -> requests.Response:
        return self.request("DELETE", path, headers=bearer(token))

    # Moderation and state
    def mute(self, room: str, participant: str, kind: str, muted: bool, token: str | None) -> requests.Response:
        return self.request(
            "POST",
            f"/api/rooms/{room}/participants/{participant}/mute",
            json={"kind": kind, "muted": muted},
            headers=bearer(token),
        )

    def mute_raw(self, room: str, participant: str, body: bytes, token: str | None, content_type: str = "application/json") -> requests.Response:
        return self.request(
            "POST",
            f"/api/rooms/{room}/participants/{participant}/mute",
            data=body,
            headers=_headers(token, content_type),
        )

    def room(self, room: str, token: str | None) -> requests.Response:
        return self.request("GET", f"/api/rooms/{room}", headers=bearer(token))

    def healthz(self) -> requests.Response:
        return self.request("GET", "/healthz")

    def metrics(self) -> requests.Response:
        return self.request("GET", "/metrics")


def _headers(token: str | None, content_type: str | None) -> dict[str, str]:
    headers = bearer(token)
    if content_type is not None:
        headers["Content-Type"] = content_type
    return headers


def describe(response: requests.Response) -> str:
    body = response.text
    if len(body) > 600:
        body = body[:600] + "..."
    return f"{response.request.method} {response.url} -> {response.status_code} {response.headers.get('Content-Type')!r}: {body!r}"


def assert_error(response: requests.Response, status: int) -> dict[str, Any]:
    """The contract's error shape: 4xx with JSON {"error": {"code": "...", "message": "..."}}."""
    assert response.status_code == status, describe(response)
    content_type = response.headers.get("Content-Type", "")
    assert "json" in content_type, f"error is not JSON: {describe(response)}"
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), describe(response)
    error = body["error"]
    assert isinstance(error.get("code"), str) and error["code"], describe(response)
    assert isinstance(error.get("message"), str) and error["message"], describe(response)
    return error


def assert_created(response: requests.Response, path_prefix: str) -> Created:
    """201 with an SDP answer and a Location of the form {path_prefix}/{id}."""
    assert response.status_code == 201, describe(response)
    content_type = response.headers.get("Content-Type", "")
    assert content_type.split(";")[0].strip().lower() == SDP, describe(response)
    location = response.headers.get("Location")
    assert location, f"201 without Location: {describe(response)}"
    path = urlparse(urljoin(response.url, location)).path
    assert re.fullmatch(re.escape(path_prefix.rstrip("/")) + r"/[^/]+", path), (
        f"Location {location!r} is not {path_prefix}/<id>"
    )
    return Created(path=path, answer=response.text, response=response)


CANDIDATE = re.compile(
    r"^a=candidate:\S+ (?P<component>\d+) (?P<transport>\S+) \d+ (?P<ip>\S+) (?P<port>\d+) typ (?P<type>\S+)",
    re.MULTILINE,
)


def assert_answer_shape(answer: str, announced_ip: str, udp_ports: list[int], tcp_ports: list[int] | None = None) -> None:
    """What the contract promises of every answer: ICE-lite, DTLS server role, a SHA-256
    fingerprint, one UDP host candidate at the announced address and one worker's media port,
    and an ICE-TCP passive candidate at the same address (one worker's TCP port when given)."""
    lines = answer.replace("\r\n", "\n").split("\n")
    assert answer.startswith("v=0"), f"answer is not SDP: {answer[:200]!r}"
    assert "a=ice-lite" in lines, "answer lacks a=ice-lite"
    setups = {line for line in lines if line.startswith("a=setup:")}
    assert setups == {"a=setup:passive"}, f"answer setup lines {setups}"
    assert any(line.lower().startswith("a=fingerprint:sha-256 ") for line in lines), "answer lacks a sha-256 fingerprint"
    candidates = {
        (m["transport"].lower(), m["ip"], int(m["port"]), m["type"])
        for m in CANDIDATE.finditer(answer.replace("\r\n", "\n"))
    }
    assert len(candidates) == 2, f"answer candidates {candidates}"
    udp = [c for c in candidates if c[0] == "udp"]
    tcp = [c for c in candidates if c[0] == "tcp"]
    assert len(udp) == 1 and len(tcp) == 1, f"answer candidates {candidates}: expected one UDP and one TCP"
    (_, ip, port, kind), = udp
    assert (ip, kind) == (announced_ip, "host") and port in udp_ports, \
        f"answer candidate {candidates}, expected a host candidate on {announced_ip} port {udp_ports}"
    (_, ip, port, kind), = tcp
    assert (ip, kind) == (announced_ip, "host") and (tcp_ports is None or port in tcp_ports), \
        f"answer candidate {candidates}, expected an ICE-TCP host candidate on {announced_ip} port {tcp_ports}"
    assert "tcptype passive" in answer, "the ICE-TCP candidate is not passive (RFC 6544)"


def media_sections(sdp: str) -> list[str]:
    """The m= lines of an SDP, e.g. ['m=audio 9 UDP/TLS/RTP/SAVPF 111', ...]."""
    return [line for line in sdp.replace("\r\n", "\n").split("\n") if line.startswith("m=")]
