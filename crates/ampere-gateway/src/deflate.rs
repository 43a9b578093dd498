//! permessage-deflate (RFC 7692), which OCPP 2.x requires a CSMS to support: the
//! negotiation, and inflation of the charger's compressed messages within the size limit.
//!
//! tungstenite has no compression of its own, so the gateway does it around it:
//! - the handshake accepts the first acceptable `permessage-deflate` offer and answers with
//!   `server_no_context_takeover; client_no_context_takeover`. The charger then compresses
//!   each message on its own, so a connection keeps no inflate state between messages (an
//!   idle charger costs nothing more) and a message can be inflated alone;
//! - `socket.rs` marks each incoming message whose first frame has RSV1 set and hands it to
//!   tungstenite as a binary message with RSV1 cleared (tungstenite refuses reserved bits);
//! - the connection inflates marked messages here, with the output held to
//!   `max_message_bytes`: a compression bomb stops at the limit plus one byte, whatever it
//!   would have grown to, and closes the connection with 1009.
//!
//! Ampere's own messages go out uncompressed (RSV1 clear), which RFC 7692 allows on a
//! connection that negotiated the extension; its answers are small.

use flate2::{Decompress, FlushDecompress, Status};
use tokio_tungstenite::tungstenite::http::HeaderMap;

/// The extension's token.
const PERMESSAGE_DEFLATE: &str = "permessage-deflate";
/// Appended to a compressed message before inflating it (RFC 7692 §7.2.2).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The `Sec-WebSocket-Extensions` answer to the client's offers, when one is acceptable.
pub(crate) fn negotiate(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all("sec-websocket-extensions")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(accept_offer)
}

/// The answer to one offer (`permessage-deflate; param; param=value`), or `None` when it is
/// for another extension or has parameters that are unknown, repeated or out of range (RFC
/// 7692 §5: such an offer is declined, the next one is considered).
fn accept_offer(offer: &str) -> Option<String> {
    let mut parts = offer.split(';').map(str::trim);
    if !parts.next()?.eq_ignore_ascii_case(PERMESSAGE_DEFLATE) {
        return None;
    }
    let mut seen: Vec<String> = Vec::new();
    let mut server_max_window_bits = None;
    for param in parts {
        let (name, value) = match param.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim().trim_matches('"'))),
            None => (param, None),
        };
        let name = name.to_ascii_lowercase();
        if seen.contains(&name) {
            return None;
        }
        match (name.as_str(), value) {
            ("server_no_context_takeover" | "client_no_context_takeover", None) => {}
            // Optional value: the client only says it can honour a limit we might set.
            ("client_max_window_bits", None) => {}
            ("client_max_window_bits", Some(bits)) => {
                window_bits(bits)?;
            }
            ("server_max_window_bits", Some(bits)) => {
                server_max_window_bits = Some(window_bits(bits)?);
            }
            _ => return None,
        }
        seen.push(name);
    }
    let mut answer =
        format!("{PERMESSAGE_DEFLATE}; server_no_context_takeover; client_no_context_takeover");
    // A limit the client sets on our window must be echoed (§7.1.2.1); we send nothing
    // compressed, so any limit is kept.
    if let Some(bits) = server_max_window_bits {
        answer.push_str(&format!("; server_max_window_bits={bits}"));
    }
    Some(answer)
}

/// A window size parameter: 8 to 15, digits only.
fn window_bits(text: &str) -> Option<u8> {
    if text.is_empty() || text.len() > 2 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let bits: u8 = text.parse().ok()?;
    (8..=15).contains(&bits).then_some(bits)
}

/// Why a compressed message was not inflated.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum InflateError {
    /// It inflates to more than the limit.
    TooBig,
    /// Not valid deflate data.
    Corrupt(String),
}

