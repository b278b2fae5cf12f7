//! Frames for the page: the inspector's judgement, the builder, and the
//! small facts the panels show (opcodes, fields, close codes, bytes).

use crate::input;
use crate::js::{
    CloseJs, DeflateJs, FrameJs, HeaderJs, MessageJs, PartialJs, ViolationJs, field_key, sender_name, to_js,
};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wscope_core::CloseCode;
use wscope_core::deflate::{DeflateParams, mark_compressed};
use wscope_core::frame::{Field, FrameHeader, LengthForm, OpCode};
use wscope_core::inspect::{InspectOptions, inspect as core_inspect};
use wscope_core::rules::Role;
use wscope_core::stream::StreamOptions;

#[derive(Serialize)]
struct InspectionJs {
    frames: Vec<FrameJs>,
    messages: Vec<MessageJs>,
    partial_header: Option<PartialJs>,
    stopped_at: Option<usize>,
    violation_count: usize,
    /// Who the bytes were judged as coming from (`unknown`: masking not
    /// judged), and who would receive them (and fail on the first
    /// violation).
    sender: &'static str,
    receiver: &'static str,
}

/// Decodes every frame in `bytes` and lists every violation (the core's
/// inspecting judgement). `options`: `{ sender: "client" | "server" |
/// "unknown", max_frame_size?, max_message_size?, max_frames?, deflate? }`
/// (`deflate`: `true`, or the `params` of a [`crate::WireView`] item of type
/// `deflate`).
#[wasm_bindgen]
pub fn inspect(bytes: &[u8], options: JsValue) -> Result<JsValue, JsError> {
    let stream = StreamOptions {
        sender: input::role(&input::string(&options, "sender")?.unwrap_or_default()),
        max_frame_size: input::limit(&options, "max_frame_size")?,
        max_message_size: input::limit(&options, "max_message_size")?,
        deflate: input::deflate(&options)?,
        ..StreamOptions::default()
    };
    let max_frames = input::limit(&options, "max_frames")?
        .and_then(|m| usize::try_from(m).ok())
        .unwrap_or(InspectOptions::default().max_frames);
    to_js(&inspection(bytes, &InspectOptions { stream, max_frames }))
}

/// What [`inspect`] hands the page, before it becomes a JavaScript object.
/// Public for the native fuzz target (`core/fuzz`, `explorer_inspect`),
/// which runs every conversion the page's inspector goes through.
#[doc(hidden)]
pub fn inspection(bytes: &[u8], options: &InspectOptions) -> impl Serialize + use<> {
    let r = core_inspect(bytes, options);
    let sender = options.stream.sender;
    InspectionJs {
        frames: r.frames.iter().map(FrameJs::from).collect(),
        messages: r.messages.iter().map(MessageJs::from).collect(),
        partial_header: r.partial_header.map(PartialJs::from),
        stopped_at: r.stopped_at,
        violation_count: r.violations().count(),
        sender: sender_name(sender),
        receiver: sender_name(sender.map(Role::peer)),
    }
}

#[derive(Serialize)]
struct BuiltJs {
    #[serde(with = "crate::js::bytes")]
    bytes: Vec<u8>,
    header: HeaderJs,
    /// Who sends such a frame (a masked frame comes from a client), and so
    /// who judged it: the other end.
    sender: &'static str,
    receiver: &'static str,
    /// The judgement of the built frame, as its sender's peer would make it.
    violations: Vec<ViolationJs>,
    /// Set when the payload is compressed (permessage-deflate).
    compressed: Option<CompressedJs>,
}

#[derive(Serialize)]
struct CompressedJs {
    window_bits: u8,
    /// What the inspector needs to inflate these bytes (pass it as its
    /// `deflate` option).
    deflate: DeflateJs,
}

/// Builds a frame from any header bits and a payload; invalid frames too.
/// `spec`: `{ fin, rsv: [b, b, b], opcode: 0-15, mask?: [4 bytes],
/// length_form?: "7-bit" | "16-bit" | "64-bit", declared_len?,
/// compressed?: { window_bits? } }`. With `compressed` the payload is a
/// message as permessage-deflate compressed it (the page compresses with
/// the `wscope-wasm-compress` module, which it loads on first use): RSV1
/// is set, and the frame is judged as on a connection that agreed to the
/// extension with that window for its sender (the judge inflates it).
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
    let compressed = input::compressed(&spec)?;
    let payload_len = match input::number(&spec, "declared_len")? {
        Some(n) => {
            input::whole(n).ok_or_else(|| JsError::new("the declared length must be a whole number of bytes"))?
        }
        None => payload.len() as u64,
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
        mark_compressed(&mut header);
    }
    let mut bytes = Vec::with_capacity(payload.len().saturating_add(14));
    header.encode_frame(payload, &mut bytes).map_err(|e| JsError::new(&e.to_string()))?;
    // Judged as its receiver would: a compressed frame on a connection
    // that agreed to permessage-deflate with the sender's window as built.
    let sender = Role::sending_masked(mask.is_some());
    let deflate = compressed.map(|bits| DeflateParams::with_window(sender, bits));
    let stream = StreamOptions { sender: Some(sender), deflate, ..StreamOptions::default() };
    let inspection = core_inspect(&bytes, &stream.into());
    let violations = inspection.frames.first().map(|f| f.violations.iter().map(ViolationJs::from).collect());
    let compressed =
        compressed.zip(deflate).map(|(window_bits, p)| CompressedJs { window_bits, deflate: DeflateJs::from(&p) });
    to_js(&BuiltJs {
        header: HeaderJs::from(&header),
        bytes,
        sender: sender_name(Some(sender)),
        receiver: sender_name(Some(sender.peer())),
        violations: violations.unwrap_or_default(),
        compressed,
    })
}

#[derive(Serialize)]
struct CloseCodeJs {
    code: u16,
    name: Option<&'static str>,
    sendable: bool,
    range: &'static str,
    close: CloseJs,
}

/// What RFC 6455 section 7.4 says of a close code.
#[wasm_bindgen]
pub fn close_code_info(code: u16) -> Result<JsValue, JsError> {
    let c = CloseCode(code);
    to_js(&CloseCodeJs {
        code,
        name: c.name(),
        sendable: c.is_sendable(),
        range: c.range(),
        close: CloseJs::new(Some(c), ""),
    })
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
struct WindowJs {
    bits: u8,
    bytes: u32,
}

/// The LZ77 windows permessage-deflate allows (RFC 7692 section 7.1.2),
/// largest first, for the builder's choice.
#[wasm_bindgen]
pub fn deflate_windows() -> Result<JsValue, JsError> {
    use wscope_core::deflate::{MAX_WINDOW_BITS, MIN_WINDOW_BITS};
    let all: Vec<WindowJs> =
        (MIN_WINDOW_BITS..=MAX_WINDOW_BITS).rev().map(|bits| WindowJs { bits, bytes: 1 << bits }).collect();
    to_js(&all)
}
