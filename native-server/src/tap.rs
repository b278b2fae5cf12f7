//! The wire tap: the exact bytes of an opted-in connection, for the page
//! that opened it.
//!
//! A page picks a random token of at least 128 bits (32 or more hex
//! digits), opens `/echo?tap=TOKEN`, and subscribes with a WebSocket to
//! `/tap?token=TOKEN` (before or after; the backlog comes first either way).
//! Only connections that ask are recorded, one connection per token.
//!
//! # Stream format
//!
//! Each **binary** message is one chunk of bytes as it crossed the tapped
//! TCP connection:
//!
//! | bytes | meaning |
//! | --- | --- |
//! | 0 | direction: `0` client → server, `1` server → client |
//! | 1..9 | microseconds since the tapped connection was accepted, u64 big-endian |
//! | 9.. | the bytes, exactly (the HTTP handshake included) |
//!
//! Each **text** message is a JSON object with a `type`:
//! - `{"type":"hello","token_bits":128,"connection":{"peer":"127.0.0.1:5555","target":"/echo?tap=…"}}`
//!   first (`connection` is `null` until the tapped connection arrives; a
//!   later `{"type":"open",…}` then says when it does);
//! - `{"type":"dropped","chunks":N,"record_dropped_chunks":M,"record_dropped_bytes":B}`
//!   just before the first chunk sent after a gap: `N` chunks this subscriber
//!   will never see were dropped to keep the per-connection cap (oldest
//!   first; each chunk counts 64 bytes beyond its data); `M` and `B` count
//!   everything the record dropped so far;
//! - `{"type":"evicted"}` when the whole record was dropped to make room for
//!   newer tapped connections (the subscription then closes with 1001);
//! - `{"type":"end","reason":"…"}` when the tapped connection is over and
//!   everything was sent (the subscription then closes with 1000).

use crate::Shared;
use crate::config::TapLimits;
use crate::ws::{Outcome, Session, WsStream, drive};
use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use tokio::sync::watch;
use wscope_core::CloseCode;
use wscope_core::connection::{Connection, Event, Message};
use wscope_core::handshake::HandshakeError;

/// Which way a chunk went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// From the client to the server.
    ClientToServer = 0,
    /// From the server to the client.
    ServerToClient = 1,
}

/// Writes one chunk as a stream record: `[direction][u64 µs BE][bytes]`,
/// the format of `/tap` and `/inject` alike.
pub(crate) fn encode_record(dir: Dir, micros: u64, data: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(data.len().saturating_add(9));
    out.push(dir as u8);
    out.extend_from_slice(&micros.to_be_bytes());
    out.extend_from_slice(data);
}

/// What a kept chunk costs beyond its bytes, counted against the cap.
pub const CHUNK_OVERHEAD: usize = 64;

/// One chunk as it crossed the connection.
#[derive(Clone, Debug)]
struct Chunk {
    dir: Dir,
    micros: u64,
    data: Bytes,
}

#[derive(Debug, Default)]
struct Log {
    chunks: VecDeque<Chunk>,
    bytes: usize,
    /// Sequence number of `chunks[0]`.
    first_seq: u64,
    dropped_chunks: u64,
    dropped_bytes: u64,
    started: Option<Instant>,
    connection: Option<(SocketAddr, String)>,
    ended: Option<String>,
    evicted: bool,
}

impl Log {
    fn next_seq(&self) -> u64 {
        self.first_seq.saturating_add(self.chunks.len() as u64)
    }
}

/// The record of one tapped connection.
#[derive(Debug)]
pub struct Tap {
    token: String,
    max_bytes: usize,
    log: Mutex<Log>,
    /// Bumped on every change; subscribers wait on it (a watch cannot miss
    /// a change that happens between a check and the wait).
    changed: watch::Sender<u64>,
}

impl Tap {
    fn lock(&self) -> MutexGuard<'_, Log> {
        // A panic while holding the lock cannot leave the log inconsistent
        // in a way that matters to a viewer: keep serving.
        self.log.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The tapped connection was accepted at `at`: times count from there.
    pub(crate) fn start(&self, at: Instant) {
        self.lock().started = Some(at);
        self.bump();
    }

