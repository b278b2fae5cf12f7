//! The two legs of an intercepted session: bytes read from a side go to
//! its leg's core connection; its events go through the gate (messages and
//! closes) or straight on (pings and pongs) to the other leg, whose
//! connection writes them (masked toward the server, compressed with that
//! leg's own context). The page's commands arrive on a queue; notes go to
//! every page watching.
//!
//! Bounded: a side is not read while the other leg has more than
//! [`MAX_PENDING`] bytes unwritten or while its held messages are at the
//! gate's limits (TCP then slows the sender); no byte moving either way
//! for `--relay-idle-timeout` ends the session.

use super::gate::{Arrival, Gate, Held, Item, Side};
use super::{COMMAND_QUEUE, Command, Control, Data, NOTE_QUEUE, PREVIEW};
use crate::notes::{HeldNote, InterceptNote};
use crate::relay::RelayShared;
use crate::relay::hub::RelaySession;
use crate::relay::pipe::{Reader, Writer};
use crate::relay::record::Recorder;
use crate::tap::{Dir, Tap};
use base64::Engine as _;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use wscope_core::connection::{Connection, Event, Message, State};
use wscope_core::{CloseCode, Role};

/// Unwritten bytes on a leg past which the other side is not read.
pub(crate) const MAX_PENDING: usize = 256 * 1024;

/// Both legs: each side's core connection and socket halves.
pub(crate) struct Legs {
    pub(crate) client: Connection,
    pub(crate) upstream: Connection,
    pub(crate) client_io: (Reader, Writer),
    pub(crate) upstream_io: (Reader, Writer),
}

fn note(notes: &broadcast::Sender<String>, n: &InterceptNote) {
    if notes.receiver_count() > 0 {
        if let Ok(text) = serde_json::to_string(n) {
            let _ = notes.send(text);
        }
    }
}

/// Payload bytes one `state` note shows of all held messages together (the
/// rest are listed with `truncated`): a note goes to every page watching and
/// waits in a bounded queue.
const STATE_PREVIEW: usize = 256 * 1024;

fn held_note(h: &Held) -> HeldNote {
    held_note_within(h, PREVIEW)
}

fn held_note_within(h: &Held, preview: usize) -> HeldNote {
    let (kind, bytes, code): (&str, &[u8], Option<u16>) = match &h.item {
        Item::Text(t) => ("text", t.as_bytes(), None),
        Item::Binary(b) => ("binary", b, None),
        Item::Close(code, reason) => ("close", reason.as_bytes(), *code),
    };
    let shown = bytes.get(..preview.min(bytes.len())).unwrap_or_default();
    let (text, base64) = match (kind, std::str::from_utf8(shown)) {
        ("binary", _) | (_, Err(_)) => (None, Some(base64::engine::general_purpose::STANDARD.encode(shown))),
        (_, Ok(t)) => (Some(t.to_string()), None),
    };
    HeldNote {
        id: h.id,
        from: h.from.name(),
        kind,
        len: bytes.len(),
        code,
        text,
        base64,
        truncated: shown.len() < bytes.len(),
    }
}

/// The leg a message from `from` is sent on.
fn toward(legs: &mut Legs, from: Side) -> &mut Connection {
    match from {
        Side::Client => &mut legs.upstream,
        Side::Server => &mut legs.client,
    }
}

/// Sends `item` on the leg toward the other side; an error in words.
fn send(legs: &mut Legs, from: Side, item: &Item) -> Result<(), String> {
    let conn = toward(legs, from);
    let r = match item {
        Item::Text(t) => conn.send(Message::Text(t)),
        Item::Binary(b) => conn.send(Message::Binary(b)),
        Item::Close(code, reason) => {
            let sent = conn.send(Message::Close(code.map(CloseCode), reason));
            // A code that may not be sent (1005, 1006, 1015): an empty close.
            sent.or_else(|_| conn.send(Message::Close(None, "")))
        }
    };
    r.map_err(|e| e.to_string())
}

fn data_item(data: Data, like: Option<&Item>) -> Result<Item, String> {
    match data {
        Data::Text(t) => match like {
            Some(Item::Close(code, _)) => Ok(Item::Close(*code, t)),
            _ => Ok(Item::Text(t)),
        },
        Data::Base64(b) => base64::engine::general_purpose::STANDARD
            .decode(b.as_bytes())
            .map(Item::Binary)
            .map_err(|e| format!("not base64: {e}")),
    }
}

fn item_note(item: &Item) -> (&'static str, usize) {
    match item {
        Item::Text(t) => ("text", t.len()),
        Item::Binary(b) => ("binary", b.len()),
        Item::Close(_, r) => ("close", r.len()),
    }
}

