"""The OpenAPI document the running server publishes at /openapi.yaml: valid OpenAPI 3.1
(openapi-spec-validator); true to the server under schemathesis, bounded (fixed seed, a few
examples per operation): no 5xx, and every response's status, media type, headers and body as
documented; and true for the media and room responses schemathesis cannot reach on its own (a
real WHIP publish, room state, mute, WHEP subscribe), checked here against the same schemas."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema
import openapi_spec_validator
import pytest
import requests
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from conftest import REPO, ChorusServer, artifacts_dir
from peers import publish_offer, subscribe_offer

HERE = Path(__file__).resolve().parent
SOURCE = REPO / "Sources" / "Signaling" / "OpenAPI" / "openapi.yaml"

# Bounded: with these the run takes about 20 s on 2 cores (about 1,000 requests).
SEED = 20261125
MAX_EXAMPLES = 25
REQUEST_TIMEOUT = 10
RUN_TIMEOUT = 240
CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
])


def fetch(chorus: ChorusServer) -> tuple[str, dict[str, Any]]:
    response = requests.get(chorus.base_url + "/openapi.yaml", timeout=10)
    assert response.status_code == 200, f"/openapi.yaml answered {response.status_code}: {response.text[:300]}"
    assert response.headers.get("Content-Type") == "application/yaml"
    return response.text, yaml.safe_load(response.text)


def test_document_is_valid_openapi_31(chorus: ChorusServer) -> None:
    text, document = fetch(chorus)
    assert document["openapi"] == "3.1.0"
    openapi_spec_validator.validate(document)
    # The server serves the document it was built with: a stale binary would hide spec changes.
    assert text == SOURCE.read_text(), "the served /openapi.yaml differs from the source: rebuild chorus"
    operation_ids = [
        operation["operationId"]
        for item in document["paths"].values()
        for method, operation in item.items()
        if method != "parameters"
    ]
    assert len(operation_ids) == len(set(operation_ids)), "operationIds must be unique"


def test_schemathesis_finds_no_mismatch(chorus: ChorusServer, tmp_path: Path) -> None:
    token = chorus.token("@schemathesis:example.org", "*", publish=True, subscribe=True, admin=True, ttl=3600)
    log_path = artifacts_dir() / "schemathesis.log"
    args = [
        sys.executable, "-c", "import sys; from schemathesis.cli import schemathesis; sys.exit(schemathesis())",
        "--no-color", "run", chorus.base_url + "/openapi.yaml",
        "--url", chorus.base_url,
        "--header", f"Authorization: Bearer {token}",
        "--checks", CHECKS,
        "--seed", str(SEED),
        "--max-examples", str(MAX_EXAMPLES),
        "--request-timeout", str(REQUEST_TIMEOUT),
        # Not request/response HTTP: /ws upgrades to a WebSocket, and an Engine.IO GET either
        # upgrades or is a long poll held up to a ping interval (25 s).
        "--exclude-path", "/ws",
        "--exclude-operation-id", "engineIOGet",
        # One worker: Hypothesis describes strategies with ast.parse, which fails across
        # threads on some CPython 3.11 releases ("AST constructor recursion depth mismatch").
        "--workers", "1",
        "--report", "junit", "--report-junit-path", str(artifacts_dir() / "schemathesis-junit.xml"),
    ]
    env = {
        **os.environ,
        # WHIP/WHEP bodies are application/sdp: openapi_hooks.py teaches schemathesis that.
        "SCHEMATHESIS_HOOKS": "openapi_hooks",
        "PYTHONPATH": os.pathsep.join([str(HERE), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    chorus.mark("schemathesis run")
    # cwd: no schemathesis.toml from elsewhere, and Hypothesis's database stays in the temporary directory.
    done = subprocess.run(args, capture_output=True, text=True, timeout=RUN_TIMEOUT, env=env, cwd=tmp_path)
    output = done.stdout + done.stderr
    log_path.write_text(output)
    tail = "\n".join(output.splitlines()[-80:])
    assert done.returncode == 0, f"schemathesis failed (exit {done.returncode}, full log {log_path}):\n{tail}"
    counts = re.search(r"(\d+) generated, (\d+) passed", output)
    assert counts, f"no test-case summary in the schemathesis output:\n{tail}"
    generated, passed = int(counts[1]), int(counts[2])
    # Every selected operation must have been exercised, not skipped for a schema it cannot read.
    assert generated == passed and generated >= 500, f"only {passed}/{generated} cases:\n{tail}"
    # Every operation but the two excluded above ran (schemathesis leaves the document's own URL
    # out of its total when it loads the document from the server).
    operations = re.search(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)", output)
    assert operations, f"no operation summary in the schemathesis output:\n{tail}"
    selected, total, tested = map(int, operations.groups())
    assert tested == selected == total - 2 and tested >= 25, f"tested {tested} of {selected} selected / {total}:\n{tail}"


class Contract:
    """Checks a response against what the document says `method path` answers with `status`."""

    BASE = "urn:chorus:openapi"

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self.registry = Registry().with_resource(self.BASE, resource)

    def resolve(self, node: dict[str, Any], pointer: str) -> tuple[dict[str, Any], str]:
        while "$ref" in node:
            pointer = node["$ref"].removeprefix("#")
            node = self.document
            for part in pointer.strip("/").split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
        return node, pointer

    def validate(self, instance: Any, pointer: str, what: str) -> None:
        # Validated through a reference into the whole document, so that its `#/components/...`
        # references resolve however deep the schema sits.
        schema = {"$ref": f"{self.BASE}#{quote(pointer, safe='/~')}"}
        errors = list(jsonschema.Draft202012Validator(schema, registry=self.registry).iter_errors(instance))
        assert not errors, f"{what}: {errors[0].message} at {list(errors[0].absolute_path)}"

    def check(self, method: str, path: str, response: requests.Response) -> Any:
        what = f"{method.upper()} {path} -> {response.status_code}"
        escaped = path.replace("~", "~0").replace("/", "~1")
        operation = self.document["paths"][path][method]
        status = str(response.status_code)
        assert status in operation["responses"], f"{what} is not documented; body {response.text[:300]}"
        spec, pointer = self.resolve(operation["responses"][status], f"/paths/{escaped}/{method}/responses/{status}")
        for name, header in spec.get("headers", {}).items():
            header, header_pointer = self.resolve(header, f"{pointer}/headers/{name}")
            if name in response.headers:
                self.validate(response.headers[name], f"{header_pointer}/schema", f"{what} header {name}")
            else:
                assert not header.get("required"), f"{what} lacks the {name} header"
        content = spec.get("content")
        if not content:
            assert response.content == b"", f"{what} documents no body but sent {response.text[:200]!r}"
            return None
        media = response.headers.get("Content-Type", "").split(";")[0].strip()
        assert media in content, f"{what} sent {media!r}, documented {list(content)}"
        if media != "application/json":
            return response.text
        body = response.json()
        self.validate(body, f"{pointer}/content/application~1json/schema", what)
        return body


def test_media_and_room_responses_match_the_document(chorus: ChorusServer, room: str) -> None:
    _, document = fetch(chorus)
    contract = Contract(document)
    base = chorus.base_url

    def call(method: str, path: str, token: str, body: str | None = None, content_type: str | None = None, **values: str):
        headers = {"Authorization": f"Bearer {token}"}
        if content_type:
            headers["Content-Type"] = content_type
        url = base + path.format(**{key: quote(value, safe="") for key, value in values.items()})
        response = requests.request(method, url, data=body, headers=headers, timeout=10)
        return response, contract.check(method, path, response)

    alice = chorus.token("@alice:example.org", room, publish=True, subscribe=True)
    moderator = chorus.token("@moderator:example.org", room, subscribe=True, admin=True)

    # The document's own example offer is accepted, and so is a real aiortc one.
    example = document["components"]["examples"]["WHIPOffer"]["value"]
    response, _ = call("post", "/whip/{room}", alice, example, "application/sdp", room=room)
    assert response.status_code == 201, response.text
    example_participant = response.headers["Location"].rsplit("/", 1)[1]
    response, answer = call("post", "/whip/{room}", alice, publish_offer(), "application/sdp", room=room)
    assert response.status_code == 201 and answer.startswith("v=0"), response.text
    participant = response.headers["Location"].rsplit("/", 1)[1]

    response, state = call("get", "/api/rooms/{room}", alice, room=room)
    assert response.status_code == 200 and len(state["participants"]) == 2

    mute = "/api/rooms/{room}/participants/{participant}/mute"
    response, muted = call("post", mute, alice, '{"kind": "audio", "muted": true}', "application/json", room=room, participant=participant)
    assert response.status_code == 200 and muted["audio"]["bySelf"] is True
    response, _ = call("post", mute, moderator, '{"kind": "video", "muted": true}', "application/json", room=room, participant=participant)
    assert response.status_code == 200
    response, _ = call("post", mute, alice, '{"kind": "video", "muted": false}', "application/json", room=room, participant=participant)
    assert response.status_code == 403
    response, _ = call("post", mute, alice, '{"kind": "screen", "muted": true}', "application/json", room=room, participant=participant)
    assert response.status_code == 400

    response, _ = call("post", "/whep/{room}/{participant}", moderator, subscribe_offer(), "application/sdp", room=room, participant=participant)
    assert response.status_code == 201, response.text
    subscription = response.headers["Location"].rsplit("/", 1)[1]
    response, state = call("get", "/api/rooms/{room}", moderator, room=room)
    publisher = next(p for p in state["participants"] if p["id"] == participant)
    assert [s["id"] for s in publisher["subscriptions"]] == [subscription]

    subscription_path = "/whep/{room}/{participant}/{subscription}"
    response, _ = call("delete", subscription_path, moderator, room=room, participant=participant, subscription=subscription)
    assert response.status_code == 200
    response, _ = call("delete", subscription_path, moderator, room=room, participant=participant, subscription=subscription)
    assert response.status_code == 404
    response, _ = call("patch", "/whip/{room}/{participant}", alice, room=room, participant=participant)
    assert response.status_code == 405
    for publisher in (participant, example_participant):
        response, _ = call("delete", "/whip/{room}/{participant}", alice, room=room, participant=publisher)
        assert response.status_code == 200
    response, _ = call("get", "/api/rooms/{room}", alice, room=room)
    assert response.status_code == 404


@pytest.mark.parametrize("path", ["/healthz", "/metrics", "/openapi.yaml"])
def test_operations_routes_match_the_document(chorus: ChorusServer, path: str) -> None:
    _, document = fetch(chorus)
    response = requests.get(chorus.base_url + path, timeout=10)
    assert response.status_code == 200
    if path == "/openapi.yaml":
        # Served as YAML; its documented schema is that of the parsed document.
        Contract(document).validate(yaml.safe_load(response.text), "/paths/~1openapi.yaml/get/responses/200/content/application~1yaml/schema", path)
    else:
        Contract(document).check("get", path, response)
