"""The development token endpoint against other web pages (reliability finding 6).

On the development secret, POST /api/dev/token mints tokens for the web client. A probe got an
admin token for every room with `Origin: http://evil.example` (a page elsewhere, through the
visitor's browser) and with `Host: rebind.evil.example` (DNS rebinding: a hostile name resolved
to 127.0.0.1). Both must be refused, and only the server's own page gets an admin grant."""

from __future__ import annotations

import base64
import json
from typing import Iterator

import pytest
import requests

from chorus_api import assert_error
from conftest import ChorusServer, start_server, stop_process


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChorusServer]:
    server = start_server(tmp_path_factory.mktemp("devtoken"), development_secret=True)
    try:
        yield server
    finally:
        stop_process(server.process)


def mint(server: ChorusServer, headers: dict[str, str], admin: bool = True) -> requests.Response:
    return requests.post(
        server.base_url + "/api/dev/token", json={"name": "visitor", "admin": admin}, headers=headers, timeout=10)


def claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_a_foreign_origin_is_refused(dev_server: ChorusServer) -> None:
    error = assert_error(mint(dev_server, {"Origin": "http://evil.example"}), 403)
    assert error["code"] == "forbidden_origin"


def test_a_rebound_host_name_is_refused(dev_server: ChorusServer) -> None:
    origin = "http://rebind.evil.example"
    error = assert_error(mint(dev_server, {"Host": "rebind.evil.example", "Origin": origin}), 403)
    assert error["code"] == "forbidden_host"
    # The same without an Origin (a rebinding page's fetch always sends one, but still).
    assert_error(mint(dev_server, {"Host": "rebind.evil.example:8080"}), 403)


def test_the_own_page_gets_what_it_asks_for(dev_server: ChorusServer) -> None:
    host = f"127.0.0.1:{dev_server.http_port}"
    response = mint(dev_server, {"Host": host, "Origin": f"http://{host}"})
    assert response.status_code == 201, response.text
    assert claims(response.json()["token"])["admin"] is True
    # localhost is loopback too.
    local = f"localhost:{dev_server.http_port}"
    assert mint(dev_server, {"Host": local, "Origin": f"http://{local}"}).status_code == 201


def test_a_request_without_origin_gets_no_admin_grant(dev_server: ChorusServer) -> None:
    response = mint(dev_server, {})
    assert response.status_code == 201, response.text
    token = claims(response.json()["token"])
    assert token["admin"] is False and token["sub"] == "visitor"


def test_a_server_with_a_secret_mints_nothing(chorus: ChorusServer) -> None:
    host = f"127.0.0.1:{chorus.http_port}"
    assert_error(mint(chorus, {"Origin": f"http://{host}"}), 404)
