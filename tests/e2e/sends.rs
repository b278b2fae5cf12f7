//! What the browser under test puts on the wire (issue 14), measured from
//! the server's tap of real `WebSocket`s opened in the page: the opening
//! handshake, the permessage-deflate offer, the masking keys, how a 1 MiB
//! message is framed, what `close()` sends with and without a code, and the
//! answer to a server ping. Written to `target/e2e/<browser>/sends.json`;
//! `cargo xtask test` turns the files of both browsers into
//! `docs/BROWSERS.md`.

use super::*;
use futures_util::StreamExt;
use std::collections::BTreeSet;
use tokio_tungstenite::tungstenite::Message;
use wscope_core::Role;
use wscope_core::wire::{WireDecoder, WireItem, WireOptions};

/// One frame the browser sent.
struct ClientFrame {
    opcode: u8,
    fin: bool,
    rsv1: bool,
    len: u64,
    mask: Option<[u8; 4]>,
    payload: Vec<u8>,
}

/// The client's side of one tapped connection, decoded by the core.
#[derive(Default)]
struct Seen {
    request: String,
    client_frames: Vec<ClientFrame>,
    server_pings: Vec<Vec<u8>>,
}

/// Reads the whole tap of `token` (backlog, then live, until its end note);
/// `on_pong` fires at the browser's first pong.
async fn tap_of(
    addr: std::net::SocketAddr,
    token: String,
    mut on_pong: Option<tokio::sync::oneshot::Sender<()>>,
) -> Seen {
    let (mut tap, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/tap?token={token}")).await.unwrap();
    let mut decoder = WireDecoder::new(WireOptions::default());
    let mut seen = Seen::default();
    let mut items = Vec::new();
    loop {
        let msg = tokio::time::timeout(WAIT, tap.next()).await.expect("the tap goes quiet before its end");
        let Some(Ok(msg)) = msg else { break };
        match msg {
            Message::Binary(record) if record.len() >= 9 => {
                let from = if record[0] == 0 { Role::Client } else { Role::Server };
                decoder.push(from, &record[9..], &mut items);
            }
            Message::Text(note) => {
                let v: serde_json::Value = serde_json::from_str(note.as_str()).unwrap();
                assert_ne!(v["type"], "dropped", "the tap dropped chunks: raise its cap");
                if v["type"] == "end" {
                    break;
                }
            }
            Message::Close(_) => break,
            _ => {}
        }
        for item in items.drain(..) {
            match item {
                WireItem::Head { from: Role::Client, bytes, .. } => {
                    seen.request = String::from_utf8_lossy(&bytes).into()
                }
                WireItem::Frame { from: Role::Client, frame } => {
                    if frame.header.opcode.bits() == 10 {
                        if let Some(tx) = on_pong.take() {
                            let _ = tx.send(());
                        }
                    }
                    seen.client_frames.push(ClientFrame {
                        opcode: frame.header.opcode.bits(),
                        fin: frame.header.fin,
                        rsv1: frame.header.rsv[0],
                        len: frame.header.payload_len,
                        mask: frame.header.mask,
                        payload: frame.payload.clone(),
                    })
                }
                WireItem::Frame { from: Role::Server, frame } if frame.header.opcode.bits() == 9 => {
                    seen.server_pings.push(frame.payload.clone())
                }
                _ => {}
            }
        }
    }
    seen
}

fn token() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).unwrap();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Opens a WebSocket in the page to `/echo?QUERY`, kept as `window.__ws`.
async fn open_in_page(c: &Client, query: &str) {
    let script = format!(
        "const done = arguments[arguments.length - 1]; \
         const ws = new WebSocket(`ws://${{location.host}}/echo?{query}`); \
         window.__ws = ws; ws.binaryType = 'arraybuffer'; \
         ws.onerror = () => done('error'); ws.onopen = () => done('ok');"
    );
    let r = c.execute_async(&script, vec![]).await.unwrap();
    assert_eq!(r, "ok", "the page's WebSocket did not open: {r}");
}

/// Runs `then` in the page with `window.__ws` as `ws` (statements that may
/// `await`), and waits for it.
async fn in_page(c: &Client, then: &str) {
    let script = format!(
        "const done = arguments[arguments.length - 1]; const ws = window.__ws; \
         (async () => {{ {then} }})().then(() => done('ok'), (e) => done(String(e)));"
    );
    let r = c.execute_async(&script, vec![]).await.unwrap();
    assert_eq!(r, "ok", "in the page: {r}");
}

