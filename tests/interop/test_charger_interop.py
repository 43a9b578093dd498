"""The independent Python `ocpp` charge point against a real `ampere serve`, per version.

Each test drives one charger the way firmware does (boot, heartbeat, status, authorize,
transactions with meter values, a retried message, an offline queue replayed after a
reconnect) and then checks what the store made durable. The client validates every answer
it gets against the official OCA schemas, so a malformed answer fails the test too.
"""

import asyncio
import base64
from datetime import datetime, timedelta, timezone

import pytest
import websockets
from ocpp import v16, v201, v21

TOKENS = {
    "ACCEPTED1": ("Accepted", None),
    "BLOCKED1": ("Blocked", None),
    "EXPIRED1": ("Accepted", "2020-01-01T00:00:00Z"),
}


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


class Ocpp16:
    subprotocol = "ocpp1.6"
    charge_point = v16.ChargePoint
    call = v16.call

    async def boot(self, cp):
        r = await cp.call(
            self.call.BootNotification(
                charge_point_vendor="VendorX",
                charge_point_model="Model-16",
                charge_point_serial_number="SN-16",
                firmware_version="1.6.0",
                iccid="8931000000000000001",
                imsi="262010000000001",
                meter_type="MID-Meter",
                meter_serial_number="MS-16",
            )
        )
        return r.status, r.interval

    async def status(self, cp, status):
        await cp.call(
            self.call.StatusNotification(connector_id=1, error_code="NoError", status=status)
        )

    async def authorize(self, cp, token):
        r = await cp.call(self.call.Authorize(id_tag=token))
        return r.id_tag_info["status"]

    async def transaction(self, cp, token, meter_wh, start, offline=False, retry_start=False):
        """Start, sample each reading in meter_wh[1:-1], stop; returns the transaction id."""
        start_call = self.call.StartTransaction(
            connector_id=1, id_tag=token, meter_start=meter_wh[0], timestamp=iso(start)
        )
        r = await cp.call(start_call)
        tx_id = r.transaction_id
        assert r.id_tag_info["status"] == "Accepted"
        if retry_start:
            # The charger lost our answer and sends the same StartTransaction again.
            again = await cp.call(start_call)
            assert again.transaction_id == tx_id
        for i, wh in enumerate(meter_wh[1:-1], start=1):
            await cp.call(
                self.call.MeterValues(
                    connector_id=1,
                    transaction_id=tx_id,
                    meter_value=[
                        {
                            "timestamp": iso(start + timedelta(minutes=i)),
                            "sampled_value": [
                                {
                                    "value": str(wh),
                                    "measurand": "Energy.Active.Import.Register",
                                    "unit": "Wh",
                                    "context": "Sample.Periodic",
                                    "location": "Outlet",
                                },
                                {"value": "7.4", "measurand": "Power.Active.Import", "unit": "kW"},
                            ],
                        }
                    ],
                )
            )
        stop = await cp.call(
            self.call.StopTransaction(
                transaction_id=tx_id,
                meter_stop=meter_wh[-1],
                timestamp=iso(start + timedelta(minutes=len(meter_wh))),
                id_tag=token,
                reason="Local",
            )
        )
        assert stop.id_tag_info is None or stop.id_tag_info["status"] == "Accepted"
        return str(tx_id)


