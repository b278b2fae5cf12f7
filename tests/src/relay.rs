//! The relay (`--relay LISTEN=URL`): every byte passed on unchanged both
//! ways (only `Host` rewritten), the record exactly what each peer sent,
//! both directions decoded with each side's rule breaks counted and named,
//! 502 and the upstream's own status passed on, the session cap, a stalled
//! side stalling the other, and the Sessions panel's live list.

use crate::support::{
    Frame, OP_BINARY, RawClient, Ws, chunk_of, expected_accept, find_head_end, start, start_default, tap_note, within,
    ws_connect, ws_next,
};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use wscope_server::notes::TapNote;
use wscope_server::{RelaySpec, Server};

/// A socket that keeps a copy of every byte read from it and written to it.
struct Recorded {
    inner: TcpStream,
    read: Arc<Mutex<Vec<u8>>>,
    written: Arc<Mutex<Vec<u8>>>,
}

/// The two copies of a [`Recorded`] socket.
#[derive(Clone, Default)]
struct Copies {
    read: Arc<Mutex<Vec<u8>>>,
    written: Arc<Mutex<Vec<u8>>>,
}

impl Copies {
    fn wrap(&self, inner: TcpStream) -> Recorded {
        Recorded { inner, read: Arc::clone(&self.read), written: Arc::clone(&self.written) }
    }
    fn read(&self) -> Vec<u8> {
        self.read.lock().unwrap().clone()
    }
    fn written(&self) -> Vec<u8> {
        self.written.lock().unwrap().clone()
    }
}

impl AsyncRead for Recorded {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = r {
            self.read.lock().unwrap().extend_from_slice(&buf.filled()[before..]);
        }
        r
    }
}