/// The request's headers that matter, in order (name: value), without the
/// user agent, host, key and origin values that change every run.
fn headers(request: &str) -> Vec<String> {
    request
        .split("\r\n")
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (name, value) = l.split_once(':').unwrap_or((l, ""));
            let value = value.trim();
            match name.to_ascii_lowercase().as_str() {
                "user-agent" | "host" | "sec-websocket-key" | "origin" | "accept-language" => format!("{name}: …"),
                _ => format!("{name}: {value}"),
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_browser_sends() {
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), repo().join("www"));
    // The whole session in the tap; the server pings a connection idle for
    // 2 s (half the idle timeout): the test waits for the browser's pong
    // (each pong is input, so an answering browser is never idle-closed).
    config.tap.max_bytes = 8 << 20;
    config.idle_timeout = Duration::from_secs(4);
    let server = Server::start(config).await.unwrap();
    let addr = server.local_addr();
    let driver = Driver::start().await;
    let c = browser(&driver).await;
    open(&c, &format!("http://{addr}/")).await;
    let ua = c.execute("return navigator.userAgent", vec![]).await.unwrap();

    // 1. With permessage-deflate: the offer, a ping answered, small text
    // messages (masking keys), the close with a code.
    let first = token();
    let first_token = first.clone();
    open_in_page(&c, &format!("tap={first}")).await;
    let (pong_tx, pong_rx) = tokio::sync::oneshot::channel();
    let tap_a = tokio::spawn(tap_of(addr, first, Some(pong_tx)));
    tokio::time::timeout(WAIT, pong_rx).await.expect("the server's idle ping and the browser's pong").unwrap();
    in_page(
        &c,
        "for (let i = 0; i < 20; i++) ws.send('message ' + i); \
         await new Promise((r) => { let n = 0; ws.onmessage = () => { if (++n === 20) r(); }; }); \
         ws.close(1000, 'bye'); await new Promise((r) => { ws.onclose = r; });",
    )
    .await;
    let a = tap_a.await.unwrap();
    // 2. Without compression: a 1 MiB binary message, then close() with no code.
    let second = token();
    open_in_page(&c, &format!("tap={second}&deflate=off")).await;
    in_page(
        &c,
        "const big = new Uint8Array(1 << 20); for (let i = 0; i < big.length; i++) big[i] = i * 7; \
         ws.send(big); await new Promise((r) => { ws.onmessage = r; }); \
         ws.close(); await new Promise((r) => { ws.onclose = r; });",
    )
    .await;
    let b = tap_of(addr, second, None).await;

    let header_lines = headers(&a.request);
    let offer = header_lines
        .iter()
        .find(|h| h.to_ascii_lowercase().starts_with("sec-websocket-extensions"))
        .cloned()
        .unwrap_or_else(|| "(none)".into());
    let keys: Vec<[u8; 4]> = a.client_frames.iter().chain(&b.client_frames).filter_map(|f| f.mask).collect();
    let distinct: BTreeSet<[u8; 4]> = keys.iter().copied().collect();
    assert!(!keys.is_empty(), "the browser sent no frame");
    assert_eq!(keys.len(), a.client_frames.len() + b.client_frames.len(), "every client frame is masked");
    let texts: Vec<_> = a.client_frames.iter().filter(|f| f.opcode == 1).collect();
    let compressed = texts.iter().filter(|f| f.rsv1).count();
    let pong = a.client_frames.iter().find(|f| f.opcode == 10);
    let ping = a.server_pings.first().cloned().unwrap_or_default();
    let big: Vec<_> = b.client_frames.iter().filter(|f| f.opcode == 2 || f.opcode == 0).collect();
    let close_of = |s: &Seen| {
        s.client_frames.iter().find(|f| f.opcode == 8).map(|f| {
            let p = &f.payload;
            match p.len() {
                0 => "empty payload (no code)".to_owned(),
                1 => format!("1 byte: {:02x}", p[0]),
                _ => {
                    format!("code {}, reason {:?}", u16::from_be_bytes([p[0], p[1]]), String::from_utf8_lossy(&p[2..]))
                }
            }
        })
    };
    let report = serde_json::json!({
        "browser": browser_key(),
        "user_agent": ua,
        // The tap token changes every run.
        "request_line": a.request.split("\r\n").next().unwrap_or_default().replace(&first_token, "…"),
        "headers": header_lines,
        "deflate_offer": offer,
        "masking": {
            "frames": keys.len(),
            "distinct_keys": distinct.len(),
            "zero_keys": keys.iter().filter(|k| **k == [0; 4]).count(),
        },
        "small_texts": { "messages": texts.len(), "compressed": compressed },
        "ping": {
            "server_pings": a.server_pings.len(),
            "pong": pong.map(|f| if f.payload == ping { "a pong echoing the ping's payload".to_owned() }
                else { format!("a pong with another payload ({} bytes)", f.payload.len()) }),
        },
        "one_mib_binary": {
            "frames": big.len(),
            "payload_lengths": big.iter().map(|f| f.len).collect::<Vec<_>>(),
            "all_fin": big.iter().all(|f| f.fin),
        },
        "close_with_code": close_of(&a),
        "close_without_code": close_of(&b),
    });
    // The facts the table states must be there.
    assert_eq!(
        report["one_mib_binary"]["payload_lengths"]
            .as_array()
            .map(|v| v.iter().filter_map(|x| x.as_u64()).sum::<u64>()),
        Some(1 << 20)
    );
    assert!(pong.is_some(), "the browser answered the server's ping: {report}");
    assert!(report["close_with_code"].as_str().is_some_and(|s| s.contains("code 1000")), "{report}");
    let dir = repo().join("target").join("e2e").join(browser_key());
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("sends.json"), serde_json::to_string_pretty(&report).unwrap()).unwrap();
    println!("{report}");

    c.close().await.unwrap();
    drop(driver);
    server.shutdown().await;
}
