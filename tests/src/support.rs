//! What every test shares: a server on port 0, a raw client that builds and
//! parses frames by hand (independently of `wscope-core`'s frame code) and
//! records every byte, raw HTTP exchanges, and a tokio-tungstenite client.
//!
//! Every wait is bounded by [`WAIT`]: the bound only turns a hang into a
//! failure, no test asserts on how long anything took.

use base64::Engine as _;
use futures_util::StreamExt as _;
use sha1::Digest as _;
use std::future::Future;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use wscope_core::handshake::ClientHandshake;
use wscope_server::notes::{InjectNote, TapNote};
use wscope_server::{Server, ServerConfig};

/// The longest any single wait may take before the test fails.
pub(crate) const WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The GUID of RFC 6455 section 1.3.
pub(crate) const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Opcodes, written out here rather than taken from the core.
pub(crate) const OP_CONT: u8 = 0x0;
pub(crate) const OP_TEXT: u8 = 0x1;
pub(crate) const OP_BINARY: u8 = 0x2;
pub(crate) const OP_CLOSE: u8 = 0x8;
pub(crate) const OP_PING: u8 = 0x9;
pub(crate) const OP_PONG: u8 = 0xA;

/// Awaits `fut`, failing the test if it takes longer than [`WAIT`].
pub(crate) async fn within<F: Future>(what: &str, fut: F) -> F::Output {
    match tokio::time::timeout(WAIT, fut).await {
        Ok(out) => out,
        Err(_) => panic!("timed out after {WAIT:?} waiting for {what}"),
    }
}

/// The repository's `www` folder.
pub(crate) fn www_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../www"))
}

/// Starts a server on 127.0.0.1 port 0 serving [`www_dir`], after `adjust`
/// has changed the defaults.
pub(crate) async fn start(adjust: impl FnOnce(&mut ServerConfig)) -> Server {
    let mut cfg = ServerConfig::new("127.0.0.1:0".parse().unwrap(), www_dir());
    adjust(&mut cfg);
    Server::start(cfg).await.expect("server starts")
}

/// A server with the default configuration.
pub(crate) async fn start_default() -> Server {
    start(|_| {}).await
}

/// 16 random bytes.
pub(crate) fn random16() -> [u8; 16] {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("randomness");
    b
}

/// A fresh tap token: 32 random hex digits (128 bits).
pub(crate) fn tap_token() -> String {
    random16().iter().map(|b| format!("{b:02x}")).collect()
}

