//! `wscope-server`: the command line.

mod relay_cli;

use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use wscope_core::deflate::ServerDeflateConfig;
use wscope_server::{InjectLimits, Server, ServerConfig, TapLimits, Workers};

/// Serves the wscope explorer page and a WebSocket echo with a wire tap.
///
/// Endpoints: GET / (the page and its files from --www), /echo (WebSocket
/// echo; /echo?tap=TOKEN records the connection's bytes), /tap?token=TOKEN
/// (WebSocket stream of those bytes), /inject (WebSocket: raw bytes written
/// to this server's own /echo, the reply streamed back), /check (WebSocket:
/// the conformance checker run against /echo or a --check-target).
#[derive(Debug, Parser)]
#[command(name = "wscope-server", version, about, long_about = None)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,

    /// Folder of the explorer page.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../www"))]
    www: PathBuf,

    /// Threads serving connections (default: one per core), each a
    /// single-threaded runtime; a connection stays on the thread it was
    /// dealt to (the one serving the fewest), which keeps service fair under
    /// load.
    #[arg(long)]
    threads: Option<usize>,

    /// Largest frame payload accepted; larger fails with close 1009.
    #[arg(long, default_value_t = 16 << 20, value_name = "BYTES")]
    max_frame_size: u64,

    /// Largest message (all fragments) accepted; larger fails with close 1009.
    #[arg(long, default_value_t = 64 << 20, value_name = "BYTES")]
    max_message_size: u64,

    /// Connections open at once; more are refused with HTTP 503.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    max_connections: u32,

    /// Time a client has to send its whole handshake request.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    handshake_timeout: Duration,

    /// A WebSocket with no input this long is closed with 1001 (pinged at half).
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    idle_timeout: Duration,

    /// Wait this long for the peer's close after sending ours.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    close_timeout: Duration,

    /// Stop reading from a WebSocket while more than this many bytes wait to
    /// be written to it (a peer that sends but never reads).
    #[arg(long, default_value_t = 256 * 1024, value_name = "BYTES")]
    max_pending_output: usize,

    /// Accept permessage-deflate (RFC 7692) on /echo when a client offers it
    /// (`--deflate false` never does; `/echo?deflate=off` refuses it for one
    /// connection).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    deflate: bool,

    /// Start every compressed message the server sends with an empty window
    /// (less memory per connection, less compression).
    #[arg(long)]
    deflate_server_no_context_takeover: bool,

    /// Ask clients to start every compressed message with an empty window.
    #[arg(long)]
    deflate_client_no_context_takeover: bool,

    /// The server's LZ77 window as bits, 9-15 (512 bytes to 32 KiB).
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u8).range(9..=15))]
    deflate_server_window_bits: u8,

    /// The window asked of clients that can limit theirs, as bits (8-15).
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u8).range(8..=15))]
    deflate_client_window_bits: u8,

    /// Compression level, 0 (none) to 9 (smallest).
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(0..=9))]
    deflate_level: u32,

    /// Messages shorter than this are sent uncompressed.
    #[arg(long, default_value_t = 32, value_name = "BYTES")]
    deflate_min_size: usize,

    /// A compressed connection quiet this long frees its compressor and
    /// decompressor (about 300 KiB with 15-bit windows), keeping only the
    /// history its next messages may refer to (at most both windows); 0
    /// keeps them for the connection's life.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    deflate_park_after: Duration,

    /// Connections that may use permessage-deflate at once (each holds a
    /// compressor and a decompressor, about 300 KiB with 15-bit windows,
    /// while it is busy); past it offers are declined and the connection
    /// runs uncompressed.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    deflate_max_connections: u32,

    /// Largest handshake request head; larger gets HTTP 431.
    #[arg(long, default_value_t = 8192, value_name = "BYTES")]
    max_head_size: usize,

    /// Most header lines in a handshake request; more gets HTTP 431.
    #[arg(long, default_value_t = 64)]
    max_headers: usize,

    /// Allow WebSockets only from this Origin (repeatable); others get 403.
    /// Without it, any origin is accepted.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origins: Vec<String>,

    /// Tapped connections kept at once (the oldest record is dropped).
    #[arg(long, default_value_t = 64)]
    tap_max_connections: usize,

    /// Bytes kept per tapped connection (the oldest chunks are dropped).
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    tap_max_bytes: usize,

    /// Injections running at once, over all pages.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    inject_max_concurrent: u32,

    /// Time limit of one injected connection.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    inject_timeout: Duration,

    /// Bytes one injection may send, and reply bytes kept per injection.
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    inject_max_bytes: usize,

    /// A server the page's Check panel may test besides this server's own
    /// /echo (repeatable; ws:// or wss:// URL). The page can never name one.
    #[arg(long = "check-target", value_name = "URL")]
    check_targets: Vec<String>,

    /// A report file of `wscope-check --report` the Check panel may open
    /// (repeatable; served at /check/report/N, N counted from 0).
    #[arg(long = "check-report", value_name = "FILE")]
    check_reports: Vec<PathBuf>,

    /// Bytes each way kept per case of a /check run (sent to the page).
    #[arg(long, default_value_t = 256 * 1024, value_name = "BYTES")]
    check_record_limit: usize,

    /// Time limit of one /check run.
    #[arg(long, default_value = "15m", value_parser = humantime::parse_duration)]
    check_time_limit: Duration,

    /// Connections the client checker (/clients/…, the page's "Test this
    /// browser") serves at once, all clients together; 0 turns it off.
    #[arg(long, default_value_t = 8, value_name = "N")]
    clients_max_connections: usize,

    /// Clients whose results /clients/… keeps (a new one past it replaces
    /// the one idle longest).
    #[arg(long, default_value_t = 16, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1000))]
    clients_max_agents: u16,

    #[command(flatten)]
    relay: relay_cli::RelayArgs,

    /// On Ctrl-C or SIGTERM, wait this long for connections to close.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    shutdown_timeout: Duration,
}

