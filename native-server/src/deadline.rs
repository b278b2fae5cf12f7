//! A connection's deadlines as plain values: the idle ping at half the idle
//! timeout, the idle close at its end, the close deadline once our close is
//! out, and (for a compressed connection) when a quiet connection parks its
//! compression state.
//!
//! Pure: every instant is passed in (no clock is read here), so the table
//! is tested without a runtime. The session loop keeps one timer and asks
//! [`Deadlines::next`] where to set it; a busy connection only calls
//! [`Deadlines::on_activity`], which moves nothing in the timer wheel.

use std::time::{Duration, Instant};

/// What a deadline that has passed asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Due {
    /// Half the idle timeout without input: ping, to see if the peer is there.
    Ping,
    /// The idle timeout without input: start the closing handshake.
    IdleClose,
    /// The close timeout since our close: give up on the peer's answer (or
    /// on it taking our last bytes).
    CloseTimeout,
    /// Quiet for the park delay: free the compressor and decompressor.
    Park,
}

/// The deadlines of one connection.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadlines {
    idle_timeout: Duration,
    close_timeout: Duration,
    /// When input last arrived (or the connection opened).
    last_input: Instant,
    /// Whether the idle ping went out since `last_input`.
    pinged: bool,
    /// Set once, when the connection started closing from our side.
    close_at: Option<Instant>,
    /// How long a quiet connection waits before parking, if it parks.
    park_after: Option<Duration>,
    /// Whether it parked since `last_input`.
    parked: bool,
}

impl Deadlines {
    /// A connection that opened at `now`.
    pub(crate) fn new(now: Instant, idle_timeout: Duration, close_timeout: Duration) -> Self {
        Deadlines {
            idle_timeout,
            close_timeout,
            last_input: now,
            pinged: false,
            close_at: None,
            park_after: None,
            parked: false,
        }
    }

    /// Parks `after` this long without input (a compressed connection).
    pub(crate) fn with_park(mut self, after: Option<Duration>) -> Self {
        self.park_after = after;
        self
    }

    /// Input arrived at `now`: the idle period starts over (a ping already
    /// sent is forgotten, so the next period pings again). True when the
    /// connection had parked: the timer, set for a later deadline, must
    /// move to the next park.
    pub(crate) fn on_activity(&mut self, now: Instant) -> bool {
        self.last_input = now;
        self.pinged = false;
        core::mem::take(&mut self.parked)
    }

    /// The connection parked: not again before more input.
    pub(crate) fn on_parked(&mut self) {
        self.parked = true;
    }

    /// The idle ping went out.
    pub(crate) fn on_ping_sent(&mut self) {
        self.pinged = true;
    }

    /// Our close went out at `now` (or the connection is closed with bytes
    /// still to write): the peer has the close timeout from the first call
    /// to answer or take them; later calls change nothing. From then on
    /// the close deadline is the only one.
    pub(crate) fn on_close_sent(&mut self, now: Instant) {
        if self.close_at.is_none() {
            self.close_at = Some(later(now, self.close_timeout));
        }
    }

    /// Whether the close deadline is set.
    pub(crate) fn closing(&self) -> bool {
        self.close_at.is_some()
    }

    /// The next deadline as seen at `now`, and what it asks for; it is due
    /// when it is not after `now`. There is always one.
    ///
    /// At `now` past the idle timeout, the idle close is due even if the
    /// ping never went out (a timer that fired late does not ping first).
    pub(crate) fn next(&self, now: Instant) -> (Instant, Due) {
        if let Some(at) = self.close_at {
            return (at, Due::CloseTimeout);
        }
        let idle_at = later(self.last_input, self.idle_timeout);
        let idle = if self.pinged || now >= idle_at {
            (idle_at, Due::IdleClose)
        } else {
            (later(self.last_input, self.idle_timeout.checked_div(2).unwrap_or_default()), Due::Ping)
        };
        match self.park_after {
            Some(after) if !self.parked && later(self.last_input, after) < idle.0 => {
                (later(self.last_input, after), Due::Park)
            }
            _ => idle,
        }
    }

