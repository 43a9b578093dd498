//! [`StoreTx`] on one sqlx transaction, for both backends.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Row};

use ampere_domain::StoreError;
use ampere_domain::charger::{Charger, ConnectionEvent, SecurityProfile};
use ampere_domain::ids::{
    ChargerId, ConnectorId, ConnectorRef, EvseId, IdToken, IdTokenKind, TransactionId,
};
use ampere_domain::meter::{MeterValue, SampledValue, SignedMeterValue};
use ampere_domain::ports::{StoreResult, StoreTx, StoredMeterValues, TransactionFilter};
use ampere_domain::report::{ChargerReport, ReportKind};
use ampere_domain::status::StatusReport;
use ampere_domain::token::IdTokenRecord;
use ampere_domain::transaction::{Transaction, TransactionEventRecord};

use crate::codec::{dec_opt, flag, parse, parse_dec_opt, parse_ts, parse_ts_opt, ts, ts_opt};
use crate::error::map_sqlx;
use crate::group::Unit;
use crate::last_seen::LastSeen;

type Query<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;

/// One unit of work: a database transaction of its own, or (SQLite's writer) a savepoint
/// in a group transaction that commits many units at once ([`crate::group`]). Dropping it
/// without [`StoreTx::commit`] rolls it back.
pub struct SqlTx {
    conn: Conn,
    last_seen: LastSeen,
}

enum Conn {
    Own(sqlx::Transaction<'static, Any>),
    Grouped(Unit),
}

impl SqlTx {
    pub(crate) fn new(tx: sqlx::Transaction<'static, Any>, last_seen: LastSeen) -> Self {
        Self {
            conn: Conn::Own(tx),
            last_seen,
        }
    }

    pub(crate) fn grouped(unit: Unit, last_seen: LastSeen) -> Self {
        Self {
            conn: Conn::Grouped(unit),
            last_seen,
        }
    }

    fn conn(&mut self) -> &mut AnyConnection {
        match &mut self.conn {
            Conn::Own(tx) => tx,
            Conn::Grouped(unit) => unit.conn(),
        }
    }

    async fn execute(&mut self, q: Query<'_>) -> StoreResult<u64> {
        q.execute(self.conn())
            .await
            .map(|r| r.rows_affected())
            .map_err(map_sqlx)
    }

    async fn fetch_optional(&mut self, q: Query<'_>) -> StoreResult<Option<AnyRow>> {
        q.fetch_optional(self.conn()).await.map_err(map_sqlx)
    }

