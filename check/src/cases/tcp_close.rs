//! Group 15, the closing handshake at the TCP level (wscope's own): the
//! server answers a close frame with its own and then closes TCP first with
//! a FIN (section 7.1.1), never with a reset that can destroy the close
//! frame in flight (unread input in a socket makes its close a reset), and
//! it survives a client that vanishes without a close frame.

use crate::Verdict;
use crate::case::{Action, Case};
use crate::own::Judge;
use std::time::Duration;

/// An own case that may take 10 s (a server waiting for the client's close
/// first); only 15.5 is about the server surviving, so only it probes.
fn case(
    id: &str,
    section: &'static str,
    description: &str,
    expectation: &str,
    actions: Vec<Action>,
    judge: Judge,
) -> Case {
    let mut c = super::own_case(id, section, description, expectation, actions, judge);
    c.time_limit = Duration::from_secs(10);
    if let Some(own) = c.own.as_mut() {
        own.check_alive = matches!(judge, Judge::Survive);
    }
    c
}

/// `n` binary frames of 16 KiB.
fn data(n: usize) -> Vec<Action> {
    (0..n).map(|_| Action::frame(2, vec![0x5a; 16 * 1024])).collect()
}

pub(super) fn cases() -> Vec<Case> {
    let close_then_fin = "The server's close frame, then the server closes TCP with a FIN (a reset after the close \
                          frame, or no TCP close, is NON-STRICT; no close frame FAILED).";
    let mut burst = vec![Action::Close(Some(1000))];
    burst.extend(data(4));
    let mut invalid = vec![Action::frame(
        1,
        vec![0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80],
    )];
    invalid.extend(data(16));
    vec![
        case(
            "15.1",
            "7.1.1",
            "Send a close frame (1000) and keep TCP open.",
            close_then_fin,
            vec![Action::Close(Some(1000))],
            Judge::CloseThenFin,
        ),
        case(
            "15.2",
            "7.1.1",
            "Send a close frame followed in the same write by 64 KiB of binary frames (data the server must \
             discard; left unread, it turns the server's TCP close into a reset).",
            close_then_fin,
            vec![Action::Batch(burst)],
            Judge::CloseThenFin,
        ),
        case(
            "15.3",
            "7.1.7",
            "Send a text frame with invalid UTF-8 followed in the same write by 256 KiB of binary frames; answer \
             nothing after that (no close frame, TCP left open).",
            "The server fails the connection: a close frame with 1007, then it closes TCP itself with a FIN \
             (another code, a reset after the close frame, or no TCP close is NON-STRICT; echoing data, a reset \
             without a close frame, or nothing at all FAILED).",
            vec![Action::Silent, Action::Batch(invalid)],
            Judge::Fails { codes: &[1007], waiting: Verdict::Failed },
        ),
        case(
            "15.4",
            "5.5.1",
            "Send a close frame (1000), then close the client's sending half of TCP at once (a FIN; the client \
             still reads).",
            close_then_fin,
            vec![Action::Close(Some(1000)), Action::HalfClose],
            Judge::CloseThenFin,
        ),
        case(
            "15.5",
            "7.1.1",
            "Send a text message, then close TCP without a close frame; then open a new connection.",
            "The new connection is served (a server that crashed or stopped answering FAILED).",
            vec![Action::frame(1, b"Hello".to_vec()), Action::HalfClose],
            Judge::Survive,
        ),
    ]
}
