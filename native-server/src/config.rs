//! Everything the server can be told, with the defaults `--help` shows.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use wscope_core::connection::Config as WsConfig;
use wscope_core::deflate::ServerDeflateConfig;
use wscope_core::handshake::HandshakeLimits;

/// Limits of the wire tap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TapLimits {
    /// Connections whose bytes are kept at once; past it the oldest record
    /// is dropped (and its subscribers told).
    pub max_taps: usize,
    /// Bytes kept per tapped connection; past it the oldest chunks are
    /// dropped (and subscribers told how many).
    pub max_bytes: usize,
}

/// Limits of `/inject`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InjectLimits {
    /// Injections running at once, over all sessions.
    pub max_concurrent: usize,
    /// How long one injected connection may live.
    pub timeout: Duration,
    /// Bytes of reply kept per injection.
    pub max_reply_bytes: usize,
    /// Bytes one injection may send.
    pub max_payload_bytes: usize,
}

/// Limits of `/check` (the conformance checker run for the page).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckLimits {
    /// More targets the page may check besides this server's own `/echo`
    /// (`ws://` or `wss://` URLs the operator named; never the page's).
    pub targets: Vec<String>,
    /// Report files (`wscope-check --report`) the page may open, served at
    /// `/check/report/N`.
    pub reports: Vec<PathBuf>,
    /// Bytes kept per case and sent to the page.
    pub record_limit: usize,
    /// The whole run ends here.
    pub time_limit: Duration,
    /// The least time a case may run.
    pub case_timeout: Duration,
    /// Cases at once.
    pub jobs: usize,
    /// Connections the client checker (`/clients/…`, "Test this browser")
    /// serves at once, all clients together; 0 turns it off (404).
    pub client_connections: usize,
    /// Clients (agents) whose results it keeps; a new one past it takes the
    /// place of the one idle longest.
    pub client_agents: usize,
}

/// The server's configuration.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Folder of the explorer page.
    pub www: PathBuf,
    /// Frame and message limits of every WebSocket connection.
    pub ws: WsConfig,
    /// permessage-deflate on `/echo`, when a client offers it (and does not
    /// ask for `?deflate=off`); `None` never accepts it.
    pub deflate: Option<ServerDeflateConfig>,
    /// Connections using permessage-deflate at once (each holds a
    /// compressor and a decompressor); past it offers are declined.
    pub deflate_max_connections: usize,
    /// Limits on the handshake request head.
    pub handshake: HandshakeLimits,
    /// Connections open at once; more are refused with 503.
    pub max_connections: usize,
    /// Time a client has to send its whole request head.
    pub handshake_timeout: Duration,
    /// A WebSocket with no input for this long is closed (pinged at half).
    pub idle_timeout: Duration,
    /// How long to wait for the peer's close after sending ours.
    pub close_timeout: Duration,
    /// Reading from a WebSocket pauses while more than this many bytes wait
    /// to be written to it, so a peer that sends without reading cannot
    /// grow the server's memory (TCP's own flow control then slows it).
    pub max_pending_output: usize,
    /// Origins allowed to open WebSockets; empty allows any.
    pub allow_origins: Vec<String>,
    /// Wire tap limits.
    pub tap: TapLimits,
    /// Inject limits.
    pub inject: InjectLimits,
    /// `/check` limits and targets.
    pub check: CheckLimits,
    /// How long shutdown waits for connections to close.
    pub shutdown_timeout: Duration,
}

impl ServerConfig {
    /// Defaults, listening on `listen` and serving `www`.
    pub fn new(listen: SocketAddr, www: PathBuf) -> Self {
        ServerConfig {
            listen,
            www,
            ws: WsConfig::default(),
            deflate: Some(ServerDeflateConfig::default()),
            deflate_max_connections: 256,
            handshake: HandshakeLimits::default(),
            max_connections: 1024,
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
            close_timeout: Duration::from_secs(5),
            max_pending_output: 256 * 1024,
            allow_origins: Vec::new(),
            tap: TapLimits { max_taps: 64, max_bytes: 1 << 20 },
            inject: InjectLimits {
                max_concurrent: 8,
                timeout: Duration::from_secs(3),
                max_reply_bytes: 1 << 20,
                max_payload_bytes: 1 << 20,
            },
            check: CheckLimits {
                targets: Vec::new(),
                reports: Vec::new(),
                record_limit: 256 * 1024,
                time_limit: Duration::from_secs(15 * 60),
                case_timeout: Duration::from_secs(5),
                jobs: 2,
                client_connections: 8,
                client_agents: 16,
            },
            // Longer than the close timeout plus the 2 s drain after it.
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}
