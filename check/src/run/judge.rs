//! The verdicts on an exchange, in Autobahn|Testsuite's order and words.

use super::exchange::{Exchange, MAX_EVENTS, MAX_SEEN_BYTES};
use crate::case::{Case, Rule, Seen};
use crate::verdict::{CloseBehavior, Verdict};
use wscope_core::Role;

/// The verdict on the events, and on the close; each with its reason, for
/// the checker in `role`.
pub(crate) fn judge(case: &Case, ex: &Exchange, role: Role) -> (Verdict, String, CloseBehavior, String) {
    let peer = match role {
        Role::Client => "server",
        Role::Server => "client",
    };
    // A case that needs permessage-deflate is UNIMPLEMENTED once the peer
    // did not agree to it, whatever the closing brings (as Autobahn judges).
    let unimplemented = ex.seen.first() == Some(&Seen::NoDeflate)
        && case.expected.iter().any(|(v, e)| *v == Verdict::Unimplemented && *e == [Seen::NoDeflate]);
    let matched = if unimplemented {
        Some(&(Verdict::Unimplemented, vec![Seen::NoDeflate]))
    } else {
        case.expected.iter().find(|(_, events)| *events == ex.seen)
    };
    let (verdict, reason) = match matched {
        Some((Verdict::Ok, _)) => (Verdict::Ok, "the events match the expectation".to_owned()),
        // Which of the outcomes the case allows, in the case's words.
        Some((v, _)) => (*v, format!("received {}: an outcome this case counts as {v}", list(&ex.seen))),
        None => {
            let want = case.expected.first().map(|(_, e)| list(e)).unwrap_or_default();
            let mut why = format!("expected {want}; received {}", list(&ex.seen));
            if ex.flooded {
                why.push_str(&format!("; the case stopped at {MAX_EVENTS} events or {} MiB", MAX_SEEN_BYTES >> 20));
            }
            if ex.timed_out {
                why.push_str("; the case ran out of time");
            }
            (Verdict::Failed, why)
        }
    };
    let clean = ex.my_close.is_some() && ex.peer_close.is_some();
    let expect = &case.close;
    let wrong_endpoint = ex.i_closed_first != expect.closed_by_client;
    // In Autobahn's order: who closed, whether cleanly, with what code, and
    // who dropped TCP (only a server must drop it first, section 7.1.1).
    let (close, close_reason) = if wrong_endpoint {
        (CloseBehavior::Failed, "the connection was closed by the wrong endpoint".to_owned())
    } else if expect.require_clean && !clean {
        (
            CloseBehavior::Unclean,
            if ex.timed_out {
                "no closing handshake before the time limit".to_owned()
            } else {
                "the connection ended without both close frames".to_owned()
            },
        )
    } else if let Some(Some(code)) = ex.peer_close.filter(|c| c.is_some_and(|c| !expect.codes.contains(&c))) {
        (CloseBehavior::WrongCode, format!("the {peer} closed with {code}; expected {:?} or no code", expect.codes))
    } else if role == Role::Server {
        let why = match &ex.peer_violation {
            Some(v) => format!("the client broke a rule ({v}): the checker failed the connection"),
            None => "the connection was closed properly".to_owned(),
        };
        (CloseBehavior::Ok, why)
    } else if ex.timed_out {
        (CloseBehavior::FailedByClient, "the server did not close TCP: the client dropped it (section 7.1.1)".into())
    } else if let Some(v) = &ex.peer_violation {
        (CloseBehavior::FailedByClient, format!("the server broke a rule ({v}): the client failed the connection"))
    } else {
        (CloseBehavior::Ok, "the connection was closed properly".to_owned())
    };
    // The UTF-8 cases: a peer that did not fail the connection itself did
    // not notice the invalid text.
    let (verdict, reason) = if wrong_endpoint && expect.wrong_endpoint_fatal {
        (Verdict::Failed, format!("the {peer} did not fail the connection itself; {reason}"))
    } else {
        (verdict, reason)
    };
    match case.rule {
        Rule::Plain => (verdict, reason, close, close_reason),
        Rule::WrongCodeFails if close == CloseBehavior::WrongCode => {
            (Verdict::Failed, close_reason.clone(), close, close_reason)
        }
        Rule::WrongCodeFails => (verdict, reason, close, close_reason),
        Rule::Informational => (
            Verdict::Informational,
            format!("the RFC leaves this open; what happened: {reason}"),
            CloseBehavior::Informational,
            close_reason,
        ),
    }
}

/// "[text, 5 bytes; ping, 0 bytes]" or "nothing"; the first 10 events and
/// how many more.
pub(crate) fn list(events: &[Seen]) -> String {
    if events.is_empty() {
        return "nothing".into();
    }
    let shown: Vec<String> = events.iter().take(10).map(Seen::describe).collect();
    let more = events.len().saturating_sub(shown.len());
    let more = if more > 0 { format!("; and {more} more") } else { String::new() };
    format!("[{}{more}]", shown.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_event_lists_are_cut_in_reasons() {
        assert_eq!(list(&[]), "nothing");
        let many = vec![Seen::Pong(Vec::new()); 12];
        assert!(list(&many).ends_with("pong, 0 bytes; and 2 more]"), "{}", list(&many));
    }
}
