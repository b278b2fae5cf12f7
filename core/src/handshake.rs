//! The opening handshake (RFC 6455 section 4), for both roles.
//!
//! Server side: [`parse_request`] reads a client's request from any prefix of
//! the stream and either accepts it ([`Request`], whose
//! [`Request::response`] is the 101 to send) or says which error response to
//! send ([`HandshakeError::response`]). [`inspect_request`] lists every
//! problem of a request at once, for the explorer.
//!
//! Client side: [`ClientHandshake`] writes a request and checks the server's
//! response.

use crate::Decoded;
use crate::accept::{accept_key, is_valid_key, key_from_nonce};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

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
    fn header_slots(&self) -> usize {
        self.max_headers.min((self.max_head_len / 3).saturating_add(1)).min(4096)
    }
}

impl Default for HandshakeLimits {
    fn default() -> Self {
        HandshakeLimits { max_head_len: 8 * 1024, max_headers: 64 }
    }
}

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
        503 => "Service Unavailable",
        405 => "Method Not Allowed",
        426 => "Upgrade Required",
        431 => "Request Header Fields Too Large",
        _ => "Error",
    }
}

/// One parameter of an extension offer: `name` or `name=value`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ExtensionParam {
    /// Parameter name.
    pub name: String,
    /// Value, unquoted.
    pub value: Option<String>,
}

/// One extension from `Sec-WebSocket-Extensions` (section 9.1).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Extension {
    /// Extension token, e.g. `permessage-deflate`.
    pub name: String,
    /// Its parameters in order.
    pub params: Vec<ExtensionParam>,
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
        self.target.split('?').next().unwrap_or_default()
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

/// Whether `v` can stand in a header field value: visible ASCII, spaces
/// and tabs (RFC 7230 section 3.2), so no CR or LF can split the head.
fn is_field_value(v: &str) -> bool {
    v.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
}

/// An HTTP request head as parsed, before any WebSocket rule is applied:
/// what a server routes on before it judges the upgrade.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHead {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The request target, e.g. `/echo?tap=…`.
    pub target: String,
    /// The `x` of `HTTP/1.x`.
    pub minor_version: u8,
    /// Header lines in order, values as raw bytes.
    pub headers: Vec<(String, Vec<u8>)>,
}

impl RequestHead {
    /// Parses a head from any prefix of the stream; `Complete { len }` says
    /// where the head ends.
    pub fn parse(buf: &[u8], limits: &HandshakeLimits) -> Result<Decoded<RequestHead>, HandshakeError> {
        parse_head(buf, limits)
    }

    /// The target's path (before `?`).
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
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

    /// The value of header `name` if it appears exactly once.
    pub fn header<'a>(&'a self, name: &'a str) -> Option<&'a [u8]> {
        let mut it = self.all(name);
        it.next().filter(|_| it.next().is_none())
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
    }

    fn one(&self, name: &'static str) -> Result<Option<&[u8]>, HandshakeError> {
        let mut it = self.all(name);
        let first = it.next();
        if it.next().is_some() {
            return Err(HandshakeError::DuplicateHeader { name });
        }
        Ok(first)
    }

    /// Whether some comma-separated element of any `name` header equals
    /// `token`, ignoring case.
    fn has_token(&self, name: &str, token: &str) -> bool {
        self.all(name).any(|v| v.split(|b| *b == b',').any(|t| trim(t).eq_ignore_ascii_case(token.as_bytes())))
    }
}

