//! One case against one server: connect (TCP, TLS for `wss://`), the
//! opening handshake, the case's frames, what comes back, the closing
//! handshake, and a verdict on each.

mod as_server;
mod batch;
mod connect;
mod exchange;
mod judge;
mod log;
mod opening;
mod own;
mod target;

pub use as_server::run_case_as_server;
pub use batch::run_all;
pub use connect::{ConnectError, Stream, connect, tls_config};
pub use exchange::{MAX_EVENTS, MAX_SEEN_BYTES};
pub use log::Record;
pub use target::Target;

use crate::case::{Case, Seen};
use crate::own::{Edit, Judge, Opening};
use crate::verdict::{CloseBehavior, Verdict};
use log::Log;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wscope_core::deflate::DeflateParams;
use wscope_core::handshake::{ClientHandshake, HandshakeLimits, ResponseError};
use wscope_core::{Decoded, Role};

/// Bytes a case keeps as records by default (both ways together); past it
/// the bytes are only counted (`Outcome::dropped_bytes`).
pub const DEFAULT_RECORD_LIMIT: usize = 1 << 20;

/// Most bytes of a response head the checker reads.
pub const HEAD_LIMIT: usize = 16 * 1024;

/// How cases run, whatever the case.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The least time a case may run before the client gives up (cases with
    /// big messages allow more).
    pub timeout: Duration,
    /// Bytes kept as records per case.
    pub record_limit: usize,
    /// TLS for `wss://` targets.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl Settings {
    /// Cases at least `timeout` long, [`DEFAULT_RECORD_LIMIT`], no TLS.
    pub fn new(timeout: Duration) -> Settings {
        Settings { timeout, record_limit: DEFAULT_RECORD_LIMIT, tls: None }
    }
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
    /// The code of the client's close frame (`Some(None)` for a close
    /// without a code).
    pub client_close: Option<Option<u16>>,
    /// The code of the server's close frame.
    pub server_close: Option<Option<u16>>,
    /// From connecting to the end.
    pub duration: Duration,
    /// Every byte each way, up to the record limit.
    pub records: Vec<Record>,
    /// Bytes past the record limit, counted but not kept.
    pub dropped_bytes: u64,
    /// Why no WebSocket was opened, when none was (the server could not be
    /// reached, TLS failed, or the answer was not a 101).
    pub no_websocket: Option<ConnectError>,
}

/// Runs `case` against `target`.
pub async fn run_case(target: &Target, case: &Case, settings: &Settings) -> Outcome {
    let mut outcome = match case.own.as_ref().map(|o| &o.opening) {
        Some(Opening::Edited(edit)) => run_edited(target, case, edit, settings).await,
        Some(Opening::Slow { interval }) => run_slow(target, case, *interval, settings).await,
        _ => run_standard(target, case, settings).await,
    };
    if case.own.as_ref().is_some_and(|o| o.check_alive) && outcome.no_websocket.is_none() {
        if let Err(e) = probe(target, settings).await {
            outcome.verdict = Verdict::Failed;
            outcome.reason = format!("after this case a new connection failed: {e} (before: {})", outcome.reason);
        }
    }
    outcome
}

/// A case that opens with the core's client handshake.
async fn run_standard(target: &Target, case: &Case, settings: &Settings) -> Outcome {
    let started = Instant::now();
    let deadline = started.checked_add(case.time_limit.max(settings.timeout)).unwrap_or(started);
    let mut log = Log::new(started, settings.record_limit);
    let mut stream = match connect::connect(target, settings.tls.as_ref(), deadline).await {
        Ok(s) => s,
        Err(e) => return unreachable(case, e, started, log),
    };
    let (deflate, rest) = match handshake(&mut stream, target, case, deadline, &mut log).await {
        Ok(done) => done,
        Err(e) => return unreachable(case, e, started, log),
    };
    let ex = exchange::exchange(stream, Role::Client, case, deflate, rest, deadline, &mut log).await;
    let (mut verdict, mut reason, close, close_reason) = judge::judge(case, &ex, Role::Client);
    let mut close = Some(close);
    if let Some(o) = &case.own {
        (verdict, reason) = own::exchange(o.judge, case, &ex, Role::Client);
        close = None;
    }
    Outcome {
        id: case.id.clone(),
        verdict,
        reason,
        close,
        close_reason,
        seen: ex.seen,
        client_close: ex.my_close,
        server_close: ex.peer_close,
        duration: started.elapsed(),
        records: log.records,
        dropped_bytes: log.dropped,
        no_websocket: None,
    }
}

