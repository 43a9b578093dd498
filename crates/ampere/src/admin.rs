//! Operator commands that work on the store directly: `ampere migrate`, `ampere charger …`,
//! `ampere id-token …`. They open the same database as `ampere serve` (SQLite in WAL mode
//! lets them run beside a live server).

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Subcommand;

use ampere_domain::{
    AuthorizationStatus, ChargerId, ChargerUpdate, IdToken, IdTokenKind, IdTokenRecord, NewCharger,
    RegistrationStatus, SecurityProfile,
};

use crate::config::Config;
use crate::wiring;

/// How many rows a list command shows at most.
const LIST_LIMIT: u32 = 10_000;

#[derive(Debug, Subcommand)]
pub enum ChargerCommand {
    /// Register a charger.
    Add {
        /// The identity the charger connects with (last segment of its URL).
        id: String,
        /// HTTP Basic auth password (security profile 1 and 2); omit for none.
        #[arg(long, env = "AMPERE_CHARGER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// Security profile 1, 2 or 3.
        #[arg(long, default_value_t = 1)]
        security_profile: u8,
        /// Registration status: Accepted, Pending or Rejected.
        #[arg(long, default_value = "Accepted")]
        status: RegistrationStatus,
    },
    /// Approve a charger that is waiting as Pending.
    Approve { id: String },
    /// Reject a charger: it is answered Rejected at boot and refused everything else.
    Reject { id: String },
    /// List the registered chargers.
    List,
}

#[derive(Debug, Subcommand)]
pub enum IdTokenCommand {
    /// Add an id token, or change it when it exists.
    Add {
        /// The token value (RFID UID, eMAID, …). Matched without regard to case.
        token: String,
        /// OCPP 2.x token type, e.g. ISO14443, eMAID, Central.
        #[arg(long = "type", default_value = "ISO14443")]
        kind: String,
        /// Accepted, Blocked, Expired or Invalid.
        #[arg(long, default_value = "Accepted")]
        status: AuthorizationStatus,
        /// When the token stops being valid (RFC 3339).
        #[arg(long)]
        expiry: Option<DateTime<Utc>>,
        /// The group the token belongs to (1.6 parentIdTag, 2.x groupIdToken).
        #[arg(long)]
        group: Option<String>,
    },
    /// List the id tokens.
    List,
}

pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let store = wiring::open_store(config).await?;
    store.close().await;
    println!(
        "database is up to date: {}",
        config.database_url_for_display()
    );
    Ok(())
}

pub async fn charger(config: &Config, command: ChargerCommand) -> anyhow::Result<()> {
    let store = wiring::open_store(config).await?;
    let services = wiring::services(config, store.clone());
    let chargers = &services.chargers;
    let result = async {
        match command {
            ChargerCommand::Add {
                id,
                password,
                security_profile,
                status,
            } => {
                let id = ChargerId::new(id).context("invalid charger identity")?;
                let security_profile =
                    SecurityProfile::new(security_profile).map_err(anyhow::Error::msg)?;
                if security_profile.get() < 3 && password.is_none() {
                    eprintln!(
                        "warning: {id} has no password: anyone who knows its identity can connect as it"
                    );
                }
                chargers
                    .register(NewCharger {
                        id: id.clone(),
                        password,
                        security_profile,
                        registration_status: status,
                    })
                    .await?;
                println!("registered {id} ({}, security profile {})", status.as_str(), security_profile.get());
            }
            ChargerCommand::Approve { id } => {
                set_status(chargers, &id, RegistrationStatus::Accepted).await?
            }
            ChargerCommand::Reject { id } => {
                set_status(chargers, &id, RegistrationStatus::Rejected).await?
            }
            ChargerCommand::List => {
                println!("{:<48} {:<9} {:<7} {:<10} {:<20} {:<20} last seen", "id", "status", "profile", "protocol", "vendor", "model");
                for c in chargers.list(None, LIST_LIMIT).await? {
                    println!(
                        "{:<48} {:<9} {:<7} {:<10} {:<20} {:<20} {}",
                        c.id.as_str(),
                        c.registration_status.as_str(),
                        c.security_profile.get(),
                        c.protocol.as_deref().unwrap_or("-"),
                        c.vendor.as_deref().unwrap_or("-"),
                        c.model.as_deref().unwrap_or("-"),
                        c.last_seen.map(|t| t.to_rfc3339()).unwrap_or_else(|| "never".into()),
                    );
                }
            }
        }
        anyhow::Ok(())
    }
    .await;
    store.close().await;
    result
}

async fn set_status(
    chargers: &ampere_domain::ChargerService,
    id: &str,
    status: RegistrationStatus,
) -> anyhow::Result<()> {
    let id = ChargerId::new(id).context("invalid charger identity")?;
    let update = ChargerUpdate {
        registration_status: Some(status),
        ..Default::default()
    };
    chargers.update(&id, update).await?;
    println!("{id} is now {}", status.as_str());
    Ok(())
}

pub async fn id_token(config: &Config, command: IdTokenCommand) -> anyhow::Result<()> {
    let store = wiring::open_store(config).await?;
    let services = wiring::services(config, store.clone());
    let tokens = &services.authorization;
    let result = async {
        match command {
            IdTokenCommand::Add {
                token,
                kind,
                status,
                expiry,
                group,
            } => {
                let kind = IdTokenKind::parse(&kind).context("invalid token type")?;
                let token = IdToken::new(token, kind).context("invalid id token")?;
                tokens
                    .upsert(&IdTokenRecord {
                        token: token.clone(),
                        status,
                        expiry_date: expiry,
                        group_id: group,
                    })
                    .await?;
                println!("id token {} is {}", token.value(), status.as_str());
            }
            IdTokenCommand::List => {
                println!(
                    "{:<36} {:<16} {:<9} {:<25} group",
                    "id token", "type", "status", "expiry"
                );
                for t in tokens.list(None, LIST_LIMIT).await? {
                    println!(
                        "{:<36} {:<16} {:<9} {:<25} {}",
                        t.token.value(),
                        t.token.kind().as_str(),
                        t.status.as_str(),
                        t.expiry_date
                            .map(|d| d.to_rfc3339())
                            .unwrap_or_else(|| "-".into()),
                        t.group_id.as_deref().unwrap_or("-"),
                    );
                }
            }
        }
        anyhow::Ok(())
    }
    .await;
    store.close().await;
    result
}
