//! The charger endpoint's HTTP upgrade handling (request head parsing, identity, subprotocol,
//! Basic credentials, permessage-deflate negotiation, refusals) plus the WebSocket frame
//! tracker and bounded inflation, on arbitrary bytes.
//! Run: `cargo fuzz run handshake` from `fuzz/` (nightly, or `RUSTC_BOOTSTRAP=1`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ampere_gateway::fuzzing::handshake(data);
});