impl Args {
    fn config(&self) -> ServerConfig {
        let mut c = ServerConfig::new(self.listen, self.www.clone());
        c.ws.max_frame_size = self.max_frame_size;
        c.ws.max_message_size = self.max_message_size;
        c.max_connections = self.max_connections as usize;
        c.handshake_timeout = self.handshake_timeout;
        c.idle_timeout = self.idle_timeout;
        c.close_timeout = self.close_timeout;
        c.max_pending_output = self.max_pending_output;
        c.deflate = self.deflate.then_some(ServerDeflateConfig {
            server_no_context_takeover: self.deflate_server_no_context_takeover,
            client_no_context_takeover: self.deflate_client_no_context_takeover,
            server_max_window_bits: self.deflate_server_window_bits,
            client_max_window_bits: self.deflate_client_window_bits,
            ..ServerDeflateConfig::default()
        });
        c.ws.compression_level = self.deflate_level;
        c.ws.compress_min_size = self.deflate_min_size;
        // Bounded by the parser, so these fit (a semaphore panics past 2^61).
        c.deflate_max_connections = self.deflate_max_connections as usize;
        c.deflate_park_after = (!self.deflate_park_after.is_zero()).then_some(self.deflate_park_after);
        c.handshake.max_head_len = self.max_head_size;
        c.handshake.max_headers = self.max_headers;
        c.allow_origins = self.allow_origins.clone();
        c.tap = TapLimits { max_taps: self.tap_max_connections, max_bytes: self.tap_max_bytes };
        c.inject = InjectLimits {
            max_concurrent: self.inject_max_concurrent as usize,
            timeout: self.inject_timeout,
            max_reply_bytes: self.inject_max_bytes,
            max_payload_bytes: self.inject_max_bytes,
        };
        c.check.targets = self.check_targets.clone();
        c.check.reports = self.check_reports.clone();
        c.check.record_limit = self.check_record_limit;
        c.check.time_limit = self.check_time_limit;
        c.check.client_connections = self.clients_max_connections;
        c.check.client_agents = usize::from(self.clients_max_agents);
        c.relay = self.relay.config();
        c.shutdown_timeout = self.shutdown_timeout;
        c
    }
}

