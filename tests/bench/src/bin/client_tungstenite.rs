//! tokio-tungstenite's client running Autobahn's client loop, as its own
//! repository's `autobahn-client` example does: `/getCaseCount`, each case
//! echoing every text and binary message until the connection ends, then
//! `/updateReports`. For the client checker's parity table and tests:
//!
//! `client-tungstenite ws://127.0.0.1:9001 [AGENT]`

use futures_util::{SinkExt, StreamExt};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

/// A case takes at most this long on the client's side.
const CASE_LIMIT: Duration = Duration::from_secs(600);

async fn case_count(base: &str) -> Option<usize> {
    let (mut ws, _) = connect_async(format!("{base}/getCaseCount")).await.ok()?;
    while let Some(Ok(msg)) = ws.next().await {
        if let Message::Text(t) = msg {
            let _ = ws.close(None).await;
            return t.as_str().trim().parse().ok();
        }
    }
    None
}

async fn run_case(url: String) {
    // A refused handshake or a failed connection is the checker's to judge.
    let Ok((mut ws, _)) = connect_async(url).await else { return };
    while let Some(Ok(msg)) = ws.next().await {
        if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
            break;
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let base = args.next().unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let base = base.trim_end_matches('/').to_owned();
    let agent = args.next().unwrap_or_else(|| "tokio-tungstenite".into());
    let started = Instant::now();
    let Some(count) = case_count(&base).await else {
        eprintln!("client-tungstenite: no case count from {base}/getCaseCount");
        return ExitCode::FAILURE;
    };
    for n in 1..=count {
        let url = format!("{base}/runCase?case={n}&agent={agent}");
        let _ = tokio::time::timeout(CASE_LIMIT, run_case(url)).await;
    }
    if let Ok((mut ws, _)) = connect_async(format!("{base}/updateReports?agent={agent}")).await {
        while let Some(Ok(_)) = ws.next().await {}
    }
    println!("{agent}: {count} cases in {:.1} s", started.elapsed().as_secs_f64());
    ExitCode::SUCCESS
}
