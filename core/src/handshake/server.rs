//! The server's side of the opening handshake (section 4.2): judge a
//! client's request, answer with the 101 or with the error response that
//! says what was wrong, or list every problem at once for the explorer.

use super::HandshakeLimits;
use super::head::{Fields, HeadError, Repeated, RequestHead, parse_request_head, path_of};
use crate::Decoded;
use crate::accept::{accept_key, is_valid_key};
use crate::header_value::{Extension, parse_extensions, parse_token_list, text, trim};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Why a handshake request is refused, and the response that says so.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// Not a well-formed HTTP/1.x request.
    #[error("malformed HTTP request: {0}")]
    Malformed(&'static str),
    /// The head is longer than the limit.
    #[error("request head exceeds {limit} bytes")]
    HeadTooLarge {
        /// The limit.
        limit: usize,
    },
    /// More header lines than the limit.
    #[error("more than {limit} header fields")]
    TooManyHeaders {
        /// The limit.
        limit: usize,
    },
    /// The method is not GET (section 4.1, item 2).
    #[error("method {method} is not GET")]
    MethodNotGet {
        /// The method used.
        method: String,
    },
    /// Not HTTP/1.1 or higher (section 4.1, item 2).
    #[error("HTTP/1.1 or higher is required, got HTTP/1.0")]
    HttpVersion,
    /// No Host header (section 4.1, item 4).
    #[error("missing Host header")]
    MissingHost,
    /// A header that must appear once appeared more often (section 11.3).
    #[error("{name} appears more than once")]
    DuplicateHeader {
        /// The header's name.
        name: &'static str,
    },
    /// `Upgrade` does not list `websocket` (section 4.1, item 5).
    #[error("Upgrade header does not contain the token websocket")]
    NoUpgradeWebsocket,
    /// `Connection` does not list `Upgrade` (section 4.1, item 6).
    #[error("Connection header does not contain the token Upgrade")]
    NoConnectionUpgrade,
    /// No `Sec-WebSocket-Key` (section 4.1, item 7).
    #[error("missing Sec-WebSocket-Key header")]
    MissingKey,
    /// The key is not base64 of 16 bytes (section 4.1, item 7).
    #[error("Sec-WebSocket-Key is not the base64 encoding of 16 bytes")]
    InvalidKey,
    /// No `Sec-WebSocket-Version` (section 4.1, item 9).
    #[error("missing Sec-WebSocket-Version header")]
    MissingVersion,
    /// A version other than 13 (section 4.4).
    #[error("unsupported Sec-WebSocket-Version {version:?}, only 13 is supported")]
    UnsupportedVersion {
        /// The version asked for.
        version: String,
    },
    /// `Sec-WebSocket-Protocol` is not a list of tokens (section 4.1, item 10).
    #[error("malformed Sec-WebSocket-Protocol header")]
    InvalidProtocols,
    /// `Sec-WebSocket-Extensions` does not follow the grammar of section 9.1.
    #[error("malformed Sec-WebSocket-Extensions header")]
    InvalidExtensions,
    /// The `Origin` is not allowed (section 4.2.2, item 4; a server policy).
    #[error("origin {origin:?} is not allowed")]
    OriginNotAllowed {
        /// The origin.
        origin: String,
    },
    /// Refused by a policy of the server's own (capacity, an unknown
    /// resource, a bad parameter); `status` is the 4xx or 5xx to send.
    #[error("{message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// What to tell the client.
        message: String,
    },
}

impl HandshakeError {
    /// The HTTP status to answer with.
    pub const fn status(&self) -> u16 {
        match self {
            HandshakeError::HeadTooLarge { .. } | HandshakeError::TooManyHeaders { .. } => 431,
            HandshakeError::MethodNotGet { .. } => 405,
            HandshakeError::UnsupportedVersion { .. } => 426,
            HandshakeError::OriginNotAllowed { .. } => 403,
            HandshakeError::Refused { status, .. } if *status >= 400 && *status <= 599 => *status,
            HandshakeError::Refused { .. } => 500,
            _ => 400,
        }
    }