fn nonce() -> [u8; 16] {
    let mut n = [0u8; 16];
    // A key need only be unpredictable to the server; a failure leaves zeros.
    let _ = getrandom::fill(&mut n);
    n
}

pub(crate) fn mask_key() -> [u8; 4] {
    let mut k = [0u8; 4];
    let _ = getrandom::fill(&mut k);
    k
}

/// The client's opening handshake; returns the permessage-deflate
/// parameters agreed and the bytes read past the 101.
async fn handshake(
    stream: &mut Box<dyn Stream>,
    target: &Target,
    case: &Case,
    deadline: Instant,
    log: &mut Log,
) -> Result<(Option<DeflateParams>, Vec<u8>), ConnectError> {
    let mut client = ClientHandshake::new(&target.host, &target.path, nonce());
    client.origin.clone_from(&target.origin);
    client.protocols.clone_from(&target.protocols);
    client.headers.clone_from(&target.headers);
    client.extensions.clone_from(&case.offer);
    let request = client.request().map_err(|e| ConnectError::Request(e.to_string()))?;
    log.push(true, &request);
    let wrote = tokio::time::timeout_at(deadline.into(), stream.write_all(&request)).await;
    if !matches!(wrote, Ok(Ok(()))) {
        return Err(ConnectError::Silent("the server closed the connection before the request was written".into()));
    }
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let limits = HandshakeLimits { max_head_len: HEAD_LIMIT, ..HandshakeLimits::default() };
    loop {
        let n = match tokio::time::timeout_at(deadline.into(), stream.read(&mut chunk)).await {
            Ok(Ok(0)) => return Err(ConnectError::Silent("the server closed the connection without answering".into())),
            Ok(Ok(n)) => n,
            Ok(Err(e)) => return Err(ConnectError::Silent(format!("reading the answer: {e}"))),
            Err(_) => return Err(ConnectError::Silent("no answer to the opening handshake in time".into())),
        };
        let got = chunk.get(..n).unwrap_or_default();
        log.push(false, got);
        buf.extend_from_slice(got);
        match client.check_response(&buf, &limits) {
            Ok(Decoded::Complete { value, len }) => {
                return Ok((value.deflate, buf.get(len..).unwrap_or_default().to_vec()));
            }
            Ok(Decoded::Incomplete { .. }) => {}
            Err(e) => return Err(ConnectError::Refused(e.to_string())),
        }
    }
}

/// Whether `target` is a WebSocket server at all: connects, makes a plain
/// opening handshake, and goes away; within `settings.timeout`. The error
/// says why not (unreachable, TLS, silence, not a 101).
pub async fn probe(target: &Target, settings: &Settings) -> Result<(), ConnectError> {
    let started = Instant::now();
    let deadline = started.checked_add(settings.timeout).unwrap_or(started);
    let mut log = Log::new(started, 0);
    let mut stream = connect::connect(target, settings.tls.as_ref(), deadline).await?;
    let plain = Case {
        id: String::new(),
        description: String::new(),
        expectation: String::new(),
        actions: Vec::new(),
        expected: Vec::new(),
        close: crate::case::CloseExpectation::normal(),
        time_limit: settings.timeout,
        rule: crate::case::Rule::Plain,
        offer: None,
        own: None,
    };
    handshake(&mut stream, target, &plain, deadline, &mut log).await?;
    // Going away (1001), masked, then the client is gone.
    let goodbye = crate::case::Action::Close(Some(1001)).encode(Some(mask_key()));
    let _ = tokio::time::timeout_at(deadline.into(), stream.write_all(&goodbye)).await;
    Ok(())
}

/// An outcome judged on the answer to the opening handshake alone.
fn answered(case: &Case, verdict: Verdict, reason: String, started: Instant, log: Log) -> Outcome {
    Outcome {
        id: case.id.clone(),
        verdict,
        reason,
        close: None,
        close_reason: "no WebSocket was opened".into(),
        seen: Vec::new(),
        client_close: None,
        server_close: None,
        duration: started.elapsed(),
        records: log.records,
        dropped_bytes: log.dropped,
        no_websocket: None,
    }
}

fn unreachable(case: &Case, e: ConnectError, started: Instant, log: Log) -> Outcome {
    let mut o = answered(case, Verdict::Failed, e.to_string(), started, log);
    o.no_websocket = Some(e);
    o
}

