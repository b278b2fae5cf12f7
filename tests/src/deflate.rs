//! permessage-deflate (RFC 7692) on `/echo`, checked with a DEFLATE
//! implementation other than the server's (flate2's miniz_oxide here,
//! zlib-rs in the server) and with the RFC's own bytes.

use crate::support::{Frame, OP_BINARY, OP_TEXT, RawClient, start, start_default, within};

/// Raw DEFLATE with a sync flush, trailer removed (RFC 7692 section 7.2.1).
fn compress(data: &[u8]) -> Vec<u8> {
    let mut c = flate2::Compress::new(flate2::Compression::default(), false);
    let mut out = Vec::with_capacity(data.len() + 64);
    c.compress_vec(data, &mut out, flate2::FlushCompress::Sync).unwrap();
    assert_eq!(c.total_in() as usize, data.len());
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]), "sync flush did not end the output");
    out.truncate(out.len() - 4);
    out
}

/// The receiver's side of section 7.2.2, with a fresh context.
fn inflate(data: &[u8]) -> Vec<u8> {
    let mut d = flate2::Decompress::new(false);
    let mut input = data.to_vec();
    input.extend_from_slice(&[0, 0, 0xff, 0xff]);
    let mut out = Vec::with_capacity(1 << 20);
    d.decompress_vec(&input, &mut out, flate2::FlushDecompress::Sync).unwrap();
    out
}

const OFFER: &str = "permessage-deflate; client_max_window_bits";

#[tokio::test]
async fn negotiated_when_offered_unless_refused_or_invalid() {
    let server = start_default().await;
    let (_, r) = RawClient::connect_offering(server.local_addr(), "/echo", Some(OFFER)).await;
    assert_eq!(r.header("Sec-WebSocket-Extensions"), "permessage-deflate");
    let (_, r) = RawClient::connect_offering(server.local_addr(), "/echo?deflate=off", Some(OFFER)).await;
    assert!(r.header_values("Sec-WebSocket-Extensions").is_empty(), "{r:?}");
    let (_, r) = RawClient::connect_offering(server.local_addr(), "/echo", Some("permessage-deflate; foo")).await;
    assert!(r.header_values("Sec-WebSocket-Extensions").is_empty(), "{r:?}");
    let (_, r) = RawClient::connect_offering(
        server.local_addr(),
        "/echo",
        Some("permessage-deflate; server_max_window_bits=10"),
    )
    .await;
    assert_eq!(r.header("Sec-WebSocket-Extensions"), "permessage-deflate; server_max_window_bits=10");
    let off = start(|c| c.deflate = None).await;
    let (_, r) = RawClient::connect_offering(off.local_addr(), "/echo", Some(OFFER)).await;
    assert!(r.header_values("Sec-WebSocket-Extensions").is_empty(), "{r:?}");
}

#[tokio::test]
async fn compressed_messages_are_read_and_long_echoes_compressed() {
    let server = start_default().await;
    let (mut client, _) = RawClient::connect_offering(server.local_addr(), "/echo", Some(OFFER)).await;
    // RFC 7692 section 7.2.3.1's "Hello", RSV1 set: short, so echoed plain.
    client.send_frame(&Frame::new(OP_TEXT, vec![0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]).rsv(0b100)).await;
    let echo = client.read_frame().await;
    assert_eq!((echo.rsv, echo.opcode, echo.payload.as_slice()), (0, OP_TEXT, b"Hello".as_slice()));
    // Fragmented: RSV1 on the first frame only.
    let text = "compressible text, compressible text, compressible text! ".repeat(50);
    let z = compress(text.as_bytes());
    let (a, b) = z.split_at(z.len() / 2);
    client.send_frame(&Frame::new(OP_TEXT, a.to_vec()).fin(false).rsv(0b100)).await;
    client.send_frame(&Frame::cont(b)).await;
    let echo = client.read_frame().await;
    assert_eq!((echo.rsv, echo.opcode, echo.fin), (0b100, OP_TEXT, true), "the long echo is compressed");
    assert!(echo.payload.len() < text.len() / 4);
    assert_eq!(inflate(&echo.payload), text.as_bytes());
    // A plain binary message on the same connection.
    client.send_frame(&Frame::binary(&[1, 2, 3])).await;
    let echo = client.read_frame().await;
    assert_eq!((echo.rsv, echo.opcode, echo.payload.as_slice()), (0, OP_BINARY, [1u8, 2, 3].as_slice()));
}

#[tokio::test]
async fn rsv1_where_it_does_not_belong_fails_1002() {
    let server = start_default().await;
    let cases: [(Option<&str>, Vec<Frame>); 3] = [
        // Not negotiated.
        (None, vec![Frame::new(OP_TEXT, vec![0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]).rsv(0b100)]),
        // On a control frame.
        (Some(OFFER), vec![Frame::ping(b"").rsv(0b100)]),
        // On a continuation frame.
        (Some(OFFER), vec![Frame::new(OP_TEXT, vec![0xf2]).fin(false).rsv(0b100), Frame::cont(&[0x48]).rsv(0b100)]),
    ];
    for (offer, frames) in cases {
        let (mut client, _) = RawClient::connect_offering(server.local_addr(), "/echo", offer).await;
        for f in &frames {
            client.send_frame(f).await;
        }
        client.expect_close(1002).await;
    }
}