/// `Sec-WebSocket-Accept` for `key`, computed here with `sha1` and `base64`
/// (not with the core): base64(sha1(key + GUID)).
pub(crate) fn expected_accept(key: &str) -> String {
    let digest = sha1::Sha1::digest(format!("{key}{GUID}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(digest.as_slice())
}

/// Position of the first `\r\n\r\n` in `bytes`, if any.
pub(crate) fn find_head_end(bytes: &[u8]) -> Option<usize> {
    bytes.windows(4).position(|w| w == b"\r\n\r\n")
}

// ---------------------------------------------------------------------------
// Frames, by hand.
// ---------------------------------------------------------------------------

/// A frame to send, every header bit chosen by the test.
#[derive(Clone, Debug)]
pub(crate) struct Frame {
    pub(crate) fin: bool,
    /// RSV1..RSV3 as the three low bits (RSV1 = 0b100).
    pub(crate) rsv: u8,
    pub(crate) opcode: u8,
    /// `None` sends the frame unmasked.
    pub(crate) mask: Option<[u8; 4]>,
    pub(crate) payload: Vec<u8>,
    /// Payload length to write in the header instead of the real one.
    pub(crate) declared_len: Option<u64>,
    /// Force the 16-bit (126) or 64-bit (127) length form.
    pub(crate) length_form: Option<u8>,
}

/// Mask keys vary from frame to frame (the zero key only when a test asks).
static NEXT_KEY: AtomicU32 = AtomicU32::new(0x37fa_213d);

impl Frame {
    /// A final, masked frame with `opcode` and `payload`.
    pub(crate) fn new(opcode: u8, payload: impl Into<Vec<u8>>) -> Frame {
        let key = NEXT_KEY.fetch_add(0x0101_0103, Ordering::Relaxed).to_be_bytes();
        Frame {
            fin: true,
            rsv: 0,
            opcode,
            mask: Some(key),
            payload: payload.into(),
            declared_len: None,
            length_form: None,
        }
    }

    pub(crate) fn text(text: &str) -> Frame {
        Frame::new(OP_TEXT, text.as_bytes())
    }

    pub(crate) fn binary(data: &[u8]) -> Frame {
        Frame::new(OP_BINARY, data)
    }

    pub(crate) fn cont(data: &[u8]) -> Frame {
        Frame::new(OP_CONT, data)
    }

    pub(crate) fn ping(data: &[u8]) -> Frame {
        Frame::new(OP_PING, data)
    }

    /// A close frame with `code` and `reason` bytes.
    pub(crate) fn close(code: u16, reason: &[u8]) -> Frame {
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice(reason);
        Frame::new(OP_CLOSE, payload)
    }

    pub(crate) fn fin(mut self, fin: bool) -> Frame {
        self.fin = fin;
        self
    }

    pub(crate) fn rsv(mut self, rsv: u8) -> Frame {
        self.rsv = rsv;
        self
    }

    pub(crate) fn mask(mut self, key: [u8; 4]) -> Frame {
        self.mask = Some(key);
        self
    }

    pub(crate) fn unmasked(mut self) -> Frame {
        self.mask = None;
        self
    }

    pub(crate) fn declared_len(mut self, len: u64) -> Frame {
        self.declared_len = Some(len);
        self
    }

    pub(crate) fn length_form(mut self, form: u8) -> Frame {
        self.length_form = Some(form);
        self
    }

    /// The frame's bytes (RFC 6455 section 5.2).
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.payload.len() + 14);
        out.push(u8::from(self.fin) << 7 | (self.rsv & 0b111) << 4 | (self.opcode & 0x0F));
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let len = self.declared_len.unwrap_or(self.payload.len() as u64);
        let form = self.length_form.unwrap_or(match len {
            0..=125 => 0,
            126..=0xFFFF => 126,
            _ => 127,
        });
        match form {
            0 => out.push(mask_bit | len as u8),
            126 => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&len.to_be_bytes());
            }
        }
        match self.mask {
            Some(key) => {
                out.extend_from_slice(&key);
                out.extend(self.payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
            }
            None => out.extend_from_slice(&self.payload),
        }
        out
    }
}

/// A frame the server sent, parsed by hand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ServerFrame {
    pub(crate) fin: bool,
    pub(crate) rsv: u8,
    pub(crate) opcode: u8,
    /// Whether the server masked it (it never may).
    pub(crate) masked: bool,
    /// The payload, unmasked if it was masked.
    pub(crate) payload: Vec<u8>,
}

impl ServerFrame {
    /// The close code of a close frame (`None` if its payload is empty).
    pub(crate) fn close_code(&self) -> Option<u16> {
        assert_eq!(self.opcode, OP_CLOSE, "not a close frame: {self:?}");
        match self.payload.as_slice() {
            [] => None,
            [hi, lo, ..] => Some(u16::from_be_bytes([*hi, *lo])),
            [_] => panic!("server sent a one-byte close payload"),
        }
    }

    pub(crate) fn close_reason(&self) -> &[u8] {
        self.payload.get(2..).unwrap_or_default()
    }
}

