//! The client checker against test clients over loopback, every case:
//! wscope's own client (the core's client side in a small Tokio loop)
//! passes all of them; a broken client (masks nothing, accepts any 101,
//! checks nothing) and a lax one (the same, but masking) fail exactly the
//! cases their defects break, and get the verdict Autobahn's fuzzingserver
//! gave them on each of Autobahn's cases (committed fixtures, with the
//! command that made them), except where argued in CHECK.md.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use common::clients::{Client, case_count, run_cases};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::net::TcpListener;
use wscope_check::serve::{Board, ClientChecker, ServeOptions};
use wscope_check::{Settings, Verdict, cases};

/// Runs `client`'s Autobahn loop against a fresh checker holding `pattern`'s
/// cases; each case's verdict and close behaviour by id. The cases are
/// shared by two copies of the client at once (odd and even numbers, each
/// its own agent), one per core.
async fn run(client: Client, pattern: &str, exclude: &str) -> BTreeMap<String, (Verdict, String, String)> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let selected = cases::select(cases::for_clients(), pattern, exclude);
    let total = selected.len();
    let board = Arc::new(Board::in_memory(Arc::new(selected), addr.clone(), 4));
    let mut settings = Settings::new(std::time::Duration::from_secs(2));
    settings.record_limit = 4096;
    let checker = ClientChecker::new(Arc::clone(&board), ServeOptions { settings, ..ServeOptions::default() });
    let serving = tokio::spawn(Arc::clone(&checker).serve(listener));
    assert_eq!(case_count(&addr).await, total);
    let halves = ["odd", "even"].map(|agent| {
        let addr = addr.clone();
        let numbers: Vec<usize> = (1..=total).filter(|n| (n % 2 == 1) == (agent == "odd")).collect();
        tokio::spawn(async move { run_cases(&addr, agent, client, numbers).await })
    });
    for half in halves {
        half.await.unwrap();
    }
    // A client is done when its last connection ends; the checker records
    // that case a moment later.
    let recorded = || board.results().values().map(Vec::len).sum::<usize>();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while recorded() < total && std::time::Instant::now() < deadline {
        board.changed(std::time::Duration::from_millis(200)).await;
    }
    serving.abort();
    let mut results = board.results();
    let results: Vec<_> = ["odd", "even"].iter().flat_map(|a| results.remove(*a).unwrap_or_default()).collect();
    assert_eq!(results.len(), total, "every case has a result");
    results
        .into_iter()
        .map(|(c, o)| {
            let close = o.close.map(|c| c.to_string()).unwrap_or_default();
            (c.id, (o.verdict, o.reason, close))
        })
        .collect()
}

fn id_key(id: &str) -> Vec<u32> {
    id.split('.').map(|n| n.parse::<u32>().unwrap()).collect()
}

/// Ids whose verdict or close behaviour differs from Autobahn's fixture.
fn differ(ours: &BTreeMap<String, (Verdict, String, String)>, fixture: &str) -> Vec<String> {
    let fixture: serde_json::Value = serde_json::from_str(fixture).unwrap();
    let theirs = fixture["cases"].as_object().unwrap();
    let mut ids: Vec<String> = ours
        .iter()
        .filter_map(|(id, (verdict, _, close))| {
            let t = theirs.get(id)?;
            (t["behavior"] != verdict.to_string() || t["behaviorClose"] != close.as_str()).then(|| id.clone())
        })
        .collect();
    ids.sort_by_key(|id| id_key(id));
    ids
}

