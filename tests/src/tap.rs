//! The wire tap: `/tap?token=T` must stream exactly the bytes that crossed
//! the connection opened as `/echo?tap=T`, and nothing of any other.

use crate::support::{
    Frame, HttpResponse, OP_BINARY, OP_PONG, OP_TEXT, RawClient, Ws, chunk_of, http_exchange, random16, start_default,
    tap_note, tap_token, ws_connect, ws_expect_end, ws_next,
};
use std::net::SocketAddr;
use tokio_tungstenite::tungstenite::Message;
use wscope_core::handshake::ClientHandshake;
use wscope_server::notes::{TapConnection, TapNote};

/// What a tap subscription delivered.
#[derive(Debug)]
struct TapRecord {
    hello: TapNote,
    /// Text notes after the hello, the `end` note included.
    notes: Vec<TapNote>,
    /// Direction-0 chunks concatenated (client to server).
    to_server: Vec<u8>,
    /// Direction-1 chunks concatenated (server to client).
    to_client: Vec<u8>,
}

impl TapRecord {
    /// The connection an `open` note named, if one came.
    fn opened(&self) -> Option<&TapConnection> {
        self.notes.iter().find_map(|n| match n {
            TapNote::Open { connection } => Some(connection),
            _ => None,
        })
    }
}

/// The connection a hello note names (`None`: not yet arrived).
fn hello_connection(hello: &TapNote) -> Option<&TapConnection> {
    match hello {
        TapNote::Hello { token_bits, connection } => {
            assert_eq!(*token_bits, 128, "tap_token() makes 128-bit tokens");
            connection.as_ref()
        }
        other => panic!("the first message must be the hello note, got {other:?}"),
    }
}

/// Reads a subscription from its hello to its `end` note, then expects the
/// subscription to close with 1000.
async fn read_tap(ws: &mut Ws) -> TapRecord {
    let hello = tap_note(&ws_next(ws).await).expect("the first message is the hello note");
    hello_connection(&hello);
    let mut record = TapRecord { hello, notes: Vec::new(), to_server: Vec::new(), to_client: Vec::new() };
    loop {
        let message = ws_next(ws).await;
        match &message {
            Message::Binary(data) => match chunk_of(data) {
                (0, bytes) => record.to_server.extend_from_slice(bytes),
                (_, bytes) => record.to_client.extend_from_slice(bytes),
            },
            Message::Text(_) => {
                let note = tap_note(&message).unwrap();
                let end = matches!(note, TapNote::End { .. });
                record.notes.push(note);
                if end {
                    break;
                }
            }
            other => panic!("unexpected message on the tap: {other:?}"),
        }
    }
    match ws_next(ws).await {
        Message::Close(Some(frame)) => assert_eq!(u16::from(frame.code), 1000),
        other => panic!("expected close 1000 after the end note, got {other:?}"),
    }
    ws_expect_end(ws).await;
    assert!(
        !record.notes.iter().any(|n| matches!(n, TapNote::Dropped { .. })),
        "nothing should be dropped: {:?}",
        record.notes
    );
    record
}

