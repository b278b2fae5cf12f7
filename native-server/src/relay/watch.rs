//! `/relay/sessions`: the Sessions panel's live list. A note with every
//! kept session first, then one with what changed, at most every
//! [`PERIOD`] (see [`crate::notes::RelayNote`]).

use super::hub::RelayHub;
use crate::notes::{self, RelayNote};
use crate::shared::Shared;
use crate::ws::{Outcome, Session, WsStream, drive};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use wscope_core::connection::{Connection, Event};

/// Least time between two notes.
pub(crate) const PERIOD: Duration = Duration::from_millis(250);

struct Watcher {
    hub: Arc<RelayHub>,
    changes: watch::Receiver<u64>,
    /// The generation the page has seen.
    seen: u64,
}

impl Watcher {
    fn send(&mut self, conn: &mut Connection) {
        self.changes.mark_unchanged();
        let changes = self.hub.changes_since(self.seen);
        self.seen = changes.generation;
        notes::send(
            conn,
            &RelayNote::Sessions { generation: changes.generation, ids: changes.ids, changed: changes.changed },
        );
    }
}

impl Session for Watcher {
    type Ready = ();

    fn on_event(&mut self, _conn: &mut Connection, _event: Event) {}

    async fn ready(&mut self) {
        tokio::time::sleep(PERIOD).await;
        if self.changes.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    fn on_ready(&mut self, conn: &mut Connection, (): ()) {
        self.send(conn);
    }
}

pub(crate) async fn serve(ws: WsStream, hub: Arc<RelayHub>, shared: &Shared) -> Outcome {
    let changes = hub.changes();
    let mut watcher = Watcher { hub, changes, seen: 0 };
    let mut ws = ws;
    watcher.send(&mut ws.conn);
    drive(ws, shared, &mut watcher).await
}
