//! Group 7, the closing handshake (Autobahn 7.*): nothing is answered after
//! a close (section 5.5.1), a close payload is empty or a code with an
//! optional UTF-8 reason (section 5.5.1), the codes of section 7.4 are
//! honoured and the others refused with 1002, and the server closes TCP
//! after the handshake. Here the close code is what is tested, so a wrong
//! one fails the case itself.

use crate::case::{Action, Case, CloseExpectation, Rule, Seen};
use crate::verdict::Verdict;
use std::time::Duration;

fn raw_close(code: u16, reason: &[u8]) -> Action {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason);
    Action::CloseRaw(payload)
}

fn text(s: &str) -> Action {
    Action::frame(1, s.as_bytes().to_vec())
}

/// A case where the client closes; `codes`: what the server's close may
/// carry; `clean`: both close frames required.
fn case(id: &str, description: &str, actions: Vec<Action>, seen: Vec<Seen>, codes: &[u16], clean: bool) -> Case {
    let expectation = if codes.first() == Some(&1000) {
        "Nothing after the close is answered; the server answers the close (normal closure) and closes TCP."
    } else {
        "The server fails the connection with the code the RFC names."
    };
    Case {
        id: id.into(),
        description: description.into(),
        expectation: expectation.into(),
        actions,
        expected: vec![(Verdict::Ok, seen)],
        close: CloseExpectation {
            closed_by_client: true,
            codes: codes.to_vec(),
            require_clean: clean,
            wrong_endpoint_fatal: false,
        },
        time_limit: Duration::from_secs(2),
        rule: Rule::WrongCodeFails,
        offer: None,
        own: None,
    }
}

pub(super) fn cases() -> Vec<Case> {
    let hello = "Hello World!";
    let close = || Action::Close(Some(1000));
    let normal = &[1000];
    let mut all = vec![
        case(
            "7.1.1",
            "Send a text message, then a close frame.",
            vec![text(hello)],
            vec![Seen::Text(hello.into())],
            normal,
            true,
        ),
        case("7.1.2", "Send two close frames.", vec![close(), close()], vec![], normal, true),
        case(
            "7.1.3",
            "Send a ping after a close frame.",
            vec![close(), Action::frame(9, hello.into())],
            vec![],
            normal,
            true,
        ),
        case("7.1.4", "Send a text message after a close frame.", vec![close(), text(hello)], vec![], normal, true),
        case(
            "7.1.5",
            "Send the first fragment of a message, a close frame, then the last fragment.",
            vec![
                Action::Frame { fin: false, rsv: 0, opcode: 1, payload: b"fragment1".to_vec(), chop: None },
                close(),
                Action::Frame { fin: true, rsv: 0, opcode: 0, payload: b"fragment2".to_vec(), chop: None },
            ],
            vec![],
            normal,
            true,
        ),
    ];
    // 7.1.6: whether the message is echoed before the close is the server's
    // choice (the RFC leaves the order open).
    let big: Vec<u8> = b"BAsd7&jh23".iter().copied().cycle().take(256 * 1024).collect();
    all.push(Case {
        id: "7.1.6".into(),
        description: "Send a 256 KiB text message, then a close frame, then a ping.".into(),
        expectation: "Undefined by the RFC: the message may be echoed before the close or not.".into(),
        actions: vec![Action::frame(1, big.clone()), close(), Action::frame(9, hello.into())],
        expected: vec![(Verdict::Ok, vec![Seen::Text(big)]), (Verdict::NonStrict, vec![])],
        close: CloseExpectation::normal(),
        time_limit: Duration::from_secs(2),
        rule: Rule::Informational,
        offer: None,
        own: None,
    });
    all.extend([
        case(
            "7.3.1",
            "Send a close frame with an empty payload (no code, no reason).",
            vec![Action::CloseRaw(vec![])],
            vec![],
            normal,
            true,
        ),
        case(
            "7.3.2",
            "Send a close frame with a 1-byte payload.",
            vec![Action::CloseRaw(b"a".to_vec())],
            vec![],
            &[1002],
            false,
        ),
        case("7.3.3", "Send a close frame with a code (payload of 2 bytes).", vec![close()], vec![], normal, true),
        case(
            "7.3.4",
            "Send a close frame with a code and a reason.",
            vec![raw_close(1000, hello.as_bytes())],
            vec![],
            normal,
            true,
        ),
        case(
            "7.3.5",
            "Send a close frame with a code and a reason of 123 bytes (the most).",
            vec![raw_close(1000, &[b'*'; 123])],
            vec![],
            normal,
            true,
        ),
        case(
            "7.3.6",
            "Send a close frame with a code and a reason of 124 bytes (a payload of 126: too long).",
            vec![raw_close(1000, &[b'*'; 124])],
            vec![],
            &[1002],
            false,
        ),
        case(
            "7.5.1",
            "Send a close frame whose reason is not valid UTF-8.",
            vec![raw_close(1000, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64")],
            vec![],
            &[1002, 1007],
            false,
        ),
    ]);
    for (n, code) in (1u32..).zip([1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999]) {
        all.push(case(
            &format!("7.7.{n}"),
            &format!("Send a close frame with the valid code {code}."),
            vec![raw_close(code, b"")],
            vec![],
            &[1000, code],
            true,
        ));
    }
    for (n, code) in (1u32..).zip([0u16, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999]) {
        all.push(case(
            &format!("7.9.{n}"),
            &format!("Send a close frame with the invalid code {code}."),
            vec![raw_close(code, b"")],
            vec![],
            &[1002],
            false,
        ));
    }
    for (n, code) in [(1u32, 5000u16), (2, 65535)] {
        let mut c = case(
            &format!("7.13.{n}"),
            &format!("Send a close frame with the code {code}, outside every range of section 7.4."),
            vec![raw_close(code, b"")],
            vec![],
            &[1000, code, 1002],
            false,
        );
        c.expectation = "Undefined by the RFC.".into();
        c.rule = Rule::Informational;
        all.push(c);
    }
    all
}
