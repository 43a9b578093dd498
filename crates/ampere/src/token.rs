//! `ampere token create|list|revoke`: API tokens from the command line, on the same database
//! as `ampere serve` (so an operator locked out of the API can always make a new admin token).

use anyhow::Context;
use clap::Subcommand;

use ampere_domain::ApiRole;

use crate::config::Config;
use crate::wiring;

/// How many tokens `list` shows at most.
const LIST_LIMIT: u32 = 10_000;

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token and print it (it is shown this once; only its hash is stored).
    Create {
        /// What the token is for, e.g. "billing export".
        #[arg(long)]
        name: String,
        /// admin, operator or viewer.
        #[arg(long)]
        role: ApiRole,
    },
    /// List API tokens (never their secrets).
    List,
    /// Revoke an API token by its id; it is refused from then on.
    Revoke { id: i64 },
}

pub async fn run(config: &Config, command: TokenCommand) -> anyhow::Result<()> {
    let store = wiring::open_store(config).await?;
    let tokens = wiring::api_tokens(store.clone());
    let result = async {
        match command {
            TokenCommand::Create { name, role } => {
                let (token, secret) = tokens.create(&name, role).await?;
                println!("{}", secret.expose());
                eprintln!(
                    "created API token {} ({}, {}); it is not shown again",
                    token.id, token.name, token.role
                );
            }
            TokenCommand::List => {
                println!(
                    "{:<6} {:<9} {:<28} {:<28} NAME",
                    "ID", "ROLE", "CREATED", "REVOKED"
                );
                for token in tokens.list(None, LIST_LIMIT).await? {
                    println!(
                        "{:<6} {:<9} {:<28} {:<28} {}",
                        token.id,
                        token.role,
                        token.created_at.to_rfc3339(),
                        token
                            .revoked_at
                            .map(|at| at.to_rfc3339())
                            .unwrap_or_else(|| "-".into()),
                        token.name
                    );
                }
            }
            TokenCommand::Revoke { id } => {
                let revoked = tokens.revoke(id).await?;
                anyhow::ensure!(revoked, "no active API token {id}");
                println!("revoked API token {id}");
            }
        }
        anyhow::Ok(())
    }
    .await
    .context("API token command failed");
    store.close().await;
    result
}