    async fn fetch_all(&mut self, q: Query<'_>) -> StoreResult<Vec<AnyRow>> {
        q.fetch_all(self.conn()).await.map_err(map_sqlx)
    }
}

fn get<'r, T>(row: &'r AnyRow, col: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, Any> + sqlx::Type<Any>,
{
    row.try_get(col).map_err(map_sqlx)
}

fn number<T: TryFrom<i64>>(n: i64, what: &str) -> StoreResult<T> {
    T::try_from(n).map_err(|_| StoreError::Corrupt(format!("{what} out of range: {n}")))
}

fn charger_id(text: String) -> StoreResult<ChargerId> {
    ChargerId::new(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn place(evse: Option<i64>, connector: Option<i64>) -> StoreResult<Option<ConnectorRef>> {
    match (evse, connector) {
        (Some(e), Some(c)) => {
            let evse = EvseId::new(number(e, "evse_id")?)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let connector = ConnectorId::new(number(c, "connector_id")?)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Ok(Some(ConnectorRef::new(evse, connector)))
        }
        _ => Ok(None),
    }
}

fn place_cols(p: Option<ConnectorRef>) -> (Option<i64>, Option<i64>) {
    match p {
        Some(p) => (Some(p.evse.get().into()), Some(p.connector.get().into())),
        None => (None, None),
    }
}

fn id_token(value: Option<String>, kind: Option<String>) -> StoreResult<Option<IdToken>> {
    match (value, kind) {
        (Some(v), Some(k)) => {
            let kind = IdTokenKind::parse(&k).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Ok(Some(
                IdToken::new(v, kind).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            ))
        }
        _ => Ok(None),
    }
}

// ---------------------------------------------------------------- chargers

const CHARGER_COLS: &str = "id, registration_status, password_hash, security_profile, protocol, \
    vendor, model, serial_number, firmware_version, iccid, imsi, meter_type, meter_serial_number, \
    last_boot_at, last_seen, heartbeat_interval_s, created_at";

fn charger_row(row: &AnyRow) -> StoreResult<Charger> {
    let profile: i64 = get(row, "security_profile")?;
    Ok(Charger {
        id: charger_id(get(row, "id")?)?,
        registration_status: parse(&get::<String>(row, "registration_status")?)?,
        password_hash: get(row, "password_hash")?,
        security_profile: SecurityProfile::new(number(profile, "security_profile")?)
            .map_err(StoreError::Corrupt)?,
        protocol: get(row, "protocol")?,
        vendor: get(row, "vendor")?,
        model: get(row, "model")?,
        serial_number: get(row, "serial_number")?,
        firmware_version: get(row, "firmware_version")?,
        iccid: get(row, "iccid")?,
        imsi: get(row, "imsi")?,
        meter_type: get(row, "meter_type")?,
        meter_serial_number: get(row, "meter_serial_number")?,
        last_boot_at: parse_ts_opt(get(row, "last_boot_at")?)?,
        last_seen: parse_ts_opt(get(row, "last_seen")?)?,
        heartbeat_interval_s: get::<Option<i64>>(row, "heartbeat_interval_s")?
            .map(|n| number(n, "heartbeat_interval_s"))
            .transpose()?,
        created_at: parse_ts(&get::<String>(row, "created_at")?)?,
    })
}

/// Binds the charger's columns after `id` in `CHARGER_COLS` order.
fn bind_charger<'q>(q: Query<'q>, c: &'q Charger) -> Query<'q> {
    q.bind(c.registration_status.as_str())
        .bind(c.password_hash.as_deref())
        .bind(i64::from(c.security_profile.get()))
        .bind(c.protocol.as_deref())
        .bind(c.vendor.as_deref())
        .bind(c.model.as_deref())
        .bind(c.serial_number.as_deref())
        .bind(c.firmware_version.as_deref())
        .bind(c.iccid.as_deref())
        .bind(c.imsi.as_deref())
        .bind(c.meter_type.as_deref())
        .bind(c.meter_serial_number.as_deref())
        .bind(ts_opt(c.last_boot_at))
        .bind(ts_opt(c.last_seen))
        .bind(c.heartbeat_interval_s.map(i64::from))
        .bind(ts(c.created_at))
}

// ---------------------------------------------------------------- status

const STATUS_COLS: &str =
    "evse_id, connector_id, status, error_code, info, vendor_id, vendor_error_code, status_at";

fn status_row(row: &AnyRow) -> StoreResult<StatusReport> {
    Ok(StatusReport {
        place: place(get(row, "evse_id")?, get(row, "connector_id")?)?
            .ok_or_else(|| StoreError::Corrupt("status without a place".into()))?,
        status: parse(&get::<String>(row, "status")?)?,
        error_code: get(row, "error_code")?,
        info: get(row, "info")?,
        vendor_id: get(row, "vendor_id")?,
        vendor_error_code: get(row, "vendor_error_code")?,
        timestamp: parse_ts(&get::<String>(row, "status_at")?)?,
    })
}

/// Binds `charger_id` and the report's columns in `STATUS_COLS` order.
fn bind_status<'q>(q: Query<'q>, charger: &'q ChargerId, r: &'q StatusReport) -> Query<'q> {
    q.bind(charger.as_str())
        .bind(i64::from(r.place.evse.get()))
        .bind(i64::from(r.place.connector.get()))
        .bind(r.status.as_str())
        .bind(r.error_code.as_deref())
        .bind(r.info.as_deref())
        .bind(r.vendor_id.as_deref())
        .bind(r.vendor_error_code.as_deref())
        .bind(ts(r.timestamp))
}

// ---------------------------------------------------------------- id tokens

fn token_row(row: &AnyRow) -> StoreResult<IdTokenRecord> {
    Ok(IdTokenRecord {
        token: id_token(get(row, "value")?, get(row, "kind")?)?
            .ok_or_else(|| StoreError::Corrupt("id token without value".into()))?,
        status: parse(&get::<String>(row, "status")?)?,
        expiry_date: parse_ts_opt(get(row, "expiry_date")?)?,
        group_id: get(row, "group_id")?,
    })
}

// ---------------------------------------------------------------- transactions

const TX_COLS: &str = "tx_serial, charger_id, transaction_id, evse_id, connector_id, id_token, \
    id_token_kind, id_token_key, started_at, stopped_at, meter_start_wh, meter_start_at, \
    meter_stop_wh, energy_wh, last_meter_wh, last_meter_at, stop_reason, status, last_seq_no, \
    offline, last_trigger_reason, charging_state, remote_start_id, reservation_id, \
    meter_went_backwards, closed_by_reboot, unknown_start, updated_at";

/// The columns after `tx_serial, charger_id, transaction_id`, with their placeholders
/// starting at `$4`.
const TX_SET: &str = "evse_id = $4, connector_id = $5, id_token = $6, id_token_kind = $7, \
    id_token_key = $8, started_at = $9, stopped_at = $10, meter_start_wh = $11, \
    meter_start_at = $12, meter_stop_wh = $13, energy_wh = $14, last_meter_wh = $15, \
    last_meter_at = $16, stop_reason = $17, status = $18, last_seq_no = $19, offline = $20, \
    last_trigger_reason = $21, charging_state = $22, remote_start_id = $23, \
    reservation_id = $24, meter_went_backwards = $25, closed_by_reboot = $26, \
    unknown_start = $27, updated_at = $28";

fn tx_row(row: &AnyRow) -> StoreResult<Transaction> {
    let id: Option<String> = get(row, "transaction_id")?;
    let id = id.ok_or_else(|| StoreError::Corrupt("transaction without id".into()))?;
    Ok(Transaction {
        serial: get(row, "tx_serial")?,
        id: TransactionId::new(id).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        charger: charger_id(get(row, "charger_id")?)?,
        place: place(get(row, "evse_id")?, get(row, "connector_id")?)?,
        id_token: id_token(get(row, "id_token")?, get(row, "id_token_kind")?)?,
        started_at: parse_ts(&get::<String>(row, "started_at")?)?,
        stopped_at: parse_ts_opt(get(row, "stopped_at")?)?,
        meter_start_wh: parse_dec_opt(get(row, "meter_start_wh")?)?,
        meter_start_at: parse_ts_opt(get(row, "meter_start_at")?)?,
        meter_stop_wh: parse_dec_opt(get(row, "meter_stop_wh")?)?,
        energy_wh: parse_dec_opt(get(row, "energy_wh")?)?,
        last_meter_wh: parse_dec_opt(get(row, "last_meter_wh")?)?,
        last_meter_at: parse_ts_opt(get(row, "last_meter_at")?)?,
        stop_reason: get(row, "stop_reason")?,
        status: parse(&get::<String>(row, "status")?)?,
        last_seq_no: get(row, "last_seq_no")?,
        offline: get::<i64>(row, "offline")? != 0,
        last_trigger_reason: get(row, "last_trigger_reason")?,
        charging_state: get(row, "charging_state")?,
        remote_start_id: get(row, "remote_start_id")?,
        reservation_id: get(row, "reservation_id")?,
        meter_went_backwards: get::<i64>(row, "meter_went_backwards")? != 0,
        closed_by_reboot: get::<i64>(row, "closed_by_reboot")? != 0,
        unknown_start: get::<i64>(row, "unknown_start")? != 0,
        updated_at: parse_ts(&get::<String>(row, "updated_at")?)?,
    })
}

/// Binds the 25 columns after `transaction_id` (`$4…$28` of `TX_SET`).
fn bind_tx_fields<'q>(q: Query<'q>, t: &'q Transaction) -> Query<'q> {
    let (evse, connector) = place_cols(t.place);
    q.bind(evse)
        .bind(connector)
        .bind(t.id_token.as_ref().map(|t| t.value()))
        .bind(t.id_token.as_ref().map(|t| t.kind().as_str()))
        .bind(t.id_token.as_ref().map(|t| t.key()))
        .bind(ts(t.started_at))
        .bind(ts_opt(t.stopped_at))
        .bind(dec_opt(t.meter_start_wh))
        .bind(ts_opt(t.meter_start_at))
        .bind(dec_opt(t.meter_stop_wh))
        .bind(dec_opt(t.energy_wh))
        .bind(dec_opt(t.last_meter_wh))
        .bind(ts_opt(t.last_meter_at))
        .bind(t.stop_reason.as_deref())
        .bind(t.status.as_str())
        .bind(t.last_seq_no)
        .bind(flag(t.offline))
        .bind(t.last_trigger_reason.as_deref())
        .bind(t.charging_state.as_deref())
        .bind(t.remote_start_id)
        .bind(t.reservation_id)
        .bind(flag(t.meter_went_backwards))
        .bind(flag(t.closed_by_reboot))
        .bind(flag(t.unknown_start))
        .bind(ts(t.updated_at))
}

const EVENT_COLS: &str = "tx_serial, charger_id, transaction_id, seq_no, kind, event_at, \
    trigger_reason, stop_reason, offline, received_at";

fn event_row(row: &AnyRow) -> StoreResult<TransactionEventRecord> {
    Ok(TransactionEventRecord {
        transaction_serial: get(row, "tx_serial")?,
        charger: charger_id(get(row, "charger_id")?)?,
        transaction_id: TransactionId::new(get::<String>(row, "transaction_id")?)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        seq_no: get(row, "seq_no")?,
        kind: parse(&get::<String>(row, "kind")?)?,
        timestamp: parse_ts(&get::<String>(row, "event_at")?)?,
        trigger_reason: get(row, "trigger_reason")?,
        stop_reason: get(row, "stop_reason")?,
        offline: get::<i64>(row, "offline")? != 0,
        received_at: parse_ts(&get::<String>(row, "received_at")?)?,
    })
}

// ---------------------------------------------------------------- meter values

const METER_COLS: &str = "charger_id, evse_id, connector_id, tx_serial, transaction_id, \
    sampled_at, value, measurand, phase, unit, unit_multiplier, context, location, format, \
    signed_meter_data, signing_method, encoding_method, public_key, received_at";
const METER_COL_COUNT: usize = 19;
/// Rows per INSERT statement: 400 × 19 parameters stays under SQLite's 32766 and
/// PostgreSQL's 65535 bind-parameter limits with room to spare.
const METER_ROWS_PER_STATEMENT: usize = 400;

/// `INSERT … VALUES ($1, …), ($20, …), …` for `rows` rows.
fn meter_insert_sql(rows: usize) -> String {
    let mut sql = String::with_capacity(200 + rows * METER_COL_COUNT * 5);
    sql.push_str("INSERT INTO meter_values (");
    sql.push_str(METER_COLS);
    sql.push_str(") VALUES ");
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..METER_COL_COUNT {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(r * METER_COL_COUNT + c + 1).to_string());
        }
        sql.push(')');
    }
    sql
}

