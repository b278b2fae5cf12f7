//! `/echo` with an independent client (tokio-tungstenite), plus the raw
//! client where the frames themselves matter.

use crate::support::{
    Frame, OP_BINARY, OP_PONG, OP_TEXT, RawClient, Ws, start, start_default, ws_connect, ws_expect_end, ws_next,
};
use futures_util::SinkExt as _;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const SIZES: [usize; 8] = [0, 1, 125, 126, 127, 65535, 65536, 1 << 20];

/// `n` bytes of printable ASCII that vary with the position.
fn ascii(n: usize) -> String {
    (0..n).map(|i| char::from(b' ' + (i % 95) as u8)).collect()
}

/// `n` bytes covering every value.
fn bytes(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 256) as u8).collect()
}

async fn send(ws: &mut Ws, message: Message) {
    ws.send(message).await.expect("send");
}

/// Closes with `code` and `reason`, expects the same back, then the end.
async fn close_with(ws: &mut Ws, code: u16, reason: &str) {
    ws.close(Some(CloseFrame { code: CloseCode::from(code), reason: reason.into() })).await.unwrap();
    match ws_next(ws).await {
        Message::Close(Some(frame)) => {
            assert_eq!(u16::from(frame.code), code);
            assert_eq!(frame.reason.as_str(), reason);
        }
        other => panic!("expected close {code}, got {other:?}"),
    }
    ws_expect_end(ws).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_echo_at_every_length_form() {
    let server = start_default().await;
    let mut ws = ws_connect(server.local_addr(), "/echo").await;
    for size in SIZES {
        let text = ascii(size);
        assert_eq!(text.len(), size);
        send(&mut ws, Message::text(text.clone())).await;
        match ws_next(&mut ws).await {
            Message::Text(got) => assert!(got.as_str() == text, "text of {size} bytes came back different"),
            other => panic!("size {size}: expected text, got {other:?}"),
        }
    }
    close_with(&mut ws, 1000, "done").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_echo_at_every_length_form() {
    let server = start_default().await;
    let mut ws = ws_connect(server.local_addr(), "/echo").await;
    for size in SIZES {
        let data = bytes(size);
        send(&mut ws, Message::binary(data.clone())).await;
        match ws_next(&mut ws).await {
            Message::Binary(got) => assert!(got == data, "binary of {size} bytes came back different"),
            other => panic!("size {size}: expected binary, got {other:?}"),
        }
    }
    close_with(&mut ws, 1000, "done").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multibyte_utf8_text_echo() {
    let server = start_default().await;
    let mut ws = ws_connect(server.local_addr(), "/echo").await;
    let text = "ŵebsocket — κόσμε — 日本語 — 🦀🦀 — \u{10FFFF} — \u{FEFF}end";
    assert!(text.len() > text.chars().count());
    send(&mut ws, Message::text(text)).await;
    match ws_next(&mut ws).await {
        Message::Text(got) => assert_eq!(got.as_str(), text),
        other => panic!("expected text, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fragmented_text_split_inside_a_character() {
    let server = start_default().await;
    let mut raw = RawClient::connect(server.local_addr(), "/echo").await;
    let text = "price: 10€, crab: 🦀.";
    let bytes = text.as_bytes();
    // Split inside "€" (E2 82 AC) and inside "🦀" (F0 9F A6 80).
    let euro = text.find('€').unwrap();
    let crab = text.find('🦀').unwrap();
    let cuts = [0, euro + 2, crab + 1, crab + 3, bytes.len()];
    assert_eq!(bytes[euro + 2], 0xAC);
    for (i, pair) in cuts.windows(2).enumerate() {
        let part = &bytes[pair[0]..pair[1]];
        let frame = if i == 0 { Frame::text("").fin(false) } else { Frame::cont(b"") };
        let frame = Frame { payload: part.to_vec(), fin: pair[1] == bytes.len(), ..frame };
        raw.send_frame(&frame).await;
    }
    let (opcode, payload) = raw.read_message().await;
    assert_eq!(opcode, OP_TEXT);
    assert_eq!(payload, bytes);
    raw.send_frame(&Frame::close(1000, b"")).await;
    let (close, before) = raw.expect_close(1000).await;
    assert!(before.is_empty(), "unexpected frames: {before:?}");
    assert_eq!(close.close_reason(), b"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_gets_pong_with_the_same_payload() {
    let server = start_default().await;
    let mut ws = ws_connect(server.local_addr(), "/echo").await;
    let payload = b"are you there? \x00\xff".to_vec();
    send(&mut ws, Message::Ping(payload.clone().into())).await;
    match ws_next(&mut ws).await {
        Message::Pong(got) => assert_eq!(got.as_ref(), payload.as_slice()),
        other => panic!("expected pong, got {other:?}"),
    }

    // The same with the raw client: the pong frame itself, and a ping in
    // the middle of a fragmented message.
    let mut raw = RawClient::connect(server.local_addr(), "/echo").await;
    let max: Vec<u8> = (0..125u8).collect();
    raw.send_frame(&Frame::binary(b"first ").fin(false)).await;
    raw.send_frame(&Frame::ping(&max)).await;
    let pong = raw.read_frame().await;
    assert_eq!((pong.fin, pong.rsv, pong.opcode, pong.masked), (true, 0, OP_PONG, false));
    assert_eq!(pong.payload, max);
    raw.send_frame(&Frame::cont(b"second")).await;
    assert_eq!(raw.read_message().await, (OP_BINARY, b"first second".to_vec()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_code_and_reason_are_echoed() {
    let server = start_default().await;
    let mut ws = ws_connect(server.local_addr(), "/echo").await;
    close_with(&mut ws, 4000, "bye").await;

    // The raw client sees the exact bytes: 88 05 0F A0 'b' 'y' 'e'.
    let mut raw = RawClient::connect(server.local_addr(), "/echo").await;
    raw.send_frame(&Frame::close(4000, b"bye")).await;
    let before = raw.received.len();
    let (close, _) = raw.expect_close(4000).await;
    assert_eq!(close.close_reason(), b"bye");
    assert_eq!(raw.received[before..], [0x88, 0x05, 0x0F, 0xA0, b'b', b'y', b'e']);
}

/// Sends `size` bytes as one binary message and expects close `1009`.
async fn ws_too_big(ws: &mut Ws, size: usize) {
    send(ws, Message::binary(bytes(size))).await;
    match ws_next(ws).await {
        Message::Close(Some(frame)) => assert_eq!(u16::from(frame.code), 1009, "reason {:?}", frame.reason),
        other => panic!("expected close 1009, got {other:?}"),
    }
    ws_expect_end(ws).await;
}

/// Sends `size` bytes as one binary message and expects it back.
async fn ws_echoes(ws: &mut Ws, size: usize) {
    let data = bytes(size);
    send(ws, Message::binary(data.clone())).await;
    match ws_next(ws).await {
        Message::Binary(got) => assert!(got == data, "echo of {size} bytes differs"),
        other => panic!("expected the echo of {size} bytes, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_message_size_is_enforced() {
    let server = start(|cfg| cfg.ws.max_message_size = 1000).await;
    let addr = server.local_addr();
    let mut ws = ws_connect(addr, "/echo").await;
    ws_echoes(&mut ws, 1000).await;
    ws_too_big(&mut ws, 1001).await;

    // The limit is on the message: 600 + 401 bytes in two frames also fails,
    // 600 + 400 passes.
    let mut raw = RawClient::connect(addr, "/echo").await;
    raw.send_frame(&Frame::binary(&[1; 600]).fin(false)).await;
    raw.send_frame(&Frame::cont(&[2; 400])).await;
    let (opcode, data) = raw.read_message().await;
    assert_eq!((opcode, data.len()), (OP_BINARY, 1000));
    raw.send_frame(&Frame::binary(&[1; 600]).fin(false)).await;
    raw.send_frame(&Frame::cont(&[2; 401])).await;
    let (_, before) = raw.expect_close(1009).await;
    assert!(before.is_empty(), "unexpected frames: {before:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_frame_size_is_enforced() {
    let server = start(|cfg| cfg.ws.max_frame_size = 1000).await;
    let addr = server.local_addr();
    let mut ws = ws_connect(addr, "/echo").await;
    ws_echoes(&mut ws, 1000).await;
    ws_too_big(&mut ws, 1001).await;

    // The limit is on each frame: 600 + 600 bytes in two frames passes.
    let mut raw = RawClient::connect(addr, "/echo").await;
    raw.send_frame(&Frame::binary(&[1; 600]).fin(false)).await;
    raw.send_frame(&Frame::cont(&[2; 600])).await;
    let (opcode, data) = raw.read_message().await;
    assert_eq!((opcode, data.len()), (OP_BINARY, 1200));
    // A 1001-byte frame fails from its header alone: send only the header.
    let header = Frame::binary(b"").declared_len(1001).encode();
    raw.send(&header).await;
    let (_, before) = raw.expect_close(1009).await;
    assert!(before.is_empty(), "unexpected frames: {before:?}");
}

/// Whole messages are echoed straight from the read buffer and everything
/// else through the queue: in one write, mixed, the answers keep the order
/// of the input (and a frame cut by the end of the write is finished by the
/// next one).
#[tokio::test]
async fn answers_keep_the_order_of_one_mixed_read() {
    let server = start_default().await;
    let mut raw = RawClient::connect(server.local_addr(), "/echo").await;
    let mut wire = Vec::new();
    wire.extend(Frame::text("one").encode());
    wire.extend(Frame::ping(b"p").encode());
    wire.extend(Frame::text("two").encode());
    wire.extend(Frame::new(OP_TEXT, b"thr".to_vec()).fin(false).encode());
    wire.extend(Frame::cont(b"ee").encode());
    wire.extend(Frame::binary(&[4, 4]).encode());
    let last = Frame::text("five, cut across two writes").encode();
    wire.extend(&last[..9]);
    raw.send(&wire).await;
    raw.send(&last[9..]).await;
    let got: Vec<(u8, Vec<u8>)> = {
        let mut got = Vec::new();
        for _ in 0..6 {
            let f = raw.read_frame().await;
            assert!(f.fin && !f.masked, "{f:?}");
            got.push((f.opcode, f.payload));
        }
        got
    };
    let want: Vec<(u8, Vec<u8>)> = vec![
        (OP_TEXT, b"one".to_vec()),
        (OP_PONG, b"p".to_vec()),
        (OP_TEXT, b"two".to_vec()),
        (OP_TEXT, b"three".to_vec()),
        (OP_BINARY, vec![4, 4]),
        (OP_TEXT, b"five, cut across two writes".to_vec()),
    ];
    assert_eq!(got, want);
    // The bytes were unmasked in the server's buffer, not in the tap or the
    // next read: another round on the same connection still echoes right.
    raw.send(&Frame::text("again").encode()).await;
    assert_eq!(raw.read_frame().await.payload, b"again");
}
