//! Codec micro-benchmarks: wscope-core against tungstenite (and, where
//! fastwebsockets exposes the same piece, fastwebsockets) in the same run.
//!
//! `cargo bench -p wscope-bench --bench codec` runs them all and ends with a
//! table of ratios (peer time / wscope time: above 1 means wscope is faster).
//! Pass a filter as usual (`-- unmask`) to run some of them.
//!
//! tungstenite does not export its masking function, so its unmasking is
//! measured where it happens: reading one masked frame of N bytes into a
//! message (`frame_in`), against wscope doing the same work.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic
)]
#![allow(clippy::cast_possible_truncation, missing_docs, unreachable_pub, clippy::print_stdout)]

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::io::{Cursor, Read, Write};
use std::path::PathBuf;
use wscope_core::connection::{Config, Connection, Event, EventRef, Message};
use wscope_core::mask::apply_mask;
use wscope_core::utf8::Utf8Validator;
use wscope_core::{FrameHeader, OpCode};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// Input for tungstenite: reads from a byte slice, swallows writes.
struct Wire<'a> {
    input: Cursor<&'a [u8]>,
}

impl Read for Wire<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for Wire<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn payload(len: usize, text: bool) -> Vec<u8> {
    if text { (0..len).map(|i| b'a' + (i % 26) as u8).collect() } else { (0..len).map(|i| (i * 7 + 3) as u8).collect() }
}

/// `count` masked client frames of `len` bytes each, back to back.
fn masked_stream(count: usize, len: usize, opcode: OpCode) -> Vec<u8> {
    let p = payload(len, opcode == OpCode::Text);
    let mut out = Vec::new();
    for _ in 0..count {
        FrameHeader::new(true, opcode, Some(KEY), len as u64).encode(&mut out).unwrap();
        let at = out.len();
        out.extend_from_slice(&p);
        apply_mask(&mut out[at..], KEY, 0);
    }
    out
}

fn tungstenite_server(input: &[u8]) -> tungstenite::WebSocket<Wire<'_>> {
    let config = tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(16 << 20));
    tungstenite::WebSocket::from_raw_socket(
        Wire { input: Cursor::new(input) },
        tungstenite::protocol::Role::Server,
        Some(config),
    )
}

const SIZES: [(usize, &str); 5] = [(16, "16B"), (125, "125B"), (1024, "1KiB"), (16384, "16KiB"), (1 << 20, "1MiB")];

fn unmask(c: &mut Criterion) {
    let mut g = c.benchmark_group("unmask");
    for (size, label) in SIZES {
        for (offset, align) in [(0, "aligned"), (1, "unaligned")] {
            let mut buf = vec![0u8; size + 64];
            // 64-byte aligned start, then `offset` in.
            let base = buf.as_ptr().align_offset(64).min(63);
            let start = base + offset;
            g.throughput(Throughput::Bytes(size as u64));
            let id = format!("{label}/{align}");
            g.bench_function(BenchmarkId::new("wscope", &id), |b| {
                b.iter(|| apply_mask(black_box(&mut buf[start..start + size]), black_box(KEY), 0))
            });
            g.bench_function(BenchmarkId::new("fastwebsockets", &id), |b| {
                b.iter(|| fastwebsockets::unmask(black_box(&mut buf[start..start + size]), black_box(KEY)))
            });
        }
    }
    g.finish();
}

