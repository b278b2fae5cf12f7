//! wscope-check beside Autobahn|Testsuite on two other implementations:
//! the tokio-tungstenite and fastwebsockets echo servers of this crate,
//! each of Autobahn's 517 cases given the verdict and close behaviour
//! Autobahn gave the same server (committed fixtures in
//! `check/tests/fixtures/`, each with the command that made it), except the
//! one disagreement CHECK.md argues from the RFC.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use wscope_check::{Settings, Target, cases, run_all};

/// An echo server of this crate on a free port; killed on drop.
struct Peer {
    child: Child,
    url: String,
}

impl Peer {
    fn start(binary: &str) -> Peer {
        let mut child = Command::new(binary)
            .args(["--listen", "127.0.0.1:0", "--threads", "1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        // "echo-tungstenite: echo: ws://127.0.0.1:PORT/echo"
        let url = line.rsplit(' ').next().unwrap().trim().to_owned();
        assert!(url.starts_with("ws://127.0.0.1:"), "{line}");
        Peer { child, url }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs Autobahn's 517 cases against `peer` and returns the ids whose
/// verdict or close behaviour differs from `fixture`'s.
async fn disagreements(peer: &Peer, fixture: &str) -> Vec<String> {
    let fixture: Value = serde_json::from_str(fixture).unwrap();
    let autobahn = fixture["cases"].as_object().unwrap();
    let selected = cases::select(cases::all(), "", "14.*,15.*,16.*,17.*");
    assert_eq!(selected.len(), autobahn.len());
    let target = Arc::new(Target::parse(&peer.url).unwrap());
    let settings = Arc::new(Settings::new(Duration::from_secs(10)));
    let mut done = run_all(selected, target, settings, 4);
    let mut differ = Vec::new();
    let mut seen = 0;
    while let Some((case, o)) = done.recv().await {
        seen += 1;
        let theirs = &autobahn[&case.id];
        let close = o.close.map(|c| c.to_string()).unwrap_or_default();
        if theirs["behavior"] != o.verdict.to_string() || theirs["behaviorClose"] != close.as_str() {
            differ.push(format!("{} {} {} ({})", case.id, o.verdict, close, o.reason));
        }
    }
    assert_eq!(seen, autobahn.len());
    differ.sort();
    differ
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_tungstenite_gets_autobahns_verdicts() {
    let peer = Peer::start(env!("CARGO_BIN_EXE_echo-tungstenite"));
    let differ =
        disagreements(&peer, include_str!("../../../check/tests/fixtures/autobahn-tokio-tungstenite.json")).await;
    assert!(differ.is_empty(), "{differ:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fastwebsockets_gets_autobahns_verdicts_but_one_argued() {
    let peer = Peer::start(env!("CARGO_BIN_EXE_echo-fastwebsockets"));
    let differ = disagreements(&peer, include_str!("../../../check/tests/fixtures/autobahn-fastwebsockets.json")).await;
    // 7.3.6: it echoes a close payload of 126 bytes, a control frame section
    // 5.5 forbids; Autobahn's client drops it unrecorded (OK), wscope-check
    // names it (FAILED). CHECK.md, "Every disagreement, argued".
    assert_eq!(differ.len(), 1, "{differ:#?}");
    assert!(differ[0].starts_with("7.3.6 FAILED") && differ[0].contains("125"), "{differ:#?}");
}
