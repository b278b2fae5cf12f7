//! `wscope-load`: the closed-loop WebSocket load generator behind
//! `cargo xtask bench`, and the idle-connection memory probe.
//!
//! `echo`: C connections, each sends a pre-built masked frame of S bytes
//! (or D of them back to back with `--pipeline D`), reads the echo, checks
//! every byte of it, and sends again. Only round trips that end inside the
//! measuring window count. It prints one `RESULT` line with msgs/s,
//! p50/p99 round-trip latency, and how busy this process and (with
//! `--server-pid`) the server were during the window, so a reader can see
//! which side was the bottleneck.
//!
//! `idle`: opens N connections, echoes one 20-byte message on each, and
//! reports the server's resident memory before and after (with
//! `--server-pid`), then holds them until stdin closes or `--hold` passes.
//!
//! Single-threaded on purpose: pin it to one core with `taskset`.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use wscope_core::deflate::{self, DeflateParams, MessageDeflater, MessageInflater};
use wscope_core::handshake::{ClientHandshake, HandshakeLimits};
use wscope_core::{Decoded, FrameHeader, OpCode};

#[derive(Debug, Parser)]
#[command(name = "wscope-load", about = "Closed-loop WebSocket echo load and idle-memory probe")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Closed-loop echo load: msgs/s and round-trip latency.
    Echo(EchoArgs),
    /// Hold idle connections and report the server's memory per connection.
    Idle(IdleArgs),
    /// Connections that send without ever reading: the server's memory
    /// while they push (it should stop reading them, not buffer).
    Stall(StallArgs),
}

#[derive(Debug, clap::Args)]
struct StallArgs {
    /// Echo endpoint, e.g. ws://127.0.0.1:8080/echo.
    #[arg(long)]
    url: String,
    /// Connections that never read.
    #[arg(long, default_value_t = 100)]
    conns: usize,
    /// How long they push.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// The server's process id, to read its resident memory.
    #[arg(long)]
    server_pid: Option<u32>,
}

#[derive(Debug, clap::Args)]
struct EchoArgs {
    /// Echo endpoint, e.g. ws://127.0.0.1:8080/echo.
    #[arg(long)]
    url: String,
    /// Concurrent connections.
    #[arg(long, default_value_t = 100)]
    conns: usize,
    /// Payload bytes per message.
    #[arg(long, default_value_t = 20)]
    size: usize,
    /// Messages each connection sends before waiting for their echoes.
    #[arg(long, default_value_t = 1)]
    pipeline: usize,
    /// Send text frames (ASCII payload) instead of binary.
    #[arg(long)]
    text: bool,
    /// Load before the window opens.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    warmup: Duration,
    /// The measuring window.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// The server's process id, to report its CPU use over the window.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Expect the sent bytes back unchanged (for `echo-raw`, the TCP echo
    /// that measures the load generator's own ceiling).
    #[arg(long)]
    raw: bool,
    /// A payload of its own for each connection (its number first), so an
    /// echo delivered to the wrong connection is caught too.
    #[arg(long)]
    distinct: bool,
    /// A round trip that takes longer counts as a lost message (and ends
    /// that connection).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// Offer permessage-deflate (with client_no_context_takeover, so one
    /// pre-compressed frame serves every message) and inflate and check
    /// every echo. Text of English-like words (about 3:1 compressible).
    /// Pipeline 1 only.
    #[arg(long)]
    deflate: bool,
}

