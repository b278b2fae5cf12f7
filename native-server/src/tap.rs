//! The wire tap's recorder: the exact bytes of an opted-in connection, kept
//! per token for the page that opened it (`tap_stream` serves them).
//!
//! A page picks a random token of at least 128 bits (32 or more hex
//! digits), opens `/echo?tap=TOKEN`, and subscribes with a WebSocket to
//! `/tap?token=TOKEN` (before or after; the backlog comes first either way).
//! Only connections that ask are recorded, one connection per token.
//!
//! # Record format
//!
//! Each chunk is sent to a reader (of `/tap`, and of `/inject`, which uses
//! the same format) as one **binary** message:
//!
//! | bytes | meaning |
//! | --- | --- |
//! | 0 | direction: `0` client → server, `1` server → client |
//! | 1..9 | microseconds since the tapped connection was accepted, u64 big-endian |
//! | 9.. | the bytes, exactly (the HTTP handshake included) |

use crate::config::TapLimits;
use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use tokio::sync::watch;
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
pub(crate) struct Chunk {
    dir: Dir,
    micros: u64,
    data: Bytes,
}

impl Chunk {
    /// Which way it went.
    pub(crate) fn dir(&self) -> Dir {
        self.dir
    }

    /// Microseconds since the connection was accepted.
    pub(crate) fn micros(&self) -> u64 {
        self.micros
    }

    /// Its bytes.
    pub(crate) fn data(&self) -> &[u8] {
        &self.data
    }

    /// The chunk as a stream record (see [`encode_record`]).
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        encode_record(self.dir, self.micros, &self.data, out);
    }
}

/// Why a record has nothing more to give.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    /// Dropped to make room for newer tapped connections.
    Evicted,
    /// The tapped connection is over, for this reason.
    Ended(String),
}

/// What a reader at some position of the record has not been sent yet,
/// taken under one lock so the parts agree.
#[derive(Debug)]
pub(crate) struct Unread {
    /// The tapped connection (peer, request target), once it arrived.
    pub(crate) connection: Option<(SocketAddr, String)>,
    /// Chunks dropped from the record before this reader was sent them
    /// (0: no gap).
    pub(crate) missed: u64,
    /// Chunks the record dropped in all so far.
    pub(crate) record_dropped_chunks: u64,
    /// Data bytes the record dropped in all so far.
    pub(crate) record_dropped_bytes: u64,
    /// The chunks kept after the gap, oldest first (a chunk larger than the
    /// cap holds only its place in the numbering and is left out).
    pub(crate) chunks: Vec<Chunk>,
    /// The reader's position after these chunks.
    pub(crate) next: u64,
    /// Set once nothing more will come.
    pub(crate) ending: Option<Ending>,
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
    /// Returns the chunk's time (microseconds since [`Tap::start`]).
    pub(crate) fn record(&self, dir: Dir, data: &[u8]) -> u64 {
        let micros;
        {
            let mut log = self.lock();
            micros = log.started.map_or(0, |s| s.elapsed().as_micros().try_into().unwrap_or(u64::MAX));
            if log.evicted {
                return micros;
            }
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
        micros
    }

    fn bump(&self) {
        // Nobody subscribed: nobody to wake (a subscriber reads the log
        // after it subscribes, so it misses nothing).
        if self.changed.receiver_count() == 0 {
            return;
        }
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// The tapped connection is over.
    pub(crate) fn end(&self, reason: &str) {
        self.lock().ended.get_or_insert_with(|| reason.to_string());
        self.bump();
    }

    /// A record that no token names: a relayed connection's, whose
    /// subscribers find it by session (`crate::relay`).
    pub(crate) fn detached(peer: SocketAddr, target: &str, max_bytes: usize) -> Arc<Tap> {
        let log = Log { connection: Some((peer, target.to_string())), ..Log::default() };
        Arc::new(Tap { token: String::new(), max_bytes, log: Mutex::new(log), changed: watch::Sender::new(0) })
    }

    /// Whether the record was dropped for newer ones.
    pub(crate) fn evicted(&self) -> bool {
        self.lock().evicted
    }

    /// Drops the record (its subscribers are told).
    pub(crate) fn evict(&self) {
        {
            let mut log = self.lock();
            log.evicted = true;
            // A connection still running keeps its record object: free the
            // bytes now.
            log.chunks = VecDeque::new();
            log.bytes = 0;
        }
        self.bump();
    }

    /// Bits of randomness in the token (4 per hex digit).
    pub(crate) fn token_bits(&self) -> u32 {
        u32::try_from(self.token.len()).unwrap_or(u32::MAX).saturating_mul(4)
    }

    /// The tapped connection (peer, request target), once it arrived.
    pub(crate) fn connection(&self) -> Option<(SocketAddr, String)> {
        self.lock().connection.clone()
    }

    /// A receiver that wakes on every change of the record.
    pub(crate) fn changes(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Everything a reader whose next chunk is number `cursor` has not been
    /// sent yet (the first chunk ever recorded is number 0).
    pub(crate) fn read_from(&self, cursor: u64) -> Unread {
        let log = self.lock();
        // Only what this reader missed: chunks dropped before it could be
        // sent them.
        let missed = log.first_seq.saturating_sub(cursor);
        let cursor = cursor.max(log.first_seq);
        let skip = usize::try_from(cursor.saturating_sub(log.first_seq)).unwrap_or(usize::MAX);
        let chunks = log.chunks.iter().skip(skip).filter(|c| !c.data.is_empty()).cloned().collect();
        let ending = if log.evicted { Some(Ending::Evicted) } else { log.ended.clone().map(Ending::Ended) };
        Unread {
            connection: log.connection.clone(),
            missed,
            record_dropped_chunks: log.dropped_chunks,
            record_dropped_bytes: log.dropped_bytes,
            chunks,
            next: log.next_seq(),
            ending,
        }
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
