//! The case's actions over an open WebSocket, and everything the server
//! sends until the connection ends: what the judge needs to know.

use super::connect::Stream;
use super::log::Log;
use crate::case::{Action, Case, Echoes, Seen};
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use wscope_core::connection::{Config, Connection, Event, Message};
use wscope_core::deflate::{DeflateParams, MessageDeflater, TRAILER};
use wscope_core::rules::DataKind;
use wscope_core::{CloseCode, Role, Violation};

/// Most events a case collects: a peer that floods the checker ends the
/// case there.
pub const MAX_EVENTS: usize = 10_000;

/// Most payload bytes a case keeps of what the peer sent (the largest
/// message any case expects back is 16 MiB): past it the case ends.
pub const MAX_SEEN_BYTES: usize = 32 << 20;

/// The largest frame or message the checker takes from the peer (the
/// largest any case sends is 16 MiB); a bigger one fails the connection with
/// 1009.
const MAX_MESSAGE: u64 = 20 << 20;

/// How the exchange went, before it is judged. "My" is the checker's side
/// (the client when it tests a server, the server when it tests a client),
/// "the peer" the side under test.
#[derive(Default)]
pub(crate) struct Exchange {
    pub(crate) seen: Vec<Seen>,
    /// The checker's close frame, with its code.
    pub(crate) my_close: Option<Option<u16>>,
    /// The peer's close frame, with its code.
    pub(crate) peer_close: Option<Option<u16>>,
    /// The checker's close went out before the peer's arrived.
    pub(crate) i_closed_first: bool,
    /// The peer closed TCP (read returned 0 or an error).
    pub(crate) peer_dropped: bool,
    /// The peer's TCP ended with a reset rather than a FIN.
    pub(crate) reset: bool,
    /// The time limit ran out; the checker dropped the connection.
    pub(crate) timed_out: bool,
    /// The peer's bytes broke a rule (the checker failed the connection).
    pub(crate) peer_violation: Option<String>,
    /// The peer sent more than [`MAX_EVENTS`] events.
    pub(crate) flooded: bool,
}

impl Exchange {
    /// The close codes as the client and the server sent them, for the
    /// checker in `role`.
    pub(crate) fn closes(&self, role: Role) -> (Option<Option<u16>>, Option<Option<u16>>) {
        match role {
            Role::Client => (self.my_close, self.peer_close),
            Role::Server => (self.peer_close, self.my_close),
        }
    }
}

/// What one read brought.
enum Read {
    Data,
    Ended,
    Timeout,
}

struct Session<'a> {
    rd: ReadHalf<Box<dyn Stream>>,
    wr: WriteHalf<Box<dyn Stream>>,
    conn: Connection,
    log: &'a mut Log,
    ex: Exchange,
    chunk: Vec<u8>,
    deadline: Instant,
    /// No more reading: TCP ended, the time ran out, or the client failed
    /// the connection.
    over: bool,
    /// The unwritten rest of a held frame.
    held: Vec<u8>,
    /// The close frame the client writes when it gives up.
    goodbye: Vec<u8>,
    /// The client answers no close frame ([`Action::Silent`]).
    silent: bool,
    /// The checker's side.
    role: Role,
    /// Payload bytes in `ex.seen`.
    seen_bytes: usize,
}

/// Runs the case's actions over `stream` as the checker in `role`, then
/// reads until the connection ends; `rest` is what came after the opening
/// handshake.
pub(crate) async fn exchange(
    stream: Box<dyn Stream>,
    role: Role,
    case: &Case,
    deflate: Option<DeflateParams>,
    rest: Vec<u8>,
    deadline: Instant,
    log: &mut Log,
) -> Exchange {
    // Every message compressed, at the fastest level: the peer must inflate
    // whatever comes, and the checker should not be the bottleneck.
    let config = Config {
        auto_pong: false,
        auto_close: false,
        max_frame_size: MAX_MESSAGE,
        max_message_size: MAX_MESSAGE,
        deflate,
        compress_min_size: 0,
        compression_level: 1,
        parkable_compression: false,
    };
    let (rd, wr) = tokio::io::split(stream);
    let mut s = Session {
        rd,
        wr,
        conn: match role {
            Role::Client => Connection::client(config, Box::new(super::mask_key)),
            Role::Server => Connection::server(config),
        },
        log,
        ex: Exchange::default(),
        chunk: vec![0u8; 64 * 1024],
        deadline,
        over: false,
        held: Vec::new(),
        goodbye: Vec::new(),
        silent: false,
        role,
        seen_bytes: 0,
    };
    s.conn.receive_data(&rest);
    s.settle().await;
    for action in &case.actions {
        if s.over {
            break;
        }
        if !s.act(action, deflate).await {
            break;
        }
        s.settle().await;
    }
    s.finish(case).await;
    if !s.goodbye.is_empty() {
        // Best effort, and briefly: the server may have stopped reading.
        let goodbye = std::mem::take(&mut s.goodbye);
        s.log.push(true, &goodbye);
        let _ = tokio::time::timeout(std::time::Duration::from_millis(100), s.wr.write_all(&goodbye)).await;
    }
    s.ex
}

