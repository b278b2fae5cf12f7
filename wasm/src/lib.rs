//! `wscope-core` for the explorer page.
//!
//! A thin layer: each function converts JavaScript input to the core's
//! types, asks the core, and converts the answer to plain JavaScript objects
//! (through serde). No rule of the protocol is written here; the page shows
//! exactly what the server's own code decides.

use serde::Serialize;
use wasm_bindgen::prelude::*;
use wscope_core::deflate::DeflateParams;
use wscope_core::frame::{Field, FieldSpan, FrameHeader, LengthForm, OpCode};
use wscope_core::handshake::{
    ClientHandshake, HandshakeError, HandshakeLimits, RequestHead, ResponseHead,
    inspect_request as core_inspect_request,
};
use wscope_core::inspect::{InspectOptions, InspectedFrame, inspect as core_inspect};
use wscope_core::mask::apply_mask;
use wscope_core::rules::{DataKind, FrameRole, Sender, Violation};
use wscope_core::{CloseCode, Decoded};

/// Plain objects, `null` for `None`, and bytes (the fields marked
/// `serde_bytes_compat`) as `Uint8Array`s rather than arrays of numbers.
fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible().serialize_bytes_as_arrays(false);
    value.serialize(&serializer).map_err(|e| JsError::new(&e.to_string()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A rule broken, as the page shows it.
#[derive(Serialize)]
struct ViolationJs {
    message: String,
    code: u16,
    code_name: &'static str,
    /// 6455, or 7692 for permessage-deflate.
    rfc: u16,
    section: &'static str,
}

impl From<&Violation> for ViolationJs {
    fn from(v: &Violation) -> Self {
        let code = v.close_code();
        ViolationJs {
            message: v.to_string(),
            code: code.0,
            code_name: code.name().unwrap_or(""),
            rfc: v.rfc(),
            section: v.section(),
        }
    }
}

/// `Sec-WebSocket-Accept` for a key (RFC 6455 section 4.2.2).
#[wasm_bindgen]
pub fn accept_key(key: &str) -> String {
    wscope_core::accept_key(key.as_bytes())
}

/// Whether a key is the base64 of exactly 16 bytes (section 4.1).
#[wasm_bindgen]
pub fn is_valid_key(key: &str) -> bool {
    wscope_core::accept::is_valid_key(key.as_bytes())
}

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

/// Length of the HTTP head at the start of a byte stream: of a request when
/// `request`, else of a response. `-1`: incomplete; `-2`: not HTTP.
#[wasm_bindgen]
pub fn http_head_len(bytes: &[u8], request: bool) -> i32 {
    let limits = HandshakeLimits::default();
    let len = if request {
        match RequestHead::parse(bytes, &limits) {
            Ok(Decoded::Complete { len, .. }) => Some(len),
            Ok(Decoded::Incomplete { .. }) => return -1,
            Err(_) => None,
        }
    } else {
        match ResponseHead::parse(bytes, &limits) {
            Ok(Decoded::Complete { len, .. }) => Some(len),
            Ok(Decoded::Incomplete { .. }) => return -1,
            Err(_) => None,
        }
    };
    len.and_then(|l| i32::try_from(l).ok()).unwrap_or(-2)
}

#[derive(Serialize)]
struct FieldJs {
    name: &'static str,
    /// Stable key for colouring: `fin`, `rsv1`, ..., `payload`.
    key: &'static str,
    bit_start: u16,
    bit_len: u16,
    byte_start: usize,
    byte_end: usize,
    value: String,
}

fn field_key(f: Field) -> &'static str {
    match f {
        Field::Fin => "fin",
        Field::Rsv1 => "rsv1",
        Field::Rsv2 => "rsv2",
        Field::Rsv3 => "rsv3",
        Field::Opcode => "opcode",
        Field::Mask => "mask",
        Field::PayloadLen => "len7",
        Field::ExtendedPayloadLen => "lenext",
        Field::MaskingKey => "key",
    }
}

impl From<&FieldSpan> for FieldJs {
    fn from(f: &FieldSpan) -> Self {
        let (byte_start, byte_end) = f.byte_range();
        let value = match f.field {
            Field::MaskingKey => format!("0x{:08x}", f.value),
            _ => f.value.to_string(),
        };
        FieldJs {
            name: f.field.name(),
            key: field_key(f.field),
            bit_start: f.bit_start,
            bit_len: f.bit_len,
            byte_start,
            byte_end,
            value,
        }
    }
}

#[derive(Serialize)]
struct HeaderJs {
    fin: bool,
    rsv: [bool; 3],
    opcode: u8,
    opcode_name: &'static str,
    /// What the opcode means, as a stable key for the page: `continuation`,
    /// `text`, `binary`, `close`, `ping`, `pong` or `reserved`.
    kind: &'static str,
    control: bool,
    reserved: bool,
    masked: bool,
    mask_key: Option<String>,
    /// Exact, as text (a 64-bit length can exceed what a JS number holds).
    payload_len: String,
    length_form: &'static str,
    header_len: usize,
    fields: Vec<FieldJs>,
}

fn opcode_kind(op: OpCode) -> &'static str {
    match op {
        OpCode::Continuation => "continuation",
        OpCode::Text => "text",
        OpCode::Binary => "binary",
        OpCode::Close => "close",
        OpCode::Ping => "ping",
        OpCode::Pong => "pong",
        OpCode::ReservedData(_) | OpCode::ReservedControl(_) => "reserved",
    }
}

