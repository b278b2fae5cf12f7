//! Both directions of one connection as they crossed the wire, decoded as
//! they arrive: each side's HTTP head, then its frames and messages
//! ([`crate::stream`]), with the permessage-deflate parameters the server's
//! 101 agreed to applied to both sides. What the explorer's live and inject
//! panels (and a relay, and a report) show.
//!
//! Frames from the client wait for the server's head, since only the 101
//! says whether RSV1 means "compressed" (RFC 7692 section 5); what waits is
//! bounded by [`WireOptions::max_held`]. After a response other than 101
//! no frames follow (RFC 6455 section 4.1): later bytes are reported raw.

use crate::deflate::DeflateParams;
use crate::handshake::{HandshakeLimits, RequestHead, ResponseError, ResponseHead};
use crate::rules::Role;
use crate::stream::{InspectedFrame, InspectedMessage, Item, PartialHeader, StreamDecoder, StreamOptions};
use alloc::vec::Vec;

/// What the wire decoder assumes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WireOptions {
    /// Limits on each HTTP head.
    pub head_limits: HandshakeLimits,
    /// Frame and message limits to judge against, and what is kept of
    /// payloads (sender and deflate are filled in per side).
    pub stream: StreamOptions,
    /// Most client bytes held while the server's head has not arrived;
    /// past it they are decoded as if no extension was agreed.
    pub max_held: usize,
}

impl Default for WireOptions {
    fn default() -> Self {
        WireOptions {
            head_limits: HandshakeLimits::default(),
            stream: StreamOptions { keep_payload: 64 * 1024, ..StreamOptions::default() },
            max_held: 1 << 20,
        }
    }
}

/// What a push found, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WireItem {
    /// A side's HTTP head, whole: `bytes` are its bytes exactly.
    Head {
        /// Who sent it.
        from: Role,
        /// The head's bytes (request line or status line, headers, blank
        /// line).
        bytes: Vec<u8>,
        /// For the server's head: its status code.
        status: Option<u16>,
    },
    /// The permessage-deflate parameters the server's 101 agreed to
    /// (`Ok(None)`: none), or why its extension header cannot be read.
    Deflate(Result<Option<DeflateParams>, ResponseError>),
    /// Bytes that are not frames: a side that does not start with an HTTP
    /// head, or what follows a refusal.
    Raw {
        /// Who sent them.
        from: Role,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// A frame whose last byte arrived.
    Frame {
        /// Who sent it.
        from: Role,
        /// The frame.
        frame: InspectedFrame,
    },
    /// A data message whose last frame completed (or that a new message
    /// left unfinished).
    Message {
        /// Who sent it.
        from: Role,
        /// The message.
        message: InspectedMessage,
    },
}

#[derive(Debug)]
enum Phase {
    /// Reading the head (the bytes so far).
    Head(Vec<u8>),
    /// Frames follow; the client's wait for the server's head.
    Frames,
    /// No frames will come.
    Raw,
}

#[derive(Debug)]
struct Side {
    phase: Phase,
    /// Made once the agreement is known.
    decoder: Option<StreamDecoder>,
    /// Client bytes after its head, before the agreement is known.
    held: Vec<u8>,
}

/// Decodes both directions of one connection.
#[derive(Debug)]
pub struct WireDecoder {
    options: WireOptions,
    client: Side,
    server: Side,
    /// The agreement, once the server's head is read.
    agreed: Option<Option<DeflateParams>>,
}

impl WireDecoder {
    /// A decoder at the start of a connection (its first byte each way).
    pub fn new(options: WireOptions) -> Self {
        let side = || Side { phase: Phase::Head(Vec::new()), decoder: None, held: Vec::new() };
        WireDecoder { options, client: side(), server: side(), agreed: None }
    }

