//! The explorer page and its files, served by hyper and tower-http's
//! `ServeDir` (content types, no path traversal, 404s, HEAD, conditional
//! requests), `GET /limits` ([`crate::limits`]), and `GET /check/report/N`,
//! the N-th report file the operator named with `--check-report`.

use crate::io::Prefixed;
use crate::limits::Limits;
use crate::relay;
use crate::shared::Shared;
use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tower_http::services::{ServeDir, ServeFile};

type Body = UnsyncBoxBody<Bytes, std::io::Error>;

/// The `/limits` answer: JSON, never cached (the server may restart with
/// other flags).
fn limits_response(json: Bytes) -> Response<Body> {
    let mut response = Response::new(Full::new(json).map_err(|never| match never {}).boxed_unsync());
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An empty response with `status` (`try_call` hands back the errors
/// `ServeDir::call` would have turned into one).
fn status_response(status: hyper::StatusCode) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::new()).map_err(|never| match never {}).boxed_unsync());
    *response.status_mut() = status;
    response
}

/// The answer for a file that could not be opened: 404 when it is not
/// there (or a path goes through a file), 500 otherwise.
fn open_failed(e: &std::io::Error) -> Response<Body> {
    match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory => {
            status_response(hyper::StatusCode::NOT_FOUND)
        }
        _ => status_response(hyper::StatusCode::INTERNAL_SERVER_ERROR),
    }
}

/// Exports made at once (each decodes a record and may hold up to
/// [`relay::export::PAYLOAD_BUDGET`] of payload); more wait their turn.
static EXPORTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// `GET /relay/export/ID.jsonl` or `.har`: a relayed session's record,
/// decoded again off the runtime, as a download.
async fn relay_export(name: &str, shared: &Shared) -> Response<Body> {
    let Some((id, format)) = relay::export::Format::parse(name) else {
        return status_response(hyper::StatusCode::NOT_FOUND);
    };
    let Some(session) = shared.relays.get(id) else {
        return status_response(hyper::StatusCode::NOT_FOUND);
    };
    // JSON lines carry what the log would; HAR carries whole messages.
    let keep = match format {
        relay::export::Format::Jsonl => shared.config.relay.log_payload,
        relay::export::Format::Har => relay::export::PAYLOAD_BUDGET,
    };
    let options = relay::wire_options(shared.config.handshake, shared.config.ws.max_message_size, keep);
    let Ok(permit) = EXPORTS.acquire().await else {
        return status_response(hyper::StatusCode::SERVICE_UNAVAILABLE);
    };
    // The permit goes with the work: a client that leaves does not free a
    // place while its export still runs.
    let Ok(bytes) = tokio::task::spawn_blocking(move || {
        let bytes = relay::export::export(&session, format, options);
        drop(permit);
        bytes
    })
    .await
    else {
        return status_response(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    };
    let mut response = Response::new(Full::new(Bytes::from(bytes)).map_err(|never| match never {}).boxed_unsync());
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"wscope-session-{name}\"")) {
        response.headers_mut().insert(hyper::header::CONTENT_DISPOSITION, v);
    }
    response
}

pub(crate) async fn serve(io: Prefixed<TcpStream>, shared: &Shared) {
    let dir = ServeDir::new(&shared.config.www).append_index_html_on_directories(true);
    let relay_addrs = shared.relay_addrs.get().map(Vec::as_slice).unwrap_or_default();
    let limits = Bytes::from(Limits::of(&shared.config).with_relay_addrs(relay_addrs).to_json());
    let reports = std::sync::Arc::new(shared.config.check.reports.clone());
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let mut dir = dir.clone();
        let limits = limits.clone();
        let reports = std::sync::Arc::clone(&reports);
        async move {
            if request.uri().path() == "/limits" {
                return Ok::<_, std::io::Error>(limits_response(limits));
            }
            if let Some(name) = request.uri().path().strip_prefix("/relay/export/") {
                return Ok(relay_export(name, shared).await);
            }
            // Only the operator's files, by number: the page names no path.
            let report = request.uri().path().strip_prefix("/check/report/").and_then(|n| n.parse::<usize>().ok());
            if let Some(path) = report.and_then(|n| reports.get(n)) {
                let mut file = ServeFile::new(path);
                return Ok(match file.try_call(request).await {
                    Ok(response) => response.map(BodyExt::boxed_unsync),
                    Err(e) => open_failed(&e),
                });
            }
            Ok::<_, std::io::Error>(match dir.try_call(request).await {
                Ok(response) => response.map(BodyExt::boxed_unsync),
                Err(e) => open_failed(&e),
            })
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(shared.config.handshake_timeout)
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    // hyper bounds reading a request, not writing a response: a client that
    // never reads would hold its connection slot forever without this.
    let deadline = tokio::time::sleep(shared.config.idle_timeout);
    tokio::pin!(deadline);
    tokio::select! {
        _ = conn.as_mut() => {}
        () = &mut deadline => {}
        () = shared.shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(shared.config.close_timeout, conn).await;
        }
    }
}
