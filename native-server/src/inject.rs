//! `/inject`: raw bytes from the page, written unchanged to the server's own
//! `/echo` on a fresh TCP connection, and the answer streamed back.
//!
//! Each **binary** message the page sends is one injection: the server
//! connects to itself (never anywhere else), performs a normal client
//! handshake, writes the bytes, and reports everything that crosses that
//! connection until the echo endpoint closes it or the time limit ends it.
//! Injections of one session run one after another (a few may wait).
//!
//! What the page receives uses the wire tap's format: binary records
//! `[direction][u64 µs since connect][bytes]` (see [`crate::tap`]),
//! direction `0` for bytes sent to `/echo` and `1` for bytes it sent back,
//! and JSON text notes (`start`, `handshake`, `end`, `error`: every note and
//! field is described at [`crate::notes::InjectNote`]).
//!
//! `/inject?deflate=on` offers permessage-deflate in the injected
//! handshakes, so compressed (RSV1) frames can be injected; the agreement is
//! in the handshake bytes reported.

use crate::notes::{self, ClosedBy, InjectNote};
use crate::shared::Shared;
use crate::tap::{Dir, encode_record};
use crate::ws::{Outcome, Session, WsStream, drive};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use wscope_core::Decoded;
use wscope_core::connection::{Connection, Event, Message};
use wscope_core::handshake::ClientHandshake;

/// Injections a session may have waiting behind the running one.
const MAX_QUEUED: usize = 4;

/// What a running injection reports.
#[derive(Debug)]
enum Report {
    Chunk(Dir, u64, Vec<u8>),
    Note(InjectNote),
    Done,
}

struct Injector {
    shared: Arc<Shared>,
    queue: VecDeque<Vec<u8>>,
    running: Option<mpsc::Receiver<Report>>,
    next_id: u64,
    /// Offer permessage-deflate in the injected handshakes.
    deflate: bool,
}

impl Injector {
    fn start_next(&mut self) {
        if self.running.is_some() {
            return;
        }
        let Some(payload) = self.queue.pop_front() else { return };
        let (tx, rx) = mpsc::channel(64);
        self.next_id = self.next_id.saturating_add(1);
        tokio::spawn(run(self.next_id, payload, Arc::clone(&self.shared), self.deflate, tx));
        self.running = Some(rx);
    }
}

fn refuse(conn: &mut Connection, message: String) {
    notes::send(conn, &InjectNote::Error { message });
}

impl Session for Injector {
    type Ready = Option<Report>;

    fn on_event(&mut self, conn: &mut Connection, event: Event) {
        match event {
            Event::Binary(bytes) => {
                let max = self.shared.config.inject.max_payload_bytes;
                if bytes.len() > max {
                    refuse(conn, format!("{} bytes is more than the {max} an injection may send", bytes.len()));
                } else if self.queue.len() >= MAX_QUEUED {
                    refuse(conn, "too many injections waiting; wait for one to end".into());
                } else {
                    self.queue.push_back(bytes);
                    self.start_next();
                }
            }
            Event::Text(_) => refuse(conn, "send the raw bytes to inject as a binary message".into()),
            _ => {}
        }
    }

    async fn ready(&mut self) -> Option<Report> {
        match &mut self.running {
            Some(rx) => rx.recv().await,
            None => std::future::pending().await,
        }
    }

    fn on_ready(&mut self, conn: &mut Connection, report: Option<Report>) {
        match report {
            Some(Report::Chunk(dir, micros, data)) => {
                let mut message = Vec::new();
                encode_record(dir, micros, &data, &mut message);
                let _ = conn.send(Message::Binary(&message));
            }
            Some(Report::Note(note)) => notes::send(conn, &note),
            Some(Report::Done) | None => {
                self.running = None;
                self.start_next();
            }
        }
    }
}

pub(crate) async fn serve(ws: WsStream, shared: &Arc<Shared>, deflate: bool) -> Outcome {
    let mut injector =
        Injector { shared: Arc::clone(shared), queue: VecDeque::new(), running: None, next_id: 0, deflate };
    drive(ws, shared, &mut injector).await
}