    /// Takes the next bytes `from` one side and appends what they completed.
    pub fn push(&mut self, from: Role, data: &[u8], items: &mut Vec<WireItem>) {
        let rest = self.read_head(from, data, items);
        if rest.is_empty() {
            return;
        }
        let side = self.side(from);
        match side.phase {
            Phase::Head(_) => {}
            Phase::Raw => items.push(WireItem::Raw { from, bytes: rest.to_vec() }),
            Phase::Frames => {
                if side.decoder.is_none() {
                    side.held.extend_from_slice(rest);
                    if side.held.len() > self.options.max_held {
                        // The server never answered with a head: read as plain.
                        self.agree(None, items);
                    }
                    return;
                }
                self.frames(from, rest, items);
            }
        }
    }

    /// The frame being received from `from`, as far as it has arrived.
    pub fn partial_frame(&self, from: Role) -> Option<&InspectedFrame> {
        self.side_ref(from).decoder.as_ref()?.partial_frame()
    }

    /// A frame header from `from` cut short at the end of what arrived.
    pub fn partial_header(&self, from: Role) -> Option<PartialHeader> {
        self.side_ref(from).decoder.as_ref()?.partial_header()
    }

    /// The agreed permessage-deflate parameters, once the server's head
    /// was read.
    pub fn agreed(&self) -> Option<Option<DeflateParams>> {
        self.agreed
    }

    fn side(&mut self, from: Role) -> &mut Side {
        match from {
            Role::Client => &mut self.client,
            Role::Server => &mut self.server,
        }
    }

    fn side_ref(&self, from: Role) -> &Side {
        match from {
            Role::Client => &self.client,
            Role::Server => &self.server,
        }
    }

