//! The gateway over real sockets: handshake rules, charger CALLs, CSMS calls, sessions and
//! shutdown.

mod calls;
mod commands;
mod common;
mod handshake;
mod lifecycle;
