//! The verdicts of wscope's own cases, as [`Judge`] documents them.

use super::exchange::Exchange;
use super::judge::list;
use super::opening::{Answer, End};
use crate::case::{Case, Seen};
use crate::own::Judge;
use crate::verdict::Verdict;
use wscope_core::Role;
use wscope_core::handshake::ResponseError;

/// "answered 400 Bad Request" or how the connection ended without an answer.
fn answered(a: &Answer) -> String {
    match (&a.head, a.end) {
        (Some(h), _) => format!("answered {} {}", h.status, h.reason),
        (None, End::Fin) => "closed TCP without an HTTP answer".into(),
        (None, End::Reset) => "reset TCP without an HTTP answer".into(),
        (None, End::Open | End::Head) => format!("sent no answer in {:.1} s", a.after.as_secs_f64()),
    }
}

/// The verdict on the answer to an edited request; `checked` is the core's
/// check of a 101 (made as if nothing unknown had been offered), `unknown`
/// the subprotocol the case offered.
pub(crate) fn answer(
    judge: Judge,
    a: &Answer,
    checked: &Result<(), ResponseError>,
    unknown: Option<&str>,
) -> (Verdict, String) {
    let said = answered(a);
    let status = a.head.as_ref().map(|h| h.status);
    match (judge, status) {
        (Judge::NotAnUpgrade, Some(101)) => (Verdict::Failed, format!("{said}: it switched without being asked to")),
        (Judge::NotAnUpgrade, _) => (Verdict::Ok, format!("{said}: no switch")),
        (Judge::Accept, Some(101)) => match checked {
            Ok(()) => (Verdict::Ok, "a valid 101".into()),
            Err(e) => (Verdict::Failed, format!("{said}, but not a valid 101: {e}")),
        },
        (Judge::Accept, _) => (Verdict::Failed, format!("{said}: a valid request was not accepted")),
        (Judge::Decline, Some(101)) => match checked {
            Ok(()) => (Verdict::Ok, "a 101 that accepts nothing unknown".into()),
            Err(ResponseError::UnexpectedProtocol(p)) if Some(p.as_str()) == unknown => {
                (Verdict::NonStrict, format!("a 101 choosing back the unknown subprotocol {p:?}"))
            }
            Err(e) => (Verdict::Failed, format!("{said}: {e}")),
        },
        (Judge::HeadLimit, Some(431)) => (Verdict::Ok, said),
        (Judge::HeadLimit, Some(101)) => (Verdict::NonStrict, format!("{said}: a 1 MiB head was accepted")),
        (Judge::HeadLimit, _) if a.end == End::Open => (Verdict::Failed, said),
        (Judge::HeadLimit, _) => (Verdict::NonStrict, format!("{said}; RFC 6585 names 431")),
        (_, Some(101)) => (Verdict::Failed, format!("{said}: it accepted a request the RFC requires refusing")),
        (_, None) => (Verdict::Failed, format!("{said}: the server MUST answer with an error status")),
        (Judge::RefuseWithVersion, Some(s)) if s >= 400 => {
            let named = a.head.as_ref().is_some_and(|h| h.has_token("Sec-WebSocket-Version", "13"));
            match (named, s) {
                (false, _) => (Verdict::Failed, format!("{said} without Sec-WebSocket-Version: 13")),
                (true, 426) => (Verdict::Ok, format!("{said} with Sec-WebSocket-Version: 13")),
                (true, _) => (Verdict::NonStrict, format!("{said} with Sec-WebSocket-Version: 13; 426 is the status")),
            }
        }
        (Judge::Refuse { statuses }, Some(s)) if statuses.contains(&s) => (Verdict::Ok, said),
        (Judge::Refuse { statuses }, Some(s)) if s >= 400 => {
            (Verdict::NonStrict, format!("{said}; the RFCs name {}", names(statuses)))
        }
        (Judge::Decline, Some(s)) if s >= 400 => {
            (Verdict::NonStrict, format!("{said}: the whole handshake refused instead of the offer declined"))
        }
        (_, Some(_)) => (Verdict::Failed, format!("{said}, which is not an error status")),
    }
}

fn names(statuses: &[u16]) -> String {
    statuses.iter().map(u16::to_string).collect::<Vec<_>>().join(" or ")
}

/// The verdict on a head that never ends.
pub(crate) fn slow(a: &Answer) -> (Verdict, String) {
    let after = a.after.as_secs_f64();
    match (a.end, &a.head) {
        (End::Open, _) => (Verdict::NonStrict, format!("the server still waited for the head after {after:.1} s")),
        (_, Some(h)) => (Verdict::Ok, format!("after {after:.1} s the server answered {} and closed", h.status)),
        (_, None) => (Verdict::Ok, format!("after {after:.1} s the server closed the connection")),
    }
}

