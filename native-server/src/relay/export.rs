//! A relayed session's record, exported: `GET /relay/export/ID.jsonl` (the
//! lines `--relay-log` writes, made again from the record) and
//! `GET /relay/export/ID.har` (HAR 1.2 with `_resourceType: "websocket"`
//! and `_webSocketMessages`, as Chrome's DevTools writes a WebSocket, plus
//! `_wscope`: the session's summary, every rule broken and the raw records).
//!
//! Both decode the kept record again with the core, off the runtime. When
//! the record's start was dropped (`--relay-record-bytes`) nothing can be
//! decoded (the heads are gone); the export says so.

use super::hub::{RelaySession, SessionJson};
use super::log::Line;
use super::record::{line, side_name};
use crate::tap::Dir;
use base64::Engine as _;
use serde::Serialize;
use std::time::{Duration, SystemTime};
use wscope_core::Decoded;
use wscope_core::handshake::{HandshakeLimits, RequestHead, ResponseHead};
use wscope_core::pingpong::PingTracker;
use wscope_core::rules::DataKind;
use wscope_core::wire::{WireDecoder, WireItem, WireOptions};
use wscope_core::{OpCode, Role};

/// Most payload bytes an export carries in all; past it messages are
/// listed without their data (the record itself is bounded, but a
/// compressed record can inflate far beyond it).
pub(crate) const PAYLOAD_BUDGET: usize = 64 << 20;

/// The export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// JSON lines, as `--relay-log`.
    Jsonl,
    /// HAR 1.2, Chrome's WebSocket fields.
    Har,
}

impl Format {
    /// `ID.jsonl` or `ID.har` → the session id and the format.
    pub(crate) fn parse(name: &str) -> Option<(u64, Format)> {
        let (id, ext) = name.rsplit_once('.')?;
        let format = match ext {
            "jsonl" => Format::Jsonl,
            "har" => Format::Har,
            _ => return None,
        };
        Some((id.parse().ok()?, format))
    }

    /// The response's content type.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Format::Jsonl => "application/x-ndjson",
            Format::Har => "application/json",
        }
    }
}

/// One decoded item and when its chunk arrived.
struct Timed {
    t_us: u64,
    item: WireItem,
}

/// The record decoded, or why not.
struct Replay {
    items: Vec<Timed>,
    /// Raw chunks: (from, t_us, bytes).
    records: Vec<(Role, u64, Vec<u8>)>,
    /// Chunks dropped from the record's start.
    dropped: u64,
}

fn decode(session: &RelaySession, options: WireOptions) -> Replay {
    let unread = session.tap.read_from(0);
    let mut out = Replay { items: Vec::new(), records: Vec::new(), dropped: unread.missed };
    let mut wire = WireDecoder::new(options);
    let mut budget = PAYLOAD_BUDGET;
    for chunk in &unread.chunks {
        let from = match chunk.dir() {
            Dir::ClientToServer => Role::Client,
            Dir::ServerToClient => Role::Server,
        };
        out.records.push((from, chunk.micros(), chunk.data().to_vec()));
        if out.dropped > 0 {
            continue;
        }
        let mut items = Vec::new();
        wire.push(from, chunk.data(), &mut items);
        for mut item in items {
            // Within the budget, or without the payload.
            if let WireItem::Message { message, .. } = &mut item {
                if message.payload.len() > budget {
                    message.payload = Vec::new();
                }
                budget = budget.saturating_sub(message.payload.len());
            }
            out.items.push(Timed { t_us: chunk.micros(), item });
        }
    }
    out
}

/// `t + d`, or `t` past the clock's end.
fn after(t: SystemTime, d: Duration) -> SystemTime {
    t.checked_add(d).unwrap_or(t)
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_micros(t).to_string()
}

/// The session exported in `format`.
pub(crate) fn export(session: &RelaySession, format: Format, options: WireOptions) -> Vec<u8> {
    let decoded = decode(session, options);
    match format {
        Format::Jsonl => jsonl(session, &decoded),
        Format::Har => har(session, &decoded, options.head_limits),
    }
}

