#!/usr/bin/env python3
"""A CSMS as a team might write it with the Python `ocpp` package: the reference that
BENCHMARKS.md compares Ampere with (`ampere bench --reference-target python=URL`).

It answers what the bench chargers send — BootNotification, Heartbeat, StatusNotification,
Authorize, 1.6 Start/StopTransaction and MeterValues, 2.0.1 TransactionEvent — using the
package's `ChargePoint` server side over `websockets`, and stores every message in SQLite.

Fairness: like Ampere, it makes each message durable before it answers: one SQLite
connection in WAL mode with `synchronous=FULL`, one COMMIT per message (so an answered
message survives a power loss). Like Ampere it validates every message against the OCA
schema (the package does that by default). It stores less than Ampere does (no status
history, no de-duplication of retried messages, no transaction-integrity rules), so it
has less to do per message.

Run it from the repository root (the `.venv` holds the `ocpp` package):

    .venv/bin/python bench/python_csms.py --port 9000 --db /tmp/python-csms.db

Chargers connect to ws://127.0.0.1:9000/ocpp/IDENTITY with ocpp1.6 or ocpp2.0.1. Every
charger is accepted (there is no registration), as with Ampere's
`--unknown-chargers accept`.
"""

import argparse
import asyncio
import logging
import sqlite3
from datetime import datetime, timezone

import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16
from ocpp.v16.enums import AuthorizationStatus, RegistrationStatus
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201
from ocpp.v201.enums import AuthorizationStatusEnumType, RegistrationStatusEnumType

SCHEMA = """
CREATE TABLE IF NOT EXISTS chargers (
    id TEXT PRIMARY KEY, protocol TEXT, vendor TEXT, model TEXT, last_boot TEXT, last_seen TEXT);
CREATE TABLE IF NOT EXISTS connector_status (
    charger TEXT, connector INTEGER, status TEXT, at TEXT, PRIMARY KEY (charger, connector));
CREATE TABLE IF NOT EXISTS transactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, charger TEXT, charger_tx_id TEXT, connector INTEGER,
    id_tag TEXT, meter_start REAL, started TEXT, meter_stop REAL, stopped TEXT,
    UNIQUE (charger, charger_tx_id));
CREATE TABLE IF NOT EXISTS meter_values (
    id INTEGER PRIMARY KEY AUTOINCREMENT, charger TEXT, transaction_id INTEGER, seq_no INTEGER,
    at TEXT, measurand TEXT, value TEXT, unit TEXT);
"""


def now():
    return datetime.now(timezone.utc).isoformat()


class Store:
    """One connection, one commit per message (see the module docstring)."""

    def __init__(self, path):
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)

    def unit(self, statements):
        """Runs (sql, params) pairs in one transaction and commits; returns the last row id."""
        cursor = self.db.cursor()
        cursor.execute("BEGIN")
        try:
            for sql, params in statements:
                cursor.execute(sql, params)
            cursor.execute("COMMIT")
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        return cursor.lastrowid

    def transaction_row(self, charger, charger_tx_id):
        row = self.db.execute(
            "SELECT id FROM transactions WHERE charger = ? AND charger_tx_id = ?",
            (charger, charger_tx_id),
        ).fetchone()
        return row[0] if row else None


def seen(charger):
    return ("UPDATE chargers SET last_seen = ? WHERE id = ?", (now(), charger))


def readings(charger, transaction_id, seq_no, meter_values, unit_key):
    """INSERTs for every sampled value of a list of meter values (1.6 or 2.0.1 shape)."""
    out = []
    for meter_value in meter_values or []:
        for sample in meter_value.get("sampled_value", []):
            unit = sample.get("unit") if unit_key == "unit" else (sample.get("unit_of_measure") or {}).get("unit")
            out.append((
                "INSERT INTO meter_values (charger, transaction_id, seq_no, at, measurand, value, unit)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (charger, transaction_id, seq_no, meter_value.get("timestamp"),
                 sample.get("measurand"), str(sample.get("value")), unit),
            ))
    return out


