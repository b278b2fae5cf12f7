//! One case against one server, over TCP: the opening handshake, the case's
//! frames, what comes back, the closing handshake, and a verdict on each.

use crate::case::{Action, Case, Rule, Seen};
use crate::verdict::{CloseBehavior, Verdict};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wscope_core::connection::{Config, Connection, Event, Message};
use wscope_core::handshake::{ClientHandshake, HandshakeLimits};
use wscope_core::{CloseCode, Decoded};

/// The server under test: where to connect and what to ask for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// `host:port` to connect to.
    pub addr: String,
    /// The `Host` header.
    pub host: String,
    /// The request target (path and query).
    pub path: String,
}

impl Target {
    /// A `ws://host[:port]/path` URL. (`wss://` is not supported yet.)
    pub fn parse(url: &str) -> Result<Target, String> {
        let rest = match url.split_once("://") {
            Some(("ws", rest)) => rest,
            Some(("wss", _)) => return Err("wss:// is not supported yet: use a ws:// URL".into()),
            _ => return Err(format!("{url:?} is not a ws:// URL")),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (rest.get(..i).unwrap_or_default(), rest.get(i..).unwrap_or("/")),
            None => (rest, "/"),
        };
        if authority.is_empty() {
            return Err(format!("{url:?} names no host"));
        }
        let has_port = authority.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok());
        let addr = if has_port { authority.to_owned() } else { format!("{authority}:80") };
        Ok(Target { addr, host: authority.to_owned(), path: path.to_owned() })
    }
}

/// Bytes that crossed the connection, in the tap's format: `from_client`,
/// microseconds since the connection was made, the bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Written by the client (the checker) rather than the server.
    pub from_client: bool,
    /// Microseconds since the TCP connection was made.
    pub micros: u64,
    /// The bytes, exactly.
    pub bytes: Vec<u8>,
}

/// What happened in one case, and the verdicts.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The case's id.
    pub id: String,
    /// What the server did, judged.
    pub verdict: Verdict,
    /// Why, in a line.
    pub reason: String,
    /// How the connection ended, judged (`None` when no WebSocket opened).
    pub close: Option<CloseBehavior>,
    /// Why, in a line.
    pub close_reason: String,
    /// What the client received.
    pub seen: Vec<Seen>,
    /// The code of the client's close frame, and of the server's (`Some(None)`
    /// for a close without a code).
    pub client_close: Option<Option<u16>>,
    /// The code of the server's close frame.
    pub server_close: Option<Option<u16>>,
    /// From connecting to the end.
    pub duration: Duration,
    /// Every byte each way, up to [`MAX_RECORDED`].
    pub records: Vec<Record>,
    /// Bytes past [`MAX_RECORDED`], counted but not kept.
    pub dropped_bytes: u64,
}

/// How the exchange went, before it is judged.
#[derive(Default)]
struct Exchange {
    seen: Vec<Seen>,
    client_close: Option<Option<u16>>,
    server_close: Option<Option<u16>>,
    /// The client's close went out before the server's arrived.
    client_closed_first: bool,
    /// The server closed TCP (read returned 0 or an error).
    server_dropped: bool,
    /// The time limit ran out; the client dropped the connection.
    timed_out: bool,
    /// The server's bytes broke a rule (the client failed the connection).
    server_violation: Option<String>,
    /// The server sent more than [`MAX_EVENTS`] events.
    flooded: bool,
}

/// Most bytes of a head the checker reads.
const HEAD_LIMIT: usize = 16 * 1024;

/// Most bytes a case keeps as records (each way together); past it the
/// bytes are only counted (`Outcome::dropped_bytes`).
pub const MAX_RECORDED: usize = 64 << 20;

/// Most events a case collects: a server that floods the client ends the
/// case there.
pub const MAX_EVENTS: usize = 10_000;

/// Every byte each way, up to [`MAX_RECORDED`].
struct Log {
    started: Instant,
    records: Vec<Record>,
    kept: usize,
    dropped: u64,
}

