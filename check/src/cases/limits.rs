//! Group 17, limits and abuse (wscope's own; section 10.4: "implementations
//! SHOULD impose implementation-specific limits"): a frame declaring
//! 2^63 - 1 bytes, a deflate bomb, a head that never ends, a message of
//! 100 000 one-byte fragments, a flood of pings. No MUST limits any of
//! these, so carrying them is OK and refusing them with a close code that
//! says "a limit" is OK too; only a server that stops answering fails.

use super::frames::huge;
use super::own_case as case;
use crate::Verdict;
use crate::case::{Action, Case, Seen};
use crate::own::{Judge, Opening};
use std::time::Duration;

/// Zero bytes in the deflate bomb (about 256 KiB on the wire).
pub(super) const BOMB: usize = 256 << 20;
/// Fragments of the fragmented message.
pub(super) const FRAGMENTS: usize = 100_000;
/// Pings in the flood.
pub(super) const PINGS: usize = 1000;

pub(super) fn cases() -> Vec<Case> {
    let mut all = vec![
        case(
            "17.1",
            "10.4",
            "Send a binary frame header declaring 2^63 - 1 bytes, then 16 bytes of its payload, and wait.",
            "The server fails the connection with 1009 (message too big) and closes TCP (another code, or waiting \
             for the rest, is NON-STRICT: no MUST limits a message; a server that stops answering FAILED).",
            vec![huge(u64::MAX >> 1)],
            Judge::Fails { codes: &[1009], waiting: Verdict::NonStrict },
        ),
        case(
            "17.2",
            "RFC 7692 7.2.2",
            "Offer permessage-deflate; send one compressed binary message that inflates to 256 MiB of zeros \
             (about 256 KiB on the wire).",
            "The server fails the connection with 1009 without inflating it all (another code, or accepting it, \
             is NON-STRICT; a server that stops answering FAILED; UNIMPLEMENTED without permessage-deflate).",
            vec![Action::NeedDeflate, Action::Bomb(BOMB)],
            Judge::Fails { codes: &[1009], waiting: Verdict::NonStrict },
        ),
        case(
            "17.3",
            "10.4",
            "Open TCP and send a valid request head one header line every 500 ms, never ending it (slowloris).",
            "The server gives up on the head and closes the connection before the case's 20 s are over (otherwise \
             NON-STRICT: a few hundred such clients hold a server's connections).",
            Vec::new(),
            Judge::SlowHead,
        ),
        case(
            "17.4",
            "10.4",
            "Send a text message of 100 000 fragments of one byte each, in one write.",
            "The message echoed whole, or the connection failed with 1008 or 1009 (a limit); anything else in time \
             is NON-STRICT; a server that stops answering FAILED.",
            vec![Action::Fragments(FRAGMENTS)],
            Judge::Carry { codes: &[1008, 1009] },
        ),
        case(
            "17.5",
            "5.5.2",
            "Send 1000 pings of 125 bytes each (all different) in one write.",
            "1000 pongs, each with its ping's payload, in order; or the connection failed with 1008 (a limit). \
             Fewer pongs (allowed: a pong may answer only the latest ping) is NON-STRICT; a server that stops \
             answering FAILED.",
            vec![Action::Batch((0..PINGS).map(|i| Action::frame(9, ping(i))).collect())],
            Judge::Carry { codes: &[1008] },
        ),
    ];
    for c in &mut all {
        match c.id.as_str() {
            "17.2" => c.offer = Some("permessage-deflate".into()),
            "17.3" => {
                if let Some(own) = c.own.as_mut() {
                    own.opening = Opening::Slow { interval: Duration::from_millis(500) };
                }
                c.time_limit = Duration::from_secs(20);
            }
            "17.4" => {
                c.expected = vec![(Verdict::Ok, vec![Seen::Text(vec![b'*'; FRAGMENTS])])];
                c.time_limit = Duration::from_secs(20);
            }
            "17.5" => {
                c.expected = vec![(Verdict::Ok, (0..PINGS).map(|i| Seen::Pong(ping(i))).collect())];
                c.time_limit = Duration::from_secs(10);
            }
            _ => {}
        }
    }
    all
}

/// The `i`-th ping's payload: 125 bytes, its number first.
fn ping(i: usize) -> Vec<u8> {
    let mut p = format!("{i:06} ").into_bytes();
    p.resize(125, b'p');
    p
}
