//! `wscope-check`: a conformance checker for any WebSocket server, and
//! (with [`serve`]) for any client.
//!
//! Each case opens a connection to the server under test, performs the
//! client's opening handshake with the core's `ClientHandshake`, writes the
//! frames the case prescribes (built by the core, valid or not), and reads
//! what the server answers with the core's `Connection` in the client role.
//! The events it saw are held against the case's expectations, as
//! Autobahn|Testsuite's fuzzingclient does, and every byte each way is kept
//! in the report.
//!
//! - [`verdict`]: what a case's outcome means.
//! - [`case`]: a case as data: what to send, what to expect.
//! - [`cases`]: the catalogue, by Autobahn's ids, and selection by pattern.
//! - [`own`]: what wscope's own cases (groups 14 and up) add.
//! - [`run`]: one case against one server, over TCP or TLS.
//! - [`report`]: the JSON report and the summary table.
//! - [`serve`]: the other half: a server that tests clients, speaking
//!   Autobahn's fuzzingserver protocol.

pub mod case;
pub mod cases;
pub mod own;
pub mod report;
pub mod run;
pub mod serve;
pub mod verdict;

pub use case::Case;
pub use run::{ConnectError, Outcome, Settings, Target, run_all, run_case};
pub use verdict::{CloseBehavior, Verdict};