fn length_form_name(f: LengthForm) -> &'static str {
    match f {
        LengthForm::Short => "7-bit",
        LengthForm::Extended16 => "16-bit",
        LengthForm::Extended64 => "64-bit",
    }
}

impl From<&FrameHeader> for HeaderJs {
    fn from(h: &FrameHeader) -> Self {
        HeaderJs {
            fin: h.fin,
            rsv: h.rsv,
            opcode: h.opcode.bits(),
            opcode_name: h.opcode.name(),
            kind: opcode_kind(h.opcode),
            control: h.opcode.is_control(),
            reserved: h.opcode.is_reserved(),
            masked: h.mask.is_some(),
            mask_key: h.mask.map(|k| hex(&k)),
            payload_len: h.payload_len.to_string(),
            length_form: length_form_name(h.length_form),
            header_len: h.encoded_len(),
            fields: h.fields().iter().map(FieldJs::from).collect(),
        }
    }
}

#[derive(Serialize)]
struct CloseJs {
    code: Option<u16>,
    code_name: Option<&'static str>,
    reason: String,
}

#[derive(Serialize)]
struct FrameJs {
    offset: usize,
    header: HeaderJs,
    /// The payload as present, unmasked.
    #[serde(with = "serde_bytes_compat")]
    payload: Vec<u8>,
    /// The payload as it was on the wire (masked if the frame is).
    #[serde(with = "serde_bytes_compat")]
    payload_wire: Vec<u8>,
    complete: bool,
    /// `control`, `data` or `ignored` (the message layer cannot place it).
    role: &'static str,
    /// For data frames: `first`, `middle`, `last` or `only`.
    position: Option<&'static str>,
    /// The payload as UTF-8, when it is (whole or up to a cut character).
    text: Option<String>,
    violations: Vec<ViolationJs>,
    close: Option<CloseJs>,
}

/// Bytes as a `Uint8Array` rather than an array of numbers.
mod serde_bytes_compat {
    pub(crate) fn serialize<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(bytes)
    }
}

