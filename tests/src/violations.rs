//! Protocol violations sent by the raw client to `/echo`: each must fail
//! the connection with the exact close code, and the server must then close
//! TCP.

use crate::support::{Frame, OP_BINARY, OP_CLOSE, OP_PING, OP_TEXT, RawClient, start_default};
use std::net::SocketAddr;

/// Opens `/echo`, sends `frames` as one write, and expects close `code`
/// with no other frame before it and TCP closed after it.
async fn fails_with(addr: SocketAddr, frames: &[Frame], code: u16) {
    let mut raw = RawClient::connect(addr, "/echo").await;
    let bytes: Vec<u8> = frames.iter().flat_map(Frame::encode).collect();
    raw.send(&bytes).await;
    let (close, before) = raw.expect_close(code).await;
    assert!(before.is_empty(), "frames before the close: {before:?}");
    assert!(std::str::from_utf8(close.close_reason()).is_ok(), "the server's close reason is not UTF-8");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmasked_client_frame() {
    let server = start_default().await;
    fails_with(server.local_addr(), &[Frame::text("hi").unmasked()], 1002).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_opcodes() {
    let server = start_default().await;
    let opcodes = [0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF];
    for opcode in opcodes {
        eprintln!("opcode {opcode:#x}");
        fails_with(server.local_addr(), &[Frame::new(opcode, b"x")], 1002).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_bits() {
    let server = start_default().await;
    for rsv in [0b100, 0b010, 0b001] {
        eprintln!("rsv {rsv:03b}");
        fails_with(server.local_addr(), &[Frame::text("hi").rsv(rsv)], 1002).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_with_126_byte_payload() {
    let server = start_default().await;
    fails_with(server.local_addr(), &[Frame::ping(&[b'p'; 126])], 1002).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fragmented_ping() {
    let server = start_default().await;
    fails_with(server.local_addr(), &[Frame::ping(b"p").fin(false)], 1002).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continuation_with_nothing_to_continue() {
    let server = start_default().await;
    fails_with(server.local_addr(), &[Frame::cont(b"orphan")], 1002).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_data_frame_inside_a_fragmented_message() {
    let server = start_default().await;
    let addr = server.local_addr();
    fails_with(addr, &[Frame::text("first").fin(false), Frame::text("second")], 1002).await;
    fails_with(addr, &[Frame::text("first").fin(false), Frame::binary(b"second")], 1002).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_in_a_whole_text_frame() {
    let server = start_default().await;
    let addr = server.local_addr();
    fails_with(addr, &[Frame::new(OP_TEXT, b"ok \xff ok".to_vec())], 1007).await;
    // An overlong encoding and a UTF-16 surrogate are not UTF-8 either.
    fails_with(addr, &[Frame::new(OP_TEXT, b"\xC0\xAF".to_vec())], 1007).await;
    fails_with(addr, &[Frame::new(OP_TEXT, b"\xED\xA0\x80".to_vec())], 1007).await;
    // A text message that ends inside a character.
    fails_with(addr, &[Frame::new(OP_TEXT, b"ends in \xE2\x82".to_vec())], 1007).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_split_across_fragments() {
    let server = start_default().await;
    // "€" is E2 82 AC; E2 82 followed by 28 is not UTF-8.
    let frames = [Frame::new(OP_TEXT, b"ok \xE2\x82".to_vec()).fin(false), Frame::cont(b"\x28 rest")];
    fails_with(server.local_addr(), &frames, 1007).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hopeless_first_fragment_fails_at_once() {
    let server = start_default().await;
    // F4 90 starts a code point above U+10FFFF: no continuation can make it
    // valid, and the rest is never sent. Only the bound of the wait turns a
    // server that waits for more into a failure.
    let frames = [Frame::new(OP_TEXT, vec![0xF4, 0x90]).fin(false)];
    fails_with(server.local_addr(), &frames, 1007).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_close_codes() {
    let server = start_default().await;
    for code in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
        eprintln!("close code {code}");
        fails_with(server.local_addr(), &[Frame::close(code, b"")], 1002).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_byte_close_payload() {
    let server = start_default().await;
    fails_with(server.local_addr(), &[Frame::new(OP_CLOSE, vec![0x03])], 1002).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_reason_not_utf8() {
    let server = start_default().await;
    fails_with(server.local_addr(), &[Frame::close(1000, b"bad \xC3\x28")], 1007).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_64_bit_length_without_payload() {
    let server = start_default().await;
    // Only the header is sent: the server must judge the length alone.
    let header = Frame::new(OP_BINARY, b"").declared_len(i64::MAX as u64);
    let bytes = header.encode();
    assert_eq!(bytes[..10], [0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
    assert_eq!(bytes.len(), 14);
    fails_with(server.local_addr(), &[header], 1009).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn length_with_top_bit_set() {
    let server = start_default().await;
    let header = Frame::new(OP_BINARY, b"").declared_len(1 << 63);
    fails_with(server.local_addr(), &[header], 1002).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_minimal_length_forms() {
    let server = start_default().await;
    let addr = server.local_addr();
    // 5 bytes in the 16-bit form, 200 bytes in the 64-bit form.
    fails_with(addr, &[Frame::binary(b"hello").length_form(126)], 1002).await;
    fails_with(addr, &[Frame::binary(&[0; 200]).length_form(127)], 1002).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legal_counterparts_pass() {
    // The counterparts of the failures above: a 125-byte ping and the
    // close codes an endpoint may send are accepted.
    let server = start_default().await;
    let mut raw = RawClient::connect(server.local_addr(), "/echo").await;
    raw.send_frame(&Frame::new(OP_PING, vec![b'p'; 125])).await;
    let pong = raw.read_frame().await;
    assert_eq!((pong.opcode, pong.payload.as_slice()), (crate::support::OP_PONG, &[b'p'; 125][..]));
    for code in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999] {
        let mut raw = RawClient::connect(server.local_addr(), "/echo").await;
        raw.send_frame(&Frame::close(code, b"ok")).await;
        let (close, _) = raw.expect_close(code).await;
        assert_eq!(close.close_reason(), b"ok");
    }
}
