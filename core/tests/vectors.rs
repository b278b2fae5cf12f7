//! Known answers from `tests/data/rfc6455.json` (RFC 6455 sections 1.3 and
//! 5.7, and the captured Chrome 32 handshake of the seed documents).

// Tests may panic: that is how they fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation
)]

use serde_json::Value;
use wscope_core::connection::{Config, Connection, Event};
use wscope_core::handshake::{HandshakeLimits, parse_request};
use wscope_core::{Decoded, FrameHeader, OpCode, accept_key, mask::apply_mask};

fn vectors() -> Value {
    serde_json::from_str(include_str!("data/rfc6455.json")).expect("vectors parse")
}

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex {s}");
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}

fn list<'a>(v: &'a Value, key: &str) -> &'a Vec<Value> {
    v[key].as_array().unwrap_or_else(|| panic!("{key} is not a list"))
}

#[test]
fn accept_keys() {
    let v = vectors();
    let cases = list(&v, "accept");
    assert!(cases.len() >= 3);
    for case in cases {
        let key = case["key"].as_str().expect("key");
        assert_eq!(accept_key(key.as_bytes()), case["accept"].as_str().expect("accept"), "{}", case["source"]);
    }
}

#[test]
fn handshake_requests_from_their_exact_bytes() {
    let v = vectors();
    let cases = list(&v, "handshake_requests");
    assert!(!cases.is_empty());
    for case in cases {
        let bytes = hex(case["hex"].as_str().expect("hex"));
        let expect = &case["expect"];
        assert_eq!(expect["valid"], Value::Bool(true), "only valid requests are in the vectors");
        let (req, len) = match parse_request(&bytes, &HandshakeLimits::default()) {
            Ok(Decoded::Complete { value, len }) => (value, len),
            other => panic!("{}: {other:?}", case["name"]),
        };
        assert_eq!(len, bytes.len());
        assert_eq!(req.path(), expect["path"].as_str().expect("path"));
        assert_eq!(req.key, expect["key"].as_str().expect("key"));
        assert_eq!(req.accept(), expect["accept"].as_str().expect("accept"));
        let offered: Vec<&str> = req.extensions.iter().map(|e| e.name.as_str()).collect();
        let expected: Vec<&str> =
            list(expect, "extensions_offered").iter().map(|e| e.as_str().expect("name")).collect();
        assert_eq!(offered, expected);
        // Every strict prefix is "need more", never an error.
        for cut in 0..bytes.len() {
            assert!(matches!(
                parse_request(&bytes[..cut], &HandshakeLimits::default()),
                Ok(Decoded::Incomplete { .. })
            ));
        }
    }
}

#[test]
fn frames() {
    let v = vectors();
    let cases = list(&v, "frames");
    assert!(cases.len() >= 8);
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let bytes = hex(case["hex"].as_str().or(case["header_hex"].as_str()).expect("hex"));
        let (h, header_len) = FrameHeader::decode(&bytes).complete().unwrap_or_else(|| panic!("{name}: incomplete"));
        assert_eq!(h.fin, case["fin"].as_bool().expect("fin"), "{name}");
        assert_eq!(u64::from(h.opcode.bits()), case["opcode"].as_u64().expect("opcode"), "{name}");
        assert_eq!(h.mask.is_some(), case["masked"].as_bool().expect("masked"), "{name}");
        if let Some(key) = case["mask_key"].as_str() {
            assert_eq!(h.mask.map(Vec::from), Some(hex(key)), "{name}");
        }
        if let Some(len) = case["payload_len"].as_u64() {
            assert_eq!(h.payload_len, len, "{name}");
        }
        // Encoding the decoded header gives back the same bytes.
        let mut again = Vec::new();
        h.encode(&mut again).expect("encodes");
        assert_eq!(again, bytes[..header_len], "{name}");
        if let Some(text) = case["payload_text"].as_str() {
            let mut payload = bytes[header_len..].to_vec();
            assert_eq!(payload.len() as u64, h.payload_len, "{name}");
            if let Some(key) = h.mask {
                apply_mask(&mut payload, key, 0);
            }
            assert_eq!(payload, text.as_bytes(), "{name}");
        }
    }
}

/// The whole frames run through a connection of the role that receives them.
#[test]
fn single_frames_through_a_connection() {
    let v = vectors();
    for case in list(&v, "frames") {
        let (Some(hex_str), Some(text)) = (case["hex"].as_str(), case["payload_text"].as_str()) else { continue };
        if !case["fin"].as_bool().expect("fin") || case["opcode"].as_u64() == Some(0) {
            continue;
        }
        let mut conn = if case["masked"].as_bool().expect("masked") {
            Connection::server(Config::default())
        } else {
            Connection::client(Config::default(), Box::new(|| [0; 4]))
        };
        conn.receive_data(&hex(hex_str));
        let event = conn.next_event().expect("an event");
        let expected = match OpCode::from_bits(case["opcode"].as_u64().expect("opcode") as u8) {
            OpCode::Text => Event::Text(text.into()),
            OpCode::Ping => Event::Ping(text.into()),
            OpCode::Pong => Event::Pong(text.into()),
            other => panic!("no expectation for {other}"),
        };
        assert_eq!(event, expected, "{}", case["name"]);
    }
}

/// The two RFC fragments of "Hello", to a client.
#[test]
fn rfc_fragments_through_a_client() {
    let v = vectors();
    let frames = list(&v, "frames");
    let pick = |name: &str| {
        hex(frames.iter().find(|f| f["name"] == name).and_then(|f| f["hex"].as_str()).expect("vector present"))
    };
    let mut conn = Connection::client(Config::default(), Box::new(|| [0; 4]));
    conn.receive_data(&pick("fragment 1 of Hello"));
    assert_eq!(conn.next_event(), None);
    conn.receive_data(&pick("fragment 2 of Hello"));
    assert_eq!(conn.next_event(), Some(Event::Text("Hello".into())));
}