fn frame_js(f: &InspectedFrame, input: &[u8]) -> FrameJs {
    let (role, position) = match f.role {
        FrameRole::Control(_) => ("control", None),
        FrameRole::Data { first, last, .. } => (
            "data",
            Some(match (first, last) {
                (true, true) => "only",
                (true, false) => "first",
                (false, false) => "middle",
                (false, true) => "last",
            }),
        ),
        FrameRole::Ignored => ("ignored", None),
    };
    let start = f.offset.saturating_add(f.header_len);
    let wire = input.get(start..start.saturating_add(f.payload.len())).unwrap_or_default().to_vec();
    let text = match core::str::from_utf8(&f.payload) {
        Ok(s) => Some(s.to_string()),
        Err(e) if e.error_len().is_none() => {
            core::str::from_utf8(f.payload.get(..e.valid_up_to()).unwrap_or_default()).ok().map(str::to_string)
        }
        Err(_) => None,
    };
    FrameJs {
        offset: f.offset,
        header: HeaderJs::from(&f.header),
        payload: f.payload.clone(),
        payload_wire: wire,
        complete: f.complete,
        role,
        position,
        text,
        violations: f.violations.iter().map(ViolationJs::from).collect(),
        close: f.close.as_ref().map(|(code, reason)| CloseJs {
            code: code.map(|c| c.0),
            code_name: code.and_then(CloseCode::name),
            reason: reason.clone(),
        }),
    }
}

#[derive(Serialize)]
struct MessageJs {
    kind: &'static str,
    frames: Vec<usize>,
    #[serde(with = "serde_bytes_compat")]
    payload: Vec<u8>,
    /// Sent compressed (permessage-deflate): `payload` is inflated, the
    /// frames hold the compressed bytes.
    compressed: bool,
    complete: bool,
    text: Option<String>,
}

#[derive(Serialize)]
struct PartialJs {
    offset: usize,
    have: usize,
    needed: usize,
}

#[derive(Serialize)]
struct InspectionJs {
    frames: Vec<FrameJs>,
    messages: Vec<MessageJs>,
    partial_header: Option<PartialJs>,
    stopped_at: Option<usize>,
    violation_count: usize,
}

fn sender(name: &str) -> Sender {
    match name {
        "client" => Sender::Client,
        "server" => Sender::Server,
        _ => Sender::Unknown,
    }
}

/// A JavaScript number as a whole count of bytes: fractions are cut,
/// values past `u64::MAX` saturate; negative or non-finite is no number.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn whole(x: f64) -> Option<u64> {
    (x.is_finite() && x >= 0.0).then_some(x as u64)
}

fn limit(v: Option<f64>) -> Option<u64> {
    v.and_then(whole)
}

/// Reading the page's option objects by hand: serde's deserializer would
/// bring float formatting and its generic machinery into the module (about
/// 15 KB) for two small objects.
mod input {
    use wasm_bindgen::{JsError, JsValue};

    /// `obj[name]`, `None` when `obj` or the field is undefined or null.
    pub(crate) fn field(obj: &JsValue, name: &str) -> Result<Option<JsValue>, JsError> {
        if obj.is_undefined() || obj.is_null() {
            return Ok(None);
        }
        if !obj.is_object() {
            return Err(JsError::new("the options must be an object"));
        }
        let v = js_sys::Reflect::get(obj, &JsValue::from_str(name))
            .map_err(|_| JsError::new(&format!("cannot read the field {name}")))?;
        Ok((!v.is_undefined() && !v.is_null()).then_some(v))
    }

    pub(crate) fn number(obj: &JsValue, name: &str) -> Result<Option<f64>, JsError> {
        field(obj, name)?
            .map(|v| v.as_f64().ok_or_else(|| JsError::new(&format!("{name} must be a number"))))
            .transpose()
    }

    pub(crate) fn boolean(obj: &JsValue, name: &str) -> Result<Option<bool>, JsError> {
        field(obj, name)?
            .map(|v| v.as_bool().ok_or_else(|| JsError::new(&format!("{name} must be true or false"))))
            .transpose()
    }

    pub(crate) fn string(obj: &JsValue, name: &str) -> Result<Option<String>, JsError> {
        field(obj, name)?
            .map(|v| v.as_string().ok_or_else(|| JsError::new(&format!("{name} must be a string"))))
            .transpose()
    }

