//! A broken rule: what the rule is, the close code it warrants and the RFC
//! section that states it. Every judge in the crate speaks this one language.

use crate::close::CloseCode;
use crate::frame::{LengthForm, OpCode};
use crate::utf8::Utf8Error;

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
    #[error("payload length {len} is not in the minimal encoding (the {} length form is used)", form.name())]
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

impl From<Utf8Error> for Violation {
    /// Text that stopped being UTF-8 at `offset` of its message (section 8.1).
    fn from(e: Utf8Error) -> Self {
        Violation::InvalidUtf8 { offset: e.offset }
    }
}