/// One masked binary frame of N bytes in, one message out: where
/// tungstenite unmasks.
fn frame_in(c: &mut Criterion) {
    let mut g = c.benchmark_group("frame_in");
    for (size, label) in SIZES {
        let wire = masked_stream(1, size, OpCode::Binary);
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function(BenchmarkId::new("wscope", label), |b| {
            b.iter_batched(
                || Connection::server(Config::default()),
                |mut conn| {
                    conn.receive_data(black_box(&wire));
                    match conn.next_event() {
                        Some(Event::Binary(m)) => m,
                        other => panic!("{other:?}"),
                    }
                },
                BatchSize::LargeInput,
            )
        });
        g.bench_function(BenchmarkId::new("tungstenite", label), |b| {
            b.iter_batched(
                || tungstenite_server(&wire),
                |mut ws| match ws.read() {
                    Ok(tungstenite::Message::Binary(m)) => m,
                    other => panic!("{other:?}"),
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

fn header_decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("header_decode");
    let cases: [(&str, Vec<u8>); 2] =
        [("masked_20B", masked_stream(1, 20, OpCode::Text)), ("masked_200B", masked_stream(1, 200, OpCode::Binary))];
    for (label, wire) in &cases {
        // The whole decoded header is returned (and so black-boxed by
        // criterion), so no field can be skipped.
        g.bench_function(BenchmarkId::new("wscope", label), |b| b.iter(|| FrameHeader::decode(black_box(wire))));
        g.bench_function(BenchmarkId::new("tungstenite", label), |b| {
            b.iter(|| {
                let mut cur = Cursor::new(black_box(wire.as_slice()));
                let parsed = tungstenite::protocol::frame::FrameHeader::parse(&mut cur);
                (parsed.ok().flatten(), cur.position())
            })
        });
    }
    g.finish();
}

/// What wscope-server reads from a socket at a time.
const READ: usize = 64 * 1024;

/// 1000 masked frames in one buffer, decoded into 1000 messages. wscope is
/// fed the buffer in 64 KiB pieces, as wscope-server reads a socket;
/// tungstenite reads it through `Read` in pieces of its own choosing.
fn decode_messages(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode_messages");
    for (label, len, opcode) in [("1000x20B_text", 20, OpCode::Text), ("1000x16KiB_binary", 16384, OpCode::Binary)] {
        let wire = masked_stream(1000, len, opcode);
        g.throughput(Throughput::Elements(1000));
        let count = |e: Event| match e {
            Event::Text(t) => t.len(),
            Event::Binary(b) => b.len(),
            other => panic!("{other:?}"),
        };
        // `read_event`: each message is taken before the next is decoded.
        g.bench_function(BenchmarkId::new("wscope", label), |b| {
            b.iter_batched(
                || Connection::server(Config::default()),
                |mut conn| {
                    let mut n = 0usize;
                    // As a server feeds it: one socket read at a time.
                    for read in black_box(&wire).chunks(READ) {
                        let mut rest = read;
                        loop {
                            let (used, event) = conn.read_event(rest);
                            rest = &rest[used..];
                            match event {
                                Some(e) => n += count(e),
                                None => break,
                            }
                        }
                    }
                    assert_eq!(n, 1000 * len);
                    n
                },
                BatchSize::LargeInput,
            )
        });
        // `read_event_in_place`: each read (a fresh copy, made outside the
        // timing) is unmasked where it lies, whole messages borrowed from it,
        // as wscope-server's echo reads.
        g.bench_function(BenchmarkId::new("wscope_in_place", label), |b| {
            b.iter_batched(
                || (Connection::server(Config::default()), wire.clone()),
                |(mut conn, mut wire)| {
                    let mut n = 0usize;
                    for read in black_box(&mut wire).chunks_mut(READ) {
                        let mut pos = 0;
                        loop {
                            let (used, event) = conn.read_event_in_place(&mut read[pos..]);
                            match event {
                                Some(EventRef::Text(t)) => n += t.len(),
                                Some(EventRef::Binary(b)) => n += b.len(),
                                Some(EventRef::Event(e)) => n += count(e),
                                None => break,
                            }
                            pos += used;
                        }
                    }
                    assert_eq!(n, 1000 * len);
                    n
                },
                BatchSize::LargeInput,
            )
        });
        // `receive_data`: a whole read decoded, then its messages taken.
        g.bench_function(BenchmarkId::new("wscope_receive_data", label), |b| {
            b.iter_batched(
                || Connection::server(Config::default()),
                |mut conn| {
                    let mut n = 0usize;
                    for read in black_box(&wire).chunks(READ) {
                        conn.receive_data(read);
                        while let Some(e) = conn.next_event() {
                            n += count(e);
                        }
                    }
                    assert_eq!(n, 1000 * len);
                    n
                },
                BatchSize::LargeInput,
            )
        });
        g.bench_function(BenchmarkId::new("tungstenite", label), |b| {
            b.iter_batched(
                || tungstenite_server(&wire),
                |mut ws| {
                    let mut n = 0usize;
                    for _ in 0..1000 {
                        match ws.read() {
                            Ok(tungstenite::Message::Text(t)) => n += t.len(),
                            Ok(tungstenite::Message::Binary(b)) => n += b.len(),
                            other => panic!("{other:?}"),
                        }
                    }
                    assert_eq!(n, 1000 * len);
                    n
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

/// tungstenite's default `write_buffer_size`.
const WRITE_BUFFER: usize = 128 * 1024;

/// 1000 messages encoded by a server (unmasked) into its output buffer.
fn encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode");
    for (label, len) in [("1000x20B", 20), ("1000x16KiB", 16384)] {
        let p = payload(len, false);
        let bytes = tungstenite::Bytes::from(p.clone());
        g.throughput(Throughput::Elements(1000));
        let mut conn = Connection::server(Config::default());
        // Written out (here: dropped) whenever 128 KiB are pending, as
        // tungstenite does with its default write buffer, so both keep the
        // same amount of output in memory.
        g.bench_function(BenchmarkId::new("wscope", label), |b| {
            b.iter(|| {
                let mut written = 0;
                for _ in 0..1000 {
                    conn.send(Message::Binary(black_box(&p))).unwrap();
                    let n = conn.pending_output().len();
                    if n >= WRITE_BUFFER {
                        written += black_box(conn.pending_output()).len();
                        conn.consume_output(n);
                    }
                }
                let n = conn.pending_output().len();
                conn.consume_output(n);
                written + n
            })
        });
        let mut ws = tungstenite_server(&[]);
        g.bench_function(BenchmarkId::new("tungstenite", label), |b| {
            b.iter(|| {
                for _ in 0..1000 {
                    ws.write(tungstenite::Message::Binary(black_box(bytes.clone()))).unwrap();
                }
                ws.flush().unwrap();
            })
        });
    }
    g.finish();
}

fn utf8(c: &mut Criterion) {
    let mut g = c.benchmark_group("utf8");
    let ascii = payload(16384, true);
    let multi: Vec<u8> = "κόσμε😀 €µ–".repeat(16384 / "κόσμε😀 €µ–".len()).into_bytes();
    for (label, text) in [("ascii_16KiB", &ascii), ("multibyte_16KiB", &multi)] {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(BenchmarkId::new("wscope", label), |b| {
            b.iter(|| {
                let mut v = Utf8Validator::new();
                v.feed(black_box(text)).unwrap();
                v.finish().unwrap();
            })
        });
        // What tungstenite does with a text message.
        g.bench_function(BenchmarkId::new("tungstenite", label), |b| {
            b.iter(|| std::str::from_utf8(black_box(text)).unwrap().len())
        });
        g.bench_function(BenchmarkId::new("simdutf8", label), |b| {
            b.iter(|| simdutf8::compat::from_utf8(black_box(text)).unwrap().len())
        });
    }
    g.finish();
}

fn criterion_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/criterion")
}

/// Mean time in ns of one benchmark, from criterion's saved estimates,
/// if it was measured by this run (not left over from an earlier one).
fn mean_ns(group: &str, function: &str, param: &str) -> Option<f64> {
    let path = criterion_dir().join(group).join(function).join(param).join("new/estimates.json");
    let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok()?;
    if modified < *STARTED.get()? {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["mean"]["point_estimate"].as_f64()
}

/// Every (group, parameter, peer) measured in this run, as a table.
fn print_ratios(groups: &[&str]) {
    println!("\nratios (peer time / wscope time; above 1.00 = wscope faster)");
    println!("{:<16} {:<22} {:<15} {:>12} {:>12} {:>7}", "group", "case", "peer", "wscope", "peer", "ratio");
    for group in groups {
        let dir = criterion_dir().join(group).join("wscope");
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut params: Vec<String> = Vec::new();
        for e in entries.flatten() {
            let p = e.path();
            // Parameters may nest one level (size/alignment).
            if p.join("new").is_dir() {
                params.push(e.file_name().to_string_lossy().into_owned());
            } else if let Ok(sub) = std::fs::read_dir(&p) {
                for s in sub.flatten() {
                    if s.path().join("new").is_dir() {
                        params.push(format!("{}/{}", e.file_name().to_string_lossy(), s.file_name().to_string_lossy()));
                    }
                }
            }
        }
        params.sort_by_key(|p| SIZES.iter().position(|(_, l)| p.starts_with(l)).unwrap_or(0));
        for param in params {
            for (we, peers) in [
                ("wscope", &["tungstenite", "fastwebsockets", "simdutf8", "wscope_receive_data"][..]),
                ("wscope_in_place", &["tungstenite"][..]),
            ] {
                let Some(ours) = mean_ns(group, we, &param) else { continue };
                for peer in peers {
                    if let Some(theirs) = mean_ns(group, peer, &param) {
                        let case = if we == "wscope" { param.clone() } else { format!("{param} (in place)") };
                        println!(
                            "{group:<16} {case:<22} {peer:<15} {:>12} {:>12} {:>6.2}x",
                            fmt_ns(ours),
                            fmt_ns(theirs),
                            theirs / ours
                        );
                    }
                }
            }
        }
    }
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} us", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

static STARTED: std::sync::OnceLock<std::time::SystemTime> = std::sync::OnceLock::new();

fn main() {
    STARTED.get_or_init(std::time::SystemTime::now);
    let mut c = Criterion::default().output_directory(&criterion_dir()).configure_from_args();
    unmask(&mut c);
    frame_in(&mut c);
    header_decode(&mut c);
    decode_messages(&mut c);
    encode(&mut c);
    utf8(&mut c);
    c.final_summary();
    print_ratios(&["unmask", "frame_in", "header_decode", "decode_messages", "encode", "utf8"]);
}