    /// The section of RFC 6455 that states the rule.
    pub const fn section(&self) -> &'static str {
        match self {
            HandshakeError::Malformed(_) | HandshakeError::MethodNotGet { .. } | HandshakeError::HttpVersion => "4.1",
            HandshakeError::HeadTooLarge { .. } | HandshakeError::TooManyHeaders { .. } => "10.4",
            HandshakeError::MissingHost
            | HandshakeError::NoUpgradeWebsocket
            | HandshakeError::NoConnectionUpgrade
            | HandshakeError::MissingKey
            | HandshakeError::InvalidKey
            | HandshakeError::MissingVersion
            | HandshakeError::InvalidProtocols => "4.2.1",
            HandshakeError::DuplicateHeader { .. } => "11.3",
            HandshakeError::UnsupportedVersion { .. } => "4.4",
            HandshakeError::InvalidExtensions => "9.1",
            HandshakeError::OriginNotAllowed { .. } | HandshakeError::Refused { .. } => "4.2.2",
        }
    }

    /// The complete HTTP response to send before closing the connection.
    pub fn response(&self) -> Vec<u8> {
        let status = self.status();
        let extra = match self {
            // RFC 7230 section 6.7: a 426 names the protocol to upgrade to,
            // and an Upgrade header is listed in Connection.
            HandshakeError::UnsupportedVersion { .. } => {
                "Sec-WebSocket-Version: 13\r\nUpgrade: websocket\r\nConnection: Upgrade, close\r\n"
            }
            HandshakeError::MethodNotGet { .. } => "Allow: GET\r\nConnection: close\r\n",
            _ => "Connection: close\r\n",
        };
        let body = format!("{self}\n");
        format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n{extra}\r\n{body}",
            reason_phrase(status),
            body.len()
        )
        .into_bytes()
    }
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        405 => "Method Not Allowed",
        426 => "Upgrade Required",
        431 => "Request Header Fields Too Large",
        _ => "Error",
    }
}

impl From<HeadError> for HandshakeError {
    fn from(e: HeadError) -> Self {
        match e {
            HeadError::Malformed(what) => HandshakeError::Malformed(what),
            HeadError::TooLarge { limit } => HandshakeError::HeadTooLarge { limit },
            HeadError::TooManyHeaders { limit } => HandshakeError::TooManyHeaders { limit },
        }
    }
}

/// An accepted WebSocket upgrade request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Request target as sent (path and query).
    pub target: String,
    /// `Host`.
    pub host: String,
    /// `Sec-WebSocket-Key`, as sent.
    pub key: String,
    /// `Origin`, if sent.
    pub origin: Option<String>,
    /// Subprotocols the client offers, in its order of preference.
    pub protocols: Vec<String>,
    /// Extensions the client offers, in order.
    pub extensions: Vec<Extension>,
    /// Every header line, as sent (values lossily decoded as UTF-8).
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The request target's path (before `?`).
    pub fn path(&self) -> &str {
        path_of(&self.target)
    }

    /// The request target's query (after `?`), if any.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }

    /// The `Sec-WebSocket-Accept` value for this request.
    pub fn accept(&self) -> String {
        accept_key(self.key.as_bytes())
    }

    /// The first subprotocol, in the client's order of preference, that the
    /// server supports. Names compare exactly: the response must echo one
    /// of the client's values (section 4.2.2, step 5, item 3).
    pub fn select_protocol(&self, supported: &[&str]) -> Option<&str> {
        self.protocols.iter().map(String::as_str).find(|p| supported.contains(p))
    }

    /// The `101 Switching Protocols` response, with the chosen subprotocol
    /// and the `Sec-WebSocket-Extensions` value, if any. A subprotocol the
    /// client did not offer, or a value that is not a valid header value,
    /// is refused rather than written.
    pub fn response(&self, protocol: Option<&str>, extensions: Option<&str>) -> Result<Vec<u8>, InvalidValue> {
        if let Some(p) = protocol {
            if !self.protocols.iter().any(|o| o == p) {
                return Err(InvalidValue { field: "Sec-WebSocket-Protocol" });
            }
        }
        if extensions.is_some_and(|e| parse_extensions(e.as_bytes()).is_none()) {
            return Err(InvalidValue { field: "Sec-WebSocket-Extensions" });
        }
        let mut r = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n",
            self.accept()
        );
        if let Some(p) = protocol {
            r.push_str(&format!("Sec-WebSocket-Protocol: {p}\r\n"));
        }
        if let Some(e) = extensions {
            r.push_str(&format!("Sec-WebSocket-Extensions: {e}\r\n"));
        }
        r.push_str("\r\n");
        Ok(r.into_bytes())
    }
}

/// A value given for a header that cannot be written as asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid value for {field}")]
pub struct InvalidValue {
    /// The header it was meant for.
    pub field: &'static str,
}

impl RequestHead {
    /// Parses a head from any prefix of the stream; `Complete { len }` says
    /// where the head ends. A head that breaks HTTP is refused with the
    /// response to send.
    pub fn parse(buf: &[u8], limits: &HandshakeLimits) -> Result<Decoded<RequestHead>, HandshakeError> {
        Ok(parse_request_head(buf, limits)?)
    }

    /// Strict judgement of the upgrade (section 4.2.1): the request, or the
    /// first rule it breaks.
    pub fn upgrade(&self) -> Result<Request, HandshakeError> {
        let mut first = None;
        let request = judge(self, &mut |e| {
            first = Some(e);
            false
        });
        match (request, first) {
            (Some(value), None) => Ok(value),
            (_, Some(e)) => Err(e),
            (None, None) => Err(HandshakeError::Malformed("request rejected")),
        }
    }
}