/// A case whose request breaks a rule on purpose (group 14): the answer is
/// judged; a valid 101 is followed by the closing handshake.
async fn run_edited(target: &Target, case: &Case, edit: &Edit, settings: &Settings) -> Outcome {
    let started = Instant::now();
    let deadline = started.checked_add(case.time_limit.max(settings.timeout)).unwrap_or(started);
    let mut log = Log::new(started, settings.record_limit);
    let stream = match connect::connect(target, settings.tls.as_ref(), deadline).await {
        Ok(s) => s,
        Err(e) => return unreachable(case, e, started, log),
    };
    let mut client = ClientHandshake::new(&target.host, &target.path, nonce());
    client.origin.clone_from(&target.origin);
    client.protocols = edit.protocols.clone().unwrap_or_else(|| target.protocols.clone());
    client.headers.clone_from(&target.headers);
    client.extensions.clone_from(&edit.extensions);
    let request = match client.request() {
        Ok(r) => opening::edit_request(&r, edit),
        Err(e) => return unreachable(case, ConnectError::Request(e.to_string()), started, log),
    };
    let (stream, answer) = opening::send(stream, &request, deadline, &mut log).await;
    // The 101 is checked as if nothing unknown had been offered: an unknown
    // extension or subprotocol chosen back is then "not offered".
    let mut judge_as = client.clone();
    if edit.extensions.is_some() {
        judge_as.extensions = None;
    }
    if edit.protocols.is_some() {
        judge_as.protocols = Vec::new();
    }
    let limits = HandshakeLimits { max_head_len: HEAD_LIMIT, ..HandshakeLimits::default() };
    let checked = match judge_as.check_response(&answer.bytes, &limits) {
        Ok(Decoded::Complete { .. }) => Ok(()),
        Ok(Decoded::Incomplete { .. }) => Err(ResponseError::Malformed("incomplete head")),
        Err(e) => Err(e),
    };
    let judge = case.own.as_ref().map_or(Judge::Accept, |o| o.judge);
    let unknown = edit.protocols.as_ref().and_then(|p| p.first()).map(String::as_str);
    let (verdict, reason) = own::answer(judge, &answer, &checked, unknown);
    let switched = answer.head.as_ref().is_some_and(|h| h.status == 101);
    // Open as the client that sent it, or as one that offered nothing
    // unknown (whose offer the core could not even read).
    let accepted = [&client, &judge_as].into_iter().find_map(|c| match c.check_response(&answer.bytes, &limits) {
        Ok(Decoded::Complete { value, len }) if switched => {
            Some((value.deflate, answer.bytes.get(len..).unwrap_or_default().to_vec()))
        }
        _ => None,
    });
    let Some((deflate, rest)) = accepted else { return answered(case, verdict, reason, started, log) };
    // A WebSocket is open: close it properly.
    let ex = exchange::exchange(stream, Role::Client, case, deflate, rest, deadline, &mut log).await;
    let (_, _, close, close_reason) = judge::judge(case, &ex, Role::Client);
    let mut o = answered(case, verdict, reason, started, log);
    (o.close, o.close_reason, o.seen, o.client_close, o.server_close) =
        (Some(close), close_reason, ex.seen, ex.my_close, ex.peer_close);
    o
}

/// A head that never ends (17.3).
async fn run_slow(target: &Target, case: &Case, interval: Duration, settings: &Settings) -> Outcome {
    let started = Instant::now();
    let deadline = started.checked_add(case.time_limit.max(settings.timeout)).unwrap_or(started);
    let mut log = Log::new(started, settings.record_limit);
    let mut stream = match connect::connect(target, settings.tls.as_ref(), deadline).await {
        Ok(s) => s,
        Err(e) => return unreachable(case, e, started, log),
    };
    let mut client = ClientHandshake::new(&target.host, &target.path, nonce());
    client.headers.clone_from(&target.headers);
    let request = match client.request() {
        Ok(r) => r,
        Err(e) => return unreachable(case, ConnectError::Request(e.to_string()), started, log),
    };
    // The request without its blank line: a head that is never finished.
    let head = request.strip_suffix(b"\r\n").unwrap_or(&request);
    let answer = opening::slow(&mut stream, head, interval, deadline, &mut log).await;
    let (verdict, reason) = own::slow(&answer);
    answered(case, verdict, reason, started, log)
}
