//! `wscope-core` for the explorer page.
//!
//! A thin layer: each function converts JavaScript input to the core's
//! types ([`input`]), asks the core, and converts the answer to plain
//! JavaScript objects ([`js`], through serde). No rule of the protocol is
//! written here; the page shows exactly what the server's own code decides.
//!
//! - [`handshake`]: key reports, request reports, the client's request.
//! - [`frames`]: the inspector, the builder, opcodes, fields, close codes.
//! - [`wire`]: a live connection's tap records, decoded as they arrive.

mod frames;
mod handshake;
mod input;
mod js;
mod paste;
mod wire;

pub use frames::*;
pub use handshake::*;
pub use wire::WireView;