/// Parses one frame from the front of `buf`: the frame and its length, or
/// `None` if `buf` does not hold a whole frame yet.
pub(crate) fn parse_frame(buf: &[u8]) -> Option<(ServerFrame, usize)> {
    let (&b0, &b1) = (buf.first()?, buf.get(1)?);
    let masked = b1 & 0x80 != 0;
    let (len, mut pos) = match b1 & 0x7F {
        126 => (u64::from(u16::from_be_bytes(buf.get(2..4)?.try_into().unwrap())), 4),
        127 => (u64::from_be_bytes(buf.get(2..10)?.try_into().unwrap()), 10),
        n => (u64::from(n), 2),
    };
    let key = if masked {
        let k: [u8; 4] = buf.get(pos..pos + 4)?.try_into().unwrap();
        pos += 4;
        Some(k)
    } else {
        None
    };
    let len = usize::try_from(len).expect("frame length fits in memory");
    let raw = buf.get(pos..pos + len)?;
    let payload = match key {
        Some(k) => raw.iter().enumerate().map(|(i, b)| b ^ k[i % 4]).collect(),
        None => raw.to_vec(),
    };
    let frame = ServerFrame { fin: b0 & 0x80 != 0, rsv: (b0 >> 4) & 0b111, opcode: b0 & 0x0F, masked, payload };
    Some((frame, pos + len))
}

// ---------------------------------------------------------------------------
// The raw client.
// ---------------------------------------------------------------------------

/// A client over a bare `TcpStream` that records every byte both ways.
#[derive(Debug)]
pub(crate) struct RawClient {
    stream: TcpStream,
    /// Every byte written, in order.
    pub(crate) sent: Vec<u8>,
    /// Every byte read, in order.
    pub(crate) received: Vec<u8>,
    /// Received bytes not yet consumed by a parser.
    pending: Vec<u8>,
    /// Whether the server closed its side (read returned 0 or reset).
    eof: bool,
}

/// The parts of an HTTP response head.
#[derive(Clone, Debug)]
pub(crate) struct HttpResponse {
    pub(crate) status_line: String,
    /// Header lines in order, names as sent.
    pub(crate) headers: Vec<(String, String)>,
    /// Bytes after the head that arrived with it (or all of them, after
    /// [`RawClient::read_to_end`]).
    pub(crate) body: Vec<u8>,
}

impl HttpResponse {
    fn parse(head: &[u8], body: Vec<u8>) -> HttpResponse {
        let text = std::str::from_utf8(head).expect("response head is UTF-8");
        let mut lines = text.split("\r\n");
        let status_line = lines.next().unwrap_or_default().to_string();
        let headers = lines
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (n, v) = l.split_once(':').unwrap_or_else(|| panic!("bad header line {l:?}"));
                (n.trim().to_string(), v.trim().to_string())
            })
            .collect();
        HttpResponse { status_line, headers, body }
    }

    /// Every value of header `name` (case-insensitive).
    pub(crate) fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    }

    /// The value of header `name`, which must appear exactly once.
    pub(crate) fn header(&self, name: &str) -> &str {
        match self.header_values(name).as_slice() {
            [v] => v,
            other => panic!("expected one {name} header, found {other:?} in {:?}", self.headers),
        }
    }
}

impl RawClient {
    /// Opens TCP to `addr`; no bytes sent.
    pub(crate) async fn tcp(addr: SocketAddr) -> RawClient {
        let stream = within("TCP connect", TcpStream::connect(addr)).await.expect("TCP connect");
        stream.set_nodelay(true).unwrap();
        RawClient { stream, sent: Vec::new(), received: Vec::new(), pending: Vec::new(), eof: false }
    }

    /// Opens a WebSocket to `target` (e.g. `/echo`): sends a request built
    /// by [`ClientHandshake`], checks the 101 and its accept value by hand.
    pub(crate) async fn connect(addr: SocketAddr, target: &str) -> RawClient {
        RawClient::connect_offering(addr, target, None).await.0
    }

