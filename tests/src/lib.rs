#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::cast_possible_truncation
    )
)]
//! Cross-crate tests of wscope: the server (`wscope-server`) started
//! in-process on a free port and driven over real TCP by clients that do not
//! share its protocol code: tokio-tungstenite, and a raw client that builds
//! and parses frames by hand and records every byte.
//!
//! - `backpressure`: a peer that never reads is stalled, not buffered.
//! - `deflate`: permessage-deflate negotiated, read, written, and its rules.
//! - `echo`: echo at every length form, UTF-8, fragmentation, ping, close,
//!   message and frame limits.
//! - `violations`: each protocol violation's exact close code, then TCP
//!   closed.
//! - `handshake`: every refusal's exact status, the accept value, static
//!   files.
//! - `tap`: the wire tap streams exactly the connection's bytes.
//! - `inject`: raw bytes to the server's own `/echo`, the reply reported.
//! - `check`: the conformance checker run for the page, its requests and
//!   notes, one run at a time.
//! - `relay`: `--relay`: bytes passed on unchanged and recorded, each
//!   side's rule breaks named, 502, the session cap, backpressure, the
//!   Sessions list.
//! - `relay_intercept`: `--relay-mode intercept`: hold, edit, drop, release,
//!   inject, each checked at the far side; each leg compresses on its own.
//! - `shutdown`: close 1001 to open WebSockets, no task left.
//! - `timers`: idle ping, idle close 1001, close deadline.
//! - `reliability`: many connections with every echo checked, silent and
//!   slowloris clients, the tap and inject caps, inject's only target.
//!
//! Everything here is `#[cfg(test)]`: run with `cargo test -p wscope-tests`.

#[cfg(test)]
mod support;

#[cfg(test)]
mod backpressure;
#[cfg(test)]
mod check;
#[cfg(test)]
mod deflate;
#[cfg(test)]
mod echo;
#[cfg(test)]
mod handshake;
#[cfg(test)]
mod inject;
#[cfg(test)]
mod relay;
#[cfg(test)]
mod relay_intercept;
#[cfg(test)]
mod reliability;
#[cfg(test)]
mod shutdown;
#[cfg(test)]
mod tap;
#[cfg(test)]
mod timers;
#[cfg(test)]
mod violations;
