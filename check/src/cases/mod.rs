//! The catalogue: every case, by id, and selection by pattern.
//!
//! Groups follow Autobahn|Testsuite's numbering (1 framing, 2 pings and
//! pongs, 3 reserved bits, 4 opcodes, 5 fragments, 6 UTF-8, 7 closing, 9
//! performance, 10 miscellaneous, 12 and 13 permessage-deflate); cases
//! wscope adds get groups of their own after Autobahn's: 14 the opening
//! handshake, 15 the closing handshake at the TCP level, 16 frames
//! Autobahn never sends, 17 limits and abuse.

mod client;
mod closing;
mod corpora;
mod deflate;
mod fragments;
mod frames;
mod framing;
mod handshake;
mod limits;
mod misc;
mod performance;
mod pings;
mod reserved;
mod tcp_close;
mod utf8;

use crate::Verdict;
use crate::case::{Action, Case, CloseExpectation, Rule};
use crate::own::{Judge, Opening, Own};
use std::time::Duration;

/// One of wscope's own cases opening with the core's handshake (groups
/// 15-17): 5 s, the server probed afterwards, and the close it expects
/// following from its judge (a server that must fail names its code; any
/// other case ends with the client's close).
fn own_case(
    id: &str,
    section: &'static str,
    description: &str,
    expectation: &str,
    actions: Vec<Action>,
    judge: Judge,
) -> Case {
    Case {
        id: id.into(),
        description: description.into(),
        expectation: expectation.into(),
        actions,
        expected: vec![(Verdict::Ok, Vec::new())],
        close: match judge {
            Judge::Fails { codes, .. } => CloseExpectation::server_fails(codes.first().copied().unwrap_or(1002)),
            _ => CloseExpectation::normal(),
        },
        time_limit: Duration::from_secs(5),
        rule: Rule::Plain,
        offer: None,
        own: Some(Own { section, opening: Opening::Standard, judge, check_alive: true }),
    }
}

/// Every case, in id order.
pub fn all() -> Vec<Case> {
    let mut all = framing::cases();
    all.extend(pings::cases());
    all.extend(reserved::cases());
    all.extend(fragments::cases());
    all.extend(utf8::cases());
    all.extend(closing::cases());
    all.extend(performance::cases());
    all.extend(misc::cases());
    all.extend(deflate::cases());
    all.extend(handshake::cases());
    all.extend(tcp_close::cases());
    all.extend(frames::cases());
    all.extend(limits::cases());
    all
}

/// The cases that test a client (`wscope-check --serve`): Autobahn's 517
/// with the same frames, written by the checker as a server (unmasked), and
/// the same expectations of the side under test, their texts naming it the
/// client; then wscope's own client cases (groups 18 and 19).
pub fn for_clients() -> Vec<Case> {
    let mut cases: Vec<Case> = all()
        .into_iter()
        .filter(|c| c.own.is_none())
        .map(|mut c| {
            c.description = swap_roles(&c.description);
            c.expectation = swap_roles(&c.expectation);
            c
        })
        .collect();
    cases.extend(client::cases());
    cases
}

/// `text` with the words "server" and "client" swapped (as whole words:
/// `client_max_window_bits` stays).
fn swap_roles(text: &str) -> String {
    const SWAPS: [(&str, &str); 4] =
        [("server", "client"), ("client", "server"), ("Server", "Client"), ("Client", "Server")];
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let before = out.chars().next_back();
        let swap = SWAPS.iter().find(|(from, _)| {
            rest.strip_prefix(from).is_some_and(|after| !word(before) && !word(after.chars().next()))
        });
        match swap {
            Some((from, to)) => {
                out.push_str(to);
                rest = rest.get(from.len()..).unwrap_or_default();
            }
            None => {
                out.push(c);
                rest = rest.get(c.len_utf8()..).unwrap_or_default();
            }
        }
    }
    out
}

