//! `/inject`: raw bytes from the page, written unchanged to the server's own
//! `/echo` on a fresh TCP connection, and the answer streamed back.
//!
//! Each **binary** message the page sends is one injection: the server
//! connects to itself (never anywhere else), performs a normal client
//! handshake, writes the bytes, and reports everything that crosses that
//! connection until the echo endpoint closes it or the time limit ends it.
//! Injections of one session run one after another (a few may wait).
//!
//! What the page receives uses the wire tap's format (see [`crate::tap`]):
//! binary messages `[direction][u64 µs since connect][bytes]`, direction
//! `0` for bytes sent to `/echo` and `1` for bytes it sent back; and JSON
//! text notes: `{"type":"start","id":N,"target":"ws://…/echo","bytes":N}`,
//! `{"type":"handshake","id":N,"ok":true}` (or `"ok":false,"error":"…"`),
//! `{"type":"end","id":N,"closed_by":"server"|"wscope","how":"…","elapsed_ms":N}`,
//! and `{"type":"error","message":"…"}` for an injection refused outright.
//!
//! `/inject?deflate=on` offers permessage-deflate in the injected
//! handshakes, so compressed (RSV1) frames can be injected; the agreement is
//! in the handshake bytes reported.

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
enum Note {
    Chunk(Dir, u64, Vec<u8>),
    Text(String),
    Done,
}

struct Injector {
    shared: Arc<Shared>,
    queue: VecDeque<Vec<u8>>,
    running: Option<mpsc::Receiver<Note>>,
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

fn refuse(conn: &mut Connection, message: &str) {
    let note = serde_json::json!({ "type": "error", "message": message }).to_string();
    let _ = conn.send(Message::Text(&note));
}

impl Session for Injector {
    type Ready = Option<Note>;

    fn on_event(&mut self, conn: &mut Connection, event: Event) {
        match event {
            Event::Binary(bytes) => {
                let max = self.shared.config.inject.max_payload_bytes;
                if bytes.len() > max {
                    refuse(conn, &format!("{} bytes is more than the {max} an injection may send", bytes.len()));
                } else if self.queue.len() >= MAX_QUEUED {
                    refuse(conn, "too many injections waiting; wait for one to end");
                } else {
                    self.queue.push_back(bytes);
                    self.start_next();
                }
            }
            Event::Text(_) => refuse(conn, "send the raw bytes to inject as a binary message"),
            _ => {}
        }
    }

    async fn ready(&mut self) -> Option<Note> {
        match &mut self.running {
            Some(rx) => rx.recv().await,
            None => std::future::pending().await,
        }
    }