#[tokio::test]
async fn a_deflate_bomb_fails_1009_and_garbage_1007() {
    let server = start(|c| c.ws.max_message_size = 1 << 20).await;
    let bomb = compress(&vec![b'a'; 16 << 20]);
    assert!(bomb.len() < 100_000, "{}", bomb.len());
    let (mut client, _) = RawClient::connect_offering(server.local_addr(), "/echo", Some(OFFER)).await;
    client.send_frame(&Frame::new(OP_TEXT, bomb).rsv(0b100)).await;
    client.expect_close(1009).await;
    let (mut client, _) = RawClient::connect_offering(server.local_addr(), "/echo", Some(OFFER)).await;
    client.send_frame(&Frame::new(OP_BINARY, vec![0xff, 0xff, 0xff]).rsv(0b100)).await;
    client.expect_close(1007).await;
}

#[tokio::test]
async fn compression_is_declined_past_the_deflate_connection_cap() {
    let server = start(|c| c.deflate_max_connections = 1).await;
    let (first, r) = RawClient::connect_offering(server.local_addr(), "/echo", Some(OFFER)).await;
    assert_eq!(r.header("Sec-WebSocket-Extensions"), "permessage-deflate");
    // The one compressed slot is taken: the next connection runs plain.
    let (mut second, r) = RawClient::connect_offering(server.local_addr(), "/echo", Some(OFFER)).await;
    assert!(r.header_values("Sec-WebSocket-Extensions").is_empty(), "{r:?}");
    let text = "plain, since no compressor was free ".repeat(4);
    second.send_frame(&Frame::new(OP_TEXT, text.clone().into_bytes())).await;
    let echo = second.read_frame().await;
    assert_eq!((echo.rsv, echo.payload), (0, text.into_bytes()));
    // When the compressed connection ends, its slot is free again (the
    // task ends just after TCP closes, so ask until it has).
    let mut first = first;
    first.send_frame(&Frame::close(1000, b"")).await;
    first.expect_close(1000).await;
    first.shutdown().await;
    drop(first);
    within("the deflate slot to be freed", async {
        loop {
            let (_, r) = RawClient::connect_offering(server.local_addr(), "/echo", Some(OFFER)).await;
            if r.header_values("Sec-WebSocket-Extensions") == ["permessage-deflate"] {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
}

/// A connection quiet past `--deflate-park-after` frees its compressor
/// and decompressor and makes them again for the next message from the
/// history it kept: the client's messages may still refer back into
/// earlier ones, and the server's echoes still do (the second echo of the
/// same text is a few bytes), read by an inflater that kept its context
/// throughout. The pause is long against a 1 ms park delay; were the park
/// late, the exchange would still have to be right.
#[tokio::test]
async fn a_parked_connection_keeps_both_contexts() {
    let server = start(|c| c.deflate_park_after = Some(std::time::Duration::from_millis(1))).await;
    let (mut client, r) = RawClient::connect_offering(server.local_addr(), "/echo", Some(OFFER)).await;
    assert_eq!(r.header("Sec-WebSocket-Extensions"), "permessage-deflate");
    let mut ours = flate2::Compress::new(flate2::Compression::default(), false);
    let mut theirs = flate2::Decompress::new(false);
    let text = "the quick brown fox jumps over the lazy dog, again and again; ".repeat(30);
    let (mut sizes, mut echoes): (Vec<usize>, Vec<usize>) = (Vec::new(), Vec::new());
    for round in 0..3 {
        let mut z = Vec::with_capacity(text.len() + 64);
        ours.compress_vec(text.as_bytes(), &mut z, flate2::FlushCompress::Sync).unwrap();
        z.truncate(z.len() - 4);
        sizes.push(z.len());
        client.send_frame(&Frame::new(OP_TEXT, z).rsv(0b100)).await;
        let echo = within("the echo", client.read_frame()).await;
        assert_eq!((echo.rsv, echo.opcode), (0b100, OP_TEXT), "round {round}");
        let mut input = echo.payload.clone();
        input.extend_from_slice(&[0, 0, 0xff, 0xff]);
        let mut out = Vec::with_capacity(text.len() + 64);
        theirs.decompress_vec(&input, &mut out, flate2::FlushDecompress::Sync).unwrap();
        assert_eq!(out, text.as_bytes(), "round {round}");
        echoes.push(echo.payload.len());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Later echoes refer back to the first (a fraction of its size), and
    // so did the client's later messages (so the server's parked inflater
    // kept what they refer to).
    assert!(echoes[1] * 2 < echoes[0] && echoes[2] * 2 < echoes[0], "echoes {echoes:?}");
    assert!(sizes[1] * 2 < sizes[0] && sizes[2] * 2 < sizes[0], "sent {sizes:?}");
}
