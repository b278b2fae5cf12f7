//! Short, deterministic versions of RELIABILITY.md's figures: many
//! connections at once with every echo checked, peers that stall the
//! handshake, and the tap and inject caps under more users than they allow.

use crate::support::{
    Frame, OP_TEXT, RawClient, chunk_of, inject_note, random16, start, tap_note, tap_token, within, ws_connect, ws_next,
};
use futures_util::SinkExt as _;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use wscope_core::handshake::ClientHandshake;
use wscope_server::notes::{InjectNote, TapNote};

/// 200 connections open at once, each sending 25 messages of its own and
/// checking every echo byte for byte: none lost, none corrupted, none
/// delivered to another connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_connections_each_get_exactly_their_own_echoes() {
    let server = start(|_| {}).await;
    let addr = server.local_addr();
    let mut clients = Vec::new();
    for _ in 0..200 {
        clients.push(RawClient::connect(addr, "/echo").await);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (id, mut client) in clients.into_iter().enumerate() {
        tasks.spawn(async move {
            for n in 0..25 {
                let text = format!("connection {id:03} message {n:02} {}", "x".repeat((id * 7 + n * 13) % 300));
                client.send_frame(&Frame::text(&text)).await;
                assert_eq!(client.read_message().await, (OP_TEXT, text.into_bytes()), "connection {id}");
            }
            client.send_frame(&Frame::close(1000, b"")).await;
            client.expect_close(1000).await;
            25
        });
    }
    let mut checked = 0;
    while let Some(n) = tasks.join_next().await {
        checked += n.expect("a connection failed");
    }
    assert_eq!(checked, 200 * 25);
}

/// Reads until the server closes TCP; what it sent before.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// A client that opens TCP and sends nothing, and one that sends its
/// request a byte at a time too slowly (slowloris), are both cut when the
/// handshake timeout ends, with no 101; a prompt client still gets one.
#[tokio::test]
async fn silent_and_slowloris_clients_are_cut_at_the_handshake_timeout() {
    let server = start(|c| c.handshake_timeout = Duration::from_millis(300)).await;
    let addr = server.local_addr();
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let mut slow = TcpStream::connect(addr).await.unwrap();
    let request = ClientHandshake::new(&addr.to_string(), "/echo", random16()).request().unwrap();
    let drip = async {
        // One byte every 50 ms: the whole request would take many seconds.
        for b in &request {
            if slow.write_all(std::slice::from_ref(b)).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        read_until_closed(&mut slow).await
    };
    let (from_silent, from_slow) =
        within("both clients to be cut", async { tokio::join!(read_until_closed(&mut silent), drip) }).await;
    assert!(from_silent.is_empty(), "the silent client got {:?}", String::from_utf8_lossy(&from_silent));
    assert!(!String::from_utf8_lossy(&from_slow).contains(" 101 "), "the slow client was upgraded");
    // The server itself is fine.
    let mut ok = RawClient::connect(addr, "/echo").await;
    ok.send_frame(&Frame::text("still here")).await;
    assert_eq!(ok.read_message().await, (OP_TEXT, b"still here".to_vec()));
}

/// More tapped connections than `--tap-max-connections`: the oldest record
/// is dropped for the newest, and its subscriber is told so (`evicted`,
/// then close 1001), while the newer records keep working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taps_past_their_cap_evict_the_oldest_record() {
    let server = start(|c| c.tap.max_taps = 2).await;
    let addr = server.local_addr();
    let tokens: Vec<String> = (0..3).map(|_| tap_token()).collect();
    let mut first_sub = ws_connect(addr, &format!("/tap?token={}", tokens[0])).await;
    let hello = tap_note(&ws_next(&mut first_sub).await).unwrap();
    assert!(matches!(hello, TapNote::Hello { connection: None, .. }), "{hello:?}");
    let mut live = Vec::new();
    for token in &tokens {
        let mut c = RawClient::connect(addr, &format!("/echo?tap={token}")).await;
        c.send_frame(&Frame::text(token)).await;
        assert_eq!(c.read_message().await, (OP_TEXT, token.clone().into_bytes()));
        live.push(c);
    }
    // The third record pushed out the first (all were live: the oldest goes).
    within("the evicted note", async {
        loop {
            match ws_next(&mut first_sub).await {
                message @ Message::Text(_) => {
                    if tap_note(&message) == Some(TapNote::Evicted) {
                        break;
                    }
                }
                Message::Binary(_) => {}
                other => panic!("expected the evicted note first, got {other:?}"),
            }
        }
    })
    .await;
    match ws_next(&mut first_sub).await {
        Message::Close(Some(frame)) => assert_eq!(u16::from(frame.code), 1001),
        other => panic!("expected close 1001 after eviction, got {other:?}"),
    }
    // The newest record is intact: its subscriber sees its bytes.
    let mut sub = ws_connect(addr, &format!("/tap?token={}", tokens[2])).await;
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains(&tokens[2]) {
        if let Message::Binary(data) = ws_next(&mut sub).await {
            seen.extend_from_slice(chunk_of(&data).1);
        }
    }
}

