//! Every rule a WebSocket frame stream must keep, written once.
//!
//! A rule broken is a [`Violation`]: it knows the close code it warrants and
//! the section of RFC 6455 that states the rule. The live connection
//! ([`crate::connection`]) stops at the first violation; the explorer's
//! inspector ([`crate::inspect`]) lists them all. Both ask the same
//! functions here.

use crate::close::CloseCode;
use crate::frame::{FrameHeader, LengthForm, MAX_CONTROL_PAYLOAD, OpCode};
use alloc::vec::Vec;
use core::ops::ControlFlow;

/// A broken rule of the protocol (or of a configured limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Violation {
    /// An opcode the RFC reserves was used.
    #[error("reserved opcode 0x{opcode:X}")]
    ReservedOpcode {
        /// The 4-bit opcode.
        opcode: u8,
    },
    /// RSV bits set that no negotiated extension defines.
    #[error("reserved bits set without an extension that defines them (RSV1-3 = {bits:03b})")]
    ReservedBits {
        /// The three bits, RSV1 first.
        bits: u8,
    },
    /// A client sent a frame without masking it.
    #[error("client frame is not masked")]
    UnmaskedClientFrame,
    /// A server sent a masked frame.
    #[error("server frame is masked")]
    MaskedServerFrame,
    /// A control frame without FIN.
    #[error("control frame ({opcode}) is fragmented (FIN = 0)")]
    FragmentedControl {
        /// Its opcode.
        opcode: OpCode,
    },
    /// A control frame with more than 125 bytes of payload.
    #[error("control frame payload > 125 bytes ({len})")]
    ControlTooLong {
        /// The payload length.
        len: u64,
    },
    /// The most significant bit of a 64-bit length was set.
    #[error("64-bit payload length has its most significant bit set")]
    LengthTopBit,
    /// The length was not written in the shortest form.
    #[error("payload length {len} is not in the minimal encoding ({form:?} used)")]
    NonMinimalLength {
        /// The length.
        len: u64,
        /// The form used.
        form: LengthForm,
    },
    /// A continuation frame with no fragmented message to continue.
    #[error("continuation frame with no message to continue")]
    UnexpectedContinuation,
    /// A new data frame while a fragmented message was unfinished.
    #[error("new {opcode} frame inside a fragmented message (expected continuation)")]
    ExpectedContinuation {
        /// The new frame's opcode.
        opcode: OpCode,
    },
    /// A data frame after a close frame.
    #[error("data frame after the Close frame")]
    DataAfterClose,
    /// Text that is not UTF-8.
    #[error("invalid UTF-8 in text message at byte {offset} of the message")]
    InvalidUtf8 {
        /// Offset in the message of the first invalid byte.
        offset: u64,
    },
    /// A close frame with exactly one byte of payload.
    #[error("close frame payload of one byte (a code needs two)")]
    CloseOneByte,
    /// A close code that must not be sent.
    #[error("close code {code} must not be sent")]
    InvalidCloseCode {
        /// The code.
        code: u16,
    },
    /// A close reason that is not UTF-8.
    #[error("close reason is not valid UTF-8")]
    InvalidCloseReason,
    /// A frame larger than the configured limit.
    #[error("frame payload of {len} bytes exceeds the limit of {max}")]
    FrameTooLarge {
        /// The payload length.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// A message larger than the configured limit.
    #[error("message of at least {len} bytes exceeds the limit of {max}")]
    MessageTooLarge {
        /// The message length so far, this frame included.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// RSV1 (permessage-deflate's "compressed" bit) on a continuation
    /// frame: only a message's first frame carries it.
    #[error("RSV1 set on a continuation frame (only the first frame of a compressed message has it)")]
    CompressedContinuation,
    /// A compressed message that is not valid DEFLATE.
    #[error("compressed message is not valid DEFLATE data")]
    InvalidDeflate,
    /// A compressed message that inflates past the message size limit
    /// (stopped there, before inflating the rest).
    #[error("compressed message inflates to more than the limit of {max} bytes")]
    InflatedTooLarge {
        /// The limit.
        max: u64,
    },
}

impl Violation {
    /// The close code to fail the connection with (section 7.4.1).
    pub const fn close_code(&self) -> CloseCode {
        match self {
            Violation::InvalidUtf8 { .. } | Violation::InvalidCloseReason => CloseCode::INVALID_PAYLOAD,
            Violation::FrameTooLarge { .. }
            | Violation::MessageTooLarge { .. }
            | Violation::InflatedTooLarge { .. } => CloseCode::MESSAGE_TOO_BIG,
            Violation::InvalidDeflate => CloseCode::INVALID_PAYLOAD,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }

    /// The RFC that states the rule: 6455, or 7692 for permessage-deflate.
    pub const fn rfc(&self) -> u16 {
        match self {
            Violation::CompressedContinuation | Violation::InvalidDeflate | Violation::InflatedTooLarge { .. } => 7692,
            _ => 6455,
        }
    }

    /// The section of that RFC ([`Violation::rfc`]) that states the rule.
    pub const fn section(&self) -> &'static str {
        match self {
            Violation::CompressedContinuation => "6.1",
            Violation::InvalidDeflate | Violation::InflatedTooLarge { .. } => "7.2.2",
            Violation::ReservedOpcode { .. }
            | Violation::ReservedBits { .. }
            | Violation::LengthTopBit
            | Violation::NonMinimalLength { .. } => "5.2",
            Violation::UnmaskedClientFrame | Violation::MaskedServerFrame => "5.1",
            Violation::FragmentedControl { .. } | Violation::ControlTooLong { .. } => "5.5",
            Violation::UnexpectedContinuation | Violation::ExpectedContinuation { .. } => "5.4",
            Violation::DataAfterClose | Violation::CloseOneByte | Violation::InvalidCloseReason => "5.5.1",
            Violation::InvalidUtf8 { .. } => "8.1",
            Violation::InvalidCloseCode { .. } => "7.4.1",
            Violation::FrameTooLarge { .. } | Violation::MessageTooLarge { .. } => "10.4",
        }
    }
}

/// A violation found at a position in a byte stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[error("{violation} (at byte {offset}; close {code}, RFC {rfc} section {section})",
    code = violation.close_code().0, rfc = violation.rfc(), section = violation.section())]