    /// What is due at `now`, if anything.
    pub(crate) fn due(&self, now: Instant) -> Option<Due> {
        let (at, due) = self.next(now);
        (at <= now).then_some(due)
    }
}

/// `t + d`, or a year on if that overflows (in effect: never).
fn later(t: Instant, d: Duration) -> Instant {
    t.checked_add(d).or_else(|| t.checked_add(Duration::from_secs(86_400 * 365))).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::arithmetic_side_effects)]
    use super::*;

    const IDLE: Duration = Duration::from_secs(10);
    const CLOSE: Duration = Duration::from_secs(3);

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn ms(m: u64) -> Duration {
        Duration::from_millis(m)
    }

    #[test]
    fn pings_at_half_the_idle_timeout() {
        let t0 = Instant::now();
        let d = Deadlines::new(t0, IDLE, CLOSE);
        assert_eq!(d.next(t0), (t0 + secs(5), Due::Ping));
        assert_eq!(d.due(t0), None);
        assert_eq!(d.due(t0 + secs(5) - ms(1)), None);
        assert_eq!(d.due(t0 + secs(5)), Some(Due::Ping));
        assert!(!d.closing());
    }

    #[test]
    fn after_the_ping_the_idle_close_is_next_at_the_end() {
        let t0 = Instant::now();
        let mut d = Deadlines::new(t0, IDLE, CLOSE);
        d.on_ping_sent();
        assert_eq!(d.next(t0 + secs(5)), (t0 + secs(10), Due::IdleClose));
        assert_eq!(d.due(t0 + secs(9)), None);
        assert_eq!(d.due(t0 + secs(10)), Some(Due::IdleClose));
    }

    #[test]
    fn a_late_check_past_the_idle_timeout_closes_without_pinging() {
        let t0 = Instant::now();
        let d = Deadlines::new(t0, IDLE, CLOSE);
        assert_eq!(d.next(t0 + secs(11)), (t0 + secs(10), Due::IdleClose));
        assert_eq!(d.due(t0 + secs(11)), Some(Due::IdleClose));
        // Between half and the end, the ping is what is due.
        assert_eq!(d.due(t0 + secs(7)), Some(Due::Ping));
    }

    #[test]
    fn activity_pushes_both_back() {
        let t0 = Instant::now();
        let mut d = Deadlines::new(t0, IDLE, CLOSE);
        d.on_activity(t0 + secs(4));
        assert_eq!(d.due(t0 + secs(5)), None);
        assert_eq!(d.next(t0 + secs(5)), (t0 + secs(9), Due::Ping));
        d.on_ping_sent();
        assert_eq!(d.next(t0 + secs(9)), (t0 + secs(14), Due::IdleClose));
        assert_eq!(d.due(t0 + secs(10)), None, "the old idle end is gone");
    }

    #[test]
    fn activity_after_the_ping_means_a_fresh_ping_next() {
        let t0 = Instant::now();
        let mut d = Deadlines::new(t0, IDLE, CLOSE);
        assert_eq!(d.due(t0 + secs(5)), Some(Due::Ping));
        d.on_ping_sent();
        // The pong (or any input) arrives.
        d.on_activity(t0 + secs(6));
        assert_eq!(d.next(t0 + secs(6)), (t0 + secs(11), Due::Ping));
        assert_eq!(d.due(t0 + secs(10)), None);
    }

    #[test]
    fn the_close_deadline_wins_once_a_close_is_sent() {
        let t0 = Instant::now();
        let mut d = Deadlines::new(t0, IDLE, CLOSE);
        d.on_close_sent(t0 + secs(1));
        assert!(d.closing());
        assert_eq!(d.next(t0 + secs(1)), (t0 + secs(4), Due::CloseTimeout));
        // The ping and idle times pass unnoticed.
        assert_eq!(d.due(t0 + secs(3)), None);
        assert_eq!(d.due(t0 + secs(4)), Some(Due::CloseTimeout));
        // Input while closing does not move it.
        d.on_activity(t0 + secs(3));
        assert_eq!(d.next(t0 + secs(3)), (t0 + secs(4), Due::CloseTimeout));
    }

    #[test]
    fn the_close_deadline_is_set_once() {
        let t0 = Instant::now();
        let mut d = Deadlines::new(t0, IDLE, CLOSE);
        d.on_close_sent(t0);
        d.on_close_sent(t0 + secs(2));
        assert_eq!(d.next(t0 + secs(2)), (t0 + secs(3), Due::CloseTimeout));
    }

    #[test]
    fn the_idle_close_hands_over_to_the_close_deadline() {
        let t0 = Instant::now();
        let mut d = Deadlines::new(t0, IDLE, CLOSE);
        d.on_ping_sent();
        assert_eq!(d.due(t0 + secs(10)), Some(Due::IdleClose));
        d.on_close_sent(t0 + secs(10));
        assert_eq!(d.due(t0 + secs(10)), None);
        assert_eq!(d.next(t0 + secs(10)), (t0 + secs(13), Due::CloseTimeout));
    }

    #[test]
    fn huge_timeouts_do_not_overflow() {
        let t0 = Instant::now();
        let mut d = Deadlines::new(t0, Duration::MAX, Duration::MAX);
        let (at, due) = d.next(t0);
        assert_eq!(due, Due::Ping);
        assert!(at > t0 + secs(86_400));
        assert_eq!(d.due(t0 + secs(86_400)), None);
        d.on_close_sent(t0);
        assert!(d.next(t0).0 > t0 + secs(86_400));
    }

    #[test]
    fn zero_timeouts_are_due_at_once() {
        let t0 = Instant::now();
        let mut d = Deadlines::new(t0, Duration::ZERO, Duration::ZERO);
        // Half of nothing has passed, and so has all of it: close, no ping.
        assert_eq!(d.due(t0), Some(Due::IdleClose));
        d.on_close_sent(t0);
        assert_eq!(d.due(t0), Some(Due::CloseTimeout));
    }

    #[test]
    fn parks_once_when_quiet_and_again_after_input() {
        let t0 = Instant::now();
        let mut d = Deadlines::new(t0, IDLE, CLOSE).with_park(Some(secs(1)));
        assert_eq!(d.next(t0), (t0 + secs(1), Due::Park));
        assert_eq!(d.due(t0 + ms(999)), None);
        assert_eq!(d.due(t0 + secs(1)), Some(Due::Park));
        d.on_parked();
        // Parked: the idle ping is next, not another park.
        assert_eq!(d.next(t0 + secs(1)), (t0 + secs(5), Due::Ping));
        // Input at 3 s: parks again a second later (and says the timer,
        // set for the ping, must move).
        assert!(d.on_activity(t0 + secs(3)));
        assert!(!d.on_activity(t0 + secs(3)));
        assert_eq!(d.next(t0 + secs(3)), (t0 + secs(4), Due::Park));
    }

    #[test]
    fn park_gives_way_to_earlier_and_closing_deadlines() {
        let t0 = Instant::now();
        // A park delay past the ping: the ping comes first, the park after it.
        let mut d = Deadlines::new(t0, IDLE, CLOSE).with_park(Some(secs(7)));
        assert_eq!(d.next(t0), (t0 + secs(5), Due::Ping));
        d.on_ping_sent();
        assert_eq!(d.next(t0 + secs(5)), (t0 + secs(7), Due::Park));
        // Closing: only the close deadline counts.
        d.on_close_sent(t0 + secs(6));
        assert_eq!(d.next(t0 + secs(6)), (t0 + secs(9), Due::CloseTimeout));
        // Without a park delay nothing parks.
        let d = Deadlines::new(t0, IDLE, CLOSE);
        assert_eq!(d.next(t0), (t0 + secs(5), Due::Ping));
    }
}