class Ocpp2x:
    """2.0.1 and 2.1 share these messages."""

    def __init__(self, subprotocol, module):
        self.subprotocol = subprotocol
        self.charge_point = module.ChargePoint
        self.call = module.call
        self._tx = 0

    async def boot(self, cp):
        r = await cp.call(
            self.call.BootNotification(
                charging_station={
                    "vendor_name": "VendorX",
                    "model": "Model-2x",
                    "serial_number": "SN-2x",
                    "firmware_version": "2.0.1",
                    "modem": {"iccid": "8931000000000000002", "imsi": "262010000000002"},
                },
                reason="PowerUp",
            )
        )
        return r.status, r.interval

    async def status(self, cp, status):
        status = {"Preparing": "Occupied", "Charging": "Occupied", "Finishing": "Occupied"}.get(
            status, status
        )
        await cp.call(
            self.call.StatusNotification(
                timestamp=iso(datetime.now(timezone.utc)),
                connector_status=status,
                evse_id=1,
                connector_id=1,
            )
        )

    async def authorize(self, cp, token):
        r = await cp.call(self.call.Authorize(id_token={"id_token": token, "type": "ISO14443"}))
        return r.id_token_info["status"]

    def _event(self, event_type, seq_no, when, tx_id, token, wh, trigger, offline, stopped=None):
        info = {"transaction_id": tx_id, "charging_state": "Charging"}
        if stopped:
            info = {"transaction_id": tx_id, "charging_state": "Idle", "stopped_reason": stopped}
        return self.call.TransactionEvent(
            event_type=event_type,
            seq_no=seq_no,
            timestamp=iso(when),
            trigger_reason=trigger,
            transaction_info=info,
            id_token={"id_token": token, "type": "ISO14443"} if event_type == "Started" else None,
            evse={"id": 1, "connector_id": 1} if event_type == "Started" else None,
            meter_value=[
                {
                    "timestamp": iso(when),
                    "sampled_value": [
                        {
                            "value": wh,
                            "measurand": "Energy.Active.Import.Register",
                            "context": "Transaction.Begin"
                            if event_type == "Started"
                            else "Transaction.End"
                            if event_type == "Ended"
                            else "Sample.Periodic",
                            "unit_of_measure": {"unit": "Wh"},
                        }
                    ],
                }
            ],
            offline=offline,
        )

    async def transaction(self, cp, token, meter_wh, start, offline=False, retry_start=False):
        self._tx += 1
        tx_id = f"TX-{self.subprotocol}-{self._tx}-{int(start.timestamp())}"
        started = self._event("Started", 0, start, tx_id, token, meter_wh[0], "Authorized", offline)
        r = await cp.call(started)
        if not offline:
            assert r.id_token_info["status"] == "Accepted"
        if retry_start:
            # Same transaction and sequence number again: acknowledged, counted once.
            await cp.call(started)
        for i, wh in enumerate(meter_wh[1:-1], start=1):
            await cp.call(
                self._event(
                    "Updated", i, start + timedelta(minutes=i), tx_id, token, wh,
                    "MeterValuePeriodic", offline,
                )
            )
        await cp.call(
            self._event(
                "Ended", len(meter_wh) - 1, start + timedelta(minutes=len(meter_wh)), tx_id,
                token, meter_wh[-1], "StopAuthorized", offline, stopped="Local",
            )
        )
        return tx_id


VERSIONS = {
    "1.6": Ocpp16(),
    "2.0.1": Ocpp2x("ocpp2.0.1", v201),
    "2.1": Ocpp2x("ocpp2.1", v21),
}


