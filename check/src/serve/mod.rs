//! The client checker (`wscope-check --serve ADDR`): a server that speaks
//! Autobahn|Testsuite's fuzzingserver protocol, so the client drivers that
//! libraries already ship run against it unchanged:
//!
//! - `/getCaseCount`: one text message, the number of cases N;
//! - `/runCase?case=I&agent=NAME` (I = 1..N): case I for NAME, the client
//!   echoing every message until the checker closes;
//! - `/getCaseInfo?case=I`: `{"id": "1.1.1", "description": "…"}`;
//! - `/getCaseStatus?case=I&agent=NAME`: `{"behavior": "OK"}` once the case
//!   has a result;
//! - `/updateReports?agent=NAME`: the report written again (`--report`) and
//!   the summary printed; `&shutdownOnComplete=true` also stops the checker.
//!
//! and two of wscope's own, for pages and tools that want more than a
//! verdict:
//!
//! - `/getCaseList`: the ids of cases 1..N, a JSON array;
//! - `/getCaseReport?case=I&agent=NAME`: the case's result as the report
//!   writes it (verdict, reasons, closes, and every byte each way while it
//!   is the agent's latest case), once there is one.
//!
//! Each is a WebSocket connection (the command endpoints send their answer
//! and close). Anything else gets an HTTP answer that says what is wrong: an
//! unknown path 404, a bad or missing parameter 400, a request the core
//! refuses its status, a head that does not arrive in time 408; connections
//! past the limit 503. A case that never ends is cut at its time limit.

pub mod board;
mod http;

use crate::case::Case;
use crate::run::{Settings, Stream, run_case_as_server};
pub use board::Board;
use http::answer;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore};
use wscope_core::handshake::{HandshakeLimits, Request};

/// Refusals answered gently at once; past it, a refusal is written without
/// waiting and the connection dropped.
const REFUSALS: usize = 64;

/// How the client checker serves.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// How each case runs (the least time it may take, bytes kept).
    pub settings: Settings,
    /// Connections handled at once; more are answered 503.
    pub max_connections: usize,
    /// Time for a request head to arrive.
    pub head_timeout: Duration,
    /// Longest a `/getCaseStatus` waits for its result.
    pub status_wait: Duration,
    /// Print a line per case to stderr.
    pub verbose: bool,
    /// A path prefix before the endpoints (e.g. "/clients" inside
    /// wscope-server); empty for none.
    pub prefix: String,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            settings: Settings::new(Duration::from_secs(5)),
            max_connections: 64,
            head_timeout: Duration::from_secs(10),
            status_wait: Duration::from_secs(600),
            verbose: false,
            prefix: String::new(),
        }
    }
}

/// The checker's state while it serves.
#[derive(Debug)]
pub struct ClientChecker {
    board: Arc<Board>,
    options: ServeOptions,
    slots: Arc<Semaphore>,
    /// Refusals being answered at once (each holds its connection for at
    /// most about two seconds).
    refusals: Arc<Semaphore>,
    stop: Notify,
}

impl ClientChecker {
    /// A checker keeping its results on `board`.
    pub fn new(board: Arc<Board>, options: ServeOptions) -> Arc<ClientChecker> {
        let slots = Arc::new(Semaphore::new(options.max_connections.max(1)));
        let refusals = Arc::new(Semaphore::new(REFUSALS));
        Arc::new(ClientChecker { board, options, slots, refusals, stop: Notify::new() })
    }

    /// The results.
    pub fn board(&self) -> &Board {
        &self.board
    }

    /// Serves on `listener` until an agent asks `/updateReports` with
    /// `shutdownOnComplete=true` (or the future is dropped).
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        let stopped = self.stop.notified();
        tokio::pin!(stopped);
        loop {
            let accepted = tokio::select! {
                () = &mut stopped => return,
                accepted = listener.accept() => accepted,
            };
            let Ok((tcp, _)) = accepted else {
                // Out of descriptors, most likely: a moment, then on.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let _ = tcp.set_nodelay(true);
            match Arc::clone(&self.slots).try_acquire_owned() {
                Ok(slot) => {
                    let me = Arc::clone(&self);
                    tokio::spawn(async move {
                        me.handle(Box::new(tcp)).await;
                        drop(slot);
                    });
                }
                Err(_) => {
                    let refusal = self.busy();
                    match Arc::clone(&self.refusals).try_acquire_owned() {
                        // Answered and closed gently (the answer is read,
                        // not lost to a reset), a bounded number at once.
                        Ok(slot) => {
                            tokio::spawn(async move {
                                http::answer_and_close(Box::new(tcp), &refusal).await;
                                drop(slot);
                            });
                        }
                        // A flood: the answer goes into the empty send
                        // buffer and the connection at once.
                        Err(_) => {
                            let _ = tcp.try_write(&refusal);
                        }
                    }
                }
            }
        }
    }

