//! Group 6, UTF-8 handling (Autobahn 6.*): text messages are valid UTF-8
//! (section 5.6); a server fails the connection with 1007 on invalid text
//! (section 8.1), as soon as it can tell (the fail-fast cases 6.4.*: an
//! endpoint that waits for the end of the message is NON-STRICT); valid
//! text is echoed, whatever its fragmentation. 6.5-6.23 are Markus Kuhn's
//! UTF-8 decoder test vectors, one text message each.

use crate::case::{Action, Case, CloseExpectation, Rule, Seen};
use crate::verdict::Verdict;
use std::time::Duration;

const TEXT: u8 = 1;
const CONT: u8 = 0;

fn frame(opcode: u8, fin: bool, payload: &[u8]) -> Action {
    Action::Frame { fin, rsv: 0, opcode, payload: payload.to_vec(), chop: None }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The server fails the connection with 1007; a close from the client
/// side means it did not notice.
fn fails_1007() -> CloseExpectation {
    CloseExpectation { wrong_endpoint_fatal: true, ..CloseExpectation::server_fails(1007) }
}

fn echoed(id: &str, description: String, actions: Vec<Action>, message: &[u8]) -> Case {
    Case {
        id: id.into(),
        description,
        expectation: "The message echoed. Clean close with 1000.".into(),
        actions,
        expected: vec![(Verdict::Ok, vec![Seen::Text(message.to_vec())])],
        close: CloseExpectation::normal(),
        time_limit: Duration::from_secs(2),
        rule: Rule::Plain,
        offer: None,
        own: None,
    }
}

fn refused(id: &str, description: String, actions: Vec<Action>) -> Case {
    Case {
        id: id.into(),
        description,
        expectation: "The server fails the connection with 1007 (section 8.1): the text is not valid UTF-8.".into(),
        actions,
        expected: vec![(Verdict::Ok, Vec::new())],
        close: fails_1007(),
        time_limit: Duration::from_secs(2),
        rule: Rule::Plain,
        offer: None,
        own: None,
    }
}

/// Whole text, one frame per byte.
fn bytewise(payload: &[u8]) -> Vec<Action> {
    let last = payload.len().saturating_sub(1);
    (0..).zip(payload).map(|(i, b)| frame(if i == 0 { TEXT } else { CONT }, i == last, &[*b])).collect()
}

pub(super) fn cases() -> Vec<Case> {
    let mut all = vec![
        echoed("6.1.1", "Send a text message of length 0.".into(), vec![frame(TEXT, true, b"")], b""),
        echoed(
            "6.1.2",
            "Send a fragmented text message: 3 fragments, each of length 0.".into(),
            vec![frame(TEXT, false, b""), frame(CONT, false, b""), frame(CONT, true, b"")],
            b"",
        ),
        echoed(
            "6.1.3",
            "Send a fragmented text message: 3 fragments, the first and last of length 0, the middle not.".into(),
            vec![frame(TEXT, false, b""), frame(CONT, false, b"middle frame payload"), frame(CONT, true, b"")],
            b"middle frame payload",
        ),
    ];
    let hello = "Hello-µ@ßöäüàá-UTF-8!!".as_bytes();
    let kosme: &[u8] = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"; // κόσμε, with U+1F79
    let (h1, h2) = hello.split_at("Hello-µ@ßöä".len());
    all.push(echoed(
        "6.2.1",
        format!("Send a valid UTF-8 text message in one fragment: {}.", hex(hello)),
        vec![frame(TEXT, true, hello)],
        hello,
    ));
    all.push(echoed(
        "6.2.2",
        format!(
            "Send a valid UTF-8 text message in two fragments, split at a code point boundary: {} | {}.",
            hex(h1),
            hex(h2)
        ),
        vec![frame(TEXT, false, h1), frame(CONT, true, h2)],
        hello,
    ));
    for (id, text) in [("6.2.3", hello), ("6.2.4", kosme)] {
        all.push(echoed(
            id,
            format!(
                "Send a valid UTF-8 text message in fragments of 1 byte, most ending inside a code point: {}.",
                hex(text)
            ),
            bytewise(text),
            text,
        ));
    }
    // κόσμε, a UTF-16 surrogate (ED A0 80, invalid at its second byte), "edited".
    let bad = [kosme, b"\xed\xa0\x80", b"edited"].concat();
    all.push(refused(
        "6.3.1",
        format!("Send invalid UTF-8 text in one frame: {}.", hex(&bad)),
        vec![frame(TEXT, true, &bad)],
    ));
    all.push(refused(
        "6.3.2",
        format!("Send invalid UTF-8 text in fragments of 1 byte: {}.", hex(&bad)),
        bytewise(&bad),
    ));
    all.extend(fail_fast(kosme));
    all.extend(kuhn());
    all
}

/// 6.4.*: valid text, a pause, the part that makes it invalid, a pause, the
/// rest. A server that fails at the second part is OK; one that waits for
/// the end of the message is NON-STRICT.
fn fail_fast(kosme: &[u8]) -> Vec<Case> {
    // F4 90 80 80 would be U+110000, past Unicode's end: invalid at 0x90.
    let parts: [&[u8]; 3] = [kosme, b"\xf4\x90\x80\x80", b"edited"];
    let whole = parts.concat();
    let at = kosme.len().saturating_add(1);
    let (upto, rest) = whole.split_at(at);
    let (byte, tail) = rest.split_at(1);
    let pause = || Action::Pause(Duration::from_secs(1));
    let expected =
        vec![(Verdict::Ok, vec![Seen::Mark('A')]), (Verdict::NonStrict, vec![Seen::Mark('A'), Seen::Mark('B')])];
    let case = |id: &str, description: String, actions: Vec<Action>| Case {
        id: id.into(),
        description,
        expectation: "The server fails the connection with 1007 when the invalid part arrives (OK), or at the \
                      latest at the end of the message (NON-STRICT)."
            .into(),
        actions,
        expected: expected.clone(),
        close: fails_1007(),
        time_limit: Duration::from_secs(4),
        rule: Rule::Plain,
        offer: None,
        own: None,
    };
    let frames = |a: &[u8], b: &[u8], c: &[u8]| {
        vec![
            frame(TEXT, false, a),
            pause(),
            Action::Mark('A'),
            frame(CONT, false, b),
            pause(),
            Action::Mark('B'),
            frame(CONT, true, c),
            pause(),
        ]
    };
    let chops = |a: usize, b: usize| {
        vec![
            Action::Held { frame: Box::new(frame(TEXT, true, &whole)), first: a },
            pause(),
            Action::Mark('A'),
            Action::More(Some(b)),
            pause(),
            Action::Mark('B'),
            Action::More(None),
            pause(),
        ]
    };
    let [p1, p2, p3] = parts;
    vec![
        case(
            "6.4.1",
            format!("Send invalid text in 3 frames, pausing 1 s between: {} | {} | {}.", hex(p1), hex(p2), hex(p3)),
            frames(p1, p2, p3),
        ),
        case(
            "6.4.2",
            format!(
                "As 6.4.1, the second frame only the byte that makes it invalid: {} | {} | {}.",
                hex(upto),
                hex(byte),
                hex(tail)
            ),
            frames(upto, byte, tail),
        ),
        case(
            "6.4.3",
            format!("As 6.4.1, but one frame written in 3 parts: {} | {} | {}.", hex(p1), hex(p2), hex(p3)),
            chops(p1.len(), p2.len()),
        ),
        case(
            "6.4.4",
            format!("As 6.4.2, but one frame written in 3 parts: {} | {} | {}.", hex(upto), hex(byte), hex(tail)),
            chops(upto.len(), 1),
        ),
    ]
}

/// 6.5-6.23: Markus Kuhn's UTF-8 decoder tests, in Autobahn's order; each
/// payload is valid or not as the standard (RFC 3629) says.
fn kuhn() -> Vec<Case> {
    let mut all = Vec::new();
    for (group, (title, payloads)) in (5..).zip(kuhn_vectors()) {
        for (n, payload) in (1..).zip(payloads) {
            let id = format!("6.{group}.{n}");
            if std::str::from_utf8(&payload).is_ok() {
                let d = format!("{title}: a text message of valid UTF-8 in one frame: {}.", hex(&payload));
                all.push(echoed(&id, d, vec![frame(TEXT, true, &payload)], &payload));
            } else {
                let d = format!("{title}: a text message of invalid UTF-8 in one frame: {}.", hex(&payload));
                all.push(refused(&id, d, vec![frame(TEXT, true, &payload)]));
            }
        }
    }
    all
}

fn kuhn_vectors() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    let v = |list: &[&[u8]]| list.iter().map(|b| b.to_vec()).collect::<Vec<_>>();
    let kosme: &[u8] = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"; // κόσμε, with U+1F79
    let range = |lo: u8, hi: u8| (lo..hi).collect::<Vec<u8>>();
    let lonely = |lo: u8, hi: u8| (lo..hi).flat_map(|b| [b, b' ']).collect::<Vec<u8>>();
    let incomplete: [&[u8]; 10] = [
        b"\xc0",
        b"\xe0\x80",
        b"\xf0\x80\x80",
        b"\xf8\x80\x80\x80",
        b"\xfc\x80\x80\x80\x80",
        b"\xdf",
        b"\xef\xbf",
        b"\xf7\xbf\xbf",
        b"\xfb\xbf\xbf\xbf",
        b"\xfd\xbf\xbf\xbf\xbf",
    ];
    let surrogates: [&[u8]; 7] = [
        b"\xed\xa0\x80",
        b"\xed\xad\xbf",
        b"\xed\xae\x80",
        b"\xed\xaf\xbf",
        b"\xed\xb0\x80",
        b"\xed\xbe\x80",
        b"\xed\xbf\xbf",
    ];
    let mut paired = Vec::new();
    for high in surrogates.get(..4).unwrap_or_default() {
        for low in [b"\xed\xb0\x80", b"\xed\xbf\xbf"] {
            paired.push([*high, low.as_slice()].concat());
        }
    }
    // Non-characters: EF BF BE-BF, and F0-F4 x BF BE-BF where x ends in F
    // (only 8F after F4, none overlong).
    let mut nonchars = v(&[b"\xef\xbf\xbe", b"\xef\xbf\xbf"]);
    for z1 in 0xf0u8..=0xf4 {
        for z2 in [0x8fu8, 0x9f, 0xaf, 0xbf] {
            if z1 == 0xf4 && z2 != 0x8f {
                continue;
            }
            for z3 in [0xbeu8, 0xbf] {
                if z1 == 0xf0 && z2 == 0x8f {
                    continue;
                }
                nonchars.push(vec![z1, z2, 0xbf, z3]);
            }
        }
    }
    vec![
        (
            "Some valid UTF-8 sequences",
            v(&[
                b"hello$world",
                b"hello\xc2\xa2world",
                b"hello\xe2\x82\xacworld",
                b"hello\xf0\xa4\xad\xa2world",
                kosme,
            ]),
        ),
        (
            "All prefixes of a valid UTF-8 string with multi-byte code points",
            (1..=kosme.len()).map(|i| kosme.get(..i).unwrap_or_default().to_vec()).collect(),
        ),
        (
            "First possible sequence of a certain length",
            v(&[b"\x00", b"\xc2\x80", b"\xe0\xa0\x80", b"\xf0\x90\x80\x80"]),
        ),
        (
            "First possible sequence of length 5 and 6 (invalid code points)",
            v(&[b"\xf8\x88\x80\x80\x80", b"\xfc\x84\x80\x80\x80\x80"]),
        ),
        (
            "Last possible sequence of a certain length",
            v(&[b"\x7f", b"\xdf\xbf", b"\xef\xbf\xbf", b"\xf4\x8f\xbf\xbf"]),
        ),
        (
            "Last possible sequence of length 4, 5 and 6 (invalid code points)",
            v(&[b"\xf7\xbf\xbf\xbf", b"\xfb\xbf\xbf\xbf\xbf", b"\xfd\xbf\xbf\xbf\xbf\xbf"]),
        ),
        (
            "Other boundary conditions",
            v(&[b"\xed\x9f\xbf", b"\xee\x80\x80", b"\xef\xbf\xbd", b"\xf4\x8f\xbf\xbf", b"\xf4\x90\x80\x80"]),
        ),
        (
            "Unexpected continuation bytes",
            [
                v(&[
                    b"\x80",
                    b"\xbf",
                    b"\x80\xbf",
                    b"\x80\xbf\x80",
                    b"\x80\xbf\x80\xbf",
                    b"\x80\xbf\x80\xbf\x80",
                    b"\x80\xbf\x80\xbf\x80\xbf",
                ]),
                vec![range(0x80, 0xbf)],
            ]
            .concat(),
        ),
        (
            "Lonely start characters",
            vec![lonely(0xc0, 0xdf), lonely(0xe0, 0xef), lonely(0xf0, 0xf7), lonely(0xf8, 0xfb), lonely(0xfc, 0xfd)],
        ),
        ("Sequences with the last continuation byte missing", v(&incomplete)),
        ("Concatenation of incomplete sequences", vec![incomplete.concat()]),
        ("Impossible bytes", v(&[b"\xfe", b"\xff", b"\xfe\xfe\xff\xff"])),
        (
            "Overlong ASCII characters",
            v(&[
                b"\xc0\xaf",
                b"\xe0\x80\xaf",
                b"\xf0\x80\x80\xaf",
                b"\xf8\x80\x80\x80\xaf",
                b"\xfc\x80\x80\x80\x80\xaf",
            ]),
        ),
        (
            "Maximum overlong sequences",
            v(&[
                b"\xc1\xbf",
                b"\xe0\x9f\xbf",
                b"\xf0\x8f\xbf\xbf",
                b"\xf8\x87\xbf\xbf\xbf",
                b"\xfc\x83\xbf\xbf\xbf\xbf",
            ]),
        ),
        (
            "Overlong forms of NUL",
            v(&[
                b"\xc0\x80",
                b"\xe0\x80\x80",
                b"\xf0\x80\x80\x80",
                b"\xf8\x80\x80\x80\x80",
                b"\xfc\x80\x80\x80\x80\x80",
            ]),
        ),
        ("Single UTF-16 surrogates", v(&surrogates)),
        ("Paired UTF-16 surrogates", paired),
        ("Non-characters (valid UTF-8)", nonchars),
        (
            "Unicode specials",
            v(&[
                b"\xef\xbf\xb9",
                b"\xef\xbf\xba",
                b"\xef\xbf\xbb",
                b"\xef\xbf\xbc",
                b"\xef\xbf\xbd",
                b"\xef\xbf\xbe",
                b"\xef\xbf\xbf",
            ]),
        ),
    ]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn group_six_has_autobahns_shape() {
        let all = cases();
        assert_eq!(all.len(), 145);
        let count = |prefix: &str| all.iter().filter(|c| c.id.starts_with(prefix)).count();
        assert_eq!((count("6.6."), count("6.14."), count("6.22."), count("6.23.")), (11, 10, 34, 7));
        // The validity of every Kuhn vector is what UTF-8 says, not a flag:
        // 70 echoed, 75 refused, as in Autobahn's list.
        let valid = all.iter().filter(|c| c.close.closed_by_client).count();
        let invalid = all.iter().filter(|c| c.close.wrong_endpoint_fatal).count();
        assert_eq!((valid, invalid), (70, 75));
    }
}