pub struct ProtocolError {
    /// What rule was broken.
    pub violation: Violation,
    /// Offset in the received stream (after the handshake) of the frame or
    /// byte that broke it.
    pub offset: u64,
}

impl ProtocolError {
    /// The close code to fail the connection with.
    pub const fn close_code(&self) -> CloseCode {
        self.violation.close_code()
    }
}

/// Which endpoint sent the frames being judged; it decides the masking rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sender {
    /// Frames from a client must be masked.
    Client,
    /// Frames from a server must not be masked.
    Server,
    /// Unknown: masking is not judged.
    Unknown,
}

/// RSV1 in [`FrameRules::allowed_rsv`]: permessage-deflate's bit.
pub const RSV1: u8 = 0b100;

/// The per-frame rules in force on a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameRules {
    /// Who sent the frames.
    pub sender: Sender,
    /// RSV bits an extension negotiated (as `RSV1 RSV2 RSV3`, e.g. `0b100`).
    pub allowed_rsv: u8,
    /// Largest accepted frame payload, if limited.
    pub max_frame_size: Option<u64>,
}

impl FrameRules {
    /// Calls `f` with each rule `h` breaks, most fundamental first, until
    /// `f` breaks the loop.
    #[inline]
    pub fn each_violation(&self, h: &FrameHeader, mut f: impl FnMut(Violation) -> ControlFlow<()>) {
        let _ = self.walk(h, &mut f);
    }

