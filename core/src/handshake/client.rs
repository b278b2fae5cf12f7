//! The client's side of the opening handshake (section 4.1): write a
//! request, and check the server's response, permessage-deflate's
//! parameters included (RFC 7692 section 7.1).

use super::head::{Fields, HeadError, Repeated, ResponseHead, parse_response_head};
use super::{HandshakeLimits, InvalidValue};
use crate::Decoded;
use crate::accept::{accept_key, key_from_nonce};
use crate::deflate::{DeflateOffer, DeflateParams, MAX_WINDOW_BITS, NAME, ParamError, parse_params};
use crate::header_value::{Extension, is_field_value, is_token, parse_extensions, text, trim};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// The client side of the handshake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientHandshake {
    /// `Host` value.
    pub host: String,
    /// Request target, e.g. `/echo`.
    pub target: String,
    /// `Sec-WebSocket-Key`.
    pub key: String,
    /// `Origin`, if any.
    pub origin: Option<String>,
    /// Subprotocols offered.
    pub protocols: Vec<String>,
    /// `Sec-WebSocket-Extensions` value offered, if any.
    pub extensions: Option<String>,
    /// More header fields, written after the others as given (e.g. a
    /// cookie or an authorization a server under test needs).
    pub headers: Vec<(String, String)>,
}

/// Why a server's response is not an accepted upgrade.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    /// Not a well-formed HTTP/1.1 response.
    #[error("malformed HTTP response: {0}")]
    Malformed(&'static str),
    /// The head is longer than the limit.
    #[error("response head exceeds {limit} bytes")]
    HeadTooLarge {
        /// The limit.
        limit: usize,
    },
    /// A status other than 101 (section 4.1, "the client MUST fail").
    #[error("server answered {status} {reason}, not 101 Switching Protocols")]
    NotSwitching {
        /// Status code.
        status: u16,
        /// Reason phrase.
        reason: String,
    },
    /// `Upgrade: websocket` missing.
    #[error("response lacks Upgrade: websocket")]
    NoUpgradeWebsocket,
    /// `Connection: Upgrade` missing.
    #[error("response lacks Connection: Upgrade")]
    NoConnectionUpgrade,
    /// `Sec-WebSocket-Accept` missing or wrong.
    #[error("Sec-WebSocket-Accept is {got:?}, expected {expected:?}")]
    BadAccept {
        /// What the key requires.
        expected: String,
        /// What the server sent (empty if nothing).
        got: String,
    },
    /// A subprotocol the client did not offer.
    #[error("server selected subprotocol {0:?}, which was not offered")]
    UnexpectedProtocol(String),
    /// An extension the client did not offer.
    #[error("server selected extension {0:?}, which was not offered")]
    UnexpectedExtension(String),
    /// A header that must appear once appeared more often.
    #[error("{name} appears more than once in the response")]
    DuplicateHeader {
        /// The header's name.
        name: &'static str,
    },
    /// More header lines than the limit.
    #[error("more than {limit} header fields in the response")]
    TooManyHeaders {
        /// The limit.
        limit: usize,
    },
    /// permessage-deflate's parameters break the grammar of RFC 7692
    /// section 7.1.
    #[error("{0}")]
    DeflateInvalid(ParamError),
    /// `client_max_window_bits` in a response to an offer without it
    /// (RFC 7692 section 7.1.2.2).
    #[error("the server set client_max_window_bits, which the client did not offer")]
    DeflateClientWindowNotOffered,
    /// The server did not keep to what the client asked (RFC 7692 sections
    /// 7.1.1.1, 7.1.2.1).
    #[error("the server ignored the client's {0}")]
    DeflateIgnored(&'static str),
    /// More than one permessage-deflate element in the response.
    #[error("permessage-deflate accepted twice")]
    DeflateTwice,
}

impl From<HeadError> for ResponseError {
    fn from(e: HeadError) -> Self {
        match e {
            HeadError::Malformed(what) => ResponseError::Malformed(what),
            HeadError::TooLarge { limit } => ResponseError::HeadTooLarge { limit },
            HeadError::TooManyHeaders { limit } => ResponseError::TooManyHeaders { limit },
        }
    }
}

/// An accepted server response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The subprotocol the server selected.
    pub protocol: Option<String>,
    /// The extensions the server accepted.
    pub extensions: Vec<Extension>,
    /// The permessage-deflate parameters in force, when the client offered
    /// the extension and the server accepted it.
    pub deflate: Option<DeflateParams>,
    /// Every header line.
    pub headers: Vec<(String, String)>,
}