/// A tapped `/echo` session: a text frame carrying `marker` (masked with
/// the zero key, so it shows verbatim in both directions), a binary frame,
/// a ping, and a close; then TCP closed both ways. Returns the client with
/// its record of every byte.
async fn tapped_session(addr: SocketAddr, token: &str, marker: &str) -> RawClient {
    let mut raw = RawClient::connect(addr, &format!("/echo?tap={token}")).await;
    raw.send_frame(&Frame::text(marker).mask([0; 4])).await;
    assert_eq!(raw.read_message().await, (OP_TEXT, marker.as_bytes().to_vec()));
    raw.send_frame(&Frame::binary(&[0, 1, 2, 0xFE, 0xFF])).await;
    assert_eq!(raw.read_message().await, (OP_BINARY, vec![0, 1, 2, 0xFE, 0xFF]));
    raw.send_frame(&Frame::ping(b"tap ping")).await;
    let pong = raw.read_frame().await;
    assert_eq!((pong.opcode, pong.payload.as_slice()), (OP_PONG, &b"tap ping"[..]));
    raw.send_frame(&Frame::close(1000, b"tap done")).await;
    raw.expect_close(1000).await;
    raw.shutdown().await;
    raw
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Asserts the record holds exactly the client's bytes, both ways.
fn assert_exact(record: &TapRecord, raw: &RawClient) {
    assert!(raw.sent.starts_with(b"GET /echo?tap="), "the handshake is part of what was sent");
    assert!(raw.received.starts_with(b"HTTP/1.1 101 "), "the handshake is part of what was received");
    assert_same("client-to-server", &record.to_server, &raw.sent);
    assert_same("server-to-client", &record.to_client, &raw.received);
}

/// Asserts `tap == raw`, naming the first difference.
fn assert_same(what: &str, tap: &[u8], raw: &[u8]) {
    if tap != raw {
        let at = tap.iter().zip(raw).position(|(a, b)| a != b).unwrap_or(tap.len().min(raw.len()));
        panic!(
            "{what} bytes differ: the tap has {} bytes, the client {}; first difference at {at}: tap {:02x?}, raw {:02x?}",
            tap.len(),
            raw.len(),
            &tap[at..tap.len().min(at + 16)],
            &raw[at..raw.len().min(at + 16)]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribed_before_the_connection_sees_exact_bytes() {
    let server = start_default().await;
    let addr = server.local_addr();
    let token = tap_token();
    let mut sub = ws_connect(addr, &format!("/tap?token={token}")).await;
    let raw = tapped_session(addr, &token, "before").await;
    let record = read_tap(&mut sub).await;
    assert_eq!(hello_connection(&record.hello), None, "{:?}", record.hello);
    let open = record.opened().expect("an open note");
    assert_eq!(open.target, format!("/echo?tap={token}"));
    assert!(open.peer.ip().is_loopback(), "{open:?}");
    assert_exact(&record, &raw);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribed_after_the_connection_sees_exact_bytes() {
    let server = start_default().await;
    let addr = server.local_addr();
    let token = tap_token();
    let raw = tapped_session(addr, &token, "after").await;
    let mut sub = ws_connect(addr, &format!("/tap?token={token}")).await;
    let record = read_tap(&mut sub).await;
    let connection = hello_connection(&record.hello).expect("the hello names the connection");
    assert_eq!(connection.target, format!("/echo?tap={token}"));
    assert!(record.opened().is_none(), "the hello already named the connection: {:?}", record.notes);
    assert_exact(&record, &raw);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_connection_never_appears_in_a_tap() {
    let server = start_default().await;
    let addr = server.local_addr();
    let (token_a, token_b) = (tap_token(), tap_token());
    let marker_a = format!("A-only-{token_a}");
    let marker_b = format!("B-only-{token_b}");
    let mut sub_a = ws_connect(addr, &format!("/tap?token={token_a}")).await;
    let mut sub_b = ws_connect(addr, &format!("/tap?token={token_b}")).await;
    // An untapped connection at the same time, with B's marker too.
    let untapped = async {
        let mut raw = RawClient::connect(addr, "/echo").await;
        raw.send_frame(&Frame::text(&marker_b).mask([0; 4])).await;
        assert_eq!(raw.read_message().await.1, marker_b.as_bytes());
    };
    let (raw_a, raw_b, ()) =
        tokio::join!(tapped_session(addr, &token_a, &marker_a), tapped_session(addr, &token_b, &marker_b), untapped);
    let (record_a, record_b) = tokio::join!(read_tap(&mut sub_a), read_tap(&mut sub_b));
    assert_exact(&record_a, &raw_a);
    assert_exact(&record_b, &raw_b);
    // The markers are where they belong and nowhere else.
    for (record, mine, theirs) in [(&record_a, &marker_a, &marker_b), (&record_b, &marker_b, &marker_a)] {
        assert!(contains(&record.to_server, mine.as_bytes()) && contains(&record.to_client, mine.as_bytes()));
        assert!(!contains(&record.to_server, theirs.as_bytes()) && !contains(&record.to_client, theirs.as_bytes()));
    }
}

/// An upgrade request for `target`.
fn upgrade(addr: SocketAddr, target: &str) -> Vec<u8> {
    ClientHandshake::new(&addr.to_string(), target, random16()).request().unwrap()
}

async fn status_of(addr: SocketAddr, target: &str) -> HttpResponse {
    http_exchange(addr, &upgrade(addr, target)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_used_token_gets_409() {
    let server = start_default().await;
    let addr = server.local_addr();
    let token = tap_token();
    // While the first connection is open...
    let mut first = RawClient::connect(addr, &format!("/echo?tap={token}")).await;
    let target = format!("/echo?tap={token}");
    assert_eq!(status_of(addr, &target).await.status_line, "HTTP/1.1 409 Conflict");
    // ...in other letter case (tokens are hex, compared without case)...
    let upper = format!("/echo?tap={}", token.to_ascii_uppercase());
    assert_eq!(status_of(addr, &upper).await.status_line, "HTTP/1.1 409 Conflict");
    // ...and after it ended.
    first.send_frame(&Frame::close(1000, b"")).await;
    first.expect_close(1000).await;
    first.shutdown().await;
    assert_eq!(status_of(addr, &target).await.status_line, "HTTP/1.1 409 Conflict");
    // The refused attempts did not leak into the record.
    let mut sub = ws_connect(addr, &format!("/tap?token={token}")).await;
    let record = read_tap(&mut sub).await;
    assert_exact(&record, &first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_tokens_get_400() {
    let server = start_default().await;
    let addr = server.local_addr();
    let token = tap_token();
    let short = &token[..31];
    let long = "a".repeat(129);
    let not_hex = format!("{}g", &token[..31]);
    for bad in [short, long.as_str(), not_hex.as_str(), ""] {
        for target in [format!("/echo?tap={bad}"), format!("/tap?token={bad}")] {
            let response = status_of(addr, &target).await;
            assert_eq!(response.status_line, "HTTP/1.1 400 Bad Request", "{target}");
        }
    }
    assert_eq!(status_of(addr, "/tap").await.status_line, "HTTP/1.1 400 Bad Request");
    // 32 and 128 digits are fine.
    let max = "f".repeat(128);
    for good in [token.as_str(), max.as_str()] {
        let mut raw = RawClient::tcp(addr).await;
        raw.send(&upgrade(addr, &format!("/echo?tap={good}"))).await;
        assert_eq!(raw.read_head().await.status_line, "HTTP/1.1 101 Switching Protocols");
    }
}

/// Past the per-connection cap the oldest chunks go, and a late subscriber
/// is told how many it will never see, before the rest, which is exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_subscriber_is_told_what_was_dropped() {
    let server = crate::support::start(|cfg| cfg.tap.max_bytes = 3000).await;
    let addr = server.local_addr();
    let token = tap_token();
    let mut raw = RawClient::connect(addr, &format!("/echo?tap={token}")).await;
    for i in 0..4u8 {
        raw.send_frame(&Frame::binary(&[i; 1000])).await;
        assert_eq!(raw.read_message().await, (OP_BINARY, vec![i; 1000]));
    }
    raw.send_frame(&Frame::close(1000, b"")).await;
    raw.expect_close(1000).await;
    raw.shutdown().await;

    let mut ws = ws_connect(addr, &format!("/tap?token={token}")).await;
    let (mut notes, mut to_server, mut to_client) = (Vec::new(), Vec::new(), Vec::new());
    let mut dropped_before_bytes = false;
    loop {
        let message = ws_next(&mut ws).await;
        match &message {
            Message::Binary(data) => match chunk_of(data) {
                (0, bytes) => to_server.extend_from_slice(bytes),
                (_, bytes) => to_client.extend_from_slice(bytes),
            },
            Message::Text(_) => {
                let note = tap_note(&message).unwrap();
                if matches!(note, TapNote::Dropped { .. }) {
                    dropped_before_bytes = to_server.is_empty() && to_client.is_empty();
                }
                let end = matches!(note, TapNote::End { .. });
                notes.push(note);
                if end {
                    break;
                }
            }
            other => panic!("unexpected message on the tap: {other:?}"),
        }
    }
    let Some(&TapNote::Dropped { chunks, record_dropped_chunks, record_dropped_bytes }) =
        notes.iter().find(|n| matches!(n, TapNote::Dropped { .. }))
    else {
        panic!("no dropped note: {notes:?}");
    };
    assert!(dropped_before_bytes, "the gap is reported where it is, before the chunks after it");
    assert!(chunks >= 1, "{notes:?}");
    // Subscribed after everything was dropped: all the record lost, it lost.
    assert_eq!(chunks, record_dropped_chunks, "{notes:?}");
    // At least the first 1000-byte frame went (3000 bytes hold under three).
    assert!(record_dropped_bytes >= 1000, "{notes:?}");
    // What is left is the newest part of each direction, byte for byte.
    assert!(!to_client.is_empty() && raw.received.ends_with(&to_client), "server-to-client is a suffix");
    assert!(raw.sent.ends_with(&to_server), "client-to-server is a suffix");
    assert!(to_server.len() + to_client.len() < raw.sent.len() + raw.received.len());
}

/// A live subscriber is told of chunks the record dropped before it could
/// be sent them, just before the chunk after the gap. The cap leaves room
/// for the echo of one 12 000-byte message and nothing beside it, so the
/// echo pushes out the message; on a runtime of one thread the server
/// records both in one turn of the echo task, so the subscription cannot
/// be sent the message in between (the e2e test shows the page's note on
/// this same case).
#[tokio::test]
async fn a_live_subscriber_is_told_of_a_gap() {
    const LEN: usize = 12_000;
    let server = crate::support::start(|cfg| cfg.tap.max_bytes = LEN + 100).await;
    let addr = server.local_addr();
    let token = tap_token();
    let mut sub = ws_connect(addr, &format!("/tap?token={token}")).await;
    let hello = tap_note(&ws_next(&mut sub).await).expect("the hello note");
    assert_eq!(hello_connection(&hello), None);
    let mut raw = RawClient::connect(addr, &format!("/echo?tap={token}")).await;
    let text = "x".repeat(LEN);
    raw.send_frame(&Frame::text(&text)).await;
    assert_eq!(raw.read_message().await, (OP_TEXT, text.clone().into_bytes()));

    let mut to_server = Vec::new();
    let dropped = loop {
        let message = ws_next(&mut sub).await;
        match tap_note(&message) {
            Some(note @ TapNote::Dropped { .. }) => break note,
            Some(TapNote::Open { .. }) => {}
            Some(other) => panic!("expected the dropped note, got {other:?}"),
            None => match &message {
                Message::Binary(data) => match chunk_of(data) {
                    (0, bytes) => to_server.extend_from_slice(bytes),
                    (_, bytes) => assert!(bytes.starts_with(b"HTTP/1.1 101 "), "only the 101 before the gap"),
                },
                other => panic!("unexpected message on the tap: {other:?}"),
            },
        }
    };
    let TapNote::Dropped { chunks, record_dropped_chunks, record_dropped_bytes } = dropped else { unreachable!() };
    assert!(chunks >= 1 && chunks <= record_dropped_chunks, "{dropped:?}");
    assert!(record_dropped_bytes >= LEN as u64, "the message went: {dropped:?}");
    // What the subscriber was sent of the client's bytes is the handshake
    // at most; right after the note comes the echo.
    assert!(!contains(&to_server, text.as_bytes()));
    match ws_next(&mut sub).await {
        Message::Binary(data) => {
            let (dir, bytes) = chunk_of(&data);
            assert_eq!(dir, 1);
            assert!(bytes.ends_with(text.as_bytes()), "the echo follows the note");
        }
        other => panic!("expected the echo after the note, got {other:?}"),
    }
}