    #[inline]
    fn walk(&self, h: &FrameHeader, f: &mut impl FnMut(Violation) -> ControlFlow<()>) -> ControlFlow<()> {
        if h.opcode.is_reserved() {
            f(Violation::ReservedOpcode { opcode: h.opcode.bits() })?;
        }
        let bits = h.rsv_bits();
        // RSV bits on control frames are never the extension's (RFC 7692 6.1
        // gives RSV1 to data frames only), so they are judged against 0 there.
        let allowed = if h.opcode.is_control() { 0 } else { self.allowed_rsv };
        if bits & !allowed != 0 {
            f(Violation::ReservedBits { bits })?;
        }
        // RFC 7692 6.1: with permessage-deflate, RSV1 marks a message's first
        // frame only.
        if h.opcode == OpCode::Continuation && h.rsv[0] && self.allowed_rsv & RSV1 != 0 {
            f(Violation::CompressedContinuation)?;
        }
        match (self.sender, h.mask.is_some()) {
            (Sender::Client, false) => f(Violation::UnmaskedClientFrame)?,
            (Sender::Server, true) => f(Violation::MaskedServerFrame)?,
            _ => {}
        }
        if h.opcode.is_control() {
            if !h.fin {
                f(Violation::FragmentedControl { opcode: h.opcode })?;
            }
            if h.payload_len > MAX_CONTROL_PAYLOAD {
                f(Violation::ControlTooLong { len: h.payload_len })?;
            }
        }
        if h.length_form == LengthForm::Extended64 && h.payload_len >> 63 != 0 {
            f(Violation::LengthTopBit)?;
        }
        if h.length_form != LengthForm::minimal(h.payload_len) {
            f(Violation::NonMinimalLength { len: h.payload_len, form: h.length_form })?;
        }
        if let Some(max) = self.max_frame_size {
            if h.payload_len > max {
                f(Violation::FrameTooLarge { len: h.payload_len, max })?;
            }
        }
        ControlFlow::Continue(())
    }

    /// Strict judgement: the first rule `h` breaks.
    #[inline]
    pub fn check(&self, h: &FrameHeader) -> Result<(), Violation> {
        let mut first = None;
        self.each_violation(h, |v| {
            first = Some(v);
            ControlFlow::Break(())
        });
        first.map_or(Ok(()), Err)
    }

    /// Inspecting judgement: every rule `h` breaks.
    pub fn violations(&self, h: &FrameHeader) -> Vec<Violation> {
        let mut all = Vec::new();
        self.each_violation(h, |v| {
            all.push(v);
            ControlFlow::Continue(())
        });
        all
    }
}

/// The kind of a data message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DataKind {
    /// UTF-8 text.
    Text,
    /// Binary data.
    Binary,
}

/// What a frame is to the message layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameRole {
    /// A control frame (handled on its own, even between fragments).
    Control(OpCode),
    /// A data frame of a message of `kind`.
    Data {
        /// The message's kind.
        kind: DataKind,
        /// The message's first frame.
        first: bool,
        /// The message's last frame.
        last: bool,
    },
    /// A frame the message layer cannot place (reserved opcode, stray
    /// continuation, data after close): skipped when inspecting.
    Ignored,
}

/// The fragmentation rules of section 5.4 and the message size limit:
/// which frame may follow which.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sequencer {
    current: Option<DataKind>,
    message_len: u64,
    closed: bool,
    max_message_size: Option<u64>,
}

impl Sequencer {
    /// A sequencer at the start of a stream.
    pub const fn new(max_message_size: Option<u64>) -> Self {
        Sequencer { current: None, message_len: 0, closed: false, max_message_size }
    }

    /// Whether a fragmented message is in progress.
    pub const fn in_message(&self) -> Option<DataKind> {
        self.current
    }