    /// Reads `from`'s head out of `data`; returns what follows it.
    fn read_head<'a>(&mut self, from: Role, data: &'a [u8], items: &mut Vec<WireItem>) -> &'a [u8] {
        let limits = self.options.head_limits;
        let Phase::Head(buf) = &mut self.side(from).phase else { return data };
        let had = buf.len();
        buf.extend_from_slice(data);
        let parsed = match from {
            Role::Client => RequestHead::parse(buf, &limits).map(|d| d.complete().map(|(_, len)| (len, None))).ok(),
            Role::Server => {
                ResponseHead::parse(buf, &limits).map(|d| d.complete().map(|(head, len)| (len, Some(head)))).ok()
            }
        };
        match parsed {
            // Incomplete: wait for more.
            Some(None) => &[],
            Some(Some((len, response))) => {
                let bytes = buf.get(..len).unwrap_or_default().to_vec();
                let rest = data.get(len.saturating_sub(had)..).unwrap_or_default();
                let status = response.as_ref().map(|r| r.status);
                items.push(WireItem::Head { from, bytes, status });
                self.side(from).phase = Phase::Frames;
                if let Some(r) = response {
                    if r.status == 101 {
                        let deflate = r.deflate();
                        let params = deflate.clone().ok().flatten();
                        items.push(WireItem::Deflate(deflate));
                        self.agree(params, items);
                    } else {
                        // A refusal: neither side sends frames.
                        self.client.phase = Phase::Raw;
                        self.server.phase = Phase::Raw;
                        let held = core::mem::take(&mut self.client.held);
                        if !held.is_empty() {
                            items.push(WireItem::Raw { from: Role::Client, bytes: held });
                        }
                    }
                }
                rest
            }
            None => {
                let bytes = core::mem::take(buf);
                self.side(from).phase = Phase::Raw;
                items.push(WireItem::Raw { from, bytes });
                &[]
            }
        }
    }

    /// The agreement is known: both sides decode from here.
    fn agree(&mut self, deflate: Option<DeflateParams>, items: &mut Vec<WireItem>) {
        if self.agreed.is_some() {
            return;
        }
        self.agreed = Some(deflate);
        for from in [Role::Client, Role::Server] {
            let stream = StreamOptions { sender: Some(from), deflate, ..self.options.stream };
            self.side(from).decoder = Some(StreamDecoder::new(stream));
        }
        let held = core::mem::take(&mut self.client.held);
        if !held.is_empty() {
            self.frames(Role::Client, &held, items);
        }
    }

    fn frames(&mut self, from: Role, data: &[u8], items: &mut Vec<WireItem>) {
        let Some(decoder) = self.side(from).decoder.as_mut() else { return };
        let mut found = Vec::new();
        decoder.push(data, &mut found);
        items.extend(found.into_iter().map(|item| match item {
            Item::Frame(frame) => WireItem::Frame { from, frame },
            Item::Message(message) => WireItem::Message { from, message },
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::{ClientHandshake, parse_request};
    use crate::{Config, Connection, Message};
    use alloc::boxed::Box;

    fn kinds(items: &[WireItem]) -> Vec<&'static str> {
        items
            .iter()
            .map(|i| match i {
                WireItem::Head { .. } => "head",
                WireItem::Deflate(_) => "deflate",
                WireItem::Raw { .. } => "raw",
                WireItem::Frame { .. } => "frame",
                WireItem::Message { .. } => "message",
            })
            .collect()
    }

    /// A real exchange with permessage-deflate, fed a byte at a time, gives
    /// what it gives fed whole; the client's frames before the 101 wait.
    #[test]
    fn a_compressed_exchange_in_any_pieces() {
        let mut hs = ClientHandshake::new("h", "/echo", [3; 16]);
        hs.extensions = Some("permessage-deflate".into());
        let request = hs.request().unwrap();
        let (req, _) = parse_request(&request, &HandshakeLimits::default()).unwrap().complete().unwrap();
        let negotiation = crate::deflate::negotiate(&req.extensions, &Default::default());
        let (params, value) = negotiation.accepted.unwrap();
        let response = req.response(None, Some(&value)).unwrap();
        let config = Config { deflate: Some(params), ..Config::default() };
        let mut client = Connection::client(config, Box::new(|| [1, 2, 3, 4]));
        let mut server = Connection::server(config);
        let text = "a message long enough to be compressed by both ends of it";
        client.send(Message::Text(text)).unwrap();
        server.send(Message::Text(text)).unwrap();
        let up = [request, client.take_output()].concat();
        let down = [response, server.take_output()].concat();
        let whole = {
            let mut d = WireDecoder::new(WireOptions::default());
            let mut items = Vec::new();
            d.push(Role::Client, &up, &mut items);
            d.push(Role::Server, &down, &mut items);
            items
        };
        assert_eq!(kinds(&whole), ["head", "head", "deflate", "frame", "message", "frame", "message"]);
        for item in &whole {
            if let WireItem::Message { message, .. } = item {
                assert!(message.compressed);
                assert_eq!(message.text(), Some(text));
            }
            if let WireItem::Frame { frame, .. } = item {
                assert!(frame.violations.is_empty(), "{:?}", frame.violations);
            }
        }
        let mut d = WireDecoder::new(WireOptions::default());
        let mut items = Vec::new();
        for b in &up {
            d.push(Role::Client, core::slice::from_ref(b), &mut items);
        }
        for b in &down {
            d.push(Role::Server, core::slice::from_ref(b), &mut items);
        }
        assert_eq!(items, whole);
    }

    #[test]
    fn a_refusal_and_a_stranger_are_raw() {
        let mut d = WireDecoder::new(WireOptions::default());
        let mut items = Vec::new();
        d.push(Role::Client, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n\x81\x80", &mut items);
        d.push(Role::Server, b"HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\n\r\nno\n", &mut items);
        assert_eq!(kinds(&items), ["head", "head", "raw", "raw"]);
        let mut d = WireDecoder::new(WireOptions::default());
        let mut items = Vec::new();
        d.push(Role::Server, b"SSH-2.0-OpenSSH\r\n", &mut items);
        assert_eq!(kinds(&items), ["raw"]);
    }
}
