//! Frames for the page: the inspector's judgement, the builder, and the
//! small facts the panels show (opcodes, fields, close codes, bytes).

use crate::js::{
    CloseJs, DeflateJs, FrameJs, HeaderJs, MessageJs, PartialJs, ViolationJs, field_key, sender_name, to_js,
};
use crate::{input, paste};
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
    /// With the sender unknown: the verdict if a client sent the bytes, and
    /// if a server did (empty when the sender is known).
    either: Vec<AsSenderJs>,
}

/// The bytes judged as coming from one side.
#[derive(Serialize)]
struct AsSenderJs {
    sender: &'static str,
    receiver: &'static str,
    violation_count: usize,
    /// The violation the receiver fails the connection on, and its frame.
    first: Option<FirstJs>,
}

#[derive(Serialize)]
struct FirstJs {
    frame: usize,
    violation: ViolationJs,
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
    let either = match sender {
        Some(_) => Vec::new(),
        None => [Role::Client, Role::Server]
            .into_iter()
            .map(|who| {
                let stream = StreamOptions { sender: Some(who), ..options.stream };
                let r = core_inspect(bytes, &InspectOptions { stream, ..*options });
                AsSenderJs {
                    sender: sender_name(Some(who)),
                    receiver: sender_name(Some(who.peer())),
                    violation_count: r.violations().count(),
                    first: r.violations().next().map(|(frame, v)| FirstJs { frame, violation: ViolationJs::from(v) }),
                }
            })
            .collect(),
    };
    InspectionJs {
        frames: r.frames.iter().map(FrameJs::from).collect(),
        messages: r.messages.iter().map(MessageJs::from).collect(),
        partial_header: r.partial_header.map(PartialJs::from),
        stopped_at: r.stopped_at,
        violation_count: r.violations().count(),
        sender: sender_name(sender),
        receiver: sender_name(sender.map(Role::peer)),
        either,
    }
}

/// An error that names the field of the spec at fault.
fn at_field(field: &str, e: JsError) -> JsValue {
    let e = JsValue::from(e);
    let _ = js_sys::Reflect::set(&e, &JsValue::from_str("field"), &JsValue::from_str(field));
    e
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
/// compressed?: { window_bits? }, max_frame_size?, max_message_size? }`
/// (`declared_len`: a number or a string of digits, exact to 2^64 − 1;
/// the limits: what the receiver judges with, as for [`inspect`]). With
/// `compressed` the payload is a message as permessage-deflate compressed
/// it (the page compresses with the `wscope-wasm-compress` module, which
/// it loads on first use): RSV1 is set, and the frame is judged as on a
/// connection that agreed to the extension with that window for its
/// sender (the judge inflates it).
///
/// A refusal is an `Error` whose `field` names the part of the spec at
/// fault when one is (`declared_len`, `length_form`, `mask`), for the page
/// to show the message there.
#[wasm_bindgen]
pub fn build_frame(spec: JsValue, payload: &[u8]) -> Result<JsValue, JsValue> {
    if !spec.is_object() {
        return Err(JsError::new("the frame spec must be an object").into());
    }
    let fin = input::boolean(&spec, "fin")?.ok_or_else(|| JsError::new("fin is missing"))?;
    let rsv = input::booleans::<3>(&spec, "rsv")?.unwrap_or_default();
    let opcode = input::number(&spec, "opcode")?
        .and_then(|n| input::small_whole(n, 15))
        .ok_or_else(|| JsError::new("opcode must be a whole number 0-15"))?;
    let mask = match input::bytes(&spec, "mask")?.as_deref() {
        None => None,
        Some(k) => Some(
            <[u8; 4]>::try_from(k)
                .map_err(|_| at_field("mask", JsError::new("a masking key is exactly 4 bytes (8 hex digits)")))?,
        ),
    };
    let compressed = input::compressed(&spec)?;
    let payload_len = input::byte_count(&spec, "declared_len", "the declared length")
        .map_err(|e| at_field("declared_len", e))?
        .unwrap_or(payload.len() as u64);
    let length_form = match input::string(&spec, "length_form")?.as_deref() {
        None | Some("" | "auto") => LengthForm::minimal(payload_len),
        Some(name) => [LengthForm::Short, LengthForm::Extended16, LengthForm::Extended64]
            .into_iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| {
                at_field(
                    "length_form",
                    JsError::new(&format!("unknown length form {name:?} (7-bit, 16-bit or 64-bit)")),
                )
            })?,
    };
    let mut header = FrameHeader { fin, rsv, opcode: OpCode::from_bits(opcode), mask, payload_len, length_form };
    if compressed.is_some() {
        mark_compressed(&mut header);
    }
    let mut bytes = Vec::with_capacity(payload.len().saturating_add(14));
    header.encode_frame(payload, &mut bytes).map_err(|e| at_field("length_form", JsError::new(&e.to_string())))?;
    // Judged as its receiver would: a compressed frame on a connection
    // that agreed to permessage-deflate with the sender's window as built.
    let sender = Role::sending_masked(mask.is_some());
    let deflate = compressed.map(|bits| DeflateParams::with_window(sender, bits));
    let stream = StreamOptions {
        sender: Some(sender),
        deflate,
        max_frame_size: input::limit(&spec, "max_frame_size")?,
        max_message_size: input::limit(&spec, "max_message_size")?,
        ..StreamOptions::default()
    };
    let inspection = core_inspect(&bytes, &stream.into());
    let violations = inspection.frames.first().map(|f| f.violations.iter().map(ViolationJs::from).collect());
    let compressed =
        compressed.zip(deflate).map(|(window_bits, p)| CompressedJs { window_bits, deflate: DeflateJs::from(&p) });
    Ok(to_js(&BuiltJs {
        header: HeaderJs::from(&header),
        bytes,
        sender: sender_name(Some(sender)),
        receiver: sender_name(Some(sender.peer())),
        violations: violations.unwrap_or_default(),
        compressed,
    })?)
}