fn trim(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

fn text(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

/// Parses the HTTP head from any prefix of the stream.
fn parse_head(buf: &[u8], limits: &HandshakeLimits) -> Result<Decoded<RequestHead>, HandshakeError> {
    let mut headers = vec![httparse::EMPTY_HEADER; limits.header_slots()];
    let mut req = httparse::Request::new(&mut headers);
    // Only the bytes within the cap are parsed: an error there is the
    // request's fault (400); running past the cap is its size's (431).
    let capped = buf.get(..limits.max_head_len).unwrap_or(buf);
    let status = req.parse(capped).map_err(|e| match e {
        httparse::Error::TooManyHeaders => HandshakeError::TooManyHeaders { limit: limits.max_headers },
        httparse::Error::HeaderName => HandshakeError::Malformed("invalid header name"),
        httparse::Error::HeaderValue => HandshakeError::Malformed("invalid header value"),
        httparse::Error::NewLine => HandshakeError::Malformed("invalid line ending"),
        httparse::Error::Status => HandshakeError::Malformed("invalid status"),
        httparse::Error::Token => HandshakeError::Malformed("invalid method or token"),
        httparse::Error::Version => HandshakeError::Malformed("invalid HTTP version"),
    });
    match status? {
        httparse::Status::Partial if buf.len() >= limits.max_head_len => {
            Err(HandshakeError::HeadTooLarge { limit: limits.max_head_len })
        }
        httparse::Status::Partial => Ok(Decoded::Incomplete { needed: 1 }),
        httparse::Status::Complete(len) if len > limits.max_head_len => {
            Err(HandshakeError::HeadTooLarge { limit: limits.max_head_len })
        }
        httparse::Status::Complete(len) => {
            let head = RequestHead {
                method: req.method.unwrap_or_default().to_string(),
                target: req.path.unwrap_or_default().to_string(),
                minor_version: req.version.unwrap_or(0),
                headers: req.headers.iter().map(|h| (h.name.to_string(), h.value.to_vec())).collect(),
            };
            Ok(Decoded::Complete { value: head, len })
        }
    }
}

/// Checks one rule of section 4.2.1 after another, calling `report` for
/// each broken one until it returns false. Returns the request when every
/// rule held.
fn judge(head: &RequestHead, report: &mut dyn FnMut(HandshakeError) -> bool) -> Option<Request> {
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
    let host = match head.one("Host") {
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
    if !head.has_token("Upgrade", "websocket") {
        check!(HandshakeError::NoUpgradeWebsocket);
    }
    if !head.has_token("Connection", "Upgrade") {
        check!(HandshakeError::NoConnectionUpgrade);
    }
    let key = match head.one("Sec-WebSocket-Key") {
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
    match head.one("Sec-WebSocket-Version") {
        Ok(Some(v)) if trim(v) == b"13" => {}
        Ok(Some(v)) => check!(HandshakeError::UnsupportedVersion { version: text(trim(v)) }),
        Ok(None) => check!(HandshakeError::MissingVersion),
        Err(e) => check!(e),
    }
    let mut protocols = Vec::new();
    for value in head.all("Sec-WebSocket-Protocol") {
        match parse_token_list(value) {
            Some(list) => protocols.extend(list),
            None => check!(HandshakeError::InvalidProtocols),
        }
    }
    let mut extensions = Vec::new();
    for value in head.all("Sec-WebSocket-Extensions") {
        match parse_extensions(value) {
            Some(list) => extensions.extend(list),
            None => check!(HandshakeError::InvalidExtensions),
        }
    }
    let origin = match head.one("Origin") {
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
    let (head, len) = match parse_head(buf, limits)? {
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
    match parse_head(buf, limits) {
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

/// RFC 7230 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token(v: &[u8]) -> bool {
    !v.is_empty() && v.iter().all(|b| is_tchar(*b))
}

/// `1#token`: comma-separated tokens, empty elements allowed and skipped.
fn parse_token_list(value: &[u8]) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for t in value.split(|b| *b == b',').map(trim) {
        if t.is_empty() {
            continue;
        }
        if !is_token(t) {
            return None;
        }
        out.push(text(t));
    }
    (!out.is_empty()).then_some(out)
}

/// The `Sec-WebSocket-Extensions` grammar of section 9.1:
/// `extension *( "," extension )`, `extension = token *( ";" param )`,
/// `param = token [ "=" ( token | quoted-string ) ]`.
pub fn parse_extensions(value: &[u8]) -> Option<Vec<Extension>> {
    let mut out = Vec::new();
    let mut rest = value;
    loop {
        // RFC 7230 section 7: empty list elements are ignored.
        rest = skip_ws(rest);
        if let [b',', after @ ..] = rest {
            rest = after;
            continue;
        }
        if rest.is_empty() {
            return (!out.is_empty()).then_some(out);
        }
        let (name, after) = take_token(rest)?;
        let mut ext = Extension { name, params: Vec::new() };
        rest = skip_ws(after);
        while let [b';', after @ ..] = rest {
            let (name, after) = take_token(skip_ws(after))?;
            rest = skip_ws(after);
            let mut value = None;
            if let [b'=', after @ ..] = rest {
                let after = skip_ws(after);
                let (v, after) =
                    if let [b'"', quoted @ ..] = after { take_quoted(quoted)? } else { take_token(after)? };
                // Section 9.1: a quoted value must itself be a token.
                if !is_token(v.as_bytes()) {
                    return None;
                }
                value = Some(v);
                rest = skip_ws(after);
            }
            ext.params.push(ExtensionParam { name, value });
        }
        out.push(ext);
        match rest {
            [] => return Some(out),
            [b',', after @ ..] => rest = after,
            _ => return None,
        }
    }
}

fn skip_ws(v: &[u8]) -> &[u8] {
    let n = v.iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
    v.get(n..).unwrap_or_default()
}

fn take_token(v: &[u8]) -> Option<(String, &[u8])> {
    let n = v.iter().take_while(|b| is_tchar(**b)).count();
    let (t, rest) = v.split_at(n);
    (n > 0).then(|| (text(t), rest))
}

/// A quoted-string after its opening quote, with backslash escapes.
fn take_quoted(v: &[u8]) -> Option<(String, &[u8])> {
    let mut out = Vec::new();
    let mut it = v.iter().enumerate();
    while let Some((i, b)) = it.next() {
        match b {
            b'"' => return Some((text(&out), v.get(i.saturating_add(1)..).unwrap_or_default())),
            b'\\' => out.push(*it.next()?.1),
            b => out.push(*b),
        }
    }
    None
}

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
}

/// An HTTP response head as parsed, before any WebSocket rule is applied:
/// what the explorer splits a server's byte stream with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseHead {
    /// The `x` of `HTTP/1.x`.
    pub minor_version: u8,
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// Header lines in order, values as raw bytes.
    pub headers: Vec<(String, Vec<u8>)>,
}

impl ResponseHead {
    /// Parses a response head from any prefix of the stream; `Complete {
    /// len }` says where the head ends (frames may follow).
    pub fn parse(buf: &[u8], limits: &HandshakeLimits) -> Result<Decoded<ResponseHead>, ResponseError> {
        let mut headers = vec![httparse::EMPTY_HEADER; limits.header_slots()];
        let mut resp = httparse::Response::new(&mut headers);
        let len = match resp.parse(buf.get(..limits.max_head_len).unwrap_or(buf)) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) if buf.len() < limits.max_head_len => {
                return Ok(Decoded::Incomplete { needed: 1 });
            }
            Ok(httparse::Status::Partial) => return Err(ResponseError::HeadTooLarge { limit: limits.max_head_len }),
            Err(_) => return Err(ResponseError::Malformed("not an HTTP/1.x response head")),
        };
        let head = ResponseHead {
            minor_version: resp.version.unwrap_or(0),
            status: resp.code.unwrap_or(0),
            reason: resp.reason.unwrap_or_default().to_string(),
            headers: resp.headers.iter().map(|h| (h.name.to_string(), h.value.to_vec())).collect(),
        };
        Ok(Decoded::Complete { value: head, len })
    }
}

/// An accepted server response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The subprotocol the server selected.
    pub protocol: Option<String>,
    /// The extensions the server accepted.
    pub extensions: Vec<Extension>,
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
        }
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
        let head = RequestHead {
            method: String::new(),
            target: String::new(),
            minor_version: response.minor_version,
            headers: response.headers,
        };
        if status != 101 {
            return Err(ResponseError::NotSwitching { status, reason: response.reason });
        }
        if head.minor_version < 1 {
            return Err(ResponseError::Malformed("a 101 response must be HTTP/1.1"));
        }
        // Section 4.1, client check 2: the value itself is "websocket".
        match head.one("Upgrade") {
            Ok(Some(v)) if trim(v).eq_ignore_ascii_case(b"websocket") => {}
            Ok(_) => return Err(ResponseError::NoUpgradeWebsocket),
            Err(_) => return Err(ResponseError::DuplicateHeader { name: "Upgrade" }),
        }
        if !head.has_token("Connection", "Upgrade") {
            return Err(ResponseError::NoConnectionUpgrade);
        }
        let expected = accept_key(self.key.as_bytes());
        let got = match head.one("Sec-WebSocket-Accept") {
            Ok(v) => v.map(|v| text(trim(v))).unwrap_or_default(),
            Err(_) => return Err(ResponseError::DuplicateHeader { name: "Sec-WebSocket-Accept" }),
        };
        if got != expected {
            return Err(ResponseError::BadAccept { expected, got });
        }
        let protocol = match head.one("Sec-WebSocket-Protocol") {
            Ok(v) => v.map(|v| text(trim(v))),
            Err(_) => return Err(ResponseError::DuplicateHeader { name: "Sec-WebSocket-Protocol" }),
        };
        if let Some(p) = &protocol {
            if !self.protocols.iter().any(|o| o == p) {
                return Err(ResponseError::UnexpectedProtocol(p.clone()));
            }
        }
        let offered: Vec<Extension> =
            self.extensions.as_deref().and_then(|e| parse_extensions(e.as_bytes())).unwrap_or_default();
        let mut extensions = Vec::new();
        for value in head.all("Sec-WebSocket-Extensions") {
            for ext in parse_extensions(value).ok_or(ResponseError::Malformed("Sec-WebSocket-Extensions"))? {
                if !offered.iter().any(|o| o.name == ext.name) {
                    return Err(ResponseError::UnexpectedExtension(ext.name));
                }
                extensions.push(ext);
            }
        }
        let headers = head.headers.iter().map(|(n, v)| (n.clone(), text(v))).collect();
        Ok(Decoded::Complete { value: Accepted { protocol, extensions, headers }, len })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIREFOX: &[u8] = b"GET /echo?tap=x HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: test\r\n\
Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: chat, superchat\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-foo; a=\"b\"\r\nOrigin: http://localhost:8080\r\n\r\n";

    fn limits() -> HandshakeLimits {
        HandshakeLimits::default()
    }

    fn with(replace: &str, by: &str) -> Vec<u8> {
        String::from_utf8(FIREFOX.to_vec()).unwrap().replacen(replace, by, 1).into_bytes()
    }

    fn refused(req: &[u8]) -> HandshakeError {
        parse_request(req, &limits()).expect_err("refused")
    }

    #[test]
    fn accepts_firefox_style_request_from_every_prefix() {
        for cut in 0..FIREFOX.len() {
            assert!(matches!(parse_request(&FIREFOX[..cut], &limits()), Ok(Decoded::Incomplete { .. })), "cut {cut}");
        }
        let mut buf = FIREFOX.to_vec();
        buf.extend_from_slice(&[0x81, 0x80]);
        let (req, len) = parse_request(&buf, &limits()).unwrap().complete().unwrap();
        assert_eq!(len, FIREFOX.len());
        assert_eq!((req.path(), req.query()), ("/echo", Some("tap=x")));
        assert_eq!(req.accept(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_eq!(req.protocols, ["chat", "superchat"]);
        assert_eq!(req.select_protocol(&["superchat", "chat"]), Some("chat"));
        assert_eq!(req.select_protocol(&["other"]), None);
        assert_eq!(req.extensions.len(), 2);
        assert_eq!(req.extensions[0].params[0], ExtensionParam { name: "client_max_window_bits".into(), value: None });
        assert_eq!(req.extensions[1].params[0].value.as_deref(), Some("b"));
        assert_eq!(req.origin.as_deref(), Some("http://localhost:8080"));
        assert_eq!(req.response(Some("other"), None), Err(InvalidValue { field: "Sec-WebSocket-Protocol" }));
        assert!(req.response(None, Some("x\r\nEvil: 1")).is_err());
        let resp = String::from_utf8(req.response(Some("chat"), None).unwrap()).unwrap();
        assert_eq!(
            resp,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n"
        );
    }

    #[test]
    fn header_names_and_tokens_ignore_case() {
        // Header names and the Upgrade/Connection tokens are case-insensitive;
        // the method and the key are not.
        let req = b"GET / HTTP/1.1\r\nhOST: a\r\nuPgRaDe: WebSocket\r\nCONNECTION: UPGRADE\r\n\
sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n";
        assert!(parse_request(req, &limits()).is_ok());
        assert!(parse_request(&with("GET", "get"), &limits()).is_err());
    }

    #[test]
    fn each_rule_gets_its_status() {
        assert_eq!(refused(&with("GET", "POST")).status(), 405);
        assert_eq!(refused(&with("HTTP/1.1", "HTTP/1.0")), HandshakeError::HttpVersion);
        assert_eq!(refused(&with("Host: localhost:8080\r\n", "")), HandshakeError::MissingHost);
        assert_eq!(refused(&with("Upgrade: websocket", "Upgrade: h2c")), HandshakeError::NoUpgradeWebsocket);
        assert_eq!(refused(&with("keep-alive, Upgrade", "keep-alive")), HandshakeError::NoConnectionUpgrade);
        assert_eq!(refused(&with("dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ=")), HandshakeError::InvalidKey);
        let e = refused(&with("Version: 13", "Version: 8"));
        assert_eq!(e.status(), 426);
        let resp = String::from_utf8(e.response()).unwrap();
        assert!(resp.starts_with("HTTP/1.1 426 Upgrade Required\r\n"), "{resp}");
        assert!(resp.contains("\r\nSec-WebSocket-Version: 13\r\n"), "{resp}");
        assert!(resp.contains("\r\nUpgrade: websocket\r\nConnection: Upgrade, close\r\n"), "{resp}");
        assert_eq!(refused(&with("Sec-WebSocket-Version: 13\r\n", "")), HandshakeError::MissingVersion);
        assert_eq!(
            refused(&with("Host: localhost:8080\r\n", "Host: a\r\nHost: b\r\n")),
            HandshakeError::DuplicateHeader { name: "Host" }
        );
        assert_eq!(refused(&with("x-foo; a=\"b\"", "x-foo; a=\"b c\"")), HandshakeError::InvalidExtensions);
        assert_eq!(refused(&with("chat, superchat", "chat, super chat")), HandshakeError::InvalidProtocols);
        assert_eq!(refused(b"GET / HTTP/1.1\r\nHost\r\n\r\n").status(), 400);
        assert_eq!(
            refused(&with("Origin: http://localhost:8080\r\n", "Origin: a\r\nOrigin: b\r\n")),
            HandshakeError::DuplicateHeader { name: "Origin" }
        );
        // A malformed request longer than the cap is malformed, not too large.
        let mut long = b"GET / HTTP/1.1\r\nBad Header: x\r\n".to_vec();
        long.resize(20_000, b'a');
        assert_eq!(refused(&long).status(), 400);
    }

    #[test]
    fn oversized_heads_get_431() {
        let big = with("User-Agent: test", &format!("User-Agent: {}", "x".repeat(9000)));
        assert_eq!(refused(&big[..8192]), HandshakeError::HeadTooLarge { limit: 8192 });
        assert_eq!(refused(&big), HandshakeError::HeadTooLarge { limit: 8192 });
        // A huge header limit allocates no more than the head can hold.
        let huge = HandshakeLimits { max_headers: usize::MAX, ..limits() };
        assert!(parse_request(FIREFOX, &huge).is_ok());
        let small = HandshakeLimits { max_headers: 4, ..limits() };
        let e = parse_request(FIREFOX, &small).unwrap_err();
        assert_eq!((e.status(), e), (431, HandshakeError::TooManyHeaders { limit: 4 }));
    }

    #[test]
    fn inspect_lists_every_problem() {
        let req = b"POST / HTTP/1.0\r\nSec-WebSocket-Key: nope\r\nSec-WebSocket-Version: 7\r\n\r\n";
        let report = inspect_request(req, &limits());
        assert_eq!(
            report.problems,
            [
                HandshakeError::MethodNotGet { method: "POST".into() },
                HandshakeError::HttpVersion,
                HandshakeError::MissingHost,
                HandshakeError::NoUpgradeWebsocket,
                HandshakeError::NoConnectionUpgrade,
                HandshakeError::InvalidKey,
                HandshakeError::UnsupportedVersion { version: "7".into() },
            ]
        );
        assert!(report.request.is_none());
        assert_eq!(report.head_len, Some(req.len()));
        let ok = inspect_request(FIREFOX, &limits());
        assert!(ok.problems.is_empty() && ok.request.is_some());
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
    fn extension_grammar() {
        let exts = parse_extensions(b"permessage-deflate; client_max_window_bits,, x; y=\"1\" ,").unwrap();
        let names: Vec<_> = exts.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["permessage-deflate", "x"]);
        assert_eq!(exts[1].params[0].value.as_deref(), Some("1"));
        for bad in [&b""[..], b",", b"a;", b"a; b=", b"a b", b"a; b=\"c d\"", b"a; b=\"unterminated"] {
            assert_eq!(parse_extensions(bad), None, "{:?}", core::str::from_utf8(bad));
        }
    }

    #[test]
    fn head_routes_before_judging() {
        let (head, len) =
            RequestHead::parse(b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n", &limits()).unwrap().complete().unwrap();
        assert_eq!((head.path(), len), ("/index.html", 37));
        assert_eq!(head.upgrade(), Err(HandshakeError::NoUpgradeWebsocket));
        assert_eq!(head.header("host"), Some(&b"a"[..]));
        let e = HandshakeError::Refused { status: 503, message: "too many connections".into() };
        let resp = String::from_utf8(e.response()).unwrap();
        assert!(resp.starts_with("HTTP/1.1 503 Service Unavailable\r\n"), "{resp}");
        assert!(resp.ends_with("\r\n\r\ntoo many connections\n"), "{resp}");
    }
}