struct Run {
    legs: Legs,
    gate: Gate,
    notes: broadcast::Sender<String>,
    /// A leg failed or a socket ended: the session is over once the other
    /// leg's output is written.
    ended: Option<String>,
}

impl Run {
    fn state_note(&self) -> InterceptNote {
        let mut budget = STATE_PREVIEW;
        let held = self
            .gate
            .held()
            .map(|h| {
                let note = held_note_within(h, PREVIEW.min(budget));
                budget = budget.saturating_sub(note.len.min(PREVIEW));
                note
            })
            .collect();
        InterceptNote::State {
            hold_client: self.gate.holding(Side::Client),
            hold_server: self.gate.holding(Side::Server),
            held,
        }
    }

    /// Whether the leg toward `to`'s peer can take more from the page (its
    /// unwritten output is under [`MAX_PENDING`]); an error note if not.
    fn can_send(&self, from: Side) -> bool {
        let conn = match from {
            Side::Client => &self.legs.upstream,
            Side::Server => &self.legs.client,
        };
        if conn.pending_output().len() < MAX_PENDING {
            return true;
        }
        let who = if from == Side::Client { "server" } else { "client" };
        note(
            &self.notes,
            &InterceptNote::Error { message: format!("the {who} is not taking its messages; try again once it does") },
        );
        false
    }

    /// Everything `from`'s leg decoded, through the gate or straight on.
    fn events(&mut self, from: Side) {
        loop {
            let conn = match from {
                Side::Client => &mut self.legs.client,
                Side::Server => &mut self.legs.upstream,
            };
            let Some(event) = conn.next_event() else { return };
            let item = match event {
                Event::Text(t) => Item::Text(t),
                Event::Binary(b) => Item::Binary(b),
                Event::Close(frame) => Item::Close(frame.code.map(|c| c.0), frame.reason),
                Event::Ping(p) => {
                    let _ = toward(&mut self.legs, from).send(Message::Ping(&p));
                    continue;
                }
                Event::Pong(p) => {
                    let _ = toward(&mut self.legs, from).send(Message::Pong(&p));
                    continue;
                }
                Event::Failed(e) => {
                    // The core wrote its failing close to the side that broke
                    // the rule; the other side is told the relay goes away.
                    let who = if from == Side::Client { "client" } else { "server" };
                    let reason = format!("wscope relay: the {who} broke a rule");
                    let _ = toward(&mut self.legs, from).send(Message::Close(Some(CloseCode::GOING_AWAY), &reason));
                    self.ended.get_or_insert_with(|| format!("the {who} broke a rule: {e}"));
                    return;
                }
            };
            match self.gate.arrive(from, item) {
                Arrival::Pass(item) => {
                    if let Err(e) = send(&mut self.legs, from, &item) {
                        note(&self.notes, &InterceptNote::Error { message: format!("not sent: {e}") });
                    }
                }
                Arrival::Held(held) => note(&self.notes, &InterceptNote::Held { message: held_note(&held) }),
            }
        }
    }

    fn sent(&mut self, held: Held, item: Item, edited: bool) {
        let (kind, len) = item_note(&item);
        match send(&mut self.legs, held.from, &item) {
            Ok(()) => note(
                &self.notes,
                &InterceptNote::Sent { id: Some(held.id), from: held.from.name(), kind, len, edited, injected: false },
            ),
            Err(e) => {
                note(&self.notes, &InterceptNote::Error { message: format!("message {} not sent: {e}", held.id) })
            }
        }
    }

