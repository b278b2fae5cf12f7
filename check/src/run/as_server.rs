//! One case with the checker as the server, testing a client: the client
//! has connected and sent its opening handshake; the checker answers with a
//! 101 (agreeing to permessage-deflate only where the case says), writes the
//! case's frames unmasked, as a server does, and judges what the client
//! does with the same expectations as when it tests a server (Autobahn's
//! fuzzingserver does the same with its cases).

use super::connect::Stream;
use super::log::Log;
use super::{Outcome, Settings, answered, exchange, judge, opening, own};
use crate::case::{Action, Case};
use crate::own::{Judge, Opening};
use crate::verdict::Verdict;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wscope_core::Role;
use wscope_core::connection::{Config, Connection, Event};
use wscope_core::deflate::{DeflateParams, NAME, ServerDeflateConfig, negotiate, parse_params};
use wscope_core::handshake::Request;
use wscope_core::header_value::{Extension, parse_extensions};

/// Runs `case` on a connection whose request the checker has read: `head`
/// is every byte read so far (logged as the client's), `rest` the part of
/// it after the request head, `started` when the connection was accepted.
pub async fn run_case_as_server(
    mut stream: Box<dyn Stream>,
    request: &Request,
    head: &[u8],
    rest: Vec<u8>,
    case: &Case,
    settings: &Settings,
    started: Instant,
) -> Outcome {
    let deadline = started.checked_add(case.time_limit.max(settings.timeout)).unwrap_or(started);
    let mut log = Log::of(Role::Server, started, settings.record_limit);
    log.push(false, head);
    let agreed = accept_deflate(case, &request.extensions);
    let value = agreed.as_ref().map(|(_, v)| v.as_str());
    // The core writes only what it can stand behind: no subprotocol, and an
    // extension value it produced itself; own cases then break it on purpose.
    let mut response = request.response(None, value).unwrap_or_default();
    let judge = case.own.as_ref().map(|o| o.judge);
    if let Some(Opening::Answer(edit)) = case.own.as_ref().map(|o| &o.opening) {
        let extra = if edit.deflate_not_offered {
            vec![("Sec-WebSocket-Extensions", deflate_not_offered(request))]
        } else {
            Vec::new()
        };
        response = opening::edit_response(&response, edit, &extra);
        if edit.frame_behind || judge == Some(Judge::ClientRefuses) {
            response.extend(Action::frame(1, b"Hello".to_vec()).encode(None));
        }
    }
    log.push(true, &response);
    let wrote = tokio::time::timeout_at(deadline.into(), stream.write_all(&response)).await;
    if !matches!(wrote, Ok(Ok(()))) {
        let reason = "the client closed the connection before the 101 was written".to_owned();
        return answered(case, Verdict::Failed, reason, started, log);
    }
    if judge == Some(Judge::ClientRefuses) {
        let (verdict, reason) = refused(stream, rest, deadline, &mut log).await;
        return answered(case, verdict, reason, started, log);
    }
    let deflate = agreed.map(|(p, _)| p);
    let ex = exchange::exchange(stream, Role::Server, case, deflate, rest, deadline, &mut log).await;
    let (mut verdict, mut reason, close, close_reason) = judge::judge(case, &ex, Role::Server);
    let mut close = Some(close);
    // An own judge judges the close too.
    if let Some(j @ Judge::Fails { .. }) = judge {
        (verdict, reason) = own::exchange(j, case, &ex, Role::Server);
        close = None;
    }
    let (client_close, server_close) = ex.closes(Role::Server);
    let mut o = answered(case, verdict, reason, started, log);
    (o.close, o.close_reason, o.seen, o.client_close, o.server_close) =
        (close, close_reason, ex.seen, client_close, server_close);
    o
}

/// A permessage-deflate response `request`'s offer does not allow: a
/// client window limit where it offered none (or no offer at all), else a
/// server window out of range.
fn deflate_not_offered(request: &Request) -> String {
    let offered_window = request
        .extensions
        .iter()
        .filter(|e| e.name.eq_ignore_ascii_case(NAME))
        .filter_map(|e| parse_params(&e.params).ok())
        .any(|o| o.client_max_window_bits.is_some());
    if offered_window {
        format!("{NAME}; server_max_window_bits=7")
    } else {
        format!("{NAME}; client_max_window_bits=10")
    }
}