    /// The 503 for a connection past `max_connections`.
    fn busy(&self) -> Vec<u8> {
        let body = format!("the checker handles {} connections at once\n", self.options.max_connections);
        answer(503, "Service Unavailable", &body)
    }

    /// One connection: its request, then the endpoint it names.
    async fn handle(&self, stream: Box<dyn Stream>) {
        let started = Instant::now();
        let deadline = started.checked_add(self.options.head_timeout).unwrap_or(started);
        let limits = HandshakeLimits::default();
        let Some((stream, incoming)) = http::read_request(stream, &limits, deadline).await else { return };
        self.dispatch(stream, incoming.request, incoming.bytes, incoming.head_len, started).await;
    }

    /// Answers an upgrade request someone else has read (a server that
    /// routes its own paths here): `bytes` is every byte read, the head the
    /// first `head_len`, `started` when the connection was accepted. The
    /// connection is this checker's until the endpoint is done with it; past
    /// `max_connections` at once it is answered 503.
    pub async fn serve_one(
        &self,
        stream: Box<dyn Stream>,
        request: Request,
        bytes: Vec<u8>,
        head_len: usize,
        started: Instant,
    ) {
        let Ok(_slot) = Arc::clone(&self.slots).try_acquire_owned() else {
            http::answer_and_close(stream, &self.busy()).await;
            return;
        };
        self.dispatch(stream, request, bytes, head_len, started).await;
    }

