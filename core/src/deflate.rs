//! permessage-deflate (RFC 7692): the negotiation of its parameters.
//!
//! A client offers the extension, possibly several times with different
//! parameters, in order of preference (section 5.1); the server accepts at
//! most one offer and answers with the parameters in force (section 7.1).
//! An offer with an unknown, repeated or malformed parameter must be
//! declined (section 7.1); a response with one must fail the connection.
//!
//! Window bits are the base-2 logarithm of an LZ77 window, 8 to 15
//! (256 bytes to 32 KiB). The compressor behind this crate cannot write
//! with an 8-bit window (zlib rounds it up to 9), so a server that is asked
//! to keep its own window at 8 bits declines that offer; see
//! [`ServerDeflateConfig::min_server_window_bits`].

use crate::handshake::{Extension, ExtensionParam};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// The extension token.
pub const NAME: &str = "permessage-deflate";

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

impl DeflateParams {
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

/// Why a server's response cannot be accepted by the client that offered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    /// The response breaks the grammar of section 7.1.
    #[error("{0}")]
    Invalid(ParamError),
    /// `client_max_window_bits` in a response to an offer without it
    /// (section 7.1.2.2).
    #[error("the server set client_max_window_bits, which the client did not offer")]
    ClientWindowNotOffered,
    /// The server did not keep to what the client asked (sections 7.1.1.1,
    /// 7.1.2.1).
    #[error("the server ignored the client's {0}")]
    Ignored(&'static str),
    /// More than one permessage-deflate element in the response.
    #[error("permessage-deflate accepted twice")]
    Twice,
}

/// The client's check of a response (section 7.1): the parameters in force,
/// `None` if the server did not accept the extension.
pub fn check_response(offer: &DeflateOffer, accepted: &[Extension]) -> Result<Option<DeflateParams>, ResponseError> {
    let mut found: Option<DeflateParams> = None;
    for ext in accepted.iter().filter(|e| e.name.eq_ignore_ascii_case(NAME)) {
        if found.is_some() {
            return Err(ResponseError::Twice);
        }
        let r = parse_params(&ext.params).map_err(ResponseError::Invalid)?;
        if r.client_max_window_bits.is_some() && offer.client_max_window_bits.is_none() {
            return Err(ResponseError::ClientWindowNotOffered);
        }
        // A response's client_max_window_bits must carry a value.
        if let Some(None) = r.client_max_window_bits {
            return Err(ResponseError::Invalid(ParamError::BadValue { name: "client_max_window_bits", value: None }));
        }
        if offer.server_no_context_takeover && !r.server_no_context_takeover {
            return Err(ResponseError::Ignored("server_no_context_takeover"));
        }
        if let Some(asked) = offer.server_max_window_bits {
            if r.server_max_window_bits.is_none_or(|b| b > asked) {
                return Err(ResponseError::Ignored("server_max_window_bits"));
            }
        }
        if let (Some(Some(limit)), Some(Some(b))) = (offer.client_max_window_bits, r.client_max_window_bits) {
            if b > limit {
                return Err(ResponseError::Ignored("client_max_window_bits"));
            }
        }
        found = Some(DeflateParams {
            server_no_context_takeover: r.server_no_context_takeover,
            client_no_context_takeover: r.client_no_context_takeover,
            server_max_window_bits: r.server_max_window_bits.unwrap_or(MAX_WINDOW_BITS),
            client_max_window_bits: r.client_max_window_bits.flatten().unwrap_or(MAX_WINDOW_BITS),
        });
    }
    Ok(found)
}

/// The four bytes a sync flush ends with, which section 7.2.1 removes from
/// every compressed message and section 7.2.2 appends before inflating.
pub const TRAILER: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Compression failed (the library refused; not expected with valid
/// settings).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeflateError {
    /// The library refused.
    #[error("deflate failed")]
    Failed,
    /// The browser build (miniz_oxide) cannot keep to a window smaller than
    /// 32 KiB for a payload longer than that window.
    #[error("this build compresses with a {window}-byte window only payloads of at most {window} bytes")]
    WindowTooSmall {
        /// The window asked for, in bytes.
        window: usize,
    },
}

/// Why a compressed message could not be inflated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InflateError {
    /// Not a valid DEFLATE stream.
    #[error("the compressed data is not valid DEFLATE")]
    Invalid,
    /// Inflating would pass the limit: stopped there, before inflating the
    /// rest.
    #[error("the message inflates to more than {max} bytes")]
    TooLarge {
        /// The limit.
        max: u64,
    },
}