impl Log {
    fn push(&mut self, from_client: bool, bytes: &[u8]) {
        let take = bytes.len().min(MAX_RECORDED.saturating_sub(self.kept));
        if let Some(kept) = bytes.get(..take).filter(|k| !k.is_empty()) {
            self.records.push(Record { from_client, micros: micros(self.started), bytes: kept.to_vec() });
            self.kept = self.kept.saturating_add(take);
        }
        self.dropped = self.dropped.saturating_add(bytes.len().saturating_sub(take) as u64);
    }
}

/// Runs `case` against `target`; the case's time limit, at least `limit`.
pub async fn run_case(target: &Target, case: &Case, limit: Duration) -> Outcome {
    let started = Instant::now();
    let deadline = started.checked_add(case.time_limit.max(limit)).unwrap_or(started);
    let mut log = Log { started, records: Vec::new(), kept: 0, dropped: 0 };
    let failed = |reason: String, log: Log| Outcome {
        id: case.id.clone(),
        verdict: Verdict::Failed,
        reason,
        close: None,
        close_reason: "no WebSocket was opened".into(),
        seen: Vec::new(),
        client_close: None,
        server_close: None,
        duration: started.elapsed(),
        records: log.records,
        dropped_bytes: log.dropped,
    };
    let mut tcp = match tokio::time::timeout_at(deadline.into(), TcpStream::connect(&target.addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return failed(format!("cannot connect to {}: {e}", target.addr), log),
        Err(_) => return failed(format!("connecting to {} timed out", target.addr), log),
    };
    let _ = tcp.set_nodelay(true);
    let rest = match handshake(&mut tcp, target, deadline, &mut log).await {
        Ok(rest) => rest,
        Err(reason) => return failed(format!("opening handshake: {reason}"), log),
    };
    let ex = exchange(&mut tcp, case, rest, deadline, &mut log).await;
    judge(case, ex, started.elapsed(), log)
}

fn micros(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)
}

async fn write(tcp: &mut TcpStream, bytes: &[u8], log: &mut Log) -> bool {
    log.push(true, bytes);
    tcp.write_all(bytes).await.is_ok()
}

fn nonce() -> [u8; 16] {
    let mut n = [0u8; 16];
    // A key need only be unpredictable to the server; a failure leaves zeros.
    let _ = getrandom::fill(&mut n);
    n
}

fn mask_key() -> [u8; 4] {
    let mut k = [0u8; 4];
    let _ = getrandom::fill(&mut k);
    k
}

