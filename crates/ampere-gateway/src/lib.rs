//! The charger-facing WebSocket server: subprotocols, security profile 1, sessions, call correlation.
