"""`ampere sim` drives a CSMS nobody here wrote: a central system built the way the Python
`ocpp` package's examples build one (a `ChargePoint` subclass per version with `@on`
handlers, served by `websockets`). It records what it receives; the simulator runs a boot
and full transactions in OCPP 1.6 and 2.0.1, and the recording is checked: boot, status,
authorize, start, meter values and stop, with meter values that agree with each other.
"""

import asyncio
import os
from datetime import datetime, timezone
from pathlib import Path

import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16
from ocpp.v16.enums import RegistrationStatus
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("AMPERE_BIN", str(ROOT / "target" / "debug" / "ampere"))
TOKEN = "PYTOKEN1"


def now():
    return datetime.now(timezone.utc).isoformat()


class CentralSystem16(ChargePoint16):
    """OCPP 1.6 central system: accepts everything, numbers transactions from 1."""

    def __init__(self, *args, received, **kwargs):
        super().__init__(*args, **kwargs)
        self.received = received
        self.next_transaction = 1

    def record(self, action, payload):
        self.received.append((action, payload))

    @on(Action16.boot_notification)
    def on_boot(self, **payload):
        self.record("BootNotification", payload)
        return result16.BootNotification(
            current_time=now(), interval=60, status=RegistrationStatus.accepted
        )

    @on(Action16.heartbeat)
    def on_heartbeat(self, **payload):
        self.record("Heartbeat", payload)
        return result16.Heartbeat(current_time=now())

    @on(Action16.status_notification)
    def on_status(self, **payload):
        self.record("StatusNotification", payload)
        return result16.StatusNotification()

    @on(Action16.authorize)
    def on_authorize(self, **payload):
        self.record("Authorize", payload)
        return result16.Authorize(id_tag_info={"status": "Accepted"})

    @on(Action16.start_transaction)
    def on_start(self, **payload):
        self.record("StartTransaction", payload)
        transaction_id = self.next_transaction
        self.next_transaction += 1
        return result16.StartTransaction(
            transaction_id=transaction_id, id_tag_info={"status": "Accepted"}
        )

    @on(Action16.meter_values)
    def on_meter_values(self, **payload):
        self.record("MeterValues", payload)
        return result16.MeterValues()

    @on(Action16.stop_transaction)
    def on_stop(self, **payload):
        self.record("StopTransaction", payload)
        return result16.StopTransaction(id_tag_info={"status": "Accepted"})


class CentralSystem201(ChargePoint201):
    """OCPP 2.0.1 CSMS: accepts everything."""

    def __init__(self, *args, received, **kwargs):
        super().__init__(*args, **kwargs)
        self.received = received

    def record(self, action, payload):
        self.received.append((action, payload))

    @on(Action201.boot_notification)
    def on_boot(self, **payload):
        self.record("BootNotification", payload)
        return result201.BootNotification(
            current_time=now(), interval=60, status="Accepted"
        )

    @on(Action201.heartbeat)
    def on_heartbeat(self, **payload):
        self.record("Heartbeat", payload)
        return result201.Heartbeat(current_time=now())

    @on(Action201.status_notification)
    def on_status(self, **payload):
        self.record("StatusNotification", payload)
        return result201.StatusNotification()

    @on(Action201.authorize)
    def on_authorize(self, **payload):
        self.record("Authorize", payload)
        return result201.Authorize(id_token_info={"status": "Accepted"})

    @on(Action201.transaction_event)
    def on_transaction_event(self, **payload):
        self.record("TransactionEvent", payload)
        return result201.TransactionEvent()

    @on(Action201.meter_values)
    def on_meter_values(self, **payload):
        self.record("MeterValues", payload)
        return result201.MeterValues()


async def run_against_python_csms(version):
    """Serves the central system, runs `ampere sim` against it, returns what it got."""
    received = []

    async def on_connect(connection):
        identity = connection.request.path.strip("/").split("/")[-1]
        if connection.subprotocol == "ocpp1.6":
            charge_point = CentralSystem16(identity, connection, received=received)
        else:
            charge_point = CentralSystem201(identity, connection, received=received)
        try:
            await charge_point.start()
        except websockets.exceptions.ConnectionClosed:
            pass

    async with websockets.serve(
        on_connect, "127.0.0.1", 0, subprotocols=["ocpp1.6", "ocpp2.0.1"]
    ) as server:
        port = server.sockets[0].getsockname()[1]
        sim = await asyncio.create_subprocess_exec(
            BIN,
            "sim",
            "--url", f"ws://127.0.0.1:{port}/ocpp",
            "--chargers", "1",
            "--version", version,
            "--id-prefix", "PY",
            "--id-tokens", TOKEN,
            "--session-interval", "0.3",
            "--session-duration", "1.5",
            "--meter-interval", "0.4",
            "--duration", "5",
            "--report-interval", "0",
            "--seed", "7",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "RUST_LOG": "warn"},
        )
        output, _ = await asyncio.wait_for(sim.communicate(), timeout=60)
        assert sim.returncode == 0, output.decode()
    summary = output.decode().strip().splitlines()[-1]
    assert "CALLERROR 0" in summary and "invalid answers 0" in summary, summary
    return received


