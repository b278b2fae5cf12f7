//! The checker against real servers on loopback: wscope-server passes every
//! case; a broken server (one that accepts the handshake, then echoes
//! nothing and drops TCP without a close frame) fails every case, with the
//! reason and the close behaviour saying why.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation
)]

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wscope_check::case::{Action, Rule};
use wscope_check::{CloseBehavior, Settings, Target, Verdict, cases, run_case};
use wscope_core::Decoded;
use wscope_core::frame::{FrameHeader, LengthForm, OpCode};
use wscope_core::handshake::{HandshakeLimits, parse_request};
use wscope_core::mask::apply_mask;
use wscope_server::{Server, ServerConfig};

#[tokio::test]
async fn wscope_server_passes_every_case() {
    let www = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../www"));
    let server = Server::start(ServerConfig::new("127.0.0.1:0".parse().unwrap(), www)).await.unwrap();
    let target = Target::parse(&format!("ws://{}/echo", server.local_addr())).unwrap();
    // The long groups (performance, permessage-deflate) run in full_run.rs.
    let all = cases::select(cases::all(), "", "9.*,12.*,13.*");
    assert_eq!(all.len(), 247);
    for case in &all {
        let o = run_case(&target, case, &Settings::new(Duration::from_secs(10))).await;
        if case.rule == Rule::Informational {
            assert_eq!(
                (o.verdict, o.close),
                (Verdict::Informational, Some(CloseBehavior::Informational)),
                "{}",
                case.id
            );
        } else {
            assert_eq!(o.verdict, Verdict::Ok, "{}: {}", case.id, o.reason);
            assert_eq!(o.close, Some(CloseBehavior::Ok), "{}: {}", case.id, o.close_reason);
        }
        // Its close carries no code or one the case allows; the client's is
        // the case's first when the client closes on a match.
        assert!(
            matches!(o.server_close, Some(None))
                || matches!(o.server_close, Some(Some(c)) if case.close.codes.contains(&c)),
            "{}: {:?}",
            case.id,
            o.server_close
        );
        if case.close.closed_by_client
            && case.actions.iter().all(|a| !matches!(a, Action::Close(_) | Action::CloseRaw(_)))
        {
            assert_eq!(o.client_close, Some(Some(case.close.codes[0])), "{}", case.id);
        }
        // Every byte each way is kept: the client's request first, the 101 next.
        assert!(o.records[0].from_client && o.records[0].bytes.starts_with(b"GET /echo HTTP/1.1\r\n"));
        assert!(o.records.iter().any(|r| !r.from_client && r.bytes.starts_with(b"HTTP/1.1 101 ")));
    }
    server.shutdown().await;
}

/// Reads a client's handshake and answers it with a correct 101; returns
/// the bytes read past the request, or `None` if the client went away.
async fn accept_handshake(tcp: &mut tokio::net::TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tcp.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
        if let Ok(Decoded::Complete { value, len }) = parse_request(&buf, &HandshakeLimits::default()) {
            tcp.write_all(&value.response(None, None).unwrap()).await.ok()?;
            return Some(buf.split_off(len));
        }
    }
}

/// Accepts one connection at a time: a correct 101, then reads whatever
/// comes for a moment and drops the connection without a word.
async fn mute_server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                if accept_handshake(&mut tcp).await.is_some() {
                    let mut chunk = [0u8; 4096];
                    let _ = tokio::time::timeout(Duration::from_millis(200), tcp.read(&mut chunk)).await;
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn a_server_that_echoes_nothing_fails_with_reasons() {
    let target = Target::parse(&format!("ws://{}/", mute_server().await)).unwrap();
    for case in cases::select(cases::all(), "1.1.1,1.2.8", "") {
        let o = run_case(&target, &case, &Settings::new(Duration::from_secs(5))).await;
        assert_eq!(o.verdict, Verdict::Failed, "{}", case.id);
        assert!(o.reason.starts_with("expected [") && o.reason.contains("received nothing"), "{}", o.reason);
        // The client never got to close: the connection ended from the wrong
        // side (Autobahn's "failed by the wrong endpoint").
        assert_eq!(o.close, Some(CloseBehavior::Failed), "{}: {}", case.id, o.close_reason);
        assert_eq!(o.server_close, None);
    }
}

/// A careless echo: a correct 101, then every frame echoed (RSV bits
/// dropped, reserved opcodes echoed as they came, pings answered), a close
/// answered and the connection dropped.
async fn careless_server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let Some(mut buf) = accept_handshake(&mut tcp).await else { return };
                let mut chunk = [0u8; 4096];
                loop {
                    while let Decoded::Complete { value: header, len } = FrameHeader::decode(&buf) {
                        let end = len + header.payload_len as usize;
                        if buf.len() < end {
                            break;
                        }
                        let mut payload = buf[len..end].to_vec();
                        if let Some(key) = header.mask {
                            apply_mask(&mut payload, key, 0);
                        }
                        buf.drain(..end);
                        let opcode = match header.opcode.bits() {
                            9 => OpCode::Pong,
                            bits => OpCode::from_bits(bits),
                        };
                        let reply = FrameHeader {
                            fin: header.fin,
                            rsv: [false; 3],
                            opcode,
                            mask: None,
                            payload_len: payload.len() as u64,
                            length_form: LengthForm::minimal(payload.len() as u64),
                        };
                        let mut out = Vec::new();
                        reply.encode_frame(&payload, &mut out).unwrap();
                        let _ = tcp.write_all(&out).await;
                        if header.opcode.bits() == 8 {
                            return;
                        }
                    }
                    let Ok(n) = tcp.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn a_server_that_ignores_reserved_bits_and_opcodes_fails_those_cases() {
    let target = Target::parse(&format!("ws://{}/", careless_server().await)).unwrap();
    // What it does right still passes: echoes and pongs.
    for case in cases::select(cases::all(), "1.1.2,2.2", "") {
        let o = run_case(&target, &case, &Settings::new(Duration::from_secs(5))).await;
        assert_eq!(o.verdict, Verdict::Ok, "{}: {}", case.id, o.reason);
    }
    // A message with RSV bits set it echoes instead of failing: FAILED,
    // saying what came back.
    for case in cases::select(cases::all(), "3.1,3.2,3.3,3.4,3.5,3.6", "") {
        let o = run_case(&target, &case, &Settings::new(Duration::from_secs(1))).await;
        assert_eq!(o.verdict, Verdict::Failed, "{}: {}", case.id, o.reason);
        assert!(o.reason.contains("received ["), "{}: {}", case.id, o.reason);
    }
    // A reserved opcode it echoes back: the checker, as a strict client,
    // fails the connection itself, so the events match but the connection
    // was closed by the wrong endpoint (as Autobahn judges it).
    for case in cases::select(cases::all(), "4.*", "") {
        let o = run_case(&target, &case, &Settings::new(Duration::from_secs(1))).await;
        assert_eq!(o.close, Some(CloseBehavior::Failed), "{}: {}", case.id, o.close_reason);
        assert_eq!(o.close_reason, "the connection was closed by the wrong endpoint");
    }
}

#[tokio::test]
async fn no_server_is_a_failed_case_not_a_hang() {
    // A port nobody listens on (bound, then freed).
    let addr = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let target = Target::parse(&format!("ws://{addr}/")).unwrap();
    let case = &cases::all()[0];
    let o = run_case(&target, case, &Settings::new(Duration::from_secs(5))).await;
    assert_eq!(o.verdict, Verdict::Failed);
    assert!(o.reason.starts_with("cannot connect"), "{}", o.reason);
    assert_eq!(o.close, None);
}
