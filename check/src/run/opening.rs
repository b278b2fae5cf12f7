//! Opening handshakes that break the rules on purpose (group 14) and one
//! that never ends (17.3): the request is the core's, edited; the answer is
//! read as far as it goes, and how the connection ended is kept. Testing a
//! client, the 101 is the core's, edited (group 18).

use super::connect::Stream;
use super::log::Log;
use crate::own::{AnswerEdit, Edit};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wscope_core::Decoded;
use wscope_core::handshake::{HandshakeLimits, ResponseHead};

/// How the server's side ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// A whole response head arrived (the connection may go on).
    Head,
    /// TCP closed (a FIN) before a whole head.
    Fin,
    /// TCP reset before a whole head.
    Reset,
    /// Nothing ended it before the time limit.
    Open,
}

/// What the server answered to a request.
pub(crate) struct Answer {
    /// The response head, when a whole one arrived.
    pub(crate) head: Option<ResponseHead>,
    /// The bytes of the answer (the head and what came after it).
    pub(crate) bytes: Vec<u8>,
    /// How it ended.
    pub(crate) end: End,
    /// When it ended, from the first byte written.
    pub(crate) after: Duration,
}

/// The request `request` (the core's, valid) changed as `edit` says.
pub(crate) fn edit_request(request: &[u8], edit: &Edit) -> Vec<u8> {
    let text = String::from_utf8_lossy(request);
    let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or_default();
    let mut parts = first.splitn(3, ' ');
    let (method, target) = (parts.next().unwrap_or("GET"), parts.next().unwrap_or("/"));
    let method = edit.method.unwrap_or(method);
    let version = if edit.http10 { "HTTP/1.0" } else { "HTTP/1.1" };
    let mut out = format!("{method} {target} {version}\r\n");
    for line in lines {
        let (name, value) = line.split_once(':').map_or((line, ""), |(n, v)| (n, v.trim()));
        if edit.drop.iter().any(|d| d.eq_ignore_ascii_case(name)) {
            continue;
        }
        let (name, value) = match edit.set.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some((n, v)) => ((*n).to_owned(), v.as_str()),
            None if edit.lowercase_names => (name.to_ascii_lowercase(), value),
            None => (name.to_owned(), value),
        };
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    for (name, value) in &edit.add {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    let mut bytes = out.into_bytes();
    if edit.pad > 0 {
        bytes.extend_from_slice(b"X-Wscope-Padding: ");
        bytes.resize(bytes.len().saturating_add(edit.pad), b'a');
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"\r\n");
    bytes
}

/// The 101 `response` (the core's, valid) changed as `edit` says, with
/// `extra` header fields added at the end.
pub(crate) fn edit_response(response: &[u8], edit: &AnswerEdit, extra: &[(&str, String)]) -> Vec<u8> {
    let text = String::from_utf8_lossy(response);
    let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or_default();
    let mut out = format!("{}\r\n", edit.status_line.unwrap_or(first));
    for line in lines {
        let (name, value) = line.split_once(':').map_or((line, ""), |(n, v)| (n, v.trim()));
        if edit.drop.iter().any(|d| d.eq_ignore_ascii_case(name)) {
            continue;
        }
        let value = edit.set.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map_or(value, |(_, v)| v.as_str());
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    for (name, value) in edit.add.iter().map(|(n, v)| (*n, v)).chain(extra.iter().map(|(n, v)| (*n, v))) {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// Writes `request` while reading the answer (a server may answer, and
/// close, before a long head is written), until a whole response head,
/// the end of TCP, or `deadline`.
pub(crate) async fn send(
    stream: Box<dyn Stream>,
    request: &[u8],
    deadline: Instant,
    log: &mut Log,
) -> (Box<dyn Stream>, Answer) {
    let (mut rd, mut wr) = tokio::io::split(stream);
    let started = Instant::now();
    let limits = HandshakeLimits { max_head_len: super::HEAD_LIMIT, ..HandshakeLimits::default() };
    let mut bytes = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    let mut at = 0;
    let end = loop {
        let rest = request.get(at..).unwrap_or_default();
        tokio::select! {
            written = wr.write(rest), if !rest.is_empty() => match written {
                Ok(n) if n > 0 => {
                    log.push(true, rest.get(..n).unwrap_or_default());
                    at = at.saturating_add(n);
                }
                // The server stopped reading: what it answered is still to be read.
                _ => at = request.len(),
            },
            read = rd.read(&mut chunk) => match read {
                Ok(0) => break End::Fin,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break End::Reset,
                Err(_) => break End::Fin,
                Ok(n) => {
                    let got = chunk.get(..n).unwrap_or_default();
                    log.push(false, got);
                    bytes.extend_from_slice(got);
                    if !matches!(ResponseHead::parse(&bytes, &limits), Ok(Decoded::Incomplete { .. })) {
                        break End::Head;
                    }
                }
            },
            () = tokio::time::sleep_until(deadline.into()) => break End::Open,
        }
    };
    let head = match ResponseHead::parse(&bytes, &limits) {
        Ok(Decoded::Complete { value, .. }) => Some(value),
        _ => None,
    };
    let _ = tokio::time::timeout_at(deadline.into(), wr.flush()).await;
    (rd.unsplit(wr), Answer { head, bytes, end, after: started.elapsed() })
}

/// Writes `head` (a request head without its blank line) and then one
/// header line every `interval`, never ending the head, until the server
/// closes the connection or `deadline`.
pub(crate) async fn slow(
    stream: &mut Box<dyn Stream>,
    head: &[u8],
    interval: Duration,
    deadline: Instant,
    log: &mut Log,
) -> Answer {
    let started = Instant::now();
    let mut bytes = Vec::new();
    let mut chunk = vec![0u8; 4096];
    let mut next = head.to_vec();
    let mut line = 0u32;
    let end = 'outer: loop {
        log.push(true, &next);
        if stream.write_all(&next).await.is_err() {
            break End::Fin;
        }
        let _ = stream.flush().await;
        line = line.saturating_add(1);
        next = format!("X-Wscope-Slow-{line}: {line}\r\n").into_bytes();
        let until = Instant::now().checked_add(interval).unwrap_or(deadline).min(deadline);
        loop {
            match tokio::time::timeout_at(until.into(), stream.read(&mut chunk)).await {
                Ok(Ok(0)) => break 'outer End::Fin,
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => break 'outer End::Reset,
                Ok(Err(_)) => break 'outer End::Fin,
                Ok(Ok(n)) => {
                    let got = chunk.get(..n).unwrap_or_default();
                    log.push(false, got);
                    // Only a head is wanted: the rest is logged (bounded), not kept.
                    let room = super::HEAD_LIMIT.saturating_sub(bytes.len());
                    bytes.extend_from_slice(got.get(..room.min(got.len())).unwrap_or_default());
                }
                Err(_) if until >= deadline => break 'outer End::Open,
                Err(_) => break,
            }
        }
    };
    let head = match ResponseHead::parse(&bytes, &HandshakeLimits::default()) {
        Ok(Decoded::Complete { value, .. }) => Some(value),
        _ => None,
    };
    Answer { head, bytes, end, after: started.elapsed() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_change_only_what_they_name() {
        let request = b"GET /echo HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                        Sec-WebSocket-Key: k\r\nSec-WebSocket-Version: 13\r\n\r\n";
        let edit = Edit {
            method: Some("POST"),
            drop: vec!["sec-websocket-key"],
            set: vec![("upgrade", "WebSocket".into())],
            add: vec![("Host", "b".into())],
            ..Edit::default()
        };
        let out = String::from_utf8(edit_request(request, &edit)).unwrap_or_default();
        assert_eq!(
            out,
            "POST /echo HTTP/1.1\r\nHost: a\r\nupgrade: WebSocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Version: 13\r\nHost: b\r\n\r\n"
        );
        let low = Edit { http10: true, lowercase_names: true, pad: 3, ..Edit::default() };
        let out = String::from_utf8(edit_request(request, &low)).unwrap_or_default();
        assert!(out.starts_with("GET /echo HTTP/1.0\r\nhost: a\r\nupgrade: websocket\r\n"), "{out}");
        assert!(out.ends_with("sec-websocket-version: 13\r\nX-Wscope-Padding: aaa\r\n\r\n"), "{out}");
    }
}
