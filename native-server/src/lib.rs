//! The wscope echo server: the explorer page, a WebSocket echo at `/echo`,
//! a wire tap that shows a page the exact bytes of its own connection
//! (`/echo?tap=TOKEN` + `/tap?token=TOKEN`), and `/inject`, which writes raw
//! bytes to the server's own `/echo` and streams back the answer.
//!
//! All protocol work is `wscope-core`'s; this crate moves bytes, keeps
//! time, and enforces the server's own limits.

mod accept;
mod check;
mod clients;
pub mod config;
mod deadline;
mod head;
mod inject;
mod io;
pub mod limits;
mod linger;
pub mod notes;
pub mod relay;
mod shared;
mod statics;
pub mod tap;
mod tap_stream;
mod workers;
mod ws;

pub use config::{CheckLimits, InjectLimits, RelayConfig, RelayMode, RelaySpec, ServerConfig, TapLimits};
pub use workers::Workers;

use shared::Shared;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A running server.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    tracker: TaskTracker,
    relay_addrs: Vec<SocketAddr>,
}

impl Server {
    /// Binds `config.listen` and starts serving on the current Tokio runtime.
    pub async fn start(config: ServerConfig) -> std::io::Result<Server> {
        Server::start_on(config, Workers::here_only()).await
    }

    /// Binds `config.listen`, accepts on the current Tokio runtime and deals
    /// the connections (the echo's and the relays') to `workers`.
    pub async fn start_on(config: ServerConfig, workers: Workers) -> std::io::Result<Server> {
        let listener = TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        // Inject connects to the server itself: to the loopback of the
        // listener's own family when it listens on every address.
        let self_addr = match addr.ip() {
            std::net::IpAddr::V4(ip) if ip.is_unspecified() => {
                SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port())
            }
            std::net::IpAddr::V6(ip) if ip.is_unspecified() => {
                SocketAddr::new(std::net::Ipv6Addr::LOCALHOST.into(), addr.port())
            }
            _ => addr,
        };
        let shared = Arc::new(Shared {
            taps: tap::TapHub::new(config.tap),
            inject_permits: Arc::new(Semaphore::new(config.inject.max_concurrent)),
            deflate_permits: Arc::new(Semaphore::new(config.deflate_max_connections)),
            check_permit: Arc::new(Semaphore::new(1)),
            clients: clients::checker(&config.check),
            relays: Arc::new(relay::hub::RelayHub::new(config.relay.max_records, config.relay.record_bytes)),
            relay_addrs: std::sync::OnceLock::new(),
            shutdown: CancellationToken::new(),
            workers: Arc::new(workers),
            self_addr,
            config,
        });
        let tracker = TaskTracker::new();
        let relay_addrs = match relay::start(
            &shared.config,
            &shared.relays,
            shared.shutdown.clone(),
            &tracker,
            &shared.workers,
        )
        .await
        {
            Ok(addrs) => addrs,
            Err(e) => {
                // Stop the relays that did start.
                shared.shutdown.cancel();
                return Err(e);
            }
        };
        let _ = shared.relay_addrs.set(relay_addrs.clone());
        tracker.spawn(accept::accept_loop(listener, Arc::clone(&shared), tracker.clone()));
        Ok(Server { addr, shared, tracker, relay_addrs })
    }

    /// The address it listens on (with the real port when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Each relay's listening address, in the order `config.relay.relays`
    /// named them (real ports when 0 was asked).
    pub fn relay_addrs(&self) -> &[SocketAddr] {
        &self.relay_addrs
    }

    /// The relayed sessions remembered.
    pub fn relay_sessions(&self) -> &relay::hub::RelayHub {
        &self.shared.relays
    }

    /// Stops accepting, sends close 1001 to every open WebSocket, and waits
    /// for the connections to end, at most `shutdown_timeout`. Returns how
    /// many tasks were still running when the wait ended.
    pub async fn shutdown(self) -> usize {
        self.shared.shutdown.cancel();
        self.tracker.close();
        let _ = tokio::time::timeout(self.shared.config.shutdown_timeout, self.tracker.wait()).await;
        self.tracker.len()
    }
}