#[derive(Debug, clap::Args)]
struct IdleArgs {
    /// Echo endpoint, e.g. ws://127.0.0.1:8080/echo.
    #[arg(long)]
    url: String,
    /// Connections to open and hold.
    #[arg(long, default_value_t = 1000)]
    conns: usize,
    /// Handshakes in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// The server's process id, to read its resident memory.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Offer permessage-deflate and send one compressible 1 KiB message
    /// (so the server holds its compressor and decompressor).
    #[arg(long)]
    deflate: bool,
    /// Messages echoed on each connection before it idles (with --deflate,
    /// 64 fill both 32 KiB windows' histories).
    #[arg(long, default_value_t = 1)]
    messages: usize,
    /// How long to wait after the echoes before reading the server's memory.
    #[arg(long, default_value = "500ms", value_parser = humantime::parse_duration)]
    settle: Duration,
    /// How long to hold the connections after reporting (stdin closing ends
    /// the hold earlier).
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    hold: Duration,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("wscope-load: runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        match cli.cmd {
            Cmd::Echo(args) => echo(args).await,
            Cmd::Idle(args) => idle(args).await,
            Cmd::Stall(args) => stall(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wscope-load: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Where to connect: `ws://host:port/path`.
#[derive(Debug, Clone)]
struct Target {
    addr: SocketAddr,
    host: String,
    path: String,
    /// Offer permessage-deflate.
    deflate: bool,
}

/// What the generator offers: its own messages without context takeover,
/// so a pre-built frame is valid for every message.
const DEFLATE_OFFER: &str = "permessage-deflate; client_no_context_takeover; client_max_window_bits";

impl Target {
    fn parse(url: &str) -> Result<Target, BoxError> {
        let rest = url.strip_prefix("ws://").ok_or("the URL must start with ws://")?;
        let (host, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, "/"),
        };
        let addr: SocketAddr = host.parse().map_err(|_| format!("{host:?} is not an IP:port address"))?;
        Ok(Target { addr, host: host.to_owned(), path: path.to_owned(), deflate: false })
    }

    /// TCP connect and the opening handshake (checked by wscope-core);
    /// the permessage-deflate parameters, if offered and agreed.
    async fn connect(&self) -> Result<(TcpStream, Option<DeflateParams>), BoxError> {
        let mut stream = TcpStream::connect(self.addr).await?;
        stream.set_nodelay(true)?;
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(|e| format!("no randomness: {e}"))?;
        let mut hs = ClientHandshake::new(&self.host, &self.path, nonce);
        if self.deflate {
            hs.extensions = Some(DEFLATE_OFFER.to_owned());
        }
        stream.write_all(&hs.request()?).await?;
        let mut buf = Vec::with_capacity(512);
        let limits = HandshakeLimits::default();
        loop {
            let mut chunk = [0u8; 512];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Err("the server closed during the handshake".into());
            }
            buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
            if let Decoded::Complete { value, len } = hs.check_response(&buf, &limits)? {
                if len != buf.len() {
                    return Err("the server sent frames before any message".into());
                }
                // The core checked the answer against the offer.
                return Ok((stream, value.deflate));
            }
        }
    }
}

/// One masked client frame and the unmasked echo expected for it.
fn frame_pair(size: usize, text: bool) -> Result<(Vec<u8>, Vec<u8>), BoxError> {
    frame_pair_for(size, text, None)
}

/// [`frame_pair`], the payload starting with `id` (as decimal digits) when
/// given, and its letters shifted by it.
fn frame_pair_for(size: usize, text: bool, id: Option<usize>) -> Result<(Vec<u8>, Vec<u8>), BoxError> {
    let opcode = if text { OpCode::Text } else { OpCode::Binary };
    let shift = id.unwrap_or(0);
    let mut payload: Vec<u8> =
        (0..size).map(|i| b'a'.wrapping_add(u8::try_from(i.wrapping_add(shift) % 26).unwrap_or(0))).collect();
    if let Some(id) = id {
        let digits = format!("{id:08}:");
        let n = digits.len().min(size);
        payload.get_mut(..n).unwrap_or_default().copy_from_slice(digits.as_bytes().get(..n).unwrap_or_default());
    }
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let mut out = Vec::with_capacity(size.saturating_add(14));
    FrameHeader::new(true, opcode, Some(key), size as u64).encode(&mut out)?;
    let at = out.len();
    out.extend_from_slice(&payload);
    wscope_core::mask::apply_mask(out.get_mut(at..).unwrap_or_default(), key, 0);
    let mut echo = Vec::with_capacity(size.saturating_add(10));
    FrameHeader::new(true, opcode, None, size as u64).encode(&mut echo)?;
    echo.extend_from_slice(&payload);
    Ok((out, echo))
}

/// Text of English-like words, about 3:1 compressible by DEFLATE.
fn words(size: usize) -> Vec<u8> {
    const WORDS: [&str; 16] = [
        "the", "socket", "frame", "message", "server", "client", "mask", "payload", "close", "ping", "deflate",
        "window", "context", "echo", "bytes", "wire",
    ];
    let mut out = Vec::with_capacity(size.saturating_add(16));
    let mut x: u32 = 12345;
    while out.len() < size {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let w = WORDS.get(((x >> 16) & 15) as usize).copied().unwrap_or("x");
        out.extend_from_slice(w.as_bytes());
        out.push(b' ');
    }
    out.truncate(size);
    out
}

/// One masked, compressed (RSV1) text frame of `payload`.
fn compressed_frame(payload: &[u8]) -> Result<Vec<u8>, BoxError> {
    let mut z = Vec::new();
    MessageDeflater::new(15, true, 6).compress(payload, &mut z).map_err(|e| e.to_string())?;
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let mut header = FrameHeader::new(true, OpCode::Text, Some(key), z.len() as u64);
    deflate::mark_compressed(&mut header);
    let mut out = Vec::with_capacity(z.len().saturating_add(14));
    header.encode(&mut out)?;
    let at = out.len();
    out.extend_from_slice(&z);
    wscope_core::mask::apply_mask(out.get_mut(at..).unwrap_or_default(), key, 0);
    Ok(out)
}

/// Reads one frame and checks it is `expect`, inflating it if compressed;
/// its payload's length on the wire if it was.
async fn read_compressed_echo(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    inflater: &mut MessageInflater,
    inflated: &mut Vec<u8>,
    expect: &[u8],
) -> Option<usize> {
    buf.clear();
    loop {
        if let Decoded::Complete { value, len } = FrameHeader::decode(buf) {
            let end = usize::try_from(value.payload_len).ok().and_then(|p| p.checked_add(len));
            if let Some(payload) = end.and_then(|e| buf.get(len..e)) {
                if end != Some(buf.len()) {
                    return None;
                }
                inflated.clear();
                if value.rsv[0] {
                    let cap = expect.len() as u64;
                    if inflater.inflate(payload, inflated, cap).and_then(|()| inflater.finish(inflated, cap)).is_err() {
                        return None;
                    }
                } else {
                    inflated.extend_from_slice(payload);
                }
                return (inflated.as_slice() == expect).then_some(payload.len());
            }
        }
        let mut chunk = [0u8; 16 * 1024];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
        }
    }
}

