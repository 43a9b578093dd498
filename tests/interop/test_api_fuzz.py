"""The REST API under a schema-driven fuzzer: schemathesis reads /api/v1/openapi.json from a
live `ampere serve` and sends generated requests (valid and invalid) to every operation.
Whatever it sends, the server must never answer 5xx, and every answer must carry the
content type and headers the document states for it (problem+json for errors).

Chargers are connected while it runs (one 1.6, one 2.0.1), so commands reach a real
connection and not only the "offline" branch. Operations that cannot be fuzzed meaningfully
are left out, each for a stated reason.
"""

import asyncio
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import Server

ADMIN_TOKEN = "amp_fuzz_" + "k" * 48
# Never a 5xx; the Content-Type and headers the document promises. (Status codes and body
# shapes beyond the document's are allowed: an integrator reads problem+json, which is what
# every error is.)
CHECKS = ["not_a_server_error", "content_type_conformance", "response_headers_conformance"]
# Enough to reach every branch the generated inputs can reach; the whole run stays within
# about a minute on the CI machine.
EXAMPLES_PER_OPERATION = 30


def _minimal(schema, root):
    """The smallest instance an OCA schema accepts: required properties only, the first enum
    value, the shortest allowed arrays. Enough for the answers a charger gives."""
    if "$ref" in schema:
        schema = root["definitions"][schema["$ref"].split("/")[-1]]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: _minimal(properties[name], root) for name in schema.get("required", [])}
    if kind == "array":
        return [_minimal(schema["items"], root) for _ in range(schema.get("minItems", 0))]
    if kind == "string":
        if schema.get("format") == "date-time":
            return "2026-01-01T00:00:00Z"
        return "x" * max(1, schema.get("minLength", 1))
    if kind in ("integer", "number"):
        return schema.get("minimum", 0)
    if kind == "boolean":
        return False
    return None


def _answer(subprotocol, action):
    """A schema-valid CALLRESULT payload for `action`, from the official schemas."""
    import json

    import ocpp

    version = "v16" if subprotocol == "ocpp1.6" else "v201"
    path = Path(ocpp.__file__).parent / version / "schemas" / f"{action}Response.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    return _minimal(schema, schema)


def _run_charger(url, identity, subprotocol, stop):
    """A charger that boots and then answers every CSMS call with the smallest answer its
    schema allows (e.g. `{"status": "Accepted"}`), so fuzzed commands reach a real answer
    quickly instead of waiting for the call timeout."""
    import json

    import websockets

    async def main():
        async with websockets.connect(f"{url}/{identity}", subprotocols=[subprotocol]) as ws:
            boot = (
                {"chargePointVendor": "Fuzz", "chargePointModel": "F1"}
                if subprotocol == "ocpp1.6"
                else {"reason": "PowerUp", "chargingStation": {"vendorName": "Fuzz", "model": "F1"}}
            )
            await ws.send(json.dumps([2, "boot", "BootNotification", boot]))
            while not stop.is_set():
                try:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 0.2))
                except TimeoutError:
                    continue
                if frame[0] == 2:
                    await ws.send(json.dumps([3, frame[1], _answer(subprotocol, frame[2])]))

    asyncio.run(main())


@pytest.fixture(scope="module")
def live_api(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("fuzz") / "data")
    srv.start(
        "--unknown-chargers",
        "accept",
        "--call-timeout",
        "2",
        env={"AMPERE_API_TOKEN": ADMIN_TOKEN},
    )
    stop = threading.Event()
    chargers = [
        threading.Thread(
            target=_run_charger, args=(srv.ws_url, ident, proto, stop), daemon=True
        )
        for ident, proto in (("FUZZ-16", "ocpp1.6"), ("FUZZ-201", "ocpp2.0.1"))
    ]
    for charger in chargers:
        charger.start()
    yield srv
    stop.set()
    for charger in chargers:
        charger.join(timeout=5)
    code = srv.stop()
    assert code == 0, "server did not shut down cleanly:\n" + "".join(srv.output[-50:])


def _schemathesis(live_api, report_dir, *options, config=None):
    """Runs schemathesis's CLI (its pytest plugin does not support pytest 9); it exits
    non-zero on any failed check."""
    command = [str(Path(sys.executable).parent / "schemathesis")]
    if config:
        config_file = report_dir / "schemathesis.toml"
        config_file.write_text(config)
        command += ["--config-file", str(config_file)]
    done = subprocess.run(
        [
            *command,
            "run",
            f"{live_api.http_url}/api/v1/openapi.json",
            "--header",
            f"Authorization: Bearer {ADMIN_TOKEN}",
            "--checks",
            ",".join(CHECKS),
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--request-timeout",
            "15",
            "--seed",
            "20261121",
            "--no-color",
            "--report",
            "junit",
            "--report-dir",
            str(report_dir),
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    print(done.stdout[-3000:])
    assert done.returncode == 0, done.stdout[-20000:] + done.stderr[-5000:]
    generated = re.search(r"(\d+) generated, (\d+) passed", done.stdout)
    assert generated and generated.group(1) == generated.group(2), done.stdout[-5000:]
    return int(generated.group(1))


def test_no_request_makes_the_api_fail(live_api, tmp_path):
    cases = _schemathesis(
        live_api,
        tmp_path,
        # The event stream never ends by design (a real SSE client tests it), and revoking
        # tokens at random would revoke the fuzzer's own.
        "--exclude-path-regex",
        r"/events$|/api-tokens/\{id\}$",
    )
    assert cases > 500, f"only {cases} requests were generated"


@pytest.mark.parametrize("charger", ["FUZZ-16", "FUZZ-201"])
def test_no_command_to_a_connected_charger_makes_the_api_fail(live_api, tmp_path, charger):
    """The same against one charger's operations with its real id, so generated commands and
    raw calls reach the version mapping, validation and a live connection."""
    _schemathesis(
        live_api,
        tmp_path,
        "--include-path-regex",
        r"^/api/v1/chargers/\{id\}",
        config=f'[parameters]\n"path.id" = "{charger}"\n',
    )
