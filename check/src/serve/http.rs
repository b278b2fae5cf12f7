//! The HTTP side of the client checker: a request head read within bounds
//! of size and time (the core parses and checks it), the query's
//! parameters, plain answers for requests that are not a case, and the
//! short WebSocket exchanges of Autobahn's command endpoints.

use crate::run::Stream;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wscope_core::connection::{Config, Connection, Message};
use wscope_core::handshake::{HandshakeLimits, Request, parse_request};
use wscope_core::{CloseCode, Decoded};

/// A request read whole: the core's reading of it, every byte read, and
/// where its head ends.
pub(crate) struct Incoming {
    pub(crate) request: Request,
    pub(crate) bytes: Vec<u8>,
    pub(crate) head_len: usize,
}

/// Reads a WebSocket upgrade request by `deadline`. On a request the core
/// refuses, on garbage, or on silence, the client is answered (the core's
/// response, or 408) and `None` comes back.
pub(crate) async fn read_request(
    mut stream: Box<dyn Stream>,
    limits: &HandshakeLimits,
    deadline: Instant,
) -> Option<(Box<dyn Stream>, Incoming)> {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match parse_request(&bytes, limits) {
            Ok(Decoded::Complete { value, len }) => {
                return Some((stream, Incoming { request: value, bytes, head_len: len }));
            }
            Ok(Decoded::Incomplete { .. }) => {}
            Err(e) => {
                answer_and_close(stream, &e.response()).await;
                return None;
            }
        }
        match tokio::time::timeout_at(deadline.into(), stream.read(&mut chunk)).await {
            Ok(Ok(0) | Err(_)) => return None,
            Ok(Ok(n)) => bytes.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            Err(_) => {
                let body = "the request head did not arrive in time\n";
                answer_and_close(stream, &answer(408, "Request Timeout", body)).await;
                return None;
            }
        }
    }
}

/// A plain-text HTTP answer, then the connection closes.
pub(crate) fn answer(status: u16, reason: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Writes `bytes` within a second (a peer that does not read is left).
pub(crate) async fn write_briefly(stream: &mut Box<dyn Stream>, bytes: &[u8]) -> bool {
    let wrote = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(bytes).await?;
        stream.flush().await
    })
    .await;
    matches!(wrote, Ok(Ok(())))
}

/// Writes a last answer and closes our side, then reads and drops what the
/// peer still sends (at most 64 KiB, for at most a second): closing a socket
/// with unread input would reset it, and the reset can destroy the answer
/// before the peer reads it.
pub(crate) async fn answer_and_close(mut stream: Box<dyn Stream>, bytes: &[u8]) {
    if !write_briefly(&mut stream, bytes).await {
        return;
    }
    let _ = stream.shutdown().await;
    let mut chunk = [0u8; 4096];
    let mut left = 64 * 1024usize;
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Ok(n @ 1..) = stream.read(&mut chunk).await {
            left = left.saturating_sub(n);
            if left == 0 {
                return;
            }
        }
    })
    .await;
}

/// The parameters of a request's query, each at most once.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Params {
    pub(crate) case: Option<String>,
    pub(crate) agent: Option<String>,
    pub(crate) shutdown: bool,
}

/// Reads `case`, `agent` and `shutdownOnComplete` from `query` (others are
/// ignored, as Autobahn does); a parameter given twice is an error.
pub(crate) fn params(query: Option<&str>) -> Result<Params, String> {
    let mut p = Params::default();
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let slot = match name.as_ref() {
            "case" => &mut p.case,
            "agent" => &mut p.agent,
            "shutdownOnComplete" => {
                p.shutdown = matches!(value.to_ascii_lowercase().as_str(), "true" | "yes");
                continue;
            }
            _ => continue,
        };
        if slot.is_some() {
            return Err(format!("the parameter {name:?} is given twice"));
        }
        *slot = Some(value.into_owned());
    }
    Ok(p)
}

/// Most bytes a command connection takes in a frame or a message: the
/// client has nothing to say but its close.
const COMMAND_INPUT_LIMIT: u64 = 4096;

/// Opens the WebSocket (`request`'s 101, no extension), sends `message` as
/// text when there is one, closes with 1000 and waits up to a second for
/// the client's close (`rest`: what came after the request) before dropping
/// TCP (a server closes it first).
pub(crate) async fn command(mut stream: Box<dyn Stream>, request: &Request, rest: &[u8], message: Option<&str>) {
    let config = Config {
        auto_pong: true,
        max_frame_size: COMMAND_INPUT_LIMIT,
        max_message_size: COMMAND_INPUT_LIMIT,
        ..Config::default()
    };
    let mut conn = Connection::server(config);
    if let Some(m) = message {
        let _ = conn.send(Message::Text(m));
    }
    let _ = conn.send(Message::Close(Some(CloseCode(1000)), ""));
    let mut out = request.response(None, None).unwrap_or_default();
    out.extend_from_slice(&conn.take_output());
    if !write_briefly(&mut stream, &out).await {
        return;
    }
    conn.receive_data(rest);
    let mut chunk = [0u8; 1024];
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        loop {
            while let Some(event) = conn.next_event() {
                if matches!(event, wscope_core::Event::Close(_) | wscope_core::Event::Failed(_)) {
                    return;
                }
            }
            match stream.read(&mut chunk).await {
                Ok(n @ 1..) => conn.receive_data(chunk.get(..n).unwrap_or_default()),
                _ => return,
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_read_once_each() {
        let p = params(Some("case=12&agent=tokio%2Dtungstenite+0.28&x=1")).unwrap_or_default();
        assert_eq!(p.case.as_deref(), Some("12"));
        assert_eq!(p.agent.as_deref(), Some("tokio-tungstenite 0.28"));
        assert!(!p.shutdown);
        assert!(params(Some("agent=a&agent=b")).is_err());
        assert!(params(Some("agent=a&shutdownOnComplete=true")).is_ok_and(|p| p.shutdown));
        assert_eq!(params(None), Ok(Params::default()));
    }
}
