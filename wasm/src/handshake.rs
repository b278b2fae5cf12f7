//! The handshake for the page: key reports, request reports, the client's
//! request.

use crate::js::to_js;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wscope_core::handshake::{
    ClientHandshake, HandshakeError, HandshakeLimits, inspect_request as core_inspect_request,
};

/// The key text for 16 random bytes (the page supplies them from
/// `crypto.getRandomValues`).
#[wasm_bindgen]
pub fn key_from_nonce(nonce: &[u8]) -> Result<String, JsError> {
    let nonce: [u8; 16] = nonce.try_into().map_err(|_| JsError::new("a key nonce is exactly 16 bytes"))?;
    Ok(wscope_core::accept::key_from_nonce(nonce))
}

/// The client's handshake request for `host`, `target` and `key`.
#[wasm_bindgen]
pub fn client_request(host: &str, target: &str, key: &str) -> Result<String, JsError> {
    let bytes = ClientHandshake::with_key(host, target, key).request().map_err(|e| JsError::new(&e.to_string()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[derive(Serialize)]
struct ProblemJs {
    message: String,
    status: u16,
    section: &'static str,
}

impl From<&HandshakeError> for ProblemJs {
    fn from(e: &HandshakeError) -> Self {
        ProblemJs { message: e.to_string(), status: e.status(), section: e.section() }
    }
}

#[derive(Serialize)]
struct RequestReportJs {
    /// The head was complete.
    complete: bool,
    head_len: Option<usize>,
    method: Option<String>,
    target: Option<String>,
    http_version: Option<String>,
    headers: Vec<(String, String)>,
    problems: Vec<ProblemJs>,
    /// The key's accept value, for a valid request.
    accept: Option<String>,
    /// What a server sends back: the 101, or the error response for the
    /// first problem.
    response: Option<String>,
}

/// Every problem of a handshake request, and the server's answer to it.
#[wasm_bindgen]
pub fn inspect_request(bytes: &[u8]) -> Result<JsValue, JsError> {
    let report = core_inspect_request(bytes, &HandshakeLimits::default());
    let response = match (&report.request, report.problems.first()) {
        (_, Some(first)) => Some(first.response()),
        (Some(req), None) => req.response(None, None).ok(),
        (None, None) => None,
    };
    let (method, target, http_version) = match &report.request_line {
        Some((m, t, v)) => (Some(m.clone()), Some(t.clone()), Some(format!("HTTP/1.{v}"))),
        None => (None, None, None),
    };
    to_js(&RequestReportJs {
        complete: report.head_len.is_some() || !report.problems.is_empty(),
        head_len: report.head_len,
        method,
        target,
        http_version,
        headers: report.headers.clone(),
        problems: report.problems.iter().map(ProblemJs::from).collect(),
        accept: report.request.as_ref().map(|r| r.accept()),
        response: response.map(|r| String::from_utf8_lossy(&r).into_owned()),
    })
}

#[derive(Serialize)]
struct KeyReportJs {
    /// The core's verdict (section 4.2.1, item 5).
    valid: bool,
    /// Characters in the key text.
    chars: usize,
    /// Bytes it decodes to, when it is base64 at all.
    decoded_len: Option<usize>,
    /// Why it is not base64, when it is not.
    decode_error: Option<String>,
    /// What a server answers to a request with this key (absent when valid).
    problem: Option<ProblemJs>,
    /// `base64(SHA-1(key ‖ GUID))`, computed over the text as given.
    accept: String,
    /// The GUID of section 1.3 every server appends.
    guid: &'static str,
}

/// A `Sec-WebSocket-Key` examined: the core's verdict, and the facts that
/// explain it (its length, what it decodes to).
#[wasm_bindgen]
pub fn key_report(key: &str) -> Result<JsValue, JsError> {
    use base64::Engine as _;
    let valid = wscope_core::accept::is_valid_key(key.as_bytes());
    let decoded = base64::engine::general_purpose::STANDARD.decode(key.as_bytes());
    let (decoded_len, decode_error) = match decoded {
        Ok(d) => (Some(d.len()), None),
        Err(e) => (None, Some(crate::paste::base64_error(&e, key, |_| false).message)),
    };
    to_js(&KeyReportJs {
        valid,
        chars: key.chars().count(),
        decoded_len,
        decode_error,
        problem: (!valid).then(|| ProblemJs::from(&HandshakeError::InvalidKey)),
        accept: wscope_core::accept_key(key.as_bytes()),
        guid: wscope_core::accept::GUID,
    })
}
