//! `GET /limits`: the limits this server runs with, as JSON, so the page
//! judges frames against the sizes the server will actually accept (a frame
//! the RFC allows can still be one this server answers with 1009).
//!
//! ```json
//! {"max_frame_size": 16777216, "max_message_size": 67108864,
//!  "inject": {"max_payload_bytes": 1048576, "max_reply_bytes": 1048576},
//!  "tap": {"max_bytes": 1048576}, "deflate": true,
//!  "check": {"targets": ["ws://127.0.0.1:3000/"], "reports": ["nightly.json"],
//!            "record_limit": 262144, "clients": true},
//!  "relay": {"relays": [{"listen": "127.0.0.1:9000", "upstream": "ws://127.0.0.1:3000"}],
//!            "record_bytes": 1048576, "max_records": 64}}
//! ```
//!
//! `check.targets` are the targets the operator allowed `/check` besides
//! this server's own `/echo` (target 0): target `i` of a run is
//! `check.targets[i - 1]`; `check.reports` are the names of the report
//! files the operator named (`--check-report`), report `i` served at
//! `GET /check/report/i`.
//!
//! `/echo` applies `max_frame_size` and `max_message_size`; `/inject` also
//! caps an injection at `inject.max_payload_bytes`. Sizes are bytes.

use crate::config::ServerConfig;
use serde::Serialize;

/// What `GET /limits` answers.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Limits {
    /// Largest frame payload `/echo` accepts; larger is closed with 1009.
    pub max_frame_size: u64,
    /// Largest message `/echo` accepts; larger is closed with 1009.
    pub max_message_size: u64,
    /// `/inject`'s limits.
    pub inject: InjectLimitsJson,
    /// The wire tap's limits.
    pub tap: TapLimitsJson,
    /// Whether `/echo` accepts permessage-deflate when offered.
    pub deflate: bool,
    /// `/check`'s targets and limits.
    pub check: CheckJson,
    /// The relays (`--relay`), for the Sessions panel.
    pub relay: RelayJson,
}

/// The relays and their record limit.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RelayJson {
    /// Each relay: where it listens and its upstream.
    pub relays: Vec<RelayEntryJson>,
    /// Bytes kept per session's record.
    pub record_bytes: usize,
    /// Sessions whose records are kept.
    pub max_records: usize,
}

/// One relay.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RelayEntryJson {
    /// Where it listens, as configured (port 0: a free port was taken).
    pub listen: String,
    /// The upstream URL.
    pub upstream: String,
}

/// `/check`'s targets (besides this server's `/echo`) and limits.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CheckJson {
    /// The operator's `--check-target`s.
    pub targets: Vec<String>,
    /// The file names of the operator's `--check-report`s.
    pub reports: Vec<String>,
    /// Bytes each way kept per case.
    pub record_limit: usize,
    /// The client checker (`/clients/…`, "Test this browser") is on.
    pub clients: bool,
}

/// `/inject`'s limits, in bytes.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct InjectLimitsJson {
    /// Most bytes one injection may send.
    pub max_payload_bytes: usize,
    /// Most reply bytes kept per injection.
    pub max_reply_bytes: usize,
}

/// The tap's limits, in bytes.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TapLimitsJson {
    /// Bytes kept per tapped connection; older chunks are dropped.
    pub max_bytes: usize,
}

impl Limits {
    /// The limits of a server configured as `config`.
    pub fn of(config: &ServerConfig) -> Self {
        Limits {
            max_frame_size: config.ws.max_frame_size,
            max_message_size: config.ws.max_message_size,
            inject: InjectLimitsJson {
                max_payload_bytes: config.inject.max_payload_bytes,
                max_reply_bytes: config.inject.max_reply_bytes,
            },
            tap: TapLimitsJson { max_bytes: config.tap.max_bytes },
            deflate: config.deflate.is_some(),
            check: CheckJson {
                targets: config.check.targets.clone(),
                reports: config
                    .check
                    .reports
                    .iter()
                    .map(|p| {
                        p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned())
                    })
                    .collect(),
                record_limit: config.check.record_limit,
                clients: config.check.client_connections > 0,
            },
            relay: RelayJson {
                relays: config
                    .relay
                    .relays
                    .iter()
                    .map(|r| RelayEntryJson { listen: r.listen.to_string(), upstream: r.upstream.clone() })
                    .collect(),
                record_bytes: config.relay.record_bytes,
                max_records: config.relay.max_records,
            },
        }
    }

    /// With each relay's real address (a relay asked for port 0 took a
    /// free one).
    pub fn with_relay_addrs(mut self, addrs: &[std::net::SocketAddr]) -> Self {
        for (entry, addr) in self.relay.relays.iter_mut().zip(addrs) {
            entry.listen = addr.to_string();
        }
        self
    }

    /// As JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn the_json_the_page_reads() {
        let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), "www".into());
        config.ws.max_frame_size = 1000;
        config.deflate = None;
        let v: serde_json::Value = serde_json::from_str(&Limits::of(&config).to_json()).unwrap();
        assert_eq!(v["max_frame_size"], 1000);
        assert_eq!(v["max_message_size"], 64 << 20);
        assert_eq!(v["inject"]["max_payload_bytes"], 1 << 20);
        assert_eq!(v["tap"]["max_bytes"], 1 << 20);
        assert_eq!(v["deflate"], false);
        assert_eq!(v["check"]["targets"], serde_json::json!([]));
        assert_eq!(v["check"]["record_limit"], 256 * 1024);
        assert_eq!(v["check"]["clients"], true);
        assert_eq!(v["relay"]["relays"], serde_json::json!([]));
        assert_eq!(v["relay"]["record_bytes"], 1 << 20);
    }
}
