//! `--relay-mode intercept`: the relay holds a WebSocket with each side
//! (its own handshake with the upstream on the client's behalf, its own 101
//! to the client, a core connection per leg), so from the page a person can
//! hold a direction, edit a held message, drop it, or send a new one either
//! way. Messages are re-sent on the other leg by that leg's connection (a
//! compressed leg compresses with its own context); pings and pongs go on
//! at once; each close waits behind the messages before it.
//!
//! | file | one idea |
//! | --- | --- |
//! | `gate.rs` | holding: what passes, what waits, what the page took |
//! | `open.rs` | the two handshakes |
//! | `run.rs` | the two legs: bytes in and out, events through the gate, the page's commands |
//! | `control.rs` | `/relay/intercept?session=N`: the page's side |

pub(crate) mod control;
mod gate;
mod open;
mod run;

pub(crate) use gate::Side;
pub(crate) use open::{Opening, serve};

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};

/// A message's data as the page writes it: text, or bytes in base64.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Data {
    Text(String),
    Base64(String),
}

/// What the page asks of an intercepted session (JSON with a `type`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Command {
    /// Hold `from`'s messages, or let them go (with what was held).
    Hold { from: Side, on: bool },
    /// Send held message `id` on as it was.
    Release { id: u64 },
    /// Send held message `id` on with this data instead.
    Edit {
        id: u64,
        #[serde(flatten)]
        data: Data,
    },
    /// Forget held message `id`.
    Drop { id: u64 },
    /// Send a new message to `to`.
    Inject {
        to: Side,
        #[serde(flatten)]
        data: Data,
    },
    /// A page joined: the state, for it.
    #[serde(skip)]
    Hello,
    /// A page left: with none left, holds are lifted (nothing waits for a
    /// page that is not there).
    #[serde(skip)]
    Left,
}

/// The page's side of one intercepted session.
#[derive(Debug)]
pub(crate) struct Control {
    /// Commands to the session (bounded: a page that floods is told so).
    pub(crate) commands: mpsc::Sender<Command>,
    /// Notes (JSON text) to every page watching.
    pub(crate) notes: broadcast::Sender<String>,
}

/// Commands waiting at most.
pub(crate) const COMMAND_QUEUE: usize = 64;
/// Notes waiting for a slow page at most (it is told what it missed). A
/// note is at most a `state` note's previews (256 KiB) and what JSON makes
/// of them.
pub(crate) const NOTE_QUEUE: usize = 32;
/// Payload bytes of a held message the page is sent (a longer one can be
/// sent on or dropped, not edited).
pub(crate) const PREVIEW: usize = 16 * 1024;
