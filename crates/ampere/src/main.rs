//! `ampere`: the one binary. This crate is the only one that knows every other: it reads the
//! configuration, sets up logging and wires the store, the domain services, the OCPP
//! handlers and the gateway together.

mod admin;
mod bench;
mod cert;
mod charger_certificates;
mod config;
mod security_log;
mod serve;
mod sim;
mod telemetry;
mod token;
mod wiring;

use clap::{Parser, Subcommand};

use crate::config::{Config, ConfigArgs};

#[derive(Debug, Parser)]
#[command(name = "ampere", version, about = "OCPP backend and CPO platform")]
struct Cli {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server: charger gateway, store and HTTP endpoints.
    Serve(sim::DemoArgs),
    /// Bring the database schema up to date and exit.
    Migrate,
    /// Register, list and approve chargers.
    #[command(subcommand)]
    Charger(admin::ChargerCommand),
    /// Add and list the id tokens chargers authorize with.
    #[command(subcommand, name = "id-token")]
    IdToken(admin::IdTokenCommand),
    /// Simulate chargers against a CSMS (this one or any other).
    Sim(sim::SimArgs),
    /// Load workloads (w1 boot storm … w4 idle scale) against a CSMS, with a report.
    Bench(Box<bench::BenchArgs>),
    /// Create, list and revoke API tokens.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Operator CA and certificates for security profiles 2 and 3.
    #[command(subcommand)]
    Cert(cert::CertCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(&cli.config) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("ampere: {error:#}");
            return std::process::ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("ampere: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(demo) => serve::run(config, demo).await,
            Command::Migrate => admin::migrate(&config).await,
            Command::Charger(command) => admin::charger(&config, command).await,
            Command::IdToken(command) => admin::id_token(&config, command).await,
            Command::Sim(args) => sim::run(args).await,
            Command::Bench(args) => bench::run(*args).await,
            Command::Token(command) => token::run(&config, command).await,
            Command::Cert(command) => cert::run(&config, command),
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ampere: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
