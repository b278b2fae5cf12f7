//! The whole catalogue through the command, against wscope-server: every
//! case OK (or INFORMATIONAL where the RFC leaves it open), the same
//! verdict and close behaviour as Autobahn|Testsuite gave the same server
//! on Autobahn's cases (a committed fixture, with the command that made
//! it), wscope's own cases (14-17) all OK, and a report that follows its
//! documented schema.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::Value;
use std::process::Command;
use wscope_server::{Server, ServerConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_against_wscope_server_agrees_with_autobahn() {
    let fixture: Value = serde_json::from_str(include_str!("fixtures/autobahn-wscope-server.json")).unwrap();
    let autobahn = fixture["cases"].as_object().unwrap();
    let www = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../www"));
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), www);
    // The fastest compression: groups 12 and 13 send 2.5 GB through the
    // server's compressor, and the level changes no verdict.
    config.ws.compression_level = 1;
    // 17.3 (a head that never ends) waits for the server to give up.
    config.handshake_timeout = std::time::Duration::from_secs(2);
    let server = Server::start(config).await.unwrap();
    let url = format!("ws://{}/echo", server.local_addr());
    let dir = std::env::temp_dir().join(format!("wscope-check-full-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let report = dir.join("report.json");
    let args: Vec<String> = ["--jobs", "2", "--timeout", "20", "--report", report.to_str().unwrap(), url.as_str()]
        .map(String::from)
        .to_vec();
    let out = tokio::task::spawn_blocking(move || Command::new(env!("CARGO_BIN_EXE_wscope-check")).args(args).output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("summary: 547 cases: 544 OK, 0 NON-STRICT, 3 INFORMATIONAL, 0 UNIMPLEMENTED, 0 FAILED"),
        "{stdout}"
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!((report["tool"].as_str(), report["target"].as_str()), (Some("wscope-check"), Some(url.as_str())));
    assert_eq!(report["summary"]["OK"], 544);
    let cases = report["cases"].as_array().unwrap();
    assert_eq!(cases.len(), autobahn.len() + 30);
    for case in cases {
        let id = case["id"].as_str().unwrap();
        match autobahn.get(id) {
            Some(theirs) => {
                assert_eq!(case["verdict"], theirs["behavior"], "{id}: {}", case["reason"]);
                assert_eq!(case["close"], theirs["behaviorClose"], "{id}: {}", case["close_reason"]);
            }
            // wscope's own: OK, with the section it holds the server to.
            None => {
                assert_eq!(case["verdict"], "OK", "{id}: {}", case["reason"]);
                assert!(!case["section"].as_str().unwrap().is_empty(), "{id}");
                assert!(["14", "15", "16", "17"].contains(&case["group"].as_str().unwrap()), "{id}");
            }
        }
        // The schema: every field, and the bytes from the request on.
        for field in ["group", "description", "expectation", "reason", "close_reason", "millis", "records"] {
            assert!(!case[field].is_null(), "{id}: {field}");
        }
        let first = &case["records"][0];
        assert_eq!(first["from"], "client");
        let method = if id == "14.6" { "504f5354" } else { "474554" };
        assert!(first["hex"].as_str().unwrap().starts_with(&format!("{method}202f6563686f")), "{id}: GET /echo");
        // At most the record limit kept; the rest counted.
        let kept: usize =
            case["records"].as_array().unwrap().iter().map(|r| r["hex"].as_str().unwrap().len() / 2).sum();
        assert!(kept <= wscope_check::run::DEFAULT_RECORD_LIMIT, "{id}");
        if id == "9.1.6" {
            assert!(case["dropped_bytes"].as_u64().unwrap() > 30 << 20, "{id}: 2 x 16 MiB crossed");
        }
    }
    server.shutdown().await;
}
