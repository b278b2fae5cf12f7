//! Every byte each way, in the tap's format, up to a bound per case.

use std::time::Instant;
use wscope_core::Role;

/// Bytes that crossed the connection, in the tap's format: `from_client`,
/// microseconds since the connection was made, the bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Written by the client (the checker) rather than the server.
    pub from_client: bool,
    /// Microseconds since the TCP connection was made.
    pub micros: u64,
    /// The bytes, exactly.
    pub bytes: Vec<u8>,
}

/// Every byte each way, up to `limit` bytes kept; the rest counted.
pub(crate) struct Log {
    /// The checker is the client (it tests a server).
    pub(crate) mine_is_client: bool,
    pub(crate) started: Instant,
    pub(crate) records: Vec<Record>,
    pub(crate) limit: usize,
    pub(crate) kept: usize,
    pub(crate) dropped: u64,
}

impl Log {
    /// A log of a checker that tests a server.
    pub(crate) fn new(started: Instant, limit: usize) -> Log {
        Log::of(Role::Client, started, limit)
    }

    /// A log of a checker in `role`.
    pub(crate) fn of(role: Role, started: Instant, limit: usize) -> Log {
        Log { mine_is_client: role == Role::Client, started, records: Vec::new(), limit, kept: 0, dropped: 0 }
    }

    /// Bytes the checker wrote (`mine`) or read.
    pub(crate) fn push(&mut self, mine: bool, bytes: &[u8]) {
        let from_client = mine == self.mine_is_client;
        let take = bytes.len().min(self.limit.saturating_sub(self.kept));
        if let Some(kept) = bytes.get(..take).filter(|k| !k.is_empty()) {
            self.records.push(Record { from_client, micros: micros(self.started), bytes: kept.to_vec() });
            self.kept = self.kept.saturating_add(take);
        }
        self.dropped = self.dropped.saturating_add(bytes.len().saturating_sub(take) as u64);
    }
}

pub(crate) fn micros(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn records_are_bounded_and_the_rest_counted() {
        let mut log = Log::new(Instant::now(), 100);
        log.push(true, &[1u8; 90]);
        log.push(false, &[2u8; 25]);
        log.push(false, &[3u8; 5]);
        assert_eq!(log.records.len(), 2);
        assert_eq!(log.records[1].bytes.len(), 10);
        assert_eq!((log.kept, log.dropped), (100, 20));
    }
}