/// A raw DEFLATE compressor keeping to a `bits` window.
#[cfg(not(target_arch = "wasm32"))]
fn new_compress(level: u32, bits: u8) -> flate2::Compress {
    flate2::Compress::new_with_window_bits(flate2::Compression::new(level), false, bits)
}

/// In the browser build (miniz_oxide) the window is always 32 KiB; see
/// [`compress_message`].
#[cfg(target_arch = "wasm32")]
fn new_compress(level: u32, _bits: u8) -> flate2::Compress {
    flate2::Compress::new(flate2::Compression::new(level), false)
}

/// A raw DEFLATE decompressor with the largest window (reads any smaller).
#[cfg(not(target_arch = "wasm32"))]
fn new_decompress() -> flate2::Decompress {
    flate2::Decompress::new_with_window_bits(false, MAX_WINDOW_BITS)
}

#[cfg(target_arch = "wasm32")]
fn new_decompress() -> flate2::Decompress {
    flate2::Decompress::new(false)
}

/// Compresses the messages one endpoint sends (section 7.2.1).
pub struct MessageDeflater {
    inner: flate2::Compress,
    no_context_takeover: bool,
}

impl core::fmt::Debug for MessageDeflater {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MessageDeflater").field("no_context_takeover", &self.no_context_takeover).finish()
    }
}

impl MessageDeflater {
    /// A compressor keeping to `window_bits` (9-15; 8 is written as 9, the
    /// smallest window the library has) at compression `level` (0-9).
    pub fn new(window_bits: u8, no_context_takeover: bool, level: u32) -> Self {
        let bits = window_bits.clamp(9, MAX_WINDOW_BITS);
        MessageDeflater { inner: new_compress(level.min(9), bits), no_context_takeover }
    }

    /// Appends the compressed form of one whole message to `out`: DEFLATE
    /// blocks ending in a sync flush, whose trailing `00 00 ff ff` is
    /// removed. With no context takeover the next message starts afresh.
    pub fn compress(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), DeflateError> {
        // An empty message is one empty stored block, `00` once the trailer
        // is removed (section 7.2.3.6): zlib writes nothing for a second
        // flush with no input, and the window is unchanged either way.
        if payload.is_empty() {
            out.push(0x00);
            return Ok(());
        }
        let start = out.len();
        let in_before = self.inner.total_in();
        loop {
            let taken = usize::try_from(self.inner.total_in().saturating_sub(in_before)).unwrap_or(usize::MAX);
            let rest = payload.get(taken..).unwrap_or_default();
            out.reserve(rest.len().saturating_div(2).saturating_add(64));
            self.inner.compress_vec(rest, out, flate2::FlushCompress::Sync).map_err(|_| DeflateError::Failed)?;
            let all_in = self.inner.total_in().saturating_sub(in_before) >= payload.len() as u64;
            // zlib: a flush is complete once a call leaves output space unused.
            if all_in && out.len() < out.capacity() {
                break;
            }
        }
        match out.get(start..) {
            Some(written) if written.ends_with(&TRAILER) => out.truncate(out.len().saturating_sub(TRAILER.len())),
            _ => return Err(DeflateError::Failed),
        }
        if self.no_context_takeover {
            self.inner.reset();
        }
        Ok(())
    }
}

/// Inflates the messages one endpoint receives (section 7.2.2), piece by
/// piece, with a limit on the inflated size.
pub struct MessageInflater {
    inner: flate2::Decompress,
    no_context_takeover: bool,
    /// The stream ended (a block with BFINAL set, section 7.2.3.4): the
    /// next message starts a new one.
    ended: bool,
}

impl core::fmt::Debug for MessageInflater {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MessageInflater").field("no_context_takeover", &self.no_context_takeover).finish()
    }
}

/// Bytes inflated per step, so the limit is checked before more is made.
const INFLATE_STEP: usize = 8 * 1024;

impl MessageInflater {
    /// A decompressor for a peer that keeps to `window_bits` (any window
    /// up to 32 KiB is read with the largest, which is always safe).
    pub fn new(no_context_takeover: bool) -> Self {
        MessageInflater { inner: new_decompress(), no_context_takeover, ended: false }
    }

