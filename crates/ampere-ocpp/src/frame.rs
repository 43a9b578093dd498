//! OCPP-J RPC framing. Filled in by the next commit.
