//! The JSON notes the server sends the page on `/tap` and `/inject`: the one
//! description of every note and field of that contract.
//!
//! Both streams send each chunk of bytes as a **binary** message (the record
//! format of [`crate::tap`]) and everything else as a **text** message
//! holding one JSON object whose `type` says which note it is. The page
//! reads them in `www/js/live.js` (tap) and `www/js/inject.js` (inject).
//! Two enums, because the two streams each have an `end` note and the two
//! do not carry the same fields: [`TapNote`] for `/tap`, [`InjectNote`] for
//! `/inject`.
//!
//! # `/tap?token=TOKEN` ([`TapNote`])
//!
//! | `type` | fields | when |
//! | --- | --- | --- |
//! | `hello` | `token_bits`: bits of randomness in the token (4 per hex digit); `connection`: the tapped connection, or `null` while it has not arrived | first, always |
//! | `open` | `connection`: the tapped connection | when it arrives after the `hello` (never if the `hello` named it) |
//! | `dropped` | `chunks`: chunks this subscriber will never be sent, dropped from the record (oldest first) to keep it within `--tap-max-bytes`; `record_dropped_chunks`: chunks the record has dropped in all so far; `record_dropped_bytes`: the data bytes of those chunks | just before the first chunk sent after a gap |
//! | `evicted` | none | the whole record was dropped for newer tapped connections (`--tap-max-connections`); the subscription then closes with 1001 |
//! | `end` | `reason`: how the tapped connection ended, in words | the tapped connection is over and every chunk was sent; the subscription then closes with 1000 |
//!
//! A connection is `{"peer": "127.0.0.1:5555", "target": "/echo?tap=…"}`:
//! the client's address and port, and the request target it opened.
//!
//! Each chunk counts 64 bytes beyond its data against the cap (not in
//! `record_dropped_bytes`). A single chunk larger than the whole cap is
//! never kept: it counts in the record's totals at once, and a subscriber
//! sees it only in those totals of a later `dropped` note.
//!
//! # `/inject` ([`InjectNote`])
//!
//! | `type` | fields | when |
//! | --- | --- | --- |
//! | `start` | `id`: the injection's number in this session, from 1; `target`: the URL connected to (`ws://ADDR/echo`, the server itself); `bytes`: how many bytes will be written after the handshake | an injection starts |
//! | `handshake` | `id`; `ok`: whether `/echo` accepted the handshake; `error`: why not (only when `ok` is false) | the 101, or the refusal, has been read |
//! | `end` | `id`; `closed_by`: `"server"` (the echo closed the connection or failed it) or `"wscope"` (the time or reply limit, or a failure on wscope's side); `how`: what happened, in words; `elapsed_ms`: milliseconds since the injection started | the injected connection is over; the last note of an injection |
//! | `error` | `message`: why, in words | an injection refused outright (too large, a text message, too many waiting or running) |
//!
//! # `/relay/sessions` ([`RelayNote`])
//!
//! | `type` | fields | when |
//! | --- | --- | --- |
//! | `sessions` | `generation`: a number that grows with every change; `ids`: every kept relayed session's id, oldest first (a session no longer listed was dropped for newer ones, `--relay-max-records`); `changed`: the sessions that changed since the last note (all of them in the first), each as [`crate::relay::hub::SessionJson`] | first, then at most every 250 ms while anything changes |
//!
//! A session is `{"id", "relay", "upstream", "peer", "target", "started",
//! "evicted", "state", "status", "deflate", "client", "server", "close",
//! "ended", "duration_ms"}`: `state` is `connecting`, `requested`,
//! `open`, `refused` or `closed`; `client` and `server` count what each
//! side sent (`bytes`, `frames`, `messages`, `control`, `violations`);
//! `close` is the first close frame (`from`, `code`, `reason`). A session's
//! bytes are at `/relay/tap?session=ID`, which speaks `/tap`'s notes and
//! records (its `hello` has `token_bits` 0).
//!
//! # `/relay/intercept?session=ID` ([`InterceptNote`])
//!
//! An intercepted session's controls (`--relay-mode intercept`). The page
//! sends commands as text, each a JSON object with a `type`:
//! `{"type": "hold", "from": "client"|"server", "on": true|false}` (letting go
//! sends what was held, in order), `{"type": "release", "id": N}`,
//! `{"type": "edit", "id": N, "text": "…"}` or `… "base64": "…"`,
//! `{"type": "drop", "id": N}`, `{"type": "inject", "to": "client"|"server",
//! "text": "…"}` or `… "base64": "…"`. The server sends:
//!
//! | `type` | fields | when |
//! | --- | --- | --- |
//! | `state` | `hold_client`, `hold_server`: whether each side's messages are held; `held`: every held message | first, and after each hold change |
//! | `held` | `message`: a held message | a message (or a close) arrived from a held side |
//! | `sent` | `id` (`null` for an injected one), `from` (whose message it went on as), `kind`, `len`, `edited`, `injected` | a message went on |
//! | `dropped` | `id` | a held message was dropped |
//! | `error` | `message`: why, in words | a command could not be done |
//! | `lagged` | `missed`: notes this page missed (it read too slowly) | before the next note |
//! | `end` | `reason` | the session is over |
//!
//! A held message is `{"id", "from", "kind": "text"|"binary"|"close", "len",
//! "code" (a close's), "text" or "base64" (its first 16 KiB; a `state` note shows 256 KiB of all held messages together), "truncated"}`.
//! When the last page watching a session leaves, its holds are lifted and
//! what was held is sent: nothing waits for a page that is gone. A held close
//! cannot be dropped (the closing handshake would be left half done) and its
//! edit is its reason, as text; a command toward a side that is not taking
//! its messages (more than 256 KiB waiting) is refused with an `error`.
//!
//! The names on the wire are pinned by this module's tests; the server's
//! own tests read every note through these types.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use wscope_core::connection::{Connection, Message};

