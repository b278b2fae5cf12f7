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

// Talc, not the standard library's dlmalloc: 2.9 KB less of the page's
// module, gzipped (BENCHMARKS.md, goal 4); nothing here allocates on a hot
// path.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
