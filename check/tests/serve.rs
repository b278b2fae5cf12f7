//! The client checker's own protocol (Autobahn's fuzzingserver endpoints)
//! and its bounds: what a client that asks wrongly is told, and that the
//! checker keeps serving other agents meanwhile.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::clients::{Client, session};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wscope_check::cases;
use wscope_check::serve::{Board, ClientChecker, ServeOptions};

async fn start(
    pattern: &str,
    options: ServeOptions,
    report: Option<std::path::PathBuf>,
    max_agents: usize,
) -> (String, Arc<ClientChecker>, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let selected = cases::select(cases::for_clients(), pattern, "");
    let board =
        Arc::new(Board::new(Arc::new(selected), format!("clients of ws://{addr}"), report, max_agents).unwrap());
    let checker = ClientChecker::new(board, options);
    let serving = tokio::spawn(Arc::clone(&checker).serve(listener));
    (addr, checker, serving)
}

/// Writes `request` and reads the whole answer (the checker closes).
async fn ask(addr: &str, request: &[u8]) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// Runs case `n` for `agent` and waits for its verdict, as Autobahn's
/// drivers do with /getCaseStatus.
async fn run(addr: &str, n: usize, agent: &str, client: Client) -> String {
    session(addr, &format!("/runCase?case={n}&agent={agent}"), client).await;
    run_status(addr, n, agent).await
}

/// Case `n`'s verdict for `agent`, once it has one.
async fn run_status(addr: &str, n: usize, agent: &str) -> String {
    let status = session(addr, &format!("/getCaseStatus?case={n}&agent={agent}"), Client::Own).await.unwrap();
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    status["behavior"].as_str().unwrap().to_owned()
}