    /// The same, offering `extensions` (`Sec-WebSocket-Extensions`); returns
    /// the 101 too.
    pub(crate) async fn connect_offering(
        addr: SocketAddr,
        target: &str,
        extensions: Option<&str>,
    ) -> (RawClient, HttpResponse) {
        let mut client = RawClient::tcp(addr).await;
        let mut handshake = ClientHandshake::new(&addr.to_string(), target, random16());
        handshake.extensions = extensions.map(str::to_owned);
        client.send(&handshake.request().unwrap()).await;
        let response = client.read_head().await;
        assert_eq!(response.status_line, "HTTP/1.1 101 Switching Protocols", "handshake to {target}: {response:?}");
        assert_eq!(response.header("Sec-WebSocket-Accept"), expected_accept(&handshake.key));
        assert!(response.header("Upgrade").eq_ignore_ascii_case("websocket"));
        (client, response)
    }

    /// Writes `bytes` and records them.
    pub(crate) async fn send(&mut self, bytes: &[u8]) {
        within("write", self.stream.write_all(bytes)).await.expect("write to server");
        self.sent.extend_from_slice(bytes);
    }

    /// Writes `bytes` if the server takes them within `wait`; false if the
    /// write is still blocked then (the server stopped reading). Not
    /// recorded.
    pub(crate) async fn try_send_within(&mut self, bytes: &[u8], wait: std::time::Duration) -> bool {
        match tokio::time::timeout(wait, self.stream.write_all(bytes)).await {
            Ok(r) => {
                r.expect("write to server");
                true
            }
            Err(_) => false,
        }
    }

    /// Writes one byte at a time, each in its own write call.
    pub(crate) async fn send_bytewise(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.send(std::slice::from_ref(b)).await;
            self.stream.flush().await.unwrap();
            tokio::task::yield_now().await;
        }
    }

    /// Encodes and writes a frame.
    pub(crate) async fn send_frame(&mut self, frame: &Frame) {
        self.send(&frame.encode()).await;
    }

    /// Reads once into `pending`; false once the server has closed its side
    /// (read returned 0 or the connection was reset).
    async fn fill(&mut self) -> bool {
        if self.eof {
            return false;
        }
        let mut buf = vec![0u8; 64 * 1024];
        match within("bytes from the server", self.stream.read(&mut buf)).await {
            Ok(0) => {
                self.eof = true;
                false
            }
            Ok(n) => {
                self.received.extend_from_slice(&buf[..n]);
                self.pending.extend_from_slice(&buf[..n]);
                true
            }
            Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted) => {
                self.eof = true;
                false
            }
            Err(e) => panic!("read failed: {e}"),
        }
    }

    /// Reads an HTTP response head; bytes after it stay pending (and are
    /// returned as the body so far).
    pub(crate) async fn read_head(&mut self) -> HttpResponse {
        loop {
            if let Some(end) = find_head_end(&self.pending) {
                let head: Vec<u8> = self.pending.drain(..end + 4).collect();
                return HttpResponse::parse(&head[..end], self.pending.clone());
            }
            assert!(
                self.fill().await,
                "server closed before a whole response head; got {:?}",
                String::from_utf8_lossy(&self.received)
            );
        }
    }

    /// Reads until the server closes, and parses everything as one HTTP
    /// response (head and body).
    pub(crate) async fn read_to_end(&mut self) -> HttpResponse {
        while self.fill().await {}
        let all = std::mem::take(&mut self.pending);
        let end =
            find_head_end(&all).unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(&all)));
        HttpResponse::parse(&all[..end], all[end + 4..].to_vec())
    }

    /// Reads the next frame the server sends.
    pub(crate) async fn read_frame(&mut self) -> ServerFrame {
        loop {
            if let Some((frame, len)) = parse_frame(&self.pending) {
                self.pending.drain(..len);
                return frame;
            }
            assert!(
                self.fill().await,
                "server closed TCP before a whole frame; {} bytes pending: {:02x?}",
                self.pending.len(),
                &self.pending[..self.pending.len().min(32)]
            );
        }
    }

    /// Reads frames until a whole message: (opcode, payload). Control
    /// frames in between fail the test.
    pub(crate) async fn read_message(&mut self) -> (u8, Vec<u8>) {
        let first = self.read_frame().await;
        assert!(!first.masked, "server frame is masked: {first:?}");
        assert!(matches!(first.opcode, OP_TEXT | OP_BINARY), "expected a data frame, got {first:?}");
        let (opcode, mut data, mut fin) = (first.opcode, first.payload, first.fin);
        while !fin {
            let next = self.read_frame().await;
            assert!(!next.masked, "server frame is masked: {next:?}");
            assert_eq!(next.opcode, OP_CONT, "expected a continuation, got {next:?}");
            data.extend_from_slice(&next.payload);
            fin = next.fin;
        }
        (opcode, data)
    }

    /// Reads frames until a close frame, checks that every frame was
    /// unmasked, that the close carries `code`, that nothing follows it, and
    /// that the server then closes TCP. Returns the close frame and the
    /// frames that came before it.
    pub(crate) async fn expect_close(&mut self, code: u16) -> (ServerFrame, Vec<ServerFrame>) {
        let mut before = Vec::new();
        let close = loop {
            let frame = self.read_frame().await;
            assert!(!frame.masked, "server frame is masked: {frame:?}");
            assert_eq!(frame.rsv, 0, "server frame has RSV bits: {frame:?}");
            if frame.opcode == OP_CLOSE {
                break frame;
            }
            before.push(frame);
        };
        assert!(close.fin, "fragmented close frame: {close:?}");
        assert_eq!(
            close.close_code(),
            Some(code),
            "close reason {:?}; frames before it: {before:?}",
            String::from_utf8_lossy(close.close_reason())
        );
        self.expect_tcp_closed().await;
        (close, before)
    }

    /// Asserts the server closes TCP without sending anything more.
    pub(crate) async fn expect_tcp_closed(&mut self) {
        while self.fill().await {}
        assert!(self.pending.is_empty(), "server sent bytes after its close frame: {:02x?}", self.pending);
    }

    /// Closes our side of TCP (after the server closed its own), so the
    /// server's task ends without waiting.
    pub(crate) async fn shutdown(&mut self) {
        let _ = self.stream.shutdown().await;
    }
}