    fn command(&mut self, command: Command) {
        let missing =
            |id: u64| InterceptNote::Error { message: format!("no held message {id} (sent or dropped already)") };
        match command {
            Command::Hello => note(&self.notes, &self.state_note()),
            Command::Left => {
                if self.notes.receiver_count() == 0 {
                    for side in [Side::Client, Side::Server] {
                        for held in self.gate.set_hold(side, false) {
                            let item = held.item.clone();
                            let _ = send(&mut self.legs, held.from, &item);
                        }
                    }
                }
            }
            Command::Hold { from, on } => {
                for held in self.gate.set_hold(from, on) {
                    let item = held.item.clone();
                    self.sent(held, item, false);
                }
                note(&self.notes, &self.state_note());
            }
            Command::Release { id } | Command::Edit { id, .. } | Command::Drop { id }
                if self.gate.peek(id).is_none() =>
            {
                note(&self.notes, &missing(id));
            }
            Command::Release { id } | Command::Edit { id, .. }
                if self.gate.peek(id).is_some_and(|(from, _)| !self.can_send(from)) => {}
            Command::Drop { id } if self.gate.peek(id).is_some_and(|(_, close)| close) => note(
                &self.notes,
                &InterceptNote::Error {
                    message: format!(
                        "message {id} is a close: send it on (its reason may be edited); dropping it would leave the closing handshake half done"
                    ),
                },
            ),
            Command::Edit { id, data: Data::Base64(_) } if self.gate.peek(id).is_some_and(|(_, close)| close) => {
                note(
                    &self.notes,
                    &InterceptNote::Error { message: format!("message {id} is a close: edit its reason as text") },
                );
            }
            Command::Release { id } => match self.gate.take(id) {
                Some(held) => {
                    let item = held.item.clone();
                    self.sent(held, item, false);
                }
                None => note(&self.notes, &missing(id)),
            },
            Command::Edit { id, data } => match self.gate.take(id) {
                Some(held) => match data_item(data, Some(&held.item)) {
                    Ok(item) => self.sent(held, item, true),
                    Err(e) => note(&self.notes, &InterceptNote::Error { message: e }),
                },
                None => note(&self.notes, &missing(id)),
            },
            Command::Drop { id } => match self.gate.take(id) {
                Some(held) => note(&self.notes, &InterceptNote::Dropped { id: held.id }),
                None => note(&self.notes, &missing(id)),
            },
            Command::Inject { to, data } => {
                // A message *to* a side goes on the leg toward it, as if the
                // other side had sent it.
                let from = if to == Side::Client { Side::Server } else { Side::Client };
                if !self.can_send(from) {
                    return;
                }
                match data_item(data, None) {
                    Ok(item) => {
                        let (kind, len) = item_note(&item);
                        match send(&mut self.legs, from, &item) {
                            Ok(()) => note(
                                &self.notes,
                                &InterceptNote::Sent {
                                    id: None,
                                    from: from.name(),
                                    kind,
                                    len,
                                    edited: false,
                                    injected: true,
                                },
                            ),
                            Err(e) => note(&self.notes, &InterceptNote::Error { message: format!("not sent: {e}") }),
                        }
                    }
                    Err(e) => note(&self.notes, &InterceptNote::Error { message: e }),
                }
            }
        }
    }

    /// Both closing handshakes are done (or a leg failed) and nothing is
    /// left to write.
    fn finished(&self) -> bool {
        let done = |c: &Connection| c.state() == State::Closed && c.pending_output().is_empty();
        (done(&self.legs.client) && done(&self.legs.upstream))
            || (self.ended.is_some()
                && self.legs.client.pending_output().is_empty()
                && self.legs.upstream.pending_output().is_empty())
    }
}

/// Makes the page's way into `session` (before its 101 goes out, so a page
/// that sees it open finds its controls); the receiving ends are `run`'s.
pub(crate) fn open_controls(session: &RelaySession) -> (mpsc::Receiver<Command>, broadcast::Sender<String>) {
    let (commands, command_rx) = mpsc::channel(COMMAND_QUEUE);
    let (notes, _) = broadcast::channel(NOTE_QUEUE);
    let _ = session.control.set(Control { commands, notes: notes.clone() });
    (command_rx, notes)
}

