//! One relayed connection, transparent: the client's request head read
//! (through the core, within the server's head limits and time), the
//! upstream reached, the head sent on with only `Host` rewritten, then the
//! bytes moved both ways unchanged until both sides closed, one failed, no
//! byte moved for `--relay-idle-timeout`, or the server shuts down.
//!
//! The record keeps what each peer sent: the client's head as the client
//! wrote it (the `Host` the upstream saw is in the session's `upstream`).

use super::hub::State;
use super::pipe::{PumpEnd, Reader, Writer, pump};
use super::record::Recorder;
use super::{Relay, RelayShared};
use crate::config::RelayMode;
use crate::head::{HeadEnd, read_head};
use crate::linger::close_then_drain;
use crate::tap::Tap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tracing::{debug, info};
use wscope_core::Role;
use wscope_core::handshake::HandshakeError;
use wscope_core::handshake::head::replace_header;

/// How long a refusal may take to send and to drain after.
const REFUSAL_LINGER: Duration = Duration::from_secs(2);
/// Most bytes read and dropped after a refusal.
const REFUSAL_DRAIN_BUDGET: usize = 64 * 1024;

/// Answers the client with `e` (a 4xx about its request, or a 502 about
/// the upstream) and closes gently.
async fn refuse(mut client: TcpStream, e: &HandshakeError) {
    let now = tokio::time::Instant::now();
    let until = now.checked_add(REFUSAL_LINGER).unwrap_or(now);
    let _ = tokio::time::timeout_at(until, client.write_all(&e.response())).await;
    close_then_drain(&mut client, until, REFUSAL_DRAIN_BUDGET, |_| {}).await;
}

pub(crate) fn bad_gateway(relay: &Relay, why: &str) -> HandshakeError {
    HandshakeError::Refused { status: 502, message: format!("wscope relay: the upstream {} {why}", relay.upstream) }
}

/// Relays one client connection.
pub(crate) async fn serve(mut client: TcpStream, peer: SocketAddr, relay: Arc<Relay>, shared: Arc<RelayShared>) {
    let started = Instant::now();
    let _ = client.set_nodelay(true);
    let head = tokio::select! {
        r = tokio::time::timeout(shared.handshake_timeout, read_head(&mut client, &shared.head_limits)) => r,
        () = shared.shutdown.cancelled() => return,
    };
    let (head, head_len, bytes) = match head {
        Err(_) => {
            debug!(%peer, relay = %relay.listen, "relay: no request head in time");
            return;
        }
        Ok(Err(HeadEnd::Gone)) => return,
        Ok(Err(HeadEnd::Refused(e))) => {
            info!(%peer, relay = %relay.listen, reason = %e, "relay: request refused");
            return refuse(client, &e).await;
        }
        Ok(Ok(head)) => head,
    };
    let session = shared.hub.open(relay.listen, &relay.upstream, peer, &head.target);
    let options = super::wire_options(shared.head_limits, shared.max_message_size, shared.config.log_payload);
    let recorder = Recorder::new(
        Arc::clone(&session),
        Arc::clone(&shared.hub),
        options,
        shared.log.is_some(),
        shared.config.log_payload,
        started,
    );
    let log = shared.log.as_ref();
    if let Some(log) = log {
        log.write(vec![super::export::open_line(&session)]).await;
    }
    info!(session = session.id, %peer, target = %head.target, upstream = %relay.upstream, "relay: session opened");
    let outcome = match shared.config.mode {
        RelayMode::Transparent => relay_session(client, &relay, &shared, &recorder, &bytes, head_len).await,
        RelayMode::Intercept => {
            let upstream_tap = Tap::detached(peer, &head.target, shared.config.record_bytes);
            upstream_tap.start(started);
            let _ = session.upstream_tap.set(Arc::clone(&upstream_tap));
            let opening = super::intercept::Opening {
                relay: &relay,
                shared: &shared,
                recorder: &recorder,
                head: &head,
                bytes: &bytes,
                head_len,
                upstream_tap: &upstream_tap,
            };
            let intercepted = super::intercept::serve(client, opening);
            let outcome = Box::pin(intercepted).await;
            upstream_tap.end("the session is over");
            outcome
        }
    };
    let reason = match outcome {
        Ok(reason) => reason,
        Err((client, e)) => {
            let why = e.to_string();
            refuse(client, &e).await;
            why
        }
    };
    info!(session = session.id, %peer, reason = %reason, "relay: session over");
    let lines = recorder.end(&reason);
    if let Some(log) = log {
        log.write(lines).await;
    }
}