impl ClientHandshake {
    /// A handshake for `host` and `target` with the key made from `nonce`,
    /// which must be random (section 4.1, item 7).
    pub fn new(host: &str, target: &str, nonce: [u8; 16]) -> Self {
        ClientHandshake {
            host: host.to_string(),
            target: target.to_string(),
            key: key_from_nonce(nonce),
            origin: None,
            protocols: Vec::new(),
            extensions: None,
            headers: Vec::new(),
        }
    }

    /// The handshake a relay makes for a client's `request` to the server
    /// at `host` (an intercepting relay, which holds a WebSocket with each
    /// side): the client's target, origin, subprotocols and every
    /// end-to-end header (cookies, authorization, …) as the client sent
    /// them, with a new key from `nonce`. Left out: the fields a handshake
    /// writes itself (section 4.1: `Host`, `Upgrade`, `Connection`, the key,
    /// the version, `Origin`, the subprotocols, the extensions, whose offer
    /// is the relay's own) and the hop-by-hop ones (RFC 9110 section 7.6.1:
    /// the usual ones and any the client's `Connection` header names).
    pub fn on_behalf_of(request: &super::Request, host: &str, nonce: [u8; 16]) -> Self {
        const OWN: [&str; 14] = [
            "host",
            "upgrade",
            "connection",
            "sec-websocket-key",
            "sec-websocket-version",
            "sec-websocket-extensions",
            "sec-websocket-protocol",
            "origin",
            "keep-alive",
            "te",
            "trailer",
            "transfer-encoding",
            "proxy-connection",
            "content-length",
        ];
        let named: Vec<&str> = request
            .headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("connection"))
            .flat_map(|(_, value)| value.split(','))
            .map(str::trim)
            .collect();
        let mut hs = Self::new(host, &request.target, nonce);
        hs.origin = request.origin.clone();
        hs.protocols = request.protocols.clone();
        hs.headers = request
            .headers
            .iter()
            .filter(|(name, _)| !OWN.iter().chain(&named).any(|own| name.eq_ignore_ascii_case(own)))
            .cloned()
            .collect();
        hs
    }

    /// A handshake with a given `Sec-WebSocket-Key` text, e.g. the RFC's
    /// sample `dGhlIHNhbXBsZSBub25jZQ==`. It is sent as given, valid or not,
    /// so a server's refusal can be observed.
    pub fn with_key(host: &str, target: &str, key: &str) -> Self {
        ClientHandshake { key: key.to_string(), ..Self::new(host, target, [0; 16]) }
    }

    /// The request bytes. Values that would not be valid in a header (CR,
    /// LF or other control characters) are refused rather than written.
    pub fn request(&self) -> Result<Vec<u8>, InvalidValue> {
        let fields = [
            ("Host", Some(self.host.as_str())),
            ("Origin", self.origin.as_deref()),
            ("Sec-WebSocket-Key", Some(self.key.as_str())),
            ("Sec-WebSocket-Extensions", self.extensions.as_deref()),
        ];
        for (field, value) in fields {
            if value.is_some_and(|v| !is_field_value(v)) {
                return Err(InvalidValue { field });
            }
        }
        if self.target.is_empty() || !self.target.bytes().all(|b| (b'!'..=b'~').contains(&b)) {
            return Err(InvalidValue { field: "request target" });
        }
        if self.protocols.iter().any(|p| !is_token(p.as_bytes())) {
            return Err(InvalidValue { field: "Sec-WebSocket-Protocol" });
        }
        if self.headers.iter().any(|(n, v)| !is_token(n.as_bytes()) || !is_field_value(v)) {
            return Err(InvalidValue { field: "an extra header" });
        }
        let mut r = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\n",
            self.target, self.host, self.key
        );
        if let Some(o) = &self.origin {
            r.push_str(&format!("Origin: {o}\r\n"));
        }
        if !self.protocols.is_empty() {
            r.push_str(&format!("Sec-WebSocket-Protocol: {}\r\n", self.protocols.join(", ")));
        }
        if let Some(e) = &self.extensions {
            r.push_str(&format!("Sec-WebSocket-Extensions: {e}\r\n"));
        }
        for (name, value) in &self.headers {
            r.push_str(&format!("{name}: {value}\r\n"));
        }
        r.push_str("\r\n");
        Ok(r.into_bytes())
    }

    /// Checks the server's response from any prefix of the stream
    /// (section 4.1, the client's checks 1-6). On `Complete { len }`, bytes
    /// after `len` are already frames.
    pub fn check_response(&self, buf: &[u8], limits: &HandshakeLimits) -> Result<Decoded<Accepted>, ResponseError> {
        let (response, len) = match ResponseHead::parse(buf, limits)? {
            Decoded::Complete { value, len } => (value, len),
            Decoded::Incomplete { needed } => return Ok(Decoded::Incomplete { needed }),
        };
        let status = response.status;
        let fields = Fields(&response.headers);
        let one = |name: &'static str| fields.one(name).map_err(|Repeated| ResponseError::DuplicateHeader { name });
        if status != 101 {
            return Err(ResponseError::NotSwitching { status, reason: response.reason.clone() });
        }
        if response.minor_version < 1 {
            return Err(ResponseError::Malformed("a 101 response must be HTTP/1.1"));
        }
        // Section 4.1, client check 2: the value itself is "websocket".
        match one("Upgrade")? {
            Some(v) if trim(v).eq_ignore_ascii_case(b"websocket") => {}
            _ => return Err(ResponseError::NoUpgradeWebsocket),
        }
        if !fields.has_token("Connection", "Upgrade") {
            return Err(ResponseError::NoConnectionUpgrade);
        }
        let expected = accept_key(self.key.as_bytes());
        let got = one("Sec-WebSocket-Accept")?.map(|v| text(trim(v))).unwrap_or_default();
        if got != expected {
            return Err(ResponseError::BadAccept { expected, got });
        }
        let protocol = one("Sec-WebSocket-Protocol")?.map(|v| text(trim(v)));
        if let Some(p) = &protocol {
            if !self.protocols.iter().any(|o| o == p) {
                return Err(ResponseError::UnexpectedProtocol(p.clone()));
            }
        }
        let offered: Vec<Extension> =
            self.extensions.as_deref().and_then(|e| parse_extensions(e.as_bytes())).unwrap_or_default();
        let mut extensions = Vec::new();
        for value in fields.all("Sec-WebSocket-Extensions") {
            for ext in parse_extensions(value).ok_or(ResponseError::Malformed("Sec-WebSocket-Extensions"))? {
                if !offered.iter().any(|o| o.name == ext.name) {
                    return Err(ResponseError::UnexpectedExtension(ext.name));
                }
                extensions.push(ext);
            }
        }
        let deflate = match offered.iter().find(|o| o.name.eq_ignore_ascii_case(NAME)) {
            Some(offer) => {
                let offer = parse_params(&offer.params).map_err(ResponseError::DeflateInvalid)?;
                deflate_params(&offer, &extensions)?
            }
            None => None,
        };
        let headers = response.headers.iter().map(|(n, v)| (n.clone(), text(v))).collect();
        Ok(Decoded::Complete { value: Accepted { protocol, extensions, deflate, headers }, len })
    }
}

