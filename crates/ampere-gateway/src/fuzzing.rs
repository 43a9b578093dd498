//! Entry points for the `handshake` fuzz target (`fuzz/fuzz_targets/handshake.rs`) and the
//! corpus replay in the test suite: the pure parts of admitting a charger, run on arbitrary
//! bytes. Not part of the gateway's API.

use tokio_tungstenite::tungstenite::handshake::server::create_response;
use tokio_tungstenite::tungstenite::http::StatusCode;

use crate::deflate;
use crate::handshake::{
    Refusal, basic_credentials, identity_from_path, negotiate_version, parse_request,
};
use crate::socket::fuzz_frame_tracking;

/// The inflated size the fuzzer allows (small, so a bomb is found quickly).
const INFLATE_LIMIT: usize = 4096;

/// Parses `data` as an upgrade request head and runs every pure step of the handshake on
/// it; checks what must hold for any input: nothing panics, a parsed head ends inside the
/// input, identities obey their rules, an accepted extension offer yields a valid header, and
/// every refusal is a well-formed HTTP response. The same bytes are also fed to the frame
/// tracker and to bounded inflation.
pub fn handshake(data: &[u8]) {
    match parse_request(data) {
        Ok(Some((size, request))) => {
            assert!(size <= data.len(), "head size {size} beyond the input");
            let path = request.uri().path();
            for any_prefix in [false, true] {
                match identity_from_path(path, any_prefix) {
                    Ok(id) => {
                        let id = id.as_str();
                        assert!(!id.is_empty() && id.chars().count() <= 48 && !id.contains(':'));
                    }
                    Err(refusal) => check_refusal(&refusal),
                }
            }
            let headers = request.headers();
            let _ = negotiate_version(headers);
            let _ = basic_credentials(headers);
            if let Some(answer) = deflate::negotiate(headers) {
                assert!(answer.starts_with("permessage-deflate"));
                assert!(
                    tokio_tungstenite::tungstenite::http::HeaderValue::from_str(&answer).is_ok()
                );
            }
            let _ = create_response(&request);
        }
        Ok(None) => {}
        Err(refusal) => check_refusal(&refusal),
    }
    fuzz_frame_tracking(data);
    match deflate::inflate(data, INFLATE_LIMIT) {
        Ok(inflated) => assert!(inflated.len() <= INFLATE_LIMIT),
        Err(deflate::InflateError::TooBig | deflate::InflateError::Corrupt(_)) => {}
    }
}

fn check_refusal(refusal: &Refusal) {
    assert!(refusal.status.is_client_error() || refusal.status == StatusCode::SERVICE_UNAVAILABLE);
    let text = refusal.to_http();
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(text.as_bytes()) {
        Ok(httparse::Status::Complete(_)) => {}
        other => panic!("refusal is not a valid HTTP response ({other:?}): {text:?}"),
    }
    assert_eq!(response.code, Some(refusal.status.as_u16()));
}
