//! The relayed sessions the server remembers: each one's summary (state,
//! counts each way, the agreed extension, how it ended) and its record
//! (the exact bytes, a [`Tap`] that the Sessions panel subscribes to).
//!
//! At most `--relay-max-records` are kept; past it the oldest record goes,
//! an ended session's before a live one's (a live session whose record
//! goes keeps being relayed, counted and logged, with `evicted` set).

use crate::tap::Tap;
use serde::Serialize;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;
use tokio::sync::watch;

/// Where a relayed session is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Reaching the upstream.
    #[default]
    Connecting,
    /// The request went on; the upstream's answer has not come.
    Requested,
    /// The upstream answered 101: frames flow.
    Open,
    /// The upstream answered something else (passed on as it was).
    Refused,
    /// Over.
    Closed,
}

/// What one direction carried.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Bytes, the HTTP head included.
    pub bytes: u64,
    /// Frames whose last byte arrived.
    pub frames: u64,
    /// Data messages completed.
    pub messages: u64,
    /// Control frames (ping, pong, close).
    pub control: u64,
    /// Rule breaks found in its frames.
    pub violations: u64,
}

/// The first close frame seen, either way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CloseSeen {
    /// `client` or `server`.
    pub from: &'static str,
    /// The code, if the frame had one.
    pub code: Option<u16>,
    /// The reason, if any.
    pub reason: String,
}

/// The permessage-deflate parameters the upstream's 101 agreed to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DeflateJson {
    /// The server starts each compressed message with an empty window.
    pub server_no_context_takeover: bool,
    /// The client does.
    pub client_no_context_takeover: bool,
    /// The server's window, as bits.
    pub server_max_window_bits: u8,
    /// The client's window, as bits.
    pub client_max_window_bits: u8,
}

/// A session's summary, as the Sessions panel lists it and the log's
/// `end` line carries it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Where the session is.
    pub state: State,
    /// The upstream's status code, once it answered.
    pub status: Option<u16>,
    /// permessage-deflate as agreed (`null`: not used).
    pub deflate: Option<DeflateJson>,
    /// Client to server.
    pub client: Counts,
    /// Server to client.
    pub server: Counts,
    /// The first close frame.
    pub close: Option<CloseSeen>,
    /// How it ended, in words (`null` while live).
    pub ended: Option<String>,
    /// Its length in milliseconds, once over.
    pub duration_ms: Option<u64>,
}

/// One relayed connection.
#[derive(Debug)]
pub struct RelaySession {
    /// Numbered from 1 in the order they arrived.
    pub id: u64,
    /// The relay's listening address.
    pub relay: SocketAddr,
    /// The upstream URL the operator named.
    pub upstream: String,
    /// The client's address.
    pub peer: SocketAddr,
    /// The request target the client asked for.
    pub target: String,
    /// When it was accepted.
    pub started: SystemTime,
    /// The exact bytes both ways.
    pub(crate) tap: Arc<Tap>,
    summary: Mutex<Summary>,
    /// The hub's generation at its last change.
    changed_at: AtomicU64,
    /// Intercepting: the upstream leg's bytes (the record above is the
    /// client's leg).
    pub(crate) upstream_tap: std::sync::OnceLock<Arc<Tap>>,
    /// Intercepting: the page's way in.
    pub(crate) control: std::sync::OnceLock<crate::relay::intercept::Control>,
}

/// A session as `/relay/sessions` lists it.
#[derive(Clone, Debug, Serialize)]
pub struct SessionJson {
    /// See [`RelaySession`].
    pub id: u64,
    /// The relay's listening address.
    pub relay: String,
    /// The upstream URL.
    pub upstream: String,
    /// The client's address.
    pub peer: String,
    /// The request target.
    pub target: String,
    /// RFC 3339, UTC, milliseconds.
    pub started: String,
    /// Its record was dropped for newer ones.
    pub evicted: bool,
    /// Intercepted (`--relay-mode intercept`): the page may hold, edit,
    /// drop and inject at `/relay/intercept?session=ID`.
    pub intercepted: bool,
    /// The rest.
    #[serde(flatten)]
    pub summary: Summary,
}

impl RelaySession {
    fn lock(&self) -> MutexGuard<'_, Summary> {
        self.summary.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Changes the summary.
    pub(crate) fn update<T>(&self, f: impl FnOnce(&mut Summary) -> T) -> T {
        f(&mut self.lock())
    }

    /// A copy of the summary.
    pub fn summary(&self) -> Summary {
        self.lock().clone()
    }