class CSMS16(ChargePoint16):
    store: Store

    @on(Action16.boot_notification)
    def on_boot(self, charge_point_vendor, charge_point_model, **_):
        self.store.unit([(
            "INSERT INTO chargers (id, protocol, vendor, model, last_boot, last_seen) VALUES (?, '1.6', ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET vendor = excluded.vendor, model = excluded.model,"
            " last_boot = excluded.last_boot, last_seen = excluded.last_seen",
            (self.id, charge_point_vendor, charge_point_model, now(), now()),
        )])
        return result16.BootNotification(current_time=now(), interval=300, status=RegistrationStatus.accepted)

    @on(Action16.heartbeat)
    def on_heartbeat(self, **_):
        self.store.unit([seen(self.id)])
        return result16.Heartbeat(current_time=now())

    @on(Action16.status_notification)
    def on_status(self, connector_id, status, **kwargs):
        self.store.unit([(
            "INSERT OR REPLACE INTO connector_status (charger, connector, status, at) VALUES (?, ?, ?, ?)",
            (self.id, connector_id, status, kwargs.get("timestamp") or now()),
        )])
        return result16.StatusNotification()

    @on(Action16.authorize)
    def on_authorize(self, id_tag, **_):
        return result16.Authorize(id_tag_info={"status": AuthorizationStatus.accepted})

    @on(Action16.start_transaction)
    def on_start(self, connector_id, id_tag, meter_start, timestamp, **_):
        transaction_id = self.store.unit([(
            "INSERT INTO transactions (charger, connector, id_tag, meter_start, started) VALUES (?, ?, ?, ?, ?)",
            (self.id, connector_id, id_tag, meter_start, timestamp),
        )])
        return result16.StartTransaction(
            transaction_id=transaction_id, id_tag_info={"status": AuthorizationStatus.accepted})

    @on(Action16.meter_values)
    def on_meter_values(self, connector_id, meter_value, transaction_id=None, **_):
        self.store.unit(readings(self.id, transaction_id, None, meter_value, "unit"))
        return result16.MeterValues()

    @on(Action16.stop_transaction)
    def on_stop(self, meter_stop, timestamp, transaction_id, **kwargs):
        self.store.unit(
            [("UPDATE transactions SET meter_stop = ?, stopped = ? WHERE id = ?", (meter_stop, timestamp, transaction_id))]
            + readings(self.id, transaction_id, None, kwargs.get("transaction_data"), "unit"))
        return result16.StopTransaction()


class CSMS201(ChargePoint201):
    store: Store

    @on(Action201.boot_notification)
    def on_boot(self, charging_station, reason, **_):
        self.store.unit([(
            "INSERT INTO chargers (id, protocol, vendor, model, last_boot, last_seen) VALUES (?, '2.0.1', ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET vendor = excluded.vendor, model = excluded.model,"
            " last_boot = excluded.last_boot, last_seen = excluded.last_seen",
            (self.id, charging_station.get("vendor_name"), charging_station.get("model"), now(), now()),
        )])
        return result201.BootNotification(
            current_time=now(), interval=300, status=RegistrationStatusEnumType.accepted)

    @on(Action201.heartbeat)
    def on_heartbeat(self, **_):
        self.store.unit([seen(self.id)])
        return result201.Heartbeat(current_time=now())

    @on(Action201.status_notification)
    def on_status(self, timestamp, connector_status, evse_id, connector_id, **_):
        self.store.unit([(
            "INSERT OR REPLACE INTO connector_status (charger, connector, status, at) VALUES (?, ?, ?, ?)",
            (self.id, evse_id * 100 + connector_id, connector_status, timestamp),
        )])
        return result201.StatusNotification()

    @on(Action201.authorize)
    def on_authorize(self, id_token, **_):
        return result201.Authorize(id_token_info={"status": AuthorizationStatusEnumType.accepted})

    @on(Action201.transaction_event)
    def on_transaction_event(self, event_type, timestamp, trigger_reason, seq_no, transaction_info, **kwargs):
        charger_tx_id = transaction_info["transaction_id"]
        row = self.store.transaction_row(self.id, charger_tx_id)
        statements = []
        if row is None:
            evse = kwargs.get("evse") or {}
            row = self.store.unit([(
                "INSERT INTO transactions (charger, charger_tx_id, connector, id_tag, started) VALUES (?, ?, ?, ?, ?)",
                (self.id, charger_tx_id, evse.get("id"), (kwargs.get("id_token") or {}).get("id_token"), timestamp),
            )])
        if event_type == "Ended":
            statements.append(("UPDATE transactions SET stopped = ? WHERE id = ?", (timestamp, row)))
        statements += readings(self.id, row, seq_no, kwargs.get("meter_value"), "unit_of_measure")
        if statements:
            self.store.unit(statements)
        return result201.TransactionEvent()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--db", default="python-csms.db")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    store = Store(args.db)

    async def on_connect(connection):
        identity = connection.request.path.rstrip("/").rsplit("/", 1)[-1]
        kind = CSMS16 if connection.subprotocol == "ocpp1.6" else CSMS201
        charge_point = kind(identity, connection)
        charge_point.store = store
        try:
            await charge_point.start()
        except websockets.exceptions.ConnectionClosed:
            pass

    async with websockets.serve(
        on_connect, args.host, args.port, subprotocols=["ocpp2.0.1", "ocpp1.6"],
        compression=None, max_queue=8,
    ):
        print(f"python CSMS: ws://{args.host}:{args.port}/ocpp (chargers connect to …/ocpp/IDENTITY)", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main())