    /// `n` as a byte, if it is a whole number from 0 to `max`.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    pub(crate) fn small_whole(n: f64, max: u8) -> Option<u8> {
        (n.fract() == 0.0 && (0.0..=f64::from(max)).contains(&n)).then_some(n as u8)
    }

    /// An array (or typed array) of whole numbers 0-255.
    pub(crate) fn bytes(obj: &JsValue, name: &str) -> Result<Option<Vec<u8>>, JsError> {
        let Some(v) = field(obj, name)? else { return Ok(None) };
        let bad = || JsError::new(&format!("{name} must be an array of bytes (whole numbers 0-255)"));
        if !js_sys::Array::is_array(&v) && !wasm_bindgen::JsCast::is_instance_of::<js_sys::Uint8Array>(&v) {
            return Err(bad());
        }
        js_sys::Array::from(&v)
            .iter()
            .map(|x| x.as_f64().and_then(|n| small_whole(n, 255)).ok_or_else(bad))
            .collect::<Result<Vec<u8>, JsError>>()
            .map(Some)
    }

    /// An array of exactly `N` booleans.
    pub(crate) fn booleans<const N: usize>(obj: &JsValue, name: &str) -> Result<Option<[bool; N]>, JsError> {
        let Some(v) = field(obj, name)? else { return Ok(None) };
        let bad = || JsError::new(&format!("{name} must be an array of {N} booleans"));
        if !js_sys::Array::is_array(&v) {
            return Err(bad());
        }
        let array = js_sys::Array::from(&v);
        if array.length() as usize != N {
            return Err(bad());
        }
        let mut out = [false; N];
        for (slot, x) in out.iter_mut().zip(array.iter()) {
            *slot = x.as_bool().ok_or_else(bad)?;
        }
        Ok(Some(out))
    }
}

/// permessage-deflate parameters for the page: `true` for the defaults, or
/// an object with any of the four parameters (booleans and window bits).
fn deflate_option(options: &JsValue) -> Result<Option<DeflateParams>, JsError> {
    let Some(v) = input::field(options, "deflate")? else { return Ok(None) };
    if let Some(on) = v.as_bool() {
        return Ok(on.then(DeflateParams::default));
    }
    let d = DeflateParams::default();
    let bits = |name: &str, default: u8| -> Result<u8, JsError> {
        match input::number(&v, name)? {
            None => Ok(default),
            Some(n) => input::small_whole(n, 15)
                .filter(|b| *b >= 8)
                .ok_or_else(|| JsError::new(&format!("deflate.{name} must be a whole number 8-15"))),
        }
    };
    Ok(Some(DeflateParams {
        server_no_context_takeover: input::boolean(&v, "server_no_context_takeover")?.unwrap_or(false),
        client_no_context_takeover: input::boolean(&v, "client_no_context_takeover")?.unwrap_or(false),
        server_max_window_bits: bits("server_max_window_bits", d.server_max_window_bits)?,
        client_max_window_bits: bits("client_max_window_bits", d.client_max_window_bits)?,
    }))
}

/// The builder's `compress` field: `true` or `{ window_bits?, level? }`, as
/// (window bits, level); `None` when absent or `false`.
fn compress_option(spec: &JsValue) -> Result<Option<(u8, u32)>, JsError> {
    let Some(v) = input::field(spec, "compress")? else { return Ok(None) };
    if let Some(on) = v.as_bool() {
        return Ok(on.then_some((wscope_core::deflate::MAX_WINDOW_BITS, 6)));
    }
    let bits = match input::number(&v, "window_bits")? {
        None => wscope_core::deflate::MAX_WINDOW_BITS,
        Some(n) => input::small_whole(n, wscope_core::deflate::MAX_WINDOW_BITS)
            .filter(|b| *b >= wscope_core::deflate::MIN_WINDOW_BITS)
            .ok_or_else(|| JsError::new("compress.window_bits must be a whole number 8-15"))?,
    };
    let level = match input::number(&v, "level")? {
        None => 6,
        Some(n) => input::small_whole(n, 9).ok_or_else(|| JsError::new("compress.level must be a whole number 0-9"))?,
    };
    Ok(Some((bits, u32::from(level))))
}

