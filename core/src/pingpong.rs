//! Which ping a pong answers, for showing round-trip times. Section 5.5.3:
//! a pong sent in response to a ping carries the ping's Application data,
//! and an endpoint that got several pings may answer only the most recent;
//! a pong nobody asked for is allowed (a heartbeat). So a pong from one
//! side answers the other side's latest unanswered ping when their
//! payloads are identical, and nothing otherwise.

use crate::frame::OpCode;
use crate::rules::Role;
use crate::stream::InspectedFrame;
use alloc::vec::Vec;

/// A ping waiting for its pong.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Ping {
    index: usize,
    payload: Vec<u8>,
    at: u64,
}

/// A pong's ping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answered {
    /// The ping's frame index (among its sender's frames).
    pub ping: usize,
    /// Time from the ping's last byte to the pong's, in the unit the
    /// times were given in.
    pub round_trip: u64,
}

/// Pairs pongs with pings on one connection, both directions.
#[derive(Clone, Debug, Default)]
pub struct PingTracker {
    /// The latest unanswered ping of the client, and of the server.
    waiting: [Option<Ping>; 2],
}

const fn slot(role: Role) -> usize {
    match role {
        Role::Client => 0,
        Role::Server => 1,
    }
}

const fn other(role: Role) -> Role {
    match role {
        Role::Client => Role::Server,
        Role::Server => Role::Client,
    }
}

impl PingTracker {
    /// A tracker with no ping waiting.
    pub fn new() -> Self {
        PingTracker::default()
    }

    /// Takes a whole frame `from` one side that arrived at `at`; for a pong
    /// that answers a ping, which ping and how long after it.
    pub fn frame(&mut self, from: Role, frame: &InspectedFrame, at: u64) -> Option<Answered> {
        if !frame.complete {
            return None;
        }
        match frame.header.opcode {
            OpCode::Ping => {
                let payload = frame.payload.clone();
                let slot = self.waiting.get_mut(slot(from))?;
                *slot = Some(Ping { index: frame.index, payload, at });
                None
            }
            OpCode::Pong => {
                let waiting = self.waiting.get_mut(slot(other(from)))?;
                if waiting.as_ref().is_some_and(|p| p.payload == frame.payload) {
                    let ping = waiting.take()?;
                    return Some(Answered { ping: ping.index, round_trip: at.saturating_sub(ping.at) });
                }
                None
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::{Item, StreamDecoder, StreamOptions};

    fn frames(bytes: &[u8], sender: Role) -> Vec<InspectedFrame> {
        let mut d = StreamDecoder::new(StreamOptions { sender: Some(sender), ..StreamOptions::default() });
        let mut items = Vec::new();
        d.push(bytes, &mut items);
        items
            .into_iter()
            .filter_map(|i| match i {
                Item::Frame(f) => Some(f),
                Item::Message(_) => None,
            })
            .collect()
    }

    #[test]
    fn a_pong_answers_the_latest_ping_with_its_payload() {
        // Client pings "a" then "b" (masked with a zero key), the server
        // pongs "a" (stale: unanswered), then "b", then "b" again.
        let client = frames(&[0x89, 0x81, 0, 0, 0, 0, b'a', 0x89, 0x81, 0, 0, 0, 0, b'b'], Role::Client);
        let server = frames(&[0x8A, 0x01, b'a', 0x8A, 0x01, b'b', 0x8A, 0x01, b'b'], Role::Server);
        let mut t = PingTracker::new();
        assert_eq!(t.frame(Role::Client, &client[0], 10), None);
        assert_eq!(t.frame(Role::Client, &client[1], 20), None);
        assert_eq!(t.frame(Role::Server, &server[0], 25), None, "not the latest ping's payload");
        assert_eq!(t.frame(Role::Server, &server[1], 27), Some(Answered { ping: 1, round_trip: 7 }));
        assert_eq!(t.frame(Role::Server, &server[2], 30), None, "that ping was answered");
        // A client's pong answers nothing of its own side's pings.
        let unsolicited = frames(&[0x8A, 0x80, 0, 0, 0, 0], Role::Client);
        assert_eq!(t.frame(Role::Client, &unsolicited[0], 40), None);
    }
}
