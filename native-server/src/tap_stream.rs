//! The `/tap?token=TOKEN` session: a tapped connection's record sent to a
//! subscriber, backlog first, then live.
//!
//! Chunks go out as binary records (format in [`crate::tap`]), the rest as
//! JSON notes ([`crate::notes::TapNote`], where every note and field is
//! described).

use crate::notes::{self, TapConnection, TapNote};
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

fn note_connection((peer, target): (SocketAddr, String)) -> TapConnection {
    TapConnection { peer, target }
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
        if !self.told_open {
            if let Some(connection) = unread.connection {
                notes::send(conn, &TapNote::Open { connection: note_connection(connection) });
                self.told_open = true;
            }
        }
        if unread.missed > 0 {
            let dropped = TapNote::Dropped {
                chunks: unread.missed,
                record_dropped_chunks: unread.record_dropped_chunks,
                record_dropped_bytes: unread.record_dropped_bytes,
            };
            notes::send(conn, &dropped);
        }
        let mut message = Vec::new();
        for chunk in &unread.chunks {
            chunk.encode(&mut message);
            let _ = conn.send(Message::Binary(&message));
        }
        let end = match unread.ending {
            Some(Ending::Evicted) => Some((CloseCode::GOING_AWAY, TapNote::Evicted)),
            Some(Ending::Ended(reason)) => Some((CloseCode::NORMAL, TapNote::End { reason })),
            None => None,
        };
        if let Some((code, note)) = end {
            notes::send(conn, &note);
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
    let told_open = connection.is_some();
    let hello = TapNote::Hello { token_bits: tap.token_bits(), connection: connection.map(note_connection) };
    let mut sub = Subscriber { tap, changes, cursor: 0, told_open, done: false };
    let mut ws = ws;
    notes::send(&mut ws.conn, &hello);
    sub.catch_up(&mut ws.conn);
    drive(ws, shared, &mut sub).await
}
