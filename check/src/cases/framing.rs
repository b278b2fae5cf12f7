//! Group 1, framing (Autobahn 1.1.* and 1.2.*): text and binary messages of
//! the lengths where the length encoding changes form (section 5.2: 125 in
//! 7 bits, 126 and 65535 in 16, 65536 in 64), each echoed whole; the last
//! of each written in pieces of 997 bytes.

use crate::case::{Action, Case, CloseExpectation, Rule, Seen};
use crate::verdict::Verdict;
use std::time::Duration;

const LENGTHS: [usize; 7] = [0, 125, 126, 127, 128, 65535, 65536];

pub(super) fn cases() -> Vec<Case> {
    let mut all = Vec::new();
    for (sub, (kind, opcode, byte)) in [(1, ("text", 1u8, b'*')), (2, ("binary", 2u8, 0xfe))] {
        let seen = |p: Vec<u8>| if opcode == 1 { Seen::Text(p) } else { Seen::Binary(p) };
        let mut add = |n: usize, len: usize, chop: Option<usize>| {
            let payload = vec![byte; len];
            let how = chop.map_or(String::new(), |c| format!(", written in pieces of {c} bytes"));
            all.push(Case {
                id: format!("1.{sub}.{n}"),
                description: format!("Send a {kind} message with a payload of {len} bytes{how}."),
                expectation: format!("The {kind} message echoed, payload as sent. Clean close with 1000."),
                actions: vec![Action::Frame { fin: true, rsv: 0, opcode, payload: payload.clone(), chop }],
                expected: vec![(Verdict::Ok, vec![seen(payload)])],
                close: CloseExpectation::normal(),
                time_limit: Duration::from_secs(if len > 1000 { 10 } else { 2 }),
                rule: Rule::Plain,
                offer: None,
                own: None,
            });
        };
        for (n, len) in (1..).zip(LENGTHS) {
            add(n, len, None);
        }
        add(8, 65536, Some(997));
    }
    all
}
