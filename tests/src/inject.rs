//! `/inject`: raw bytes written to the server's own `/echo`, the reply
//! streamed back in the tap's format.

use crate::support::{
    Frame, Ws, chunk_of, find_head_end, inject_note, parse_frame, start_default, ws_connect, ws_next,
};
use futures_util::SinkExt as _;
use tokio_tungstenite::tungstenite::Message;
use wscope_server::notes::{ClosedBy, InjectNote};

/// What one injection reported.
#[derive(Debug)]
struct Injection {
    notes: Vec<InjectNote>,
    to_echo: Vec<u8>,
    from_echo: Vec<u8>,
}

impl Injection {
    /// The start note's `(id, target, bytes)`.
    fn start(&self) -> (u64, &str, u64) {
        self.notes
            .iter()
            .find_map(|n| match n {
                InjectNote::Start { id, target, bytes } => Some((*id, target.as_str(), *bytes)),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no start note in {:?}", self.notes))
    }

    /// The handshake note's `(id, ok)`.
    fn handshake(&self) -> (u64, bool) {
        self.notes
            .iter()
            .find_map(|n| match n {
                InjectNote::Handshake { id, ok, .. } => Some((*id, *ok)),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no handshake note in {:?}", self.notes))
    }

    /// The end note's `(id, closed_by)`; [`read_injection`] stops at it.
    fn end(&self) -> (u64, ClosedBy) {
        match self.notes.last() {
            Some(InjectNote::End { id, closed_by, .. }) => (*id, *closed_by),
            _ => panic!("no end note last in {:?}", self.notes),
        }
    }
}

/// Reads the reports of one injection up to its `end` note.
async fn read_injection(ws: &mut Ws) -> Injection {
    let mut out = Injection { notes: Vec::new(), to_echo: Vec::new(), from_echo: Vec::new() };
    loop {
        let message = ws_next(ws).await;
        match &message {
            Message::Binary(data) => match chunk_of(data) {
                (0, bytes) => out.to_echo.extend_from_slice(bytes),
                (_, bytes) => out.from_echo.extend_from_slice(bytes),
            },
            Message::Text(_) => {
                let note = inject_note(&message).unwrap();
                assert!(!matches!(note, InjectNote::Error { .. }), "injection refused: {note:?}");
                let end = matches!(note, InjectNote::End { .. });
                out.notes.push(note);
                if end {
                    return out;
                }
            }
            other => panic!("unexpected message from /inject: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmasked_frame_gets_close_1002() {
    let server = start_default().await;
    let mut ws = ws_connect(server.local_addr(), "/inject").await;
    let payload = vec![0x81, 0x02, 0x68, 0x69];
    ws.send(Message::binary(payload.clone())).await.unwrap();
    let injection = read_injection(&mut ws).await;

    let (id, target, bytes) = injection.start();
    assert_eq!((id, bytes), (1, 4), "the session's first injection, of 4 bytes");
    assert_eq!(target, format!("ws://{}/echo", server.local_addr()));
    assert_eq!(injection.handshake(), (id, true), "{:?}", injection.notes);
    assert_eq!(injection.end(), (id, ClosedBy::Server), "{:?}", injection.notes);

    // What went to /echo: a GET upgrade, then exactly the payload.
    let sent_head = find_head_end(&injection.to_echo).expect("a request head") + 4;
    assert!(injection.to_echo.starts_with(b"GET /echo HTTP/1.1\r\n"));
    assert_eq!(injection.to_echo[sent_head..], payload);

    // What came back: the 101, then first of all a close frame with 1002.
    assert!(injection.from_echo.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
    let head_end = find_head_end(&injection.from_echo).expect("a response head") + 4;
    let frames = &injection.from_echo[head_end..];
    let (close, len) = parse_frame(frames).unwrap_or_else(|| panic!("no whole frame after the head: {frames:02x?}"));
    assert_eq!((close.fin, close.opcode, close.masked), (true, 0x8, false), "{close:?}");
    assert_eq!(close.close_code(), Some(1002));
    assert_eq!(len, frames.len(), "nothing follows the close frame");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn masked_frames_are_answered() {
    // The counterpart: a masked "hi" comes back as an unmasked "hi", and a
    // masked close 1000 "ok" as an unmasked close 1000 "ok", then /echo
    // closes TCP.
    let server = start_default().await;
    let mut ws = ws_connect(server.local_addr(), "/inject").await;
    let mut payload = Frame::text("hi").encode();
    payload.extend(Frame::close(1000, b"ok").encode());
    ws.send(Message::binary(payload)).await.unwrap();
    let injection = read_injection(&mut ws).await;
    assert_eq!(injection.end().1, ClosedBy::Server, "{:?}", injection.notes);
    let head_end = find_head_end(&injection.from_echo).expect("a response head") + 4;
    let frames = &injection.from_echo[head_end..];
    let (echo, len) = parse_frame(frames).unwrap_or_else(|| panic!("no whole frame after the head: {frames:02x?}"));
    assert_eq!((echo.fin, echo.opcode, echo.masked, echo.payload.as_slice()), (true, 0x1, false, &b"hi"[..]));
    assert_eq!(frames[len..], [0x88, 0x04, 0x03, 0xE8, b'o', b'k']);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_message_gets_an_error_note() {
    let server = start_default().await;
    let mut ws = ws_connect(server.local_addr(), "/inject").await;
    ws.send(Message::text("81 02 68 69")).await.unwrap();
    match inject_note(&ws_next(&mut ws).await).expect("a text note") {
        InjectNote::Error { message } => assert!(!message.is_empty()),
        other => panic!("expected an error note, got {other:?}"),
    }
}

/// With `--allow-origin`, the server's own connection still gets through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inject_works_with_an_origin_policy() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let server = crate::support::start(|cfg| cfg.allow_origins = vec!["http://explorer.test".into()]).await;
    let mut request = format!("ws://{}/inject", server.local_addr()).into_client_request().unwrap();
    request.headers_mut().insert("Origin", "http://explorer.test".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    ws.send(Message::binary(vec![0x81, 0x02, 0x68, 0x69])).await.unwrap();
    let injection = read_injection(&mut ws).await;
    assert!(injection.handshake().1, "{:?}", injection.notes);
    let head = find_head_end(&injection.from_echo).expect("a 101 head") + 4;
    let (close, _) = parse_frame(&injection.from_echo[head..]).expect("a frame after the head");
    assert_eq!(close.close_code(), Some(1002));
}

/// `/inject?deflate=on`: wscope offers permessage-deflate, /echo agrees, and
/// a compressed frame (RFC 7692's "Hello", masked) is read and answered;
/// without the offer the same bytes are a 1002 (RSV1 with no extension).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_frames_can_be_injected_with_the_offer() {
    let server = start_default().await;
    let hello = Frame::new(0x1, vec![0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]).rsv(0b100).encode();
    let mut ws = ws_connect(server.local_addr(), "/inject?deflate=on").await;
    ws.send(Message::binary(hello.clone())).await.unwrap();
    let injection = read_injection(&mut ws).await;
    let sent = String::from_utf8_lossy(&injection.to_echo);
    assert!(sent.contains("Sec-WebSocket-Extensions: permessage-deflate\r\n"), "{sent}");
    let head_end = find_head_end(&injection.from_echo).expect("a response head") + 4;
    let head = String::from_utf8_lossy(&injection.from_echo[..head_end]);
    assert!(head.contains("Sec-WebSocket-Extensions: permessage-deflate\r\n"), "{head}");
    let (echo, _) = parse_frame(&injection.from_echo[head_end..]).expect("a frame after the head");
    // Short echoes go out uncompressed.
    assert_eq!((echo.rsv, echo.opcode, echo.payload.as_slice()), (0, 0x1, &b"Hello"[..]));

    let mut plain = ws_connect(server.local_addr(), "/inject").await;
    plain.send(Message::binary(hello)).await.unwrap();
    let injection = read_injection(&mut plain).await;
    let head_end = find_head_end(&injection.from_echo).expect("a response head") + 4;
    let (close, _) = parse_frame(&injection.from_echo[head_end..]).expect("a frame after the head");
    assert_eq!(close.close_code(), Some(1002));
}