/// The tapped connection a `/tap` note names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TapConnection {
    /// The client's address and port.
    pub peer: SocketAddr,
    /// The request target it opened (`/echo?tap=…`).
    pub target: String,
}

/// A text message of `/tap` (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TapNote {
    /// The first message.
    Hello {
        /// Bits of randomness in the token.
        token_bits: u32,
        /// The tapped connection, `None` (`null`) until it arrives.
        connection: Option<TapConnection>,
    },
    /// The tapped connection arrived after the hello.
    Open {
        /// The tapped connection.
        connection: TapConnection,
    },
    /// A gap: chunks dropped before this subscriber was sent them.
    Dropped {
        /// Chunks this subscriber will never be sent.
        chunks: u64,
        /// Chunks the record dropped in all so far.
        record_dropped_chunks: u64,
        /// Data bytes the record dropped in all so far.
        record_dropped_bytes: u64,
    },
    /// The record was dropped for newer ones; close 1001 follows.
    Evicted,
    /// The tapped connection is over; close 1000 follows.
    End {
        /// How it ended, in words.
        reason: String,
    },
}

/// Who ended an injected connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClosedBy {
    /// The server's `/echo` closed or failed the connection.
    Server,
    /// wscope's injector did (a limit, or a failure on its side).
    Wscope,
}

/// A text message of `/inject` (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InjectNote {
    /// An injection starts.
    Start {
        /// Its number in this session, from 1.
        id: u64,
        /// The URL connected to: always the server's own `/echo`.
        target: String,
        /// Bytes to be written after the handshake.
        bytes: u64,
    },
    /// The handshake's outcome.
    Handshake {
        /// The injection's number.
        id: u64,
        /// Whether `/echo` accepted it.
        ok: bool,
        /// Why not; absent when `ok`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// The injected connection is over.
    End {
        /// The injection's number.
        id: u64,
        /// Who ended it.
        closed_by: ClosedBy,
        /// What happened, in words.
        how: String,
        /// Milliseconds since the injection started.
        elapsed_ms: u64,
    },
    /// An injection refused outright.
    Error {
        /// Why, in words.
        message: String,
    },
}

/// A text message of `/relay/sessions` (see the module documentation).
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RelayNote {
    /// What changed in the relayed sessions.
    Sessions {
        /// Grows with every change.
        generation: u64,
        /// Every kept session's id, oldest first.
        ids: Vec<u64>,
        /// The sessions that changed, as they are now.
        changed: Vec<crate::relay::hub::SessionJson>,
    },
}

/// A held message, as the page is shown it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HeldNote {
    /// Its number in the session.
    pub id: u64,
    /// Who sent it: `client` or `server`.
    pub from: &'static str,
    /// `text`, `binary` or `close`.
    pub kind: &'static str,
    /// Its length (a close's: its reason's).
    pub len: usize,
    /// A close's code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    /// Text: its first 16 KiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Binary: its first 16 KiB in base64.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base64: Option<String>,
    /// Longer than what is shown.
    pub truncated: bool,
}

