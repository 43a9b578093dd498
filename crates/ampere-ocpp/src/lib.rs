//! OCPP-J framing, typed messages of OCPP 1.6, 2.0.1 and 2.1, and schema-exact validation. No IO.