fn upgrade(path: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn the_command_endpoints_answer_as_autobahns_do() {
    let (addr, checker, _serving) = start("1.1.*", ServeOptions::default(), None, 4).await;
    assert_eq!(session(&addr, "/getCaseCount", Client::Own).await.as_deref(), Some("8"));
    let info: serde_json::Value =
        serde_json::from_str(&session(&addr, "/getCaseInfo?case=2", Client::Own).await.unwrap()).unwrap();
    assert_eq!(info["id"], "1.1.2");
    assert!(info["description"].as_str().unwrap().contains("125"));
    // A status waits for its case to be run.
    let status = tokio::spawn({
        let addr = addr.clone();
        async move { session(&addr, "/getCaseStatus?case=2&agent=me", Client::Own).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!status.is_finished());
    session(&addr, "/runCase?case=2&agent=me", Client::Own).await;
    assert_eq!(status.await.unwrap().as_deref(), Some(r#"{"behavior":"OK"}"#));
    assert_eq!(checker.board().results()["me"].len(), 1);
    session(&addr, "/updateReports?agent=me", Client::Own).await;
}

#[tokio::test]
async fn wrong_requests_get_an_answer_that_says_why() {
    let options = ServeOptions { head_timeout: Duration::from_millis(300), ..ServeOptions::default() };
    let (addr, _checker, _serving) = start("1.1.*", options, None, 1).await;
    let a = ask(&addr, &upgrade("/nothing-here")).await;
    assert!(a.starts_with("HTTP/1.1 404 ") && a.contains("/runCase?case=N&agent=NAME"), "{a}");
    let a = ask(&addr, &upgrade("/runCase?case=9&agent=me")).await;
    assert!(a.starts_with("HTTP/1.1 400 ") && a.contains("from 1 to 8"), "{a}");
    let a = ask(&addr, &upgrade("/runCase?case=x&agent=me")).await;
    assert!(a.starts_with("HTTP/1.1 400 ") && a.contains("\"x\""), "{a}");
    let a = ask(&addr, &upgrade("/runCase?case=1")).await;
    assert!(a.starts_with("HTTP/1.1 400 ") && a.contains("agent=NAME"), "{a}");
    let a = ask(&addr, &upgrade("/runCase?case=1&case=2&agent=me")).await;
    assert!(a.starts_with("HTTP/1.1 400 ") && a.contains("twice"), "{a}");
    let a = ask(&addr, &upgrade(&format!("/runCase?case=1&agent={}", "a".repeat(200)))).await;
    assert!(a.starts_with("HTTP/1.1 400 ") && a.contains("128 bytes"), "{a}");
    // Not HTTP at all: the core's refusal.
    let a = ask(&addr, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n").await;
    assert!(a.starts_with("HTTP/1.1 400 "), "{a}");
    // A head that never ends: 408 at the bound.
    let mut tcp = TcpStream::connect(&addr).await.unwrap();
    tcp.write_all(b"GET /getCaseCount HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut answer)).await.unwrap().unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 408 "), "{}", String::from_utf8_lossy(&answer));
    // One agent is the limit here: a second is told so.
    assert_eq!(run(&addr, 1, "first", Client::Own).await, "OK");
    let a = ask(&addr, &upgrade("/runCase?case=1&agent=second")).await;
    assert!(a.starts_with("HTTP/1.1 503 ") && a.contains("--max-agents"), "{a}");
}

#[tokio::test]
async fn a_client_that_never_finishes_is_cut_and_others_go_on() {
    let options = ServeOptions { max_connections: 3, head_timeout: Duration::from_secs(2), ..ServeOptions::default() };
    let (addr, checker, _serving) = start("1.1.1,18.1", options, None, 4).await;
    // Opens case 1 (the checker sends a text message) and never answers.
    let mut stuck = TcpStream::connect(&addr).await.unwrap();
    stuck.write_all(&upgrade("/runCase?case=1&agent=stuck")).await.unwrap();
    let mut head = [0u8; 256];
    let _ = stuck.read(&mut head).await.unwrap();
    // Meanwhile another agent runs its cases.
    assert_eq!(run(&addr, 1, "quick", Client::Own).await, "OK");
    assert_eq!(run(&addr, 2, "quick", Client::Own).await, "OK");
    // The stuck one holds a slot: of three more connections at once, at
    // least one is answered 503, the others 408 when their heads do not come.
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut tcp = TcpStream::connect(&addr).await.unwrap();
        tcp.write_all(b"GET /getCaseCount HTTP/1.1\r\n").await.unwrap();
        held.push(tcp);
    }
    let mut busy = 0;
    for mut tcp in held {
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut answer)).await.unwrap().unwrap();
        let answer = String::from_utf8_lossy(&answer).into_owned();
        assert!(answer.starts_with("HTTP/1.1 503 ") || answer.starts_with("HTTP/1.1 408 "), "{answer}");
        busy += usize::from(answer.starts_with("HTTP/1.1 503 "));
    }
    assert!(busy >= 1);
    // The case's time limit (5 s) cuts it: FAILED, saying the time ran out.
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stuck.read_to_end(&mut rest)).await.unwrap().unwrap();
    assert_eq!(run_status(&addr, 1, "stuck").await, "FAILED");
    let results = checker.board().results();
    let (_, o) = &results["stuck"][0];
    assert_eq!(o.verdict, wscope_check::Verdict::Failed);
    assert!(o.reason.contains("ran out of time"), "{}", o.reason);
}

#[tokio::test]
async fn the_report_is_written_per_agent_and_shutdown_on_complete_stops() {
    let dir = std::env::temp_dir().join(format!("wscope-serve-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("clients.json");
    let (addr, _checker, serving) = start("1.1.1,1.1.2,19.1", ServeOptions::default(), Some(path.clone()), 4).await;
    for agent in ["own", "lax"] {
        for n in 1..=3 {
            let client = if agent == "own" { Client::Own } else { Client::Lax };
            run(&addr, n, agent, client).await;
        }
    }
    // Run again: the later result replaces the earlier one.
    session(&addr, "/runCase?case=1&agent=own", Client::Own).await;
    session(&addr, "/updateReports?agent=own&shutdownOnComplete=true", Client::Own).await;
    tokio::time::timeout(Duration::from_secs(5), serving).await.unwrap().unwrap();
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(report["role"], "client");
    assert_eq!(report["agents"], serde_json::json!(["lax", "own"]));
    let cases = report["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 6);
    let of = |agent: &str, id: &str| cases.iter().find(|c| c["agent"] == agent && c["id"] == id).unwrap().clone();
    assert_eq!(of("own", "1.1.1")["verdict"], "OK");
    // The lax client echoes a masked frame a client must refuse.
    let lax = of("lax", "19.1");
    assert_eq!((lax["verdict"].as_str(), lax["section"].as_str()), (Some("FAILED"), Some("5.1")));
    // The bytes each way: the client's request first, the checker's 101.
    let records = of("own", "1.1.2")["records"].as_array().unwrap().clone();
    assert_eq!(records[0]["from"], "client");
    assert!(records[0]["hex"].as_str().unwrap().starts_with(&hex(b"GET /runCase?case=2")));
    assert_eq!(records[1]["from"], "server");
    assert!(records[1]["hex"].as_str().unwrap().starts_with(&hex(b"HTTP/1.1 101 ")));
    assert_eq!(report["summary"]["own"]["OK"], 3);
    assert_eq!(report["summary"]["lax"]["FAILED"], 1);
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