/// The payload of a close frame (section 5.5.1): a code, if any, and a
/// UTF-8 reason (cut to fit 125 bytes, at a character boundary), for the
/// builder's close fields.
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
    /// A page may pass it to `WebSocket.close()` (1000, 3000-4999).
    browser_may_close: bool,
    /// The codes `close()` takes, as text.
    browser_codes: &'static str,
    /// A normal closure's code, which a reason given alone goes with.
    normal_code: u16,
    /// Longest reason `close()` takes, in UTF-8 bytes.
    max_reason_bytes: usize,
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
        browser_may_close: c.browser_may_close(),
        browser_codes: CloseCode::BROWSER_CLOSE_CODES,
        normal_code: CloseCode::NORMAL.0,
        max_reason_bytes: wscope_core::close::MAX_REASON_LEN,
        range: c.range(),
        close: CloseJs::new(Some(c), ""),
    })
}

#[derive(Serialize)]
struct ReadJs {
    #[serde(with = "crate::js::bytes")]
    bytes: Vec<u8>,
    /// `hex`, `hex dump` (offsets and text column left out) or `base64`.
    read_as: &'static str,
}

/// Reads pasted bytes: hex in the usual spellings (`81 05`, `0x81,0x05`,
/// `\x81\x05`), hex dumps (Wireshark, `hexdump -C`, `xxd`), or base64.
/// `format`: `hex`, `base64` or `auto` (hex when it reads as hex; base64
/// only when that is clear). Returns `{ bytes, read_as }`; throws an
/// `Error` whose `message` says what is wrong and whose `at` is the index
/// of the character at fault (or `null`).
#[wasm_bindgen]
pub fn read_bytes(text: &str, format: &str) -> Result<JsValue, JsValue> {
    let format = match format {
        "hex" => paste::Format::Hex,
        "base64" => paste::Format::Base64,
        _ => paste::Format::Auto,
    };
    match paste::read(text, format) {
        Ok((bytes, how)) => to_js(&ReadJs { bytes, read_as: how.name() }).map_err(JsValue::from),
        Err(e) => {
            let error = js_sys::Error::new(&e.message);
            let at = e.at.and_then(|a| u32::try_from(a).ok()).map_or(JsValue::NULL, JsValue::from);
            let _ = js_sys::Reflect::set(&error, &JsValue::from_str("at"), &at);
            Err(error.into())
        }
    }
}

#[derive(Serialize)]
struct OpcodeJs {
    bits: u8,
    name: &'static str,
    /// `continuation`, `text`, `binary`, `close`, `ping`, `pong` or
    /// `reserved`.
    kind: &'static str,
    control: bool,
    reserved: bool,
}

/// The core's view of an opcode (section 5.2): its name, whether it is a
/// control opcode, whether it is reserved. `bits` is cut to its low 4 bits.
#[wasm_bindgen]
pub fn opcode_info(bits: u8) -> Result<JsValue, JsError> {
    let op = OpCode::from_bits(bits);
    to_js(&OpcodeJs {
        bits: op.bits(),
        name: op.name(),
        kind: crate::js::opcode_kind(op),
        control: op.is_control(),
        reserved: op.is_reserved(),
    })
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