    /// Places the frame with header `h` in the stream and advances. With a
    /// violation the sequencer still moves on as an inspector would: a stray
    /// continuation is skipped, a new data frame abandons the unfinished
    /// message and starts its own.
    pub fn next(&mut self, h: &FrameHeader) -> (FrameRole, Option<Violation>) {
        if h.opcode.is_control() {
            if h.opcode == OpCode::Close {
                self.closed = true;
            }
            return if h.opcode.is_reserved() {
                (FrameRole::Ignored, None)
            } else {
                (FrameRole::Control(h.opcode), None)
            };
        }
        if self.closed {
            return (FrameRole::Ignored, Some(Violation::DataAfterClose));
        }
        let (kind, first, mut violation) = match (h.opcode, self.current) {
            (OpCode::Continuation, Some(kind)) => (kind, false, None),
            (OpCode::Continuation, None) => return (FrameRole::Ignored, Some(Violation::UnexpectedContinuation)),
            (OpCode::Text, cur) => {
                (DataKind::Text, true, cur.map(|_| Violation::ExpectedContinuation { opcode: h.opcode }))
            }
            (OpCode::Binary, cur) => {
                (DataKind::Binary, true, cur.map(|_| Violation::ExpectedContinuation { opcode: h.opcode }))
            }
            _ => return (FrameRole::Ignored, None),
        };
        if first {
            self.message_len = 0;
        }
        self.message_len = self.message_len.saturating_add(h.payload_len);
        if let Some(max) = self.max_message_size {
            if self.message_len > max && violation.is_none() {
                violation = Some(Violation::MessageTooLarge { len: self.message_len, max });
            }
        }
        self.current = if h.fin { None } else { Some(kind) };
        (FrameRole::Data { kind, first, last: h.fin }, violation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: FrameRules = FrameRules { sender: Sender::Client, allowed_rsv: 0, max_frame_size: None };

    #[test]
    fn strict_takes_the_first_inspect_takes_all() {
        let h = FrameHeader {
            fin: false,
            rsv: [false, true, false],
            opcode: OpCode::Ping,
            mask: None,
            payload_len: 200,
            length_form: LengthForm::Extended64,
        };
        assert_eq!(CLIENT.check(&h), Err(Violation::ReservedBits { bits: 0b010 }));
        let all = CLIENT.violations(&h);
        assert_eq!(
            all,
            [
                Violation::ReservedBits { bits: 0b010 },
                Violation::UnmaskedClientFrame,
                Violation::FragmentedControl { opcode: OpCode::Ping },
                Violation::ControlTooLong { len: 200 },
                Violation::NonMinimalLength { len: 200, form: LengthForm::Extended64 },
            ]
        );
        assert!(all.iter().all(|v| v.close_code() == CloseCode::PROTOCOL_ERROR));
        assert_eq!(Violation::ControlTooLong { len: 200 }.section(), "5.5");
    }

    #[test]
    fn rsv1_allowed_on_data_frames_only() {
        let rules = FrameRules { allowed_rsv: 0b100, ..CLIENT };
        let mut h = FrameHeader::new(true, OpCode::Text, Some([0; 4]), 3);
        h.rsv[0] = true;
        assert_eq!(rules.check(&h), Ok(()));
        h.opcode = OpCode::Ping;
        assert_eq!(rules.check(&h), Err(Violation::ReservedBits { bits: 0b100 }));
    }

    #[test]
    fn sequencing() {
        let mut s = Sequencer::new(Some(10));
        let f = |fin, op, len| FrameHeader::new(fin, op, None, len);
        assert_eq!(s.next(&f(true, OpCode::Continuation, 0)).1, Some(Violation::UnexpectedContinuation));
        assert_eq!(
            s.next(&f(false, OpCode::Text, 4)),
            (FrameRole::Data { kind: DataKind::Text, first: true, last: false }, None)
        );
        assert_eq!(s.next(&f(true, OpCode::Ping, 0)), (FrameRole::Control(OpCode::Ping), None));
        assert_eq!(
            s.next(&f(false, OpCode::Binary, 1)).1,
            Some(Violation::ExpectedContinuation { opcode: OpCode::Binary })
        );
        // The binary message (1 byte) plus 9 reaches the limit exactly: fine.
        assert_eq!(
            s.next(&f(true, OpCode::Continuation, 9)),
            (FrameRole::Data { kind: DataKind::Binary, first: false, last: true }, None)
        );
        assert_eq!(s.next(&f(false, OpCode::Text, 10)).1, None);
        assert_eq!(s.next(&f(true, OpCode::Continuation, 1)).1, Some(Violation::MessageTooLarge { len: 11, max: 10 }));
        assert_eq!(s.next(&f(true, OpCode::Close, 0)).0, FrameRole::Control(OpCode::Close));
        assert_eq!(s.next(&f(true, OpCode::Text, 0)), (FrameRole::Ignored, Some(Violation::DataAfterClose)));
    }
}
