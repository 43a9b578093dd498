//! Frame parsing (and validation of the payloads it yields) on arbitrary bytes.
//! Run: `cargo fuzz run frame` from `fuzz/` (nightly, or `RUSTC_BOOTSTRAP=1`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ampere_ocpp::fuzzing::frame(data);
});
