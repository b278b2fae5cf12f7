//! Graceful shutdown: open WebSockets get close 1001 and every task ends.

use crate::support::{start_default, ws_connect, ws_expect_end, ws_next};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_sends_1001_and_leaves_no_task() {
    let server = start_default().await;
    let mut ws = ws_connect(server.local_addr(), "/echo").await;
    // Reading answers the server's close, so both run at once; the client
    // then drops its socket, as a browser would once the server closed TCP.
    let client = async move {
        let first = ws_next(&mut ws).await;
        ws_expect_end(&mut ws).await;
        drop(ws);
        first
    };
    let (first, left) = tokio::join!(client, server.shutdown());
    match first {
        Message::Close(Some(frame)) => assert_eq!(u16::from(frame.code), 1001, "reason {:?}", frame.reason),
        other => panic!("expected close 1001, got {other:?}"),
    }
    assert_eq!(left, 0, "tasks still running after shutdown");
}