fn with(results: &BTreeMap<String, (Verdict, String, String)>, verdict: Verdict) -> Vec<String> {
    let mut ids: Vec<String> =
        results.iter().filter(|(_, (v, _, _))| *v == verdict).map(|(id, _)| id.clone()).collect();
    ids.sort_by_key(|id| id_key(id));
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wscope_own_client_passes_every_case() {
    let results = run(Client::Own, "", "").await;
    assert_eq!(results.len(), 530);
    for (id, (verdict, reason, close)) in &results {
        let informational = ["7.1.6", "7.13.1", "7.13.2"].contains(&id.as_str());
        let want = if informational { Verdict::Informational } else { Verdict::Ok };
        assert_eq!(*verdict, want, "{id}: {reason}");
        assert!(["OK", "INFORMATIONAL", ""].contains(&close.as_str()), "{id}: close {close}");
    }
    // Autobahn's fuzzingserver gave it the same verdict on each of its cases.
    assert_eq!(differ(&results, include_str!("fixtures/autobahn-client-own.json")), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_client_fails_exactly_what_its_defects_break() {
    // 12.* and 13.*: it offers no permessage-deflate (UNIMPLEMENTED at once).
    let results = run(Client::Broken, "", "").await;
    let failed = with(&results, Verdict::Failed);
    // Every frame it writes is unmasked: every case where it must write
    // one, and every 101 it must refuse (it takes them all).
    let not_failed: Vec<String> = results.keys().filter(|id| !failed.contains(id)).cloned().collect::<Vec<_>>();
    let mut not_failed = not_failed;
    not_failed.sort_by_key(|id| id_key(id));
    assert_eq!(with(&results, Verdict::Unimplemented).len(), 216, "12.* and 13.*");
    assert_eq!(not_failed.len(), 216 + 3, "{not_failed:?}");
    assert!(["7.1.6", "7.13.1", "7.13.2"].iter().all(|id| results[*id].0 == Verdict::Informational));
    assert!(results["18.1"].1.contains("client frame is not masked"), "{}", results["18.1"].1);
    // Autobahn's verdict on every case but those where it goes on with a
    // frame it failed the connection on (an unmasked one: its payload
    // dropped, the frame still delivered, so an empty pong or message can
    // match) or drops a forbidden frame unrecorded; wscope counts the frame
    // that breaks the RFC (CHECK.md).
    let argued = differ(&results, include_str!("fixtures/autobahn-client-broken.json"));
    assert_eq!(argued, BROKEN_ARGUED);
    for id in &argued {
        assert!(results[id].1.contains("bytes that break the RFC"), "{id}: {}", results[id].1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lax_client_fails_where_a_client_must_refuse() {
    let results = run(Client::Lax, "", "12.*,13.*").await;
    assert_eq!(with(&results, Verdict::Failed), EXPECTED_LAX_FAILED);
    // Autobahn's verdict on every case but those where the client wrote
    // bytes that break the RFC, which Autobahn drops unrecorded.
    let argued = differ(&results, include_str!("fixtures/autobahn-client-lax.json"));
    assert_eq!(argued, LAX_ARGUED);
    for id in &argued {
        assert!(results[id].1.contains("bytes that break the RFC"), "{id}: {}", results[id].1);
    }
    // Data right behind the 101 is echoed: it reads the connection's bytes.
    assert_eq!(results["18.10"].0, Verdict::Ok, "{}", results["18.10"].1);
}

/// The lax client (masks, checks nothing, echoes every frame as it came):
/// 2.5, an oversized ping echoed as an oversized pong; 3.*, 4.*, 5.1, 5.2,
/// 5.9-5.18, the frames with reserved bits or opcodes, stray continuations
/// and fragmented control frames it echoes instead of failing; every
/// invalid-UTF-8 case of group 6 (75: it never checks text); 7.3.2, 7.3.6,
/// 7.5.1, 7.9.*, the close frames a client must refuse, echoed; 18.1-18.9,
/// every 101 a client must refuse (it takes them all); 19.*, a masked frame
/// echoed, close code 1015 and a broken reason echoed.
const EXPECTED_LAX_FAILED: &[&str] = &[
    "2.5", "3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "3.7", "4.1.1", "4.1.2", "4.1.3", "4.1.4", "4.1.5", "4.2.1",
    "4.2.2", "4.2.3", "4.2.4", "4.2.5", "5.1", "5.2", "5.9", "5.10", "5.11", "5.12", "5.13", "5.14", "5.15", "5.16",
    "5.17", "5.18", "6.3.1", "6.3.2", "6.4.1", "6.4.2", "6.4.3", "6.4.4", "6.6.1", "6.6.3", "6.6.4", "6.6.6", "6.6.8",
    "6.6.10", "6.8.1", "6.8.2", "6.10.1", "6.10.2", "6.10.3", "6.11.5", "6.12.1", "6.12.2", "6.12.3", "6.12.4",
    "6.12.5", "6.12.6", "6.12.7", "6.12.8", "6.13.1", "6.13.2", "6.13.3", "6.13.4", "6.13.5", "6.14.1", "6.14.2",
    "6.14.3", "6.14.4", "6.14.5", "6.14.6", "6.14.7", "6.14.8", "6.14.9", "6.14.10", "6.15.1", "6.16.1", "6.16.2",
    "6.16.3", "6.17.1", "6.17.2", "6.17.3", "6.17.4", "6.17.5", "6.18.1", "6.18.2", "6.18.3", "6.18.4", "6.18.5",
    "6.19.1", "6.19.2", "6.19.3", "6.19.4", "6.19.5", "6.20.1", "6.20.2", "6.20.3", "6.20.4", "6.20.5", "6.20.6",
    "6.20.7", "6.21.1", "6.21.2", "6.21.3", "6.21.4", "6.21.5", "6.21.6", "6.21.7", "6.21.8", "7.3.2", "7.3.6",
    "7.5.1", "7.9.1", "7.9.2", "7.9.3", "7.9.4", "7.9.5", "7.9.6", "7.9.7", "7.9.8", "7.9.9", "18.1", "18.2", "18.3",
    "18.4", "18.5", "18.6", "18.7", "18.8", "18.9", "19.1", "19.2", "19.3",
];

/// Where the lax client's verdict differs from Autobahn's: the frames it
/// echoes that break the RFC (reserved bits and opcodes, stray
/// continuations, a close payload of one byte or of 126, a close reason
/// that is not UTF-8), which Autobahn drops unrecorded.
const LAX_ARGUED: &[&str] = &[
    "3.1", "3.5", "3.6", "3.7", "4.1.1", "4.1.2", "4.2.1", "4.2.2", "5.2", "5.9", "5.10", "5.11", "5.12", "5.13",
    "5.14", "5.15", "5.16", "5.17", "5.18", "7.3.2", "7.3.6", "7.5.1",
];

/// Where the broken client's verdict differs from Autobahn's: every case in
/// groups 2-5 and 7 where its reply is a control frame, an empty message or
/// a frame Autobahn drops (Autobahn delivers an unmasked frame with its
/// payload dropped after failing the connection on it).
const BROKEN_ARGUED: &[&str] = &[
    "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8", "2.9", "3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "3.7",
    "4.1.1", "4.1.2", "4.1.3", "4.1.4", "4.1.5", "4.2.1", "4.2.2", "4.2.3", "4.2.4", "4.2.5", "5.1", "5.2", "5.9",
    "5.10", "5.11", "5.12", "5.13", "5.14", "5.15", "5.16", "5.17", "5.18", "7.1.2", "7.1.3", "7.1.4", "7.1.5",
    "7.3.1", "7.3.2", "7.3.3", "7.3.4", "7.3.5", "7.3.6", "7.5.1", "7.7.1", "7.7.2", "7.7.3", "7.7.4", "7.7.5",
    "7.7.6", "7.7.7", "7.7.8", "7.7.9", "7.7.10", "7.7.11", "7.7.12", "7.7.13", "7.9.1", "7.9.2", "7.9.3", "7.9.4",
    "7.9.5", "7.9.6", "7.9.7", "7.9.8", "7.9.9",
];
