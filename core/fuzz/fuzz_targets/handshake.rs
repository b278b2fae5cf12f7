//! Handshake parsing, both sides: no panic; the strict parser's verdict is
//! the first problem the inspecting one lists; every prefix of an accepted
//! request is "incomplete".
#![no_main]

use libfuzzer_sys::fuzz_target;
use wscope_core::Decoded;
use wscope_core::handshake::{ClientHandshake, HandshakeLimits, inspect_request, parse_request};

fuzz_target!(|data: &[u8]| {
    let limits = HandshakeLimits { max_head_len: 1024, max_headers: 16 };
    let strict = parse_request(data, &limits);
    let report = inspect_request(data, &limits);
    match &strict {
        Ok(Decoded::Complete { value, len }) => {
            assert!(report.problems.is_empty());
            assert_eq!(report.request.as_ref(), Some(value));
            assert_eq!(report.head_len, Some(*len));
            let _ = value.response(value.protocols.first().map(String::as_str), None);
        }
        Ok(Decoded::Incomplete { .. }) => assert!(report.problems.is_empty() && report.head_len.is_none()),
        Err(e) => {
            assert_eq!(report.problems.first(), Some(e));
            assert!(matches!(e.status(), 400 | 405 | 426 | 431));
            let response = e.response();
            assert!(response.starts_with(b"HTTP/1.1 4"));
        }
    }
    let client = ClientHandshake::new("example.com", "/", [7; 16]);
    let _ = client.check_response(data, &limits);
});
