//! One case with the checker as the server, testing a client: the client
//! has connected and sent its opening handshake; the checker answers with a
//! 101 (agreeing to permessage-deflate only where the case says), writes the
//! case's frames unmasked, as a server does, and judges what the client
//! does with the same expectations as when it tests a server (Autobahn's
//! fuzzingserver does the same with its cases).

use super::connect::Stream;
use super::log::Log;
use super::{Outcome, Settings, exchange, judge};
use crate::case::Case;
use std::time::Instant;
use tokio::io::AsyncWriteExt;
use wscope_core::Role;
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
    // extension value it produced itself.
    let response = request.response(None, value).unwrap_or_default();
    log.push(true, &response);
    let wrote = tokio::time::timeout_at(deadline.into(), stream.write_all(&response)).await;
    if !matches!(wrote, Ok(Ok(()))) {
        let reason = "the client closed the connection before the 101 was written".to_owned();
        return Outcome {
            id: case.id.clone(),
            verdict: crate::Verdict::Failed,
            reason,
            close: None,
            close_reason: "no WebSocket was opened".into(),
            seen: Vec::new(),
            client_close: None,
            server_close: None,
            duration: started.elapsed(),
            records: log.records,
            dropped_bytes: log.dropped,
            no_websocket: None,
        };
    }
    let deflate = agreed.map(|(p, _)| p);
    let ex = exchange::exchange(stream, Role::Server, case, deflate, rest, deadline, &mut log).await;
    let (verdict, reason, close, close_reason) = judge::judge(case, &ex, Role::Server);
    let (client_close, server_close) = ex.closes(Role::Server);
    Outcome {
        id: case.id.clone(),
        verdict,
        reason,
        close: Some(close),
        close_reason,
        seen: ex.seen,
        client_close,
        server_close,
        duration: started.elapsed(),
        records: log.records,
        dropped_bytes: log.dropped,
        no_websocket: None,
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
