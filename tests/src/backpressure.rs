//! A peer that sends but never reads: once the echoes waiting for it pass
//! `--max-pending-output`, the server stops reading from it, so TCP's flow
//! control stalls the sender instead of the server's memory growing.

use crate::support::{Frame, RawClient, start};
use std::time::Duration;

#[tokio::test]
async fn a_peer_that_never_reads_is_stalled_not_buffered() {
    let server = start(|c| c.max_pending_output = 64 * 1024).await;
    let mut client = RawClient::connect(server.local_addr(), "/echo").await;
    let frame = Frame::binary(&[0x5a; 64 * 1024]).encode();
    // Without the cap the server would read (and echo into memory) all of
    // it; with it, writes stall once the socket buffers on both sides are
    // full, a few MiB at most on loopback.
    let limit: usize = 256 << 20;
    let mut sent = 0usize;
    while sent < limit {
        if !client.try_send_within(&frame, Duration::from_secs(2)).await {
            break;
        }
        sent += frame.len();
    }
    assert!(sent < limit, "the server read {sent} bytes from a peer that reads nothing");
    assert!(sent > 0, "not even one message was taken");
}
