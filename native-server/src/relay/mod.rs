//! The relay (`--relay LISTEN=URL`): a listener whose clients get the
//! upstream the operator named, every byte passed on unchanged both ways
//! (only the request's `Host` is rewritten), while the core decodes a copy
//! of each direction and every rule either side breaks is flagged, never
//! enforced. Only operator-named upstreams are reached: nothing a client
//! or the page sends chooses a target.
//!
//! | file | one idea |
//! | --- | --- |
//! | `mod.rs` | the listeners, the session cap, reaching the upstream |
//! | `session.rs` | one relayed connection: head, upstream, both directions, how it ended |
//! | `pipe.rs` | one direction: read a chunk, record a copy, write it on |
//! | `record.rs` | the copy: the record, the core's decoding, counts, log lines |
//! | `hub.rs` | the sessions remembered, their summaries and records |
//! | `log.rs` | `--relay-log`: JSON lines |
//! | `export.rs` | a session's record as JSON lines or HAR, decoded again |
//! | `watch.rs` | `/relay/sessions`: the Sessions panel's live list |
//! | `intercept/` | `--relay-mode intercept`: a WebSocket with each side, the page's hold, edit, drop and inject |

pub(crate) mod export;
pub mod hub;
pub(crate) mod intercept;
mod log;
pub(crate) mod pipe;
pub(crate) mod record;
pub(crate) mod session;
pub(crate) mod watch;

use crate::config::{RelayConfig, RelaySpec, ServerConfig};
use crate::workers::Workers;
use hub::RelayHub;
use log::RelayLog;
use pipe::{Reader, Writer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};
use wscope_check::Target;
use wscope_core::handshake::{HandshakeError, HandshakeLimits};
use wscope_core::wire::WireOptions;

/// One relay, ready.
#[derive(Debug)]
pub(crate) struct Relay {
    /// Where it listens (the real port when 0 was asked).
    pub(crate) listen: SocketAddr,
    /// The upstream URL as the operator wrote it.
    pub(crate) upstream: String,
    /// The same, read.
    pub(crate) target: Target,
}

/// What every relayed session shares.
pub(crate) struct RelayShared {
    pub(crate) config: RelayConfig,
    pub(crate) hub: Arc<RelayHub>,
    pub(crate) log: Option<RelayLog>,
    tls: Option<Arc<rustls::ClientConfig>>,
    pub(crate) head_limits: HandshakeLimits,
    pub(crate) handshake_timeout: Duration,
    /// Messages past this are flagged (section 10.4) and not inflated
    /// further: the server's `--max-message-size`.
    pub(crate) max_message_size: u64,
    /// Intercepting: each leg's connection limits.
    pub(crate) ws: wscope_core::connection::Config,
    /// Intercepting: permessage-deflate with the client, as `/echo` would.
    pub(crate) deflate: Option<wscope_core::deflate::ServerDeflateConfig>,
    pub(crate) shutdown: CancellationToken,
}

/// How a relayed session is decoded: the server's head limits, messages
/// judged against `--max-message-size` (which also bounds inflating), and
/// `keep` payload bytes kept per frame and message.
pub(crate) fn wire_options(head_limits: HandshakeLimits, max_message_size: u64, keep: usize) -> WireOptions {
    let defaults = WireOptions::default();
    WireOptions {
        head_limits,
        stream: wscope_core::stream::StreamOptions {
            max_message_size: Some(max_message_size),
            keep_payload: keep,
            ..defaults.stream
        },
        ..defaults
    }
}

