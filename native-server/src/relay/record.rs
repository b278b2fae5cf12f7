//! What the relay does with a copy of every chunk it passes on: keeps it
//! in the session's record, has the core's [`WireDecoder`] decode it (both
//! directions, the HTTP heads, then frames and messages with the
//! permessage-deflate the 101 agreed), counts what was found in the
//! session's summary and, with `--relay-log`, turns it into log lines.
//! Nothing here changes a byte that is relayed or enforces a rule.

use super::hub::{CloseSeen, Counts, DeflateJson, RelayHub, RelaySession, State};
use super::log::{Line, Payload};
use crate::tap::Dir;
use base64::Engine as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime};
use wscope_core::deflate::DeflateParams;
use wscope_core::pingpong::{Answered, PingTracker};
use wscope_core::rules::DataKind;
use wscope_core::stream::{InspectedFrame, InspectedMessage, text_prefix};
use wscope_core::wire::{WireDecoder, WireItem, WireOptions};
use wscope_core::{OpCode, Role};

/// Who sent something, as the log and the page write it.
pub(crate) const fn side_name(from: Role) -> &'static str {
    match from {
        Role::Client => "client",
        Role::Server => "server",
    }
}

struct Decoding {
    wire: WireDecoder,
    pings: PingTracker,
    /// Reused between pushes.
    items: Vec<WireItem>,
}

/// The record, decoding and counts of one relayed session.
pub(crate) struct Recorder {
    pub(crate) session: Arc<RelaySession>,
    hub: Arc<RelayHub>,
    decoding: Mutex<Decoding>,
    started: Instant,
    /// Microseconds from `started` to the last byte moved, either way.
    last_activity: AtomicU64,
    /// Log lines are made (`--relay-log`).
    logging: bool,
}

impl Recorder {
    /// `keep_payload`: payload bytes kept per message for the log (0 when
    /// there is no log: then only counts are made).
    pub(crate) fn new(
        session: Arc<RelaySession>,
        hub: Arc<RelayHub>,
        mut options: WireOptions,
        logging: bool,
        keep_payload: usize,
        started: Instant,
    ) -> Self {
        options.stream.keep_payload = if logging { keep_payload } else { 0 };
        session.tap.start(started);
        Recorder {
            session,
            hub,
            decoding: Mutex::new(Decoding {
                wire: WireDecoder::new(options),
                pings: PingTracker::new(),
                items: Vec::new(),
            }),
            started,
            last_activity: AtomicU64::new(0),
            logging,
        }
    }