/// With `--inject-max-concurrent 1`, a second page's injection while the
/// first is running is refused with an `error` note, and is accepted again
/// once the first has ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injections_past_their_cap_are_refused_with_a_note() {
    let server = start(|c| {
        c.inject.max_concurrent = 1;
        c.inject.timeout = Duration::from_millis(800);
    })
    .await;
    let addr = server.local_addr();
    // A valid masked text frame: /echo answers and keeps the connection
    // open, so the injection runs until its timeout.
    let frame = Frame::text("held open").encode();
    let mut a = ws_connect(addr, "/inject").await;
    let mut b = ws_connect(addr, "/inject").await;
    a.send(Message::Binary(frame.clone().into())).await.unwrap();
    let note_of = |m: Message| inject_note(&m);
    loop {
        if let Some(n) = note_of(ws_next(&mut a).await) {
            assert!(matches!(n, InjectNote::Start { .. }), "{n:?}");
            break;
        }
    }
    b.send(Message::Binary(frame.clone().into())).await.unwrap();
    let refused = loop {
        if let Some(n) = note_of(ws_next(&mut b).await) {
            break n;
        }
    };
    match &refused {
        InjectNote::Error { message } => assert!(message.contains("at most 1 injection"), "{refused:?}"),
        other => panic!("expected an error note, got {other:?}"),
    }
    // A's injection ends (its timeout); then B's next one runs.
    loop {
        if let Some(InjectNote::End { .. }) = note_of(ws_next(&mut a).await) {
            break;
        }
    }
    within("an injection after the first ended", async {
        loop {
            b.send(Message::Binary(frame.clone().into())).await.unwrap();
            let n = loop {
                if let Some(n) = note_of(ws_next(&mut b).await) {
                    break n;
                }
            };
            if matches!(n, InjectNote::Start { .. }) {
                break;
            }
            // The permit is freed a moment after the end note: ask again.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

/// /inject never connects anywhere but the server itself, whatever the page
/// claims: a Host header naming another machine and a `target` query are
/// ignored, and the injected handshake goes to this server's own address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inject_only_ever_reaches_the_server_itself() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let server = start(|_| {}).await;
    let addr = server.local_addr();
    let mut request = format!("ws://{addr}/inject?target=ws://192.0.2.7:80/echo").into_client_request().unwrap();
    request.headers_mut().insert("Host", "192.0.2.7:80".parse().unwrap());
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut ws, _) = within("the /inject handshake", tokio_tungstenite::client_async(request, tcp)).await.unwrap();
    ws.send(Message::Binary(Frame::text("hi").encode().into())).await.unwrap();
    let mut start_note = None;
    let mut to_echo = Vec::new();
    loop {
        let next = within("a report from /inject", futures_util::StreamExt::next(&mut ws)).await;
        match next.expect("/inject ended early").expect("/inject failed") {
            message @ Message::Text(_) => match inject_note(&message).unwrap() {
                InjectNote::Start { target, .. } => start_note = Some(target),
                InjectNote::End { .. } => break,
                _ => {}
            },
            Message::Binary(data) => {
                if let (0, bytes) = chunk_of(&data) {
                    to_echo.extend_from_slice(bytes);
                }
            }
            _ => {}
        }
    }
    let target = start_note.expect("a start note");
    assert_eq!(target, format!("ws://{addr}/echo"));
    let sent = String::from_utf8_lossy(&to_echo);
    assert!(sent.contains(&format!("Host: {addr}\r\n")), "the injected handshake: {sent}");
    assert!(!sent.contains("192.0.2.7"), "{sent}");
}