const WARMUP: u8 = 0;
const MEASURE: u8 = 1;
const STOP: u8 = 2;

/// What one connection measured.
#[derive(Debug, Default)]
struct ConnStats {
    msgs: u64,
    latencies_us: Vec<u32>,
    /// Compressed echoes: their payloads' bytes on the wire, and inflated.
    wire_bytes: u64,
    text_bytes: u64,
}

async fn echo(args: EchoArgs) -> Result<(), BoxError> {
    if args.conns == 0 || args.pipeline == 0 {
        return Err("--conns and --pipeline must be at least 1".into());
    }
    let mut target = Target::parse(&args.url)?;
    target.deflate = args.deflate;
    if args.deflate && (args.pipeline != 1 || args.raw) {
        return Err("--deflate works with --pipeline 1 and without --raw".into());
    }
    let plain_text: Arc<[u8]> = words(args.size).into();
    let (one, one_echo) =
        if args.deflate { (compressed_frame(&plain_text)?, Vec::new()) } else { frame_pair(args.size, args.text)? };
    let send: Arc<[u8]> = one.repeat(args.pipeline).into();
    let expect: Arc<[u8]> = if args.raw { &one } else { &one_echo }.repeat(args.pipeline).into();
    let phase = Arc::new(AtomicU8::new(WARMUP));
    let errors = Arc::new(AtomicU64::new(0));
    let lost = Arc::new(AtomicU64::new(0));
    let rss_before = args.server_pid.and_then(resident_kib);

    let gate = Arc::new(Semaphore::new(64));
    let mut streams = Vec::with_capacity(args.conns);
    let mut opening = tokio::task::JoinSet::new();
    for _ in 0..args.conns {
        let target = target.clone();
        let gate = gate.clone();
        opening.spawn(async move {
            let _permit = gate.acquire_owned().await;
            target.connect().await
        });
    }
    while let Some(r) = opening.join_next().await {
        streams.push(r??);
    }

    let mut tasks = tokio::task::JoinSet::new();
    let pipeline = args.pipeline as u64;
    let (round_trip_limit, total) = (args.timeout, Arc::new(AtomicU64::new(0)));
    for (index, (mut stream, params)) in streams.into_iter().enumerate() {
        let (send, expect) = if args.distinct && !args.deflate {
            let (one, one_echo) = frame_pair_for(args.size, args.text, Some(index))?;
            let send: Arc<[u8]> = one.repeat(args.pipeline).into();
            let expect: Arc<[u8]> = if args.raw { &one } else { &one_echo }.repeat(args.pipeline).into();
            (send, expect)
        } else {
            (send.clone(), expect.clone())
        };
        let (phase, errors, lost, total) = (phase.clone(), errors.clone(), lost.clone(), total.clone());
        // A message compressed from an empty window is valid whatever the
        // server agreed to (it refers to nothing earlier), so one
        // pre-compressed frame serves every message; the offer's
        // client_no_context_takeover only tells the server so (RFC 7692
        // section 7.1.1.2).
        if args.deflate && params.is_none() {
            return Err("the server did not agree to permessage-deflate".into());
        }
        let compressed = params.map(|p| (MessageInflater::new(p.server_no_context_takeover), plain_text.clone()));
        tasks.spawn(async move {
            let mut stats = ConnStats::default();
            if let Some((mut inflater, text)) = compressed {
                let (mut buf, mut inflated) = (Vec::new(), Vec::new());
                loop {
                    let p = phase.load(Ordering::Relaxed);
                    if p == STOP {
                        break;
                    }
                    let t0 = Instant::now();
                    let wire = match stream.write_all(&send).await {
                        Ok(()) => {
                            read_compressed_echo(&mut stream, &mut buf, &mut inflater, &mut inflated, &text).await
                        }
                        Err(_) => None,
                    };
                    let Some(wire) = wire else {
                        errors.fetch_add(1, Ordering::Relaxed);
                        break;
                    };
                    if p == MEASURE && phase.load(Ordering::Relaxed) == MEASURE {
                        stats.wire_bytes = stats.wire_bytes.saturating_add(wire as u64);
                        stats.text_bytes = stats.text_bytes.saturating_add(text.len() as u64);
                        stats.msgs = stats.msgs.saturating_add(1);
                        stats.latencies_us.push(u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX));
                    }
                }
                let _ = stream.write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]).await;
                return stats;
            }
            // Larger than the echo, so the read that completes it is a short
            // read, which tells tokio the socket is drained (no extra read
            // that would only return EAGAIN).
            let mut buf = vec![0u8; expect.len().saturating_add(4096)];
            loop {
                let p = phase.load(Ordering::Relaxed);
                if p == STOP {
                    break;
                }
                let t0 = Instant::now();
                // Written and read at once: a pipelined batch can be larger
                // than the socket buffers, and a client that wrote it all
                // before reading would stall against any server that bounds
                // what it buffers.
                // (One frame fits: then in turn, which costs the generator less.)
                let round_trip = async {
                    if pipeline > 1 {
                        let (mut rd, mut wr) = stream.split();
                        let (wrote, read) =
                            tokio::join!(wr.write_all(&send), read_echo(&mut rd, &mut buf, expect.len()));
                        wrote.is_ok() && read
                    } else {
                        stream.write_all(&send).await.is_ok() && read_echo(&mut stream, &mut buf, expect.len()).await
                    }
                };
                let Ok(ok) = tokio::time::timeout(round_trip_limit, round_trip).await else {
                    lost.fetch_add(pipeline, Ordering::Relaxed);
                    break;
                };
                if !ok || buf.get(..expect.len()) != Some(&*expect) {
                    errors.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                total.fetch_add(pipeline, Ordering::Relaxed);
                if p == MEASURE && phase.load(Ordering::Relaxed) == MEASURE {
                    stats.msgs = stats.msgs.saturating_add(pipeline);
                    let us = u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX);
                    stats.latencies_us.push(us);
                }
            }
            // A clean close: 1000, masked, then wait for the server's answer.
            let close = [0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8];
            let _ = stream.write_all(&close).await;
            let mut sink = [0u8; 256];
            let _ = tokio::time::timeout(Duration::from_secs(2), async {
                while let Ok(n) = stream.read(&mut sink).await {
                    if n == 0 {
                        break;
                    }
                }
            })
            .await;
            stats
        });
    }

    tokio::time::sleep(args.warmup).await;
    let server_cpu0 = args.server_pid.and_then(process_cpu_ns);
    let self_cpu0 = process_cpu_ns(std::process::id());
    phase.store(MEASURE, Ordering::Relaxed);
    let start = Instant::now();
    tokio::time::sleep(args.duration.checked_div(2).unwrap_or_default()).await;
    let rss_during = args.server_pid.and_then(resident_kib);
    let mut last_report = Instant::now();
    while start.elapsed() < args.duration {
        let left = args.duration.saturating_sub(start.elapsed());
        tokio::time::sleep(left.min(Duration::from_secs(10))).await;
        if last_report.elapsed() >= Duration::from_secs(10) {
            eprintln!(
                "wscope-load: {:.0} s of {:.0} s, {} round trips checked, {} errors, {} lost",
                start.elapsed().as_secs_f64(),
                args.duration.as_secs_f64(),
                total.load(Ordering::Relaxed),
                errors.load(Ordering::Relaxed),
                lost.load(Ordering::Relaxed),
            );
            last_report = Instant::now();
        }
    }
    phase.store(STOP, Ordering::Relaxed);
    let secs = start.elapsed().as_secs_f64();
    let server_cpu1 = args.server_pid.and_then(process_cpu_ns);
    let self_cpu1 = process_cpu_ns(std::process::id());

    let mut msgs = 0u64;
    let mut lat = Vec::new();
    let (mut wire, mut text) = (0u64, 0u64);
    while let Some(r) = tasks.join_next().await {
        let s = r?;
        msgs = msgs.saturating_add(s.msgs);
        wire = wire.saturating_add(s.wire_bytes);
        text = text.saturating_add(s.text_bytes);
        lat.extend(s.latencies_us);
    }
    lat.sort_unstable();
    let pct = |permille: usize| -> u32 {
        let i = lat.len().saturating_mul(permille) / 1000;
        lat.get(i.min(lat.len().saturating_sub(1))).copied().unwrap_or(0)
    };
    let busy = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (Some(a), Some(b)) => format!("{:.2}", b.saturating_sub(a) as f64 / 1e9 / secs),
        _ => "-".to_owned(),
    };
    // The server's memory once every connection has closed.
    let rss_after = match args.server_pid {
        Some(pid) => {
            tokio::time::sleep(Duration::from_secs(1)).await;
            resident_kib(pid)
        }
        None => None,
    };
    let show = |v: Option<u64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
    println!(
        "RESULT conns={} size={} pipeline={} msgs={msgs} secs={secs:.3} rate={:.0} p50_us={} p99_us={} errors={} lost={} checked={} load_cpu={} server_cpu={} rss_before_kib={} rss_during_kib={} rss_after_kib={} deflate_ratio={}",
        args.conns,
        args.size,
        args.pipeline,
        msgs as f64 / secs,
        pct(500),
        pct(990),
        errors.load(Ordering::Relaxed),
        lost.load(Ordering::Relaxed),
        total.load(Ordering::Relaxed),
        busy(self_cpu0, self_cpu1),
        busy(server_cpu0, server_cpu1),
        show(rss_before),
        show(rss_during),
        show(rss_after),
        if wire > 0 { format!("{:.2}", text as f64 / wire as f64) } else { "-".to_owned() },
    );
    if errors.load(Ordering::Relaxed) > 0 || lost.load(Ordering::Relaxed) > 0 {
        return Err("some connections failed, echoed wrong bytes or lost messages (see errors= and lost=)".into());
    }
    Ok(())
}

