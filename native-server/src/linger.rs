//! Closing TCP from our side first, then reading and dropping what the peer
//! still sends, within a deadline and a byte budget.
//!
//! Unread input in the socket when it is closed makes the kernel send a
//! reset instead of a FIN, and a reset can destroy what we sent last (the
//! close frame, a refusal) before the peer reads it (RFC 6455 section
//! 7.1.1 has the server close TCP first for the same reason).

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};

/// Bytes read from the peer at a time while draining.
const DRAIN_CHUNK: usize = 4096;

/// Shuts down our sending side, then reads and drops input until the peer
/// closes too, `until` passes, or `budget` bytes were read; each piece read
/// is shown to `seen` first (the tap records it).
pub(crate) async fn close_then_drain(
    stream: &mut TcpStream,
    until: Instant,
    mut budget: usize,
    mut seen: impl FnMut(&[u8]),
) {
    let _ = stream.shutdown().await;
    // On the heap, and only now: a connection's task would otherwise carry
    // it all its life.
    let mut buf = vec![0u8; DRAIN_CHUNK];
    let _ = timeout_at(until, async {
        while budget > 0 {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if let Some(chunk) = buf.get(..n) {
                        seen(chunk);
                    }
                    budget = budget.saturating_sub(n);
                }
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::time::Duration;
    use tokio::net::TcpListener;

    /// Our FIN reaches the peer before it stops sending, and what it sent
    /// after is read (and shown) until it closes too.
    #[tokio::test]
    async fn closes_first_then_reads_until_the_peer_closes() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut peer = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (mut ours, _) = listener.accept().await.unwrap();
        let peer_side = async {
            let mut got = Vec::new();
            // Our side's FIN arrives first: the read ends with nothing.
            assert_eq!(peer.read_to_end(&mut got).await.unwrap(), 0);
            peer.write_all(b"still in flight").await.unwrap();
            peer.shutdown().await.unwrap();
        };
        let mut seen = Vec::new();
        let until = Instant::now() + Duration::from_secs(10);
        tokio::join!(close_then_drain(&mut ours, until, 1 << 20, |c| seen.extend_from_slice(c)), peer_side);
        assert_eq!(seen, b"still in flight");
    }

    /// A peer that keeps sending is read no further than the budget.
    #[tokio::test]
    async fn stops_at_the_budget() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut peer = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (mut ours, _) = listener.accept().await.unwrap();
        peer.write_all(&[7; 10_000]).await.unwrap();
        let mut seen = 0;
        let until = Instant::now() + Duration::from_secs(10);
        close_then_drain(&mut ours, until, 100, |c| seen += c.len()).await;
        assert!((100..=DRAIN_CHUNK).contains(&seen), "read {seen} bytes");
    }
}
