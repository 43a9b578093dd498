//! The charger's socket (TCP or TLS) as tungstenite sees it: reads stop at WebSocket frame boundaries.
//!
//! tungstenite reads into a buffer that grows to the largest frame received and keeps that
//! capacity for the life of the connection, so one 60 KiB NotifyReport would cost an idle
//! charger 60 KiB forever. Because reads through [`ChargerSocket`] never run past the end of
//! the current frame, tungstenite holds no unread bytes whenever it returns a complete data
//! message; at that moment the connection can drop its WebSocket state and start a fresh one
//! with small buffers (see `Connection::renew_buffers`) without losing a byte.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

/// The connection under the WebSocket: plain TCP (`ws://`) or TLS over TCP (`wss://`).
pub(crate) enum Transport {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(tcp) => Pin::new(tcp).poll_read(cx, buf),
            Self::Tls(tls) => Pin::new(tls.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Self::Tls(tls) => Pin::new(tls.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(tcp) => Pin::new(tcp).poll_flush(cx),
            Self::Tls(tls) => Pin::new(tls.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Self::Tls(tls) => Pin::new(tls.as_mut()).poll_shutdown(cx),
        }
    }
}

pub(crate) struct ChargerSocket {
    transport: Transport,
    /// Bytes the client sent right after its upgrade request, served before the socket.
    early: Vec<u8>,
    frame: FrameTracker,
    /// permessage-deflate was negotiated: incoming messages are marked (see `deflate.rs`).
    deflate: bool,
    /// For each data message started and not yet taken by the connection: whether it was
    /// compressed. tungstenite delivers messages in the order they started.
    compressed: VecDeque<bool>,
}

impl ChargerSocket {
    pub(crate) fn new(transport: Transport, early: Vec<u8>, deflate: bool) -> Self {
        Self {
            transport,
            early,
            frame: FrameTracker::default(),
            deflate,
            compressed: VecDeque::new(),
        }
    }

    /// Whether the data message tungstenite just delivered was compressed (RSV1 was set on
    /// its first frame). Called once per delivered text or binary message.
    pub(crate) fn take_compressed(&mut self) -> bool {
        self.compressed.pop_front().unwrap_or(false)
    }

    /// True between frames: everything read so far belongs to complete frames.
    pub(crate) fn at_frame_boundary(&self) -> bool {
        self.frame.at_boundary()
    }

    /// The raw transport, for discarding input after a close (tungstenite is done with it).
    pub(crate) fn transport(&mut self) -> &mut Transport {
        &mut self.transport
    }
}

impl AsyncRead for ChargerSocket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let limit = buf.remaining().min(this.frame.max_read());
        if limit == 0 {
            return Poll::Ready(Ok(()));
        }
        let dst = buf.initialize_unfilled_to(limit);
        let n = if this.early.is_empty() {
            let mut limited = ReadBuf::new(dst);
            ready!(Pin::new(&mut this.transport).poll_read(cx, &mut limited))?;
            limited.filled().len()
        } else {
            let n = limit.min(this.early.len());
            dst[..n].copy_from_slice(&this.early[..n]);
            this.early.drain(..n);
            if this.early.is_empty() {
                this.early = Vec::new();
            }
            n
        };
        // Reads never cross a header part, so a frame's first byte can only be the first
        // byte of a read.
        if this.deflate && n > 0 && this.frame.at_boundary() {
            mark_message_start(&mut dst[0], &mut this.compressed);
        }
        this.frame.advance(&dst[..n]);
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for ChargerSocket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().transport).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().transport).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().transport).poll_shutdown(cx)
    }
}

/// At the first byte of a frame on a permessage-deflate connection: a data frame starting a
/// message records (in `marks`) whether it is compressed; a compressed one goes on with RSV1
/// cleared (tungstenite refuses reserved bits) and as binary (it is not UTF-8 until inflated).
/// RSV1 on a continuation or control frame is left for tungstenite to refuse, as RFC 7692
/// requires.
fn mark_message_start(first: &mut u8, marks: &mut VecDeque<bool>) {
    const RSV1: u8 = 0x40;
    let opcode = *first & 0x0f;
    if opcode != 1 && opcode != 2 {
        return;
    }
    let compressed = *first & RSV1 != 0;
    marks.push_back(compressed);
    if compressed {
        *first = (*first & !(RSV1 | 0x0f)) | 2;
    }
}

/// Follows the frame structure of the incoming byte stream (RFC 6455 §5.2): which header or
/// payload byte comes next, and how many bytes remain until the end of the current part.
#[derive(Default)]
struct FrameTracker {
    header: [u8; 14],
    /// Header bytes seen of the current frame; 0 while in a payload or between frames.
    have: usize,
    payload_left: u64,
}

impl FrameTracker {
    fn at_boundary(&self) -> bool {
        self.have == 0 && self.payload_left == 0
    }