/// Reads until `want` bytes are in `buf`; false on EOF, error, or more
/// bytes than asked for (a server must not send anything unasked).
async fn read_echo(stream: &mut (impl AsyncReadExt + Unpin), buf: &mut [u8], want: usize) -> bool {
    let mut have = 0usize;
    while have < want {
        let Some(space) = buf.get_mut(have..) else { return false };
        match stream.read(space).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => have = have.saturating_add(n),
        }
    }
    have == want
}

async fn stall(args: StallArgs) -> Result<(), BoxError> {
    let target = Target::parse(&args.url)?;
    let before = args.server_pid.and_then(resident_kib);
    // 16 KiB binary frames, written back to back and never read.
    let (frame, _) = frame_pair(16 * 1024, false)?;
    let burst: Arc<[u8]> = frame.repeat(4).into();
    let sent = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    let mut streams = Vec::with_capacity(args.conns);
    for _ in 0..args.conns {
        streams.push(target.connect().await?.0);
    }
    let now = tokio::time::Instant::now();
    let deadline = now.checked_add(args.duration).unwrap_or(now);
    for mut stream in streams {
        let (burst, sent) = (burst.clone(), sent.clone());
        tasks.spawn(async move {
            // A write that cannot finish means the server stopped reading.
            while tokio::time::timeout_at(deadline, stream.write_all(&burst)).await.is_ok_and(|r| r.is_ok()) {
                sent.fetch_add(burst.len() as u64, Ordering::Relaxed);
            }
            stream
        });
    }
    tokio::time::sleep_until(deadline).await;
    let during = args.server_pid.and_then(resident_kib);
    let mut held = Vec::new();
    while let Some(r) = tasks.join_next().await {
        held.push(r?);
    }
    let show = |v: Option<u64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
    let per_conn = match (before, during) {
        (Some(b), Some(d)) if args.conns > 0 => format!("{:.1}", d.saturating_sub(b) as f64 / args.conns as f64),
        _ => "-".to_owned(),
    };
    println!(
        "RESULT stall conns={} secs={:.1} sent_kib={} rss_before_kib={} rss_during_kib={} per_conn_kib={per_conn}",
        args.conns,
        args.duration.as_secs_f64(),
        sent.load(Ordering::Relaxed) / 1024,
        show(before),
        show(during),
    );
    drop(held);
    Ok(())
}

