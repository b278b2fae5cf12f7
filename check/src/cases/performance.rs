//! Group 9, limits and performance (Autobahn 9.*): big messages (64 KiB to
//! 16 MiB) echoed whole, in one frame, in fragments of 64 B to 4 MiB, or
//! written in chops of 64 B to 2 KiB; then 1000 round trips of small
//! messages one at a time. The verdict is on the echo (every byte
//! compared, where Autobahn compares lengths only); the time is the
//! figure. These cases always run alone.

use crate::case::{Action, Case, CloseExpectation, Echoes, Rule, Seen, Source};
use crate::verdict::Verdict;
use std::time::Duration;

const TEXT: &[u8] = b"BAsd7&jh23";
const BINARY: &[u8] = b"\x00\xfe\x23\xfa\xf0";
const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

struct Spec {
    text: bool,
    source: &'static [u8],
    len: usize,
    count: usize,
    max_frame: usize,
    chop: Option<usize>,
    secs: u64,
}

fn case(id: String, description: String, s: Spec) -> Case {
    let kind = if s.text { "text" } else { "binary" };
    Case {
        id,
        description,
        expectation: format!("Every {kind} message echoed as sent, within {} s. Clean close with 1000.", s.secs),
        actions: vec![Action::Echoes(Echoes {
            text: s.text,
            source: Source::Repeat(s.source),
            len: s.len,
            count: s.count,
            max_frame: s.max_frame,
            chop: s.chop,
        })],
        expected: vec![(Verdict::Ok, vec![Seen::Echoed(s.count)])],
        close: CloseExpectation::normal(),
        time_limit: Duration::from_secs(s.secs),
        rule: Rule::Plain,
        offer: None,
        own: None,
    }
}

fn size(n: usize) -> String {
    if n >= MIB && n % MIB == 0 {
        format!("{} MiB", n / MIB)
    } else if n >= KIB && n % KIB == 0 {
        format!("{} KiB", n / KIB)
    } else {
        format!("{n} bytes")
    }
}

pub(super) fn cases() -> Vec<Case> {
    let mut all = Vec::new();
    for (sub, text, source) in [(1, true, TEXT), (2, false, BINARY)] {
        let kind = if text { "text" } else { "binary" };
        for (n, len) in (1..).zip([64 * KIB, 256 * KIB, MIB, 4 * MIB, 8 * MIB, 16 * MIB]) {
            let secs = if len <= 256 * KIB { 10 } else { 100 };
            let d = format!("Send a {kind} message of {} in one frame.", size(len));
            let spec = Spec { text, source, len, count: 1, max_frame: 0, chop: None, secs };
            all.push(case(format!("9.{sub}.{n}"), d, spec));
        }
    }
    for (sub, text, source) in [(3, true, b"*".as_slice()), (4, false, b"\xfe".as_slice())] {
        let kind = if text { "text" } else { "binary" };
        let frags = [64, 256, KIB, 4 * KIB, 16 * KIB, 64 * KIB, 256 * KIB, MIB, 4 * MIB];
        for (n, frag) in (1..).zip(frags) {
            let d = format!("Send a {kind} message of 4 MiB in fragments of {}.", size(frag));
            let spec = Spec { text, source, len: 4 * MIB, count: 1, max_frame: frag, chop: None, secs: 100 };
            all.push(case(format!("9.{sub}.{n}"), d, spec));
        }
    }
    for (sub, text, source) in [(5, true, TEXT), (6, false, BINARY)] {
        let kind = if text { "text" } else { "binary" };
        for (n, chop) in (1..).zip([64, 128, 256, 512, 1024, 2048]) {
            let d = format!("Send a {kind} message of 1 MiB in one frame, written {chop} bytes at a time.");
            let spec = Spec { text, source, len: MIB, count: 1, max_frame: 0, chop: Some(chop), secs: 1000 };
            all.push(case(format!("9.{sub}.{n}"), d, spec));
        }
    }
    for (sub, text, source) in [(7, true, b"*".as_slice()), (8, false, b"\xfe".as_slice())] {
        let kind = if text { "text" } else { "binary" };
        for (n, (len, secs)) in (1..).zip([(0, 60), (16, 60), (64, 60), (256, 120), (KIB, 240), (4 * KIB, 480)]) {
            let d = format!(
                "Send 1000 {kind} messages of {}, each after the echo of the one before (round-trip time).",
                size(len)
            );
            let spec = Spec { text, source, len, count: 1000, max_frame: 0, chop: None, secs };
            all.push(case(format!("9.{sub}.{n}"), d, spec));
        }
    }
    all
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn group_nine_has_autobahns_shape_and_costs_nothing_until_run() {
        let all = cases();
        assert_eq!(all.len(), 54);
        assert!(all.iter().all(|c| c.id.starts_with("9.") && c.close.closed_by_client));
        let Action::Echoes(e) = &all[5].actions[0] else { panic!() };
        assert_eq!((all[5].id.as_str(), e.len, e.count), ("9.1.6", 16 * MIB, 1));
        let m = e.message(0);
        assert_eq!((m.len(), &m[..12]), (16 * MIB, b"BAsd7&jh23BA".as_slice()));
    }
}