    /// Length of the current header: 2 bytes, plus 2 or 8 of extended length, plus 4 of mask.
    fn header_len(&self) -> usize {
        if self.have < 2 {
            return 2;
        }
        let second = self.header[1];
        let extended = match second & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let mask = if second & 0x80 != 0 { 4 } else { 0 };
        2 + extended + mask
    }

    fn payload_len(&self) -> u64 {
        match self.header[1] & 0x7f {
            126 => u64::from(u16::from_be_bytes([self.header[2], self.header[3]])),
            127 => {
                let mut bytes = [0u8; 8];
                bytes.copy_from_slice(&self.header[2..10]);
                u64::from_be_bytes(bytes)
            }
            short => u64::from(short),
        }
    }

    /// Most bytes that may be read without crossing into the next part of the frame.
    fn max_read(&self) -> usize {
        if self.payload_left > 0 {
            usize::try_from(self.payload_left).unwrap_or(usize::MAX)
        } else {
            self.header_len() - self.have
        }
    }

    fn advance(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.payload_left > 0 {
                let n = usize::try_from(self.payload_left)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                self.payload_left -= n as u64;
                bytes = &bytes[n..];
                continue;
            }
            let n = (self.header_len() - self.have).min(bytes.len());
            self.header[self.have..self.have + n].copy_from_slice(&bytes[..n]);
            self.have += n;
            bytes = &bytes[n..];
            if self.have == self.header_len() {
                self.payload_left = self.payload_len();
                self.have = 0;
            }
        }
    }
}

/// For the fuzz target: feeds `data` through the frame tracker and the permessage-deflate
/// marking the way the socket does (never past a frame part), and checks that the tracker
/// never asks for a zero-length read mid-frame and ends a frame exactly where it said.
pub(crate) fn fuzz_frame_tracking(data: &[u8]) {
    let mut socket_state = FrameTracker::default();
    let mut marks = VecDeque::new();
    let mut bytes = data.to_vec();
    let mut at = 0;
    while at < bytes.len() {
        let n = socket_state.max_read().min(bytes.len() - at);
        assert!(n > 0, "the tracker asked for no bytes");
        if socket_state.at_boundary() {
            let opcode = bytes[at] & 0x0f;
            mark_message_start(&mut bytes[at], &mut marks);
            if opcode == 1 || opcode == 2 {
                assert_eq!(bytes[at] & 0x40, 0, "RSV1 left on a data frame");
            }
        }
        socket_state.advance(&bytes[at..at + n]);
        at += n;
    }
    assert!(marks.len() <= data.len());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame with `len` payload bytes.
    fn frame(len: usize) -> Vec<u8> {
        let mut bytes = vec![0x81];
        match len {
            0..=125 => bytes.push(0x80 | len as u8),
            126..=65535 => {
                bytes.push(0x80 | 126);
                bytes.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                bytes.push(0x80 | 127);
                bytes.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        bytes.extend_from_slice(&[1, 2, 3, 4]);
        bytes.extend(std::iter::repeat_n(b'x', len));
        bytes
    }

    /// Feeds `stream` the way the socket does (never past `max_read`) in chunks of at most
    /// `chunk`; returns the offsets at which the tracker was between frames.
    fn boundaries(stream: &[u8], chunk: usize) -> Vec<usize> {
        let mut tracker = FrameTracker::default();
        let mut at = 0;
        let mut seen = Vec::new();
        while at < stream.len() {
            let n = tracker.max_read().min(chunk).min(stream.len() - at);
            tracker.advance(&stream[at..at + n]);
            at += n;
            if tracker.at_boundary() {
                seen.push(at);
            }
        }
        seen
    }

    #[test]
    fn reads_stop_at_every_frame_end() {
        let sizes = [0usize, 5, 125, 126, 1000, 65535, 65536, 70000];
        let mut stream = Vec::new();
        let mut ends = Vec::new();
        for size in sizes {
            stream.extend(frame(size));
            ends.push(stream.len());
        }
        for chunk in [1, 3, 4096, usize::MAX] {
            let seen = boundaries(&stream, chunk);
            assert!(ends.iter().all(|end| seen.contains(end)), "chunk {chunk}");
            assert_eq!(seen.last(), ends.last());
        }
    }

    #[test]
    fn unmasked_and_empty_frames() {
        let mut tracker = FrameTracker::default();
        tracker.advance(&[0x89, 0x00]); // an empty, unmasked ping
        assert!(tracker.at_boundary());
        tracker.advance(&[0x81]);
        assert!(!tracker.at_boundary());
        assert_eq!(tracker.max_read(), 1);
        tracker.advance(&[0x03]);
        assert_eq!(tracker.max_read(), 3);
        tracker.advance(b"abc");
        assert!(tracker.at_boundary());
    }
}
