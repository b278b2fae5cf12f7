//! Groups 3 and 4 (Autobahn 3.* and 4.*): reserved bits and reserved
//! opcodes. Without an extension that defines them, a set RSV bit and an
//! opcode of 3-7 or 11-15 fail the connection with 1002 (section 5.2). When
//! a valid message comes first, echoing it before failing is what the RFC
//! asks (OK); failing at once, having read both, is allowed (NON-STRICT).

use crate::case::{Action, Case, CloseExpectation, Rule, Seen};
use crate::verdict::Verdict;
use std::time::Duration;

const HELLO: &[u8] = b"Hello, world!";
const BINARY: &[u8] = b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff";

fn frame(opcode: u8, rsv: u8, payload: &[u8], chop: Option<usize>) -> Action {
    Action::Frame { fin: true, rsv, opcode, payload: payload.to_vec(), chop }
}

/// A case the server must fail with 1002; `after_hello`: a valid text
/// message comes first (and a ping after the bad frame, which must not be
/// answered).
fn fails(id: &str, description: String, bad: Action, after_hello: Option<Option<usize>>) -> Case {
    let (actions, expected, expectation) = match after_hello {
        None => (vec![bad], vec![(Verdict::Ok, Vec::new())], "The server fails the connection with 1002."),
        Some(chop) => (
            vec![frame(1, 0, HELLO, chop), bad, frame(9, 0, b"", chop)],
            vec![(Verdict::Ok, vec![Seen::Text(HELLO.to_vec())]), (Verdict::NonStrict, Vec::new())],
            "The text message echoed, then the server fails the connection with 1002, the ping unanswered \
             (failing before the echo is NON-STRICT).",
        ),
    };
    Case {
        id: id.into(),
        description,
        expectation: expectation.into(),
        actions,
        expected,
        close: CloseExpectation::server_fails(1002),
        time_limit: Duration::from_secs(2),
        rule: Rule::Plain,
        offer: None,
        own: None,
    }
}

pub(super) fn cases() -> Vec<Case> {
    let bytewise = Some(Some(1));
    let mut all = vec![
        fails("3.1", "Send a small text message with RSV1 = 1 (bits 001).".into(), frame(1, 1, HELLO, None), None),
        fails(
            "3.2",
            "Send a small text message, then one with RSV = 2, then a ping.".into(),
            frame(1, 2, HELLO, None),
            Some(None),
        ),
        fails(
            "3.3",
            "Send a small text message, then one with RSV = 3, then a ping, each written on its own.".into(),
            frame(1, 3, HELLO, None),
            Some(None),
        ),
        fails(
            "3.4",
            "Send a small text message, then one with RSV = 4, then a ping, written one byte at a time.".into(),
            frame(1, 4, HELLO, Some(1)),
            bytewise,
        ),
        fails("3.5", "Send a small binary message with RSV = 5.".into(), frame(2, 5, BINARY, None), None),
        fails("3.6", "Send a small ping with RSV = 6.".into(), frame(9, 6, HELLO, None), None),
        fails("3.7", "Send a close frame with RSV = 7.".into(), frame(8, 7, b"", None), None),
    ];
    // 4.1: reserved data opcodes 3-7; 4.2: reserved control opcodes 11-15.
    for (group, first) in [(1u8, 3u8), (2, 11)] {
        let kind = if group == 1 { "data" } else { "control" };
        let op = |i: u8| first.saturating_add(i);
        all.push(fails(
            &format!("4.{group}.1"),
            format!("Send a frame with reserved {kind} opcode {}.", op(0)),
            frame(op(0), 0, b"", None),
            None,
        ));
        all.push(fails(
            &format!("4.{group}.2"),
            format!("Send a frame with reserved {kind} opcode {} and a payload.", op(1)),
            frame(op(1), 0, b"reserved opcode payload", None),
            None,
        ));
        all.push(fails(
            &format!("4.{group}.3"),
            format!("Send a small text message, then a frame with reserved {kind} opcode {}, then a ping.", op(2)),
            frame(op(2), 0, b"", None),
            Some(None),
        ));
        all.push(fails(
            &format!("4.{group}.4"),
            format!(
                "Send a small text message, then a frame with reserved {kind} opcode {} and a payload, then a ping.",
                op(3)
            ),
            frame(op(3), 0, HELLO, None),
            Some(None),
        ));
        all.push(fails(
            &format!("4.{group}.5"),
            format!(
                "Send a small text message, then a frame with reserved {kind} opcode {} and a payload, then a ping, \
                 written one byte at a time.",
                op(4)
            ),
            frame(op(4), 0, HELLO, Some(1)),
            bytewise,
        ));
    }
    all
}
