//! permessage-deflate's negotiation (RFC 7692 sections 5 and 7.1): a
//! client offers the extension, possibly several times with different
//! parameters, in order of preference (section 5.1); the server accepts at
//! most one offer and answers with the parameters in force. An offer with
//! an unknown, repeated or malformed parameter must be declined
//! (section 7.1).
//!
//! The compressor behind this crate cannot write with an 8-bit window (zlib
//! rounds it up to 9), so a server that is asked to keep its own window at
//! 8 bits declines that offer; see
//! [`ServerDeflateConfig::min_server_window_bits`].

use super::{DeflateParams, MAX_WINDOW_BITS, MIN_WINDOW_BITS, NAME};
use crate::header_value::{Extension, ExtensionParam};
use alloc::string::String;
use alloc::vec::Vec;

/// Why an offer (or a response) cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// Not an extension parameter of permessage-deflate.
    #[error("unknown permessage-deflate parameter {0:?}")]
    Unknown(String),
    /// The same parameter twice.
    #[error("permessage-deflate parameter {0} given twice")]
    Repeated(&'static str),
    /// A value where none is allowed, none where one is required, or a
    /// value outside 8-15.
    #[error("permessage-deflate parameter {name} has an invalid value {value:?}")]
    BadValue {
        /// The parameter.
        name: &'static str,
        /// What was given (`None`: no value).
        value: Option<String>,
    },
}

/// One offer, checked (section 7.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct DeflateOffer {
    /// The client asks the server not to keep its window between messages.
    pub server_no_context_takeover: bool,
    /// The client says it will not keep its window between messages.
    pub client_no_context_takeover: bool,
    /// The client asks the server to use at most this window.
    pub server_max_window_bits: Option<u8>,
    /// The client can limit its own window: `Some(None)` without a value,
    /// `Some(Some(n))` with a limit of its own.
    pub client_max_window_bits: Option<Option<u8>>,
}

/// Reads the parameters of one `permessage-deflate` element (of an offer or
/// a response: the grammar is the same).
pub fn parse_params(params: &[ExtensionParam]) -> Result<DeflateOffer, ParamError> {
    let mut offer = DeflateOffer::default();
    let mut seen = [false; 4];
    for p in params {
        let (index, name) = match p.name.to_ascii_lowercase().as_str() {
            "server_no_context_takeover" => (0, "server_no_context_takeover"),
            "client_no_context_takeover" => (1, "client_no_context_takeover"),
            "server_max_window_bits" => (2, "server_max_window_bits"),
            "client_max_window_bits" => (3, "client_max_window_bits"),
            _ => return Err(ParamError::Unknown(p.name.clone())),
        };
        match seen.get_mut(index) {
            Some(true) => return Err(ParamError::Repeated(name)),
            Some(slot) => *slot = true,
            None => {}
        }
        let bad = || ParamError::BadValue { name, value: p.value.clone() };
        match index {
            0 | 1 => {
                if p.value.is_some() {
                    return Err(bad());
                }
                if index == 0 {
                    offer.server_no_context_takeover = true;
                } else {
                    offer.client_no_context_takeover = true;
                }
            }
            2 => offer.server_max_window_bits = Some(p.value.as_deref().and_then(window_bits).ok_or_else(bad)?),
            _ => {
                offer.client_max_window_bits = Some(match p.value.as_deref() {
                    None => None,
                    Some(v) => Some(window_bits(v).ok_or_else(bad)?),
                })
            }
        }
    }
    Ok(offer)
}

/// `8` to `15`, written as a plain decimal number (section 7.1.2: no
/// leading zeros, no sign).
fn window_bits(value: &str) -> Option<u8> {
    let bits: u8 = match value.as_bytes() {
        [d] if d.is_ascii_digit() => d.wrapping_sub(b'0'),
        [b'1', d] if d.is_ascii_digit() => d.wrapping_sub(b'0').saturating_add(10),
        _ => return None,
    };
    (MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(&bits).then_some(bits)
}

/// What a server is willing to agree to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ServerDeflateConfig {
    /// Start each of our messages with an empty window (less memory kept
    /// per connection, worse compression). We do so anyway when asked.
    pub server_no_context_takeover: bool,
    /// Ask the client to start each message with an empty window.
    pub client_no_context_takeover: bool,
    /// Our window, at most; smaller if the client asks.
    pub server_max_window_bits: u8,
    /// The window we ask the client to keep to, when it says it can.
    pub client_max_window_bits: u8,
    /// The smallest window our compressor can write with; offers asking for
    /// less are declined. 9 with zlib's deflate.
    pub min_server_window_bits: u8,
}

impl Default for ServerDeflateConfig {
    fn default() -> Self {
        ServerDeflateConfig {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
            min_server_window_bits: 9,
        }
    }
}

/// Why the server passed over one offer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Declined {
    /// The offer breaks the grammar of section 7.1.
    #[error("{0}")]
    Invalid(ParamError),
    /// The offer asks for a window our compressor cannot keep to.
    #[error("server_max_window_bits={asked} is below what the compressor can do ({min})")]
    WindowTooSmall {
        /// What the client asked for.
        asked: u8,
        /// The smallest window we can write with.
        min: u8,
    },
}

/// The server's answer to the offers in a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Negotiation {
    /// The accepted offer's parameters and the response header value.
    pub accepted: Option<(DeflateParams, String)>,
    /// Each permessage-deflate offer passed over, by its index among the
    /// request's extensions, and why.
    pub declined: Vec<(usize, Declined)>,
}