/// The client's opening handshake; returns the bytes read past the 101.
async fn handshake(tcp: &mut TcpStream, target: &Target, deadline: Instant, log: &mut Log) -> Result<Vec<u8>, String> {
    let client = ClientHandshake::new(&target.host, &target.path, nonce());
    let request = client.request().map_err(|e| e.to_string())?;
    if !write(tcp, &request, log).await {
        return Err("the server closed the connection before the request was written".into());
    }
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = match tokio::time::timeout_at(deadline.into(), tcp.read(&mut chunk)).await {
            Ok(Ok(0)) => return Err("the server closed the connection without answering".into()),
            Ok(Ok(n)) => n,
            Ok(Err(e)) => return Err(format!("reading the answer: {e}")),
            Err(_) => return Err("no answer in time".into()),
        };
        let got = chunk.get(..n).unwrap_or_default();
        log.push(false, got);
        buf.extend_from_slice(got);
        let limits = HandshakeLimits { max_head_len: HEAD_LIMIT, ..HandshakeLimits::default() };
        match client.check_response(&buf, &limits) {
            Ok(Decoded::Complete { len, .. }) => return Ok(buf.get(len..).unwrap_or_default().to_vec()),
            Ok(Decoded::Incomplete { .. }) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// The case's frames, then everything the server sends until the
/// connection ends or the time runs out; the client closes once what it saw
/// matches an expectation.
async fn exchange(tcp: &mut TcpStream, case: &Case, rest: Vec<u8>, deadline: Instant, log: &mut Log) -> Exchange {
    let config = Config { auto_pong: false, auto_close: false, ..Config::default() };
    let mut conn = Connection::client(config, Box::new(mask_key));
    let mut ex = Exchange::default();
    conn.receive_data(&rest);
    let mut chunk = vec![0u8; 64 * 1024];
    for action in &case.actions {
        if let Action::Pause(pause) = action {
            // What the server sends meanwhile is read into the connection.
            let until = Instant::now().checked_add(*pause).unwrap_or(deadline).min(deadline);
            while let Ok(Ok(n)) = tokio::time::timeout_at(until.into(), tcp.read(&mut chunk)).await {
                if n == 0 {
                    break;
                }
                let got = chunk.get(..n).unwrap_or_default();
                log.push(false, got);
                conn.receive_data(got);
            }
            continue;
        }
        match action {
            Action::Close(code) => {
                ex.client_close = Some(*code);
                ex.client_closed_first = true;
            }
            Action::CloseRaw(payload) => {
                let code = payload.get(..2).and_then(|c| <[u8; 2]>::try_from(c).ok()).map(u16::from_be_bytes);
                ex.client_close = Some(code);
                ex.client_closed_first = true;
            }
            _ => {}
        }
        let bytes = action.encode(mask_key());
        let piece = action.chop().unwrap_or(bytes.len()).max(1);
        for part in bytes.chunks(piece) {
            if !write(tcp, part, log).await {
                break;
            }
        }
    }
    loop {
        while let Some(event) = conn.next_event() {
            match event {
                Event::Text(t) => ex.seen.push(Seen::Text(t.into_bytes())),
                Event::Binary(b) => ex.seen.push(Seen::Binary(b)),
                Event::Ping(p) => ex.seen.push(Seen::Ping(p)),
                Event::Pong(p) => ex.seen.push(Seen::Pong(p)),
                Event::Close(frame) => {
                    ex.server_close = Some(frame.code.map(|c| c.0));
                    if ex.client_close.is_none() {
                        // Answer with the same code, as Autobahn's client does.
                        let _ = conn.send(Message::Close(frame.code.filter(|c| c.is_sendable()), ""));
                        ex.client_close = Some(frame.code.filter(|c| c.is_sendable()).map(|c| c.0));
                    }
                }
                Event::Failed(e) => {
                    // The core writes the close frame that fails the
                    // connection: the client closed it, not the server.
                    if ex.client_close.is_none() {
                        ex.client_close = Some(Some(e.close_code().0));
                        ex.client_closed_first = ex.server_close.is_none();
                    }
                    ex.server_violation = Some(e.to_string());
                }
            }
        }
        if ex.seen.len() >= MAX_EVENTS {
            ex.flooded = true;
            break;
        }
        if ex.client_close.is_none() && ex.server_close.is_none() && case.close.closed_by_client {
            let matched = case.expected.iter().any(|(_, events)| *events == ex.seen);
            if matched {
                let code = case.close.codes.first().copied().map(CloseCode);
                let _ = conn.send(Message::Close(code, ""));
                ex.client_close = Some(code.map(|c| c.0));
                ex.client_closed_first = true;
            }
        }
        let out = conn.take_output();
        if !out.is_empty() && !write(tcp, &out, log).await {
            ex.server_dropped = true;
            break;
        }
        // Failing the connection (section 7.1.7): after the close frame,
        // the client drops TCP itself.
        if ex.server_violation.is_some() {
            break;
        }
        match tokio::time::timeout_at(deadline.into(), tcp.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                ex.server_dropped = true;
                break;
            }
            Ok(Ok(n)) => {
                let got = chunk.get(..n).unwrap_or_default();
                log.push(false, got);
                conn.receive_data(got);
            }
            Err(_) => {
                ex.timed_out = true;
                break;
            }
        }
    }
    ex
}

fn judge(case: &Case, ex: Exchange, duration: Duration, log: Log) -> Outcome {
    let (verdict, reason) = match case.expected.iter().find(|(_, events)| *events == ex.seen) {
        Some((v, _)) => (*v, "the events match the expectation".to_owned()),
        None => {
            let want = case.expected.first().map(|(_, e)| list(e)).unwrap_or_default();
            let mut why = format!("expected {want}; received {}", list(&ex.seen));
            if let Some(v) = &ex.server_violation {
                why.push_str(&format!("; then the server broke a rule: {v}"));
            }
            if ex.flooded {
                why.push_str(&format!("; the case stopped at {MAX_EVENTS} events"));
            }
            (Verdict::Failed, why)
        }
    };
    let clean = ex.client_close.is_some() && ex.server_close.is_some();
    let expect = &case.close;
    // In Autobahn's order: who closed, whether cleanly, with what code, and
    // who dropped TCP.
    let (close, close_reason) = if ex.client_closed_first != expect.closed_by_client {
        (CloseBehavior::Failed, "the connection was closed by the wrong endpoint".to_owned())
    } else if expect.require_clean && !clean {
        (
            CloseBehavior::Unclean,
            if ex.timed_out {
                "no closing handshake before the time limit".to_owned()
            } else {
                "the connection ended without both close frames".to_owned()
            },
        )
    } else if let Some(Some(code)) = ex.server_close.filter(|c| c.is_some_and(|c| !expect.codes.contains(&c))) {
        (CloseBehavior::WrongCode, format!("the server closed with {code}; expected {:?} or no code", expect.codes))
    } else if ex.timed_out {
        (CloseBehavior::FailedByClient, "the server did not close TCP: the client dropped it (section 7.1.1)".into())
    } else if let Some(v) = &ex.server_violation {
        (CloseBehavior::FailedByClient, format!("the server broke a rule ({v}): the client failed the connection"))
    } else {
        (CloseBehavior::Ok, "the connection was closed properly".to_owned())
    };
    let (verdict, reason, close) = match case.rule {
        Rule::Plain => (verdict, reason, close),
        Rule::WrongCodeFails if close == CloseBehavior::WrongCode => (Verdict::Failed, close_reason.clone(), close),
        Rule::WrongCodeFails => (verdict, reason, close),
        Rule::Informational => (
            Verdict::Informational,
            format!("the RFC leaves this open; what happened: {reason}"),
            CloseBehavior::Informational,
        ),
    };
    Outcome {
        id: case.id.clone(),
        verdict,
        reason,
        close: Some(close),
        close_reason,
        seen: ex.seen,
        client_close: ex.client_close,
        server_close: ex.server_close,
        duration,
        records: log.records,
        dropped_bytes: log.dropped,
    }
}

/// "[text, 5 bytes; ping, 0 bytes]" or "nothing"; the first 10 events and
/// how many more.
fn list(events: &[Seen]) -> String {
    if events.is_empty() {
        return "nothing".into();
    }
    let shown: Vec<String> = events.iter().take(10).map(Seen::describe).collect();
    let more = events.len().saturating_sub(shown.len());
    let more = if more > 0 { format!("; and {more} more") } else { String::new() };
    format!("[{}{more}]", shown.join("; "))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]
    use super::*;

    #[test]
    fn records_are_bounded_and_the_rest_counted() {
        let mut log = Log { started: Instant::now(), records: Vec::new(), kept: 0, dropped: 0 };
        log.push(true, &vec![1u8; MAX_RECORDED - 10]);
        log.push(false, &[2u8; 25]);
        log.push(false, &[3u8; 5]);
        assert_eq!(log.records.len(), 2);
        assert_eq!(log.records[1].bytes.len(), 10);
        assert_eq!((log.kept, log.dropped), (MAX_RECORDED, 20));
    }

    #[test]
    fn long_event_lists_are_cut_in_reasons() {
        assert_eq!(list(&[]), "nothing");
        let many = vec![Seen::Pong(Vec::new()); 12];
        assert!(list(&many).ends_with("pong, 0 bytes; and 2 more]"), "{}", list(&many));
    }

    #[test]
    fn targets_from_urls() {
        let t = Target::parse("ws://127.0.0.1:9001/echo?x=1").unwrap();
        assert_eq!(
            (t.addr.as_str(), t.host.as_str(), t.path.as_str()),
            ("127.0.0.1:9001", "127.0.0.1:9001", "/echo?x=1")
        );
        let t = Target::parse("ws://localhost").unwrap();
        assert_eq!((t.addr.as_str(), t.path.as_str()), ("localhost:80", "/"));
        assert!(Target::parse("http://x/").is_err());
        assert!(Target::parse("wss://x/").is_err());
        assert!(Target::parse("ws:///x").is_err());
    }
}
