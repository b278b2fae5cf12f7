//! wscope's own client cases (`wscope-check --serve` only): 18, the
//! opening handshake as a client must check it (section 4.1: a 101 the
//! client MUST refuse, and data right behind a good one); 19, frames a
//! client must refuse that Autobahn's cases never send it (a masked frame,
//! a close code no endpoint may send, a close reason cut inside a
//! character). Autobahn's 7.3.2 (a one-byte close payload) and 7.9.* (close
//! codes out of range) run against clients unchanged and are not repeated.

use super::own_case;
use crate::case::{Action, Case, CloseExpectation, Rule, Seen};
use crate::own::{AnswerEdit, Judge, Opening, Own};
use crate::verdict::Verdict;
use std::time::Duration;

/// A 101 the client must refuse.
fn refuse(n: u32, section: &'static str, what: &str, edit: AnswerEdit) -> Case {
    Case {
        id: format!("18.{n}"),
        description: format!("Answer the client's request with {what}, then send a text message."),
        expectation: format!(
            "The client fails the connection (section {section}): it closes TCP and sends nothing, \
             not even a close frame."
        ),
        actions: Vec::new(),
        expected: vec![(Verdict::Ok, Vec::new())],
        close: CloseExpectation::server_fails(1002),
        time_limit: Duration::from_secs(5),
        rule: Rule::Plain,
        offer: None,
        own: Some(Own { section, opening: Opening::Answer(edit), judge: Judge::ClientRefuses, check_alive: false }),
    }
}

fn group_18() -> Vec<Case> {
    let mut cases = vec![
        refuse(
            1,
            "4.1",
            "a 101 whose Sec-WebSocket-Accept is not the key's",
            AnswerEdit {
                set: vec![("Sec-WebSocket-Accept", "dGhlIHNhbXBsZSBub25jZQ==".into())],
                ..AnswerEdit::default()
            },
        ),
        refuse(
            2,
            "4.1",
            "a 101 without Sec-WebSocket-Accept",
            AnswerEdit { drop: vec!["Sec-WebSocket-Accept"], ..AnswerEdit::default() },
        ),
        refuse(3, "4.1", "a 101 without Upgrade", AnswerEdit { drop: vec!["Upgrade"], ..AnswerEdit::default() }),
        refuse(
            4,
            "4.1",
            "a 101 with Upgrade: h2c",
            AnswerEdit { set: vec![("Upgrade", "h2c".into())], ..AnswerEdit::default() },
        ),
        refuse(
            5,
            "4.1",
            "a 101 without Connection: Upgrade",
            AnswerEdit { drop: vec!["Connection"], ..AnswerEdit::default() },
        ),
        refuse(
            6,
            "4.1",
            "200 OK with the other headers of a 101 (and Content-Length: 0, so the answer is complete)",
            AnswerEdit {
                status_line: Some("HTTP/1.1 200 OK"),
                add: vec![("Content-Length", "0".into())],
                ..AnswerEdit::default()
            },
        ),
        refuse(
            7,
            "4.1",
            "a 101 accepting an extension the client did not offer (x-wscope-unknown)",
            AnswerEdit { add: vec![("Sec-WebSocket-Extensions", "x-wscope-unknown".into())], ..AnswerEdit::default() },
        ),
        refuse(
            8,
            "4.1",
            "a 101 choosing a subprotocol the client did not offer (x-wscope-unknown)",
            AnswerEdit { add: vec![("Sec-WebSocket-Protocol", "x-wscope-unknown".into())], ..AnswerEdit::default() },
        ),
        refuse(
            9,
            "RFC 7692 7.1.2",
            "a permessage-deflate response the offer does not allow (client_max_window_bits=10 when the offer \
             has no client_max_window_bits, else server_max_window_bits=7)",
            AnswerEdit { deflate_not_offered: true, ..AnswerEdit::default() },
        ),
    ];
    cases.push(Case {
        id: "18.10".into(),
        description: "Answer with a valid 101 and a text message \"Hello\" in the same write.".into(),
        expectation: "The message echoed (section 4.2.2: the server may send data at once; what arrives with the \
                      101 is the connection's). Clean close with 1000."
            .into(),
        actions: Vec::new(),
        expected: vec![(Verdict::Ok, vec![Seen::Text(b"Hello".to_vec())])],
        close: CloseExpectation::normal(),
        time_limit: Duration::from_secs(5),
        rule: Rule::Plain,
        offer: None,
        own: Some(Own {
            section: "4.2.2",
            opening: Opening::Answer(AnswerEdit { frame_behind: true, ..AnswerEdit::default() }),
            judge: Judge::Accept,
            check_alive: false,
        }),
    });
    cases
}

fn group_19() -> Vec<Case> {
    let masked = Action::frame(1, b"Hello".to_vec()).encode(Some([0x37, 0xfa, 0x21, 0x3d]));
    let fails = |codes| Judge::Fails { codes, waiting: Verdict::Failed };
    let mut cases = vec![
        own_case(
            "19.1",
            "5.1",
            "Send a text message \"Hello\" in a masked frame.",
            "The client fails the connection with 1002: a client MUST close a connection on a masked frame.",
            vec![Action::Raw(masked)],
            fails(&[1002]),
        ),
        own_case(
            "19.2",
            "7.4.1",
            "Send a close frame with code 1015 (reserved for a TLS failure; no endpoint may send it).",
            "The client fails the connection with 1002.",
            vec![Action::CloseRaw(1015u16.to_be_bytes().to_vec())],
            fails(&[1002]),
        ),
        own_case(
            "19.3",
            "8.1",
            "Send a close frame with code 1000 and the reason 0xC3: a UTF-8 sequence cut after its first byte.",
            "The client fails the connection with 1007 (or 1002): the reason is not valid UTF-8.",
            vec![Action::CloseRaw(vec![0x03, 0xe8, 0xc3])],
            fails(&[1007, 1002]),
        ),
    ];
    for c in &mut cases {
        if let Some(own) = c.own.as_mut() {
            own.check_alive = false;
        }
    }
    cases
}

/// Groups 18 and 19.
pub(super) fn cases() -> Vec<Case> {
    let mut all = group_18();
    all.extend(group_19());
    all
}
