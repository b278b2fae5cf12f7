//! Reading a request head off a socket, within the server's head limits:
//! the core says when it is complete or breaks a rule. Shared by the
//! server's own endpoints and the relay.

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use wscope_core::Decoded;
use wscope_core::handshake::{HandshakeError, HandshakeLimits, RequestHead};

/// Why reading the head stopped.
pub(crate) enum HeadEnd {
    /// The peer went away or the socket failed.
    Gone,
    /// The head breaks a rule; the response says which.
    Refused(HandshakeError),
}

/// Reads until the core says the head is complete. Returns the head, its
/// length, and every byte read so far (the head and whatever followed it).
pub(crate) async fn read_head(
    stream: &mut TcpStream,
    limits: &HandshakeLimits,
) -> Result<(RequestHead, usize, Vec<u8>), HeadEnd> {
    let limits = *limits;
    let mut buf = Vec::with_capacity(1024);
    loop {
        match RequestHead::parse(&buf, &limits) {
            Ok(Decoded::Complete { value, len }) => return Ok((value, len, buf)),
            Ok(Decoded::Incomplete { .. }) => {}
            Err(e) => return Err(HeadEnd::Refused(e)),
        }
        // Never read much past the cap: the parser refuses at the cap anyway.
        let room = limits.max_head_len.saturating_add(1).saturating_sub(buf.len()).clamp(1, 4096);
        buf.reserve(room);
        let mut limited = (&mut *stream).take(room as u64);
        match limited.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return Err(HeadEnd::Gone),
            Ok(_) => {}
        }
    }
}