// ---------------------------------------------------------------------------
// Raw HTTP and tokio-tungstenite.
// ---------------------------------------------------------------------------

/// Sends `request` on a fresh connection and reads the whole response
/// (the server must close the connection after it).
pub(crate) async fn http_exchange(addr: SocketAddr, request: &[u8]) -> HttpResponse {
    let mut client = RawClient::tcp(addr).await;
    client.send(request).await;
    client.read_to_end().await
}

/// A tokio-tungstenite connection.
pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens a tokio-tungstenite connection to `ws://addr{target}`.
pub(crate) async fn ws_connect(addr: SocketAddr, target: &str) -> Ws {
    let url = format!("ws://{addr}{target}");
    let (ws, response) =
        within("tungstenite handshake", tokio_tungstenite::connect_async(url.as_str())).await.expect("connect");
    assert_eq!(response.status().as_u16(), 101);
    ws
}

/// The next message on `ws`, failing on an error or the end of the stream.
pub(crate) async fn ws_next(ws: &mut Ws) -> Message {
    match within("a message", ws.next()).await {
        Some(Ok(m)) => m,
        Some(Err(e)) => panic!("websocket error: {e}"),
        None => panic!("websocket ended"),
    }
}

/// Asserts `ws` ends (after its close handshake) without another message.
pub(crate) async fn ws_expect_end(ws: &mut Ws) {
    match within("the end of the stream", ws.next()).await {
        None => {}
        Some(Err(tokio_tungstenite::tungstenite::Error::ConnectionClosed)) => {}
        Some(other) => panic!("expected the end of the stream, got {other:?}"),
    }
}

