//! The RFC 6455 WebSocket protocol, sans-IO.
//!
//! `wscope-core` knows everything about the protocol and nothing about
//! sockets: callers hand it bytes and take back events and bytes. The same
//! code runs inside the Tokio server and, compiled to WebAssembly, inside the
//! explorer page.
//!
//! - [`accept`]: the `Sec-WebSocket-Accept` computation (section 4.2.2).
//! - [`header_value`]: the grammar of the handshake's header values.
//! - [`handshake`]: the opening handshake for both roles (section 4).
//! - [`frame`]: frame headers, decoded from any prefix and encoded from any
//!   bits, each field with its bit span (section 5.2).
//! - [`mask`]: payload masking (section 5.3).
//! - [`utf8`]: incremental UTF-8 validation that fails fast (section 8.1).
//! - [`close`]: close codes and close frame payloads (sections 5.5.1, 7.4).
//! - [`violation`]: a broken rule, with the close code it warrants and the
//!   section that says so.
//! - [`rules`]: every rule a frame stream must keep, as [`Violation`]s.
//! - [`deflate`]: permessage-deflate (RFC 7692): its parameters, their
//!   negotiation, the message codec.
//! - [`message`]: one data message being received (UTF-8, inflating,
//!   limits), shared by every judge below.
//! - [`connection`]: the message layer for either role: fragmentation,
//!   control frames, automatic pong, the closing handshake, limits; stops
//!   at the first violation.
//! - [`stream`]: one direction decoded incrementally, every violation
//!   listed (the page's live view, the relay, reports).
//! - [`inspect`]: the explorer's judgement of one buffer (the stream
//!   decoder over it).
//! - [`wire`]: both directions of one connection as recorded: the HTTP
//!   heads, then frames, with the agreed permessage-deflate applied.
//!
//! No function in this crate panics on any input.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::cast_possible_truncation,
        clippy::panic
    )
)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod accept;
pub mod close;
pub mod connection;
pub mod deflate;
pub mod frame;
pub mod handshake;
pub mod header_value;
pub mod inspect;
pub mod mask;
pub mod message;
pub mod pingpong;
pub mod rules;
pub mod stream;
pub mod utf8;
pub mod violation;
pub mod wire;

pub use accept::accept_key;
pub use close::{CloseCode, CloseFrame};
pub use connection::{Config, Connection, Event, EventRef, Message, SendError, State};
pub use frame::{FrameHeader, LengthForm, OpCode};
pub use rules::Role;
pub use violation::{ProtocolError, Violation};

/// The result of decoding from a prefix of a byte stream.
///
/// Running out of bytes is a normal answer, not an error: `Incomplete` says
/// how many more bytes are needed at least before a retry can make progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded<T> {
    /// A whole value was decoded from the first `len` bytes.
    Complete {
        /// The decoded value.
        value: T,
        /// How many bytes of the input it occupied.
        len: usize,
    },
    /// The input is a valid prefix; at least `needed` more bytes are needed.
    Incomplete {
        /// A lower bound on the bytes still missing (exact for frame headers).
        needed: usize,
    },
}

impl<T> Decoded<T> {
    /// The value, if complete.
    pub fn complete(self) -> Option<(T, usize)> {
        match self {
            Decoded::Complete { value, len } => Some((value, len)),
            Decoded::Incomplete { .. } => None,
        }
    }
}
