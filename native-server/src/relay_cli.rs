//! The relay's flags (`--relay` and its limits), flattened into the
//! server's command line.

use clap::Args;
use std::path::PathBuf;
use std::time::Duration;
use wscope_server::{RelayConfig, RelayMode, RelaySpec};

/// Relays to the operator's own servers.
#[derive(Debug, Args)]
pub(crate) struct RelayArgs {
    /// Relay LISTEN to the upstream URL (repeatable), e.g.
    /// `9000=ws://127.0.0.1:3000` (a port alone listens on loopback) or
    /// `127.0.0.1:9000=wss://api.example.com`. Clients pointed at LISTEN
    /// get the upstream: path, query and headers go through, only Host is
    /// rewritten; every byte is passed on unchanged and recorded, and the
    /// Sessions panel and --relay-log show both directions judged by the
    /// RFC.
    #[arg(long = "relay", value_name = "LISTEN=URL")]
    relays: Vec<RelaySpec>,

    /// transparent: every byte passed on unchanged, a copy decoded and
    /// judged. intercept: a WebSocket held with each side, so the Sessions
    /// panel can hold a direction, edit or drop a held message, and send new
    /// ones either way (each leg compresses with its own context).
    #[arg(long, default_value = "transparent", value_name = "MODE")]
    relay_mode: RelayMode,

    /// Intercepting: messages held per direction at most (then that side is
    /// not read until the page releases or drops some).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    relay_hold_messages: u32,

    /// Intercepting: bytes held per direction at most.
    #[arg(long, default_value_t = 16 << 20, value_name = "BYTES")]
    relay_hold_bytes: usize,

    /// Relayed connections open at once, all relays together (more get
    /// HTTP 503).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    relay_max_sessions: u32,

    /// Relayed sessions whose records are kept (the oldest goes, an ended
    /// one first).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    relay_max_records: u32,

    /// Bytes kept per relayed session's record (the oldest chunks go; the
    /// counts and the log still see every byte).
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    relay_record_bytes: usize,

    /// Close a relayed connection on which no byte moved either way this long.
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    relay_idle_timeout: Duration,

    /// Time to reach an upstream (TCP and TLS); then the client gets 502.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    relay_connect_timeout: Duration,

    /// Write every relayed session to FILE as JSON lines: one per message,
    /// control frame, rule broken, HTTP head, and the session's start and end.
    #[arg(long, value_name = "FILE")]
    relay_log: Option<PathBuf>,

    /// Most payload bytes a --relay-log line carries of a message.
    #[arg(long, default_value_t = 64 * 1024, value_name = "BYTES")]
    relay_log_payload: usize,

    /// Trust the PEM certificates in FILE for wss:// upstreams, besides the
    /// system's roots.
    #[arg(long, value_name = "FILE")]
    relay_ca: Option<PathBuf>,

    /// Accept any certificate from wss:// upstreams (a self-signed test server).
    #[arg(long)]
    relay_insecure: bool,
}

impl RelayArgs {
    pub(crate) fn config(&self) -> RelayConfig {
        RelayConfig {
            relays: self.relays.clone(),
            mode: self.relay_mode,
            hold_messages: self.relay_hold_messages as usize,
            hold_bytes: self.relay_hold_bytes,
            max_sessions: self.relay_max_sessions as usize,
            max_records: self.relay_max_records as usize,
            record_bytes: self.relay_record_bytes,
            idle_timeout: self.relay_idle_timeout,
            connect_timeout: self.relay_connect_timeout,
            log: self.relay_log.clone(),
            log_payload: self.relay_log_payload,
            ca: self.relay_ca.clone(),
            insecure: self.relay_insecure,
        }
    }

    /// Every relay's upstream, in order, for the start-up lines.
    pub(crate) fn upstreams(&self) -> impl Iterator<Item = &str> + '_ {
        self.relays.iter().map(|r| r.upstream.as_str())
    }
}
