//! The shapes the page receives: the core's answers as plain objects
//! (serialisation only; every value comes from the core).

use crate::input::role_name;
use serde::Serialize;
use wasm_bindgen::{JsError, JsValue};
use wscope_core::CloseCode;
use wscope_core::deflate::DeflateParams;
use wscope_core::frame::{Field, FieldSpan, FrameHeader, OpCode};
use wscope_core::rules::{DataKind, FramePlace};
use wscope_core::stream::{InspectedFrame, InspectedMessage, PartialHeader, text_prefix};
use wscope_core::violation::Violation;

/// Plain objects, `null` for `None`, and bytes (the fields marked
/// `bytes`) as `Uint8Array`s rather than arrays of numbers.
pub(crate) fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible().serialize_bytes_as_arrays(false);
    value.serialize(&serializer).map_err(|e| JsError::new(&e.to_string()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes as a `Uint8Array` rather than an array of numbers.
pub(crate) mod bytes {
    pub(crate) fn serialize<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(bytes)
    }
}

/// A rule broken, as the page shows it.
#[derive(Serialize)]
pub(crate) struct ViolationJs {
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

#[derive(Serialize)]
pub(crate) struct FieldJs {
    name: &'static str,
    /// Stable key for colouring: `fin`, `rsv1`, ..., `payload`.
    key: &'static str,
    bit_start: u16,
    bit_len: u16,
    byte_start: usize,
    byte_end: usize,
    value: String,
}

pub(crate) fn field_key(f: Field) -> &'static str {
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
pub(crate) struct HeaderJs {
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

pub(crate) fn opcode_kind(op: OpCode) -> &'static str {
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
            length_form: h.length_form.name(),
            header_len: h.encoded_len(),
            fields: h.fields().iter().map(FieldJs::from).collect(),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct CloseJs {
    code: Option<u16>,
    code_name: Option<&'static str>,
    reason: String,
    /// The code reports a failure (not a normal closure or going away).
    reports_error: bool,
}

impl CloseJs {
    pub(crate) fn new(code: Option<CloseCode>, reason: &str) -> Self {
        CloseJs {
            code: code.map(|c| c.0),
            code_name: code.and_then(CloseCode::name),
            reason: reason.to_owned(),
            reports_error: code.is_some_and(CloseCode::reports_error),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct FrameJs {
    index: usize,
    /// Offset of the frame in its stream (after the HTTP head).
    offset: u64,
    header: HeaderJs,
    /// The frame as on the wire: its header (`header.header_len` bytes),
    /// then the payload kept, masked if the frame is.
    #[serde(with = "bytes")]
    bytes: Vec<u8>,
    /// The payload as kept, unmasked.
    #[serde(with = "bytes")]
    payload: Vec<u8>,
    /// Payload bytes that arrived, kept or not.
    payload_seen: u64,
    complete: bool,
    /// `control`, `data` or `ignored` (the message layer cannot place it).
    role: &'static str,
    /// For data frames: `first`, `middle`, `last` or `only`.
    position: Option<&'static str>,
    /// The data message it belongs to.
    message: Option<usize>,
    /// It carries part of a compressed message (its payload is DEFLATE).
    compressed: bool,
    /// The payload as UTF-8, when it is (whole or up to a cut character).
    text: Option<String>,
    violations: Vec<ViolationJs>,
    close: Option<CloseJs>,
}

impl From<&InspectedFrame> for FrameJs {
    fn from(f: &InspectedFrame) -> Self {
        let (role, position) = match f.place {
            FramePlace::Control(_) => ("control", None),
            FramePlace::Data { first, last, .. } => (
                "data",
                Some(match (first, last) {
                    (true, true) => "only",
                    (true, false) => "first",
                    (false, false) => "middle",
                    (false, true) => "last",
                }),
            ),
            FramePlace::Ignored => ("ignored", None),
        };
        let whole = f.complete && f.payload_seen == f.payload.len() as u64;
        let mut bytes = Vec::with_capacity(f.header_len.saturating_add(f.payload.len()));
        // A decoded header always encodes back to its bytes.
        let _ = f.header.encode(&mut bytes);
        bytes.extend_from_slice(&f.wire_payload());
        FrameJs {
            index: f.index,
            offset: f.offset,
            header: HeaderJs::from(&f.header),
            bytes,
            payload: f.payload.clone(),
            payload_seen: f.payload_seen,
            complete: f.complete,
            role,
            position,
            message: f.message,
            compressed: f.compressed,
            text: text_prefix(&f.payload, whole).map(str::to_owned),
            violations: f.violations.iter().map(ViolationJs::from).collect(),
            close: f.close.as_ref().map(|(code, reason)| CloseJs::new(*code, reason)),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct MessageJs {
    index: usize,
    kind: &'static str,
    frames: Vec<usize>,
    frame_count: usize,
    /// Inflated if compressed, as kept.
    #[serde(with = "bytes")]
    payload: Vec<u8>,
    /// Its whole length, kept or not.
    len: u64,
    /// The payload bytes its frames carried (compressed, if it was).
    wire_len: u64,
    /// Sent compressed (permessage-deflate): `payload` is inflated, the
    /// frames hold the compressed bytes.
    compressed: bool,
    complete: bool,
    text: Option<String>,
}

impl From<&InspectedMessage> for MessageJs {
    fn from(m: &InspectedMessage) -> Self {
        MessageJs {
            index: m.index,
            kind: match m.kind {
                DataKind::Text => "text",
                DataKind::Binary => "binary",
            },
            frames: m.frames.clone(),
            frame_count: m.frame_count,
            payload: m.payload.clone(),
            len: m.len,
            wire_len: m.wire_len,
            compressed: m.compressed,
            complete: m.complete,
            text: m.text().map(str::to_owned),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct DeflateJs {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: u8,
    client_max_window_bits: u8,
    /// The parameters as a response states them, e.g.
    /// `permessage-deflate; server_no_context_takeover`.
    value: String,
}

impl From<&DeflateParams> for DeflateJs {
    fn from(p: &DeflateParams) -> Self {
        DeflateJs {
            server_no_context_takeover: p.server_no_context_takeover,
            client_no_context_takeover: p.client_no_context_takeover,
            server_max_window_bits: p.server_max_window_bits,
            client_max_window_bits: p.client_max_window_bits,
            value: p.response_value(true),
        }
    }
}

/// Who a frame is judged as coming from, as the page names it.
pub(crate) fn sender_name(role: Option<wscope_core::Role>) -> &'static str {
    role.map_or("unknown", role_name)
}

/// A frame header cut short at the end of the bytes.
#[derive(Serialize)]
pub(crate) struct PartialJs {
    offset: u64,
    have: usize,
    needed: usize,
}

impl From<PartialHeader> for PartialJs {
    fn from(p: PartialHeader) -> Self {
        PartialJs { offset: p.offset, have: p.have, needed: p.needed }
    }
}
