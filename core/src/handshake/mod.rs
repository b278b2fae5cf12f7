//! The opening handshake (RFC 6455 section 4), for both roles.
//!
//! - [`head`]: HTTP request and response heads, read from any prefix of the
//!   stream under one size cap.
//! - [`server`]: [`parse_request`] accepts a client's request ([`Request`],
//!   whose [`Request::response`] is the 101 to send) or says which error
//!   response to send ([`HandshakeError::response`]); [`inspect_request`]
//!   lists every problem at once, for the explorer.
//! - [`client`]: [`ClientHandshake`] writes a request and checks the
//!   server's response.
//!
//! The grammar of the header values both read is [`crate::header_value`].

pub mod client;
pub mod head;
pub mod server;

pub use crate::header_value::{Extension, ExtensionParam, parse_extensions};
pub use client::{Accepted, ClientHandshake, ResponseError};
pub use head::{HeaderLines, RequestHead, ResponseHead};
pub use server::{HandshakeError, InvalidValue, Request, RequestReport, inspect_request, parse_request};

/// Limits on the request head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandshakeLimits {
    /// Largest request head (request line, headers, blank line) in bytes;
    /// larger gets 431. Default 8 KiB.
    pub max_head_len: usize,
    /// Most header lines; more gets 431. Default 64. Values beyond what
    /// `max_head_len` bytes can hold (or beyond 4096) change nothing.
    pub max_headers: usize,
}

impl HandshakeLimits {
    /// Header slots to give the parser: never more than the head can hold
    /// (a header line takes at least 3 bytes), so no limit, however large,
    /// makes the parser allocate more than a few bytes per head byte.
    pub(crate) fn header_slots(&self) -> usize {
        self.max_headers.min((self.max_head_len / 3).saturating_add(1)).min(4096)
    }
}

impl Default for HandshakeLimits {
    fn default() -> Self {
        HandshakeLimits { max_head_len: 8 * 1024, max_headers: 64 }
    }
}