    /// Inflates the next piece of a compressed message's payload, appending
    /// to `out`, which must not grow past `max` bytes.
    pub fn inflate(&mut self, input: &[u8], out: &mut Vec<u8>, max: u64) -> Result<(), InflateError> {
        self.run(input, out, max)
    }

    /// Ends the message: inflates what the sync flush left pending
    /// (section 7.2.2: the removed `00 00 ff ff` is put back first).
    pub fn finish(&mut self, out: &mut Vec<u8>, max: u64) -> Result<(), InflateError> {
        self.run(&TRAILER, out, max)?;
        if self.no_context_takeover || self.ended {
            self.inner.reset(false);
            self.ended = false;
        }
        Ok(())
    }

    fn run(&mut self, input: &[u8], out: &mut Vec<u8>, max: u64) -> Result<(), InflateError> {
        let in_before = self.inner.total_in();
        let mut step = [0u8; INFLATE_STEP];
        loop {
            let taken = usize::try_from(self.inner.total_in().saturating_sub(in_before)).unwrap_or(usize::MAX);
            let rest = input.get(taken..).unwrap_or_default();
            if self.ended {
                // After a final block the stream is over; what follows in
                // this message is ignored, as zlib's inflate does (the
                // example of section 7.2.3.4 has a byte there).
                return Ok(());
            }
            let out_before = self.inner.total_out();
            let status = self.inner.decompress(rest, &mut step, flate2::FlushDecompress::Sync);
            let made = usize::try_from(self.inner.total_out().saturating_sub(out_before)).unwrap_or(usize::MAX);
            let used = self.inner.total_in().saturating_sub(in_before) != taken as u64;
            // What was made before a failure is kept, and exactly up to the
            // limit, so the output before an error does not depend on how
            // the input was split into pieces.
            let room = usize::try_from(max.saturating_sub(out.len() as u64)).unwrap_or(usize::MAX);
            out.extend_from_slice(step.get(..made.min(room)).unwrap_or_default());
            if made > room {
                return Err(InflateError::TooLarge { max });
            }
            let status = status.map_err(|_| InflateError::Invalid)?;
            if status == flate2::Status::StreamEnd {
                self.ended = true;
                continue;
            }
            // Done when all input is taken and the last step had room left.
            let all_in = self.inner.total_in().saturating_sub(in_before) >= input.len() as u64;
            if (all_in && made < step.len()) || (!used && made == 0) {
                return Ok(());
            }
        }
    }
}

/// One whole message compressed as the first (or only) frame of a
/// compressed message carries it, with a fresh window of `window_bits`
/// (section 7.2.1; what the explorer's builder shows). The frame that
/// carries it needs [`mark_compressed`].
pub fn compress_message(payload: &[u8], window_bits: u8, level: u32) -> Result<Vec<u8>, DeflateError> {
    // The browser build's compressor looks back up to 32 KiB: within a
    // smaller window only while the payload is no longer than the window.
    let window = 1usize << window_bits.min(MAX_WINDOW_BITS);
    if cfg!(target_arch = "wasm32") && window_bits < MAX_WINDOW_BITS && payload.len() > window {
        return Err(DeflateError::WindowTooSmall { window });
    }
    let mut out = Vec::with_capacity(payload.len().saturating_div(2).saturating_add(16));
    MessageDeflater::new(window_bits, true, level).compress(payload, &mut out)?;
    Ok(out)
}

/// Sets the Per-Message Compressed bit, RSV1, which marks the first frame
/// of a compressed message (section 6; never on a continuation or control
/// frame, section 6.1).
pub fn mark_compressed(header: &mut crate::FrameHeader) {
    header.rsv[0] = true;
}

