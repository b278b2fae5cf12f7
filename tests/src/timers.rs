//! The session timers: an idle connection is pinged at half the idle
//! timeout, closed with 1001 at the timeout, and cut at the close timeout
//! when it does not answer. Only the order of events is asserted, never
//! how long they took.

use crate::support::{OP_PING, RawClient, start};
use std::time::Duration;

#[tokio::test]
async fn idle_connection_is_pinged_then_closed_then_cut() {
    let server = start(|c| {
        c.idle_timeout = Duration::from_millis(600);
        c.close_timeout = Duration::from_millis(300);
    })
    .await;
    let mut client = RawClient::connect(server.local_addr(), "/echo").await;
    let ping = client.read_frame().await;
    assert_eq!(ping.opcode, OP_PING, "expected the idle ping first, got {ping:?}");
    assert!(!ping.masked);
    // No pong, no answer to the close: the server must give up on its own.
    let (close, before) = client.expect_close(1001).await;
    assert!(before.is_empty(), "frames between the ping and the close: {before:?}");
    assert_eq!(close.close_reason(), b"idle timeout");
}

#[tokio::test]
async fn traffic_after_the_ping_is_echoed_and_the_next_idle_period_starts_over() {
    let server = start(|c| {
        // Long enough that the client's answer to the ping lands in time
        // even on a loaded machine (it has half the timeout).
        c.idle_timeout = Duration::from_secs(2);
        c.close_timeout = Duration::from_millis(300);
    })
    .await;
    let mut client = RawClient::connect(server.local_addr(), "/echo").await;
    let ping = client.read_frame().await;
    assert_eq!(ping.opcode, OP_PING);
    client.send_frame(&crate::support::Frame::text("still here")).await;
    let (_, echoed) = client.read_message().await;
    assert_eq!(echoed, b"still here");
    // The input restarted the idle clock: a fresh ping comes before the close.
    let ping = client.read_frame().await;
    assert_eq!(ping.opcode, OP_PING, "expected a second ping, got {ping:?}");
    client.expect_close(1001).await;
}
