//! HTTP heads as parsed, before any WebSocket rule is applied: the
//! request a server routes on and the response a client (or an observer of
//! the wire) splits the stream with. Both are read from any prefix of the
//! stream under the same cap.

use super::HandshakeLimits;
use crate::Decoded;
use crate::header_value::trim;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

/// The header lines of a head, in order, values as raw bytes.
pub type HeaderLines = Vec<(String, Vec<u8>)>;

/// An HTTP request head: what a server routes on before it judges the
/// upgrade.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHead {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The request target, e.g. `/echo?tap=…`.
    pub target: String,
    /// The `x` of `HTTP/1.x`.
    pub minor_version: u8,
    /// Header lines in order, values as raw bytes.
    pub headers: HeaderLines,
}

/// An HTTP response head: what a client checks, and what the explorer
/// splits a server's byte stream with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseHead {
    /// The `x` of `HTTP/1.x`.
    pub minor_version: u8,
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// Header lines in order, values as raw bytes.
    pub headers: HeaderLines,
}

/// Why a head could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HeadError {
    /// Not a well-formed HTTP/1.x head; says which part.
    #[error("malformed HTTP head: {0}")]
    Malformed(&'static str),
    /// No end of the head within the cap.
    #[error("head exceeds {limit} bytes")]
    TooLarge {
        /// The cap.
        limit: usize,
    },
    /// More header lines than the limit.
    #[error("more than {limit} header fields")]
    TooManyHeaders {
        /// The limit.
        limit: usize,
    },
}

impl From<httparse::Error> for HeadError {
    fn from(e: httparse::Error) -> Self {
        HeadError::Malformed(match e {
            httparse::Error::HeaderName => "invalid header name",
            httparse::Error::HeaderValue => "invalid header value",
            httparse::Error::NewLine => "invalid line ending",
            httparse::Error::Status => "invalid status",
            httparse::Error::Token => "invalid method or token",
            httparse::Error::Version => "invalid HTTP version",
            httparse::Error::TooManyHeaders => "too many headers",
        })
    }
}

/// Runs `parse` over the bytes within the cap. An error there is the
/// head's fault; running out of bytes at the cap is its size's.
fn capped<'b>(
    buf: &'b [u8],
    limits: &HandshakeLimits,
    parse: impl FnOnce(&'b [u8]) -> Result<httparse::Status<usize>, httparse::Error>,
) -> Result<Decoded<usize>, HeadError> {
    match parse(buf.get(..limits.max_head_len).unwrap_or(buf)) {
        Ok(httparse::Status::Complete(len)) => Ok(Decoded::Complete { value: len, len }),
        Ok(httparse::Status::Partial) if buf.len() < limits.max_head_len => Ok(Decoded::Incomplete { needed: 1 }),
        Ok(httparse::Status::Partial) => Err(HeadError::TooLarge { limit: limits.max_head_len }),
        Err(httparse::Error::TooManyHeaders) => Err(HeadError::TooManyHeaders { limit: limits.max_headers }),
        Err(e) => Err(e.into()),
    }
}

fn lines(headers: &[httparse::Header<'_>]) -> HeaderLines {
    headers.iter().map(|h| (h.name.to_string(), h.value.to_vec())).collect()
}

impl RequestHead {
    /// The target's path (before `?`).
    pub fn path(&self) -> &str {
        path_of(&self.target)
    }

    /// The value of header `name` if it appears exactly once.
    pub fn header<'a>(&'a self, name: &'a str) -> Option<&'a [u8]> {
        Fields(&self.headers).once(name)
    }
}

impl ResponseHead {
    /// The value of header `name` if it appears exactly once.
    pub fn header<'a>(&'a self, name: &'a str) -> Option<&'a [u8]> {
        Fields(&self.headers).once(name)
    }

    /// Whether header `name`, in any of its lines, lists `token` (a
    /// comma-separated list; names and tokens ignore case), e.g. a 426's
    /// `Sec-WebSocket-Version: 13, 8` naming 13 (section 4.4).
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        Fields(&self.headers).has_token(name, token)
    }
}

/// A whole head (`head`, as [`RequestHead::parse`] measured it) with every
/// line of header `name` (any case) replaced by one line `name: value`,
/// every other byte as it was: what a relay sends on after rewriting
/// `Host`. The head is unchanged when it has no such header, and `None`
/// when `value` could not stand in a header (a line break or another
/// control character).
pub fn replace_header(head: &[u8], name: &str, value: &str) -> Option<Vec<u8>> {
    if value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
        return None;
    }
    let mut out = Vec::with_capacity(head.len().saturating_add(value.len()));
    let mut replaced = false;
    // Lines keep their own ending (httparse takes a bare LF as well as CRLF).
    for (i, line) in head.split_inclusive(|&b| b == b'\n').enumerate() {
        let field = line.split(|&b| b == b':').next().unwrap_or_default();
        let is_it = i > 0 && line.contains(&b':') && field.eq_ignore_ascii_case(name.as_bytes());
        if !is_it {
            out.extend_from_slice(line);
            continue;
        }
        if !replaced {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            let ending: &[u8] = if line.ends_with(b"\r\n") { b"\r\n" } else { b"\n" };
            out.extend_from_slice(ending);
            replaced = true;
        }
    }
    Some(out)
}