/// Inflates one message compressed without context takeover, producing at most `limit`
/// bytes; more is [`InflateError::TooBig`] (inflation stops there).
pub(crate) fn inflate(compressed: &[u8], limit: usize) -> Result<Vec<u8>, InflateError> {
    let mut input = Vec::with_capacity(compressed.len() + TAIL.len());
    input.extend_from_slice(compressed);
    input.extend_from_slice(&TAIL);
    let mut inflater = Decompress::new(false);
    // One byte past the limit tells "exactly at the limit" from "over it".
    let cap = limit.saturating_add(1);
    let mut out = Vec::with_capacity(cap.min(compressed.len().saturating_mul(4).max(1024)));
    loop {
        if out.len() == out.capacity() {
            let grow = out.capacity().max(1024).min(cap - out.len());
            out.reserve_exact(grow);
        }
        let consumed = usize::try_from(inflater.total_in()).unwrap_or(usize::MAX);
        let before = (inflater.total_in(), inflater.total_out());
        let status = inflater
            .decompress_vec(&input[consumed..], &mut out, FlushDecompress::Sync)
            .map_err(|error| InflateError::Corrupt(error.to_string()))?;
        if out.len() > limit {
            return Err(InflateError::TooBig);
        }
        let consumed = usize::try_from(inflater.total_in()).unwrap_or(usize::MAX);
        let progressed = before != (inflater.total_in(), inflater.total_out());
        match status {
            Status::StreamEnd => return Ok(out),
            _ if consumed >= input.len() && out.len() < out.capacity() => return Ok(out),
            _ if !progressed && out.len() < out.capacity() => {
                return Err(InflateError::Corrupt("truncated deflate data".into()));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compress, Compression, FlushCompress};
    use tokio_tungstenite::tungstenite::http::HeaderValue;

    /// What a client sends: raw deflate, sync-flushed, the 4-byte tail removed.
    pub(crate) fn compress(data: &[u8]) -> Vec<u8> {
        let mut compressor = Compress::new(Compression::default(), false);
        let mut out = Vec::with_capacity(data.len() + 64);
        loop {
            let consumed = compressor.total_in() as usize;
            compressor
                .compress_vec(&data[consumed..], &mut out, FlushCompress::Sync)
                .unwrap();
            if compressor.total_in() as usize == data.len() && out.len() < out.capacity() {
                break;
            }
            out.reserve(out.capacity().max(64));
        }
        assert!(out.ends_with(&TAIL));
        out.truncate(out.len() - TAIL.len());
        out
    }

    fn offers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(
                "sec-websocket-extensions",
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    const ANSWER: &str =
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover";

    #[test]
    fn the_first_acceptable_offer_is_answered() {
        assert_eq!(
            negotiate(&offers(&["permessage-deflate"])).as_deref(),
            Some(ANSWER)
        );
        // What Python's websockets and browsers offer.
        assert_eq!(
            negotiate(&offers(&["permessage-deflate; client_max_window_bits"])).as_deref(),
            Some(ANSWER)
        );
        assert_eq!(
            negotiate(&offers(&[
                "x-webkit-deflate-frame",
                "permessage-deflate; server_max_window_bits=10; client_max_window_bits=12"
            ]))
            .as_deref(),
            Some(format!("{ANSWER}; server_max_window_bits=10").as_str())
        );
        // An invalid offer is declined and the next one taken.
        assert_eq!(
            negotiate(&offers(&[
                "permessage-deflate; server_max_window_bits=7, permessage-deflate; client_no_context_takeover"
            ]))
            .as_deref(),
            Some(ANSWER)
        );
    }

    #[test]
    fn invalid_offers_are_declined() {
        for offer in [
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; client_max_window_bits=08x",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; unknown_param",
            "deflate-frame",
            "",
        ] {
            assert_eq!(negotiate(&offers(&[offer])), None, "{offer}");
        }
        assert_eq!(negotiate(&HeaderMap::new()), None);
    }

    #[test]
    fn messages_inflate_within_the_limit() {
        let text = br#"[2,"1","MeterValues",{"connectorId":1,"meterValue":[]}]"#.repeat(20);
        assert_eq!(inflate(&compress(&text), text.len()).unwrap(), text);
        assert_eq!(inflate(&compress(b""), 10).unwrap(), b"");
        assert_eq!(
            inflate(&compress(&text), text.len() - 1),
            Err(InflateError::TooBig)
        );
    }

    #[test]
    fn a_bomb_stops_at_the_limit() {
        let bomb = compress(&vec![b' '; 50 << 20]);
        assert!(
            bomb.len() < 100 << 10,
            "50 MiB of spaces compress to {}",
            bomb.len()
        );
        assert_eq!(inflate(&bomb, 65_536), Err(InflateError::TooBig));
    }

    #[test]
    fn garbage_is_refused() {
        assert!(matches!(
            inflate(&[0xff, 0xff, 0xff, 0xff], 1000),
            Err(InflateError::Corrupt(_))
        ));
    }
}
