//! Test clients for the client checker, each running Autobahn's client
//! loop (`/getCaseCount`, `/runCase?case=N&agent=NAME` echoing every
//! message, `/updateReports?agent=NAME`): wscope's own (the core's client
//! side driven by a small Tokio loop) and a deliberately broken one. Shared
//! by the tests and by `examples/autobahn-client.rs` (which runs either
//! against any fuzzingserver, Autobahn's included).

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wscope_core::Decoded;
use wscope_core::connection::{Config, Connection, Event, Message};
use wscope_core::frame::{FrameHeader, LengthForm, OpCode};
use wscope_core::handshake::{ClientHandshake, HandshakeLimits};
use wscope_core::mask::apply_mask;

/// Which client runs the loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Client {
    /// The core's client: checks the 101, masks, validates, echoes,
    /// offers permessage-deflate.
    Own,
    /// Masks nothing, accepts any 101, never checks UTF-8 or anything else:
    /// echoes every frame as it came (reserved bits and opcodes, fragments
    /// and all), answers pings, echoes a close and drops TCP.
    Broken,
    /// As [`Client::Broken`], but masks its frames: its other defects show
    /// where the missing mask would hide them.
    Lax,
}

/// A case takes at most this long on the client's side.
const CASE_LIMIT: Duration = Duration::from_secs(600);

/// Autobahn's client loop against the checker at `addr` ("127.0.0.1:9001"):
/// every case, then `/updateReports`; the number of cases run.
pub(crate) async fn autobahn_loop(addr: &str, agent: &str, client: Client) -> usize {
    let count = case_count(addr).await;
    run_cases(addr, agent, client, 1..=count).await;
    session(addr, &format!("/updateReports?agent={agent}"), Client::Own).await;
    count
}

/// `/getCaseCount`, or 0.
pub(crate) async fn case_count(addr: &str) -> usize {
    session(addr, "/getCaseCount", Client::Own).await.and_then(|t| t.parse::<usize>().ok()).unwrap_or(0)
}

/// Cases `numbers` for `agent`, one after the other.
pub(crate) async fn run_cases(addr: &str, agent: &str, client: Client, numbers: impl IntoIterator<Item = usize>) {
    for n in numbers {
        let path = format!("/runCase?case={n}&agent={agent}");
        let _ = tokio::time::timeout(CASE_LIMIT, session(addr, &path, client)).await;
    }
}

/// One connection to `path`: echoes every message until the connection
/// ends; the first text message received, if any.
pub(crate) async fn session(addr: &str, path: &str, client: Client) -> Option<String> {
    let mut tcp = TcpStream::connect(addr).await.ok()?;
    let _ = tcp.set_nodelay(true);
    let mut nonce = [0u8; 16];
    let _ = getrandom::fill(&mut nonce);
    let mut hs = ClientHandshake::new(addr, path, nonce);
    if client == Client::Own {
        hs.extensions = Some("permessage-deflate; client_max_window_bits".into());
    }
    tcp.write_all(&hs.request().ok()?).await.ok()?;
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let deflate = loop {
        let n = tcp.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(chunk.get(..n)?);
        if client != Client::Own {
            // Any answer will do: the head's end is enough.
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                buf.drain(..end.checked_add(4)?);
                break None;
            }
            continue;
        }
        match hs.check_response(&buf, &HandshakeLimits::default()) {
            Ok(Decoded::Complete { value, len }) => {
                buf.drain(..len);
                break value.deflate;
            }
            Ok(Decoded::Incomplete { .. }) => {}
            Err(_) => return None,
        }
    };
    match client {
        Client::Own => own(tcp, buf, deflate).await,
        Client::Broken => broken(tcp, buf, false).await,
        Client::Lax => broken(tcp, buf, true).await,
    }
}

async fn own(
    mut tcp: TcpStream,
    rest: Vec<u8>,
    deflate: Option<wscope_core::deflate::DeflateParams>,
) -> Option<String> {
    // The fastest compression: groups 12 and 13 move 2.5 GB each way, and
    // the level changes no verdict.
    let config = Config { deflate, compression_level: 1, ..Config::default() };
    let mut conn = Connection::client(
        config,
        Box::new(|| {
            let mut k = [0u8; 4];
            let _ = getrandom::fill(&mut k);
            k
        }),
    );
    let mut first = None;
    let mut chunk = vec![0u8; 64 * 1024];
    conn.receive_data(&rest);
    loop {
        while let Some(event) = conn.next_event() {
            match event {
                Event::Text(t) => {
                    let _ = conn.send(Message::Text(&t));
                    first.get_or_insert(t);
                }
                Event::Binary(b) => {
                    let _ = conn.send(Message::Binary(&b));
                }
                _ => {}
            }
        }
        let out = conn.take_output();
        if !out.is_empty() && tcp.write_all(&out).await.is_err() {
            return first;
        }
        // After the closing handshake the server closes TCP; read until it
        // does.
        let n = match tcp.read(&mut chunk).await {
            Ok(0) | Err(_) => return first,
            Ok(n) => n,
        };
        conn.receive_data(chunk.get(..n)?);
    }
}

async fn broken(mut tcp: TcpStream, mut buf: Vec<u8>, masks: bool) -> Option<String> {
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        while let Decoded::Complete { value: header, len } = FrameHeader::decode(&buf) {
            let end = len.checked_add(usize::try_from(header.payload_len).ok()?)?;
            if buf.len() < end {
                break;
            }
            let mut payload = buf.get(len..end)?.to_vec();
            if let Some(key) = header.mask {
                apply_mask(&mut payload, key, 0);
            }
            buf.drain(..end);
            let opcode = match header.opcode.bits() {
                9 => OpCode::Pong,
                10 => continue,
                bits => OpCode::from_bits(bits),
            };
            let reply = FrameHeader {
                fin: header.fin,
                rsv: header.rsv,
                opcode,
                mask: masks.then(|| {
                    let mut k = [0u8; 4];
                    let _ = getrandom::fill(&mut k);
                    k
                }),
                payload_len: payload.len() as u64,
                length_form: LengthForm::minimal(payload.len() as u64),
            };
            let mut out = Vec::new();
            reply.encode_frame(&payload, &mut out).ok()?;
            tcp.write_all(&out).await.ok()?;
            if header.opcode.bits() == 8 {
                return None;
            }
        }
        let n = tcp.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(chunk.get(..n)?);
    }
}