/// The parameters a response states, for an observer that did not see the
/// offer (the explorer reading a tapped 101): the response is checked for
/// its own grammar only.
pub fn agreed_params(accepted: &[Extension]) -> Result<Option<DeflateParams>, ResponseError> {
    let anything = DeflateOffer { client_max_window_bits: Some(None), ..DeflateOffer::default() };
    check_response(&anything, accepted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::parse_extensions;
    use alloc::string::ToString;
    use alloc::vec;

    fn offers(v: &str) -> Vec<Extension> {
        parse_extensions(v.as_bytes()).unwrap()
    }

    fn accept(v: &str) -> Option<(DeflateParams, String)> {
        negotiate(&offers(v), &ServerDeflateConfig::default()).accepted
    }

    #[test]
    fn empty_messages_compress_after_any_other() {
        // Found by the deflate fuzz target: a second empty message failed.
        let mut d = MessageDeflater::new(10, false, 2);
        let mut inflater = MessageInflater::new(false);
        for payload in [&b""[..], b"", b"abc", b"", b"abc"] {
            let mut z = Vec::new();
            d.compress(payload, &mut z).unwrap();
            let mut out = Vec::new();
            inflater.inflate(&z, &mut out, 10).unwrap();
            inflater.finish(&mut out, 10).unwrap();
            assert_eq!(out, payload);
        }
        assert_eq!(compress_message(b"", 15, 6).unwrap(), [0x00]);
    }

    #[test]
    fn compress_message_gives_the_rfc_hello() {
        // RFC 7692 section 7.2.3.1: "Hello" in one compressed frame.
        assert_eq!(compress_message(b"Hello", 15, 6).unwrap(), [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
        let z = compress_message(&[b'a'; 1000], 9, 9).unwrap();
        assert!(z.len() < 50, "1000 equal bytes compress well: {}", z.len());
        let mut out = Vec::new();
        let mut inflater = MessageInflater::new(true);
        inflater.inflate(&z, &mut out, 1000).unwrap();
        inflater.finish(&mut out, 1000).unwrap();
        assert_eq!(out, [b'a'; 1000]);
        let mut header = crate::FrameHeader::new(true, crate::OpCode::Text, None, 7);
        mark_compressed(&mut header);
        assert_eq!(header.rsv, [true, false, false]);
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

    #[test]
    fn every_response_the_server_writes_passes_the_clients_check() {
        let all = [
            "permessage-deflate",
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate; client_max_window_bits=8",
            "permessage-deflate; server_max_window_bits=9; client_no_context_takeover",
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=15",
            "permessage-deflate; server_max_window_bits=15",
        ];
        for cfg in [
            ServerDeflateConfig::default(),
            ServerDeflateConfig {
                server_no_context_takeover: true,
                client_no_context_takeover: true,
                server_max_window_bits: 11,
                client_max_window_bits: 10,
                min_server_window_bits: 9,
            },
        ] {
            for o in all {
                let ext = offers(o);
                let offer = parse_params(&ext[0].params).unwrap();
                let (params, value) = negotiate(&ext, &cfg).accepted.unwrap();
                let back = check_response(&offer, &offers(&value)).unwrap();
                assert_eq!(back, Some(params), "{o} -> {value}");
            }
        }
    }

    #[test]
    fn the_client_rejects_bad_responses() {
        let plain = DeflateOffer::default();
        let r = |v: &str| check_response(&plain, &offers(v));
        assert_eq!(r("permessage-deflate; client_max_window_bits=10"), Err(ResponseError::ClientWindowNotOffered));
        assert_eq!(r("permessage-deflate, permessage-deflate"), Err(ResponseError::Twice));
        assert!(matches!(r("permessage-deflate; bar"), Err(ResponseError::Invalid(_))));
        let asked = DeflateOffer { server_max_window_bits: Some(10), ..Default::default() };
        assert_eq!(
            check_response(&asked, &offers("permessage-deflate")),
            Err(ResponseError::Ignored("server_max_window_bits"))
        );
        assert_eq!(r("x-other"), Ok(None));
    }

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace().map(|b| u8::from_str_radix(b, 16).unwrap()).collect()
    }

    fn inflate_all(inf: &mut MessageInflater, compressed: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        inf.inflate(compressed, &mut out, 1 << 20).unwrap();
        inf.finish(&mut out, 1 << 20).unwrap();
        out
    }

    /// RFC 7692 section 7.2.3.1 and 7.2.3.2: "Hello" compressed, and again
    /// with the context kept (the second refers back to the first).
    #[test]
    fn rfc_hello_examples() {
        let mut d = MessageDeflater::new(15, false, 6);
        let mut first = Vec::new();
        d.compress(b"Hello", &mut first).unwrap();
        assert_eq!(first, hex("f2 48 cd c9 c9 07 00"));
        let mut second = Vec::new();
        d.compress(b"Hello", &mut second).unwrap();
        assert_eq!(second, hex("f2 00 11 00 00"));
        let mut inf = MessageInflater::new(false);
        assert_eq!(inflate_all(&mut inf, &first), b"Hello");
        assert_eq!(inflate_all(&mut inf, &second), b"Hello");
        // Without context takeover both messages are the first form.
        let mut d = MessageDeflater::new(15, true, 6);
        for _ in 0..2 {
            let mut m = Vec::new();
            d.compress(b"Hello", &mut m).unwrap();
            assert_eq!(m, hex("f2 48 cd c9 c9 07 00"));
        }
    }

    /// Section 7.2.3.2 split: the payload "Hello" in two fragments.
    #[test]
    fn rfc_fragments_inflate_piece_by_piece() {
        let mut inf = MessageInflater::new(false);
        let mut out = Vec::new();
        inf.inflate(&hex("f2 48 cd"), &mut out, 100).unwrap();
        inf.inflate(&hex("c9 c9 07 00"), &mut out, 100).unwrap();
        inf.finish(&mut out, 100).unwrap();
        assert_eq!(out, b"Hello");
    }

    /// Section 7.2.3.3 (no compression: a stored block), 7.2.3.4 (BFINAL
    /// set), 7.2.3.5 (two blocks), 7.2.3.6 (an empty message).
    #[test]
    fn rfc_other_forms() {
        let stored = hex("00 05 00 fa ff 48 65 6c 6c 6f 00");
        assert_eq!(inflate_all(&mut MessageInflater::new(false), &stored), b"Hello");
        let bfinal = hex("f3 48 cd c9 c9 07 00 00");
        let mut inf = MessageInflater::new(false);
        assert_eq!(inflate_all(&mut inf, &bfinal), b"Hello");
        // After a final block the next message is a new stream.
        assert_eq!(inflate_all(&mut inf, &hex("f2 48 cd c9 c9 07 00")), b"Hello");
        let two_blocks = hex("f2 48 05 00 00 00 ff ff ca c9 c9 07 00");
        assert_eq!(inflate_all(&mut MessageInflater::new(false), &two_blocks), b"Hello");
        let mut empty = Vec::new();
        MessageDeflater::new(15, false, 6).compress(b"", &mut empty).unwrap();
        // Section 7.2.3.6: an empty message is a single 0x00.
        assert_eq!(empty, hex("00"));
        assert_eq!(inflate_all(&mut MessageInflater::new(false), &hex("02 00")), b"");
        assert_eq!(inflate_all(&mut MessageInflater::new(false), &empty), b"");
        assert_eq!(inflate_all(&mut MessageInflater::new(false), &hex("00")), b"");
    }

    #[test]
    fn round_trips_at_every_window_and_both_context_modes() {
        let text: Vec<u8> =
            (0..100_000u32).map(|i| b"abcdefgh hello world "[(i % 21) as usize] ^ (i / 997) as u8).collect();
        for bits in 8..=15 {
            for nct in [false, true] {
                let mut d = MessageDeflater::new(bits, nct, 6);
                let mut inf = MessageInflater::new(nct);
                for part in [&text[..0], &text[..10], &text[..], &text[5000..70_000]] {
                    let mut c = Vec::new();
                    d.compress(part, &mut c).unwrap();
                    assert!(
                        part.len() < 1000 || c.len() < part.len() / 2,
                        "bits {bits}: {} -> {}",
                        part.len(),
                        c.len()
                    );
                    assert_eq!(inflate_all(&mut inf, &c), part, "bits {bits} nct {nct}");
                }
            }
        }
    }

    /// A small message that inflates past the limit stops there.
    #[test]
    fn a_deflate_bomb_stops_at_the_limit() {
        let zeros = vec![0u8; 10 << 20];
        let mut bomb = Vec::new();
        MessageDeflater::new(15, false, 9).compress(&zeros, &mut bomb).unwrap();
        assert!(bomb.len() < 20_000, "{}", bomb.len());
        let mut inf = MessageInflater::new(false);
        let mut out = Vec::new();
        let r = inf.inflate(&bomb, &mut out, 1 << 20).and_then(|()| inf.finish(&mut out, 1 << 20));
        assert_eq!(r, Err(InflateError::TooLarge { max: 1 << 20 }));
        assert!(out.len() <= 1 << 20);
        assert!(out.capacity() <= 2 << 20, "grew to {}", out.capacity());
    }

    #[test]
    fn garbage_is_invalid() {
        let mut inf = MessageInflater::new(false);
        let mut out = Vec::new();
        let r = inf.inflate(&[0xff, 0xff, 0xff, 0xff], &mut out, 100).and_then(|()| inf.finish(&mut out, 100));
        assert_eq!(r, Err(InflateError::Invalid));
    }
}