/// One injection, start to end; always ends with [`Report::Done`].
async fn run(id: u64, payload: Vec<u8>, shared: Arc<Shared>, deflate: bool, tx: mpsc::Sender<Report>) {
    let limits = shared.config.inject;
    let target = shared.self_addr;
    let started = Instant::now();
    let permit = match Arc::clone(&shared.inject_permits).try_acquire_owned() {
        Ok(p) => p,
        Err(_) => {
            let message = format!("the server runs at most {} injections at once; try again", limits.max_concurrent);
            let _ = tx.send(Report::Note(InjectNote::Error { message })).await;
            let _ = tx.send(Report::Done).await;
            return;
        }
    };
    let start = InjectNote::Start {
        id,
        target: format!("ws://{target}/echo"),
        bytes: u64::try_from(payload.len()).unwrap_or(u64::MAX),
    };
    let _ = tx.send(Report::Note(start)).await;
    let (closed_by, how) =
        match tokio::time::timeout(limits.timeout, exchange(id, &payload, &shared, deflate, &tx, started)).await {
            Ok(end) => end,
            Err(_) => (ClosedBy::Wscope, format!("its time limit of {} ms was reached", limits.timeout.as_millis())),
        };
    // The injected connection is gone: free its slot before reporting, so
    // a page that stops reading cannot hold it.
    drop(permit);
    let end = InjectNote::End {
        id,
        closed_by,
        how,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    // Bounded: a page that stopped reading loses its last notes, nothing more.
    let _ = tokio::time::timeout(limits.timeout, async {
        let _ = tx.send(Report::Note(end)).await;
        let _ = tx.send(Report::Done).await;
    })
    .await;
}

fn micros(since: Instant) -> u64 {
    since.elapsed().as_micros().try_into().unwrap_or(u64::MAX)
}

/// Connects to our own `/echo`, shakes hands, writes `payload`, and reports
/// until the connection ends. Returns who closed it and how.
async fn exchange(
    id: u64,
    payload: &[u8],
    shared: &Shared,
    deflate: bool,
    tx: &mpsc::Sender<Report>,
    started: Instant,
) -> (ClosedBy, String) {
    let target = shared.self_addr;
    let mut stream = match TcpStream::connect(target).await {
        Ok(s) => s,
        Err(e) => return (ClosedBy::Wscope, format!("could not connect to {target}: {e}")),
    };
    let _ = stream.set_nodelay(true);
    let mut nonce = [0u8; 16];
    if getrandom::fill(&mut nonce).is_err() {
        return (ClosedBy::Wscope, "no randomness for the handshake key".into());
    }
    let mut handshake = ClientHandshake::new(&target.to_string(), "/echo", nonce);
    // With --allow-origin, the server's own connection must pass it too.
    handshake.origin = shared.config.allow_origins.first().cloned();
    if deflate {
        handshake.extensions = Some(wscope_core::deflate::NAME.to_owned());
    }
    let request = match handshake.request() {
        Ok(r) => r,
        Err(e) => return (ClosedBy::Wscope, format!("could not build the handshake: {e}")),
    };
    if let Err(e) = stream.write_all(&request).await {
        return (ClosedBy::Wscope, format!("could not send the handshake: {e}"));
    }
    let _ = tx.send(Report::Chunk(Dir::ClientToServer, micros(started), request)).await;

    let limits = shared.config.handshake;
    let mut head = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) => return (ClosedBy::Server, "closed the connection during the handshake".into()),
            Ok(n) => n,
            Err(e) => return (ClosedBy::Server, format!("connection failed during the handshake: {e}")),
        };
        let chunk = buf.get(..n).unwrap_or_default().to_vec();
        head.extend_from_slice(&chunk);
        let _ = tx.send(Report::Chunk(Dir::ServerToClient, micros(started), chunk)).await;
        match handshake.check_response(&head, &limits) {
            Ok(Decoded::Incomplete { .. }) => continue,
            Ok(Decoded::Complete { .. }) => break,
            Err(e) => {
                let note = InjectNote::Handshake { id, ok: false, error: Some(e.to_string()) };
                let _ = tx.send(Report::Note(note)).await;
                return (ClosedBy::Wscope, "handshake refused; nothing injected".into());
            }
        }
    }
    let _ = tx.send(Report::Note(InjectNote::Handshake { id, ok: true, error: None })).await;

    if let Err(e) = stream.write_all(payload).await {
        return (ClosedBy::Server, format!("could not write the bytes: {e}"));
    }
    let _ = tx.send(Report::Chunk(Dir::ClientToServer, micros(started), payload.to_vec())).await;

    let mut budget = shared.config.inject.max_reply_bytes;
    loop {
        match stream.read(&mut buf).await {
            Ok(0) => return (ClosedBy::Server, "the server closed the TCP connection".into()),
            Ok(n) => {
                let n = n.min(budget);
                let _ = tx
                    .send(Report::Chunk(
                        Dir::ServerToClient,
                        micros(started),
                        buf.get(..n).unwrap_or_default().to_vec(),
                    ))
                    .await;
                budget = budget.saturating_sub(n);
                if budget == 0 {
                    return (ClosedBy::Wscope, "the reply limit was reached".into());
                }
            }
            Err(e) => return (ClosedBy::Server, format!("the connection failed: {e}")),
        }
    }
}