async def connect(server, version, identity, password=None, url=None, ssl=None):
    headers = {}
    if password is not None:
        cred = base64.b64encode(f"{identity}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {cred}"
    ws = await websockets.connect(
        f"{url or server.ocpp_url}/{identity}",
        subprotocols=[version.subprotocol],
        additional_headers=headers,
        ssl=ssl,
    )
    assert ws.subprotocol == version.subprotocol
    cp = version.charge_point(identity, ws, response_timeout=10)
    task = asyncio.create_task(cp.start())
    return ws, cp, task


async def disconnect(ws, task):
    await ws.close()
    task.cancel()
    try:
        await task
    except (asyncio.CancelledError, websockets.ConnectionClosed):
        pass


def register_tokens(server):
    for token, (status, expiry) in TOKENS.items():
        args = ["id-token", "add", token, "--status", status]
        if expiry:
            args += ["--expiry", expiry]
        server.cli(*args)


@pytest.mark.parametrize("name", list(VERSIONS))
def test_charger_lifecycle(server, name):
    version = VERSIONS[name]
    identity = "CP-" + name.replace(".", "")
    server.cli("charger", "add", identity, "--password", "s3cret-pass")
    register_tokens(server)
    server.start()

    async def scenario():
        ws, cp, task = await connect(server, version, identity, "s3cret-pass")
        status, interval = await version.boot(cp)
        assert status == "Accepted"
        assert interval > 0
        hb = await cp.call(version.call.Heartbeat())
        assert abs(datetime.fromisoformat(hb.current_time.replace("Z", "+00:00"))
                   - datetime.now(timezone.utc)) < timedelta(minutes=1)
        await version.status(cp, "Available")

        assert await version.authorize(cp, "ACCEPTED1") == "Accepted"
        assert await version.authorize(cp, "UNKNOWN1") == "Invalid"
        assert await version.authorize(cp, "BLOCKED1") == "Blocked"
        assert await version.authorize(cp, "EXPIRED1") == "Expired"

        now = datetime.now(timezone.utc).replace(microsecond=0)
        await version.status(cp, "Charging")
        full = await version.transaction(
            cp, "ACCEPTED1", [1000, 1800, 3100, 5000], now - timedelta(hours=2)
        )
        retried = await version.transaction(
            cp, "ACCEPTED1", [5000, 5250, 5500], now - timedelta(hours=1), retry_start=True
        )
        await version.status(cp, "Available")
        await disconnect(ws, task)

        # Offline: the charger ran a session without us and replays its queue on reconnect.
        ws, cp, task = await connect(server, version, identity, "s3cret-pass")
        status, _ = await version.boot(cp)
        assert status == "Accepted"
        offline = await version.transaction(
            cp, "ACCEPTED1", [5500, 5900, 6200], now - timedelta(minutes=30), offline=True
        )
        await disconnect(ws, task)
        return full, retried, offline

    full, retried, offline = asyncio.run(scenario())
    assert server.stop() == 0

    with server.db() as db:
        rows = db.execute(
            "SELECT transaction_id, energy_wh, status, tx_serial FROM transactions"
            " WHERE charger_id = ? ORDER BY started_at",
            (identity,),
        ).fetchall()
        by_id = {r[0]: (float(r[1]), r[2], r[3]) for r in rows}
        assert len(rows) == 3, rows
        assert by_id[full][:2] == (4000, "completed")
        assert by_id[retried][:2] == (500, "completed")
        assert by_id[offline][:2] == (700, "completed")

        def energy_samples(tx_id):
            (n,) = db.execute(
                "SELECT count(*) FROM meter_values"
                " WHERE tx_serial = ? AND measurand = 'Energy.Active.Import.Register'",
                (by_id[tx_id][2],),
            ).fetchone()
            return n

        # Every reading stored once, retried messages included. 1.6 readings arrive in
        # MeterValues between start and stop; 2.x ones in every TransactionEvent.
        expected = (2, 1, 1) if name == "1.6" else (4, 3, 3)
        assert tuple(energy_samples(t) for t in (full, retried, offline)) == expected
        vendor, model, serial = db.execute(
            "SELECT vendor, model, serial_number FROM chargers WHERE id = ?", (identity,)
        ).fetchone()
        assert (vendor, model) == ("VendorX", "Model-16" if name == "1.6" else "Model-2x")
        assert serial in ("SN-16", "SN-2x")


@pytest.mark.parametrize("name", list(VERSIONS))
def test_wrong_or_missing_password_is_refused(server, name):
    version = VERSIONS[name]
    server.cli("charger", "add", "CP-LOCKED", "--password", "right-password-1")
    server.start()

    async def scenario():
        for password in (None, "wrong-password-1"):
            with pytest.raises(websockets.InvalidStatus) as refused:
                await connect(server, version, "CP-LOCKED", password)
            assert refused.value.response.status_code == 401
            assert "Basic" in refused.value.response.headers.get("WWW-Authenticate", "")
        ws, cp, task = await connect(server, version, "CP-LOCKED", "right-password-1")
        status, _ = await version.boot(cp)
        assert status == "Accepted"
        await disconnect(ws, task)

    asyncio.run(scenario())


def test_unknown_charger_is_pending_until_approved(server):
    version = VERSIONS["2.0.1"]
    server.start()  # default policy: pending

    async def scenario():
        ws, cp, task = await connect(server, version, "CP-NEW")
        status, _ = await version.boot(cp)
        assert status == "Pending"
        await disconnect(ws, task)

    asyncio.run(scenario())
    listed = server.cli("charger", "list")
    assert "CP-NEW" in listed and "Pending" in listed
