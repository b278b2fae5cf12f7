//! Shared pieces of the benchmark binaries: the command line every peer
//! echo server takes, and its runtime, so the three servers under test
//! differ only in their WebSocket stack.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::net::SocketAddr;

/// Flags shared by the peer echo servers.
#[derive(Debug, clap::Parser)]
pub struct PeerArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Tokio worker threads.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
}

/// Builds the same runtime wscope-server builds: multi-threaded with
/// `threads` workers.
pub fn runtime(threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(threads.max(1)).enable_all().build()
}

/// Announces the echo URL on stdout in the form `cargo xtask bench` reads.
pub fn announce(name: &str, addr: SocketAddr) {
    println!("{name}: echo: ws://{addr}/echo");
}
