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

/// One relay: a listener whose clients are relayed to an upstream the
/// operator named (`--relay LISTEN=URL`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelaySpec {
    /// Where the relay listens (loopback unless the operator names another
    /// address).
    pub listen: SocketAddr,
    /// The upstream, a `ws://` or `wss://` URL without a path (each
    /// client's request target goes through as it is).
    pub upstream: String,
}

impl std::str::FromStr for RelaySpec {
    type Err = String;

    /// `LISTEN=URL`: `9000=ws://127.0.0.1:3000` (port alone: loopback) or
    /// `0.0.0.0:9000=wss://example.com`.
    fn from_str(spec: &str) -> Result<Self, String> {
        let (listen, url) = spec
            .split_once('=')
            .ok_or_else(|| format!("{spec:?} is not LISTEN=URL (e.g. 127.0.0.1:9000=ws://127.0.0.1:3000)"))?;
        let listen = match listen.parse::<u16>() {
            Ok(port) => SocketAddr::from(([127, 0, 0, 1], port)),
            Err(_) => listen
                .parse::<SocketAddr>()
                .map_err(|_| format!("{listen:?} is not a port or an address with a port (e.g. 127.0.0.1:9000)"))?,
        };
        let target = wscope_check::Target::parse(url)?;
        if target.path != "/" {
            return Err(format!(
                "{url:?}: an upstream names no path (each client's path and query go through as it sent them)"
            ));
        }
        Ok(RelaySpec { listen, upstream: url.to_string() })
    }
}

/// How a relay treats the traffic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RelayMode {
    /// Every byte passed on unchanged; a copy decoded and judged.
    #[default]
    Transparent,
    /// A WebSocket held with each side, so the page can hold, edit, drop
    /// and inject messages.
    Intercept,
}

impl std::str::FromStr for RelayMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "transparent" => Ok(RelayMode::Transparent),
            "intercept" => Ok(RelayMode::Intercept),
            other => Err(format!("{other:?}: the relay modes are transparent and intercept")),
        }
    }
}

/// Relays and their limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayConfig {
    /// The relays (none: no relay listens).
    pub relays: Vec<RelaySpec>,
    /// Transparent or intercepting, for every relay.
    pub mode: RelayMode,
    /// Intercepting: messages held per direction at most (then that side
    /// is not read until the page makes room).
    pub hold_messages: usize,
    /// Intercepting: bytes held per direction at most.
    pub hold_bytes: usize,
    /// Relayed connections open at once, all relays together; more are
    /// answered 503.
    pub max_sessions: usize,
    /// Sessions whose records are kept (live or over); past it the oldest
    /// record is dropped, an ended one first.
    pub max_records: usize,
    /// Bytes of record kept per session; past it the oldest chunks go
    /// (the session's decoding and counts still see every byte).
    pub record_bytes: usize,
    /// A relayed connection on which no byte moves either way this long is
    /// closed.
    pub idle_timeout: Duration,
    /// Time to reach the upstream (TCP and TLS) before answering 502.
    pub connect_timeout: Duration,
    /// JSON lines, one per message, frame problem and session event.
    pub log: Option<PathBuf>,
    /// Most payload bytes a log line carries of a message.
    pub log_payload: usize,
    /// PEM certificates trusted for `wss://` upstreams besides the
    /// system's roots.
    pub ca: Option<PathBuf>,
    /// Accept any certificate from `wss://` upstreams.
    pub insecure: bool,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            relays: Vec::new(),
            mode: RelayMode::Transparent,
            hold_messages: 64,
            hold_bytes: 16 << 20,
            max_sessions: 256,
            max_records: 64,
            record_bytes: 1 << 20,
            idle_timeout: Duration::from_secs(600),
            connect_timeout: Duration::from_secs(10),
            log: None,
            log_payload: 64 * 1024,
            ca: None,
            insecure: false,
        }
    }
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
    /// How long a compressed connection may be quiet before it frees its
    /// compressor and decompressor (keeping their history); `None` never.
    pub deflate_park_after: Option<Duration>,
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
    /// Relays to upstreams the operator named.
    pub relay: RelayConfig,
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
            deflate_park_after: Some(Duration::from_secs(1)),
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
            relay: RelayConfig::default(),
            // Longer than the close timeout plus the 2 s drain after it.
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}
