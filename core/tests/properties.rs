//! Property tests: round trips, chunking invariance, no panics on any bytes.

// Tests may panic: that is how they fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation
)]

use proptest::prelude::*;
use wscope_core::connection::{Config, Connection, Event, EventRef, Message};
use wscope_core::frame::{FrameHeader, LengthForm, OpCode};
use wscope_core::handshake::{ClientHandshake, HandshakeLimits, inspect_request, parse_request};
use wscope_core::inspect::{InspectOptions, inspect};
use wscope_core::mask::apply_mask;
use wscope_core::rules::{DataKind, Role};
use wscope_core::stream::StreamOptions;
use wscope_core::utf8::Utf8Validator;
use wscope_core::{CloseCode, Decoded};

fn any_length_form(len: u64) -> impl Strategy<Value = LengthForm> {
    let mut forms = vec![LengthForm::Extended64];
    if len <= 0xFFFF {
        forms.push(LengthForm::Extended16);
    }
    if len <= 125 {
        forms.push(LengthForm::Short);
    }
    proptest::sample::select(forms)
}

fn any_header(max_len: u64) -> impl Strategy<Value = FrameHeader> {
    (any::<bool>(), any::<[bool; 3]>(), 0u8..16, any::<Option<[u8; 4]>>(), 0..=max_len).prop_flat_map(
        |(fin, rsv, op, mask, len)| {
            any_length_form(len).prop_map(move |form| FrameHeader {
                fin,
                rsv,
                opcode: OpCode::from_bits(op),
                mask,
                payload_len: len,
                length_form: form,
            })
        },
    )
}

/// One step of a client's conversation, as the application sees it.
#[derive(Clone, Debug)]
enum Step {
    Text(String),
    Binary(Vec<u8>),
    /// A message in pieces, with a ping after the first piece.
    Fragmented(DataKind, Vec<Vec<u8>>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
}

fn any_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        ".{0,40}".prop_map(Step::Text),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(Step::Binary),
        proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 1..4)
            .prop_map(|parts| Step::Fragmented(DataKind::Binary, parts)),
        // Text split at arbitrary byte positions, even inside characters.
        (".{1,30}", proptest::collection::vec(any::<prop::sample::Index>(), 0..3)).prop_map(|(s, cuts)| {
            let bytes = s.into_bytes();
            let mut at: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
            at.sort_unstable();
            let mut parts = Vec::new();
            let mut prev = 0;
            for a in at.into_iter().chain([bytes.len()]) {
                parts.push(bytes[prev..a].to_vec());
                prev = a;
            }
            Step::Fragmented(DataKind::Text, parts)
        }),
        proptest::collection::vec(any::<u8>(), 0..=125).prop_map(Step::Ping),
        proptest::collection::vec(any::<u8>(), 0..=125).prop_map(Step::Pong),
    ]
}

fn client(seed: u8) -> Connection {
    let mut n = seed;
    Connection::client(
        Config::default(),
        Box::new(move || {
            n = n.wrapping_mul(31).wrapping_add(7);
            [n, n ^ 0x5a, n.wrapping_add(1), 0xc3]
        }),
    )
}

/// The client's bytes for `steps`, and the events a server should see.
fn encode(steps: &[Step], seed: u8) -> (Vec<u8>, Vec<Event>) {
    let mut c = client(seed);
    let mut expected = Vec::new();
    for step in steps {
        match step {
            Step::Text(t) => {
                c.send(Message::Text(t)).unwrap();
                expected.push(Event::Text(t.clone()));
            }
            Step::Binary(b) => {
                c.send(Message::Binary(b)).unwrap();
                expected.push(Event::Binary(b.clone()));
            }
            Step::Fragmented(kind, parts) => {
                for (i, part) in parts.iter().enumerate() {
                    c.send_fragment(*kind, part, i + 1 == parts.len()).unwrap();
                    if i == 0 && parts.len() > 1 {
                        c.send(Message::Ping(b"between")).unwrap();
                        expected.push(Event::Ping(b"between".to_vec()));
                    }
                }
                let whole = parts.concat();
                expected.push(match kind {
                    DataKind::Text => Event::Text(String::from_utf8(whole).unwrap()),
                    DataKind::Binary => Event::Binary(whole),
                });
            }
            Step::Ping(p) => {
                c.send(Message::Ping(p)).unwrap();
                expected.push(Event::Ping(p.clone()));
            }
            Step::Pong(p) => {
                c.send(Message::Pong(p)).unwrap();
                expected.push(Event::Pong(p.clone()));
            }
        }
    }
    c.send(Message::Close(Some(CloseCode::NORMAL), "bye")).unwrap();
    expected.push(Event::Close(wscope_core::CloseFrame { code: Some(CloseCode::NORMAL), reason: "bye".into() }));
    (c.take_output(), expected)
}

