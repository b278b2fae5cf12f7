//! The two handshakes of an intercepted session. The client's request is
//! judged by the core (a request that is no valid upgrade gets the core's
//! refusal); the relay asks the upstream for the same target, origin,
//! subprotocols and end-to-end headers with a key of its own (and its own
//! permessage-deflate offer when the client made one); the upstream's 101
//! is checked by the core. A refusal from the upstream goes to the client
//! as the upstream wrote it; a 101 that breaks a rule is a 502. Then the
//! client gets the relay's own 101: the subprotocol the upstream chose, and
//! permessage-deflate as the server's configuration agrees with the
//! client's offer (each leg compresses on its own terms).

use super::run::{Legs, open_controls, run};
use crate::relay::hub::State;
use crate::relay::pipe::{Reader, Writer};
use crate::relay::record::Recorder;
use crate::relay::{Relay, RelayShared};
use crate::tap::Dir;
use std::time::Instant;
use tokio::net::TcpStream;
use wscope_core::connection::{Config, Connection};
use wscope_core::handshake::{ClientHandshake, HandshakeError, RequestHead};
use wscope_core::{Decoded, Role};

fn random_nonce() -> [u8; 16] {
    let mut nonce = [0u8; 16];
    // Without randomness the key is still well-formed, only predictable.
    let _ = getrandom::fill(&mut nonce);
    nonce
}

fn mask_keys() -> wscope_core::connection::MaskKeys {
    Box::new(|| {
        let mut key = [0u8; 4];
        let _ = getrandom::fill(&mut key);
        key
    })
}

/// Opens both legs of an intercepted session and runs it; returns how it
/// ended, or what to answer the client with.
/// What a session that starts intercepted has: its relay, the client's
/// request head (and the bytes read with it), its record of each leg.
pub(crate) struct Opening<'a> {
    pub(crate) relay: &'a Relay,
    pub(crate) shared: &'a RelayShared,
    pub(crate) recorder: &'a Recorder,
    pub(crate) head: &'a RequestHead,
    /// Every byte read from the client so far; the head is `..head_len`.
    pub(crate) bytes: &'a [u8],
    pub(crate) head_len: usize,
    pub(crate) upstream_tap: &'a crate::tap::Tap,
}

