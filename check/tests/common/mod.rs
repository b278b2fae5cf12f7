//! Test servers shared by the tests and by `examples/broken-server.rs`
//! (which runs the broken one on a port for Autobahn to check too); test
//! clients in [`clients`].
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    dead_code
)]

pub(crate) mod clients;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wscope_core::Decoded;
use wscope_core::frame::{FrameHeader, LengthForm, OpCode};
use wscope_core::handshake::{HandshakeLimits, parse_request};
use wscope_core::mask::apply_mask;

/// Reads a client's handshake and answers it with a correct 101 (or the
/// core's refusal); returns the bytes read past the request, or `None` if
/// the client went away or was refused.
pub(crate) async fn accept_handshake(tcp: &mut tokio::net::TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tcp.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
        match parse_request(&buf, &HandshakeLimits::default()) {
            Ok(Decoded::Complete { value, len }) => {
                tcp.write_all(&value.response(None, None).unwrap()).await.ok()?;
                return Some(buf.split_off(len));
            }
            Ok(Decoded::Incomplete { .. }) => {}
            // A refusal as the core words it (the handshake is not among
            // the broken server's defects).
            Err(e) => {
                let _ = tcp.write_all(&e.response()).await;
                let _ = tcp.shutdown().await;
                return None;
            }
        }
    }
}

/// The deliberately broken server: a correct 101, then every frame echoed
/// as it came (no UTF-8 validation, unmasked frames accepted, RSV bits
/// ignored and cleared, reserved opcodes echoed, fragments not checked),
/// pings answered, pongs ignored; a close frame makes it drop TCP without a close frame
/// of its own.
pub(crate) async fn broken_server(listen: &str) -> std::net::SocketAddr {
    let listener = TcpListener::bind(listen).await.unwrap();
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
                        match header.opcode.bits() {
                            8 => return,
                            10 => continue,
                            _ => {}
                        }
                        let mut out = Vec::new();
                        reply.encode_frame(&payload, &mut out).unwrap();
                        let _ = tcp.write_all(&out).await;
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