    fn on_ready(&mut self, conn: &mut Connection, note: Option<Note>) {
        match note {
            Some(Note::Chunk(dir, micros, data)) => {
                let mut message = Vec::new();
                encode_record(dir, micros, &data, &mut message);
                let _ = conn.send(Message::Binary(&message));
            }
            Some(Note::Text(text)) => {
                let _ = conn.send(Message::Text(&text));
            }
            Some(Note::Done) | None => {
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

/// One injection, start to end; always ends with [`Note::Done`].
async fn run(id: u64, payload: Vec<u8>, shared: Arc<Shared>, deflate: bool, tx: mpsc::Sender<Note>) {
    let limits = shared.config.inject;
    let target = shared.self_addr;
    let started = Instant::now();
    let permit = match Arc::clone(&shared.inject_permits).try_acquire_owned() {
        Ok(p) => p,
        Err(_) => {
            let note = serde_json::json!({
                "type": "error",
                "message": format!("the server runs at most {} injections at once; try again", limits.max_concurrent),
            });
            let _ = tx.send(Note::Text(note.to_string())).await;
            let _ = tx.send(Note::Done).await;
            return;
        }
    };
    let start = serde_json::json!({ "type": "start", "id": id, "target": format!("ws://{target}/echo"), "bytes": payload.len() });
    let _ = tx.send(Note::Text(start.to_string())).await;
    let (closed_by, how) =
        match tokio::time::timeout(limits.timeout, exchange(id, &payload, &shared, deflate, &tx, started)).await {
            Ok(end) => end,
            Err(_) => (
                "wscope",
                format!("time limit of {} ms reached; wscope closed the connection", limits.timeout.as_millis()),
            ),
        };
    // The injected connection is gone: free its slot before reporting, so
    // a page that stops reading cannot hold it.
    drop(permit);
    let end = serde_json::json!({
        "type": "end", "id": id, "closed_by": closed_by, "how": how,
        "elapsed_ms": u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    });
    // Bounded: a page that stopped reading loses its last notes, nothing more.
    let _ = tokio::time::timeout(limits.timeout, async {
        let _ = tx.send(Note::Text(end.to_string())).await;
        let _ = tx.send(Note::Done).await;
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
    tx: &mpsc::Sender<Note>,
    started: Instant,
) -> (&'static str, String) {
    let target = shared.self_addr;
    let mut stream = match TcpStream::connect(target).await {
        Ok(s) => s,
        Err(e) => return ("wscope", format!("could not connect to {target}: {e}")),
    };
    let _ = stream.set_nodelay(true);
    let mut nonce = [0u8; 16];
    if getrandom::fill(&mut nonce).is_err() {
        return ("wscope", "no randomness for the handshake key".into());
    }
    let mut handshake = ClientHandshake::new(&target.to_string(), "/echo", nonce);
    // With --allow-origin, the server's own connection must pass it too.
    handshake.origin = shared.config.allow_origins.first().cloned();
    if deflate {
        handshake.extensions = Some(wscope_core::deflate::NAME.to_owned());
    }
    let request = match handshake.request() {
        Ok(r) => r,
        Err(e) => return ("wscope", format!("could not build the handshake: {e}")),
    };
    if let Err(e) = stream.write_all(&request).await {
        return ("wscope", format!("could not send the handshake: {e}"));
    }
    let _ = tx.send(Note::Chunk(Dir::ClientToServer, micros(started), request)).await;

    let limits = shared.config.handshake;
    let mut head = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) => return ("server", "closed the connection during the handshake".into()),
            Ok(n) => n,
            Err(e) => return ("server", format!("connection failed during the handshake: {e}")),
        };
        let chunk = buf.get(..n).unwrap_or_default().to_vec();
        head.extend_from_slice(&chunk);
        let _ = tx.send(Note::Chunk(Dir::ServerToClient, micros(started), chunk)).await;
        match handshake.check_response(&head, &limits) {
            Ok(Decoded::Incomplete { .. }) => continue,
            Ok(Decoded::Complete { .. }) => break,
            Err(e) => {
                let note = serde_json::json!({ "type": "handshake", "id": id, "ok": false, "error": e.to_string() });
                let _ = tx.send(Note::Text(note.to_string())).await;
                return ("wscope", "handshake refused; nothing injected".into());
            }
        }
    }
    let _ = tx.send(Note::Text(serde_json::json!({ "type": "handshake", "id": id, "ok": true }).to_string())).await;

    if let Err(e) = stream.write_all(payload).await {
        return ("server", format!("could not write the bytes: {e}"));
    }
    let _ = tx.send(Note::Chunk(Dir::ClientToServer, micros(started), payload.to_vec())).await;

    let mut budget = shared.config.inject.max_reply_bytes;
    loop {
        match stream.read(&mut buf).await {
            Ok(0) => return ("server", "the server closed the TCP connection".into()),
            Ok(n) => {
                let n = n.min(budget);
                let _ = tx
                    .send(Note::Chunk(Dir::ServerToClient, micros(started), buf.get(..n).unwrap_or_default().to_vec()))
                    .await;
                budget = budget.saturating_sub(n);
                if budget == 0 {
                    return ("wscope", "reply limit reached; wscope closed the connection".into());
                }
            }
            Err(e) => return ("server", format!("the connection failed: {e}")),
        }
    }
}
