//! permessage-deflate (RFC 7692): the parameters a connection agreed to.
//!
//! [`negotiation`] is how they are agreed (the client's offers, the
//! server's choice); [`codec`] compresses and inflates messages with them.
//! The client's check of a server's answer is part of
//! [`crate::handshake::ClientHandshake::check_response`].
//!
//! Window bits are the base-2 logarithm of an LZ77 window, 8 to 15
//! (256 bytes to 32 KiB).

pub mod codec;
mod history;
pub mod negotiation;

pub use codec::{
    DEFAULT_LEVEL, DeflateError, InflateError, MessageDeflater, MessageInflater, TRAILER, compress_message,
    mark_compressed,
};
pub use negotiation::{Declined, DeflateOffer, Negotiation, ParamError, ServerDeflateConfig, negotiate, parse_params};

use crate::rules::Role;
use alloc::format;
use alloc::string::String;

/// The extension token.
pub const NAME: &str = "permessage-deflate";

/// The offer a client makes that lets the server choose every parameter:
/// the extension with `client_max_window_bits` (section 7.1.2.2: the client
/// can take any window the server names). What an intercepting relay offers
/// upstream for a client that offered the extension.
pub const OPEN_OFFER: &str = "permessage-deflate; client_max_window_bits";

/// Whether a request's `extensions` offer permessage-deflate at all.
pub fn offered(extensions: &[crate::header_value::Extension]) -> bool {
    extensions.iter().any(|e| e.name.eq_ignore_ascii_case(NAME))
}

/// The smallest and largest LZ77 window sizes, as bits (section 7.1.2).
pub const MIN_WINDOW_BITS: u8 = 8;
/// The largest window, which is also the default.
pub const MAX_WINDOW_BITS: u8 = 15;

/// The parameters in force on a connection once the extension is agreed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DeflateParams {
    /// The server starts every message with an empty window.
    pub server_no_context_takeover: bool,
    /// The client starts every message with an empty window.
    pub client_no_context_takeover: bool,
    /// The server compresses with at most this window (8-15).
    pub server_max_window_bits: u8,
    /// The client compresses with at most this window (8-15).
    pub client_max_window_bits: u8,
}

impl Default for DeflateParams {
    /// The extension with no parameters: context takeover both ways, 32 KiB
    /// windows.
    fn default() -> Self {
        DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
        }
    }
}

/// The window and context rule one endpoint compresses with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SenderParams {
    /// The largest window its messages refer back into (8-15).
    pub max_window_bits: u8,
    /// It starts every message with an empty window.
    pub no_context_takeover: bool,
}

impl DeflateParams {
    /// What `sender` keeps to when it compresses: the `server_*`
    /// parameters for a server, the `client_*` ones for a client.
    pub const fn of(&self, sender: Role) -> SenderParams {
        match sender {
            Role::Server => SenderParams {
                max_window_bits: self.server_max_window_bits,
                no_context_takeover: self.server_no_context_takeover,
            },
            Role::Client => SenderParams {
                max_window_bits: self.client_max_window_bits,
                no_context_takeover: self.client_no_context_takeover,
            },
        }
    }

    /// The defaults, except that `sender` keeps to a window of
    /// `window_bits`: what a connection agreed to when one compressed
    /// frame was built with that window.
    pub const fn with_window(sender: Role, window_bits: u8) -> Self {
        let mut p = DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
        };
        match sender {
            Role::Server => p.server_max_window_bits = window_bits,
            Role::Client => p.client_max_window_bits = window_bits,
        }
        p
    }

    /// The `Sec-WebSocket-Extensions` value that states these parameters,
    /// e.g. `permessage-deflate; server_no_context_takeover`. Defaults are
    /// left out; `client_max_window_bits` is written only when
    /// `client_window_offered` (section 7.1.2.2: a response must not carry it
    /// otherwise).
    pub fn response_value(&self, client_window_offered: bool) -> String {
        let mut out = String::from(NAME);
        if self.server_no_context_takeover {
            out.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            out.push_str("; client_no_context_takeover");
        }
        if self.server_max_window_bits < MAX_WINDOW_BITS {
            out.push_str(&format!("; server_max_window_bits={}", self.server_max_window_bits));
        }
        if client_window_offered && self.client_max_window_bits < MAX_WINDOW_BITS {
            out.push_str(&format!("; client_max_window_bits={}", self.client_max_window_bits));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_sender_keeps_to_its_own_parameters() {
        let p = DeflateParams { server_no_context_takeover: true, server_max_window_bits: 10, ..Default::default() };
        assert_eq!(p.of(Role::Server), SenderParams { max_window_bits: 10, no_context_takeover: true });
        assert_eq!(p.of(Role::Client), SenderParams { max_window_bits: 15, no_context_takeover: false });
        assert_eq!(DeflateParams::with_window(Role::Client, 9).of(Role::Client).max_window_bits, 9);
        assert_eq!(DeflateParams::with_window(Role::Client, 9).of(Role::Server).max_window_bits, 15);
    }
}
