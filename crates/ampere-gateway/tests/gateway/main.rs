//! The gateway over real sockets: handshake rules, charger CALLs, CSMS calls, sessions,
//! shutdown, and the TLS listener with security profiles 2 and 3.

mod calls;
mod commands;
mod common;
mod handshake;
mod lifecycle;
mod security;
mod tls;