/// Parses a request head from any prefix of the stream.
pub(crate) fn parse_request_head(buf: &[u8], limits: &HandshakeLimits) -> Result<Decoded<RequestHead>, HeadError> {
    let mut slots = vec![httparse::EMPTY_HEADER; limits.header_slots()];
    let mut req = httparse::Request::new(&mut slots);
    let len = match capped(buf, limits, |b| req.parse(b))? {
        Decoded::Complete { len, .. } => len,
        Decoded::Incomplete { needed } => return Ok(Decoded::Incomplete { needed }),
    };
    let head = RequestHead {
        method: req.method.unwrap_or_default().to_string(),
        target: req.path.unwrap_or_default().to_string(),
        minor_version: req.version.unwrap_or(0),
        headers: lines(req.headers),
    };
    Ok(Decoded::Complete { value: head, len })
}

/// Parses a response head from any prefix of the stream.
pub(crate) fn parse_response_head(buf: &[u8], limits: &HandshakeLimits) -> Result<Decoded<ResponseHead>, HeadError> {
    let mut slots = vec![httparse::EMPTY_HEADER; limits.header_slots()];
    let mut resp = httparse::Response::new(&mut slots);
    let len = match capped(buf, limits, |b| resp.parse(b))? {
        Decoded::Complete { len, .. } => len,
        Decoded::Incomplete { needed } => return Ok(Decoded::Incomplete { needed }),
    };
    let head = ResponseHead {
        minor_version: resp.version.unwrap_or(0),
        status: resp.code.unwrap_or(0),
        reason: resp.reason.unwrap_or_default().to_string(),
        headers: lines(resp.headers),
    };
    Ok(Decoded::Complete { value: head, len })
}

/// The path of a request target (before `?`).
pub(crate) fn path_of(target: &str) -> &str {
    target.split('?').next().unwrap_or_default()
}

/// Header lookups shared by both sides' checks.
#[derive(Clone, Copy)]
pub(crate) struct Fields<'a>(pub(crate) &'a [(String, Vec<u8>)]);

/// A header that must appear once appeared more often (section 11.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Repeated;

impl<'a> Fields<'a> {
    /// Every value of header `name` (names ignore case).
    pub(crate) fn all(self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.0.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
    }

    /// The value of a header that may appear at most once.
    pub(crate) fn one(self, name: &'a str) -> Result<Option<&'a [u8]>, Repeated> {
        let mut it = self.all(name);
        let first = it.next();
        if it.next().is_some() {
            return Err(Repeated);
        }
        Ok(first)
    }

    /// The value of header `name` if it appears exactly once.
    pub(crate) fn once(self, name: &'a str) -> Option<&'a [u8]> {
        self.one(name).ok().flatten()
    }

    /// Whether some comma-separated element of any `name` header equals
    /// `token`, ignoring case.
    pub(crate) fn has_token(self, name: &'a str, token: &str) -> bool {
        self.all(name).any(|v| v.split(|b| *b == b',').any(|t| trim(t).eq_ignore_ascii_case(token.as_bytes())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::{HandshakeError, ResponseError};

    #[test]
    fn both_heads_share_one_cap() {
        let limits = HandshakeLimits { max_head_len: 40, max_headers: 2 };
        let long = b"GET / HTTP/1.1\r\nHost: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
        assert_eq!(RequestHead::parse(long, &limits), Err(HandshakeError::HeadTooLarge { limit: 40 }));
        assert!(matches!(RequestHead::parse(&long[..39], &limits), Ok(Decoded::Incomplete { .. })));
        let resp = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
        assert_eq!(ResponseHead::parse(resp, &limits), Err(ResponseError::HeadTooLarge { limit: 40 }));
        let three = b"HTTP/1.1 200 OK\r\na: 1\r\nb: 2\r\nc: 3\r\n\r\n";
        assert_eq!(
            ResponseHead::parse(three, &HandshakeLimits::default()).map(|d| d.complete().map(|(_, n)| n)),
            Ok(Some(three.len()))
        );
        let few = HandshakeLimits { max_headers: 2, ..HandshakeLimits::default() };
        assert_eq!(ResponseHead::parse(three, &few), Err(ResponseError::TooManyHeaders { limit: 2 }));
        assert!(matches!(ResponseHead::parse(b"SSH-2.0-x\r\n", &few), Err(ResponseError::Malformed(_))));
    }

    #[test]
    fn a_relay_rewrites_host_and_nothing_else() {
        let head = b"GET /chat?room=1 HTTP/1.1\r\nhOsT: app.example:9000\r\nX-Host: keep\r\nUpgrade: websocket\r\n\r\n";
        let out = replace_header(head, "Host", "127.0.0.1:3000").unwrap();
        assert_eq!(
            out,
            b"GET /chat?room=1 HTTP/1.1\r\nHost: 127.0.0.1:3000\r\nX-Host: keep\r\nUpgrade: websocket\r\n\r\n"
        );
        // Two Host lines become one; bare LF endings stay bare.
        let twice = b"GET / HTTP/1.1\nHost: a\nHost: b\n\n";
        assert_eq!(replace_header(twice, "host", "c").unwrap(), b"GET / HTTP/1.1\nhost: c\n\n");
        // No Host: unchanged (the upstream judges its absence).
        let none = b"GET / HTTP/1.0\r\nA: b\r\n\r\n";
        assert_eq!(replace_header(none, "Host", "c").unwrap(), none);
        assert_eq!(replace_header(head, "Host", "a\r\nEvil: 1"), None);
        let parsed = RequestHead::parse(&out, &HandshakeLimits::default()).unwrap().complete().unwrap().0;
        assert_eq!(parsed.header("host"), Some(&b"127.0.0.1:3000"[..]));
    }
}
