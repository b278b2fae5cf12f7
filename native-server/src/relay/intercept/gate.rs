//! What an intercepting relay does with each message before it goes on:
//! passes it, or, while its direction is held, keeps it until the page
//! releases it (as it was or edited) or drops it. Pure bookkeeping: no IO,
//! no protocol (the legs' core connections read and write the frames).

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Who sent a message (and so which leg it arrived on).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Side {
    /// The client (its messages go on to the server).
    Client,
    /// The server (its messages go on to the client).
    Server,
}

impl Side {
    /// `client` or `server`.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }

    const fn index(self) -> usize {
        match self {
            Side::Client => 0,
            Side::Server => 1,
        }
    }
}

/// A message that may be held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Item {
    Text(String),
    Binary(Vec<u8>),
    /// A close frame: its code (if any) and reason. Held like a message, so
    /// the messages sent before it go first.
    Close(Option<u16>, String),
}

impl Item {
    fn len(&self) -> usize {
        match self {
            Item::Text(t) => t.len(),
            Item::Binary(b) => b.len(),
            Item::Close(_, r) => r.len().saturating_add(2),
        }
    }
}

/// A held message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Held {
    pub(crate) id: u64,
    pub(crate) from: Side,
    pub(crate) item: Item,
}

#[derive(Debug, Default)]
struct Direction {
    hold: bool,
    queue: VecDeque<Held>,
    bytes: usize,
}

/// What became of an arriving message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Arrival {
    /// It goes on now.
    Pass(Item),
    /// It waits; its number and a copy for the page.
    Held(Held),
}

/// The two directions' holds.
#[derive(Debug)]
pub(crate) struct Gate {
    dirs: [Direction; 2],
    next_id: u64,
    max_messages: usize,
    max_bytes: usize,
}

impl Gate {
    /// Each direction holds at most `max_messages` and `max_bytes`; past
    /// either, its side is not read until the page makes room.
    pub(crate) fn new(max_messages: usize, max_bytes: usize) -> Self {
        Gate { dirs: Default::default(), next_id: 0, max_messages: max_messages.max(1), max_bytes }
    }

    fn dir(&mut self, side: Side) -> &mut Direction {
        // Two directions, indexed by the enum: always in bounds.
        let i = side.index();
        let [client, server] = &mut self.dirs;
        if i == 0 { client } else { server }
    }

    /// Whether `side` is held.
    pub(crate) fn holding(&self, side: Side) -> bool {
        self.dirs.get(side.index()).is_some_and(|d| d.hold)
    }

    /// Whether more may be read from `side` (its queue has room).
    pub(crate) fn room(&self, side: Side) -> bool {
        self.dirs.get(side.index()).is_none_or(|d| d.queue.len() < self.max_messages && d.bytes < self.max_bytes)
    }

    /// Every held message, oldest first, client's then server's.
    pub(crate) fn held(&self) -> impl Iterator<Item = &Held> {
        self.dirs.iter().flat_map(|d| d.queue.iter())
    }

    /// A message from `from` arrived.
    pub(crate) fn arrive(&mut self, from: Side, item: Item) -> Arrival {
        let dir = self.dir(from);
        if !dir.hold && dir.queue.is_empty() {
            return Arrival::Pass(item);
        }
        self.next_id = self.next_id.saturating_add(1);
        let held = Held { id: self.next_id, from, item };
        let dir = self.dir(from);
        dir.bytes = dir.bytes.saturating_add(held.item.len());
        dir.queue.push_back(held.clone());
        Arrival::Held(held)
    }

    /// Holds `side` or lets it go; letting go sends what was held, in order.
    pub(crate) fn set_hold(&mut self, side: Side, on: bool) -> Vec<Held> {
        let dir = self.dir(side);
        dir.hold = on;
        if on {
            return Vec::new();
        }
        dir.bytes = 0;
        dir.queue.drain(..).collect()
    }

    /// Held message `id`'s sender and whether it is a close, if it is held.
    pub(crate) fn peek(&self, id: u64) -> Option<(Side, bool)> {
        self.held().find(|h| h.id == id).map(|h| (h.from, matches!(h.item, Item::Close(..))))
    }

    /// Takes held message `id` out (to send, edited or not, or to drop).
    pub(crate) fn take(&mut self, id: u64) -> Option<Held> {
        for side in [Side::Client, Side::Server] {
            let dir = self.dir(side);
            if let Some(i) = dir.queue.iter().position(|h| h.id == id) {
                let held = dir.queue.remove(i)?;
                dir.bytes = dir.bytes.saturating_sub(held.item.len());
                return Some(held);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn text(s: &str) -> Item {
        Item::Text(s.to_string())
    }

    #[test]
    fn held_in_order_released_by_id_or_all() {
        let mut g = Gate::new(2, 1 << 20);
        assert_eq!(g.arrive(Side::Client, text("a")), Arrival::Pass(text("a")));
        g.set_hold(Side::Client, true);
        let Arrival::Held(one) = g.arrive(Side::Client, text("b")) else { panic!() };
        let Arrival::Held(two) = g.arrive(Side::Client, text("c")) else { panic!() };
        assert!(!g.room(Side::Client), "two held: the client is not read");
        assert!(g.room(Side::Server));
        assert_eq!(g.arrive(Side::Server, text("s")), Arrival::Pass(text("s")), "the other way flows");
        assert_eq!(g.take(two.id).map(|h| h.item), Some(text("c")));
        assert!(g.room(Side::Client));
        assert_eq!(g.take(two.id), None, "taken once");
        // Let go: what is left goes, in order; after that messages pass.
        let Arrival::Held(three) = g.arrive(Side::Client, text("d")) else { panic!() };
        let sent: Vec<u64> = g.set_hold(Side::Client, false).iter().map(|h| h.id).collect();
        assert_eq!(sent, [one.id, three.id]);
        assert_eq!(g.arrive(Side::Client, text("e")), Arrival::Pass(text("e")));
    }

    #[test]
    fn a_queue_keeps_order_after_a_hold_is_lifted_for_one() {
        let mut g = Gate::new(8, 1 << 20);
        g.set_hold(Side::Server, true);
        let Arrival::Held(first) = g.arrive(Side::Server, text("1")) else { panic!() };
        // Still holding: a later message waits behind the first.
        assert!(matches!(g.arrive(Side::Server, Item::Close(Some(1000), String::new())), Arrival::Held(_)));
        assert!(g.holding(Side::Server));
        assert_eq!(g.held().count(), 2);
        assert_eq!(g.take(first.id).map(|h| h.from), Some(Side::Server));
    }
}
