//! One case against one server: connect (TCP, TLS for `wss://`), the
//! opening handshake, the case's frames, what comes back, the closing
//! handshake, and a verdict on each.

mod connect;
mod exchange;
mod judge;
mod log;
mod target;

pub use connect::{ConnectError, Stream, tls_config};
pub use exchange::MAX_EVENTS;
pub use log::Record;
pub use target::Target;

use crate::case::{Case, Seen};
use crate::verdict::{CloseBehavior, Verdict};
use log::Log;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wscope_core::Decoded;
use wscope_core::deflate::DeflateParams;
use wscope_core::handshake::{ClientHandshake, HandshakeLimits};

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
    let started = Instant::now();
    let deadline = started.checked_add(case.time_limit.max(settings.timeout)).unwrap_or(started);
    let mut log = Log::new(started, settings.record_limit);
    let failed = |e: ConnectError, log: Log| Outcome {
        id: case.id.clone(),
        verdict: Verdict::Failed,
        reason: e.to_string(),
        close: None,
        close_reason: "no WebSocket was opened".into(),
        seen: Vec::new(),
        client_close: None,
        server_close: None,
        duration: started.elapsed(),
        records: log.records,
        dropped_bytes: log.dropped,
        no_websocket: Some(e),
    };
    let mut stream = match connect::connect(target, settings.tls.as_ref(), deadline).await {
        Ok(s) => s,
        Err(e) => return failed(e, log),
    };
    let (deflate, rest) = match handshake(&mut stream, target, case, deadline, &mut log).await {
        Ok(done) => done,
        Err(e) => return failed(e, log),
    };
    let ex = exchange::exchange(stream, case, deflate, rest, deadline, &mut log).await;
    let (verdict, reason, close, close_reason) = judge::judge(case, &ex);
    Outcome {
        id: case.id.clone(),
        verdict,
        reason,
        close: Some(close),
        close_reason,
        seen: ex.seen,
        client_close: ex.client_close,
        server_close: ex.server_close,
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
    };
    handshake(&mut stream, target, &plain, deadline, &mut log).await?;
    // Going away (1001), masked, then the client is gone.
    let goodbye = crate::case::Action::Close(Some(1001)).encode(mask_key());
    let _ = tokio::time::timeout_at(deadline.into(), stream.write_all(&goodbye)).await;
    Ok(())
}