/// Reaches the upstream, sends the request on and moves bytes until the
/// session is over; returns how it ended, or the answer to give the client
/// instead (502: the upstream cannot be reached, or not before shutdown, or
/// would not take the request).
async fn relay_session(
    client: TcpStream,
    relay: &Relay,
    shared: &RelayShared,
    recorder: &Recorder,
    bytes: &[u8],
    head_len: usize,
) -> Result<String, (TcpStream, HandshakeError)> {
    let head = bytes.get(..head_len).unwrap_or_default();
    let after = bytes.get(head_len..).unwrap_or_default();
    let Some(forwarded) = replace_header(head, "Host", &relay.target.host) else {
        return Err((client, bad_gateway(relay, "has a host name that cannot stand in a Host header")));
    };
    let deadline = Instant::now().checked_add(shared.config.connect_timeout).unwrap_or_else(Instant::now);
    let upstream = tokio::select! {
        r = super::connect(relay, shared, deadline) => r,
        () = shared.shutdown.cancelled() => Err("could not be reached before the server shut down".into()),
    };
    let (up_rd, mut up_wr) = match upstream {
        Ok(halves) => halves,
        Err(why) => return Err((client, bad_gateway(relay, &why))),
    };
    recorder.session.update(|s| s.state = State::Requested);
    shared.hub.touch(&recorder.session);
    let lines = recorder.push(Role::Client, bytes);
    if let Some(log) = &shared.log {
        log.write(lines).await;
    }
    let sent = async {
        up_wr.write_all(&forwarded).await?;
        up_wr.write_all(after).await
    };
    match tokio::time::timeout(shared.config.idle_timeout, sent).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err((client, bad_gateway(relay, &format!("failed while the request was sent: {e}")))),
        Err(_) => return Err((client, bad_gateway(relay, "did not take the request in time"))),
    }
    recorder.touch();
    let (cl_rd, cl_wr) = client.into_split();
    let log = shared.log.as_ref();
    let up = pump(Role::Client, Reader::Tcp(cl_rd), up_wr, recorder, log);
    let down = pump(Role::Server, up_rd, Writer::Tcp(cl_wr), recorder, log);
    Ok(run_pumps(up, down, recorder, shared).await)
}

/// Runs both directions until the session is over; returns how it ended.
pub(crate) async fn run_pumps(
    up: impl Future<Output = PumpEnd>,
    down: impl Future<Output = PumpEnd>,
    recorder: &Recorder,
    shared: &RelayShared,
) -> String {
    tokio::pin!(up, down);
    let mut up_end: Option<PumpEnd> = None;
    let mut down_end: Option<PumpEnd> = None;
    let mut first_closed: Option<Role> = None;
    let idle = shared.config.idle_timeout;
    loop {
        tokio::select! {
            end = &mut up, if up_end.is_none() => {
                if let Some(why) = failure(Role::Client, &end) {
                    return why;
                }
                first_closed.get_or_insert(Role::Client);
                up_end = Some(end);
            }
            end = &mut down, if down_end.is_none() => {
                if let Some(why) = failure(Role::Server, &end) {
                    return why;
                }
                first_closed.get_or_insert(Role::Server);
                down_end = Some(end);
            }
            () = idle_for(recorder, idle) => {
                return format!("no byte moved either way for {}", humantime::format_duration(idle));
            }
            () = shared.shutdown.cancelled() => return "the relay shut down".into(),
        }
        if up_end.is_some() && down_end.is_some() {
            return match first_closed {
                Some(Role::Server) => "the server closed the connection, then the client".into(),
                _ => "the client closed the connection, then the server".into(),
            };
        }
    }
}

/// A direction that failed ends the session, in these words.
fn failure(from: Role, end: &PumpEnd) -> Option<String> {
    let (sender, receiver) = match from {
        Role::Client => ("client", "server"),
        Role::Server => ("server", "client"),
    };
    match end {
        PumpEnd::Closed => None,
        PumpEnd::ReadFailed(e) => Some(format!("reading from the {sender} failed: {e}")),
        PumpEnd::WriteFailed(e) => Some(format!("writing to the {receiver} failed: {e}")),
    }
}

/// Returns once no byte has moved for `limit`.
pub(crate) async fn idle_for(recorder: &Recorder, limit: Duration) {
    loop {
        let last = recorder.last_activity();
        let at = recorder.started().checked_add(Duration::from_micros(last)).and_then(|t| t.checked_add(limit));
        match at {
            Some(at) => tokio::time::sleep_until(at.into()).await,
            None => std::future::pending::<()>().await,
        }
        if recorder.last_activity() == last {
            return;
        }
    }
}
