//! Group 14, the opening handshake (wscope's own; Autobahn never wrote
//! these): requests that break section 4.1/4.2.1 on purpose must be refused
//! with the status the RFCs name, valid requests written unusually must be
//! accepted, offers the server cannot know must be declined, and an
//! oversized head refused with 431.

use crate::case::{Case, CloseExpectation, Rule};
use crate::own::{Edit, Judge, Opening, Own};
use std::time::Duration;

/// A second valid key, for the duplicate.
const OTHER_KEY: &str = "AQIDBAUGBwgJCgsMDQ4PEA==";

/// Bytes of padding in the oversized head's extra header.
pub(super) const OVERSIZED_HEAD: usize = 1 << 20;

fn case(id: &str, section: &'static str, description: &str, expectation: &str, edit: Edit, judge: Judge) -> Case {
    Case {
        id: id.into(),
        description: description.into(),
        expectation: expectation.into(),
        actions: Vec::new(),
        expected: vec![(crate::Verdict::Ok, Vec::new())],
        close: CloseExpectation::normal(),
        time_limit: Duration::from_secs(if edit.pad > 0 { 10 } else { 3 }),
        rule: Rule::Plain,
        offer: None,
        own: Some(Own { section, opening: Opening::Edited(edit), judge, check_alive: false }),
    }
}

fn refuse(statuses: &'static [u16]) -> Judge {
    Judge::Refuse { statuses }
}

pub(super) fn cases() -> Vec<Case> {
    let drop = |name: &'static str| Edit { drop: vec![name], ..Edit::default() };
    let set = |name: &'static str, value: &str| Edit { set: vec![(name, value.into())], ..Edit::default() };
    let add = |name: &'static str, value: &str| Edit { add: vec![(name, value.into())], ..Edit::default() };
    let refused = "Refused with 400 Bad Request (another error status is NON-STRICT; a 101 or no answer FAILED).";
    let not_switched = "No 101: the request is not a WebSocket upgrade (any other answer is OK).";
    vec![
        case(
            "14.1",
            "4.2.1",
            "A request without Sec-WebSocket-Key.",
            refused,
            drop("Sec-WebSocket-Key"),
            refuse(&[400]),
        ),
        case(
            "14.2",
            "4.2.1",
            "A Sec-WebSocket-Key that is base64 of 15 bytes, not 16.",
            refused,
            set("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAA"),
            refuse(&[400]),
        ),
        case(
            "14.3",
            "4.2.1",
            "A Sec-WebSocket-Key that is not base64 at all.",
            refused,
            set("Sec-WebSocket-Key", "not a base64 key, 24 by!"),
            refuse(&[400]),
        ),
        case(
            "14.4",
            "4.4",
            "Sec-WebSocket-Version: 8 (a draft's version).",
            "Refused with 426 Upgrade Required and Sec-WebSocket-Version: 13 (another error status with the header \
             is NON-STRICT; no header, a 101 or no answer FAILED).",
            set("Sec-WebSocket-Version", "8"),
            Judge::RefuseWithVersion,
        ),
        case(
            "14.5",
            "4.2.1",
            "A request without Sec-WebSocket-Version.",
            "Refused with 400 or 426 (another error status is NON-STRICT; a 101 or no answer FAILED).",
            drop("Sec-WebSocket-Version"),
            refuse(&[400, 426]),
        ),
        case(
            "14.6",
            "4.1",
            "The upgrade request made with POST instead of GET.",
            "Refused with 405 Method Not Allowed or 400 (another error status is NON-STRICT; a 101 or no answer \
             FAILED).",
            Edit { method: Some("POST"), add: vec![("Content-Length", "0".into())], ..Edit::default() },
            refuse(&[405, 400]),
        ),
        case(
            "14.7",
            "4.1",
            "The upgrade request as HTTP/1.0 (which cannot upgrade: RFC 7230 section 6.7).",
            "Refused with 400, 426 or 505 (another error status is NON-STRICT; a 101 or no answer FAILED).",
            Edit { http10: true, ..Edit::default() },
            refuse(&[400, 426, 505]),
        ),
        case(
            "14.8",
            "4.2.1",
            "A request without an Upgrade header.",
            not_switched,
            drop("Upgrade"),
            Judge::NotAnUpgrade,
        ),
        case(
            "14.9",
            "4.2.1",
            "Upgrade: h2c instead of websocket.",
            not_switched,
            set("Upgrade", "h2c"),
            Judge::NotAnUpgrade,
        ),
        case(
            "14.10",
            "4.2.1",
            "Connection: keep-alive, without the Upgrade token.",
            not_switched,
            set("Connection", "keep-alive"),
            Judge::NotAnUpgrade,
        ),
        case(
            "14.11",
            "11.3.1",
            "Two Sec-WebSocket-Key headers with different keys.",
            refused,
            add("Sec-WebSocket-Key", OTHER_KEY),
            refuse(&[400]),
        ),
        case(
            "14.12",
            "4.1",
            "Two Host headers (RFC 7230 section 5.4: a server MUST answer 400).",
            refused,
            add("Host", "wscope.invalid"),
            refuse(&[400]),
        ),
        case(
            "14.13",
            "4.1",
            "A request without a Host header (RFC 7230 section 5.4).",
            refused,
            drop("Host"),
            refuse(&[400]),
        ),
        case(
            "14.14",
            "4.2.1",
            "A valid request written as some clients write it: header names in lower case, Upgrade: WebSocket, \
             Connection: keep-alive, Upgrade.",
            "A valid 101 (the names and tokens are case-insensitive, Connection is a list); anything else FAILED.",
            Edit {
                lowercase_names: true,
                set: vec![("upgrade", "WebSocket".into()), ("connection", "keep-alive, Upgrade".into())],
                ..Edit::default()
            },
            Judge::Accept,
        ),
        case(
            "14.15",
            "9.1",
            "An offer of an extension no server knows (x-wscope-unknown; a=1).",
            "A 101 without it (declined); refusing the handshake is NON-STRICT; accepting it FAILED.",
            Edit { extensions: Some("x-wscope-unknown; a=1".into()), ..Edit::default() },
            Judge::Decline,
        ),
        case(
            "14.16",
            "RFC 7692 5",
            "An offer of permessage-deflate with a parameter RFC 7692 does not define (x-wscope-unknown=1).",
            "A 101 without permessage-deflate (RFC 7692 section 5: the server MUST decline the offer); refusing \
             the handshake is NON-STRICT; accepting the offer FAILED.",
            Edit { extensions: Some("permessage-deflate; x-wscope-unknown=1".into()), ..Edit::default() },
            Judge::Decline,
        ),
        case(
            "14.17",
            "4.2.2",
            "An offer of one subprotocol no server knows (x-wscope-unknown).",
            "A 101 without a subprotocol (the server selects one it supports, or none); refusing the handshake or \
             choosing the unknown one back is NON-STRICT; any other subprotocol FAILED.",
            Edit { protocols: Some(vec!["x-wscope-unknown".into()]), ..Edit::default() },
            Judge::Decline,
        ),
        case(
            "14.18",
            "10.4",
            "A request head with a 1 MiB header (X-Wscope-Padding).",
            "Refused with 431 Request Header Fields Too Large (RFC 6585); any other refusal, or accepting it, is \
             NON-STRICT; no answer in time FAILED.",
            Edit { pad: OVERSIZED_HEAD, ..Edit::default() },
            Judge::HeadLimit,
        ),
    ]
}