/// Runs an opened intercepted session until it is over.
pub(crate) async fn run(
    legs: Legs,
    recorder: &Recorder,
    shared: &RelayShared,
    upstream_tap: &Tap,
    (mut command_rx, notes): (mpsc::Receiver<Command>, broadcast::Sender<String>),
) -> String {
    let gate = Gate::new(shared.config.hold_messages, shared.config.hold_bytes);
    let mut run = Run { legs, gate, notes, ended: None };
    // Frames that came with the heads.
    run.events(Side::Client);
    run.events(Side::Server);
    let mut client_buf = Vec::new();
    let mut upstream_buf = Vec::new();
    // TLS took bytes that still wait in its buffer.
    let mut upstream_unflushed = false;
    let idle = shared.config.idle_timeout;
    let reason = loop {
        if run.finished() && !upstream_unflushed {
            break run.ended.take().unwrap_or_else(|| "both closing handshakes are done".into());
        }
        let read_client = run.ended.is_none()
            && run.gate.room(Side::Client)
            && run.legs.upstream.pending_output().len() < MAX_PENDING
            && run.legs.client.state() != State::Closed;
        let read_upstream = run.ended.is_none()
            && run.gate.room(Side::Server)
            && run.legs.client.pending_output().len() < MAX_PENDING
            && run.legs.upstream.state() != State::Closed;
        let Legs { client, upstream, client_io, upstream_io } = &mut run.legs;
        let (client_rd, client_wr) = client_io;
        let (upstream_rd, upstream_wr) = upstream_io;
        let to_client = client.pending_output();
        let to_upstream = upstream.pending_output();
        let upstream_out = !to_upstream.is_empty() || upstream_unflushed;
        enum Step {
            FromClient(std::io::Result<usize>),
            FromUpstream(std::io::Result<usize>),
            ToClient(std::io::Result<usize>),
            /// Bytes written upstream, or `None`: its TLS buffer flushed.
            ToUpstream(std::io::Result<Option<usize>>),
            Command(Option<Command>),
            Idle,
            Shutdown,
        }
        let step = tokio::select! {
            r = client_rd.read(&mut client_buf), if read_client => Step::FromClient(r),
            r = upstream_rd.read(&mut upstream_buf), if read_upstream => Step::FromUpstream(r),
            r = client_wr.write_some(to_client), if !to_client.is_empty() => Step::ToClient(r),
            // One future for the upstream's writes and flushes: each is
            // cancel-safe on its own, and never both at once.
            r = async {
                if to_upstream.is_empty() {
                    upstream_wr.flush().await.map(|()| None)
                } else {
                    upstream_wr.write_some(to_upstream).await.map(Some)
                }
            }, if upstream_out => Step::ToUpstream(r),
            c = command_rx.recv() => Step::Command(c),
            () = crate::relay::session::idle_for(recorder, idle) => Step::Idle,
            () = shared.shutdown.cancelled() => Step::Shutdown,
        };
        match step {
            Step::FromClient(Ok(n)) if n > 0 => {
                recorder.touch();
                let data = client_buf.get(..n).unwrap_or_default();
                let lines = recorder.push(Role::Client, data);
                if let Some(log) = &shared.log {
                    log.write(lines).await;
                }
                run.legs.client.receive_data(data);
                run.events(Side::Client);
            }
            Step::FromClient(_) => {
                run.ended.get_or_insert_with(|| "the client closed the connection".into());
            }
            Step::FromUpstream(Ok(n)) if n > 0 => {
                recorder.touch();
                let data = upstream_buf.get(..n).unwrap_or_default();
                upstream_tap.record(Dir::ServerToClient, data);
                run.legs.upstream.receive_data(data);
                run.events(Side::Server);
            }
            Step::FromUpstream(_) => {
                run.ended.get_or_insert_with(|| "the server closed the connection".into());
            }
            Step::ToClient(Ok(n)) => {
                recorder.touch();
                let written = run.legs.client.pending_output().get(..n).unwrap_or_default().to_vec();
                let lines = recorder.push(Role::Server, &written);
                if let Some(log) = &shared.log {
                    log.write(lines).await;
                }
                run.legs.client.consume_output(n);
            }
            Step::ToUpstream(Ok(Some(n))) => {
                recorder.touch();
                let written = run.legs.upstream.pending_output().get(..n).unwrap_or_default();
                upstream_tap.record(Dir::ClientToServer, written);
                run.legs.upstream.consume_output(n);
                upstream_unflushed = run.legs.upstream_io.1.buffers();
            }
            Step::ToUpstream(Ok(None)) => upstream_unflushed = false,
            Step::ToClient(Err(e)) => break format!("writing to the client failed: {e}"),
            Step::ToUpstream(Err(e)) => break format!("writing to the server failed: {e}"),
            Step::Command(Some(c)) => run.command(c),
            Step::Command(None) => {}
            Step::Idle => break format!("no byte moved either way for {}", humantime::format_duration(idle)),
            Step::Shutdown => break "the relay shut down".into(),
        }
    };
    note(&run.notes, &InterceptNote::End { reason: reason.clone() });
    let Legs { client_io, upstream_io, .. } = run.legs;
    let (_, mut upstream_wr) = upstream_io;
    let linger = Duration::from_secs(1);
    let _ = tokio::time::timeout(linger, upstream_wr.shutdown()).await;
    // The client's socket: our side closed first, then what it still sends
    // read and dropped (bounded), so our last frames are not lost to a reset.
    if let (Reader::Tcp(rd), Writer::Tcp(wr)) = client_io {
        if let Ok(mut tcp) = rd.reunite(wr) {
            let now = tokio::time::Instant::now();
            let until = now.checked_add(linger).unwrap_or(now);
            crate::linger::close_then_drain(&mut tcp, until, 64 * 1024, |_| {}).await;
        }
    }
    reason
}