def actions(received):
    return [action for action, _ in received]


def energy_16(meter_value):
    return [
        float(s["value"])
        for s in meter_value["sampled_value"]
        if s.get("measurand", "Energy.Active.Import.Register")
        == "Energy.Active.Import.Register"
    ]


def test_a_1_6_charge_point_boots_and_charges_against_the_python_central_system():
    received = asyncio.run(run_against_python_csms("1.6"))
    seen = actions(received)
    assert seen[0] == "BootNotification", seen
    boot = received[0][1]
    assert boot["charge_point_vendor"] == "Ampere"
    assert boot["charge_point_model"] == "SimCharger"
    for action in ["StatusNotification", "Authorize", "StartTransaction", "MeterValues", "StopTransaction"]:
        assert action in seen, f"{action} missing from {seen}"
    # The first session, message by message, in order: authorize, start, readings, stop.
    authorize = seen.index("Authorize")
    start = seen.index("StartTransaction", authorize)
    stop = seen.index("StopTransaction", start)
    assert received[authorize][1]["id_tag"] == TOKEN
    started = received[start][1]
    stopped = received[stop][1]
    assert started["id_tag"] == TOKEN
    transaction_id = 1
    assert stopped["transaction_id"] == transaction_id
    readings = [
        energy
        for action, payload in received[start:stop]
        if action == "MeterValues" and payload.get("transaction_id") == transaction_id
        for mv in payload["meter_value"]
        for energy in energy_16(mv)
    ]
    assert readings, f"meter values during the transaction: {seen[start:stop]}"
    # The register never goes down: start ≤ every reading ≤ stop, and energy flowed.
    series = [started["meter_start"], *readings, stopped["meter_stop"]]
    assert series == sorted(series), series
    assert stopped["meter_stop"] > started["meter_start"], series
    # The connector went through the states of a session.
    statuses = [p["status"] for a, p in received if a == "StatusNotification"]
    for status in ["Available", "Preparing", "Charging", "Finishing"]:
        assert status in statuses, statuses


def energy_201(meter_values):
    return [
        float(s["value"])
        for mv in meter_values or []
        for s in mv["sampled_value"]
        if s.get("measurand", "Energy.Active.Import.Register")
        == "Energy.Active.Import.Register"
    ]


def test_a_2_0_1_station_boots_and_charges_against_the_python_csms():
    received = asyncio.run(run_against_python_csms("2.0.1"))
    seen = actions(received)
    assert seen[0] == "BootNotification", seen
    boot = received[0][1]
    assert boot["charging_station"]["vendor_name"] == "Ampere"
    assert boot["reason"] == "PowerUp"
    for action in ["StatusNotification", "Authorize", "TransactionEvent"]:
        assert action in seen, f"{action} missing from {seen}"
    authorize = seen.index("Authorize")
    assert received[authorize][1]["id_token"] == {"id_token": TOKEN, "type": "ISO14443"}
    events = [p for a, p in received if a == "TransactionEvent"]
    started = next(e for e in events if e["event_type"] == "Started")
    transaction_id = started["transaction_info"]["transaction_id"]
    same = [e for e in events if e["transaction_info"]["transaction_id"] == transaction_id]
    kinds = [e["event_type"] for e in same]
    assert kinds[0] == "Started" and kinds[-1] == "Ended", kinds
    assert "Updated" in kinds, kinds
    # Sequence numbers count up from 0 without a gap.
    assert [e["seq_no"] for e in same] == list(range(len(same)))
    assert started["id_token"]["id_token"] == TOKEN
    series = [energy for e in same for energy in energy_201(e.get("meter_value"))]
    assert len(series) >= 3, series
    assert series == sorted(series) and series[-1] > series[0], series
    statuses = [p["connector_status"] for a, p in received if a == "StatusNotification"]
    assert "Available" in statuses and "Occupied" in statuses, statuses