fn jsonl(session: &RelaySession, d: &Replay) -> Vec<u8> {
    let mut lines = vec![open_line(session)];
    let mut pings = PingTracker::new();
    for t in &d.items {
        let time = rfc3339(after(session.started, Duration::from_micros(t.t_us)));
        line(session.id, &time, t.t_us, &t.item, &mut pings, &mut lines);
    }
    let summary = session.summary();
    if let Some(reason) = &summary.ended {
        let end = after(session.started, Duration::from_millis(summary.duration_ms.unwrap_or(0)));
        lines.push(Line::End { session: session.id, time: rfc3339(end), reason: reason.clone(), summary });
    }
    let mut out = Vec::new();
    if d.dropped > 0 {
        let note = serde_json::json!({
            "type": "incomplete", "session": session.id,
            "dropped_chunks": d.dropped,
            "why": "the record's first chunks were dropped (--relay-record-bytes): nothing can be decoded",
        });
        out.extend_from_slice(note.to_string().as_bytes());
        out.push(b'\n');
    }
    for l in &lines {
        if let Ok(text) = serde_json::to_string(l) {
            out.extend_from_slice(text.as_bytes());
            out.push(b'\n');
        }
    }
    out
}

/// The log's first line for `session`.
pub(crate) fn open_line(session: &RelaySession) -> Line {
    Line::Open {
        session: session.id,
        time: rfc3339(session.started),
        relay: session.relay.to_string(),
        upstream: session.upstream.clone(),
        peer: session.peer.to_string(),
        target: session.target.clone(),
    }
}