/// After a 101 the client must refuse (and a message behind it): what the
/// client did, read through the core until its first frame, the end of TCP
/// or `deadline`, judged as [`Judge::ClientRefuses`] says.
async fn refused(stream: Box<dyn Stream>, rest: Vec<u8>, deadline: Instant, log: &mut Log) -> (Verdict, String) {
    let (mut rd, _wr) = tokio::io::split(stream);
    let mut conn = Connection::server(Config { auto_pong: false, auto_close: false, ..Config::default() });
    conn.receive_data(&rest);
    let mut chunk = vec![0u8; 16 * 1024];
    let mut sent = !rest.is_empty();
    loop {
        if let Some(event) = conn.next_event() {
            return match event {
                Event::Close(frame) => {
                    let code = frame.code.map_or_else(|| "no code".to_owned(), |c| c.0.to_string());
                    (
                        Verdict::NonStrict,
                        format!(
                            "the client sent a close frame ({code}): it failed the connection, but the connection never opened"
                        ),
                    )
                }
                Event::Text(_) | Event::Binary(_) => {
                    (Verdict::Failed, "the client took the 101 and echoed the message".to_owned())
                }
                Event::Ping(_) | Event::Pong(_) => {
                    (Verdict::Failed, "the client took the 101 and sent a ping or pong".to_owned())
                }
                Event::Failed(e) => (Verdict::Failed, format!("the client took the 101 and sent bytes: {e}")),
            };
        }
        let end = match tokio::time::timeout_at(deadline.into(), rd.read(&mut chunk)).await {
            Ok(Ok(0)) => "closed TCP".to_owned(),
            Ok(Err(e)) => format!("ended TCP ({e})"),
            Ok(Ok(n)) => {
                let got = chunk.get(..n).unwrap_or_default();
                log.push(false, got);
                conn.receive_data(got);
                sent = true;
                continue;
            }
            Err(_) => return (Verdict::Failed, "the client neither refused the 101 nor closed TCP in time".to_owned()),
        };
        return if sent {
            (Verdict::Failed, format!("the client sent part of a frame, then {end}: it took the 101"))
        } else {
            (Verdict::Ok, format!("the client {end} without sending anything"))
        };
    }
}

/// What the checker as a server asks of a client for `case`: the mirror of
/// the offer it makes as a client. Each element of the case's offer that
/// asks the server for no context takeover or a window asks the same of the
/// client (Autobahn's 13.x pair each client offer with such a server
/// answer); tried in order. Empty when the case does not use the extension.
fn asks(case: &Case) -> Vec<(bool, Option<u8>)> {
    let Some(offer) = case.offer.as_deref().and_then(|o| parse_extensions(o.as_bytes())) else { return Vec::new() };
    offer
        .iter()
        .filter(|e| e.name.eq_ignore_ascii_case(NAME))
        .filter_map(|e| parse_params(&e.params).ok())
        .map(|o| (o.server_no_context_takeover, o.server_max_window_bits))
        .collect()
}

/// The permessage-deflate the checker agrees to for `case` among the
/// client's `offers` (the core negotiates it): for each thing it asks, in
/// order, the client's first offer that allows it. A window limit is asked
/// only of a client that offered `client_max_window_bits` (RFC 7692
/// 7.1.2.2); a client whose offers allow none of it gets no extension, and
/// the case is UNIMPLEMENTED.
fn accept_deflate(case: &Case, offers: &[Extension]) -> Option<(DeflateParams, String)> {
    for (no_context_takeover, window) in asks(case) {
        for offer in offers.iter().filter(|e| e.name.eq_ignore_ascii_case(NAME)) {
            let Ok(params) = parse_params(&offer.params) else { continue };
            if window.is_some() && params.client_max_window_bits.is_none() {
                continue;
            }
            let config = ServerDeflateConfig {
                client_no_context_takeover: no_context_takeover,
                client_max_window_bits: window.unwrap_or(wscope_core::deflate::MAX_WINDOW_BITS),
                ..ServerDeflateConfig::default()
            };
            if let Some(agreed) = negotiate(std::slice::from_ref(offer), &config).accepted {
                return Some(agreed);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn offers(v: &str) -> Vec<Extension> {
        parse_extensions(v.as_bytes()).unwrap()
    }

    fn case(id: &str) -> Case {
        crate::cases::all().into_iter().find(|c| c.id == id).unwrap()
    }

    #[test]
    fn the_server_side_asks_what_the_client_side_offers() {
        let browser = offers("permessage-deflate; client_max_window_bits");
        // 12.*: the extension as offered.
        assert_eq!(accept_deflate(&case("12.1.1"), &browser).unwrap().1, "permessage-deflate");
        // 13.2: no context takeover asked of the client.
        let (p, v) = accept_deflate(&case("13.2.1"), &browser).unwrap();
        assert!(p.client_no_context_takeover && v.contains("client_no_context_takeover"));
        // 13.3: a 9-bit window, only of a client that can limit its window.
        let (p, v) = accept_deflate(&case("13.3.1"), &browser).unwrap();
        assert_eq!((p.client_max_window_bits, v.as_str()), (9, "permessage-deflate; client_max_window_bits=9"));
        assert!(accept_deflate(&case("13.3.1"), &offers("permessage-deflate")).is_none());
        // 13.7: the first of its three asks the client allows.
        let (p, _) = accept_deflate(&case("13.7.1"), &offers("permessage-deflate")).unwrap();
        assert!(p.client_no_context_takeover && p.client_max_window_bits == 15);
        // No extension for the other cases, none without an offer.
        assert!(accept_deflate(&case("1.1.1"), &browser).is_none());
        assert!(accept_deflate(&case("12.1.1"), &offers("x-webkit-deflate-frame")).is_none());
    }
}