    fn micros(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Bytes moved now.
    pub(crate) fn touch(&self) {
        self.last_activity.store(self.micros(), Ordering::Relaxed);
    }

    /// When bytes last moved, in microseconds from the start.
    pub(crate) fn last_activity(&self) -> u64 {
        self.last_activity.load(Ordering::Relaxed)
    }

    /// The instant the session started.
    pub(crate) fn started(&self) -> Instant {
        self.started
    }

    /// Takes a copy of `data` as `from` sent it; returns the log lines it
    /// completed (none without a log).
    pub(crate) fn push(&self, from: Role, data: &[u8]) -> Vec<Line> {
        let dir = match from {
            Role::Client => Dir::ClientToServer,
            Role::Server => Dir::ServerToClient,
        };
        let t_us = self.session.tap.record(dir, data);
        let mut lines = Vec::new();
        let mut decoding = self.decoding.lock().unwrap_or_else(PoisonError::into_inner);
        let Decoding { wire, pings, items } = &mut *decoding;
        items.clear();
        wire.push(from, data, items);
        self.session.update(|s| {
            counts(s, from).bytes = counts(s, from).bytes.saturating_add(data.len() as u64);
            for item in items.iter() {
                count(s, item);
            }
        });
        if self.logging && !items.is_empty() {
            let time = humantime::format_rfc3339_micros(SystemTime::now()).to_string();
            let id = self.session.id;
            for item in items.iter() {
                line(id, &time, t_us, item, pings, &mut lines);
            }
        }
        drop(decoding);
        self.hub.touch(&self.session);
        lines
    }

    /// The session is over: its summary closed, its record told.
    pub(crate) fn end(&self, reason: &str) -> Vec<Line> {
        let duration = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let summary = self.session.update(|s| {
            s.state = State::Closed;
            s.ended = Some(reason.to_string());
            s.duration_ms = Some(duration);
            s.clone()
        });
        self.session.tap.end(reason);
        self.hub.touch(&self.session);
        let time = humantime::format_rfc3339_micros(SystemTime::now()).to_string();
        if self.logging {
            vec![Line::End { session: self.session.id, time, reason: reason.to_string(), summary }]
        } else {
            Vec::new()
        }
    }
}

fn counts(s: &mut super::hub::Summary, from: Role) -> &mut Counts {
    match from {
        Role::Client => &mut s.client,
        Role::Server => &mut s.server,
    }
}

fn deflate_json(p: DeflateParams) -> DeflateJson {
    DeflateJson {
        server_no_context_takeover: p.server_no_context_takeover,
        client_no_context_takeover: p.client_no_context_takeover,
        server_max_window_bits: p.server_max_window_bits,
        client_max_window_bits: p.client_max_window_bits,
    }
}

/// Counts one decoded item in the summary.
fn count(s: &mut super::hub::Summary, item: &WireItem) {
    match item {
        WireItem::Head { from: Role::Server, status, .. } => {
            s.status = *status;
            s.state = if *status == Some(101) { State::Open } else { State::Refused };
        }
        WireItem::Head { .. } | WireItem::Raw { .. } => {}
        WireItem::Deflate(agreed) => s.deflate = agreed.clone().ok().flatten().map(deflate_json),
        WireItem::Frame { from, frame } => {
            let c = counts(s, *from);
            c.frames = c.frames.saturating_add(1);
            c.violations = c.violations.saturating_add(frame.violations.len() as u64);
            if frame.header.opcode.is_control() {
                c.control = c.control.saturating_add(1);
            }
            if let Some((code, reason)) = &frame.close {
                s.close.get_or_insert_with(|| CloseSeen {
                    from: side_name(*from),
                    code: code.map(|c| c.0),
                    reason: reason.clone(),
                });
            }
        }
        WireItem::Message { from, .. } => {
            let c = counts(s, *from);
            c.messages = c.messages.saturating_add(1);
        }
    }
}

fn payload(bytes: &[u8], text: bool, whole: bool) -> Payload {
    match text.then(|| text_prefix(bytes, whole)).flatten() {
        Some(t) => Payload::Text(t.to_string()),
        None => Payload::Base64(base64::engine::general_purpose::STANDARD.encode(bytes)),
    }
}

fn message_line(session: u64, time: &str, t_us: u64, from: Role, m: &InspectedMessage) -> Line {
    let text = m.kind == DataKind::Text;
    let whole = m.complete && m.payload.len() as u64 == m.len;
    Line::Message {
        session,
        time: time.to_string(),
        t_us,
        from: side_name(from),
        index: m.index,
        kind: if text { "text" } else { "binary" },
        len: m.len,
        wire_len: m.wire_len,
        compressed: m.compressed,
        frames: m.frame_count,
        complete: m.complete,
        kept: m.payload.len(),
        payload: payload(&m.payload, text, whole),
    }
}

fn frame_lines(
    session: u64,
    time: &str,
    t_us: u64,
    from: Role,
    f: &InspectedFrame,
    answered: Option<Answered>,
    lines: &mut Vec<Line>,
) {
    for v in &f.violations {
        lines.push(Line::Violation {
            session,
            time: time.to_string(),
            t_us,
            from: side_name(from),
            frame: f.index,
            offset: f.offset,
            opcode: f.header.opcode.name(),
            rule: v.to_string(),
            close_code: v.close_code().0,
            rfc: v.rfc(),
            section: v.section(),
        });
    }
    if f.header.opcode.is_control() && f.complete {
        let (code, reason) = match &f.close {
            Some((code, reason)) => (code.map(|c| c.0), Some(reason.clone())),
            None => (None, None),
        };
        lines.push(Line::Control {
            session,
            time: time.to_string(),
            t_us,
            from: side_name(from),
            frame: f.index,
            opcode: f.header.opcode.name(),
            len: f.header.payload_len,
            code,
            reason,
            rtt_us: answered.map(|a| a.round_trip),
            payload: payload(&f.payload, f.header.opcode != OpCode::Close, true),
        });
    }
}

/// Log lines of one decoded item (`pings` pairs pongs with their pings).
pub(crate) fn line(
    session: u64,
    time: &str,
    t_us: u64,
    item: &WireItem,
    pings: &mut PingTracker,
    lines: &mut Vec<Line>,
) {
    let time_s = || time.to_string();
    match item {
        WireItem::Head { from, bytes, status } => lines.push(Line::Head {
            session,
            time: time_s(),
            t_us,
            from: side_name(*from),
            status: *status,
            head: String::from_utf8_lossy(bytes).into_owned(),
        }),
        WireItem::Deflate(Ok(None)) => {}
        WireItem::Deflate(Ok(Some(p))) => {
            lines.push(Line::Deflate { session, time: time_s(), t_us, params: Some(deflate_json(*p)), error: None })
        }
        WireItem::Deflate(Err(e)) => {
            lines.push(Line::Deflate { session, time: time_s(), t_us, params: None, error: Some(e.to_string()) });
        }
        WireItem::Raw { from, bytes } => {
            lines.push(Line::Raw { session, time: time_s(), t_us, from: side_name(*from), len: bytes.len() });
        }
        WireItem::Frame { from, frame } => {
            let answered = pings.frame(*from, frame, t_us);
            frame_lines(session, time, t_us, *from, frame, answered, lines);
        }
        WireItem::Message { from, message } => lines.push(message_line(session, time, t_us, *from, message)),
    }
}