impl ResponseHead {
    /// Parses a response head from any prefix of the stream; `Complete {
    /// len }` says where the head ends (frames may follow).
    pub fn parse(buf: &[u8], limits: &HandshakeLimits) -> Result<Decoded<ResponseHead>, ResponseError> {
        Ok(parse_response_head(buf, limits)?)
    }

    /// The permessage-deflate parameters this response agreed to, read as
    /// an observer that did not see the offer would (the explorer reading a
    /// tapped 101): the response is checked against its own grammar only.
    pub fn deflate(&self) -> Result<Option<DeflateParams>, ResponseError> {
        let mut accepted = Vec::new();
        for value in Fields(&self.headers).all("Sec-WebSocket-Extensions") {
            accepted.extend(parse_extensions(value).ok_or(ResponseError::Malformed("Sec-WebSocket-Extensions"))?);
        }
        let anything = DeflateOffer { client_max_window_bits: Some(None), ..DeflateOffer::default() };
        deflate_params(&anything, &accepted)
    }
}

/// The client's check of a response (section 7.1): the parameters in force,
/// `None` if the server did not accept the extension.
fn deflate_params(offer: &DeflateOffer, accepted: &[Extension]) -> Result<Option<DeflateParams>, ResponseError> {
    let mut found: Option<DeflateParams> = None;
    for ext in accepted.iter().filter(|e| e.name.eq_ignore_ascii_case(NAME)) {
        if found.is_some() {
            return Err(ResponseError::DeflateTwice);
        }
        let r = parse_params(&ext.params).map_err(ResponseError::DeflateInvalid)?;
        if r.client_max_window_bits.is_some() && offer.client_max_window_bits.is_none() {
            return Err(ResponseError::DeflateClientWindowNotOffered);
        }
        // A response's client_max_window_bits must carry a value.
        if let Some(None) = r.client_max_window_bits {
            return Err(ResponseError::DeflateInvalid(ParamError::BadValue {
                name: "client_max_window_bits",
                value: None,
            }));
        }
        if offer.server_no_context_takeover && !r.server_no_context_takeover {
            return Err(ResponseError::DeflateIgnored("server_no_context_takeover"));
        }
        if let Some(asked) = offer.server_max_window_bits {
            if r.server_max_window_bits.is_none_or(|b| b > asked) {
                return Err(ResponseError::DeflateIgnored("server_max_window_bits"));
            }
        }
        if let (Some(Some(limit)), Some(Some(b))) = (offer.client_max_window_bits, r.client_max_window_bits) {
            if b > limit {
                return Err(ResponseError::DeflateIgnored("client_max_window_bits"));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deflate::{ServerDeflateConfig, negotiate};
    use crate::handshake::{HandshakeError, parse_request};
    use alloc::vec;

    fn limits() -> HandshakeLimits {
        HandshakeLimits::default()
    }

    fn offers(v: &str) -> Vec<Extension> {
        parse_extensions(v.as_bytes()).unwrap()
    }

    #[test]
    fn extra_headers_go_out_as_given_and_bad_ones_are_refused() {
        let mut client = ClientHandshake::new("h", "/", [1; 16]);
        client.headers = vec![("Cookie".into(), "a=1; b=2".into()), ("X-Token".into(), "t".into())];
        let req = String::from_utf8(client.request().unwrap()).unwrap();
        assert!(req.ends_with("Cookie: a=1; b=2\r\nX-Token: t\r\n\r\n"), "{req}");
        let (parsed, _) = parse_request(req.as_bytes(), &limits()).unwrap().complete().unwrap();
        assert!(parsed.headers.iter().any(|(n, v)| n == "Cookie" && v == "a=1; b=2"));
        client.headers = vec![("Bad Name".into(), "v".into())];
        assert_eq!(client.request(), Err(InvalidValue { field: "an extra header" }));
        client.headers = vec![("X".into(), "v\r\nEvil: 1".into())];
        assert_eq!(client.request(), Err(InvalidValue { field: "an extra header" }));
    }

    #[test]
    fn client_round_trip_against_own_server_side() {
        let mut client = ClientHandshake::new("example.com", "/chat", [7; 16]);
        client.protocols = vec!["chat".into()];
        let req = client.request().unwrap();
        let (server_side, _) = parse_request(&req, &limits()).unwrap().complete().unwrap();
        let resp = server_side.response(Some("chat"), None).unwrap();
        let (accepted, len) = client.check_response(&resp, &limits()).unwrap().complete().unwrap();
        assert_eq!((accepted.protocol.as_deref(), len), (Some("chat"), resp.len()));
        for cut in 0..resp.len() {
            assert!(matches!(client.check_response(&resp[..cut], &limits()), Ok(Decoded::Incomplete { .. })));
        }
        let rfc = ClientHandshake::with_key("server.example.com", "/chat", "dGhlIHNhbXBsZSBub25jZQ==");
        let (req, _) = parse_request(&rfc.request().unwrap(), &limits()).unwrap().complete().unwrap();
        assert_eq!(req.accept(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        let bad = ClientHandshake::with_key("h", "/", "short");
        assert_eq!(parse_request(&bad.request().unwrap(), &limits()), Err(HandshakeError::InvalidKey));
        let injected = ClientHandshake::with_key("h\r\nEvil: 1", "/", "k");
        assert_eq!(injected.request(), Err(InvalidValue { field: "Host" }));
        assert!(ClientHandshake::with_key("h", "/a b", "k").request().is_err());
        let other = ClientHandshake::new("example.com", "/chat", [8; 16]);
        assert!(matches!(other.check_response(&resp, &limits()), Err(ResponseError::BadAccept { .. })));
        let refusal = HandshakeError::InvalidKey.response();
        let (head, head_len) = ResponseHead::parse(&refusal, &limits()).unwrap().complete().unwrap();
        assert_eq!((head.status, head.reason.as_str()), (400, "Bad Request"));
        assert_eq!(&refusal[head_len - 4..head_len], b"\r\n\r\n");
        assert!(matches!(ResponseHead::parse(&refusal[..head_len - 1], &limits()), Ok(Decoded::Incomplete { .. })));
        assert!(matches!(
            client.check_response(&refusal, &limits()),
            Err(ResponseError::NotSwitching { status: 400, .. })
        ));
        let as_10 = String::from_utf8(resp.clone()).unwrap().replacen("HTTP/1.1", "HTTP/1.0", 1);
        assert!(matches!(client.check_response(as_10.as_bytes(), &limits()), Err(ResponseError::Malformed(_))));
        let two = String::from_utf8(resp.clone()).unwrap().replacen(
            "\r\n\r\n",
            "\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
            1,
        );
        assert_eq!(
            client.check_response(two.as_bytes(), &limits()),
            Err(ResponseError::DuplicateHeader { name: "Sec-WebSocket-Protocol" })
        );
        let h2c = String::from_utf8(resp.clone()).unwrap().replacen("Upgrade: websocket", "Upgrade: websocket, h2c", 1);
        assert_eq!(client.check_response(h2c.as_bytes(), &limits()), Err(ResponseError::NoUpgradeWebsocket));
        let unasked = server_side.response(None, Some("permessage-deflate")).unwrap();
        assert_eq!(
            client.check_response(&unasked, &limits()),
            Err(ResponseError::UnexpectedExtension("permessage-deflate".into()))
        );
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
                let back = deflate_params(&offer, &offers(&value)).unwrap();
                assert_eq!(back, Some(params), "{o} -> {value}");
            }
        }
    }

    #[test]
    fn the_client_rejects_bad_responses() {
        let plain = DeflateOffer::default();
        let r = |v: &str| deflate_params(&plain, &offers(v));
        assert_eq!(
            r("permessage-deflate; client_max_window_bits=10"),
            Err(ResponseError::DeflateClientWindowNotOffered)
        );
        assert_eq!(r("permessage-deflate, permessage-deflate"), Err(ResponseError::DeflateTwice));
        assert!(matches!(r("permessage-deflate; bar"), Err(ResponseError::DeflateInvalid(_))));
        let asked = DeflateOffer { server_max_window_bits: Some(10), ..Default::default() };
        assert_eq!(
            deflate_params(&asked, &offers("permessage-deflate")),
            Err(ResponseError::DeflateIgnored("server_max_window_bits"))
        );
        assert_eq!(r("x-other"), Ok(None));
    }

    #[test]
    fn the_client_reads_the_agreed_deflate_parameters() {
        let mut client = ClientHandshake::new("h", "/", [1; 16]);
        client.extensions = Some("permessage-deflate; client_max_window_bits".into());
        let (req, _) = parse_request(&client.request().unwrap(), &limits()).unwrap().complete().unwrap();
        let cfg = ServerDeflateConfig { server_no_context_takeover: true, ..Default::default() };
        let (params, value) = negotiate(&req.extensions, &cfg).accepted.unwrap();
        let resp = req.response(None, Some(&value)).unwrap();
        let (accepted, _) = client.check_response(&resp, &limits()).unwrap().complete().unwrap();
        assert_eq!(accepted.deflate, Some(params));
        let (head, _) = ResponseHead::parse(&resp, &limits()).unwrap().complete().unwrap();
        assert_eq!(head.deflate(), Ok(Some(params)));
        let plain = req.response(None, None).unwrap();
        assert_eq!(client.check_response(&plain, &limits()).unwrap().complete().unwrap().0.deflate, None);
    }

    #[test]
    fn a_relay_asks_for_what_the_client_asked() {
        let raw = b"GET /chat?room=1 HTTP/1.1\r\nHost: relay:9000\r\nUpgrade: websocket\r\nConnection: Upgrade, keep-alive\r\n\
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://app\r\n\
            Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\
            Cookie: id=7\r\nAuthorization: Bearer x\r\nKeep-Alive: 5\r\nConnection: X-Hop\r\nX-Hop: 1\r\n\r\n";
        let (request, _) =
            crate::handshake::parse_request(raw, &HandshakeLimits::default()).unwrap().complete().unwrap();
        let hs = ClientHandshake::on_behalf_of(&request, "upstream:3000", [9; 16]);
        assert_eq!(hs.target, "/chat?room=1");
        assert_eq!(hs.host, "upstream:3000");
        assert_eq!(hs.origin.as_deref(), Some("http://app"));
        assert_eq!(hs.protocols, ["chat", "superchat"]);
        assert_eq!(hs.extensions, None, "the relay makes its own offer");
        assert_ne!(hs.key, request.key, "a key of its own");
        let names: Vec<&str> = hs.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["Cookie", "Authorization"]);
        let text = String::from_utf8(hs.request().unwrap()).unwrap();
        assert!(text.contains("Cookie: id=7\r\n") && text.contains("Host: upstream:3000\r\n"), "{text}");
    }
}