/// The permessage-deflate parameters a server's 101 response agreed to, as
/// the `deflate` option of [`inspect`] takes them; `null` if it agreed to
/// none (or `head` is not a complete response head).
#[wasm_bindgen]
pub fn response_deflate(head: &[u8]) -> Result<JsValue, JsError> {
    let limits = wscope_core::handshake::HandshakeLimits::default();
    let Ok(Decoded::Complete { value, .. }) = wscope_core::handshake::ResponseHead::parse(head, &limits) else {
        return Ok(JsValue::NULL);
    };
    let accepted: Vec<_> = value
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Sec-WebSocket-Extensions"))
        .filter_map(|(_, v)| wscope_core::handshake::parse_extensions(v))
        .flatten()
        .collect();
    match wscope_core::deflate::agreed_params(&accepted) {
        Ok(Some(p)) => to_js(&DeflateJs::from(&p)),
        Ok(None) => Ok(JsValue::NULL),
        Err(e) => Err(JsError::new(&e.to_string())),
    }
}

#[derive(Serialize)]
struct DeflateJs {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: u8,
    client_max_window_bits: u8,
}

impl From<&DeflateParams> for DeflateJs {
    fn from(p: &DeflateParams) -> Self {
        DeflateJs {
            server_no_context_takeover: p.server_no_context_takeover,
            client_no_context_takeover: p.client_no_context_takeover,
            server_max_window_bits: p.server_max_window_bits,
            client_max_window_bits: p.client_max_window_bits,
        }
    }
}

/// Decodes every frame in `bytes` and lists every violation (the core's
/// inspecting judgement). `options`: `{ sender: "client" | "server" |
/// "unknown", max_frame_size?, max_message_size?, max_frames?, deflate? }`
/// (`deflate`: `true` or the parameters from [`response_deflate`]).
#[wasm_bindgen]
pub fn inspect(bytes: &[u8], options: JsValue) -> Result<JsValue, JsError> {
    let defaults = InspectOptions::default();
    let options = InspectOptions {
        sender: sender(&input::string(&options, "sender")?.unwrap_or_default()),
        max_frame_size: limit(input::number(&options, "max_frame_size")?),
        max_message_size: limit(input::number(&options, "max_message_size")?),
        max_frames: limit(input::number(&options, "max_frames")?)
            .and_then(|m| usize::try_from(m).ok())
            .unwrap_or(defaults.max_frames),
        deflate: deflate_option(&options)?,
    };
    to_js(&inspection(bytes, &options))
}

/// What [`inspect`] hands the page, before it becomes a JavaScript object.
/// Public for the native fuzz target (`core/fuzz`, `explorer_inspect`),
/// which runs every conversion the page's inspector goes through.
#[doc(hidden)]
pub fn inspection(bytes: &[u8], options: &InspectOptions) -> impl Serialize + use<> {
    let r = core_inspect(bytes, options);
    InspectionJs {
        frames: r.frames.iter().map(|f| frame_js(f, bytes)).collect(),
        messages: r
            .messages
            .iter()
            .map(|m| MessageJs {
                kind: match m.kind {
                    DataKind::Text => "text",
                    DataKind::Binary => "binary",
                },
                frames: m.frames.clone(),
                payload: m.payload.clone(),
                compressed: m.compressed,
                complete: m.complete,
                text: m.text.clone(),
            })
            .collect(),
        partial_header: r.partial_header.map(|p| PartialJs { offset: p.offset, have: p.have, needed: p.needed }),
        stopped_at: r.stopped_at,
        violation_count: r.violations().count(),
    }
}

#[derive(Serialize)]
struct BuiltJs {
    #[serde(with = "serde_bytes_compat")]
    bytes: Vec<u8>,
    header: HeaderJs,
    /// The judgement of the built frame, as its sender's peer would make it.
    violations: Vec<ViolationJs>,
    /// Set when the payload was compressed (permessage-deflate).
    compressed: Option<CompressedJs>,
}

#[derive(Serialize)]
struct CompressedJs {
    /// The payload as given, before compression.
    #[serde(with = "serde_bytes_compat")]
    plain: Vec<u8>,
    window_bits: u8,
    /// What the inspector needs to inflate these bytes (pass it as its
    /// `deflate` option).
    deflate: DeflateJs,
}