async fn idle(args: IdleArgs) -> Result<(), BoxError> {
    let mut target = Target::parse(&args.url)?;
    target.deflate = args.deflate;
    let text: Arc<[u8]> = words(1024).into();
    let (one, one_echo) = if args.deflate { (compressed_frame(&text)?, Vec::new()) } else { frame_pair(20, true)? };
    let (one, one_echo): (Arc<[u8]>, Arc<[u8]>) = (one.into(), one_echo.into());
    let before = args.server_pid.and_then(resident_kib);
    let gate = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let mut opening = tokio::task::JoinSet::new();
    let started = Instant::now();
    let messages = args.messages.max(1);
    for _ in 0..args.conns {
        let (target, gate, one, one_echo, text) =
            (target.clone(), gate.clone(), one.clone(), one_echo.clone(), text.clone());
        opening.spawn(async move {
            let _permit = gate.acquire_owned().await;
            let (mut stream, params) = target.connect().await?;
            let mut inflater = params.map(|p| MessageInflater::new(p.server_no_context_takeover));
            let (mut buf, mut inflated) = (Vec::new(), Vec::new());
            for _ in 0..messages {
                stream.write_all(&one).await?;
                if let Some(inflater) = &mut inflater {
                    if read_compressed_echo(&mut stream, &mut buf, inflater, &mut inflated, &text).await.is_none() {
                        return Err::<TcpStream, BoxError>("wrong compressed echo".into());
                    }
                    continue;
                }
                buf.resize(one_echo.len(), 0);
                stream.read_exact(&mut buf).await?;
                if buf.as_slice() != &*one_echo {
                    return Err::<TcpStream, BoxError>("wrong echo".into());
                }
            }
            Ok(stream)
        });
    }
    let mut held = Vec::with_capacity(args.conns);
    let mut last_report = Instant::now();
    while let Some(r) = opening.join_next().await {
        held.push(r??);
        if last_report.elapsed() > Duration::from_secs(2) {
            eprintln!("wscope-load: {} of {} connections open", held.len(), args.conns);
            last_report = Instant::now();
        }
    }
    let open_secs = started.elapsed().as_secs_f64();
    // Let the server finish whatever it does after the echo.
    tokio::time::sleep(args.settle).await;
    let after = args.server_pid.and_then(resident_kib);
    let per_conn = match (before, after) {
        (Some(b), Some(a)) if !held.is_empty() => {
            format!("{:.2}", (a.saturating_sub(b) as f64) / (held.len() as f64))
        }
        _ => "-".to_owned(),
    };
    let show = |v: Option<u64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
    println!(
        "RESULT idle conns={} open_secs={open_secs:.2} rss_before_kib={} rss_after_kib={} per_conn_kib={per_conn}",
        held.len(),
        show(before),
        show(after),
    );
    let mut stdin = tokio::io::stdin();
    let mut sink = [0u8; 64];
    let _ = tokio::time::timeout(args.hold, async {
        while let Ok(n) = stdin.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
    drop(held);
    Ok(())
}

/// CPU time of every thread of process `pid`, in nanoseconds
/// (`/proc/PID/task/*/schedstat`, first field).
fn process_cpu_ns(pid: u32) -> Option<u64> {
    let mut total = 0u64;
    for entry in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let path = entry.ok()?.path().join("schedstat");
        let Ok(text) = std::fs::read_to_string(path) else { continue };
        let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
        total = total.saturating_add(ns);
    }
    Some(total)
}

/// Resident memory of process `pid` in KiB (`VmRSS` in `/proc/PID/status`).
fn resident_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