/// The `/tap` note a text message holds, or `None` for any other message;
/// fails the test on a text message that is not one of the notes the
/// server documents (`wscope_server::notes`), fields and all.
pub(crate) fn tap_note(message: &Message) -> Option<TapNote> {
    match message {
        Message::Text(t) => {
            Some(serde_json::from_str(t.as_str()).unwrap_or_else(|e| panic!("not a /tap note ({e}): {t}")))
        }
        _ => None,
    }
}

/// The `/inject` note a text message holds, or `None` for any other
/// message; fails the test on a text message that is not one of the
/// documented notes, fields and all.
pub(crate) fn inject_note(message: &Message) -> Option<InjectNote> {
    match message {
        Message::Text(t) => {
            Some(serde_json::from_str(t.as_str()).unwrap_or_else(|e| panic!("not an /inject note ({e}): {t}")))
        }
        _ => None,
    }
}

/// A message of the tap/inject stream format: `[dir][u64 µs][bytes]`.
pub(crate) fn chunk_of(data: &[u8]) -> (u8, &[u8]) {
    assert!(data.len() > 9, "chunk too short: {data:02x?}");
    let dir = data[0];
    assert!(dir <= 1, "bad direction byte {dir}");
    (dir, &data[9..])
}

#[cfg(test)]
mod tests {
    //! The hand-written frame code against RFC 6455 section 5.7's examples.
    use super::*;

    #[test]
    fn encodes_rfc_examples() {
        let hello = Frame::text("Hello").mask([0x37, 0xfa, 0x21, 0x3d]);
        assert_eq!(hello.encode(), [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
        let unmasked = Frame::text("Hello").unmasked();
        assert_eq!(unmasked.encode(), [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
        let first = Frame::text("Hel").fin(false).unmasked();
        assert_eq!(first.encode(), [0x01, 0x03, 0x48, 0x65, 0x6c]);
        let second = Frame::cont(b"lo").unmasked();
        assert_eq!(second.encode(), [0x80, 0x02, 0x6c, 0x6f]);
        let b256 = Frame::binary(&[0u8; 256]).unmasked().encode();
        assert_eq!(b256[..4], [0x82, 0x7E, 0x01, 0x00]);
        assert_eq!(b256.len(), 4 + 256);
        let b64k = Frame::binary(&[0u8; 65536]).unmasked().encode();
        assert_eq!(b64k[..10], [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]);
        assert_eq!(b64k.len(), 10 + 65536);
        let rsv = Frame::new(0x3, b"").rsv(0b101).fin(false).unmasked();
        assert_eq!(rsv.encode(), [0x53, 0x00]);
    }

    #[test]
    fn parses_rfc_examples() {
        let masked = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
        let (f, len) = parse_frame(&masked).unwrap();
        assert_eq!(len, masked.len());
        assert_eq!((f.fin, f.opcode, f.masked, f.payload.as_slice()), (true, OP_TEXT, true, &b"Hello"[..]));
        let ping = [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        let (f, _) = parse_frame(&ping).unwrap();
        assert_eq!((f.opcode, f.masked, f.payload.as_slice()), (OP_PING, false, &b"Hello"[..]));
        assert!(parse_frame(&ping[..6]).is_none());
        let mut big = vec![0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0];
        big.extend(std::iter::repeat_n(7u8, 65536));
        let (f, len) = parse_frame(&big).unwrap();
        assert_eq!((len, f.payload.len()), (big.len(), 65536));
        for size in [0usize, 1, 125, 126, 127, 65535, 65536] {
            let payload: Vec<u8> = (0..size).map(|i| i as u8).collect();
            let bytes = Frame::binary(&payload).encode();
            let (f, len) = parse_frame(&bytes).unwrap();
            assert_eq!((len, f.payload == payload, f.masked), (bytes.len(), true, true), "size {size}");
        }
    }

    #[test]
    fn accept_matches_rfc_sample() {
        assert_eq!(expected_accept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }
}
