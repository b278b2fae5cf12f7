//! `--relay-log FILE`: every relayed session as JSON lines, written as the
//! traffic goes. Each line is one object with a `type`:
//!
//! | `type` | when | fields besides `session`, `time` (RFC 3339, UTC, µs) |
//! | --- | --- | --- |
//! | `open` | a client connected and its request head was read | `relay`, `upstream`, `peer`, `target` |
//! | `head` | a side's HTTP head is complete | `t_us`, `from`, `status` (the server's), `head` (its text) |
//! | `deflate` | the 101 agreed permessage-deflate | `t_us`, `params`, or `error` when its header cannot be read |
//! | `message` | a data message's last frame arrived | `t_us`, `from`, `index`, `kind` (`text`/`binary`), `len` (inflated), `wire_len`, `compressed`, `frames`, `complete`, `kept`, and `text` or `base64` (the first `--relay-log-payload` bytes) |
//! | `control` | a ping, pong or close arrived | `t_us`, `from`, `frame`, `opcode`, `len`, `code` and `reason` (a close), `rtt_us` (a pong that answers the other side's latest ping: microseconds since it), `text` or `base64` |
//! | `violation` | a frame breaks a rule | `t_us`, `from`, `frame`, `offset` (in that side's frames), `opcode`, `rule` (in words), `close_code`, `rfc`, `section` |
//! | `raw` | bytes that are no frames (after a refusal, or not HTTP at all) | `t_us`, `from`, `len` |
//! | `end` | the session is over | `reason`, `summary` (as `/relay/sessions` lists it) |
//!
//! `t_us` counts microseconds from the session's start (the record's
//! clock); `from` is `client` or `server`. Lines go through a queue of
//! [`QUEUE`] lines to one writer task: a slow disk slows the relay rather
//! than growing memory.

use super::hub::{DeflateJson, Summary};
use serde::Serialize;
use std::path::Path;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tracing::warn;

/// Lines waiting for the writer at most.
pub(crate) const QUEUE: usize = 64;

/// The payload of a message or control frame, as far as it was kept.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Payload {
    /// Valid UTF-8 text.
    Text(String),
    /// Anything else.
    Base64(String),
}

/// One line of the log (see the module documentation).
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Line {
    Open {
        session: u64,
        time: String,
        relay: String,
        upstream: String,
        peer: String,
        target: String,
    },
    Head {
        session: u64,
        time: String,
        t_us: u64,
        from: &'static str,
        status: Option<u16>,
        head: String,
    },
    Deflate {
        session: u64,
        time: String,
        t_us: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        params: Option<DeflateJson>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    Message {
        session: u64,
        time: String,
        t_us: u64,
        from: &'static str,
        index: usize,
        kind: &'static str,
        len: u64,
        wire_len: u64,
        compressed: bool,
        frames: usize,
        complete: bool,
        kept: usize,
        #[serde(flatten)]
        payload: Payload,
    },
    Control {
        session: u64,
        time: String,
        t_us: u64,
        from: &'static str,
        frame: usize,
        opcode: &'static str,
        len: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        code: Option<u16>,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// A pong that answers the other side's ping: microseconds since it.
        #[serde(skip_serializing_if = "Option::is_none")]
        rtt_us: Option<u64>,
        #[serde(flatten)]
        payload: Payload,
    },
    Violation {
        session: u64,
        time: String,
        t_us: u64,
        from: &'static str,
        frame: usize,
        offset: u64,
        opcode: &'static str,
        rule: String,
        close_code: u16,
        rfc: u16,
        section: &'static str,
    },
    Raw {
        session: u64,
        time: String,
        t_us: u64,
        from: &'static str,
        len: usize,
    },
    End {
        session: u64,
        time: String,
        reason: String,
        summary: Summary,
    },
}

/// Where lines go: a bounded queue to the writer task.
#[derive(Clone, Debug)]
pub(crate) struct RelayLog {
    lines: mpsc::Sender<String>,
}

impl RelayLog {
    /// Creates (or truncates) `path` and starts its writer on the current
    /// runtime. The writer ends when every sender is gone.
    /// The writer runs on `tracker`, so shutdown waits for the last lines.
    pub(crate) async fn open(path: &Path, tracker: &tokio_util::task::TaskTracker) -> std::io::Result<RelayLog> {
        let file = tokio::fs::File::create(path).await?;
        let (tx, mut rx) = mpsc::channel::<String>(QUEUE);
        let shown = path.display().to_string();
        tracker.spawn(async move {
            let mut out = tokio::io::BufWriter::new(file);
            let mut failed = false;
            while let Some(line) = rx.recv().await {
                if failed {
                    continue;
                }
                let mut r = out.write_all(line.as_bytes()).await;
                if r.is_ok() && rx.is_empty() {
                    r = out.flush().await;
                }
                if let Err(e) = r {
                    // Keep draining so the relay is never stuck on the log.
                    warn!(file = %shown, error = %e, "relay log: cannot write; no more lines are written");
                    failed = true;
                }
            }
            let _ = out.flush().await;
        });
        Ok(RelayLog { lines: tx })
    }

    /// Queues lines, waiting while the queue is full.
    pub(crate) async fn write(&self, lines: Vec<Line>) {
        for line in lines {
            let Ok(mut text) = serde_json::to_string(&line) else { continue };
            text.push('\n');
            if self.lines.send(text).await.is_err() {
                return;
            }
        }
    }
}
