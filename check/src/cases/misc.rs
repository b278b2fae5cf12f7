//! Group 10, miscellaneous (Autobahn 10.*): a 64 KiB text message sent in
//! 1300-byte fragments is echoed whole.

use crate::case::{Action, Case, CloseExpectation, Rule, Seen};
use crate::verdict::Verdict;
use std::time::Duration;

pub(super) fn cases() -> Vec<Case> {
    let payload = vec![b'*'; 65536];
    let pieces: Vec<&[u8]> = payload.chunks(1300).collect();
    let last = pieces.len().saturating_sub(1);
    let actions = (0..).zip(&pieces).map(|(i, p)| Action::Frame {
        fin: i == last,
        rsv: 0,
        opcode: if i == 0 { 1 } else { 0 },
        payload: p.to_vec(),
        chop: None,
    });
    vec![Case {
        id: "10.1.1".into(),
        description: format!("Send a text message of 65536 bytes in {} fragments of at most 1300 bytes.", pieces.len()),
        expectation: "The message echoed whole. Clean close with 1000.".into(),
        actions: actions.collect(),
        expected: vec![(Verdict::Ok, vec![Seen::Text(payload.clone())])],
        close: CloseExpectation::normal(),
        time_limit: Duration::from_secs(10),
        rule: Rule::Plain,
        offer: None,
        own: None,
    }]
}
