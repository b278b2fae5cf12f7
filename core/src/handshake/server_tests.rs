//! Tests of the server side of the handshake (`server.rs`).

use super::*;
use crate::header_value::ExtensionParam;
use alloc::format;

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
