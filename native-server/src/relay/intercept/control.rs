//! `/relay/intercept?session=ID`: a page's side of an intercepted session.
//! Its text messages are commands ([`super::Command`], queued for the
//! session; a full queue is an error note, never a wait); every note the
//! session broadcasts is sent on. When the page leaves, the session is told
//! (with no page left, its holds are lifted).

use super::{Command, Control};
use crate::notes::{self, InterceptNote};
use crate::shared::Shared;
use crate::ws::{Outcome, Session, WsStream, drive};
use tokio::sync::{broadcast, mpsc};
use wscope_core::connection::{Connection, Event, Message};

/// Longest wait to queue the session's own `Hello` and `Left`.
const COMMAND_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

struct Page {
    commands: mpsc::Sender<Command>,
    notes: broadcast::Receiver<String>,
}

impl Session for Page {
    type Ready = Result<String, broadcast::error::RecvError>;

    fn on_event(&mut self, conn: &mut Connection, event: Event) {
        let Event::Text(text) = event else { return };
        let note = match serde_json::from_str::<Command>(&text) {
            Ok(c) => match self.commands.try_send(c) {
                Ok(()) => return,
                Err(_) => InterceptNote::Error { message: "too many commands at once; wait for their notes".into() },
            },
            Err(e) => InterceptNote::Error {
                message: format!("not a command ({e}): {}", text.chars().take(80).collect::<String>()),
            },
        };
        notes::send(conn, &note);
    }

    async fn ready(&mut self) -> Self::Ready {
        match self.notes.recv().await {
            // The session keeps a sender while it is kept: not reached, but
            // never spin on it.
            Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
            other => other,
        }
    }

    fn on_ready(&mut self, conn: &mut Connection, ready: Self::Ready) {
        match ready {
            Ok(text) => {
                let _ = conn.send(Message::Text(&text));
            }
            Err(broadcast::error::RecvError::Lagged(missed)) => notes::send(conn, &InterceptNote::Lagged { missed }),
            Err(broadcast::error::RecvError::Closed) => {}
        }
    }
}

/// Serves a page's controls of a session whose legs are open.
pub(crate) async fn serve(ws: WsStream, control: &Control, shared: &Shared) -> Outcome {
    let mut page = Page { commands: control.commands.clone(), notes: control.notes.subscribe() };
    // The state, for this page (every page watching gets it too). The
    // session takes commands as fast as it runs: the wait is short, and
    // bounded all the same.
    let _ = tokio::time::timeout(COMMAND_WAIT, page.commands.send(Command::Hello)).await;
    let outcome = drive(ws, shared, &mut page).await;
    let Page { commands, notes } = page;
    drop(notes);
    // Not lost to a full queue: with no page left the holds must lift.
    let _ = tokio::time::timeout(COMMAND_WAIT, commands.send(Command::Left)).await;
    outcome
}
