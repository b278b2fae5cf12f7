//! Accepting connections, reading the request head, routing.
//!
//! The head is read and parsed by `wscope-core` (httparse underneath). The
//! WebSocket paths are judged by the core's handshake rules; every other
//! request is handed, with the bytes already read, to hyper for the static
//! files.

use crate::head::{HeadEnd, read_head};
use crate::io::Prefixed;
use crate::linger::close_then_drain;
use crate::shared::Shared;
use crate::ws::{self, Upgrade, WsStream};
use crate::{check, clients, inject, relay, statics, tap, tap_stream};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};
use wscope_core::handshake::{HandshakeError, Request};

pub(crate) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, tracker: TaskTracker) {
    let permits = Arc::new(Semaphore::new(shared.config.max_connections));
    loop {
        let (stream, peer) = tokio::select! {
            () = shared.shutdown.cancelled() => break,
            r = listener.accept() => match r {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: pause, don't spin.
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            // Refused without a task: the response fits the empty send buffer.
            let refusal = HandshakeError::Refused {
                status: 503,
                message: format!("too many connections (limit {})", shared.config.max_connections),
            };
            let _ = stream.try_write(&refusal.response());
            debug!(%peer, "refused: connection limit");
            continue;
        };
        let on = Arc::clone(&shared);
        shared.workers.spawn(&tracker, stream, move |stream| async move {
            handle(stream, peer, on).await;
            drop(permit);
        });
    }
}

/// Largest message a `/tap` subscriber may send (it has nothing to say).
const TAP_INPUT_LIMIT: u64 = 4096;

/// How long a refusal may take to send and to drain after.
const REFUSAL_LINGER: Duration = Duration::from_secs(2);
/// Most bytes read and dropped after a refusal.
const REFUSAL_DRAIN_BUDGET: usize = 64 * 1024;

async fn handle(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    // The handshake's state lives in its own allocation, freed once the
    // WebSocket is open: an open connection's task keeps only the session.
    let Some(open) = Box::pin(open(stream, peer, &shared)).await else { return };
    open.serve(&shared).await;
}

/// Which endpoint an open WebSocket is for.
enum Endpoint {
    Echo,
    Tap(Arc<tap::Tap>),
    /// `deflate`: offer permessage-deflate on the injected connections
    /// (`/inject?deflate=on`), so compressed frames can be injected.
    Inject {
        deflate: bool,
    },
    /// The conformance checker, run for the page.
    Check,
    /// The relayed sessions' live list.
    RelaySessions,
    /// An intercepted session's controls.
    Intercept(Arc<relay::hub::RelaySession>),
}

/// A WebSocket past its handshake, ready for its endpoint.
struct Open {
    ws: WsStream,
    endpoint: Endpoint,
    path: &'static str,
    peer: SocketAddr,
    accepted: Instant,
    /// The tap recording this connection (`/echo?tap=TOKEN`).
    tap: Option<Arc<tap::Tap>>,
    /// Held while the connection uses permessage-deflate.
    _deflate: Option<OwnedSemaphorePermit>,
}

impl Open {
    async fn serve(self, shared: &Arc<Shared>) {
        let Open { ws, endpoint, path, peer, accepted, tap, _deflate } = self;
        info!(%peer, path, "websocket open");
        let outcome = match endpoint {
            // Boxed: the rarer sessions' state does not enlarge every echo task.
            Endpoint::Tap(sub) => Box::pin(tap_stream::serve_subscriber(ws, sub, shared)).await,
            Endpoint::Inject { deflate } => Box::pin(inject::serve(ws, shared, deflate)).await,
            Endpoint::Check => Box::pin(check::serve(ws, shared)).await,
            Endpoint::RelaySessions => Box::pin(relay::watch::serve(ws, Arc::clone(&shared.relays), shared)).await,
            Endpoint::Intercept(session) => match session.control.get() {
                Some(control) => Box::pin(relay::intercept::control::serve(ws, control, shared)).await,
                None => ws::Outcome::default(),
            },
            Endpoint::Echo => ws::echo(ws, shared).await,
        };
        if let Some(tap) = tap {
            tap.end(&outcome.to_string());
        }
        info!(
            %peer,
            path,
            duration_ms = u64::try_from(accepted.elapsed().as_millis()).unwrap_or(u64::MAX),
            close = %outcome,
            "websocket closed"
        );
    }
}

/// Reads the request and answers it: a static file, a refusal, or the 101
/// that opens a WebSocket (returned for its endpoint to serve).
async fn open(mut stream: TcpStream, peer: SocketAddr, shared: &Arc<Shared>) -> Option<Open> {
    let accepted = Instant::now();
    let _ = stream.set_nodelay(true);
    let head = tokio::select! {
        r = tokio::time::timeout(shared.config.handshake_timeout, read_head(&mut stream, &shared.config.handshake)) => r,
        () = shared.shutdown.cancelled() => return None,
    };
    let (head, head_len, bytes) = match head {
        Err(_) => {
            debug!(%peer, "handshake timeout");
            return None;
        }
        Ok(Err(HeadEnd::Gone)) => return None,
        Ok(Err(HeadEnd::Refused(e))) => return refuse(stream, peer, &e).await,
        Ok(Ok(head)) => head,
    };
    let path = match head.path() {
        "/echo" => "/echo",
        "/tap" => "/tap",
        "/inject" => "/inject",
        "/check" => "/check",
        "/relay/sessions" => "/relay/sessions",
        "/relay/tap" => "/relay/tap",
        "/relay/intercept" => "/relay/intercept",
        p if shared.config.check.client_connections > 0
            && p.strip_prefix(clients::PREFIX).is_some_and(|r| r.starts_with('/')) =>
        {
            clients::PREFIX
        }
        _ => {
            Box::pin(statics::serve(Prefixed::new(bytes, stream), shared)).await;
            return None;
        }
    };
    let request = match head.upgrade().and_then(|r| check_origin(r, shared)) {
        Ok(r) => r,
        Err(e) => return refuse(stream, peer, &e).await,
    };
    if path == clients::PREFIX {
        Box::pin(clients::serve(stream, request, bytes, head_len, accepted, shared)).await;
        return None;
    }
    let tap = match (path, query_param(&request, "tap")) {
        ("/echo", Some(token)) => match shared.taps.attach(token, peer, &request.target) {
            Ok(tap) => Some(tap),
            Err(e) => return refuse(stream, peer, &e).await,
        },
        _ => None,
    };
    let endpoint = match path {
        "/tap" => match query_param(&request, "token").map(|t| shared.taps.subscribe(t)) {
            Some(Ok(tap)) => Endpoint::Tap(tap),
            Some(Err(e)) => return refuse(stream, peer, &e).await,
            None => {
                let e = HandshakeError::Refused { status: 400, message: "/tap needs ?token=TOKEN".into() };
                return refuse(stream, peer, &e).await;
            }
        },
        "/check" => Endpoint::Check,
        "/relay/sessions" => Endpoint::RelaySessions,
        "/relay/tap" | "/relay/intercept" => {
            let session = match query_param(&request, "session").and_then(|id| id.parse::<u64>().ok()) {
                Some(id) => match shared.relays.get(id) {
                    Some(session) => session,
                    None => {
                        let message =
                            format!("no relayed session {id} is kept (the oldest are dropped for newer ones)");
                        return refuse(stream, peer, &HandshakeError::Refused { status: 404, message }).await;
                    }
                },
                None => {
                    let message = format!("{path} needs ?session=ID");
                    return refuse(stream, peer, &HandshakeError::Refused { status: 400, message }).await;
                }
            };
            if path == "/relay/intercept" {
                if session.control.get().is_none() {
                    let message = format!(
                        "session {} is not intercepted (start the relay with --relay-mode intercept) or its legs are not open",
                        session.id
                    );
                    return refuse(stream, peer, &HandshakeError::Refused { status: 409, message }).await;
                }
                Endpoint::Intercept(session)
            } else if query_param(&request, "leg") == Some("upstream") {
                match session.upstream_tap.get() {
                    Some(tap) => Endpoint::Tap(Arc::clone(tap)),
                    None => {
                        let message = format!("session {} has one leg (it is not intercepted)", session.id);
                        return refuse(stream, peer, &HandshakeError::Refused { status: 404, message }).await;
                    }
                }
            } else {
                Endpoint::Tap(Arc::clone(&session.tap))
            }
        }
        "/inject" => {
            Endpoint::Inject { deflate: matches!(query_param(&request, "deflate"), Some("on" | "1" | "yes" | "true")) }
        }
        _ => Endpoint::Echo,
    };
    // Each endpoint takes only the messages it needs: the echo the configured
    // limits, /inject one injection's bytes, /tap nothing of size.
    let mut config = shared.config.ws;
    match endpoint {
        Endpoint::Inject { .. } => {
            let most = shared.config.inject.max_payload_bytes as u64;
            config.max_message_size = config.max_message_size.min(most);
            config.max_frame_size = config.max_frame_size.min(most);
        }
        Endpoint::Tap(_) | Endpoint::Check | Endpoint::RelaySessions => {
            config.max_message_size = config.max_message_size.min(TAP_INPUT_LIMIT);
            config.max_frame_size = config.max_frame_size.min(TAP_INPUT_LIMIT);
        }
        // Commands carry an edited or injected message: the echo's limits.
        Endpoint::Echo | Endpoint::Intercept(_) => {}
    }
    // permessage-deflate on the echo only, unless the page asked for the
    // plain form (`/echo?deflate=off`) to compare the two.
    let mut extensions = None;
    let mut deflate_permit = None;
    let plain = matches!(query_param(&request, "deflate"), Some("off" | "0" | "no" | "false"));
    if let (Endpoint::Echo, Some(deflate), false) = (&endpoint, &shared.config.deflate, plain) {
        let negotiation = wscope_core::deflate::negotiate(&request.extensions, deflate);
        for (_, why) in &negotiation.declined {
            debug!(%peer, reason = %why, "permessage-deflate offer declined");
        }
        if let Some((params, value)) = negotiation.accepted {
            match Arc::clone(&shared.deflate_permits).try_acquire_owned() {
                Ok(permit) => {
                    config.deflate = Some(params);
                    // Keeps the texts' last windows so a quiet connection
                    // can park (`--deflate-park-after`).
                    config.parkable_compression = shared.config.deflate_park_after.is_some();
                    extensions = Some(value);
                    deflate_permit = Some(permit);
                }
                Err(_) => debug!(%peer, "permessage-deflate declined: --deflate-max-connections reached"),
            }
        }
    }
    let upgrade = Upgrade {
        request: &request,
        bytes,
        head_len,
        accepted,
        tap: tap.clone(),
        config,
        extensions: extensions.as_deref(),
        timeout: shared.config.handshake_timeout,
    };
    match WsStream::accept(stream, upgrade).await {
        Ok(ws) => Some(Open { ws, endpoint, path, peer, accepted, tap, _deflate: deflate_permit }),
        Err(e) => {
            debug!(%peer, error = %e, "101 not delivered");
            if let Some(tap) = tap {
                tap.end("connection failed during the handshake");
            }
            None
        }
    }
}

/// Sends a handshake refusal and closes; there is no WebSocket to serve.
async fn refuse(mut stream: TcpStream, peer: SocketAddr, e: &HandshakeError) -> Option<Open> {
    info!(%peer, status = e.status(), reason = %e, "handshake refused");
    // One deadline for the response and the drain after it: a client that
    // neither reads nor closes cannot hold its connection slot longer.
    let now = tokio::time::Instant::now();
    let until = now.checked_add(REFUSAL_LINGER).unwrap_or(now);
    let _ = tokio::time::timeout_at(until, stream.write_all(&e.response())).await;
    close_then_drain(&mut stream, until, REFUSAL_DRAIN_BUDGET, |_| {}).await;
    None
}

fn check_origin(request: Request, shared: &Shared) -> Result<Request, HandshakeError> {
    let allowed = &shared.config.allow_origins;
    if allowed.is_empty() {
        return Ok(request);
    }
    match &request.origin {
        Some(o) if allowed.iter().any(|a| a.eq_ignore_ascii_case(o)) => Ok(request),
        other => Err(HandshakeError::OriginNotAllowed { origin: other.clone().unwrap_or_default() }),
    }
}

/// The value of `name` in the request's query (`a=1&b=2`), as sent.
fn query_param<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.query()?.split('&').find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}
