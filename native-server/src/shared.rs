//! The state every connection task shares, in its own module so that no
//! endpoint module depends on the crate root (which depends on them).

use crate::config::ServerConfig;
use crate::tap::TapHub;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// State every connection task shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: ServerConfig,
    /// Where the server itself listens (what `/inject` connects to).
    pub(crate) self_addr: SocketAddr,
    pub(crate) taps: TapHub,
    pub(crate) inject_permits: Arc<Semaphore>,
    /// One per connection that uses permessage-deflate.
    pub(crate) deflate_permits: Arc<Semaphore>,
    /// One `/check` run at a time on the whole server.
    pub(crate) check_permit: Arc<Semaphore>,
    /// The client checker behind `/clients/…`.
    pub(crate) clients: Arc<wscope_check::serve::ClientChecker>,
    /// The relayed sessions (`--relay`), for `/relay/…`.
    pub(crate) relays: Arc<crate::relay::hub::RelayHub>,
    /// Where each relay listens, once they are bound.
    pub(crate) relay_addrs: std::sync::OnceLock<Vec<SocketAddr>>,
    pub(crate) shutdown: CancellationToken,
    /// The runtimes connections are dealt to.
    pub(crate) workers: Arc<crate::workers::Workers>,
}
