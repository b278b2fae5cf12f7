//! Messages going out: what may still be sent (section 5.5.1: nothing
//! after a close; section 5.4: one fragmented message at a time), control
//! payload limits, masking for a client, compression where
//! permessage-deflate was agreed, and the output buffer.

use super::{Connection, State};
use crate::close::{self, CloseCode};
use crate::deflate::{MessageDeflater, mark_compressed};
use crate::frame::{FrameHeader, MAX_CONTROL_PAYLOAD, OpCode};
use crate::message::keep_small;
use crate::rules::DataKind;
use alloc::boxed::Box;
use alloc::vec::Vec;

/// A message to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message<'a> {
    /// Text, in one frame.
    Text(&'a str),
    /// Binary data, in one frame.
    Binary(&'a [u8]),
    /// A ping (at most 125 bytes).
    Ping(&'a [u8]),
    /// A pong (at most 125 bytes).
    Pong(&'a [u8]),
    /// A close frame: no code (empty payload), or a code and a reason.
    Close(Option<CloseCode>, &'a str),
}

/// Why a send was refused. Nothing was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// A close frame was already sent: no data may follow (section 5.5.1).
    #[error("a close frame was already sent")]
    CloseSent,
    /// Control payloads are limited to 125 bytes (section 5.5).
    #[error("control frame payload of {len} bytes exceeds 125")]
    ControlTooLong {
        /// The payload length.
        len: usize,
    },
    /// The code is reserved and must not be sent (section 7.4).
    #[error("close code {code} must not be sent")]
    InvalidCloseCode {
        /// The code.
        code: u16,
    },
    /// A whole message or a first fragment while a fragmented message is
    /// being sent (section 5.4).
    #[error("a fragmented message is being sent: continue it first")]
    MessageInProgress,
    /// A continuation with no fragmented message being sent.
    #[error("no fragmented message to continue")]
    NoMessageInProgress,
}

/// Unwritten output past which an unwritten automatic pong is replaced by
/// the next one instead of followed by it: section 5.5.3 allows answering
/// only the most recent ping, so a peer that pings without reading cannot
/// grow the output; below this every ping gets its pong.
pub const PONG_COALESCE_AT: usize = 64 * 1024;

impl Connection {
    /// Queues a message. Nothing is written when it is refused.
    pub fn send(&mut self, message: Message<'_>) -> Result<(), SendError> {
        match message {
            Message::Text(text) => self.send_whole(OpCode::Text, text.as_bytes()),
            Message::Binary(data) => self.send_whole(OpCode::Binary, data),
            Message::Ping(payload) => self.send_control(OpCode::Ping, payload),
            Message::Pong(payload) => self.send_control(OpCode::Pong, payload),
            Message::Close(code, reason) => {
                if matches!(self.state, State::CloseSent | State::Closed) {
                    return Err(SendError::CloseSent);
                }
                if let Some(code) = code.filter(|c| !c.is_sendable()) {
                    return Err(SendError::InvalidCloseCode { code: code.0 });
                }
                self.write_close(code, reason);
                self.state = if self.state == State::CloseReceived { State::Closed } else { State::CloseSent };
                Ok(())
            }
        }
    }

    /// Queues one frame of a fragmented message: the first with `kind`,
    /// the rest as continuations, the last with `fin`. Fragments go out
    /// uncompressed. (For peers that test fragmentation: the conformance
    /// checks and the property tests.)
    pub fn send_fragment(&mut self, kind: DataKind, payload: &[u8], fin: bool) -> Result<(), SendError> {
        self.check_data_allowed()?;
        let opcode = match (self.sending, kind) {
            (None, DataKind::Text) => OpCode::Text,
            (None, DataKind::Binary) => OpCode::Binary,
            (Some(k), _) if k == kind => OpCode::Continuation,
            (Some(_), _) => return Err(SendError::MessageInProgress),
        };
        self.write_frame(opcode, fin, false, payload);
        self.sending = if fin { None } else { Some(kind) };
        Ok(())
    }

    /// Queues a whole message as frames of at most `max_frame` payload
    /// bytes each (one frame when 0), compressed first where
    /// permessage-deflate was agreed, so the compressed bytes are what is
    /// split and only the first frame carries RSV1 (RFC 7692 section 6.1).
    pub fn send_split(&mut self, kind: DataKind, payload: &[u8], max_frame: usize) -> Result<(), SendError> {
        self.check_data_allowed()?;
        if self.sending.is_some() {
            return Err(SendError::MessageInProgress);
        }
        let opcode = match kind {
            DataKind::Text => OpCode::Text,
            DataKind::Binary => OpCode::Binary,
        };
        let mut compressed = core::mem::take(&mut self.compressed_out);
        compressed.clear();
        let deflated = payload.len() >= self.config.compress_min_size && self.compress_into(payload, &mut compressed);
        let body: &[u8] = if deflated { &compressed } else { payload };
        let size = if max_frame == 0 { body.len().max(1) } else { max_frame };
        let mut pieces = body.chunks(size).peekable();
        let mut first = true;
        if pieces.peek().is_none() {
            self.write_frame(opcode, true, deflated, &[]);
        }
        while let Some(piece) = pieces.next() {
            let fin = pieces.peek().is_none();
            self.write_frame(if first { opcode } else { OpCode::Continuation }, fin, first && deflated, piece);
            first = false;
        }
        keep_small(&mut compressed);
        self.compressed_out = compressed;
        Ok(())
    }

    /// Ends a fragmented message being sent with an empty final frame, or
    /// says there is none.
    pub fn finish_fragments(&mut self) -> Result<(), SendError> {
        match self.sending {
            Some(kind) => self.send_fragment(kind, &[], true),
            None => Err(SendError::NoMessageInProgress),
        }
    }

    fn check_data_allowed(&self) -> Result<(), SendError> {
        if matches!(self.state, State::CloseSent | State::Closed) {
            return Err(SendError::CloseSent);
        }
        Ok(())
    }

    fn send_whole(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), SendError> {
        self.check_data_allowed()?;
        if self.sending.is_some() {
            return Err(SendError::MessageInProgress);
        }
        if payload.len() >= self.config.compress_min_size && self.send_compressed(opcode, payload) {
            return Ok(());
        }
        self.write_frame(opcode, true, false, payload);
        Ok(())
    }

    /// Compresses and queues a whole message where permessage-deflate was
    /// agreed; false when it was not (or, not expected, the library
    /// refused): the message then goes out as it is.
    fn send_compressed(&mut self, opcode: OpCode, payload: &[u8]) -> bool {
        let mut compressed = core::mem::take(&mut self.compressed_out);
        compressed.clear();
        let done = self.compress_into(payload, &mut compressed);
        if done {
            self.write_frame(opcode, true, true, &compressed);
        }
        keep_small(&mut compressed);
        self.compressed_out = compressed;
        done
    }

    /// Compresses a whole message into `out` with this side's context;
    /// false without permessage-deflate (or if the library refused).
    fn compress_into(&mut self, payload: &[u8], out: &mut Vec<u8>) -> bool {
        let Some(ours) = self.config.deflate.map(|p| p.of(self.role)) else { return false };
        let level = self.config.compression_level;
        let parkable = self.config.parkable_compression;
        let deflater = self.deflater.get_or_insert_with(|| {
            let deflater = MessageDeflater::new(ours.max_window_bits, ours.no_context_takeover, level);
            Box::new(if parkable { deflater.parkable() } else { deflater })
        });
        let done = deflater.compress(payload, out).is_ok();
        if ours.no_context_takeover {
            self.deflater = None;
        }
        done
    }

    fn send_control(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), SendError> {
        if self.state == State::Closed {
            return Err(SendError::CloseSent);
        }
        if payload.len() as u64 > MAX_CONTROL_PAYLOAD {
            return Err(SendError::ControlTooLong { len: payload.len() });
        }
        self.write_frame(opcode, true, false, payload);
        Ok(())
    }

    /// The automatic answer to a ping (section 5.5.2), coalesced once
    /// [`PONG_COALESCE_AT`] bytes wait unwritten.
    pub(super) fn write_pong(&mut self, payload: &[u8]) {
        if let Some((start, end)) = self.unsent_pong {
            let backlog = self.out.len().saturating_sub(self.out_pos);
            if end == self.out.len() && start >= self.out_pos && backlog >= PONG_COALESCE_AT {
                self.out.truncate(start);
            }
        }
        let start = self.out.len();
        self.write_frame(OpCode::Pong, true, false, payload);
        self.unsent_pong = Some((start, self.out.len()));
    }

    pub(super) fn write_close(&mut self, code: Option<CloseCode>, reason: &str) {
        let mut payload = Vec::with_capacity(reason.len().min(close::MAX_REASON_LEN).saturating_add(2));
        close::encode_close_payload(code, reason, &mut payload);
        self.write_frame(OpCode::Close, true, false, &payload);
    }

    fn write_frame(&mut self, opcode: OpCode, fin: bool, compressed: bool, payload: &[u8]) {
        let mask = self.mask_keys.as_mut().map(|next| next());
        let mut header = FrameHeader::new(fin, opcode, mask, payload.len() as u64);
        if compressed {
            mark_compressed(&mut header);
        }
        // The minimal length form always holds the length.
        let _ = header.encode_frame(payload, &mut self.out);
    }

    /// Bytes waiting to be written to the peer.
    pub fn pending_output(&self) -> &[u8] {
        self.out.get(self.out_pos..).unwrap_or_default()
    }

    /// Marks the first `n` pending bytes as written.
    pub fn consume_output(&mut self, n: usize) {
        self.out_pos = self.out_pos.saturating_add(n).min(self.out.len());
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
            self.unsent_pong = None;
        }
    }

    /// Takes all pending output.
    pub fn take_output(&mut self) -> Vec<u8> {
        let mut out = core::mem::take(&mut self.out);
        out.drain(..self.out_pos.min(out.len()));
        self.out_pos = 0;
        self.unsent_pong = None;
        out
    }
}