impl Session<'_> {
    /// A fresh masking key for the checker's frames, when it is the client.
    fn mask(&self) -> Option<[u8; 4]> {
        (self.role == Role::Client).then(super::mask_key)
    }

    /// The connection is open: no close frame either way, TCP up.
    fn open(&self) -> bool {
        !self.over && self.ex.my_close.is_none() && self.ex.peer_close.is_none()
    }

    /// One action; false when the actions stop here.
    async fn act(&mut self, action: &Action, deflate: Option<DeflateParams>) -> bool {
        match action {
            Action::Pause(pause) => {
                let until = Instant::now().checked_add(*pause).unwrap_or(self.deadline).min(self.deadline);
                while !self.over {
                    match self.read(until).await {
                        Read::Data => self.settle().await,
                        Read::Ended => self.end_tcp(),
                        Read::Timeout => {
                            if until >= self.deadline {
                                self.time_out();
                            }
                            break;
                        }
                    }
                }
            }
            Action::Mark(mark) => {
                if !self.open() {
                    return false;
                }
                self.ex.seen.push(Seen::Mark(*mark));
            }
            Action::NeedDeflate => {
                if deflate.is_none() {
                    self.ex.seen.push(Seen::NoDeflate);
                    return false;
                }
            }
            Action::Echoes(echoes) => return self.echoes(echoes).await,
            Action::Held { frame, first } => {
                let bytes = action.encode(self.mask());
                let payload = match frame.as_ref() {
                    Action::Frame { payload, .. } => payload.len(),
                    _ => 0,
                };
                let cut = bytes.len().saturating_sub(payload).saturating_add(*first).min(bytes.len());
                let (now, later) = bytes.split_at(cut);
                self.held = later.to_vec();
                self.write(now).await;
            }
            Action::More(n) => {
                let n = n.unwrap_or(self.held.len()).min(self.held.len());
                let now: Vec<u8> = self.held.drain(..n).collect();
                self.write(&now).await;
            }
            Action::Silent => self.silent = true,
            Action::HalfClose => {
                let _ = self.wr.shutdown().await;
            }
            Action::Bomb(zeros) => {
                // Seconds of compressing: off the runtime's threads.
                let (Some(params), zeros) = (deflate, *zeros) else { return false };
                let role = self.role;
                let made = tokio::task::spawn_blocking(move || bomb(params, role, zeros)).await;
                let Ok(Some(bomb)) = made else { return false };
                return self.write(&bomb.encode(self.mask())).await;
            }
            Action::Raw(_) | Action::Batch(_) | Action::Fragments(_) => {
                if let Action::Batch(all) = action {
                    for a in all {
                        match a {
                            Action::Close(code) => self.i_close(*code),
                            Action::CloseRaw(p) => self.i_close(close_code(p)),
                            _ => {}
                        }
                    }
                }
                return self.write(&action.encode(self.mask())).await;
            }
            Action::Close(_) | Action::CloseRaw(_) | Action::Frame { .. } => {
                match action {
                    Action::Close(code) => self.i_close(*code),
                    Action::CloseRaw(payload) => self.i_close(close_code(payload)),
                    _ => {}
                }
                let bytes = action.encode(self.mask());
                let piece = action.chop().unwrap_or(bytes.len()).max(1);
                for part in bytes.chunks(piece) {
                    if !self.write(part).await {
                        break;
                    }
                }
            }
        }
        true
    }

    fn i_close(&mut self, code: Option<u16>) {
        if self.ex.my_close.is_none() {
            self.ex.my_close = Some(code);
            self.ex.i_closed_first = self.ex.peer_close.is_none();
        }
    }

    /// Sends each message, waits for its echo and compares; notes
    /// [`Seen::Echoed`] when all came back as sent.
    async fn echoes(&mut self, e: &Echoes) -> bool {
        let kind = if e.text { DataKind::Text } else { DataKind::Binary };
        for i in 0..e.count {
            let message = e.message(i);
            if self.conn.send_split(kind, &message, e.max_frame).is_err() {
                return false;
            }
            let out = self.conn.take_output();
            for part in out.chunks(e.chop.unwrap_or(out.len()).max(1)) {
                if !self.write(part).await {
                    break;
                }
            }
            let before = self.ex.seen.len();
            loop {
                self.settle().await;
                if self.ex.seen.len() > before || self.over || !self.open() {
                    break;
                }
                match self.read(self.deadline).await {
                    Read::Data => {}
                    Read::Ended => self.end_tcp(),
                    Read::Timeout => self.time_out(),
                }
            }
            let echoed = match self.ex.seen.get(before) {
                Some(Seen::Text(t)) => e.text && *t == message,
                Some(Seen::Binary(b)) => !e.text && *b == message,
                _ => false,
            };
            if !echoed || self.ex.seen.len() != before.saturating_add(1) {
                return false;
            }
            if let Some(Seen::Text(p) | Seen::Binary(p)) = self.ex.seen.pop() {
                self.seen_bytes = self.seen_bytes.saturating_sub(p.len());
            }
        }
        self.ex.seen.push(Seen::Echoed(e.count));
        true
    }

    /// After the actions: reads until the connection ends, closing once
    /// what the client saw matches an expectation.
    async fn finish(&mut self, case: &Case) {
        loop {
            self.settle().await;
            if self.over {
                return;
            }
            if self.ex.my_close.is_none() && self.ex.peer_close.is_none() && case.close.closed_by_client && !self.silent
            {
                let matched = case.expected.iter().any(|(_, events)| *events == self.ex.seen);
                if matched {
                    let code = case.close.codes.first().copied().map(CloseCode);
                    let _ = self.conn.send(Message::Close(code, ""));
                    self.i_close(code.map(|c| c.0));
                    self.settle().await;
                    continue;
                }
            }
            match self.read(self.deadline).await {
                Read::Data => {}
                Read::Ended => self.end_tcp(),
                Read::Timeout => self.time_out(),
            }
        }
    }

    fn end_tcp(&mut self) {
        self.ex.peer_dropped = true;
        self.over = true;
    }

    /// The time is up: the client goes away (a close with 1001, as
    /// Autobahn's client does when it gives up) and drops TCP.
    fn time_out(&mut self) {
        self.ex.timed_out = true;
        self.over = true;
        if self.ex.my_close.is_none()
            && !self.silent
            && self.conn.send(Message::Close(Some(CloseCode(1001)), "")).is_ok()
        {
            self.i_close(Some(1001));
            self.goodbye = self.conn.take_output();
        }
    }

    /// Takes the core's events, answers a close, writes the core's output;
    /// after a violation by the server, the client is done (section 7.1.7:
    /// it fails the connection and drops TCP).
    async fn settle(&mut self) {
        while let Some(event) = self.conn.next_event() {
            let size = match &event {
                Event::Text(t) => t.len(),
                Event::Binary(b) | Event::Ping(b) | Event::Pong(b) => b.len(),
                Event::Close(_) | Event::Failed(_) => 0,
            };
            self.seen_bytes = self.seen_bytes.saturating_add(size);
            match event {
                Event::Text(t) => self.ex.seen.push(Seen::Text(t.into_bytes())),
                Event::Binary(b) => self.ex.seen.push(Seen::Binary(b)),
                Event::Ping(p) => self.ex.seen.push(Seen::Ping(p)),
                Event::Pong(p) => self.ex.seen.push(Seen::Pong(p)),
                Event::Close(frame) => {
                    self.ex.peer_close = Some(frame.code.map(|c| c.0));
                    if self.ex.my_close.is_none() && !self.silent {
                        // Answer with the same code, as Autobahn's client does.
                        let code = frame.code.filter(|c| c.is_sendable());
                        let _ = self.conn.send(Message::Close(code, ""));
                        self.ex.my_close = Some(code.map(|c| c.0));
                    }
                }
                Event::Failed(e) => {
                    // A close frame whose code no endpoint may send is still
                    // the peer's close, with that code (Autobahn judges the
                    // code as WRONG CODE).
                    if let Violation::InvalidCloseCode { code } = e.violation {
                        self.ex.peer_close.get_or_insert(Some(code));
                    }
                    // The core writes the close frame that fails the
                    // connection: the checker closed it, not the peer.
                    self.i_close(Some(e.close_code().0));
                    self.ex.seen.push(Seen::Violation(e.to_string()));
                    self.ex.peer_violation = Some(e.to_string());
                }
            }
        }
        if self.ex.seen.len() >= MAX_EVENTS || self.seen_bytes > MAX_SEEN_BYTES {
            self.ex.flooded = true;
            self.over = true;
        }
        let out = self.conn.take_output();
        if !out.is_empty() && !self.write(&out).await {
            self.end_tcp();
        }
        if self.ex.peer_violation.is_some() {
            self.over = true;
        }
        // Section 7.1.1: after the closing handshake the server closes TCP
        // first.
        if self.role == Role::Server && self.ex.my_close.is_some() && self.ex.peer_close.is_some() {
            self.over = true;
        }
    }

    /// Reads once, until `until`.
    async fn read(&mut self, until: Instant) -> Read {
        match tokio::time::timeout_at(until.into(), self.rd.read(&mut self.chunk)).await {
            Ok(Ok(0)) => Read::Ended,
            Ok(Err(e)) => {
                self.ex.reset |= e.kind() == std::io::ErrorKind::ConnectionReset;
                Read::Ended
            }
            Ok(Ok(n)) => {
                let got = self.chunk.get(..n).unwrap_or_default();
                self.log.push(false, got);
                self.conn.receive_data(got);
                Read::Data
            }
            Err(_) => Read::Timeout,
        }
    }

    /// Writes `bytes`, reading meanwhile so a server that echoes while it
    /// reads never waits on the client; false when the server is gone.
    async fn write(&mut self, bytes: &[u8]) -> bool {
        let mut at = 0;
        while let Some(rest) = bytes.get(at..).filter(|r| !r.is_empty()) {
            let reading = !self.over;
            tokio::select! {
                biased;
                written = self.wr.write(rest) => match written {
                    Ok(0) => return false,
                    Err(e) => {
                        // The reset may show here first; reads then see an end.
                        self.ex.reset |= e.kind() == std::io::ErrorKind::ConnectionReset;
                        return false;
                    }
                    Ok(n) => {
                        self.log.push(true, rest.get(..n).unwrap_or_default());
                        at = at.saturating_add(n);
                    }
                },
                read = self.rd.read(&mut self.chunk), if reading => match read {
                    Ok(0) => self.end_tcp(),
                    Err(e) => {
                        self.ex.reset |= e.kind() == std::io::ErrorKind::ConnectionReset;
                        self.end_tcp();
                    }
                    Ok(n) => {
                        let got = self.chunk.get(..n).unwrap_or_default();
                        self.log.push(false, got);
                        self.conn.receive_data(got);
                    }
                },
                () = tokio::time::sleep_until(self.deadline.into()) => {
                    self.time_out();
                    return false;
                }
            }
        }
        let _ = self.wr.flush().await;
        true
    }
}

/// The code at the start of a raw close payload, if it has one.
fn close_code(payload: &[u8]) -> Option<u16> {
    payload.get(..2).and_then(|c| <[u8; 2]>::try_from(c).ok()).map(u16::from_be_bytes)
}

/// A binary message of `zeros` zero bytes compressed as `role` must under
/// `params`, made a MiB at a time (the message is never held whole): pieces
/// joined by the empty stored block each sync flush ends with.
fn bomb(params: DeflateParams, role: Role, zeros: usize) -> Option<Action> {
    let sender = params.of(role);
    let mut deflater = MessageDeflater::new(sender.max_window_bits, sender.no_context_takeover, 1);
    let piece = vec![0u8; 1 << 20];
    let mut payload = Vec::new();
    let mut left = zeros;
    while left > 0 {
        let n = left.min(piece.len());
        if !payload.is_empty() {
            payload.extend_from_slice(&TRAILER);
        }
        deflater.compress(piece.get(..n)?, &mut payload).ok()?;
        left = left.saturating_sub(n);
    }
    Some(Action::Frame { fin: true, rsv: 1, opcode: 2, payload, chop: None })
}