/// Binds every relay and starts accepting (fails if one cannot listen, its
/// upstream cannot be read, the TLS roots cannot be loaded or the log file
/// cannot be created).
/// Returns each relay's address, in the order they were named.
pub(crate) async fn start(
    config: &ServerConfig,
    hub: &Arc<RelayHub>,
    shutdown: CancellationToken,
    tracker: &TaskTracker,
    workers: &Arc<Workers>,
) -> std::io::Result<Vec<SocketAddr>> {
    let rc = &config.relay;
    let invalid = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
    let mut relays = Vec::new();
    for RelaySpec { listen, upstream } in &rc.relays {
        let target = Target::parse(upstream).map_err(invalid)?;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| std::io::Error::new(e.kind(), format!("relay {listen}: {e}")))?;
        let listen = listener.local_addr()?;
        relays.push((listener, Arc::new(Relay { listen, upstream: upstream.clone(), target })));
    }
    let tls = if relays.iter().any(|(_, r)| r.target.tls) {
        Some(wscope_check::run::tls_config(rc.ca.as_deref(), rc.insecure).map_err(invalid)?)
    } else {
        None
    };
    let log = match &rc.log {
        Some(path) => Some(
            RelayLog::open(path, tracker)
                .await
                .map_err(|e| std::io::Error::new(e.kind(), format!("--relay-log {}: {e}", path.display())))?,
        ),
        None => None,
    };
    let shared = Arc::new(RelayShared {
        config: rc.clone(),
        hub: Arc::clone(hub),
        log,
        tls,
        head_limits: config.handshake,
        handshake_timeout: config.handshake_timeout,
        max_message_size: config.ws.max_message_size,
        ws: config.ws,
        deflate: config.deflate,
        shutdown,
    });
    let permits = Arc::new(Semaphore::new(rc.max_sessions));
    let addrs = relays.iter().map(|(_, r)| r.listen).collect();
    for (listener, relay) in relays {
        info!(listen = %relay.listen, upstream = %relay.upstream, "relay listening");
        let accept =
            Accept { shared: Arc::clone(&shared), permits: Arc::clone(&permits), workers: Arc::clone(workers) };
        tracker.spawn(accept_loop(listener, relay, accept, tracker.clone()));
    }
    Ok(addrs)
}

/// What a relay's accept loop shares with the others.
struct Accept {
    shared: Arc<RelayShared>,
    permits: Arc<Semaphore>,
    workers: Arc<Workers>,
}

async fn accept_loop(listener: TcpListener, relay: Arc<Relay>, accept: Accept, tracker: TaskTracker) {
    let Accept { shared, permits, workers } = accept;
    loop {
        let (stream, peer) = tokio::select! {
            () = shared.shutdown.cancelled() => break,
            r = listener.accept() => match r {
                Ok(conn) => conn,
                Err(e) => {
                    warn!(relay = %relay.listen, error = %e, "relay: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            let refusal = HandshakeError::Refused {
                status: 503,
                message: format!("wscope relay: too many relayed connections (limit {})", shared.config.max_sessions),
            };
            let _ = stream.try_write(&refusal.response());
            continue;
        };
        let (relay, shared) = (Arc::clone(&relay), Arc::clone(&shared));
        workers.spawn(&tracker, stream, move |stream| async move {
            session::serve(stream, peer, relay, shared).await;
            drop(permit);
        });
    }
}

/// Reaches the upstream by `deadline`: TCP, and TLS for `wss://`. The
/// error is in words, for the 502.
async fn connect(relay: &Relay, shared: &RelayShared, deadline: Instant) -> Result<(Reader, Writer), String> {
    if relay.target.tls {
        let stream = wscope_check::run::connect(&relay.target, shared.tls.as_ref(), deadline)
            .await
            .map_err(|e| format!("cannot be reached: {e}"))?;
        let (rd, wr) = tokio::io::split(stream);
        return Ok((Reader::Tls(rd), Writer::Tls(wr)));
    }
    let addr = &relay.target.addr;
    let tcp = match tokio::time::timeout_at(deadline.into(), TcpStream::connect(addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(format!("cannot be reached: {e}")),
        Err(_) => {
            return Err(format!(
                "did not accept a connection within {}",
                humantime::format_duration(shared.config.connect_timeout)
            ));
        }
    };
    let _ = tcp.set_nodelay(true);
    let (rd, wr) = tcp.into_split();
    Ok((Reader::Tcp(rd), Writer::Tcp(wr)))
}