/// jemalloc, not the system's allocator: see `Cargo.toml`.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let args = Args::parse();
    // Purging runs on jemalloc's own thread: without it, pages freed by
    // connections that then go quiet are given back only when the server
    // next allocates, which an idle server does not.
    #[cfg(not(target_env = "msvc"))]
    let purging = tikv_jemalloc_ctl::background_thread::write(true);
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    #[cfg(not(target_env = "msvc"))]
    if let Err(e) = purging {
        tracing::warn!(error = %e, "jemalloc's background purging is off: freed memory returns to the system later");
    }
    for url in &args.check_targets {
        if let Err(e) = wscope_check::Target::parse(url) {
            eprintln!("wscope-server: --check-target {url}: {e}");
            return ExitCode::FAILURE;
        }
    }
    for path in &args.check_reports {
        if !path.is_file() {
            eprintln!("wscope-server: --check-report {}: no such file", path.display());
            return ExitCode::FAILURE;
        }
    }
    if !args.www.is_dir() {
        eprintln!("wscope-server: the page folder {} does not exist (pass --www DIR)", args.www.display());
        return ExitCode::FAILURE;
    }
    let threads = match args.threads {
        Some(0) => {
            eprintln!("wscope-server: --threads must be at least 1");
            return ExitCode::FAILURE;
        }
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, usize::from),
    };
    // The main thread accepts and serves too: it is worker 0.
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("wscope-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let workers = match Workers::start(threads.saturating_sub(1)) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("wscope-server: cannot start {threads} worker threads: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(args, workers))
}

async fn run(args: Args, workers: Workers) -> ExitCode {
    let config = args.config();
    let server = match Server::start_on(config, workers).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("wscope-server: cannot start on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    let addr = server.local_addr();
    if let Some(warning) = exposure_warning(addr) {
        eprintln!("wscope-server: {warning}");
    }
    // The handlers are in place before the address is printed: whoever reads
    // it may signal at once, and must not meet the default (killing) action.
    let stop = stop_signal();
    println!("wscope-server: serving the explorer at http://{addr}/  (echo: ws://{addr}/echo)");
    for (addr, upstream) in server.relay_addrs().iter().zip(args.relay.upstreams()) {
        println!("wscope-server: relaying ws://{addr}/ to {upstream} (see the explorer's Sessions panel)");
        if let Some(warning) = exposure_warning(*addr) {
            eprintln!("wscope-server: relay {warning}");
        }
    }
    println!("wscope-server: press Ctrl-C to stop");
    stop.await;
    eprintln!("wscope-server: shutting down (close 1001 to every connection)");
    let left = server.shutdown().await;
    if left > 0 {
        eprintln!("wscope-server: {left} connections did not close in time; exiting anyway");
    }
    ExitCode::SUCCESS
}

/// Installs the SIGINT and SIGTERM handlers now; the future ends at the
/// first of them.
fn stop_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let int = signal(SignalKind::interrupt()).ok();
        let term = signal(SignalKind::terminate()).ok();
        async move {
            match (int, term) {
                (Some(mut int), Some(mut term)) => {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                }
                (Some(mut one), None) | (None, Some(mut one)) => {
                    let _ = one.recv().await;
                }
                (None, None) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// What to say when the server listens where other machines can reach it.
fn exposure_warning(addr: std::net::SocketAddr) -> Option<String> {
    (!addr.ip().is_loopback()).then(|| {
        format!(
            "warning: listening on {addr}, reachable from other machines; \
             /echo, /tap, /inject and the relay's sessions have no authentication"
        )
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn warns_only_off_loopback() {
        for quiet in ["127.0.0.1:8080", "127.9.9.9:1", "[::1]:8080"] {
            assert_eq!(exposure_warning(quiet.parse().unwrap()), None, "{quiet}");
        }
        for loud in ["0.0.0.0:8080", "192.0.2.1:80", "[::]:8080"] {
            let w = exposure_warning(loud.parse().unwrap()).unwrap();
            assert!(w.contains("reachable from other machines"), "{w}");
        }
        // The default is loopback.
        let args = Args::parse_from(["wscope-server"]);
        assert!(args.listen.ip().is_loopback(), "{}", args.listen);
    }
}