/// Builds a frame from any header bits and a payload; invalid frames too.
/// `spec`: `{ fin, rsv: [b, b, b], opcode: 0-15, mask?: [4 bytes],
/// length_form?: "7-bit" | "16-bit" | "64-bit", declared_len?,
/// compress?: { window_bits?: 8-15, level?: 0-9 } }`. With `compress` the
/// payload is compressed as permessage-deflate sends a whole message (fresh
/// window, trailer removed), RSV1 is set, and the frame is judged as on a
/// connection that agreed to the extension.
#[wasm_bindgen]
pub fn build_frame(spec: JsValue, payload: &[u8]) -> Result<JsValue, JsError> {
    if !spec.is_object() {
        return Err(JsError::new("the frame spec must be an object"));
    }
    let fin = input::boolean(&spec, "fin")?.ok_or_else(|| JsError::new("fin is missing"))?;
    let rsv = input::booleans::<3>(&spec, "rsv")?.unwrap_or_default();
    let opcode = input::number(&spec, "opcode")?
        .and_then(|n| input::small_whole(n, 15))
        .ok_or_else(|| JsError::new("opcode must be a whole number 0-15"))?;
    let mask = match input::bytes(&spec, "mask")?.as_deref() {
        None => None,
        Some(k) => Some(<[u8; 4]>::try_from(k).map_err(|_| JsError::new("a masking key is exactly 4 bytes"))?),
    };
    let compress = compress_option(&spec)?;
    let compressed = match compress {
        Some((bits, level)) => Some(
            wscope_core::deflate::compress_message(payload, bits, level).map_err(|e| JsError::new(&e.to_string()))?,
        ),
        None => None,
    };
    let body = compressed.as_deref().unwrap_or(payload);
    let payload_len = match input::number(&spec, "declared_len")? {
        Some(n) => whole(n).ok_or_else(|| JsError::new("the declared length must be a whole number of bytes"))?,
        None => body.len() as u64,
    };
    let length_form = match input::string(&spec, "length_form")?.as_deref() {
        None | Some("" | "auto") => LengthForm::minimal(payload_len),
        Some("7-bit") => LengthForm::Short,
        Some("16-bit") => LengthForm::Extended16,
        Some("64-bit") => LengthForm::Extended64,
        Some(other) => return Err(JsError::new(&format!("unknown length form {other:?}"))),
    };
    let mut header = FrameHeader { fin, rsv, opcode: OpCode::from_bits(opcode), mask, payload_len, length_form };
    if compressed.is_some() {
        wscope_core::deflate::mark_compressed(&mut header);
    }
    let mut bytes = Vec::with_capacity(body.len().saturating_add(14));
    header.encode(&mut bytes).map_err(|e| JsError::new(&e.to_string()))?;
    let at = bytes.len();
    bytes.extend_from_slice(body);
    if let (Some(key), Some(body)) = (mask, bytes.get_mut(at..)) {
        apply_mask(body, key, 0);
    }
    // Judged as its receiver would: a masked frame comes from a client; a
    // compressed one on a connection that agreed to permessage-deflate with
    // the sender's window as built.
    let sender = if mask.is_some() { Sender::Client } else { Sender::Server };
    let deflate = compress.map(|(bits, _)| {
        let mut p = DeflateParams::default();
        match sender {
            Sender::Client => p.client_max_window_bits = bits,
            _ => p.server_max_window_bits = bits,
        }
        p
    });
    let options = InspectOptions { sender, deflate, ..Default::default() };
    let inspection = core_inspect(&bytes, &options);
    let violations = inspection.frames.first().map(|f| f.violations.iter().map(ViolationJs::from).collect());
    let compressed = compress.zip(deflate).map(|((window_bits, _), p)| CompressedJs {
        plain: payload.to_vec(),
        window_bits,
        deflate: DeflateJs::from(&p),
    });
    to_js(&BuiltJs { header: HeaderJs::from(&header), bytes, violations: violations.unwrap_or_default(), compressed })
}

/// The payload of a close frame: a code and a UTF-8 reason (cut to fit).
#[wasm_bindgen]
pub fn close_payload(code: Option<u16>, reason: &str) -> Vec<u8> {
    let mut out = Vec::new();
    wscope_core::close::encode_close_payload(code.map(CloseCode), reason, &mut out);
    out
}

