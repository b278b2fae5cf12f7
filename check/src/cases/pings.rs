//! Group 2, pings and pongs (Autobahn 2.*): a ping is answered with a pong
//! carrying the same payload (section 5.5.2, 5.5.3), a control payload over
//! 125 bytes fails the connection (section 5.5), an unsolicited pong needs
//! no answer.

use crate::case::{Action, Case, CloseExpectation, Rule, Seen};
use crate::verdict::Verdict;
use std::time::Duration;

const PING: u8 = 9;
const PONG: u8 = 10;

fn case(id: &str, description: &str, expectation: &str, actions: Vec<Action>, pongs: Vec<Vec<u8>>) -> Case {
    Case {
        id: id.into(),
        description: description.into(),
        expectation: expectation.into(),
        actions,
        expected: vec![(Verdict::Ok, pongs.into_iter().map(Seen::Pong).collect())],
        close: CloseExpectation::normal(),
        time_limit: Duration::from_secs(2),
        rule: Rule::Plain,
        offer: None,
        own: None,
    }
}

fn ping(payload: &[u8], chop: Option<usize>) -> Action {
    Action::Frame { fin: true, rsv: 0, opcode: PING, payload: payload.to_vec(), chop }
}

pub(super) fn cases() -> Vec<Case> {
    let answered = "A pong with the ping's payload. Clean close with 1000.";
    let binary = b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff";
    let mut all = vec![
        case("2.1", "Send a ping without payload.", answered, vec![ping(b"", None)], vec![Vec::new()]),
        case(
            "2.2",
            "Send a ping with a small text payload.",
            answered,
            vec![ping(b"Hello, world!", None)],
            vec![b"Hello, world!".to_vec()],
        ),
        case(
            "2.3",
            "Send a ping with a small binary (not UTF-8) payload.",
            answered,
            vec![ping(binary, None)],
            vec![binary.to_vec()],
        ),
        case(
            "2.4",
            "Send a ping with a binary payload of 125 bytes.",
            answered,
            vec![ping(&[0xfe; 125], None)],
            vec![vec![0xfe; 125]],
        ),
        Case {
            id: "2.5".into(),
            description: "Send a ping with a binary payload of 126 bytes (over the control frame limit).".into(),
            expectation: "The server fails the connection with 1002 (section 5.5).".into(),
            actions: vec![ping(&[0xfe; 126], None)],
            expected: vec![(Verdict::Ok, Vec::new())],
            close: CloseExpectation::server_fails(1002),
            time_limit: Duration::from_secs(2),
            rule: Rule::Plain,
            offer: None,
            own: None,
        },
        case(
            "2.6",
            "Send a ping with a binary payload of 125 bytes, written one byte at a time.",
            answered,
            vec![ping(&[0xfe; 125], Some(1))],
            vec![vec![0xfe; 125]],
        ),
        case(
            "2.7",
            "Send an unsolicited pong without payload, then close.",
            "Nothing received. Clean close with 1000.",
            vec![Action::frame(PONG, Vec::new()), Action::Close(Some(1000))],
            Vec::new(),
        ),
        case(
            "2.8",
            "Send an unsolicited pong with a payload, then close.",
            "Nothing received. Clean close with 1000.",
            vec![Action::frame(PONG, b"unsolicited pong payload".to_vec()), Action::Close(Some(1000))],
            Vec::new(),
        ),
        case(
            "2.9",
            "Send an unsolicited pong with a payload, then a ping with a payload.",
            "A pong for the ping only. Clean close with 1000.",
            vec![Action::frame(PONG, b"unsolicited pong payload".to_vec()), ping(b"ping payload", None)],
            vec![b"ping payload".to_vec()],
        ),
    ];
    for (id, chop, how) in [("2.10", None, ""), ("2.11", Some(1), ", each written one byte at a time")] {
        let payloads: Vec<Vec<u8>> = (0..10).map(|i| format!("payload-{i}").into_bytes()).collect();
        all.push(case(
            id,
            &format!("Send 10 pings with payloads{how}."),
            "10 pongs, in order, each with its ping's payload. Clean close with 1000.",
            payloads.iter().map(|p| ping(p, chop)).collect(),
            payloads,
        ));
    }
    all
}