#[derive(Serialize)]
struct NameValue {
    name: String,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HarRequest {
    method: String,
    url: String,
    http_version: String,
    cookies: [(); 0],
    headers: Vec<NameValue>,
    query_string: Vec<NameValue>,
    headers_size: i64,
    body_size: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HarContent {
    size: i64,
    mime_type: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HarResponse {
    status: u16,
    status_text: String,
    http_version: String,
    cookies: [(); 0],
    headers: Vec<NameValue>,
    content: HarContent,
    #[serde(rename = "redirectURL")]
    redirect_url: String,
    headers_size: i64,
    body_size: i64,
}

#[derive(Serialize)]
struct HarTimings {
    blocked: f64,
    dns: f64,
    connect: f64,
    send: f64,
    wait: f64,
    receive: f64,
    ssl: f64,
}

/// One entry of `_webSocketMessages`, as Chrome writes it.
#[derive(Serialize)]
struct WsMessage {
    /// `send` (the client's) or `receive` (the server's).
    #[serde(rename = "type")]
    kind: &'static str,
    /// Seconds since the Unix epoch.
    time: f64,
    /// 1 text, 2 binary.
    opcode: u8,
    /// The text, or base64 of binary data.
    data: String,
}

#[derive(Serialize)]
struct WscopeViolation {
    from: &'static str,
    t_us: u64,
    frame: usize,
    offset: u64,
    rule: String,
    close_code: u16,
    rfc: u16,
    section: &'static str,
}

#[derive(Serialize)]
struct WscopeRecord {
    from: &'static str,
    t_us: u64,
    base64: String,
}

#[derive(Serialize)]
struct Wscope {
    session: SessionJson,
    violations: Vec<WscopeViolation>,
    /// Chunks dropped from the record's start (then nothing was decoded).
    dropped_chunks: u64,
    records: Vec<WscopeRecord>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HarEntry {
    started_date_time: String,
    time: f64,
    request: HarRequest,
    response: HarResponse,
    cache: serde_json::Map<String, serde_json::Value>,
    timings: HarTimings,
    #[serde(rename = "_resourceType")]
    resource_type: &'static str,
    #[serde(rename = "_webSocketMessages")]
    web_socket_messages: Vec<WsMessage>,
    #[serde(rename = "_wscope")]
    wscope: Wscope,
}

#[derive(Serialize)]
struct Creator {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct HarLog {
    version: &'static str,
    creator: Creator,
    pages: [(); 0],
    entries: [HarEntry; 1],
}

#[derive(Serialize)]
struct Har {
    log: HarLog,
}

fn name_values(headers: &[(String, Vec<u8>)]) -> Vec<NameValue> {
    headers.iter().map(|(n, v)| NameValue { name: n.clone(), value: String::from_utf8_lossy(v).into_owned() }).collect()
}

fn query(target: &str) -> Vec<NameValue> {
    let Some((_, q)) = target.split_once('?') else { return Vec::new() };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            NameValue { name: n.to_string(), value: v.to_string() }
        })
        .collect()
}

fn seconds(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

#[allow(clippy::cast_precision_loss, clippy::cast_possible_wrap)]
fn har(session: &RelaySession, d: &Replay, limits: HandshakeLimits) -> Vec<u8> {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let mut request = None;
    let mut response = None;
    let mut response_at = None;
    let mut messages = Vec::new();
    let mut violations = Vec::new();
    for t in &d.items {
        match &t.item {
            WireItem::Head { from: Role::Client, bytes, .. } => {
                if let Ok(Decoded::Complete { value, .. }) = RequestHead::parse(bytes, &limits) {
                    request = Some((value, bytes.len()));
                }
            }
            WireItem::Head { from: Role::Server, bytes, .. } => {
                if let Ok(Decoded::Complete { value, .. }) = ResponseHead::parse(bytes, &limits) {
                    response = Some((value, bytes.len()));
                    response_at = Some(t.t_us);
                }
            }
            WireItem::Message { from, message } => {
                let at = after(session.started, Duration::from_micros(t.t_us));
                let (opcode, data) = match (message.kind, message.text()) {
                    (DataKind::Text, Some(text)) => (OpCode::Text, text.to_string()),
                    (DataKind::Text, None) => (OpCode::Text, String::from_utf8_lossy(&message.payload).into_owned()),
                    (DataKind::Binary, _) => (OpCode::Binary, b64(&message.payload)),
                };
                let kind = if *from == Role::Client { "send" } else { "receive" };
                messages.push(WsMessage { kind, time: seconds(at), opcode: opcode.bits(), data });
            }
            WireItem::Frame { from, frame } => {
                for v in &frame.violations {
                    violations.push(WscopeViolation {
                        from: side_name(*from),
                        t_us: t.t_us,
                        frame: frame.index,
                        offset: frame.offset,
                        rule: v.to_string(),
                        close_code: v.close_code().0,
                        rfc: v.rfc(),
                        section: v.section(),
                    });
                }
            }
            _ => {}
        }
    }
    let summary = session.summary();
    let host = request
        .as_ref()
        .and_then(|(r, _)| r.header("host"))
        .map_or_else(|| session.relay.to_string(), |h| String::from_utf8_lossy(h).into_owned());
    let har_request = match &request {
        Some((r, len)) => HarRequest {
            method: r.method.clone(),
            url: format!("ws://{host}{}", r.target),
            http_version: format!("HTTP/1.{}", r.minor_version),
            cookies: [],
            headers: name_values(&r.headers),
            query_string: query(&r.target),
            headers_size: *len as i64,
            body_size: 0,
        },
        None => HarRequest {
            method: "GET".into(),
            url: format!("ws://{host}{}", session.target),
            http_version: "HTTP/1.1".into(),
            cookies: [],
            headers: Vec::new(),
            query_string: query(&session.target),
            headers_size: -1,
            body_size: 0,
        },
    };
    let har_response = match &response {
        Some((r, len)) => HarResponse {
            status: r.status,
            status_text: r.reason.clone(),
            http_version: format!("HTTP/1.{}", r.minor_version),
            cookies: [],
            headers: name_values(&r.headers),
            content: HarContent { size: 0, mime_type: "x-unknown".into() },
            redirect_url: String::new(),
            headers_size: *len as i64,
            body_size: 0,
        },
        None => HarResponse {
            status: 0,
            status_text: String::new(),
            http_version: String::new(),
            cookies: [],
            headers: Vec::new(),
            content: HarContent { size: 0, mime_type: "x-unknown".into() },
            redirect_url: String::new(),
            headers_size: -1,
            body_size: 0,
        },
    };
    // HAR 1.2: send, wait and receive are never -1, and `time` is the sum
    // of the timings: the wait is until the upstream's head, the receive
    // the rest of the session.
    let wait = response_at.map_or(0.0, |t| t as f64 / 1000.0);
    let time = summary.duration_ms.map_or(wait, |ms| (ms as f64).max(wait));
    let receive = time - wait;
    let entry = HarEntry {
        started_date_time: humantime::format_rfc3339_millis(session.started).to_string(),
        time,
        request: har_request,
        response: har_response,
        cache: serde_json::Map::new(),
        timings: HarTimings { blocked: -1.0, dns: -1.0, connect: -1.0, send: 0.0, wait, receive, ssl: -1.0 },
        resource_type: "websocket",
        web_socket_messages: messages,
        wscope: Wscope {
            session: session.json(),
            violations,
            dropped_chunks: d.dropped,
            records: d
                .records
                .iter()
                .map(|(from, t_us, b)| WscopeRecord { from: side_name(*from), t_us: *t_us, base64: b64(b) })
                .collect(),
        },
    };
    let har = Har {
        log: HarLog {
            version: "1.2",
            creator: Creator { name: "wscope", version: env!("CARGO_PKG_VERSION") },
            pages: [],
            entries: [entry],
        },
    };
    serde_json::to_vec_pretty(&har).unwrap_or_default()
}