#[derive(Serialize)]
struct CloseCodeJs {
    code: u16,
    name: Option<&'static str>,
    sendable: bool,
    range: &'static str,
}

/// What RFC 6455 section 7.4 says of a close code.
#[wasm_bindgen]
pub fn close_code_info(code: u16) -> Result<JsValue, JsError> {
    let c = CloseCode(code);
    to_js(&CloseCodeJs { code, name: c.name(), sendable: c.is_sendable(), range: c.range() })
}

/// Parses pasted bytes: hex (spaces, newlines, `0x`, commas and colons are
/// ignored) or base64. `format`: `hex`, `base64` or `auto` (hex when it
/// reads as hex).
#[wasm_bindgen]
pub fn parse_bytes(text: &str, format: &str) -> Result<Vec<u8>, JsError> {
    let hex_digits: String = text
        .replace("0x", "")
        .replace("0X", "")
        .chars()
        .filter(|c| !(c.is_whitespace() || *c == ',' || *c == ':'))
        .collect();
    let looks_hex = hex_digits.chars().all(|c| c.is_ascii_hexdigit());
    let use_hex = match format {
        "hex" => true,
        "base64" => false,
        _ => looks_hex,
    };
    if use_hex {
        if !looks_hex {
            let bad = hex_digits.chars().find(|c| !c.is_ascii_hexdigit()).unwrap_or('?');
            return Err(JsError::new(&format!("not hex: {bad:?} is not a hex digit")));
        }
        if hex_digits.len() % 2 != 0 {
            return Err(JsError::new("odd number of hex digits: the last byte is missing a digit"));
        }
        return Ok((0..hex_digits.len())
            .step_by(2)
            .filter_map(|i| hex_digits.get(i..i.saturating_add(2)).and_then(|p| u8::from_str_radix(p, 16).ok()))
            .collect());
    }
    use base64::Engine as _;
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(compact.trim_end_matches('=').as_bytes()))
        .map_err(|e| JsError::new(&format!("neither hex nor base64: {e}")))
}

/// XORs `bytes` with a 4-byte key (section 5.3), for showing a payload
/// masked and unmasked.
#[wasm_bindgen]
pub fn apply_mask_key(bytes: &[u8], key: &[u8]) -> Result<Vec<u8>, JsError> {
    let key: [u8; 4] = key.try_into().map_err(|_| JsError::new("a masking key is exactly 4 bytes"))?;
    let mut out = bytes.to_vec();
    apply_mask(&mut out, key, 0);
    Ok(out)
}

#[derive(Serialize)]
struct OpcodeJs {
    bits: u8,
    name: &'static str,
    control: bool,
    reserved: bool,
}

/// The core's view of an opcode (section 5.2): its name, whether it is a
/// control opcode, whether it is reserved. `bits` is cut to its low 4 bits.
#[wasm_bindgen]
pub fn opcode_info(bits: u8) -> Result<JsValue, JsError> {
    let op = OpCode::from_bits(bits);
    to_js(&OpcodeJs { bits: op.bits(), name: op.name(), control: op.is_control(), reserved: op.is_reserved() })
}

#[derive(Serialize)]
struct FieldNameJs {
    key: &'static str,
    name: &'static str,
}

/// Every field of a frame in wire order, with the key the page colours it
/// by and the name the RFC and Wireshark use; the payload comes last.
#[wasm_bindgen]
pub fn frame_fields() -> Result<JsValue, JsError> {
    let header = [
        Field::Fin,
        Field::Rsv1,
        Field::Rsv2,
        Field::Rsv3,
        Field::Opcode,
        Field::Mask,
        Field::PayloadLen,
        Field::ExtendedPayloadLen,
        Field::MaskingKey,
    ];
    let mut fields: Vec<FieldNameJs> =
        header.iter().map(|f| FieldNameJs { key: field_key(*f), name: f.name() }).collect();
    fields.push(FieldNameJs { key: "payload", name: "Payload Data" });
    to_js(&fields)
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
        Err(e) => (None, Some(e.to_string())),
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
