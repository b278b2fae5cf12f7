//! Every rule a WebSocket frame stream must keep, written once.
//!
//! A rule broken is a [`Violation`]: it knows the close code it warrants and
//! the section of RFC 6455 that states the rule. The live connection
//! ([`crate::connection`]) stops at the first violation; the collecting
//! judges ([`crate::stream`], [`crate::inspect`]) list them all. Both ask
//! the same functions here.

use crate::close::CloseCode;
use crate::frame::{FrameHeader, LengthForm, MAX_CONTROL_PAYLOAD, OpCode};
use crate::violation::Violation;
use alloc::vec::Vec;
use core::ops::ControlFlow;

/// Which end of a connection: it decides who masks (section 5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Masks every frame it sends; its peer rejects unmasked frames.
    Client,
    /// Sends unmasked frames; its peer rejects masked ones.
    Server,
}

impl Role {
    /// The other end.
    pub const fn peer(self) -> Role {
        match self {
            Role::Client => Role::Server,
            Role::Server => Role::Client,
        }
    }

    /// The only end that may send a frame with this MASK bit (section 5.1:
    /// a client masks every frame, a server none): the sender a receiver
    /// judges such a frame as coming from.
    pub const fn sending_masked(masked: bool) -> Role {
        if masked { Role::Client } else { Role::Server }
    }
}

/// RSV1 as `RSV1 RSV2 RSV3` bits: permessage-deflate's "compressed" bit.
const RSV1: u8 = 0b100;

/// The per-frame rules in force on a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameRules {
    /// Who sent the frames; `None`: unknown, masking is not judged.
    sender: Option<Role>,
    /// RSV bits an extension negotiated (as `RSV1 RSV2 RSV3`).
    allowed_rsv: u8,
    /// Largest accepted frame payload, if limited.
    max_frame_size: Option<u64>,
}

impl FrameRules {
    /// The rules for frames from `sender` (`None`: unknown) on a connection
    /// that agreed to permessage-deflate or not (the only extension here,
    /// so RSV1 is the only bit that can be allowed, RFC 7692 section 6),
    /// with a frame size limit or none.
    pub const fn new(sender: Option<Role>, deflate: bool, max_frame_size: Option<u64>) -> Self {
        FrameRules { sender, allowed_rsv: if deflate { RSV1 } else { 0 }, max_frame_size }
    }

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
            (Some(Role::Client), false) => f(Violation::UnmaskedClientFrame)?,
            (Some(Role::Server), true) => f(Violation::MaskedServerFrame)?,
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

/// Judges a received close payload: empty, or a sendable code followed by
/// a UTF-8 reason (sections 5.5.1 and 7.4).
pub fn parse_close_payload(payload: &[u8]) -> Result<(Option<CloseCode>, &str), Violation> {
    match payload {
        [] => Ok((None, "")),
        [_] => Err(Violation::CloseOneByte),
        [hi, lo, reason @ ..] => {
            let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
            if !code.is_sendable() {
                return Err(Violation::InvalidCloseCode { code: code.0 });
            }
            let reason = core::str::from_utf8(reason).map_err(|_| Violation::InvalidCloseReason)?;
            Ok((Some(code), reason))
        }
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

/// Where a frame falls in the message stream: on its own (control), in a
/// data message, or nowhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FramePlace {
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
    pub fn next(&mut self, h: &FrameHeader) -> (FramePlace, Option<Violation>) {
        if h.opcode.is_control() {
            if h.opcode == OpCode::Close {
                self.closed = true;
            }
            return if h.opcode.is_reserved() {
                (FramePlace::Ignored, None)
            } else {
                (FramePlace::Control(h.opcode), None)
            };
        }
        if self.closed {
            return (FramePlace::Ignored, Some(Violation::DataAfterClose));
        }
        let (kind, first, mut violation) = match (h.opcode, self.current) {
            (OpCode::Continuation, Some(kind)) => (kind, false, None),
            (OpCode::Continuation, None) => return (FramePlace::Ignored, Some(Violation::UnexpectedContinuation)),
            (OpCode::Text, cur) => {
                (DataKind::Text, true, cur.map(|_| Violation::ExpectedContinuation { opcode: h.opcode }))
            }
            (OpCode::Binary, cur) => {
                (DataKind::Binary, true, cur.map(|_| Violation::ExpectedContinuation { opcode: h.opcode }))
            }
            _ => return (FramePlace::Ignored, None),
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
        (FramePlace::Data { kind, first, last: h.fin }, violation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: FrameRules = FrameRules::new(Some(Role::Client), false, None);

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
        let rules = FrameRules::new(Some(Role::Client), true, None);
        let mut h = FrameHeader::new(true, OpCode::Text, Some([0; 4]), 3);
        h.rsv[0] = true;
        assert_eq!(rules.check(&h), Ok(()));
        h.opcode = OpCode::Ping;
        assert_eq!(rules.check(&h), Err(Violation::ReservedBits { bits: 0b100 }));
    }

    #[test]
    fn payloads() {
        assert_eq!(parse_close_payload(&[]), Ok((None, "")));
        assert_eq!(parse_close_payload(&[3]), Err(Violation::CloseOneByte));
        assert_eq!(parse_close_payload(&[3, 0xe8, b'o', b'k']), Ok((Some(CloseCode::NORMAL), "ok")));
        assert_eq!(parse_close_payload(&[3, 0xed]), Err(Violation::InvalidCloseCode { code: 1005 }));
        assert_eq!(parse_close_payload(&[3, 0xe8, 0xff]), Err(Violation::InvalidCloseReason));
    }

    #[test]
    fn sequencing() {
        let mut s = Sequencer::new(Some(10));
        let f = |fin, op, len| FrameHeader::new(fin, op, None, len);
        assert_eq!(s.next(&f(true, OpCode::Continuation, 0)).1, Some(Violation::UnexpectedContinuation));
        assert_eq!(
            s.next(&f(false, OpCode::Text, 4)),
            (FramePlace::Data { kind: DataKind::Text, first: true, last: false }, None)
        );
        assert_eq!(s.next(&f(true, OpCode::Ping, 0)), (FramePlace::Control(OpCode::Ping), None));
        assert_eq!(
            s.next(&f(false, OpCode::Binary, 1)).1,
            Some(Violation::ExpectedContinuation { opcode: OpCode::Binary })
        );
        // The binary message (1 byte) plus 9 reaches the limit exactly: fine.
        assert_eq!(
            s.next(&f(true, OpCode::Continuation, 9)),
            (FramePlace::Data { kind: DataKind::Binary, first: false, last: true }, None)
        );
        assert_eq!(s.next(&f(false, OpCode::Text, 10)).1, None);
        assert_eq!(s.next(&f(true, OpCode::Continuation, 1)).1, Some(Violation::MessageTooLarge { len: 11, max: 10 }));
        assert_eq!(s.next(&f(true, OpCode::Close, 0)).0, FramePlace::Control(OpCode::Close));
        assert_eq!(s.next(&f(true, OpCode::Text, 0)), (FramePlace::Ignored, Some(Violation::DataAfterClose)));
    }
}
