//! `/check`: the conformance checker run by the server for the page. Bad
//! requests get an `error` note and the session stays usable; a run reports
//! `start`, one `case` per case (the report's JSON, bytes included) and
//! `end`; one run at a time on the whole server; only the server's own
//! `/echo` and the operator's targets can be checked.

use crate::support::{start, ws_connect, ws_next};
use futures_util::SinkExt as _;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

async fn note(ws: &mut crate::support::Ws) -> Value {
    match ws_next(ws).await {
        Message::Text(t) => serde_json::from_str(t.as_str()).unwrap(),
        other => panic!("expected a JSON note, got {other:?}"),
    }
}

async fn ask(ws: &mut crate::support::Ws, request: &str) -> Value {
    ws.send(Message::text(request)).await.unwrap();
    note(ws).await
}

#[tokio::test]
async fn bad_requests_are_answered_and_a_run_reports_every_case() {
    let server = start(|c| c.check.targets = vec!["ws://127.0.0.1:9/".into()]).await;
    let addr = server.local_addr();
    let mut ws = ws_connect(addr, "/check").await;
    for (request, says) in [
        ("hello", "expected {\"target\": 0"),
        ("{\"target\": 2}", "no target 2; there are 2"),
        ("{\"target\": 0, \"cases\": \"99.*\"}", "no case matches"),
    ] {
        let n = ask(&mut ws, request).await;
        assert_eq!(n["type"], "error", "{request}");
        assert!(n["message"].as_str().unwrap().contains(says), "{request}: {n}");
    }
    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    assert_eq!(note(&mut ws).await["type"], "error");

    // A run against the server's own /echo: every note in order.
    let start = ask(&mut ws, r#"{"target": 0, "cases": "1.1.1,2.2,16.1"}"#).await;
    assert_eq!(start["type"], "start");
    assert_eq!(start["target"], format!("ws://{addr}/echo"));
    assert_eq!(start["total"], 3);
    // Meanwhile, another page cannot start a second run.
    let mut other = ws_connect(addr, "/check").await;
    let busy = ask(&mut other, r#"{"target": 0, "cases": "1.1.1"}"#).await;
    assert_eq!(busy["type"], "error");
    assert!(busy["message"].as_str().unwrap().contains("another check is running"), "{busy}");
    let mut ids = Vec::new();
    let end = loop {
        let n = note(&mut ws).await;
        if n["type"] != "case" {
            break n;
        }
        let case = &n["case"];
        assert_eq!(case["verdict"], "OK", "{case}");
        assert!(case["records"].as_array().is_some_and(|r| !r.is_empty()), "{case}");
        ids.push(case["id"].as_str().unwrap().to_owned());
    };
    ids.sort();
    assert_eq!(ids, ["1.1.1", "16.1", "2.2"]);
    assert_eq!(end["type"], "end");
    assert_eq!(end["summary"]["OK"], 3);
    assert!(end["stopped"].is_null());
    // The operator's target, where nothing listens (port 9): said in one
    // line; the first run's end freed the server for this one.
    let refused = ask(&mut other, r#"{"target": 1, "cases": "1.1.1"}"#).await;
    assert_eq!(refused["type"], "error");
    let message = refused["message"].as_str().unwrap();
    assert!(message.starts_with("ws://127.0.0.1:9/: no WebSocket server there: cannot connect"), "{message}");
    // And the session goes on: a run against /echo.
    assert_eq!(ask(&mut other, r#"{"target": 0, "cases": "1.1.2"}"#).await["type"], "start");
    assert_eq!(note(&mut other).await["case"]["verdict"], "OK");
    assert_eq!(note(&mut other).await["type"], "end");
    server.shutdown().await;
}

#[tokio::test]
async fn published_reports_are_served_by_number_only() {
    let dir = std::env::temp_dir().join(format!("wscope-check-reports-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let report = dir.join("nightly.json");
    std::fs::write(
        &report,
        b"{\"target\":\"ws://x/\",\"tool\":\"wscope-check\",\n\"cases\": [\n],\n\"summary\": {}}\n",
    )
    .unwrap();
    let server = start(|c| c.check.reports = vec![report.clone()]).await;
    let addr = server.local_addr();
    let get = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").into_bytes();
    let ok = crate::support::http_exchange(addr, &get("/check/report/0")).await;
    assert!(ok.status_line.contains(" 200 "), "{}", ok.status_line);
    assert_eq!(ok.body, std::fs::read(&report).unwrap());
    // The page learns the file's name, never its path.
    let limits = crate::support::http_exchange(addr, &get("/limits")).await;
    let limits: Value = serde_json::from_slice(&limits.body).unwrap();
    assert_eq!(limits["check"]["reports"], serde_json::json!(["nightly.json"]));
    for path in
        ["/check/report/1", "/check/report/-1", "/check/report/0/../../etc/passwd", "/check/report/nightly.json"]
    {
        let r = crate::support::http_exchange(addr, &get(path)).await;
        assert!(r.status_line.contains(" 404 "), "{path}: {}", r.status_line);
    }
    server.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_page_that_leaves_frees_the_server_for_the_next_run() {
    // 17.3 (a head that never ends) lasts as long as the server waits for
    // heads: a minute here, far past the tests' 10 s bound.
    let server = start(|c| c.handshake_timeout = std::time::Duration::from_secs(60)).await;
    let addr = server.local_addr();
    let mut first = ws_connect(addr, "/check").await;
    assert_eq!(ask(&mut first, r#"{"target": 0, "cases": "17.3"}"#).await["type"], "start");
    drop(first);
    // The run stops with its page: another page gets the server (asked again
    // until the first run has noticed, within the tests' bound).
    crate::support::within("the server to be free again", async {
        loop {
            let mut next = ws_connect(addr, "/check").await;
            let n = ask(&mut next, r#"{"target": 0, "cases": "1.1.1"}"#).await;
            if n["type"] == "start" {
                assert_eq!(note(&mut next).await["case"]["verdict"], "OK");
                return;
            }
            assert!(n["message"].as_str().unwrap().contains("another check is running"), "{n}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    })
    .await;
    server.shutdown().await;
}

/// The client checker under `/clients/`: Autobahn's fuzzingserver protocol
/// on the server's own port, answered by tokio-tungstenite here as any
/// client would; a wrong endpoint under the prefix gets a 404 naming them;
/// `--clients-max-connections 0` turns it off.
#[tokio::test]
async fn the_client_checker_answers_under_clients() {
    let server = crate::support::start_default().await;
    let addr = server.local_addr();
    let mut ws = ws_connect(addr, "/clients/getCaseCount").await;
    assert_eq!(ws_next(&mut ws).await, Message::text("530"));
    let mut ws = ws_connect(addr, "/clients/getCaseInfo?case=518").await;
    let info: Value = match ws_next(&mut ws).await {
        Message::Text(t) => serde_json::from_str(t.as_str()).unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(info["id"], "18.1");
    // A case: 1.1.2 (125 bytes of text), echoed.
    let mut ws = ws_connect(addr, "/clients/runCase?case=2&agent=tungstenite").await;
    let m = ws_next(&mut ws).await;
    assert_eq!(m.len(), 125);
    ws.send(m).await.unwrap();
    while let Some(Ok(_)) = futures_util::StreamExt::next(&mut ws).await {}
    let mut ws = ws_connect(addr, "/clients/getCaseReport?case=2&agent=tungstenite").await;
    let report: Value = match ws_next(&mut ws).await {
        Message::Text(t) => serde_json::from_str(t.as_str()).unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!((report["id"].as_str(), report["verdict"].as_str()), (Some("1.1.2"), Some("OK")), "{report}");
    assert!(report["records"].as_array().is_some_and(|r| r.len() >= 4), "{report}");
    let (status, body) = upgrade_answer(addr, "/clients/nothing").await;
    assert!(status.starts_with("HTTP/1.1 404 "), "{status}");
    assert!(body.contains("/clients/runCase?case=N&agent=NAME"), "{body}");
    server.shutdown().await;

    // Off: the path is only a file that does not exist.
    let off = start(|c| c.check.client_connections = 0).await;
    let mut client = crate::support::RawClient::tcp(off.local_addr()).await;
    client.send(b"GET /clients/getCaseCount HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let status = client.read_head().await.status_line;
    assert!(status.starts_with("HTTP/1.1 404 "), "{status}");
    off.shutdown().await;
}

/// An upgrade request to `target` that is refused and closed: the status
/// line and the body.
async fn upgrade_answer(addr: std::net::SocketAddr, target: &str) -> (String, String) {
    let mut client = crate::support::RawClient::tcp(addr).await;
    let request = wscope_core::handshake::ClientHandshake::new(&addr.to_string(), target, crate::support::random16());
    client.send(&request.request().unwrap()).await;
    let answer = client.read_to_end().await;
    (answer.status_line, String::from_utf8_lossy(&answer.body).into_owned())
}