    async fn dispatch(
        &self,
        stream: Box<dyn Stream>,
        request: Request,
        bytes: Vec<u8>,
        head_len: usize,
        started: Instant,
    ) {
        let incoming = http::Incoming { request, bytes, head_len };
        let request = &incoming.request;
        let rest = incoming.bytes.get(incoming.head_len..).unwrap_or_default();
        let params = match http::params(request.query()) {
            Ok(p) => p,
            Err(e) => return refuse(stream, 400, "Bad Request", &e).await,
        };
        let total = self.board.cases().len();
        let number = match params.case.as_deref().map(str::parse::<usize>) {
            None => None,
            Some(Ok(n)) if (1..=total).contains(&n) => Some(n),
            Some(_) => {
                let why = format!("case must be a number from 1 to {total}, not {:?}", params.case.unwrap_or_default());
                return refuse(stream, 400, "Bad Request", &why).await;
            }
        };
        let case = number.and_then(|n| self.board.cases().get(n.wrapping_sub(1)));
        let agent = params.agent.as_deref().filter(|a| !a.is_empty());
        if let Some(a) = agent.filter(|a| a.len() > 128 || a.chars().any(unprintable)) {
            let why = format!("an agent name is at most 128 bytes of printable characters, not {a:?}");
            return refuse(stream, 400, "Bad Request", &why).await;
        }
        let path = request.path();
        let endpoint = path.strip_prefix(self.options.prefix.as_str()).unwrap_or(path);
        match endpoint {
            "/getCaseCount" => http::command(stream, request, rest, Some(&total.to_string())).await,
            "/getCaseList" => {
                let ids: Vec<&str> = self.board.cases().iter().map(|c| c.id.as_str()).collect();
                http::command(stream, request, rest, Some(&serde_json::json!(ids).to_string())).await;
            }
            "/getCaseInfo" => {
                let Some(case) = case else { return refuse(stream, 400, "Bad Request", "need case=N").await };
                let info = serde_json::json!({ "id": case.id, "description": case.description }).to_string();
                http::command(stream, request, rest, Some(&info)).await;
            }
            "/getCaseStatus" | "/getCaseReport" => {
                let (Some(n), Some(case), Some(agent)) = (number, case, agent) else {
                    return refuse(stream, 400, "Bad Request", "need case=N and agent=NAME").await;
                };
                let wait = case.time_limit.saturating_add(self.options.settings.timeout).min(self.options.status_wait);
                let found = self.board.wait_for(agent, n, wait).await;
                let missing = || serde_json::json!({ "id": case.id, "verdict": "MISSING" }).to_string();
                let answer = match (endpoint, found) {
                    ("/getCaseReport", Some(_)) => self.board.case_json(agent, n).unwrap_or_else(missing),
                    ("/getCaseReport", None) => missing(),
                    (_, v) => {
                        let behavior = v.map_or_else(|| "MISSING".to_owned(), |v| v.to_string());
                        serde_json::json!({ "behavior": behavior }).to_string()
                    }
                };
                http::command(stream, request, rest, Some(&answer)).await;
            }
            "/updateReports" => {
                let Some(agent) = agent else { return refuse(stream, 400, "Bad Request", "need agent=NAME").await };
                self.update_reports(agent).await;
                http::command(stream, request, rest, None).await;
                if params.shutdown {
                    self.stop.notify_one();
                }
            }
            "/runCase" => {
                let (Some(n), Some(case), Some(agent)) = (number, case, agent) else {
                    return refuse(stream, 400, "Bad Request", "need case=N and agent=NAME").await;
                };
                if let Err(e) = self.board.admits(agent) {
                    return refuse(stream, 503, "Service Unavailable", &e.to_string()).await;
                }
                self.board.starting(agent, n);
                self.run(stream, incoming, agent, n, case, started).await;
            }
            other => {
                let why = format!(
                    "no such endpoint {other:?}: this is wscope-check testing clients, with {p}/getCaseCount, \
                     {p}/runCase?case=N&agent=NAME, {p}/getCaseInfo?case=N, {p}/getCaseStatus?case=N&agent=NAME, \
                     {p}/updateReports?agent=NAME, {p}/getCaseList and {p}/getCaseReport?case=N&agent=NAME",
                    p = self.options.prefix
                );
                refuse(stream, 404, "Not Found", &why).await;
            }
        }
    }

    async fn run(
        &self,
        stream: Box<dyn Stream>,
        incoming: http::Incoming,
        agent: &str,
        n: usize,
        case: &Case,
        started: Instant,
    ) {
        let rest = incoming.bytes.get(incoming.head_len..).unwrap_or_default().to_vec();
        let outcome =
            run_case_as_server(stream, &incoming.request, &incoming.bytes, rest, case, &self.options.settings, started)
                .await;
        if self.options.verbose {
            let total = self.board.cases().len();
            let why =
                if outcome.verdict == crate::Verdict::Ok { String::new() } else { format!(": {}", outcome.reason) };
            eprintln!("wscope-check: {agent} {n}/{total} {} {}{why}", case.id, outcome.verdict);
        }
        if let Err(e) = self.board.record(agent, n, outcome) {
            eprintln!("wscope-check: {agent}: {e}");
        }
    }

    /// Writes the report (on a blocking thread: files, not the runtime)
    /// and prints the summary.
    async fn update_reports(&self, asked_by: &str) {
        let board = Arc::clone(&self.board);
        let written = tokio::task::spawn_blocking(move || board.write_report()).await;
        match written {
            Ok(Ok(Some(path))) => eprintln!("wscope-check: report {} (asked by {asked_by})", path.display()),
            Ok(Ok(None)) => {}
            Ok(Err(e)) => eprintln!("wscope-check: cannot write the report: {e}"),
            Err(e) => eprintln!("wscope-check: writing the report failed: {e}"),
        }
        if self.options.verbose {
            eprint!("{}", self.board.summary());
        }
    }
}

/// Control characters, and the invisible ones that reorder or hide text
/// (bidirectional marks and overrides, zero widths): not in an agent name,
/// which goes to terminals and pages.
fn unprintable(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}')
}

async fn refuse(stream: Box<dyn Stream>, status: u16, reason: &str, why: &str) {
    http::answer_and_close(stream, &answer(status, reason, &format!("{why}\n"))).await;
}
