//! The client checker beside Autobahn|Testsuite's fuzzingserver on
//! another implementation's client: tokio-tungstenite's, running the
//! Autobahn client loop this crate's `client-tungstenite` runs (as its own
//! repository's example does), each of Autobahn's 517 cases given the
//! verdict and close behaviour Autobahn gave the same client (a committed
//! fixture in `check/tests/fixtures/`, with the command that made it), and
//! wscope's own client cases 18 and 19 as CHECK.md lists them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use wscope_check::serve::{Board, ClientChecker, ServeOptions};
use wscope_check::{Settings, cases};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_tungstenites_client_gets_autobahns_verdicts() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let selected = cases::for_clients();
    let board = Arc::new(Board::in_memory(Arc::new(selected), format!("ws://{addr}"), 2));
    let mut settings = Settings::new(Duration::from_secs(2));
    settings.record_limit = 4096;
    let checker = ClientChecker::new(Arc::clone(&board), ServeOptions { settings, ..ServeOptions::default() });
    let serving = tokio::spawn(Arc::clone(&checker).serve(listener));
    let url = format!("ws://{addr}");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_client-tungstenite"))
            .args([url.as_str(), "tokio-tungstenite"])
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serving.abort();
    let results = board.results().remove("tokio-tungstenite").unwrap();
    assert_eq!(results.len(), 530, "every case ran");
    let fixture: Value =
        serde_json::from_str(include_str!("../../../check/tests/fixtures/autobahn-client-tokio-tungstenite.json"))
            .unwrap();
    let theirs = fixture["cases"].as_object().unwrap();
    let mut differ = Vec::new();
    let mut own = Vec::new();
    for (case, o) in &results {
        let close = o.close.map(|c| c.to_string()).unwrap_or_default();
        match theirs.get(&case.id) {
            Some(t) => {
                if t["behavior"] != o.verdict.to_string() || t["behaviorClose"] != close.as_str() {
                    differ.push(format!(
                        "{}: ours {} / {close}, Autobahn {} / {}",
                        case.id, o.verdict, t["behavior"], t["behaviorClose"]
                    ));
                }
            }
            None => own.push(format!("{} {}", case.id, o.verdict)),
        }
    }
    assert!(differ.is_empty(), "{differ:#?}");
    // wscope's own client cases (CHECK.md): it takes an extension it never
    // offered, and a permessage-deflate answer its offer (none) does not
    // allow; it drops TCP without a close frame on a masked frame and on a
    // close reason that is not UTF-8.
    assert_eq!(
        own,
        [
            "18.1 OK",
            "18.2 OK",
            "18.3 OK",
            "18.4 OK",
            "18.5 OK",
            "18.6 OK",
            "18.7 FAILED",
            "18.8 OK",
            "18.9 FAILED",
            "18.10 OK",
            "19.1 NON-STRICT",
            "19.2 OK",
            "19.3 NON-STRICT"
        ]
    );
}