impl AsyncWrite for Recorded {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = r {
            self.written.lock().unwrap().extend_from_slice(&data[..n]);
        }
        r
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A fresh path for a relay log under the target directory.
fn log_path(name: &str) -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/relay-tests"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

/// A wscope server whose one relay forwards to `upstream`.
async fn relay_to(
    upstream: SocketAddr,
    log: Option<PathBuf>,
    adjust: impl FnOnce(&mut wscope_server::RelayConfig),
) -> (Server, SocketAddr) {
    let server = start(|c| {
        c.relay.relays =
            vec![RelaySpec { listen: "127.0.0.1:0".parse().unwrap(), upstream: format!("ws://{upstream}") }];
        c.relay.log = log;
        adjust(&mut c.relay);
    })
    .await;
    let relay = server.relay_addrs()[0];
    (server, relay)
}

/// The summary of session `id` once it is over.
async fn ended(server: &Server, id: u64) -> Value {
    within("the relayed session to end", async {
        loop {
            if let Some(s) = server.relay_sessions().list().into_iter().find(|s| s.id == id) {
                if s.summary.ended.is_some() {
                    return serde_json::to_value(&s).unwrap();
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

/// The lines of a relay log, once its `end` line for `session` is there.
async fn log_lines(path: &PathBuf, session: u64) -> Vec<Value> {
    within("the relay log's end line", async {
        loop {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let lines: Vec<Value> =
                text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
            if lines.iter().any(|l| l["type"] == "end" && l["session"] == session) {
                return lines;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

/// A session's record from `/relay/tap?session=ID`: (client → server,
/// server → client), read to its `end` note.
async fn record_of(server: &Server, id: u64) -> (Vec<u8>, Vec<u8>) {
    let mut ws = ws_connect(server.local_addr(), &format!("/relay/tap?session={id}")).await;
    match tap_note(&ws_next(&mut ws).await) {
        Some(TapNote::Hello { token_bits: 0, connection: Some(_) }) => {}
        other => panic!("expected the hello note of a relayed session, got {other:?}"),
    }
    let (mut up, mut down) = (Vec::new(), Vec::new());
    loop {
        let message = ws_next(&mut ws).await;
        match &message {
            Message::Binary(data) => match chunk_of(data) {
                (0, bytes) => up.extend_from_slice(bytes),
                (_, bytes) => down.extend_from_slice(bytes),
            },
            Message::Text(_) => match tap_note(&message).unwrap() {
                TapNote::End { .. } => return (up, down),
                TapNote::Dropped { .. } | TapNote::Evicted => panic!("the record lost bytes"),
                _ => {}
            },
            other => panic!("unexpected message {other:?}"),
        }
    }
}

/// The tokio-tungstenite server behind the relay: echoes every message;
/// on "speak" sends three of its own and a ping first.
async fn tungstenite_upstream(listener: TcpListener, copies: Copies) {
    let (tcp, _) = listener.accept().await.unwrap();
    let mut ws = tokio_tungstenite::accept_async(copies.wrap(tcp)).await.unwrap();
    while let Some(Ok(message)) = ws.next().await {
        match message {
            Message::Text(t) if t.as_str() == "speak" => {
                ws.send(Message::Ping(b"are you there".to_vec().into())).await.unwrap();
                for i in 0..3 {
                    ws.send(Message::Text(format!("server says {i}").into())).await.unwrap();
                }
            }
            m @ (Message::Text(_) | Message::Binary(_)) => ws.send(m).await.unwrap(),
            _ => {}
        }
    }
}

#[tokio::test]
async fn tungstenite_through_the_relay_every_byte_identical_and_recorded() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = listener.local_addr().unwrap();
    let server_copies = Copies::default();
    let upstream_task = tokio::spawn(tungstenite_upstream(listener, server_copies.clone()));
    let log = log_path("tungstenite");
    let (server, relay) = relay_to(upstream, Some(log.clone()), |_| {}).await;

    let client_copies = Copies::default();
    let tcp = TcpStream::connect(relay).await.unwrap();
    let url = format!("ws://{relay}/chat?room=7&user=ada");
    let (mut ws, response) =
        within("handshake", tokio_tungstenite::client_async(url.as_str(), client_copies.wrap(tcp))).await.unwrap();
    assert_eq!(response.status().as_u16(), 101);
    let big: Vec<u8> = (0..70_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let sent = [
        Message::Text("hello through the relay".into()),
        Message::Binary(big.clone().into()),
        Message::Text("é€😀".repeat(50).into()),
        Message::Binary(Vec::new().into()),
    ];
    for m in &sent {
        ws.send(m.clone()).await.unwrap();
        assert_eq!(&next_of(&mut ws).await, m, "the echo through the relay");
    }
    ws.send(Message::Text("speak".into())).await.unwrap();
    let mut heard = Vec::new();
    while heard.len() < 3 {
        match next_of(&mut ws).await {
            Message::Text(t) => heard.push(t.to_string()),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(heard, ["server says 0", "server says 1", "server says 2"]);
    ws.close(Some(CloseFrame { code: CloseCode::Normal, reason: "bye".into() })).await.unwrap();
    while let Some(Ok(_)) = within("the close", ws.next()).await {}
    drop(ws);
    within("the upstream to finish", upstream_task).await.unwrap();

    let summary = ended(&server, 1).await;
    // Every byte identical: the upstream read what the client wrote, with
    // only Host rewritten, and the client read what the upstream wrote.
    let client_wrote = client_copies.written();
    let rewritten = String::from_utf8_lossy(&client_wrote[..find_head_end(&client_wrote).unwrap()])
        .replace(&format!("Host: {relay}\r\n"), &format!("Host: {upstream}\r\n"));
    let head_end = find_head_end(&client_wrote).unwrap();
    let expected_upstream_read = [rewritten.as_bytes(), &client_wrote[head_end..]].concat();
    assert_ne!(expected_upstream_read, client_wrote, "the Host header was rewritten");
    assert_eq!(server_copies.read(), expected_upstream_read, "the upstream read what the client wrote");
    assert_eq!(client_copies.read(), server_copies.written(), "the client read what the upstream wrote");
    assert!(server_copies.read().starts_with(b"GET /chat?room=7&user=ada HTTP/1.1\r\n"));
    // The record holds what each peer sent.
    let (up, down) = record_of(&server, 1).await;
    assert_eq!(up, client_wrote, "the record of the client's side");
    assert_eq!(down, server_copies.written(), "the record of the server's side");

    // Decoded: counts and verdicts.
    assert_eq!(summary["state"], "closed");
    assert_eq!(summary["status"], 101);
    assert_eq!(summary["target"], "/chat?room=7&user=ada");
    assert_eq!(summary["client"]["messages"], 5, "{summary}");
    assert_eq!(summary["server"]["messages"], 7, "{summary}");
    assert_eq!(summary["client"]["violations"], 0, "{summary}");
    assert_eq!(summary["server"]["violations"], 0, "{summary}");
    assert_eq!(summary["client"]["bytes"], client_wrote.len() as u64);
    assert_eq!(summary["server"]["bytes"], server_copies.written().len() as u64);
    assert_eq!(summary["close"]["from"], "client");
    assert_eq!(summary["close"]["code"], 1000);
    assert_eq!(summary["close"]["reason"], "bye");

    // The log: one line per message, each as sent.
    let lines = log_lines(&log, 1).await;
    let texts: Vec<&str> = lines
        .iter()
        .filter(|l| l["type"] == "message" && l["from"] == "server")
        .filter_map(|l| l["text"].as_str())
        .collect();
    assert_eq!(texts.len(), 5, "the server's text messages: {texts:?}");
    assert_eq!(texts[0], "hello through the relay");
    assert_eq!(texts[2], "server says 0");
    let binary =
        lines.iter().find(|l| l["type"] == "message" && l["kind"] == "binary" && l["from"] == "client").unwrap();
    assert_eq!(binary["len"], 70_000);
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD.decode(binary["base64"].as_str().unwrap()).unwrap();
    assert_eq!(decoded, big[..decoded.len()], "the logged payload is the message's start");
    assert!(lines.iter().any(|l| l["type"] == "control" && l["opcode"] == "Ping" && l["from"] == "server"));
    assert!(lines.iter().any(|l| l["type"] == "control" && l["opcode"] == "Pong" && l["from"] == "client"));
    assert!(!lines.iter().any(|l| l["type"] == "violation"), "no rule broken");
    let pong = lines.iter().find(|l| l["opcode"] == "Pong").unwrap();
    assert!(pong["rtt_us"].is_u64(), "the pong answers the server's ping: {pong}");

    // The JSON lines export is the log made again from the record (times
    // aside: the log's are when it was written).
    let export = get(server.local_addr(), "/relay/export/1.jsonl").await;
    let untimed = |mut v: Value| {
        v.as_object_mut().unwrap().remove("time");
        v
    };
    let exported: Vec<Value> =
        String::from_utf8(export).unwrap().lines().map(|l| untimed(serde_json::from_str(l).unwrap())).collect();
    let logged: Vec<Value> = lines.into_iter().filter(|l| l["session"] == 1).map(untimed).collect();
    assert_eq!(exported.len(), logged.len(), "as many lines exported as logged");
    for (i, (e, l)) in exported.iter().zip(&logged).enumerate() {
        assert!(e == l, "line {i} differs: exported {:.300} logged {:.300}", e.to_string(), l.to_string());
    }

    // The HAR export: HAR 1.2 with Chrome's WebSocket fields.
    let har: Value = serde_json::from_slice(&get(server.local_addr(), "/relay/export/1.har").await).unwrap();
    check_har(&har, relay, &big);
    let _ = std::fs::remove_file(&log);
}

/// `GET path`: the body of a 200.
async fn get(addr: SocketAddr, path: &str) -> Vec<u8> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let response = crate::support::http_exchange(addr, request.as_bytes()).await;
    assert_eq!(response.status_line, "HTTP/1.1 200 OK", "{path}");
    response.body
}

/// The fields HAR 1.2 requires, and those Chrome's DevTools writes for a
/// WebSocket (`_resourceType`, `_webSocketMessages` of `type`, `time`,
/// `opcode`, `data`), with the session's messages in order.
fn check_har(har: &Value, relay: SocketAddr, big: &[u8]) {
    let log = &har["log"];
    assert_eq!(log["version"], "1.2");
    assert_eq!(log["creator"]["name"], "wscope");
    assert!(log["pages"].is_array());
    let entries = log["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    for field in ["startedDateTime", "time", "request", "response", "cache", "timings"] {
        assert!(!e[field].is_null(), "entry.{field} is required");
    }
    assert!(e["startedDateTime"].as_str().unwrap().ends_with('Z'));
    let request = &e["request"];
    assert_eq!(request["method"], "GET");
    assert_eq!(request["url"], format!("ws://{relay}/chat?room=7&user=ada"));
    assert_eq!(request["httpVersion"], "HTTP/1.1");
    assert_eq!(
        request["queryString"],
        serde_json::json!([{"name": "room", "value": "7"}, {"name": "user", "value": "ada"}])
    );
    for field in ["cookies", "headers", "headersSize", "bodySize"] {
        assert!(!request[field].is_null(), "request.{field} is required");
    }
    assert!(
        request["headers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["name"].as_str().unwrap().eq_ignore_ascii_case("sec-websocket-key"))
    );
    let response = &e["response"];
    assert_eq!(response["status"], 101);
    assert_eq!(response["statusText"], "Switching Protocols");
    for field in ["httpVersion", "cookies", "headers", "content", "redirectURL", "headersSize", "bodySize"] {
        assert!(!response[field].is_null(), "response.{field} is required");
    }
    for field in ["send", "wait", "receive"] {
        assert!(e["timings"][field].is_number(), "timings.{field} is required");
    }
    assert_eq!(e["_resourceType"], "websocket");
    let messages = e["_webSocketMessages"].as_array().unwrap();
    for m in messages {
        let keys: Vec<&String> = m.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["data", "opcode", "time", "type"], "Chrome's fields, no more");
        assert!(m["time"].as_f64().unwrap() > 1.7e9, "seconds since the epoch");
    }
    let sent: Vec<(&str, u64)> = messages
        .iter()
        .filter(|m| m["type"] == "send")
        .map(|m| (m["data"].as_str().unwrap(), m["opcode"].as_u64().unwrap()))
        .collect();
    assert_eq!(sent.len(), 5);
    assert_eq!(sent[0], ("hello through the relay", 1));
    use base64::Engine as _;
    assert_eq!(base64::engine::general_purpose::STANDARD.decode(sent[1].0).unwrap(), big, "binary data is base64");
    assert_eq!(sent[1].1, 2);
    assert_eq!(messages.iter().filter(|m| m["type"] == "receive").count(), 7);
    // wscope's own: the summary, the rules broken, the raw records.
    assert_eq!(e["_wscope"]["session"]["id"], 1);
    assert_eq!(e["_wscope"]["violations"], serde_json::json!([]));
    assert!(e["_wscope"]["records"].as_array().unwrap().len() >= 2);
}

/// Violations of a raw client are flagged, named the client's, and the
/// server's answer (here wscope's own /echo, failing the connection) is not.
#[tokio::test]
async fn a_raw_clients_violations_are_the_clients() {
    let echo = start_default().await;
    let log = log_path("raw-client");
    let (server, relay) = relay_to(echo.local_addr(), Some(log.clone()), |_| {}).await;
    let mut client = RawClient::connect(relay, "/echo").await;
    // A text frame without a mask (section 5.1).
    client.send_frame(&Frame::text("naked").unmasked()).await;
    let (close, _) = client.expect_close(1002).await;
    assert_eq!(close.close_code(), Some(1002));
    client.shutdown().await;
    let summary = ended(&server, 1).await;
    assert_eq!(summary["client"]["violations"], 1, "{summary}");
    assert_eq!(summary["server"]["violations"], 0, "{summary}");
    let lines = log_lines(&log, 1).await;
    let violations: Vec<&Value> = lines.iter().filter(|l| l["type"] == "violation").collect();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0]["from"], "client");
    assert_eq!(violations[0]["section"], "5.1");
    assert_eq!(violations[0]["rfc"], 6455);
    assert_eq!(violations[0]["close_code"], 1002);
    let _ = std::fs::remove_file(&log);
}

/// A raw server behind the relay: a valid 101, then frames that break
/// three rules. Each is flagged and named the server's; the client's frames
/// are clean.
#[tokio::test]
async fn a_raw_servers_violations_are_the_servers() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = listener.local_addr().unwrap();
    let raw_server = tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        while find_head_end(&buf).is_none() {
            let n = tcp.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the relay sent no whole head");
            buf.extend_from_slice(&chunk[..n]);
        }
        let head = String::from_utf8_lossy(&buf).to_string();
        let key = head
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: ").or_else(|| l.strip_prefix("sec-websocket-key: ")))
            .unwrap()
            .trim()
            .to_string();
        let response = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
            expected_accept(&key)
        );
        tcp.write_all(response.as_bytes()).await.unwrap();
        // Masked (5.1), RSV2 without an extension (5.2), close code 1005 (7.4.1).
        tcp.write_all(&Frame::text("masked").mask([1, 2, 3, 4]).encode()).await.unwrap();
        tcp.write_all(&Frame::new(OP_BINARY, b"rsv".to_vec()).rsv(0b010).unmasked().encode()).await.unwrap();
        tcp.write_all(&Frame::close(1005, b"").unmasked().encode()).await.unwrap();
        // Read until the client goes.
        while tcp.read(&mut chunk).await.is_ok_and(|n| n > 0) {}
    });
    let log = log_path("raw-server");
    let (server, relay) = relay_to(upstream, Some(log.clone()), |_| {}).await;
    let mut client = RawClient::connect(relay, "/anything").await;
    client.send_frame(&Frame::text("clean and masked").mask([9, 8, 7, 6])).await;
    // Wait for the server's three frames to have come through.
    for _ in 0..3 {
        client.read_frame().await;
    }
    client.shutdown().await;
    within("the raw server", raw_server).await.unwrap();
    let summary = ended(&server, 1).await;
    assert_eq!(summary["server"]["violations"], 3, "{summary}");
    assert_eq!(summary["client"]["violations"], 0, "{summary}");
    let lines = log_lines(&log, 1).await;
    let mut found: Vec<(String, String)> = lines
        .iter()
        .filter(|l| l["type"] == "violation")
        .map(|l| (l["from"].as_str().unwrap().to_string(), l["section"].as_str().unwrap().to_string()))
        .collect();
    found.sort();
    let server = |s: &str| ("server".to_string(), s.to_string());
    assert_eq!(found, [server("5.1"), server("5.2"), server("7.4.1")]);
    let _ = std::fs::remove_file(&log);
}

#[tokio::test]
async fn an_absent_upstream_is_a_502_with_its_reason() {
    let gone = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = gone.local_addr().unwrap();
    drop(gone);
    let (server, relay) = relay_to(upstream, None, |_| {}).await;
    let mut client = RawClient::tcp(relay).await;
    client.send(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n").await;
    let response = client.read_to_end().await;
    assert_eq!(response.status_line, "HTTP/1.1 502 Bad Gateway");
    let body = String::from_utf8_lossy(&response.body);
    assert!(body.contains(&format!("ws://{upstream}")) && body.contains("cannot be reached"), "{body}");
    let summary = ended(&server, 1).await;
    assert!(summary["ended"].as_str().unwrap().contains("cannot be reached"), "{summary}");
    assert_eq!(summary["status"], Value::Null, "no upstream status");
}

/// The upstream's refusal reaches the client as the upstream wrote it.
#[tokio::test]
async fn the_upstreams_refusal_is_passed_on_as_it_was() {
    let echo = start_default().await;
    let (server, relay) = relay_to(echo.local_addr(), None, |_| {}).await;
    // Version 8: wscope's /echo answers 426 and closes.
    let request = b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n";
    let mut client = RawClient::tcp(relay).await;
    client.send(request).await;
    let through = client.read_to_end().await;
    let mut direct = RawClient::tcp(echo.local_addr()).await;
    direct.send(request).await;
    let direct = direct.read_to_end().await;
    assert_eq!(through.status_line, "HTTP/1.1 426 Upgrade Required");
    assert_eq!(through.status_line, direct.status_line);
    assert_eq!(through.headers, direct.headers);
    assert_eq!(through.body, direct.body);
    // The upstream closed; the session ends once the client has too.
    drop(client);
    let summary = ended(&server, 1).await;
    assert_eq!(summary["state"], "closed");
    assert_eq!(summary["status"], 426, "{summary}");
}

#[tokio::test]
async fn past_the_session_cap_a_503() {
    let echo = start_default().await;
    let (_server, relay) = relay_to(echo.local_addr(), None, |r| r.max_sessions = 1).await;
    let mut first = ws_connect(relay, "/echo").await;
    first.send(Message::Text("one".into())).await.unwrap();
    assert_eq!(ws_next(&mut first).await, Message::Text("one".into()));
    let mut second = RawClient::tcp(relay).await;
    second.send(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let response = second.read_to_end().await;
    assert_eq!(response.status_line, "HTTP/1.1 503 Service Unavailable");
    assert!(String::from_utf8_lossy(&response.body).contains("limit 1"));
}

/// An upstream that never reads: the relay holds one chunk, so the client's
/// writes stall once the socket buffers fill, a few MiB at most.
#[tokio::test]
async fn a_stalled_upstream_stalls_the_client() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = listener.local_addr().unwrap();
    let (hold_tx, hold_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4096];
        let n = tcp.read(&mut buf).await.unwrap();
        assert!(n > 0);
        // Never reads again while the test runs.
        let _ = hold_rx.await;
    });
    let (_server, relay) = relay_to(upstream, None, |_| {}).await;
    let mut client = RawClient::tcp(relay).await;
    client.send(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let chunk = vec![0x5a; 64 * 1024];
    let limit: usize = 256 << 20;
    let mut sent = 0usize;
    while sent < limit {
        if !client.try_send_within(&chunk, Duration::from_secs(2)).await {
            break;
        }
        sent += chunk.len();
    }
    assert!(sent < limit, "the relay read {sent} bytes for an upstream that reads nothing");
    let _ = hold_tx.send(());
}

/// The Sessions panel's list: every kept session first, then what changed.
#[tokio::test]
async fn the_sessions_list_follows_a_session() {
    let echo = start_default().await;
    let (server, relay) = relay_to(echo.local_addr(), None, |_| {}).await;
    let mut list: Ws = ws_connect(server.local_addr(), "/relay/sessions").await;
    let first = sessions_note(&ws_next(&mut list).await);
    assert_eq!(first["ids"], serde_json::json!([]));
    let mut ws = ws_connect(relay, "/echo?deflate=off").await;
    ws.send(Message::Text("listed".into())).await.unwrap();
    assert_eq!(ws_next(&mut ws).await, Message::Text("listed".into()));
    ws.close(None).await.unwrap();
    while let Some(Ok(_)) = within("the close", ws.next()).await {}
    drop(ws);
    // Notes until one shows the session closed with its message counted.
    within("the list to show the closed session", async {
        loop {
            let note = sessions_note(&ws_next(&mut list).await);
            assert_eq!(note["ids"], serde_json::json!([1]));
            let changed = note["changed"].as_array().unwrap();
            if let Some(s) = changed.iter().find(|s| s["id"] == 1 && s["state"] == "closed") {
                assert_eq!(s["client"]["messages"], 1);
                assert_eq!(s["server"]["messages"], 1);
                assert_eq!(s["target"], "/echo?deflate=off");
                assert_eq!(s["upstream"], format!("ws://{}", echo.local_addr()));
                break;
            }
        }
    })
    .await;
    // An unknown session's record is a 404.
    let mut client = RawClient::tcp(server.local_addr()).await;
    let mut hs = wscope_core::handshake::ClientHandshake::new("x", "/relay/tap?session=99", [1; 16]);
    hs.extensions = None;
    client.send(&hs.request().unwrap()).await;
    assert_eq!(client.read_to_end().await.status_line, "HTTP/1.1 404 Not Found");
}

/// The next message of a client over a recorded socket.
async fn next_of(ws: &mut tokio_tungstenite::WebSocketStream<Recorded>) -> Message {
    match within("a message", ws.next()).await {
        Some(Ok(m)) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

fn sessions_note(message: &Message) -> Value {
    let Message::Text(t) = message else { panic!("expected a text note, got {message:?}") };
    let note: Value = serde_json::from_str(t.as_str()).unwrap();
    assert_eq!(note["type"], "sessions", "{note}");
    note
}

/// A TLS front for `upstream`: terminates TLS with `cert` and copies bytes
/// both ways.
async fn tls_front(upstream: SocketAddr, cert: &rcgen::CertifiedKey) -> SocketAddr {
    let der = rustls::pki_types::CertificateDer::from(cert.cert.der().to_vec());
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.key_pair.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![der], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let Ok(mut plain) = TcpStream::connect(upstream).await else { return };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    addr
}

/// A `wss://` upstream: refused (502 naming TLS) when its certificate is
/// unknown, relayed with `--relay-ca` or `--relay-insecure`.
#[tokio::test]
async fn a_wss_upstream_with_a_ca_file_or_insecure_and_a_502_otherwise() {
    let echo = start_default().await;
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let front = tls_front(echo.local_addr(), &cert).await;
    let upstream = format!("wss://localhost:{}", front.port());
    let ca = log_path("relay-ca").with_extension("pem");
    std::fs::write(&ca, cert.cert.pem()).unwrap();
    let with = |ca: Option<PathBuf>, insecure: bool| {
        let upstream = upstream.clone();
        async move {
            start(move |c| {
                c.relay.relays = vec![RelaySpec { listen: "127.0.0.1:0".parse().unwrap(), upstream }];
                c.relay.ca = ca;
                c.relay.insecure = insecure;
            })
            .await
        }
    };
    // The system's roots do not know a self-signed certificate.
    let unknown = with(None, false).await;
    let mut client = RawClient::tcp(unknown.relay_addrs()[0]).await;
    client.send(b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n").await;
    let response = client.read_to_end().await;
    assert_eq!(response.status_line, "HTTP/1.1 502 Bad Gateway");
    assert!(String::from_utf8_lossy(&response.body).contains("TLS"), "{response:?}");
    for server in [with(Some(ca.clone()), false).await, with(None, true).await] {
        let mut ws = ws_connect(server.relay_addrs()[0], "/echo").await;
        ws.send(Message::Text("over TLS".into())).await.unwrap();
        assert_eq!(ws_next(&mut ws).await, Message::Text("over TLS".into()));
        ws.close(None).await.unwrap();
        while let Some(Ok(_)) = within("the close", ws.next()).await {}
        drop(ws);
        let summary = ended(&server, 1).await;
        assert_eq!(summary["client"]["messages"], 1, "decoded through TLS: {summary}");
        assert_eq!(summary["upstream"], upstream);
    }
    let _ = std::fs::remove_file(&ca);
}