/// Chooses the first acceptable `permessage-deflate` offer among a request's
/// `extensions` (section 5.1: in the client's order of preference).
pub fn negotiate(extensions: &[Extension], config: &ServerDeflateConfig) -> Negotiation {
    let mut declined = Vec::new();
    for (index, ext) in extensions.iter().enumerate() {
        if !ext.name.eq_ignore_ascii_case(NAME) {
            continue;
        }
        let offer = match parse_params(&ext.params) {
            Ok(o) => o,
            Err(e) => {
                declined.push((index, Declined::Invalid(e)));
                continue;
            }
        };
        let mut server_bits = config.server_max_window_bits.clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS);
        if let Some(asked) = offer.server_max_window_bits {
            if asked < config.min_server_window_bits {
                declined.push((index, Declined::WindowTooSmall { asked, min: config.min_server_window_bits }));
                continue;
            }
            server_bits = server_bits.min(asked);
        }
        server_bits = server_bits.max(config.min_server_window_bits.min(MAX_WINDOW_BITS));
        // Section 7.1.2.2: without the client's word we cannot limit it.
        let client_bits = match offer.client_max_window_bits {
            None => MAX_WINDOW_BITS,
            Some(limit) => {
                let ours = config.client_max_window_bits.clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS);
                limit.map_or(ours, |l| ours.min(l))
            }
        };
        let params = DeflateParams {
            server_no_context_takeover: offer.server_no_context_takeover || config.server_no_context_takeover,
            client_no_context_takeover: config.client_no_context_takeover,
            server_max_window_bits: server_bits,
            client_max_window_bits: client_bits,
        };
        // A window the client asked for is echoed even at its default, so
        // the client sees its request was heard (section 7.1.2.1).
        let mut value = params.response_value(offer.client_max_window_bits.is_some());
        if offer.server_max_window_bits == Some(MAX_WINDOW_BITS) && server_bits == MAX_WINDOW_BITS {
            value.push_str("; server_max_window_bits=15");
        }
        if let Some(Some(MAX_WINDOW_BITS)) = offer.client_max_window_bits {
            if client_bits == MAX_WINDOW_BITS {
                value.push_str("; client_max_window_bits=15");
            }
        }
        return Negotiation { accepted: Some((params, value)), declined };
    }
    Negotiation { accepted: None, declined }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header_value::parse_extensions;
    use alloc::string::ToString;

    fn offers(v: &str) -> Vec<Extension> {
        parse_extensions(v.as_bytes()).unwrap()
    }

    fn accept(v: &str) -> Option<(DeflateParams, String)> {
        negotiate(&offers(v), &ServerDeflateConfig::default()).accepted
    }

    #[test]
    fn chrome_offer_gets_the_defaults() {
        let (params, value) = accept("permessage-deflate; client_max_window_bits").unwrap();
        assert_eq!(params, DeflateParams::default());
        assert_eq!(value, "permessage-deflate");
    }

    #[test]
    fn requests_are_honoured_and_stated() {
        let (p, v) = accept("permessage-deflate; server_no_context_takeover; server_max_window_bits=10").unwrap();
        assert!(p.server_no_context_takeover);
        assert_eq!(p.server_max_window_bits, 10);
        assert_eq!(v, "permessage-deflate; server_no_context_takeover; server_max_window_bits=10");
        let (_, v) = accept("permessage-deflate; server_max_window_bits=15").unwrap();
        assert_eq!(v, "permessage-deflate; server_max_window_bits=15");
    }

    #[test]
    fn client_window_is_limited_only_when_offered() {
        let cfg = ServerDeflateConfig { client_max_window_bits: 12, ..Default::default() };
        let n = negotiate(&offers("permessage-deflate"), &cfg);
        let (p, v) = n.accepted.unwrap();
        assert_eq!((p.client_max_window_bits, v.as_str()), (15, "permessage-deflate"));
        let (p, v) = negotiate(&offers("permessage-deflate; client_max_window_bits"), &cfg).accepted.unwrap();
        assert_eq!((p.client_max_window_bits, v.as_str()), (12, "permessage-deflate; client_max_window_bits=12"));
        let (p, _) = negotiate(&offers("permessage-deflate; client_max_window_bits=10"), &cfg).accepted.unwrap();
        assert_eq!(p.client_max_window_bits, 10);
    }

    #[test]
    fn invalid_offers_are_declined_and_the_next_taken() {
        let n = negotiate(
            &offers(
                "permessage-deflate; server_max_window_bits=16, permessage-deflate; foo, \
                 permessage-deflate; server_no_context_takeover; server_no_context_takeover, \
                 permessage-deflate; server_max_window_bits, permessage-deflate; server_max_window_bits=08, \
                 permessage-deflate; client_no_context_takeover=1, permessage-deflate; server_max_window_bits=8, \
                 permessage-deflate; client_max_window_bits=9",
            ),
            &ServerDeflateConfig::default(),
        );
        let reasons: Vec<String> = n.declined.iter().map(|(_, d)| d.to_string()).collect();
        assert_eq!(
            reasons,
            [
                "permessage-deflate parameter server_max_window_bits has an invalid value Some(\"16\")",
                "unknown permessage-deflate parameter \"foo\"",
                "permessage-deflate parameter server_no_context_takeover given twice",
                "permessage-deflate parameter server_max_window_bits has an invalid value None",
                "permessage-deflate parameter server_max_window_bits has an invalid value Some(\"08\")",
                "permessage-deflate parameter client_no_context_takeover has an invalid value Some(\"1\")",
                "server_max_window_bits=8 is below what the compressor can do (9)",
            ]
        );
        let (p, v) = n.accepted.unwrap();
        assert_eq!(p.client_max_window_bits, 9);
        assert_eq!(v, "permessage-deflate; client_max_window_bits=9");
        assert_eq!(negotiate(&offers("x-webkit-deflate-frame"), &ServerDeflateConfig::default()).accepted, None);
    }
}
