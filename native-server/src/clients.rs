//! `/clients/…`: wscope-check's client checker inside the server, so the
//! explorer can test the browser that shows it ("Test this browser"). The
//! page's own `new WebSocket(...)` opens `/clients/runCase?case=N&agent=NAME`
//! and echoes every message, as Autobahn's browser page did; the verdicts
//! are made here, on the server's side of the wire, and the page reads each
//! case's result with its bytes from `/clients/getCaseReport`. The
//! endpoints are Autobahn's fuzzingserver protocol under `/clients`, so any
//! client (not only the page's) can be tested against this server.
//!
//! Bounds: `--clients-max-connections` at once across all agents (8; more
//! are answered 503; 0 turns `/clients` off), `--clients-max-agents`
//! remembered (16; a new one takes the place of the one idle longest), each
//! case's bytes kept up to `--check-record-limit` for its agent's latest
//! case only, each case cut at its time limit (at least 5 s).

use crate::config::CheckLimits;
use crate::shared::Shared;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpStream;
use wscope_check::Settings;
use wscope_check::serve::{Board, ClientChecker, ServeOptions};
use wscope_core::handshake::Request;

/// The path prefix of the client checker's endpoints.
pub(crate) const PREFIX: &str = "/clients";

/// The checker, with every client case (Autobahn's 517 and wscope's own).
pub(crate) fn checker(limits: &CheckLimits) -> Arc<ClientChecker> {
    let cases = Arc::new(wscope_check::cases::for_clients());
    let board = Board::in_memory(cases, "this browser".into(), limits.client_agents.max(1)).evicting();
    let mut settings = Settings::new(limits.case_timeout);
    settings.record_limit = limits.record_limit;
    let options = ServeOptions {
        settings,
        max_connections: limits.client_connections.max(1),
        prefix: PREFIX.into(),
        ..ServeOptions::default()
    };
    ClientChecker::new(Arc::new(board), options)
}

/// Hands an upgrade request for `/clients/…` to the checker; the connection
/// ends with the endpoint, or at shutdown.
pub(crate) async fn serve(
    stream: TcpStream,
    request: Request,
    bytes: Vec<u8>,
    head_len: usize,
    accepted: Instant,
    shared: &Arc<Shared>,
) {
    let checker = Arc::clone(&shared.clients);
    tokio::select! {
        () = checker.serve_one(Box::new(stream), request, bytes, head_len, accepted) => {}
        () = shared.shutdown.cancelled() => {}
    }
}