    /// Records a chunk, dropping the oldest ones past the cap. Each chunk
    /// counts [`CHUNK_OVERHEAD`] bytes more than its data, so a peer sending
    /// one byte at a time cannot make the cap cost far more than it says.
    pub(crate) fn record(&self, dir: Dir, data: &[u8]) {
        {
            let mut log = self.lock();
            if log.evicted {
                return;
            }
            let micros = log.started.map_or(0, |s| s.elapsed().as_micros().try_into().unwrap_or(u64::MAX));
            if data.len() > self.max_bytes {
                log.dropped_chunks = log.dropped_chunks.saturating_add(1);
                log.dropped_bytes = log.dropped_bytes.saturating_add(data.len() as u64);
                // Keep sequence numbers moving so subscribers see the gap.
                log.chunks.push_back(Chunk { dir, micros, data: Bytes::new() });
            } else {
                log.chunks.push_back(Chunk { dir, micros, data: Bytes::copy_from_slice(data) });
                log.bytes = log.bytes.saturating_add(data.len()).saturating_add(CHUNK_OVERHEAD);
            }
            while log.bytes > self.max_bytes {
                let Some(old) = log.chunks.pop_front() else { break };
                log.first_seq = log.first_seq.saturating_add(1);
                log.bytes = log.bytes.saturating_sub(old.data.len().saturating_add(CHUNK_OVERHEAD));
                log.dropped_chunks = log.dropped_chunks.saturating_add(1);
                log.dropped_bytes = log.dropped_bytes.saturating_add(old.data.len() as u64);
            }
        }
        self.bump();
    }

    fn bump(&self) {
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// The tapped connection is over.
    pub(crate) fn end(&self, reason: &str) {
        self.lock().ended.get_or_insert_with(|| reason.to_string());
        self.bump();
    }

    fn evict(&self) {
        self.lock().evicted = true;
        self.bump();
    }
}

#[derive(Debug, Default)]
struct Hub {
    taps: HashMap<String, Arc<Tap>>,
    /// Tokens oldest first, for eviction.
    order: VecDeque<String>,
}

/// All tapped connections.
#[derive(Debug)]
pub struct TapHub {
    limits: TapLimits,
    hub: Mutex<Hub>,
}

/// Fewest hex digits in a token: 32 digits are 128 bits.
pub const MIN_TOKEN_HEX_DIGITS: usize = 32;
/// Most hex digits in a token.
pub const MAX_TOKEN_HEX_DIGITS: usize = 128;

fn check_token(token: &str) -> Result<(), HandshakeError> {
    let ok = (MIN_TOKEN_HEX_DIGITS..=MAX_TOKEN_HEX_DIGITS).contains(&token.len())
        && token.bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(())
    } else {
        Err(HandshakeError::Refused {
            status: 400,
            message: format!(
                "a tap token is {MIN_TOKEN_HEX_DIGITS} to {MAX_TOKEN_HEX_DIGITS} hex digits (at least 128 random bits)"
            ),
        })
    }
}

impl TapHub {
    pub(crate) fn new(limits: TapLimits) -> Self {
        TapHub { limits, hub: Mutex::new(Hub::default()) }
    }

    fn lock(&self) -> MutexGuard<'_, Hub> {
        self.hub.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The tap for `token`, made if new; the oldest goes past the cap.
    fn get_or_create(&self, token: &str) -> Arc<Tap> {
        let token = token.to_ascii_lowercase();
        let mut hub = self.lock();
        if let Some(tap) = hub.taps.get(&token) {
            return Arc::clone(tap);
        }
        while hub.taps.len() >= self.limits.max_taps.max(1) {
            // Make room with the oldest record whose connection is not live
            // (never arrived, or over) before touching a live one, so idle
            // subscriptions cannot push out connections being watched.
            let idle = hub.order.iter().position(|t| {
                hub.taps.get(t).is_none_or(|tap| {
                    let log = tap.lock();
                    log.connection.is_none() || log.ended.is_some()
                })
            });
            let Some(old) = hub.order.remove(idle.unwrap_or(0)) else { break };
            if let Some(tap) = hub.taps.remove(&old) {
                tap.evict();
            }
        }
        let tap = Arc::new(Tap {
            token: token.clone(),
            max_bytes: self.limits.max_bytes,
            log: Mutex::new(Log::default()),
            changed: watch::Sender::new(0),
        });
        hub.order.push_back(token.clone());
        hub.taps.insert(token, Arc::clone(&tap));
        tap
    }