/// Checks one rule of section 4.2.1 after another, calling `report` for
/// each broken one until it returns false. Returns the request when every
/// rule held.
fn judge(head: &RequestHead, report: &mut dyn FnMut(HandshakeError) -> bool) -> Option<Request> {
    let fields = Fields(&head.headers);
    let one = |name: &'static str| fields.one(name).map_err(|Repeated| HandshakeError::DuplicateHeader { name });
    let mut ok = true;
    let mut fail = |e: HandshakeError| {
        ok = false;
        report(e)
    };
    macro_rules! check {
        ($e:expr) => {
            if !fail($e) {
                return None;
            }
        };
    }
    if head.method != "GET" {
        check!(HandshakeError::MethodNotGet { method: head.method.clone() });
    }
    if head.minor_version < 1 {
        check!(HandshakeError::HttpVersion);
    }
    let host = match one("Host") {
        Ok(Some(h)) if !trim(h).is_empty() => Some(text(trim(h))),
        Ok(_) => {
            check!(HandshakeError::MissingHost);
            None
        }
        Err(e) => {
            check!(e);
            None
        }
    };
    if !fields.has_token("Upgrade", "websocket") {
        check!(HandshakeError::NoUpgradeWebsocket);
    }
    if !fields.has_token("Connection", "Upgrade") {
        check!(HandshakeError::NoConnectionUpgrade);
    }
    let key = match one("Sec-WebSocket-Key") {
        Ok(Some(k)) if is_valid_key(trim(k)) => Some(text(trim(k))),
        Ok(Some(_)) => {
            check!(HandshakeError::InvalidKey);
            None
        }
        Ok(None) => {
            check!(HandshakeError::MissingKey);
            None
        }
        Err(e) => {
            check!(e);
            None
        }
    };
    match one("Sec-WebSocket-Version") {
        Ok(Some(v)) if trim(v) == b"13" => {}
        Ok(Some(v)) => check!(HandshakeError::UnsupportedVersion { version: text(trim(v)) }),
        Ok(None) => check!(HandshakeError::MissingVersion),
        Err(e) => check!(e),
    }
    let mut protocols = Vec::new();
    for value in fields.all("Sec-WebSocket-Protocol") {
        match parse_token_list(value) {
            Some(list) => protocols.extend(list),
            None => check!(HandshakeError::InvalidProtocols),
        }
    }
    let mut extensions = Vec::new();
    for value in fields.all("Sec-WebSocket-Extensions") {
        match parse_extensions(value) {
            Some(list) => extensions.extend(list),
            None => check!(HandshakeError::InvalidExtensions),
        }
    }
    let origin = match one("Origin") {
        Ok(o) => o.map(|o| text(trim(o))),
        Err(e) => {
            check!(e);
            None
        }
    };
    match (ok, host, key) {
        (true, Some(host), Some(key)) => Some(Request {
            target: head.target.clone(),
            host,
            key,
            origin,
            protocols,
            extensions,
            headers: head.headers.iter().map(|(n, v)| (n.clone(), text(v))).collect(),
        }),
        _ => None,
    }
}

/// Server side, strict: parses a request from any prefix of the stream.
///
/// `Ok(Incomplete)` means "read more"; `Ok(Complete { len })` accepts the
/// request, whose head was `len` bytes (anything after it already belongs to
/// the WebSocket stream); `Err` is the first rule broken, whose
/// [`HandshakeError::response`] is the answer to send.
pub fn parse_request(buf: &[u8], limits: &HandshakeLimits) -> Result<Decoded<Request>, HandshakeError> {
    let (head, len) = match RequestHead::parse(buf, limits)? {
        Decoded::Complete { value, len } => (value, len),
        Decoded::Incomplete { needed } => return Ok(Decoded::Incomplete { needed }),
    };
    head.upgrade().map(|value| Decoded::Complete { value, len })
}

/// What the explorer shows of a pasted request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestReport {
    /// Method, target and HTTP minor version, if the request line parsed.
    pub request_line: Option<(String, String, u8)>,
    /// Header lines as parsed.
    pub headers: Vec<(String, String)>,
    /// Length of the head, if it was complete.
    pub head_len: Option<usize>,
    /// Every rule broken, in the order of section 4.2.1.
    pub problems: Vec<HandshakeError>,
    /// The request, if valid.
    pub request: Option<Request>,
}

/// Explorer side: every problem of a request at once. An incomplete head is
/// reported with `head_len: None` and no problems.
pub fn inspect_request(buf: &[u8], limits: &HandshakeLimits) -> RequestReport {
    let mut report =
        RequestReport { request_line: None, headers: Vec::new(), head_len: None, problems: Vec::new(), request: None };
    match RequestHead::parse(buf, limits) {
        Err(e) => report.problems.push(e),
        Ok(Decoded::Incomplete { .. }) => {}
        Ok(Decoded::Complete { value: head, len }) => {
            report.request_line = Some((head.method.clone(), head.target.clone(), head.minor_version));
            report.headers = head.headers.iter().map(|(n, v)| (n.clone(), text(v))).collect();
            report.head_len = Some(len);
            let mut problems = Vec::new();
            report.request = judge(&head, &mut |e| {
                problems.push(e);
                true
            });
            report.problems = problems;
        }
    }
    report
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
