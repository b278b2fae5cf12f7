//! `--relay-mode intercept`: the relay holds a WebSocket with each side and
//! the page's commands (here a tokio-tungstenite client of
//! `/relay/intercept`) hold, edit, drop, release and inject messages, each
//! checked at the far side; compressed legs each compress with their own
//! context.

use crate::support::{Frame, OP_TEXT, RawClient, Ws, start, start_default, within, ws_connect, ws_next};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use wscope_server::{RelayMode, RelaySpec, Server};

async fn intercepting_relay(upstream: SocketAddr) -> (Server, SocketAddr) {
    let server = start(|c| {
        c.relay.relays =
            vec![RelaySpec { listen: "127.0.0.1:0".parse().unwrap(), upstream: format!("ws://{upstream}") }];
        c.relay.mode = RelayMode::Intercept;
    })
    .await;
    let relay = server.relay_addrs()[0];
    (server, relay)
}

/// The page's side of session `id`, once its legs are open (409 before).
async fn controls(server: &Server, id: u64) -> Ws {
    within("the intercept controls", async {
        loop {
            let url = format!("ws://{}/relay/intercept?session={id}", server.local_addr());
            if let Ok((ws, _)) = tokio_tungstenite::connect_async(url.as_str()).await {
                return ws;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

/// The next note of type `kind` (others skipped).
async fn next_note(page: &mut Ws, kind: &str) -> Value {
    within(&format!("a {kind} note"), async {
        loop {
            if let Message::Text(t) = ws_next(page).await {
                let note: Value = serde_json::from_str(t.as_str()).unwrap();
                assert_ne!(note["type"], "error", "{note}");
                if note["type"] == kind {
                    return note;
                }
            }
        }
    })
    .await
}

/// The next `error` note (others skipped).
async fn next_error(page: &mut Ws) -> Value {
    within("an error note", async {
        loop {
            if let Message::Text(t) = ws_next(page).await {
                let n: Value = serde_json::from_str(t.as_str()).unwrap();
                if n["type"] == "error" {
                    return n;
                }
            }
        }
    })
    .await
}

async fn command(page: &mut Ws, c: Value) {
    page.send(Message::Text(c.to_string().into())).await.unwrap();
}

/// A tokio-tungstenite upstream: every text it receives goes to `got`; it
/// sends what arrives on `say`.
async fn upstream(listener: TcpListener, got: mpsc::UnboundedSender<String>, mut say: mpsc::UnboundedReceiver<String>) {
    let (tcp, _) = listener.accept().await.unwrap();
    let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
    loop {
        tokio::select! {
            m = ws.next() => match m {
                Some(Ok(Message::Text(t))) => { let _ = got.send(t.to_string()); }
                // Read on after a close: tungstenite writes its answer then.
                Some(Ok(Message::Close(Some(f)))) => {
                    let _ = got.send(format!("close {} {}", u16::from(f.code), f.reason));
                }
                None | Some(Err(_)) => return,
                _ => {}
            },
            s = say.recv() => match s {
                Some(text) => ws.send(Message::Text(text.into())).await.unwrap(),
                None => return,
            },
        }
    }
}

async fn received(rx: &mut mpsc::UnboundedReceiver<String>) -> String {
    within("the upstream to receive a message", rx.recv()).await.unwrap()
}

#[tokio::test]
async fn hold_edit_drop_release_and_inject_each_seen_at_the_far_side() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_addr = listener.local_addr().unwrap();
    let (got_tx, mut got) = mpsc::unbounded_channel();
    let (say, say_rx) = mpsc::unbounded_channel();
    tokio::spawn(upstream(listener, got_tx, say_rx));
    let (server, relay) = intercepting_relay(upstream_addr).await;
    let mut client = ws_connect(relay, "/chat?room=1").await;
    let mut page = controls(&server, 1).await;
    let state = next_note(&mut page, "state").await;
    assert_eq!((state["hold_client"].clone(), state["hold_server"].clone()), (json!(false), json!(false)));

    // Not held: a message goes straight on.
    client.send(Message::Text("one".into())).await.unwrap();
    assert_eq!(received(&mut got).await, "one");

    // Held: three messages wait, each shown to the page.
    command(&mut page, json!({"type": "hold", "from": "client", "on": true})).await;
    assert_eq!(next_note(&mut page, "state").await["hold_client"], true);
    let mut ids = Vec::new();
    for text in ["two", "three", "four"] {
        client.send(Message::Text(text.into())).await.unwrap();
        let held = next_note(&mut page, "held").await;
        assert_eq!(held["message"]["from"], "client");
        assert_eq!(held["message"]["kind"], "text");
        assert_eq!(held["message"]["text"], text);
        ids.push(held["message"]["id"].as_u64().unwrap());
    }
    // Edited, dropped, released: the server sees the edit and the release.
    command(&mut page, json!({"type": "edit", "id": ids[0], "text": "TWO (edited)"})).await;
    let sent = next_note(&mut page, "sent").await;
    assert_eq!((sent["id"].as_u64(), sent["edited"].clone()), (Some(ids[0]), json!(true)));
    assert_eq!(received(&mut got).await, "TWO (edited)");
    command(&mut page, json!({"type": "drop", "id": ids[1]})).await;
    assert_eq!(next_note(&mut page, "dropped").await["id"].as_u64(), Some(ids[1]));
    command(&mut page, json!({"type": "release", "id": ids[2]})).await;
    next_note(&mut page, "sent").await;
    assert_eq!(received(&mut got).await, "four", "\"three\" was dropped");

    // Injected, each way.
    command(&mut page, json!({"type": "inject", "to": "server", "text": "from wscope"})).await;
    assert_eq!(next_note(&mut page, "sent").await["injected"], true);
    assert_eq!(received(&mut got).await, "from wscope");
    command(&mut page, json!({"type": "inject", "to": "client", "text": "hello client"})).await;
    assert_eq!(ws_next(&mut client).await, Message::Text("hello client".into()));

    // The server's direction, held and released; letting the client's hold
    // go sends what it still held.
    command(&mut page, json!({"type": "hold", "from": "server", "on": true})).await;
    next_note(&mut page, "state").await;
    say.send("held on the way down".into()).unwrap();
    let held = next_note(&mut page, "held").await;
    assert_eq!(held["message"]["from"], "server");
    command(&mut page, json!({"type": "release", "id": held["message"]["id"]})).await;
    assert_eq!(ws_next(&mut client).await, Message::Text("held on the way down".into()));
    client.send(Message::Text("five".into())).await.unwrap();
    next_note(&mut page, "held").await;
    command(&mut page, json!({"type": "hold", "from": "client", "on": false})).await;
    assert_eq!(received(&mut got).await, "five");

    // A command that cannot be done is an error note, not a hang.
    command(&mut page, json!({"type": "release", "id": 999})).await;
    let error = next_error(&mut page).await;
    assert!(error["message"].as_str().unwrap().contains("999"), "{error}");

    // The page leaves while the server is held: the hold is lifted.
    say.send("after the page".into()).unwrap();
    next_note(&mut page, "held").await;
    drop(page);
    assert_eq!(ws_next(&mut client).await, Message::Text("after the page".into()));
    client.close(None).await.unwrap();
}

/// A held close: dropping it is refused (the closing handshake would be
/// left half done); its reason can be edited, and the server gets it.
#[tokio::test]
async fn a_held_close_is_sent_on_never_dropped() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_addr = listener.local_addr().unwrap();
    let (got_tx, mut got) = mpsc::unbounded_channel();
    let (_say, say_rx) = mpsc::unbounded_channel();
    tokio::spawn(upstream(listener, got_tx, say_rx));
    let (server, relay) = intercepting_relay(upstream_addr).await;
    let mut client = ws_connect(relay, "/").await;
    let mut page = controls(&server, 1).await;
    next_note(&mut page, "state").await;
    command(&mut page, json!({"type": "hold", "from": "client", "on": true})).await;
    next_note(&mut page, "state").await;
    client
        .send(Message::Close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
            code: 1000.into(),
            reason: "bye".into(),
        })))
        .await
        .unwrap();
    let held = next_note(&mut page, "held").await;
    assert_eq!((held["message"]["kind"].clone(), held["message"]["code"].clone()), (json!("close"), json!(1000)));
    let id = held["message"]["id"].as_u64().unwrap();
    command(&mut page, json!({"type": "drop", "id": id})).await;
    let error = next_error(&mut page).await;
    assert!(error["message"].as_str().unwrap().contains("is a close"), "{error}");
    command(&mut page, json!({"type": "edit", "id": id, "text": "edited goodbye"})).await;
    assert_eq!(received(&mut got).await, "close 1000 edited goodbye");
    // The server's answer completes the client's closing handshake: the
    // client leg's record shows a close frame sent to the client.
    while let Some(Ok(_)) = within("the client's end", client.next()).await {}
    within("the close sent to the client", async {
        loop {
            let sessions = server.relay_sessions().list();
            if sessions.first().is_some_and(|s| s.summary.server.control == 1) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

/// Both legs compress, each with its own context: the client's
/// uncompressed message goes to wscope's /echo compressed by the relay (the
/// upstream leg's record shows RSV1), and the echo comes back to the client
/// compressed by the relay's client leg, inflating to the text.
#[tokio::test]
async fn each_compressed_leg_compresses_with_its_own_context() {
    let echo = start_default().await;
    let (server, relay) = intercepting_relay(echo.local_addr()).await;
    let offer = "permessage-deflate; client_max_window_bits";
    let (mut client, response) = RawClient::connect_offering(relay, "/echo", Some(offer)).await;
    assert_eq!(response.header("Sec-WebSocket-Extensions"), "permessage-deflate", "the relay's own 101");
    let text = "intercepted and compressed again, intercepted and compressed again. ".repeat(20);
    client.send_frame(&Frame::text(&text)).await;
    let echo_frame = client.read_frame().await;
    assert_eq!((echo_frame.rsv, echo_frame.opcode), (0b100, OP_TEXT), "compressed by the client leg");
    assert!(echo_frame.payload.len() < text.len() / 4);
    let mut d = flate2::Decompress::new(false);
    let mut input = echo_frame.payload.clone();
    input.extend_from_slice(&[0, 0, 0xff, 0xff]);
    let mut out = Vec::with_capacity(1 << 16);
    d.decompress_vec(&input, &mut out, flate2::FlushDecompress::Sync).unwrap();
    assert_eq!(out, text.as_bytes());
    client.send_frame(&Frame::close(1000, b"")).await;
    client.read_frame().await;
    client.shutdown().await;
    // The upstream leg, as recorded: the relay's request offered
    // permessage-deflate, and its frame to /echo had RSV1.
    let mut tap = ws_connect(server.local_addr(), "/relay/tap?session=1&leg=upstream").await;
    let mut to_upstream = Vec::new();
    loop {
        match ws_next(&mut tap).await {
            Message::Binary(b) if b[0] == 0 => to_upstream.extend_from_slice(&b[9..]),
            Message::Text(t) if t.as_str().contains("\"end\"") => break,
            _ => {}
        }
    }
    let head_end = crate::support::find_head_end(&to_upstream).unwrap() + 4;
    let head = String::from_utf8_lossy(&to_upstream[..head_end]).to_string();
    assert!(head.contains("Sec-WebSocket-Extensions: permessage-deflate"), "{head}");
    let first = to_upstream[head_end];
    assert_eq!(first & 0x40, 0x40, "RSV1 on the relay's frame to the upstream: {first:#04x}");
    assert_eq!(first & 0x0f, OP_TEXT);
}