pub(crate) async fn serve(mut client: TcpStream, opening: Opening<'_>) -> Result<String, (TcpStream, HandshakeError)> {
    let Opening { relay, shared, recorder, head, bytes, head_len, upstream_tap } = opening;
    let request = match head.upgrade() {
        Ok(r) => r,
        Err(e) => return Err((client, e)),
    };
    let lines = recorder.push(Role::Client, bytes);
    if let Some(log) = &shared.log {
        log.write(lines).await;
    }
    let deadline = Instant::now().checked_add(shared.config.connect_timeout).unwrap_or_else(Instant::now);
    let (mut up_rd, mut up_wr) = match super::super::connect(relay, shared, deadline).await {
        Ok(halves) => halves,
        Err(why) => return Err((client, super::super::session::bad_gateway(relay, &why))),
    };
    let mut hs = ClientHandshake::on_behalf_of(&request, &relay.target.host, random_nonce());
    if wscope_core::deflate::offered(&request.extensions) && shared.deflate.is_some() {
        hs.extensions = Some(wscope_core::deflate::OPEN_OFFER.to_string());
    }
    let Ok(ask) = hs.request() else {
        let e = super::super::session::bad_gateway(relay, "cannot be asked for what the client asked (a header value)");
        return Err((client, e));
    };
    recorder.session.update(|s| s.state = State::Requested);
    upstream_tap.record(Dir::ClientToServer, &ask);
    if let Err(e) = up_wr.write_all(&ask).await {
        return Err((client, super::super::session::bad_gateway(relay, &format!("failed while asked: {e}"))));
    }
    // The upstream's answer, judged by the core.
    let mut buf = Vec::new();
    let mut chunk = Vec::new();
    let answer = loop {
        match hs.check_response(&buf, &shared.head_limits) {
            Ok(Decoded::Complete { value, len }) => break Ok((value, len)),
            Ok(Decoded::Incomplete { .. }) => {}
            Err(e) => break Err(e),
        }
        let read = tokio::time::timeout(shared.handshake_timeout, up_rd.read(&mut chunk)).await;
        match read {
            Ok(Ok(n)) if n > 0 => {
                let got = chunk.get(..n).unwrap_or_default();
                upstream_tap.record(Dir::ServerToClient, got);
                buf.extend_from_slice(got);
            }
            Ok(Ok(_)) | Ok(Err(_)) => {
                return Err((client, super::super::session::bad_gateway(relay, "closed before it answered")));
            }
            Err(_) => {
                return Err((client, super::super::session::bad_gateway(relay, "did not answer in time")));
            }
        }
    };
    let (accepted, len) = match answer {
        Ok(a) => a,
        Err(wscope_core::handshake::ResponseError::NotSwitching { status, .. }) => {
            // The upstream's refusal, to the client as it was.
            let _ = status;
            let lines = recorder.push(Role::Server, &buf);
            if let Some(log) = &shared.log {
                log.write(lines).await;
            }
            if tokio::io::AsyncWriteExt::write_all(&mut client, &buf).await.is_err() {
                return Ok("the client went away before the upstream's refusal reached it".into());
            }
            return Ok(pass_rest(client, up_rd, up_wr, recorder, shared).await);
        }
        Err(e) => {
            let why = format!("answered with a 101 that breaks a rule: {e}");
            return Err((client, super::super::session::bad_gateway(relay, &why)));
        }
    };
    // The client's 101: the upstream's subprotocol, our own deflate terms.
    let negotiation = shared.deflate.as_ref().map(|d| wscope_core::deflate::negotiate(&request.extensions, d));
    let (client_deflate, client_ext) = match negotiation.and_then(|n| n.accepted) {
        Some((params, value)) => (Some(params), Some(value)),
        None => (None, None),
    };
    let response = match request.response(accepted.protocol.as_deref(), client_ext.as_deref()) {
        Ok(r) => r,
        Err(e) => {
            let why = format!("chose what the client cannot be given: {e}");
            return Err((client, super::super::session::bad_gateway(relay, &why)));
        }
    };
    let controls = open_controls(&recorder.session);
    let lines = recorder.push(Role::Server, &response);
    if let Some(log) = &shared.log {
        log.write(lines).await;
    }
    if tokio::io::AsyncWriteExt::write_all(&mut client, &response).await.is_err() {
        return Ok("the client went away before its 101".into());
    }
    let base = Config { auto_pong: false, auto_close: false, ..shared.ws };
    let mut client_leg = Connection::server(Config { deflate: client_deflate, ..base });
    let mut upstream_leg = Connection::client(Config { deflate: accepted.deflate, ..base }, mask_keys());
    client_leg.receive_data(bytes.get(head_len..).unwrap_or_default());
    upstream_leg.receive_data(buf.get(len..).unwrap_or_default());
    let (cl_rd, cl_wr) = client.into_split();
    let legs = Legs {
        client: client_leg,
        upstream: upstream_leg,
        client_io: (Reader::Tcp(cl_rd), Writer::Tcp(cl_wr)),
        upstream_io: (up_rd, up_wr),
    };
    Ok(run(legs, recorder, shared, upstream_tap, controls).await)
}

/// After an upstream's refusal: the rest of the connection as bytes, both
/// ways, as the transparent relay moves them.
async fn pass_rest(
    client: TcpStream,
    up_rd: Reader,
    up_wr: Writer,
    recorder: &Recorder,
    shared: &RelayShared,
) -> String {
    let (cl_rd, cl_wr) = client.into_split();
    let log = shared.log.as_ref();
    let up = crate::relay::pipe::pump(Role::Client, Reader::Tcp(cl_rd), up_wr, recorder, log);
    let down = crate::relay::pipe::pump(Role::Server, up_rd, Writer::Tcp(cl_wr), recorder, log);
    crate::relay::session::run_pumps(up, down, recorder, shared).await
}
