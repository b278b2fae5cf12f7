//! The `/tap?token=TOKEN` session: a tapped connection's record sent to a
//! subscriber, backlog first, then live.
//!
//! Chunks go out as binary records (format in [`crate::tap`]). Each **text**
//! message is a JSON object with a `type`:
//! - `{"type":"hello","token_bits":128,"connection":{"peer":"127.0.0.1:5555","target":"/echo?tap=…"}}`
//!   first (`connection` is `null` until the tapped connection arrives; a
//!   later `{"type":"open",…}` then says when it does);
//! - `{"type":"dropped","chunks":N,"record_dropped_chunks":M,"record_dropped_bytes":B}`
//!   just before the first chunk sent after a gap: `N` chunks this subscriber
//!   will never see were dropped to keep the per-connection cap (oldest
//!   first; each chunk counts 64 bytes beyond its data); `M` and `B` count
//!   everything the record dropped so far;
//! - `{"type":"evicted"}` when the whole record was dropped to make room for
//!   newer tapped connections (the subscription then closes with 1001);
//! - `{"type":"end","reason":"…"}` when the tapped connection is over and
//!   everything was sent (the subscription then closes with 1000).

use crate::shared::Shared;
use crate::tap::{Ending, Tap};
use crate::ws::{Outcome, Session, WsStream, drive};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;
use wscope_core::CloseCode;
use wscope_core::connection::{Connection, Event, Message};

/// A `/tap` subscription: sends the record, then follows it.
struct Subscriber {
    tap: Arc<Tap>,
    changes: watch::Receiver<u64>,
    /// Next chunk to send.
    cursor: u64,
    told_open: bool,
    done: bool,
}

fn json(value: &serde_json::Value) -> String {
    value.to_string()
}

fn connection_json(connection: Option<&(SocketAddr, String)>) -> serde_json::Value {
    match connection {
        Some((peer, target)) => serde_json::json!({ "peer": peer.to_string(), "target": target }),
        None => serde_json::Value::Null,
    }
}

impl Subscriber {
    /// Queues everything new in the record.
    fn catch_up(&mut self, conn: &mut Connection) {
        self.changes.mark_unchanged();
        if self.done {
            return;
        }
        let unread = self.tap.read_from(self.cursor);
        self.cursor = unread.next;
        if !self.told_open && unread.connection.is_some() {
            let open = serde_json::json!({ "type": "open", "connection": connection_json(unread.connection.as_ref()) });
            let _ = conn.send(Message::Text(&json(&open)));
            self.told_open = true;
        }
        if unread.missed > 0 {
            let dropped = serde_json::json!({
                "type": "dropped",
                "chunks": unread.missed,
                "record_dropped_chunks": unread.record_dropped_chunks,
                "record_dropped_bytes": unread.record_dropped_bytes,
            });
            let _ = conn.send(Message::Text(&json(&dropped)));
        }
        let mut message = Vec::new();
        for chunk in &unread.chunks {
            chunk.encode(&mut message);
            let _ = conn.send(Message::Binary(&message));
        }
        let end = match unread.ending {
            Some(Ending::Evicted) => Some((CloseCode::GOING_AWAY, serde_json::json!({ "type": "evicted" }))),
            Some(Ending::Ended(reason)) => {
                Some((CloseCode::NORMAL, serde_json::json!({ "type": "end", "reason": reason })))
            }
            None => None,
        };
        if let Some((code, note)) = end {
            let _ = conn.send(Message::Text(&json(&note)));
            let _ = conn.send(Message::Close(Some(code), "tap finished"));
            self.done = true;
        }
    }
}

impl Session for Subscriber {
    type Ready = ();

    fn on_event(&mut self, _conn: &mut Connection, _event: Event) {}

    async fn ready(&mut self) {
        if self.changes.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    fn on_ready(&mut self, conn: &mut Connection, (): ()) {
        self.catch_up(conn);
    }
}

pub(crate) async fn serve_subscriber(ws: WsStream, tap: Arc<Tap>, shared: &Shared) -> Outcome {
    // Subscribed before the hello is read, so no change after it is missed.
    let changes = tap.changes();
    let connection = tap.connection();
    let hello = serde_json::json!({
        "type": "hello",
        "token_bits": tap.token_bits(),
        "connection": connection_json(connection.as_ref()),
    });
    let mut sub = Subscriber { tap, changes, cursor: 0, told_open: connection.is_some(), done: false };
    let mut ws = ws;
    let _ = ws.conn.send(Message::Text(&json(&hello)));
    sub.catch_up(&mut ws.conn);
    drive(ws, shared, &mut sub).await
}
