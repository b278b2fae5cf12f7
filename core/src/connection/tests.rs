//! The connection's unit tests: both roles, fragments, limits, closing,
//! sending rules and permessage-deflate.

use super::*;
use crate::deflate::{DeflateParams, MessageDeflater};
use crate::frame::{FrameHeader, OpCode};
use crate::mask::apply_mask;
use crate::violation::Violation;
use crate::{CloseCode, CloseFrame, Message, SendError};
use alloc::vec;

fn client_frame(fin: bool, opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let mut out = Vec::new();
    FrameHeader::new(fin, opcode, Some(key), payload.len() as u64).encode(&mut out).unwrap();
    let at = out.len();
    out.extend_from_slice(payload);
    apply_mask(&mut out[at..], key, 0);
    out
}

fn events(conn: &mut Connection) -> Vec<Event> {
    core::iter::from_fn(|| conn.next_event()).collect()
}

#[test]
fn server_receives_the_rfc_masked_hello_and_answers_unmasked() {
    let mut c = Connection::server(Config::default());
    c.receive_data(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    assert_eq!(events(&mut c), [Event::Text("Hello".into())]);
    c.send(Message::Text("Hello")).unwrap();
    assert_eq!(c.take_output(), [0x81, 0x05, b'H', b'e', b'l', b'l', b'o']);
}

#[test]
fn fragments_with_a_ping_between() {
    let mut c = Connection::server(Config::default());
    let mut wire = client_frame(false, OpCode::Text, b"Hel");
    wire.extend(client_frame(true, OpCode::Ping, b"p"));
    wire.extend(client_frame(true, OpCode::Continuation, b"lo"));
    c.receive_data(&wire);
    assert_eq!(events(&mut c), [Event::Ping(b"p".to_vec()), Event::Text("Hello".into())]);
    assert_eq!(c.take_output(), [0x8a, 0x01, b'p']);
}

#[test]
fn unmasked_client_frame_fails_with_1002() {
    let mut c = Connection::server(Config::default());
    c.receive_data(&[0x81, 0x05, b'H', b'e', b'l', b'l', b'o']);
    let ev = events(&mut c);
    assert_eq!(ev, [Event::Failed(ProtocolError { violation: Violation::UnmaskedClientFrame, offset: 0 })]);
    let out = c.take_output();
    assert_eq!(&out[..4], &[0x88, out[1], 0x03, 0xea]);
    assert_eq!(c.state(), State::Closed);
}

#[test]
fn invalid_utf8_fails_before_the_frame_is_complete() {
    let mut c = Connection::server(Config::default());
    let wire = client_frame(true, OpCode::Text, b"ok\xF4\x90\x80\x80 and much more text");
    c.receive_data(&wire[..10]);
    let ev = events(&mut c);
    assert!(
        matches!(ev[..], [Event::Failed(ProtocolError { violation: Violation::InvalidUtf8 { offset: 2 }, .. })]),
        "{ev:?}"
    );
    assert_eq!(c.take_output()[2..4], [0x03, 0xef]);
}

#[test]
fn close_is_echoed_then_closed() {
    let mut c = Connection::server(Config::default());
    c.receive_data(&client_frame(true, OpCode::Close, &[0x0f, 0xa0, b'b', b'y', b'e']));
    c.receive_data(&client_frame(true, OpCode::Ping, b"ignored"));
    assert_eq!(events(&mut c), [Event::Close(CloseFrame { code: Some(CloseCode(4000)), reason: "bye".into() })]);
    assert_eq!(c.take_output(), [0x88, 0x05, 0x0f, 0xa0, b'b', b'y', b'e']);
    assert_eq!(c.state(), State::Closed);
    assert_eq!(c.send(Message::Text("late")), Err(SendError::CloseSent));
}

#[test]
fn client_masks_and_initiates_close() {
    let mut c = Connection::client(Config::default(), Box::new(|| [1, 2, 3, 4]));
    c.send(Message::Binary(&[0, 0, 0, 0])).unwrap();
    c.send(Message::Close(Some(CloseCode::NORMAL), "done")).unwrap();
    assert_eq!(c.state(), State::CloseSent);
    let out = c.take_output();
    assert_eq!(&out[..10], &[0x82, 0x84, 1, 2, 3, 4, 1, 2, 3, 4]);
    // The server's answer completes the handshake.
    c.receive_data(&[0x88, 0x02, 0x03, 0xe8]);
    assert_eq!(events(&mut c), [Event::Close(CloseFrame { code: Some(CloseCode::NORMAL), reason: String::new() })]);
    assert_eq!(c.state(), State::Closed);
    assert!(c.take_output().is_empty());
    // A masked frame from a server is refused.
    let mut c = Connection::client(Config::default(), Box::new(|| [9; 4]));
    c.receive_data(&client_frame(true, OpCode::Text, b"x"));
    assert!(matches!(
        events(&mut c)[..],
        [Event::Failed(ProtocolError { violation: Violation::MaskedServerFrame, .. })]
    ));
}

#[test]
fn limits_fail_with_1009_before_the_payload_arrives() {
    let config = Config { max_frame_size: 10, max_message_size: 15, ..Config::default() };
    let mut c = Connection::server(config);
    c.receive_data(&[0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]);
    assert!(matches!(
        events(&mut c)[..],
        [Event::Failed(ProtocolError { violation: Violation::FrameTooLarge { .. }, .. })]
    ));
    let mut c = Connection::server(config);
    let mut wire = client_frame(false, OpCode::Binary, &[0; 10]);
    wire.extend(client_frame(true, OpCode::Continuation, &[0; 6]));
    c.receive_data(&wire);
    let ev = events(&mut c);
    assert_eq!(
        ev,
        [Event::Failed(ProtocolError { violation: Violation::MessageTooLarge { len: 16, max: 15 }, offset: 16 })]
    );
    assert_eq!(c.take_output()[2..4], [0x03, 0xf1]);
}

#[test]
fn every_ping_gets_a_pong_until_output_piles_up() {
    let mut c = Connection::server(Config::default());
    for i in 0..10u32 {
        c.receive_data(&client_frame(true, OpCode::Ping, &i.to_be_bytes()));
        while c.next_event().is_some() {}
    }
    assert_eq!(c.pending_output().len(), 10 * 6);
    // A peer that pings and never reads: unwritten pongs stop growing.
    let big = vec![b'x'; PONG_COALESCE_AT];
    c.send(Message::Binary(&big)).unwrap();
    for i in 0..100_000u32 {
        c.receive_data(&client_frame(true, OpCode::Ping, &i.to_be_bytes()));
        while c.next_event().is_some() {}
    }
    let out = c.take_output();
    assert_eq!(out.len(), 10 * 6 + 10 + PONG_COALESCE_AT + 6);
    assert_eq!(out[out.len() - 6..], [0x8a, 0x04, 0x00, 0x01, 0x86, 0x9f]);
}

#[test]
fn send_rules() {
    let mut c = Connection::server(Config::default());
    assert_eq!(c.send(Message::Ping(&[0; 126])), Err(SendError::ControlTooLong { len: 126 }));
    assert_eq!(c.send(Message::Close(Some(CloseCode(1005)), "")), Err(SendError::InvalidCloseCode { code: 1005 }));
    assert_eq!(c.finish_fragments(), Err(SendError::NoMessageInProgress));
    c.send_fragment(DataKind::Text, b"a", false).unwrap();
    assert_eq!(c.send(Message::Text("b")), Err(SendError::MessageInProgress));
    assert_eq!(c.send_fragment(DataKind::Binary, b"b", true), Err(SendError::MessageInProgress));
    c.send(Message::Ping(b"")).unwrap();
    c.finish_fragments().unwrap();
    assert_eq!(c.take_output(), vec![0x01, 0x01, b'a', 0x89, 0x00, 0x80, 0x00]);
}

// ---- permessage-deflate (RFC 7692) ----

fn with_deflate() -> Config {
    Config { deflate: Some(DeflateParams::default()), ..Config::default() }
}

/// A masked client frame with RSV1 as given.
fn client_frame_rsv1(fin: bool, opcode: OpCode, rsv1: bool, payload: &[u8]) -> Vec<u8> {
    let mut f = client_frame(fin, opcode, payload);
    if rsv1 {
        f[0] |= 0x40;
    }
    f
}

fn hello_compressed() -> Vec<u8> {
    // RFC 7692 section 7.2.3.1.
    vec![0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
}

fn failure(conn: &mut Connection) -> (Violation, u16) {
    match events(conn).pop() {
        Some(Event::Failed(e)) => (e.violation, e.close_code().0),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn compressed_messages_whole_fragmented_and_with_context() {
    let mut c = Connection::server(with_deflate());
    c.receive_data(&client_frame_rsv1(true, OpCode::Text, true, &hello_compressed()));
    // Fragmented: RSV1 on the first frame only (section 6.1), a ping between.
    let z = hello_compressed();
    c.receive_data(&client_frame_rsv1(false, OpCode::Text, true, &z[..3]));
    c.receive_data(&client_frame(true, OpCode::Ping, b"p"));
    c.receive_data(&client_frame(true, OpCode::Continuation, &z[3..]));
    // Section 7.2.3.2: the same message again, referring to the first.
    c.receive_data(&client_frame_rsv1(true, OpCode::Binary, true, &[0xf2, 0x00, 0x11, 0x00, 0x00]));
    // An uncompressed message between compressed ones.
    c.receive_data(&client_frame(true, OpCode::Text, b"plain"));
    assert_eq!(
        events(&mut c),
        [
            Event::Text("Hello".into()),
            Event::Ping(b"p".to_vec()),
            Event::Text("Hello".into()),
            Event::Binary(b"Hello".to_vec()),
            Event::Text("plain".into()),
        ]
    );
}

#[test]
fn rsv1_rules() {
    let cases: [(Config, Vec<u8>, Violation, u16); 4] = [
        (
            Config::default(),
            client_frame_rsv1(true, OpCode::Text, true, &hello_compressed()),
            Violation::ReservedBits { bits: 0b100 },
            1002,
        ),
        (
            with_deflate(),
            client_frame_rsv1(true, OpCode::Ping, true, b""),
            Violation::ReservedBits { bits: 0b100 },
            1002,
        ),
        (
            with_deflate(),
            [
                client_frame_rsv1(false, OpCode::Text, true, &[0xf2]),
                client_frame_rsv1(true, OpCode::Continuation, true, &[0x48]),
            ]
            .concat(),
            Violation::CompressedContinuation,
            1002,
        ),
        (with_deflate(), client_frame_rsv1(true, OpCode::Binary, true, &[0xff, 0xff]), Violation::InvalidDeflate, 1007),
    ];
    for (config, wire, violation, code) in cases {
        let mut c = Connection::server(config);
        c.receive_data(&wire);
        assert_eq!(failure(&mut c), (violation, code));
    }
}

#[test]
fn compressed_text_is_utf8_checked_after_inflating() {
    let mut d = MessageDeflater::new(15, false, 6);
    let mut z = Vec::new();
    d.compress(b"ok \xff", &mut z).unwrap();
    let mut c = Connection::server(with_deflate());
    c.receive_data(&client_frame_rsv1(true, OpCode::Text, true, &z));
    assert_eq!(failure(&mut c), (Violation::InvalidUtf8 { offset: 3 }, 1007));
}

#[test]
fn a_deflate_bomb_fails_with_1009_before_it_is_inflated() {
    let mut bomb = Vec::new();
    MessageDeflater::new(15, false, 9).compress(&vec![b'a'; 8 << 20], &mut bomb).unwrap();
    assert!(bomb.len() < 20_000);
    let config = Config { max_message_size: 1 << 20, ..with_deflate() };
    let mut c = Connection::server(config);
    c.receive_data(&client_frame_rsv1(true, OpCode::Text, true, &bomb));
    assert_eq!(failure(&mut c), (Violation::InflatedTooLarge { max: 1 << 20 }, 1009));
}

#[test]
fn a_broken_compressed_stream_fails_the_same_however_it_is_split() {
    // Found by the connection fuzz target: whole, the inflate error came
    // first; split, the invalid UTF-8 inflated before it.
    let data = [65u8, 43, 154, 133, 150, 0, 0, 0, 3, 71, 136, 2, 0, 128, 0, 71];
    let config = Config {
        max_frame_size: 64,
        max_message_size: 100,
        deflate: Some(DeflateParams::default()),
        ..Config::default()
    };
    for client in [false, true] {
        let make = || {
            if client {
                Connection::client(config, Box::new(|| [0x11, 0x22, 0x33, 0x44]))
            } else {
                Connection::server(config)
            }
        };
        let mut whole = make();
        whole.receive_data(&data);
        let whole = events(&mut whole);
        for split in 1..data.len() {
            let mut c = make();
            c.receive_data(&data[..split]);
            c.receive_data(&data[split..]);
            assert_eq!(events(&mut c), whole, "client {client}, split at {split}");
        }
    }
}

#[test]
fn both_roles_compress_what_they_send_and_read_each_other() {
    for params in [
        DeflateParams::default(),
        DeflateParams {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            server_max_window_bits: 9,
            client_max_window_bits: 10,
        },
    ] {
        let config = Config { deflate: Some(params), ..Config::default() };
        let mut server = Connection::server(config);
        let mut n = 0u8;
        let mut client = Connection::client(
            config,
            Box::new(move || {
                n = n.wrapping_add(1);
                [n, 2, 3, 4]
            }),
        );
        let long = "a message long enough to be compressed, a message long enough".repeat(20);
        for text in [long.as_str(), "short", long.as_str()] {
            client.send(Message::Text(text)).unwrap();
            let wire = client.take_output();
            assert_eq!(wire[0] & 0x40 != 0, text.len() >= 32, "RSV1 on {text:?}");
            server.receive_data(&wire);
            assert_eq!(events(&mut server), [Event::Text(text.into())]);
            server.send(Message::Binary(text.as_bytes())).unwrap();
            let wire = server.take_output();
            if text.len() >= 32 {
                assert!(wire.len() < text.len() / 4, "{} -> {}", text.len(), wire.len());
            }
            client.receive_data(&wire);
            assert_eq!(events(&mut client), [Event::Binary(text.as_bytes().to_vec())]);
            // Without context takeover nothing is kept between messages:
            // the compressors are freed after each (a few hundred KiB).
            if params.server_no_context_takeover {
                assert!(server.deflater.is_none() && !server.assembler.holds_inflater());
                assert!(client.deflater.is_none() && !client.assembler.holds_inflater());
            } else if text.len() >= 32 {
                assert!(server.deflater.is_some() && server.assembler.holds_inflater());
            }
        }
    }
}

/// A quiet connection parks its compression state; the next messages
/// both ways still read, and still refer back to the ones before (the
/// second echo of the same text is a few bytes).
#[test]
fn a_parked_connection_keeps_its_context() {
    let config = Config { deflate: Some(DeflateParams::default()), parkable_compression: true, ..Config::default() };
    let mut server = Connection::server(config);
    let mut client = Connection::client(config, Box::new(|| [9, 8, 7, 6]));
    let text = "a message long enough to be compressed, with words that come again".repeat(10);
    let mut echo_sizes = Vec::new();
    for round in 0..3 {
        client.send(Message::Text(&text)).unwrap();
        server.receive_data(&client.take_output());
        assert_eq!(events(&mut server), [Event::Text(text.clone())], "round {round}");
        server.send(Message::Text(&text)).unwrap();
        let wire = server.take_output();
        echo_sizes.push(wire.len());
        client.receive_data(&wire);
        assert_eq!(events(&mut client), [Event::Text(text.clone())], "round {round}");
        assert!(server.compression_live());
        server.park_compression();
        assert!(!server.compression_live(), "round {round}");
    }
    // The first echo compresses the text; the later ones refer back to it.
    assert!(echo_sizes[1] < 16 && echo_sizes[2] < 16, "{echo_sizes:?}");
}

#[test]
fn a_message_split_into_frames_compressed_first_reads_back_whole() {
    let text = "a message long enough to be split into several frames, compressed first".repeat(20);
    for (config, max_frame) in
        [(with_deflate(), 7), (with_deflate(), 0), (Config::default(), 100), (Config::default(), 0)]
    {
        let compress = config.deflate.is_some();
        let mut client = Connection::client(Config { compress_min_size: 0, ..config }, Box::new(|| [1, 2, 3, 4]));
        client.send_split(DataKind::Text, text.as_bytes(), max_frame).unwrap();
        client.send_split(DataKind::Binary, b"", max_frame).unwrap();
        let wire = client.take_output();
        // Every frame within the size; RSV1 on the first of a message only.
        let mut at = 0;
        let mut frames = Vec::new();
        while at < wire.len() {
            let crate::Decoded::Complete { value: h, len } = FrameHeader::decode(&wire[at..]) else { panic!() };
            frames.push((h.opcode, h.fin, h.rsv[0], h.payload_len));
            at += len + h.payload_len as usize;
        }
        assert!(frames.len() > 2 || max_frame == 0, "{frames:?}");
        assert!(max_frame == 0 || frames.iter().all(|f| f.3 <= max_frame as u64));
        assert_eq!(frames[0].2, compress);
        assert!(frames[1..].iter().all(|f| !f.2 || f.0 == OpCode::Binary));
        let mut server = Connection::server(config);
        server.receive_data(&wire);
        assert_eq!(events(&mut server), [Event::Text(text.clone()), Event::Binary(Vec::new())]);
    }
}