/// A text message of `/relay/intercept` (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InterceptNote {
    /// The holds and what is held.
    State {
        /// The client's messages are held.
        hold_client: bool,
        /// The server's messages are held.
        hold_server: bool,
        /// Every held message.
        held: Vec<HeldNote>,
    },
    /// A message was held.
    Held {
        /// The message.
        message: HeldNote,
    },
    /// A message went on.
    Sent {
        /// The held message's number (`None`: injected).
        id: Option<u64>,
        /// Whose message it went on as: `client` or `server`.
        from: &'static str,
        /// `text`, `binary` or `close`.
        kind: &'static str,
        /// Its length.
        len: usize,
        /// Edited by the page.
        edited: bool,
        /// Made by the page.
        injected: bool,
    },
    /// A held message was dropped.
    Dropped {
        /// Its number.
        id: u64,
    },
    /// A command could not be done.
    Error {
        /// Why.
        message: String,
    },
    /// This page read too slowly and missed notes.
    Lagged {
        /// How many.
        missed: u64,
    },
    /// The session is over.
    End {
        /// How it ended.
        reason: String,
    },
}

/// Queues `note` on `conn` as a text message.
pub(crate) fn send(conn: &mut Connection, note: &impl Serialize) {
    // These types always serialise (string keys, no custom code); were one
    // not to, sending nothing beats sending a malformed note.
    if let Ok(text) = serde_json::to_string(note) {
        let _ = conn.send(Message::Text(&text));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    //! The wire form of every note, written out: a field renamed in the
    //! types fails here, not in the page.
    use super::*;

    fn wire(note: &impl Serialize) -> serde_json::Value {
        serde_json::to_value(note).unwrap()
    }

    fn json(text: &str) -> serde_json::Value {
        serde_json::from_str(text).unwrap()
    }

    fn connection() -> TapConnection {
        TapConnection { peer: "127.0.0.1:5555".parse().unwrap(), target: "/echo?tap=ab".into() }
    }

    #[test]
    fn tap_notes_on_the_wire() {
        let cases = [
            (
                TapNote::Hello { token_bits: 128, connection: None },
                r#"{"type":"hello","token_bits":128,"connection":null}"#,
            ),
            (
                TapNote::Hello { token_bits: 128, connection: Some(connection()) },
                r#"{"type":"hello","token_bits":128,"connection":{"peer":"127.0.0.1:5555","target":"/echo?tap=ab"}}"#,
            ),
            (
                TapNote::Open { connection: connection() },
                r#"{"type":"open","connection":{"peer":"127.0.0.1:5555","target":"/echo?tap=ab"}}"#,
            ),
            (
                TapNote::Dropped { chunks: 2, record_dropped_chunks: 5, record_dropped_bytes: 1234 },
                r#"{"type":"dropped","chunks":2,"record_dropped_chunks":5,"record_dropped_bytes":1234}"#,
            ),
            (TapNote::Evicted, r#"{"type":"evicted"}"#),
            (TapNote::End { reason: "closed".into() }, r#"{"type":"end","reason":"closed"}"#),
        ];
        for (note, text) in cases {
            assert_eq!(wire(&note), json(text));
            assert_eq!(serde_json::from_str::<TapNote>(text).unwrap(), note);
        }
    }

    #[test]
    fn inject_notes_on_the_wire() {
        let cases = [
            (
                InjectNote::Start { id: 1, target: "ws://127.0.0.1:8080/echo".into(), bytes: 4 },
                r#"{"type":"start","id":1,"target":"ws://127.0.0.1:8080/echo","bytes":4}"#,
            ),
            (InjectNote::Handshake { id: 1, ok: true, error: None }, r#"{"type":"handshake","id":1,"ok":true}"#),
            (
                InjectNote::Handshake { id: 1, ok: false, error: Some("no".into()) },
                r#"{"type":"handshake","id":1,"ok":false,"error":"no"}"#,
            ),
            (
                InjectNote::End { id: 1, closed_by: ClosedBy::Server, how: "closed".into(), elapsed_ms: 7 },
                r#"{"type":"end","id":1,"closed_by":"server","how":"closed","elapsed_ms":7}"#,
            ),
            (
                InjectNote::End { id: 2, closed_by: ClosedBy::Wscope, how: "limit".into(), elapsed_ms: 0 },
                r#"{"type":"end","id":2,"closed_by":"wscope","how":"limit","elapsed_ms":0}"#,
            ),
            (InjectNote::Error { message: "too big".into() }, r#"{"type":"error","message":"too big"}"#),
        ];
        for (note, text) in cases {
            assert_eq!(wire(&note), json(text));
            assert_eq!(serde_json::from_str::<InjectNote>(text).unwrap(), note);
        }
    }

    /// The two `end` notes stay apart: neither parses as the other.
    #[test]
    fn the_two_end_notes_do_not_mix() {
        assert!(serde_json::from_str::<InjectNote>(r#"{"type":"end","reason":"closed"}"#).is_err());
        assert!(
            serde_json::from_str::<TapNote>(r#"{"type":"end","id":1,"closed_by":"server","how":"x","elapsed_ms":1}"#)
                .is_err()
        );
    }
}