    /// The session as listed.
    pub fn json(&self) -> SessionJson {
        SessionJson {
            id: self.id,
            relay: self.relay.to_string(),
            upstream: self.upstream.clone(),
            peer: self.peer.to_string(),
            target: self.target.clone(),
            started: humantime::format_rfc3339_millis(self.started).to_string(),
            evicted: self.tap.evicted(),
            intercepted: self.upstream_tap.get().is_some(),
            summary: self.summary(),
        }
    }
}

#[derive(Debug, Default)]
struct Sessions {
    next_id: u64,
    /// Oldest first.
    kept: VecDeque<Arc<RelaySession>>,
}

/// What changed since a watcher last looked.
#[derive(Debug)]
pub struct Changes {
    /// The generation these changes bring the watcher to.
    pub generation: u64,
    /// Every kept session's id, oldest first (one no longer listed was
    /// dropped for newer ones).
    pub ids: Vec<u64>,
    /// The sessions that changed, as they are now.
    pub changed: Vec<SessionJson>,
}

/// Every relayed session remembered.
#[derive(Debug)]
pub struct RelayHub {
    max_records: usize,
    record_bytes: usize,
    sessions: Mutex<Sessions>,
    /// Counts changes; each session remembers the count at its last one
    /// (set under this lock, so a watcher reading the count never misses a
    /// change that took a number below it).
    generation: Mutex<u64>,
    /// Bumped on every change of any session; the Sessions panel's list
    /// waits on it.
    changed: watch::Sender<u64>,
}

impl RelayHub {
    pub(crate) fn new(max_records: usize, record_bytes: usize) -> Self {
        RelayHub {
            max_records: max_records.max(1),
            record_bytes,
            sessions: Mutex::new(Sessions::default()),
            generation: Mutex::new(0),
            changed: watch::Sender::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Sessions> {
        self.sessions.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A new session, kept in place of the oldest record past the cap.
    pub(crate) fn open(&self, relay: SocketAddr, upstream: &str, peer: SocketAddr, target: &str) -> Arc<RelaySession> {
        let session = {
            let mut sessions = self.lock();
            sessions.next_id = sessions.next_id.saturating_add(1);
            while sessions.kept.len() >= self.max_records {
                let over = sessions.kept.iter().position(|s| s.lock().ended.is_some());
                let Some(old) = sessions.kept.remove(over.unwrap_or(0)) else { break };
                old.tap.evict();
                if let Some(up) = old.upstream_tap.get() {
                    up.evict();
                }
            }
            let session = Arc::new(RelaySession {
                id: sessions.next_id,
                relay,
                upstream: upstream.to_string(),
                peer,
                target: target.to_string(),
                started: SystemTime::now(),
                tap: Tap::detached(peer, target, self.record_bytes),
                summary: Mutex::new(Summary::default()),
                changed_at: AtomicU64::new(0),
                upstream_tap: std::sync::OnceLock::new(),
                control: std::sync::OnceLock::new(),
            });
            sessions.kept.push_back(Arc::clone(&session));
            session
        };
        self.touch(&session);
        session
    }

    /// `session` changed.
    pub(crate) fn touch(&self, session: &RelaySession) {
        {
            let mut generation = self.generation.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            *generation = generation.wrapping_add(1);
            session.changed_at.store(*generation, Ordering::Relaxed);
        }
        // No list open: nobody to wake (a watcher reads after subscribing).
        if self.changed.receiver_count() > 0 {
            self.changed.send_modify(|v| *v = v.wrapping_add(1));
        }
    }

    /// What changed after generation `seen` (0: everything).
    pub fn changes_since(&self, seen: u64) -> Changes {
        // Both read under the generation's lock: a session opened or changed
        // later has a larger number, so the next call sends it.
        let (generation, kept): (u64, Vec<_>) = {
            let generation = self.generation.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            (*generation, self.lock().kept.iter().cloned().collect())
        };
        Changes {
            generation,
            ids: kept.iter().map(|s| s.id).collect(),
            changed: kept.iter().filter(|s| s.changed_at.load(Ordering::Relaxed) > seen).map(|s| s.json()).collect(),
        }
    }

    /// A receiver that wakes on every change.
    pub(crate) fn changes(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// The kept sessions, oldest first.
    pub fn list(&self) -> Vec<SessionJson> {
        let kept: Vec<_> = self.lock().kept.iter().cloned().collect();
        kept.iter().map(|s| s.json()).collect()
    }

    /// A kept session by id.
    pub fn get(&self, id: u64) -> Option<Arc<RelaySession>> {
        self.lock().kept.iter().find(|s| s.id == id).cloned()
    }
}
