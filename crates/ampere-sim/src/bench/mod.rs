//! `ampere bench`: defined load workloads against any OCPP CSMS, with a report.
//!
//! - **W1 boot storm**: N chargers connect at once; each boots and reports every connector.
//!   Chargers admitted per second, time until all are admitted, errors.
//! - **W2 steady network**: N chargers, each in a running transaction, send MeterValues every
//!   T seconds and heartbeats; sustained messages per second, latency per action, the
//!   server's CPU and memory.
//! - **W3 saturation**: K connections, each in a running transaction, send MeterValues (1.6)
//!   or TransactionEvent `Updated` (2.0.1) as fast as they are answered. Against a CSMS that
//!   commits before it answers (Ampere does), answered means durably stored.
//! - **W4 idle scale**: N booted chargers held open and idle; server memory per connection.
//!
//! The load runs in worker *processes* (a process here may hold at most 20,000 open files):
//! the [`coordinator`] starts them through a [`Launcher`] (`ampere bench --worker`), hands
//! each its share of the chargers and its own loopback source addresses (127.0.x.y, so the
//! ephemeral ports of one address are not the limit), starts them together, and merges
//! their results into one [`Report`]. The [`echo`] server is the reference: a bare
//! WebSocket server that answers every CALL at once and stores nothing.
//!
//! Architecture invariant (as for the whole crate): this module speaks to the target only
//! over the wire, so it measures any CSMS the same way.

mod client;
pub mod coordinator;
pub mod echo;
mod latency;
mod messages;
mod plan;
pub mod procfs;
mod report;
mod worker;

pub use coordinator::{Launcher, ServerProbe, run};
pub use plan::{Protocol, Settings, WorkerPlan, Workload};
pub use report::{BenchOutput, Errors, Figures, LatencySummary, Ratio, Report, ServerUsage};
pub use worker::run_worker_stdio;
