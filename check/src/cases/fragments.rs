//! Group 5, fragmentation (Autobahn 5.*): a fragmented message is echoed
//! whole, control frames may come between its fragments and are answered
//! at once (section 5.4); a fragmented control frame, a continuation with
//! nothing to continue, or a new data frame inside a message fails the
//! connection with 1002.

use crate::case::{Action, Case, CloseExpectation, Rule, Seen};
use crate::verdict::Verdict;
use std::time::Duration;

const TEXT: u8 = 1;
const CONT: u8 = 0;
const PING: u8 = 9;
const PONG: u8 = 10;

fn f(opcode: u8, fin: bool, payload: &str, chop: Option<usize>) -> Action {
    Action::Frame { fin, rsv: 0, opcode, payload: payload.as_bytes().to_vec(), chop }
}

fn case(id: &str, description: &str, actions: Vec<Action>, expected: Vec<(Verdict, Vec<Seen>)>, ok: bool) -> Case {
    let (expectation, close) = if ok {
        ("Echoed as described. Clean close with 1000.", CloseExpectation::normal())
    } else {
        ("The server fails the connection with 1002 (section 5.4).", CloseExpectation::server_fails(1002))
    };
    Case {
        id: id.into(),
        description: description.into(),
        expectation: expectation.into(),
        actions,
        expected,
        close,
        time_limit: Duration::from_secs(3),
        rule: Rule::Plain,
        offer: None,
        own: None,
    }
}

fn text(s: &str) -> Seen {
    Seen::Text(s.as_bytes().to_vec())
}

fn pong(s: &str) -> Seen {
    Seen::Pong(s.as_bytes().to_vec())
}

pub(super) fn cases() -> Vec<Case> {
    let fails = |v: Vec<Seen>| vec![(Verdict::Ok, v)];
    let one = None;
    let byte = Some(1);
    let mut all = vec![
        case(
            "5.1",
            "Send a ping fragmented into 2 fragments.",
            vec![f(PING, false, "fragment1", one), f(CONT, true, "fragment2", one)],
            fails(vec![]),
            false,
        ),
        case(
            "5.2",
            "Send a pong fragmented into 2 fragments.",
            vec![f(PONG, false, "fragment1", one), f(CONT, true, "fragment2", one)],
            fails(vec![]),
            false,
        ),
    ];
    // 5.3-5.5: a text message in 2 fragments; 5.6-5.8: with a ping between.
    for (id, chop, how) in [
        ("5.3", one, ""),
        ("5.4", one, ", each frame written on its own"),
        ("5.5", byte, ", written one byte at a time"),
    ] {
        all.push(case(
            id,
            &format!("Send a text message fragmented into 2 fragments{how}."),
            vec![f(TEXT, false, "fragment1", chop), f(CONT, true, "fragment2", chop)],
            vec![(Verdict::Ok, vec![text("fragment1fragment2")])],
            true,
        ));
    }
    for (id, chop, how) in [
        ("5.6", one, ""),
        ("5.7", one, ", each frame written on its own"),
        ("5.8", byte, ", written one byte at a time"),
    ] {
        all.push(case(
            id,
            &format!("Send a text message fragmented into 2 fragments, a ping with a payload between them{how}."),
            vec![
                f(TEXT, false, "fragment1", chop),
                f(PING, true, "ping payload", chop),
                f(CONT, true, "fragment2", chop),
            ],
            vec![(Verdict::Ok, vec![pong("ping payload"), text("fragment1fragment2")])],
            true,
        ));
    }
    // 5.9-5.14: a continuation with nothing to continue, then a text message.
    for (n, fin) in [(9u32, true), (12, false)] {
        for (k, chop, how) in
            [(0, one, "in one write"), (1, one, "each frame written on its own"), (2, byte, "one byte at a time")]
        {
            all.push(case(
                &format!("5.{}", n.saturating_add(k)),
                &format!("Send a continuation frame with FIN = {fin} where there is nothing to continue, then a text message, {how}."),
                vec![f(CONT, fin, "non-continuation payload", chop), f(TEXT, true, "Hello, world!", chop)],
                fails(vec![]),
                false,
            ));
        }
    }
    all.push(case(
        "5.15",
        "Send a text message in 2 fragments, then a continuation with FIN = false where there is nothing to continue, then a text message.",
        vec![f(TEXT, false, "fragment1", one), f(CONT, true, "fragment2", one), f(CONT, false, "fragment3", one), f(TEXT, true, "fragment4", one)],
        vec![(Verdict::Ok, vec![text("fragment1fragment2")]), (Verdict::NonStrict, vec![])],
        false,
    ));
    for (id, fin) in [("5.16", false), ("5.17", true)] {
        let round = [f(CONT, fin, "fragment1", one), f(TEXT, false, "fragment2", one), f(CONT, true, "fragment3", one)];
        all.push(case(
            id,
            &format!("Twice: a continuation with FIN = {fin} where there is nothing to continue, then a text message in 2 fragments."),
            round.iter().chain(round.iter()).cloned().collect(),
            fails(vec![]),
            false,
        ));
    }
    all.push(case(
        "5.18",
        "Send a text message in 2 fragments, both with the text opcode.",
        vec![f(TEXT, false, "fragment1", one), f(TEXT, true, "fragment2", one)],
        fails(vec![]),
        false,
    ));
    for (id, how) in [("5.19", ""), ("5.20", ", each frame written on its own")] {
        all.push(case(
            id,
            &format!(
                "Send a text message in 5 fragments: 2, a ping, a pause of 1 s, 2 more, another ping, the last{how}."
            ),
            vec![
                f(TEXT, false, "fragment1", one),
                f(CONT, false, "fragment2", one),
                f(PING, true, "pongme 1!", one),
                Action::Pause(Duration::from_secs(1)),
                f(CONT, false, "fragment3", one),
                f(CONT, false, "fragment4", one),
                f(PING, true, "pongme 2!", one),
                f(CONT, true, "fragment5", one),
            ],
            vec![(
                Verdict::Ok,
                vec![pong("pongme 1!"), pong("pongme 2!"), text("fragment1fragment2fragment3fragment4fragment5")],
            )],
            true,
        ));
    }
    all.sort_by_key(|c| c.id.split('.').map(|n| n.parse::<u32>().unwrap_or(0)).collect::<Vec<_>>());
    all
}