fn sampled_row(row: &AnyRow) -> StoreResult<SampledValue> {
    let signed_data: Option<String> = get(row, "signed_meter_data")?;
    Ok(SampledValue {
        value: get(row, "value")?,
        measurand: get(row, "measurand")?,
        phase: get(row, "phase")?,
        unit: get(row, "unit")?,
        unit_multiplier: get::<Option<i64>>(row, "unit_multiplier")?
            .map(|n| number(n, "unit_multiplier"))
            .transpose()?,
        context: get(row, "context")?,
        location: get(row, "location")?,
        format: get(row, "format")?,
        signed: match signed_data {
            Some(signed_meter_data) => Some(SignedMeterValue {
                signed_meter_data,
                signing_method: get(row, "signing_method")?,
                encoding_method: get(row, "encoding_method")?,
                public_key: get(row, "public_key")?,
            }),
            None => None,
        },
    })
}

/// Regroups sampled-value rows (in insertion order) into meter values: consecutive rows with
/// the same timestamp and attachment are one meter value.
fn group_meter_rows(rows: &[AnyRow]) -> StoreResult<Vec<StoredMeterValues>> {
    let mut out: Vec<StoredMeterValues> = Vec::new();
    for row in rows {
        let charger = charger_id(get(row, "charger_id")?)?;
        let place = place(get(row, "evse_id")?, get(row, "connector_id")?)?;
        let serial: Option<i64> = get(row, "tx_serial")?;
        let tx_id: Option<String> = get(row, "transaction_id")?;
        let transaction_id = tx_id
            .map(TransactionId::new)
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let timestamp = parse_ts(&get::<String>(row, "sampled_at")?)?;
        let sampled = sampled_row(row)?;
        match out.last_mut() {
            Some(last)
                if last.value.timestamp == timestamp
                    && last.charger == charger
                    && last.place == place
                    && last.transaction_serial == serial
                    && last.transaction_id == transaction_id =>
            {
                last.value.sampled.push(sampled);
            }
            _ => out.push(StoredMeterValues {
                charger,
                place,
                transaction_serial: serial,
                transaction_id,
                value: MeterValue {
                    timestamp,
                    sampled: vec![sampled],
                },
            }),
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------- reports, connections

fn report_row(row: &AnyRow) -> StoreResult<ChargerReport> {
    let payload: String = get(row, "payload")?;
    Ok(ChargerReport {
        id: get(row, "id")?,
        charger: charger_id(get(row, "charger_id")?)?,
        kind: ReportKind::new(get::<String>(row, "kind")?).map_err(StoreError::Corrupt)?,
        received_at: parse_ts(&get::<String>(row, "received_at")?)?,
        payload: serde_json::from_str(&payload)
            .map_err(|e| StoreError::Corrupt(format!("report payload: {e}")))?,
    })
}

fn connection_row(row: &AnyRow) -> StoreResult<ConnectionEvent> {
    Ok(ConnectionEvent {
        charger: charger_id(get(row, "charger_id")?)?,
        kind: parse(&get::<String>(row, "kind")?)?,
        at: parse_ts(&get::<String>(row, "occurred_at")?)?,
        remote_addr: get(row, "remote_addr")?,
        protocol: get(row, "protocol")?,
        connection_id: get::<Option<i64>>(row, "connection_id")?
            .map(|n| number(n, "connection_id"))
            .transpose()?,
        reason: get(row, "reason")?,
    })
}

fn limit(n: u32) -> i64 {
    i64::from(n)
}

#[async_trait]
impl StoreTx for SqlTx {
    async fn commit(self: Box<Self>) -> StoreResult<()> {
        match self.conn {
            Conn::Own(tx) => tx.commit().await.map_err(map_sqlx),
            Conn::Grouped(unit) => unit.commit().await,
        }
    }

    async fn charger(&mut self, id: &ChargerId) -> StoreResult<Option<Charger>> {
        let sql = format!("SELECT {CHARGER_COLS} FROM chargers WHERE id = $1");
        self.fetch_optional(sqlx::query(&sql).bind(id.as_str()))
            .await?
            .as_ref()
            .map(charger_row)
            .transpose()
    }

    async fn insert_charger(&mut self, c: &Charger) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO chargers ({CHARGER_COLS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        );
        self.execute(bind_charger(sqlx::query(&sql).bind(c.id.as_str()), c))
            .await
            .map(drop)
    }

    async fn update_charger(&mut self, c: &Charger) -> StoreResult<bool> {
        let sql = "UPDATE chargers SET registration_status = $2, password_hash = $3, \
            security_profile = $4, protocol = $5, vendor = $6, model = $7, serial_number = $8, \
            firmware_version = $9, iccid = $10, imsi = $11, meter_type = $12, \
            meter_serial_number = $13, last_boot_at = $14, last_seen = $15, \
            heartbeat_interval_s = $16, created_at = $17 WHERE id = $1";
        let n = self
            .execute(bind_charger(sqlx::query(sql).bind(c.id.as_str()), c))
            .await?;
        Ok(n == 1)
    }

    async fn delete_charger(&mut self, id: &ChargerId) -> StoreResult<bool> {
        let n = self
            .execute(sqlx::query("DELETE FROM chargers WHERE id = $1").bind(id.as_str()))
            .await?;
        self.last_seen.forget(id.as_str());
        Ok(n == 1)
    }

    async fn list_chargers(
        &mut self,
        after: Option<&ChargerId>,
        limit_n: u32,
    ) -> StoreResult<Vec<Charger>> {
        let rows = match after {
            Some(after) => {
                let sql = format!(
                    "SELECT {CHARGER_COLS} FROM chargers WHERE id > $1 ORDER BY id LIMIT $2"
                );
                self.fetch_all(sqlx::query(&sql).bind(after.as_str()).bind(limit(limit_n)))
                    .await?
            }
            None => {
                let sql = format!("SELECT {CHARGER_COLS} FROM chargers ORDER BY id LIMIT $1");
                self.fetch_all(sqlx::query(&sql).bind(limit(limit_n)))
                    .await?
            }
        };
        rows.iter().map(charger_row).collect()
    }

    async fn touch_charger(
        &mut self,
        id: &ChargerId,
        at: DateTime<Utc>,
        protocol: Option<&str>,
    ) -> StoreResult<bool> {
        if protocol.is_none() && self.last_seen.is_fresh(id.as_str(), at) {
            return Ok(true);
        }
        let n = self
            .execute(
                sqlx::query(
                    "UPDATE chargers SET last_seen = $2, protocol = COALESCE($3, protocol) \
                     WHERE id = $1",
                )
                .bind(id.as_str())
                .bind(ts(at))
                .bind(protocol),
            )
            .await?;
        if n == 1 {
            self.last_seen.written(id.as_str(), at);
        }
        Ok(n == 1)
    }

    async fn current_status(
        &mut self,
        charger: &ChargerId,
        place: ConnectorRef,
    ) -> StoreResult<Option<StatusReport>> {
        let sql = format!(
            "SELECT {STATUS_COLS} FROM connector_status \
             WHERE charger_id = $1 AND evse_id = $2 AND connector_id = $3"
        );
        self.fetch_optional(
            sqlx::query(&sql)
                .bind(charger.as_str())
                .bind(i64::from(place.evse.get()))
                .bind(i64::from(place.connector.get())),
        )
        .await?
        .as_ref()
        .map(status_row)
        .transpose()
    }

    async fn set_current_status(
        &mut self,
        charger: &ChargerId,
        report: &StatusReport,
    ) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO connector_status (charger_id, {STATUS_COLS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (charger_id, evse_id, connector_id) DO UPDATE SET \
             status = excluded.status, error_code = excluded.error_code, info = excluded.info, \
             vendor_id = excluded.vendor_id, vendor_error_code = excluded.vendor_error_code, \
             status_at = excluded.status_at"
        );
        self.execute(bind_status(sqlx::query(&sql), charger, report))
            .await
            .map(drop)
    }

    async fn insert_status_history(
        &mut self,
        charger: &ChargerId,
        report: &StatusReport,
        received_at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let sql = format!(
            "INSERT INTO status_history (charger_id, {STATUS_COLS}, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING"
        );
        let n = self
            .execute(bind_status(sqlx::query(&sql), charger, report).bind(ts(received_at)))
            .await?;
        Ok(n == 1)
    }

    async fn current_statuses(&mut self, charger: &ChargerId) -> StoreResult<Vec<StatusReport>> {
        let sql = format!(
            "SELECT {STATUS_COLS} FROM connector_status WHERE charger_id = $1 \
             ORDER BY evse_id, connector_id"
        );
        let rows = self
            .fetch_all(sqlx::query(&sql).bind(charger.as_str()))
            .await?;
        rows.iter().map(status_row).collect()
    }

    async fn status_history(
        &mut self,
        charger: &ChargerId,
        limit_n: u32,
    ) -> StoreResult<Vec<StatusReport>> {
        let sql = format!(
            "SELECT {STATUS_COLS} FROM status_history WHERE charger_id = $1 \
             ORDER BY status_at DESC, id DESC LIMIT $2"
        );
        let rows = self
            .fetch_all(
                sqlx::query(&sql)
                    .bind(charger.as_str())
                    .bind(limit(limit_n)),
            )
            .await?;
        rows.iter().map(status_row).collect()
    }

    async fn id_token(&mut self, key: &str) -> StoreResult<Option<IdTokenRecord>> {
        self.fetch_optional(
            sqlx::query(
                "SELECT value, kind, status, expiry_date, group_id FROM id_tokens \
                 WHERE token_key = $1",
            )
            .bind(key),
        )
        .await?
        .as_ref()
        .map(token_row)
        .transpose()
    }

    async fn upsert_id_token(&mut self, r: &IdTokenRecord) -> StoreResult<()> {
        self.execute(
            sqlx::query(
                "INSERT INTO id_tokens (token_key, value, kind, status, expiry_date, group_id) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (token_key) DO UPDATE SET \
                 value = excluded.value, kind = excluded.kind, status = excluded.status, \
                 expiry_date = excluded.expiry_date, group_id = excluded.group_id",
            )
            .bind(r.token.key())
            .bind(r.token.value())
            .bind(r.token.kind().as_str())
            .bind(r.status.as_str())
            .bind(ts_opt(r.expiry_date))
            .bind(r.group_id.as_deref()),
        )
        .await
        .map(drop)
    }

    async fn delete_id_token(&mut self, key: &str) -> StoreResult<bool> {
        let n = self
            .execute(sqlx::query("DELETE FROM id_tokens WHERE token_key = $1").bind(key))
            .await?;
        Ok(n == 1)
    }

    async fn list_id_tokens(
        &mut self,
        after_key: Option<&str>,
        limit_n: u32,
    ) -> StoreResult<Vec<IdTokenRecord>> {
        let rows = self
            .fetch_all(
                sqlx::query(
                    "SELECT value, kind, status, expiry_date, group_id FROM id_tokens \
                     WHERE token_key > $1 ORDER BY token_key LIMIT $2",
                )
                .bind(after_key.unwrap_or(""))
                .bind(limit(limit_n)),
            )
            .await?;
        rows.iter().map(token_row).collect()
    }

    async fn transaction(
        &mut self,
        charger: &ChargerId,
        id: &TransactionId,
    ) -> StoreResult<Option<Transaction>> {
        let sql = format!(
            "SELECT {TX_COLS} FROM transactions WHERE charger_id = $1 AND transaction_id = $2"
        );
        self.fetch_optional(sqlx::query(&sql).bind(charger.as_str()).bind(id.as_str()))
            .await?
            .as_ref()
            .map(tx_row)
            .transpose()
    }

    async fn transaction_by_serial(&mut self, serial: i64) -> StoreResult<Option<Transaction>> {
        let sql = format!(
            "SELECT {TX_COLS} FROM transactions WHERE tx_serial = $1 AND transaction_id IS NOT NULL"
        );
        self.fetch_optional(sqlx::query(&sql).bind(serial))
            .await?
            .as_ref()
            .map(tx_row)
            .transpose()
    }

    async fn transactions_started_at(
        &mut self,
        charger: &ChargerId,
        place: ConnectorRef,
        started_at: DateTime<Utc>,
    ) -> StoreResult<Vec<Transaction>> {
        let sql = format!(
            "SELECT {TX_COLS} FROM transactions WHERE charger_id = $1 AND evse_id = $2 \
             AND connector_id = $3 AND started_at = $4 AND transaction_id IS NOT NULL \
             ORDER BY tx_serial"
        );
        let rows = self
            .fetch_all(
                sqlx::query(&sql)
                    .bind(charger.as_str())
                    .bind(i64::from(place.evse.get()))
                    .bind(i64::from(place.connector.get()))
                    .bind(ts(started_at)),
            )
            .await?;
        rows.iter().map(tx_row).collect()
    }

    async fn active_transactions(&mut self, charger: &ChargerId) -> StoreResult<Vec<Transaction>> {
        let sql = format!(
            "SELECT {TX_COLS} FROM transactions WHERE charger_id = $1 AND status = 'active' \
             AND transaction_id IS NOT NULL ORDER BY tx_serial"
        );
        let rows = self
            .fetch_all(sqlx::query(&sql).bind(charger.as_str()))
            .await?;
        rows.iter().map(tx_row).collect()
    }

    async fn insert_transaction(
        &mut self,
        t: &mut Transaction,
        assign_id: bool,
    ) -> StoreResult<()> {
        let insert = "INSERT INTO transactions (charger_id, transaction_id, evse_id, connector_id, \
            id_token, id_token_kind, id_token_key, started_at, stopped_at, meter_start_wh, \
            meter_start_at, meter_stop_wh, energy_wh, last_meter_wh, last_meter_at, stop_reason, \
            status, last_seq_no, offline, last_trigger_reason, charging_state, remote_start_id, \
            reservation_id, meter_went_backwards, closed_by_reboot, unknown_start, updated_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
            $18, $19, $20, $21, $22, $23, $24, $25, $26, $27) RETURNING tx_serial";
        // A CSMS-numbered transaction's id is its serial in decimal, known only after the
        // insert. That text may already be taken on this charger by an id the charger brought
        // along (e.g. the stop of a transaction numbered by a previous CSMS, recorded as
        // unknown); then the row is inserted again, which gives it the next serial. Serials
        // are never reused (AUTOINCREMENT, identity), so this ends.
        loop {
            let id = if assign_id { None } else { Some(t.id.as_str()) };
            let q = sqlx::query(insert).bind(t.charger.as_str()).bind(id);
            let row = self
                .fetch_optional(bind_tx_fields(q, t))
                .await?
                .ok_or_else(|| StoreError::Other("INSERT … RETURNING returned no row".into()))?;
            t.serial = get(&row, "tx_serial")?;
            if !assign_id {
                return Ok(());
            }
            if t.serial > i64::from(i32::MAX) {
                return Err(StoreError::Other(
                    "transaction numbers exhausted (above i32::MAX)".into(),
                ));
            }
            let candidate = TransactionId::from_number(t.serial);
            let taken = self
                .fetch_optional(
                    sqlx::query(
                        "SELECT tx_serial FROM transactions WHERE charger_id = $1 \
                         AND transaction_id = $2",
                    )
                    .bind(t.charger.as_str())
                    .bind(candidate.as_str()),
                )
                .await?
                .is_some();
            if taken {
                self.execute(
                    sqlx::query("DELETE FROM transactions WHERE tx_serial = $1").bind(t.serial),
                )
                .await?;
                continue;
            }
            self.execute(
                sqlx::query("UPDATE transactions SET transaction_id = $2 WHERE tx_serial = $1")
                    .bind(t.serial)
                    .bind(candidate.as_str()),
            )
            .await?;
            t.id = candidate;
            return Ok(());
        }
    }

    async fn update_transaction(&mut self, t: &Transaction) -> StoreResult<()> {
        let sql = format!(
            "UPDATE transactions SET {TX_SET} WHERE tx_serial = $1 AND charger_id = $2 \
             AND transaction_id = $3"
        );
        let q = sqlx::query(&sql)
            .bind(t.serial)
            .bind(t.charger.as_str())
            .bind(t.id.as_str());
        let n = self.execute(bind_tx_fields(q, t)).await?;
        if n == 1 {
            Ok(())
        } else {
            Err(StoreError::Conflict(format!(
                "transaction {} ({}) is not stored",
                t.serial, t.id
            )))
        }
    }

    async fn list_transactions(&mut self, f: &TransactionFilter) -> StoreResult<Vec<Transaction>> {
        let mut sql =
            format!("SELECT {TX_COLS} FROM transactions WHERE transaction_id IS NOT NULL");
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if f.charger.is_some() {
            sql.push_str(&format!(" AND charger_id = {}", next()));
        }
        if f.id_token_key.is_some() {
            sql.push_str(&format!(" AND id_token_key = {}", next()));
        }
        if f.status.is_some() {
            sql.push_str(&format!(" AND status = {}", next()));
        }
        if f.started_after.is_some() {
            sql.push_str(&format!(" AND started_at >= {}", next()));
        }
        if f.started_before.is_some() {
            sql.push_str(&format!(" AND started_at < {}", next()));
        }
        if f.before_serial.is_some() {
            sql.push_str(&format!(" AND tx_serial < {}", next()));
        }
        sql.push_str(&format!(" ORDER BY tx_serial DESC LIMIT {}", next()));
        let mut q = sqlx::query(&sql);
        if let Some(c) = &f.charger {
            q = q.bind(c.as_str());
        }
        if let Some(k) = &f.id_token_key {
            q = q.bind(k.as_str());
        }
        if let Some(s) = f.status {
            q = q.bind(s.as_str());
        }
        if let Some(at) = f.started_after {
            q = q.bind(ts(at));
        }
        if let Some(at) = f.started_before {
            q = q.bind(ts(at));
        }
        if let Some(b) = f.before_serial {
            q = q.bind(b);
        }
        q = q.bind(limit(f.limit));
        let rows = self.fetch_all(q).await?;
        rows.iter().map(tx_row).collect()
    }

    async fn transaction_event_seen(
        &mut self,
        charger: &ChargerId,
        id: &TransactionId,
        seq_no: i64,
    ) -> StoreResult<bool> {
        Ok(self
            .fetch_optional(
                sqlx::query(
                    "SELECT id FROM transaction_events WHERE charger_id = $1 \
                     AND transaction_id = $2 AND seq_no = $3",
                )
                .bind(charger.as_str())
                .bind(id.as_str())
                .bind(seq_no),
            )
            .await?
            .is_some())
    }

    async fn insert_transaction_event(&mut self, e: &TransactionEventRecord) -> StoreResult<bool> {
        let sql = format!(
            "INSERT INTO transaction_events ({EVENT_COLS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING"
        );
        let n = self
            .execute(
                sqlx::query(&sql)
                    .bind(e.transaction_serial)
                    .bind(e.charger.as_str())
                    .bind(e.transaction_id.as_str())
                    .bind(e.seq_no)
                    .bind(e.kind.as_str())
                    .bind(ts(e.timestamp))
                    .bind(e.trigger_reason.as_deref())
                    .bind(e.stop_reason.as_deref())
                    .bind(flag(e.offline))
                    .bind(ts(e.received_at)),
            )
            .await?;
        Ok(n == 1)
    }

    async fn transaction_events(
        &mut self,
        serial: i64,
    ) -> StoreResult<Vec<TransactionEventRecord>> {
        let sql =
            format!("SELECT {EVENT_COLS} FROM transaction_events WHERE tx_serial = $1 ORDER BY id");
        let rows = self.fetch_all(sqlx::query(&sql).bind(serial)).await?;
        rows.iter().map(event_row).collect()
    }

    async fn insert_meter_values(
        &mut self,
        charger: &ChargerId,
        place: Option<ConnectorRef>,
        transaction_serial: Option<i64>,
        transaction_id: Option<&TransactionId>,
        values: &[MeterValue],
        received_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let rows: Vec<(String, &SampledValue)> = values
            .iter()
            .flat_map(|mv| {
                let at = ts(mv.timestamp);
                mv.sampled.iter().map(move |s| (at.clone(), s))
            })
            .collect();
        let (evse, connector) = place_cols(place);
        let received = ts(received_at);
        for chunk in rows.chunks(METER_ROWS_PER_STATEMENT) {
            let sql = meter_insert_sql(chunk.len());
            let mut q = sqlx::query(&sql);
            for (at, s) in chunk {
                let signed = s.signed.as_ref();
                q = q
                    .bind(charger.as_str())
                    .bind(evse)
                    .bind(connector)
                    .bind(transaction_serial)
                    .bind(transaction_id.map(|t| t.as_str()))
                    .bind(at.as_str())
                    .bind(s.value.as_str())
                    .bind(s.measurand.as_deref())
                    .bind(s.phase.as_deref())
                    .bind(s.unit.as_deref())
                    .bind(s.unit_multiplier.map(i64::from))
                    .bind(s.context.as_deref())
                    .bind(s.location.as_deref())
                    .bind(s.format.as_deref())
                    .bind(signed.map(|s| s.signed_meter_data.as_str()))
                    .bind(signed.and_then(|s| s.signing_method.as_deref()))
                    .bind(signed.and_then(|s| s.encoding_method.as_deref()))
                    .bind(signed.and_then(|s| s.public_key.as_deref()))
                    .bind(received.as_str());
            }
            self.execute(q).await?;
        }
        Ok(())
    }

    async fn transaction_meter_values(&mut self, serial: i64) -> StoreResult<Vec<MeterValue>> {
        let sql = format!("SELECT {METER_COLS} FROM meter_values WHERE tx_serial = $1 ORDER BY id");
        let rows = self.fetch_all(sqlx::query(&sql).bind(serial)).await?;
        Ok(group_meter_rows(&rows)?
            .into_iter()
            .map(|m| m.value)
            .collect())
    }

    async fn meter_values_at(
        &mut self,
        charger: &ChargerId,
        at: DateTime<Utc>,
    ) -> StoreResult<Vec<StoredMeterValues>> {
        let sql = format!(
            "SELECT {METER_COLS} FROM meter_values WHERE charger_id = $1 AND sampled_at = $2 \
             ORDER BY id"
        );
        let rows = self
            .fetch_all(sqlx::query(&sql).bind(charger.as_str()).bind(ts(at)))
            .await?;
        group_meter_rows(&rows)
    }

    async fn charger_meter_values(
        &mut self,
        charger: &ChargerId,
        limit_n: u32,
    ) -> StoreResult<Vec<StoredMeterValues>> {
        let sql = format!(
            "SELECT {METER_COLS} FROM meter_values WHERE charger_id = $1 \
             ORDER BY sampled_at DESC, id DESC LIMIT $2"
        );
        let mut rows = self
            .fetch_all(
                sqlx::query(&sql)
                    .bind(charger.as_str())
                    .bind(limit(limit_n)),
            )
            .await?;
        rows.reverse();
        let mut grouped = group_meter_rows(&rows)?;
        grouped.reverse();
        Ok(grouped)
    }

    async fn insert_report(
        &mut self,
        charger: &ChargerId,
        kind: &ReportKind,
        received_at: DateTime<Utc>,
        payload: &serde_json::Value,
    ) -> StoreResult<i64> {
        let row = self
            .fetch_optional(
                sqlx::query(
                    "INSERT INTO charger_reports (charger_id, kind, received_at, payload) \
                     VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(charger.as_str())
                .bind(kind.as_str())
                .bind(ts(received_at))
                .bind(payload.to_string()),
            )
            .await?
            .ok_or_else(|| StoreError::Other("INSERT … RETURNING returned no row".into()))?;
        get(&row, "id")
    }

    async fn reports(
        &mut self,
        charger: &ChargerId,
        kind: Option<&ReportKind>,
        limit_n: u32,
    ) -> StoreResult<Vec<ChargerReport>> {
        let cols = "id, charger_id, kind, received_at, payload";
        let rows = match kind {
            Some(kind) => {
                let sql = format!(
                    "SELECT {cols} FROM charger_reports WHERE charger_id = $1 AND kind = $2 \
                     ORDER BY id DESC LIMIT $3"
                );
                self.fetch_all(
                    sqlx::query(&sql)
                        .bind(charger.as_str())
                        .bind(kind.as_str())
                        .bind(limit(limit_n)),
                )
                .await?
            }
            None => {
                let sql = format!(
                    "SELECT {cols} FROM charger_reports WHERE charger_id = $1 \
                     ORDER BY id DESC LIMIT $2"
                );
                self.fetch_all(
                    sqlx::query(&sql)
                        .bind(charger.as_str())
                        .bind(limit(limit_n)),
                )
                .await?
            }
        };
        rows.iter().map(report_row).collect()
    }

    async fn insert_connection_event(&mut self, e: &ConnectionEvent) -> StoreResult<()> {
        let connection_id = e
            .connection_id
            .map(|n| {
                i64::try_from(n)
                    .map_err(|_| StoreError::Other(format!("connection id {n} out of range")))
            })
            .transpose()?;
        self.execute(
            sqlx::query(
                "INSERT INTO connection_events (charger_id, kind, occurred_at, remote_addr, \
                 protocol, connection_id, reason) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(e.charger.as_str())
            .bind(e.kind.as_str())
            .bind(ts(e.at))
            .bind(e.remote_addr.as_deref())
            .bind(e.protocol.as_deref())
            .bind(connection_id)
            .bind(e.reason.as_deref()),
        )
        .await
        .map(drop)
    }

    async fn connection_events(
        &mut self,
        charger: &ChargerId,
        limit_n: u32,
    ) -> StoreResult<Vec<ConnectionEvent>> {
        let rows = self
            .fetch_all(
                sqlx::query(
                    "SELECT charger_id, kind, occurred_at, remote_addr, protocol, connection_id, \
                     reason FROM connection_events WHERE charger_id = $1 \
                     ORDER BY id DESC LIMIT $2",
                )
                .bind(charger.as_str())
                .bind(limit(limit_n)),
            )
            .await?;
        rows.iter().map(connection_row).collect()
    }
}