/// Feeds `bytes` to a fresh server in pieces of `chunk` bytes, taking events
/// after every piece; returns the events and everything the server wrote.
fn run_server(bytes: &[u8], chunk: usize, config: Config) -> (Vec<Event>, Vec<u8>) {
    let mut s = Connection::server(config);
    let mut events = Vec::new();
    for piece in bytes.chunks(chunk.max(1)) {
        s.receive_data(piece);
        events.extend(std::iter::from_fn(|| s.next_event()));
    }
    (events, s.take_output())
}

/// The same with [`Connection::read_event`], one event per call.
fn run_server_pull(bytes: &[u8], chunk: usize, config: Config) -> (Vec<Event>, Vec<u8>) {
    let mut s = Connection::server(config);
    let mut events = Vec::new();
    for piece in bytes.chunks(chunk.max(1)) {
        let mut rest = piece;
        loop {
            let (n, event) = s.read_event(rest);
            rest = &rest[n..];
            match event {
                Some(e) => events.push(e),
                None if rest.is_empty() => break,
                None => panic!("read_event returned no event with {} bytes left", rest.len()),
            }
        }
    }
    events.extend(std::iter::from_fn(|| s.next_event()));
    (events, s.take_output())
}

/// The same with [`Connection::read_event_in_place`] on a private copy of
/// each piece: borrowed messages are turned into owned ones to compare.
fn run_server_in_place(bytes: &[u8], chunk: usize, config: Config) -> (Vec<Event>, Vec<u8>) {
    let mut s = Connection::server(config);
    let mut events = Vec::new();
    for piece in bytes.chunks(chunk.max(1)) {
        let mut copy = piece.to_vec();
        let mut pos = 0;
        loop {
            let left = copy.len() - pos;
            let (n, event) = s.read_event_in_place(&mut copy[pos..]);
            match event {
                Some(EventRef::Text(t)) => events.push(Event::Text(t.to_owned())),
                Some(EventRef::Binary(b)) => events.push(Event::Binary(b.to_vec())),
                Some(EventRef::Event(e)) => events.push(e),
                None if n == left => break,
                None => panic!("read_event_in_place returned no event with {} bytes left", left - n),
            }
            pos += n;
        }
    }
    events.extend(std::iter::from_fn(|| s.next_event()));
    (events, s.take_output())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn header_and_payload_round_trip(h in any_header(2000), seed: u8) {
        let payload: Vec<u8> = (0..h.payload_len).map(|i| (i as u8).wrapping_mul(seed)).collect();
        let mut wire = Vec::new();
        h.encode(&mut wire).unwrap();
        prop_assert_eq!(wire.len(), h.encoded_len());
        let at = wire.len();
        wire.extend_from_slice(&payload);
        if let Some(key) = h.mask { apply_mask(&mut wire[at..], key, 0); }
        let (back, len) = FrameHeader::decode(&wire).complete().unwrap();
        prop_assert_eq!(back, h);
        prop_assert_eq!(len, at);
        let mut body = wire[len..].to_vec();
        if let Some(key) = back.mask { apply_mask(&mut body, key, 0); }
        prop_assert_eq!(body, payload);
    }

    #[test]
    fn any_64_bit_length_round_trips(len: u64, mask: Option<[u8; 4]>) {
        let h = FrameHeader { length_form: LengthForm::Extended64, ..FrameHeader::new(true, OpCode::Binary, mask, len) };
        let mut wire = Vec::new();
        h.encode(&mut wire).unwrap();
        prop_assert_eq!(FrameHeader::decode(&wire), Decoded::Complete { value: h, len: wire.len() });
    }

    /// A conversation sent by a client arrives at a server as sent, and
    /// feeding it in pieces of any size gives exactly what feeding it whole
    /// gives: the same events and the same bytes written back.
    #[test]
    fn chunking_never_changes_what_a_server_sees(steps in proptest::collection::vec(any_step(), 0..6), seed: u8) {
        let (wire, expected) = encode(&steps, seed);
        let (whole, out_whole) = run_server(&wire, wire.len(), Config::default());
        prop_assert_eq!(&whole, &expected);
        for chunk in [1, 2, 3, 5, 7, 13, 64, 127, wire.len()] {
            let (events, out) = run_server(&wire, chunk, Config::default());
            prop_assert_eq!(&events, &whole, "chunk {}", chunk);
            prop_assert_eq!(&out, &out_whole, "chunk {}", chunk);
            let (events, out) = run_server_pull(&wire, chunk, Config::default());
            prop_assert_eq!(&events, &whole, "read_event, chunk {}", chunk);
            prop_assert_eq!(&out, &out_whole, "read_event, chunk {}", chunk);
            let (events, out) = run_server_in_place(&wire, chunk, Config::default());
            prop_assert_eq!(&events, &whole, "read_event_in_place, chunk {}", chunk);
            prop_assert_eq!(&out, &out_whole, "read_event_in_place, chunk {}", chunk);
        }
    }

    /// The same for any bytes at all, valid or not: a failure is found at
    /// the same place, with the same code, however the bytes arrive.
    #[test]
    fn chunking_is_invisible_for_arbitrary_bytes(
        prefix in proptest::collection::vec(any_step(), 0..3),
        junk in proptest::collection::vec(any::<u8>(), 0..64),
        small_limits: bool,
    ) {
        let (mut wire, _) = encode(&prefix, 1);
        // Drop the close so the junk is read.
        let close_len = 2 + 4 + 5;
        wire.truncate(wire.len() - close_len);
        wire.extend_from_slice(&junk);
        let config = if small_limits { Config { max_frame_size: 20, max_message_size: 40, ..Config::default() } } else { Config::default() };
        let (whole, out_whole) = run_server(&wire, wire.len(), config);
        for chunk in (1..=wire.len().min(40)).chain([wire.len()]) {
            let (events, out) = run_server(&wire, chunk, config);
            prop_assert_eq!(&events, &whole, "chunk {}", chunk);
            prop_assert_eq!(&out, &out_whole, "chunk {}", chunk);
            let (events, out) = run_server_pull(&wire, chunk, config);
            prop_assert_eq!(&events, &whole, "read_event, chunk {}", chunk);
            prop_assert_eq!(&out, &out_whole, "read_event, chunk {}", chunk);
            let (events, out) = run_server_in_place(&wire, chunk, config);
            prop_assert_eq!(&events, &whole, "read_event_in_place, chunk {}", chunk);
            prop_assert_eq!(&out, &out_whole, "read_event_in_place, chunk {}", chunk);
        }
    }

    #[test]
    fn no_panic_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512), tiny: bool) {
        let config = if tiny { Config { max_frame_size: 3, max_message_size: 5, ..Config::default() } } else { Config::default() };
        for mut conn in [Connection::server(config), Connection::client(config, Box::new(|| [1, 2, 3, 4]))] {
            conn.receive_data(&bytes);
            while conn.next_event().is_some() {}
            let _ = conn.send(Message::Text("after"));
            let _ = conn.take_output();
        }
        for sender in [Some(Role::Client), Some(Role::Server), None] {
            let stream = StreamOptions { sender, max_frame_size: Some(10), max_message_size: Some(20), ..StreamOptions::default() };
            let r = inspect(&bytes, &InspectOptions { stream, max_frames: 64 });
            for f in &r.frames {
                prop_assert!(f.payload.len() as u64 <= f.header.payload_len);
            }
        }
        let _ = FrameHeader::decode(&bytes);
        let limits = HandshakeLimits { max_head_len: 256, max_headers: 8 };
        let _ = parse_request(&bytes, &limits);
        let _ = inspect_request(&bytes, &limits);
        let _ = ClientHandshake::new("h", "/", [0; 16]).check_response(&bytes, &limits);
        let mut v = Utf8Validator::new();
        for piece in bytes.chunks(3) { if v.feed(piece).is_err() { break; } }
    }

    /// Mutated valid requests: never a panic, and a verdict whatever the bytes.
    #[test]
    fn handshake_survives_mutation(pos: prop::sample::Index, byte: u8, cut: prop::sample::Index) {
        let good = ClientHandshake::new("example.com:80", "/echo?x=1", [42; 16]).request().unwrap();
        let mut req = good.clone();
        let i = pos.index(req.len());
        req[i] = byte;
        let req = &req[..cut.index(req.len() + 1)];
        match parse_request(req, &HandshakeLimits::default()) {
            Ok(Decoded::Complete { len, .. }) => prop_assert!(len <= req.len()),
            Ok(Decoded::Incomplete { needed }) => prop_assert!(needed >= 1),
            Err(e) => prop_assert!(matches!(e.status(), 400 | 405 | 426 | 431)),
        }
    }
}

/// The UTF-8 validator agrees with the standard library on arbitrary bytes
/// fed in arbitrary pieces.
#[test]
fn utf8_agrees_with_std_on_random_inputs() {
    proptest!(|(bytes in proptest::collection::vec(prop_oneof![any::<u8>(), 0x80u8..0xC0], 0..40), cut in 0usize..41)| {
        let cut = cut.min(bytes.len());
        let mut v = Utf8Validator::new();
        let got = v.feed(&bytes[..cut]).and_then(|()| v.feed(&bytes[cut..])).and_then(|()| v.finish());
        let expect = std::str::from_utf8(&bytes).map(|_| ()).map_err(|e| e.valid_up_to() as u64);
        prop_assert_eq!(got.map_err(|e| e.offset), expect);
    });
}