    /// Binds a new connection to `token`'s tap; a token serves one
    /// connection only.
    pub(crate) fn attach(&self, token: &str, peer: SocketAddr, target: &str) -> Result<Arc<Tap>, HandshakeError> {
        check_token(token)?;
        let tap = self.get_or_create(token);
        {
            let mut log = tap.lock();
            if log.connection.is_some() {
                return Err(HandshakeError::Refused {
                    status: 409,
                    message: "this tap token is already used by another connection; pick a new one".into(),
                });
            }
            log.connection = Some((peer, target.to_string()));
        }
        tap.bump();
        Ok(tap)
    }

    /// The tap a subscriber asks for (made if its connection is not there yet).
    pub(crate) fn subscribe(&self, token: &str) -> Result<Arc<Tap>, HandshakeError> {
        check_token(token)?;
        Ok(self.get_or_create(token))
    }

    /// How many connections are recorded now.
    pub fn len(&self) -> usize {
        self.lock().taps.len()
    }

    /// Whether no connection is recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A `/tap` subscription: sends the record, then follows it.
struct Subscriber {
    tap: Arc<Tap>,
    changes: watch::Receiver<u64>,
    /// Next chunk to send.
    cursor: u64,
    told_open: bool,
    done: bool,
}

fn json(value: &serde_json::Value) -> String {
    value.to_string()
}

impl Subscriber {
    fn connection_json(log: &Log) -> serde_json::Value {
        match &log.connection {
            Some((peer, target)) => serde_json::json!({ "peer": peer.to_string(), "target": target }),
            None => serde_json::Value::Null,
        }
    }

    /// Queues everything new in the record.
    fn catch_up(&mut self, conn: &mut Connection) {
        self.changes.mark_unchanged();
        if self.done {
            return;
        }
        let (chunks, notes, end) = {
            let log = self.tap.lock();
            let mut notes = Vec::new();
            if !self.told_open && log.connection.is_some() {
                notes.push(json(&serde_json::json!({ "type": "open", "connection": Self::connection_json(&log) })));
                self.told_open = true;
            }
            // Only what this subscriber missed: chunks dropped before it
            // could be sent them.
            if self.cursor < log.first_seq {
                notes.push(json(&serde_json::json!({
                    "type": "dropped",
                    "chunks": log.first_seq.saturating_sub(self.cursor),
                    "record_dropped_chunks": log.dropped_chunks,
                    "record_dropped_bytes": log.dropped_bytes,
                })));
            }
            self.cursor = self.cursor.max(log.first_seq);
            let skip = usize::try_from(self.cursor.saturating_sub(log.first_seq)).unwrap_or(usize::MAX);
            let chunks: Vec<Chunk> = log.chunks.iter().skip(skip).cloned().collect();
            self.cursor = log.next_seq();
            let end = if log.evicted {
                Some((CloseCode::GOING_AWAY, json(&serde_json::json!({ "type": "evicted" }))))
            } else {
                log.ended
                    .as_ref()
                    .map(|r| (CloseCode::NORMAL, json(&serde_json::json!({ "type": "end", "reason": r }))))
            };
            (chunks, notes, end)
        };
        for note in &notes {
            let _ = conn.send(Message::Text(note));
        }
        let mut message = Vec::new();
        for chunk in chunks.iter().filter(|c| !c.data.is_empty()) {
            encode_record(chunk.dir, chunk.micros, &chunk.data, &mut message);
            let _ = conn.send(Message::Binary(&message));
        }
        if let Some((code, note)) = end {
            let _ = conn.send(Message::Text(&note));
            let _ = conn.send(Message::Close(Some(code), "tap finished"));
            self.done = true;
        }
    }
}

impl Session for Subscriber {
    type Ready = ();

    fn on_event(&mut self, _conn: &mut Connection, _event: Event) {}

    async fn ready(&mut self) {
        if self.changes.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    fn on_ready(&mut self, conn: &mut Connection, (): ()) {
        self.catch_up(conn);
    }
}

pub(crate) async fn serve_subscriber(ws: WsStream, tap: Arc<Tap>, shared: &Shared) -> Outcome {
    let changes = tap.changed.subscribe();
    let mut sub = Subscriber { tap, changes, cursor: 0, told_open: false, done: false };
    let hello = {
        let log = sub.tap.lock();
        sub.told_open = log.connection.is_some();
        serde_json::json!({
            "type": "hello",
            "token_bits": sub.tap.token.len().saturating_mul(4),
            "connection": Subscriber::connection_json(&log),
        })
    };
    let mut ws = ws;
    let _ = ws.conn.send(Message::Text(&json(&hello)));
    sub.catch_up(&mut ws.conn);
    drive(ws, shared, &mut sub).await
}