/// Whether `id` matches `pattern`: `*` stands for any characters, anything
/// else for itself (`1.*` selects group 1; `1.1.1` only that case, not
/// 1.1.10 as Autobahn's prefix matching would).
pub fn matches(pattern: &str, id: &str) -> bool {
    // The classic two-cursor glob: on a mismatch, the last `*` takes one
    // more character. Linear in practice, never exponential, whatever the
    // pattern (patterns come from the page too).
    let (p, s): (Vec<char>, Vec<char>) = (pattern.chars().collect(), id.chars().collect());
    let (mut pi, mut si) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match (p.get(pi), s.get(si)) {
            (Some('*'), _) => {
                star = Some((pi, si));
                pi = pi.saturating_add(1);
            }
            (Some(a), Some(b)) if a == b => {
                pi = pi.saturating_add(1);
                si = si.saturating_add(1);
            }
            _ => match star {
                Some((sp, ss)) => {
                    pi = sp.saturating_add(1);
                    si = ss.saturating_add(1);
                    star = Some((sp, si));
                }
                None => return false,
            },
        }
    }
    p.get(pi..).is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

/// The cases `include` selects (all when it is empty), without those
/// `exclude` selects; each a comma-separated list of patterns.
pub fn select(cases: Vec<Case>, include: &str, exclude: &str) -> Vec<Case> {
    let list = |s: &str| s.split(',').map(str::trim).filter(|p| !p.is_empty()).map(String::from).collect::<Vec<_>>();
    let (inc, exc) = (list(include), list(exclude));
    cases
        .into_iter()
        .filter(|c| inc.is_empty() || inc.iter().any(|p| matches(p, &c.id)))
        .filter(|c| !exc.iter().any(|p| matches(p, &c.id)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_select_as_written() {
        assert!(matches("1.*", "1.1.8"));
        assert!(matches("*", "9.1.1"));
        assert!(matches("1.1.1", "1.1.1"));
        assert!(!matches("1.1.1", "1.1.10"));
        assert!(matches("1.*.8", "1.2.8"));
        assert!(!matches("2.*", "1.2.8"));
        assert!(matches("*.8", "1.2.8") && matches("1**8", "1.2.8") && !matches("*.9", "1.2.8"));
        assert!(matches("", "") && !matches("", "1") && matches("*", ""));
        // A page may send any pattern: a long run of stars costs nothing.
        let stars = format!("{}x", "*".repeat(4000));
        assert!(!matches(&stars, "13.7.18"));
        assert!(select(all(), &stars, "").is_empty());
        let ids: Vec<String> = select(all(), "1.*", "1.2.*").into_iter().map(|c| c.id).collect();
        assert_eq!(ids.len(), 8);
        assert!(ids.iter().all(|id| id.starts_with("1.1.")));
        let ids: Vec<String> = select(all(), "2.1,2.1*", "").into_iter().map(|c| c.id).collect();
        assert_eq!(ids, ["2.1", "2.10", "2.11"]);
        let groups: Vec<String> = select(all(), "1.1.8,2.10", "").iter().map(Case::group).collect();
        assert_eq!(groups, ["1.1", "2"]);
    }

    #[test]
    fn client_cases_name_the_client() {
        assert_eq!(
            swap_roles("The server fails; client_max_window_bits; Client, servers"),
            "The client fails; client_max_window_bits; Server, servers"
        );
        let clients = for_clients();
        assert_eq!(clients.iter().filter(|c| c.own.is_none()).count(), 517);
        assert!(clients.iter().any(|c| c.id == "2.5" && c.expectation.contains("The client fails")));
        for (group, count) in [("18", 10), ("19", 3)] {
            let own: Vec<&Case> = clients.iter().filter(|c| c.group() == group).collect();
            assert_eq!(own.len(), count, "group {group}");
            assert!(own.iter().all(|c| c.own.as_ref().is_some_and(|o| !o.section.is_empty() && !o.check_alive)));
        }
        let mut ids: Vec<&str> = clients.iter().map(|c| c.id.as_str()).collect();
        ids.dedup();
        assert_eq!(ids.len(), clients.len(), "ids are unique and in order");
    }

    #[test]
    fn own_groups_follow_autobahns_and_name_their_sections() {
        let all = all();
        assert_eq!(all.iter().filter(|c| c.own.is_none()).count(), 517, "Autobahn's cases");
        for (group, count) in [("14", 18), ("15", 5), ("16", 2), ("17", 5)] {
            let own: Vec<&Case> = all.iter().filter(|c| c.group() == group).collect();
            assert_eq!(own.len(), count, "group {group}");
            for c in own {
                let o = c.own.as_ref().map(|o| o.section).unwrap_or_default();
                assert!(!o.is_empty() && !c.expectation.is_empty(), "{}", c.id);
            }
        }
        let mut ids: Vec<&str> = all.iter().map(|c| c.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), all.len(), "ids are unique");
    }
}