/// How the peer's side of TCP ended, in words.
fn tcp_end(ex: &Exchange, role: Role) -> &'static str {
    match (ex.reset, ex.peer_dropped, ex.timed_out, role) {
        (true, ..) => "a reset",
        (false, true, ..) => "a FIN",
        (false, false, true, _) => "no TCP close before the time limit",
        (false, false, false, Role::Client) => "the client ending the connection",
        (false, false, false, Role::Server) => "the checker closing TCP, as a server does",
    }
}

/// The verdict on an exchange of a case whose judge is its own, for the
/// checker in `role`.
pub(crate) fn exchange(judge: Judge, case: &Case, ex: &Exchange, role: Role) -> (Verdict, String) {
    let end = tcp_end(ex, role);
    let peer = match role {
        Role::Client => "server",
        Role::Server => "client",
    };
    let close = match ex.peer_close {
        Some(Some(code)) => format!("a close frame with {code}"),
        Some(None) => "a close frame without a code".into(),
        None => "no close frame".into(),
    };
    // A client leaves closing TCP to the server (7.1.1): after the closing
    // handshake, the checker as a server does it.
    let fin = (ex.peer_dropped && !ex.reset)
        || (role == Role::Server && ex.my_close.is_some() && ex.peer_close.is_some() && !ex.reset);
    match judge {
        Judge::CloseThenFin => match (ex.peer_close.is_some(), ex.reset, fin) {
            (false, _, _) => {
                (Verdict::Failed, format!("{close}, then {end}: a close MUST be answered (section 5.5.1)"))
            }
            (true, true, _) => {
                (Verdict::NonStrict, format!("{close}, then {end}: a reset can destroy the close frame"))
            }
            (true, false, true) => (Verdict::Ok, format!("{close}, then {end}")),
            (true, false, false) => {
                (Verdict::NonStrict, format!("{close}, then {end}: the server should close TCP first (7.1.1)"))
            }
        },
        Judge::Fails { codes, waiting } => {
            let data = ex.seen.iter().any(|s| matches!(s, Seen::Text(_) | Seen::Binary(_)));
            if ex.seen.contains(&Seen::NoDeflate) {
                return (Verdict::Unimplemented, format!("the {peer} did not agree to permessage-deflate"));
            }
            // Data back, or bytes the client had to fail the connection on
            // (an echo too big, invalid, …): the server went on as if nothing
            // were wrong.
            if data || ex.peer_violation.is_some() {
                return (waiting, format!("the {peer} accepted it: received {}; {close}", list(&ex.seen)));
            }
            match ex.peer_close {
                Some(code) if code.is_none_or(|c| codes.contains(&c)) => match (ex.reset, fin) {
                    (true, _) => {
                        (Verdict::NonStrict, format!("{close}, then {end}: a reset can destroy the close frame"))
                    }
                    (false, true) => (Verdict::Ok, format!("{close}, then {end}")),
                    (false, false) => (Verdict::NonStrict, format!("{close}, then {end}: failing closes TCP (7.1.7)")),
                },
                Some(_) => (Verdict::NonStrict, format!("{close}; the RFC names {}", names(codes))),
                None if ex.reset => (waiting, format!("{close}, then {end}: nothing said why")),
                None if ex.peer_dropped => {
                    (Verdict::NonStrict, format!("{close}, then {end}: a close frame should say why (7.1.7)"))
                }
                None => (waiting, format!("the {peer} neither failed the connection nor answered: {end}")),
            }
        }
        Judge::Carry { codes } => {
            let carried = case.expected.first().is_some_and(|(_, e)| *e == ex.seen);
            match ex.peer_close {
                _ if carried => (Verdict::Ok, format!("carried: {}", list(&ex.seen))),
                Some(Some(c)) if codes.contains(&c) && !ex.i_closed_first => {
                    (Verdict::Ok, format!("refused with {c} (a limit)"))
                }
                _ if ex.timed_out => {
                    (Verdict::NonStrict, format!("not done before the time limit: received {}", list(&ex.seen)))
                }
                _ => (Verdict::NonStrict, format!("received {}; {close}, then {end}", list(&ex.seen))),
            }
        }
        Judge::Survive => (Verdict::Ok, format!("{close}, then {end}")),
        // Judges of the opening handshake, for a case that opened normally.
        Judge::Refuse { .. }
        | Judge::RefuseWithVersion
        | Judge::NotAnUpgrade
        | Judge::Accept
        | Judge::Decline
        | Judge::HeadLimit
        | Judge::SlowHead
        | Judge::ClientRefuses => (Verdict::Ok, format!("{close}, then {end}")),
    }
}
