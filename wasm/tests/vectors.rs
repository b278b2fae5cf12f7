//! The known answers of `core/tests/data/rfc6455.json`, inside Chromium,
//! through the same bindings the page uses.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use js_sys::{Reflect, Uint8Array};
use serde_json::Value;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const VECTORS: &str = include_str!("../../core/tests/data/rfc6455.json");

fn vectors() -> Value {
    serde_json::from_str(VECTORS).unwrap()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// `obj.a.b.c`.
fn get(obj: &JsValue, path: &str) -> JsValue {
    path.split('.').fold(obj.clone(), |o, key| {
        let k = key.parse::<u32>().map_or_else(|_| JsValue::from_str(key), JsValue::from);
        Reflect::get(&o, &k).unwrap_or(JsValue::UNDEFINED)
    })
}

fn bytes(v: &JsValue) -> Vec<u8> {
    Uint8Array::new(v).to_vec()
}

#[wasm_bindgen_test]
fn accept_keys() {
    let v = vectors();
    let cases = v["accept"].as_array().unwrap();
    // Every case of the file, so none is silently skipped.
    assert_eq!(cases.len(), 3);
    for case in cases {
        let report = wscope_wasm::key_report(case["key"].as_str().unwrap()).unwrap();
        assert_eq!(get(&report, "accept").as_string().as_deref(), case["accept"].as_str());
    }
}

#[wasm_bindgen_test]
fn chrome32_request_from_its_bytes() {
    let v = vectors();
    for case in v["handshake_requests"].as_array().unwrap() {
        let req = hex(case["hex"].as_str().unwrap());
        let report = wscope_wasm::inspect_request(&req).unwrap();
        assert_eq!(get(&report, "problems.length").as_f64(), Some(0.0), "{}", case["name"]);
        assert_eq!(get(&report, "accept").as_string().as_deref(), case["expect"]["accept"].as_str());
        assert_eq!(get(&report, "target").as_string().as_deref(), case["expect"]["path"].as_str());
        assert_eq!(get(&report, "head_len").as_f64(), Some(req.len() as f64));
        let response = get(&report, "response").as_string().unwrap();
        assert!(response.starts_with("HTTP/1.1 101 Switching Protocols\r\n"), "{response}");
        // The wire view splits the same head off a stream, once it is whole.
        let mut view = wscope_wasm::WireView::new();
        let client = |bytes: &[u8]| [&[0u8; 9][..], bytes].concat();
        let rec = view.push_record(&client(&req[..req.len() - 1])).unwrap();
        assert_eq!(get(&rec, "items.length").as_f64(), Some(0.0));
        let rec = view.push_record(&client(&req[req.len() - 1..])).unwrap();
        assert_eq!(get(&rec, "items.0.type").as_string().as_deref(), Some("head"));
        assert_eq!(get(&rec, "items.0.len").as_f64(), Some(req.len() as f64));
    }
}

/// A tap record of each direction: the 101 agrees to permessage-deflate,
/// and the server's compressed "Hello" (RFC 7692 section 7.2.3.1) comes out
/// inflated, judged clean, with the record's time.
#[wasm_bindgen_test]
fn wire_view_reads_tap_records() {
    let record = |dir: u8, micros: u64, bytes: &[u8]| [&[dir][..], &micros.to_be_bytes(), bytes].concat();
    let mut view = wscope_wasm::WireView::new();
    let request = b"GET /echo HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n";
    let rec = view.push_record(&record(0, 5, request)).unwrap();
    assert_eq!(get(&rec, "from").as_string().as_deref(), Some("client"));
    assert_eq!(get(&rec, "micros").as_f64(), Some(5.0));
    assert_eq!(get(&rec, "items.0.type").as_string().as_deref(), Some("head"));
    let response = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n";
    let wire = [&response[..], &hex("c107f248cdc9c90700")].concat();
    let rec = view.push_record(&record(1, 70, &wire)).unwrap();
    let kinds: Vec<String> =
        (0..4).map(|i| get(&rec, &format!("items.{i}.type")).as_string().unwrap_or_default()).collect();
    assert_eq!(kinds, ["head", "deflate", "frame", "message"]);
    assert_eq!(get(&rec, "items.1.params.server_max_window_bits").as_f64(), Some(15.0));
    assert_eq!(get(&rec, "items.2.frame.compressed").as_bool(), Some(true));
    assert_eq!(get(&rec, "items.2.frame.violations.length").as_f64(), Some(0.0));
    assert_eq!(get(&rec, "items.3.message.text").as_string().as_deref(), Some("Hello"));
    // Half a frame: nothing completed, the partial frame shows what came.
    let rec = view.push_record(&record(1, 80, &hex("820548"))).unwrap();
    assert_eq!(get(&rec, "items.length").as_f64(), Some(0.0));
    let partial = view.partial_frame("server").unwrap();
    assert_eq!(get(&partial, "payload_seen").as_f64(), Some(1.0));
    assert_eq!(get(&partial, "complete").as_bool(), Some(false));
    assert!(view.push_record(&[1, 0, 0]).is_err(), "a record shorter than its header is refused");
}

#[wasm_bindgen_test]
fn frames_decode_and_rebuild() {
    let v = vectors();
    let cases = v["frames"].as_array().unwrap();
    assert_eq!(cases.len(), 8);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let wire = hex(case["hex"].as_str().or(case["header_hex"].as_str()).unwrap());
        let masked = case["masked"].as_bool().unwrap();
        let options = js_sys::Object::new();
        Reflect::set(&options, &"sender".into(), &(if masked { "client" } else { "server" }).into()).unwrap();
        let report = wscope_wasm::inspect(&wire, options.into()).unwrap();
        let frame = get(&report, "frames.0");
        assert_eq!(get(&frame, "header.fin").as_bool(), case["fin"].as_bool(), "{name}");
        assert_eq!(get(&frame, "header.opcode").as_f64(), case["opcode"].as_f64(), "{name}");
        assert_eq!(get(&frame, "header.masked").as_bool(), Some(masked), "{name}");
        if let Some(key) = case["mask_key"].as_str() {
            assert_eq!(get(&frame, "header.mask_key").as_string().as_deref(), Some(key), "{name}");
        }
        if let Some(len) = case["payload_len"].as_u64() {
            assert_eq!(get(&frame, "header.payload_len").as_string(), Some(len.to_string()), "{name}");
        }
        if let Some(text) = case["payload_text"].as_str() {
            assert_eq!(bytes(&get(&frame, "payload")), text.as_bytes(), "{name}");
            // The builder, given the same bits, writes the same bytes.
            let spec = js_sys::Object::new();
            Reflect::set(&spec, &"fin".into(), &case["fin"].as_bool().unwrap().into()).unwrap();
            Reflect::set(&spec, &"opcode".into(), &(case["opcode"].as_u64().unwrap() as u32).into()).unwrap();
            if let Some(key) = case["mask_key"].as_str() {
                let key = Uint8Array::from(hex(key).as_slice());
                Reflect::set(&spec, &"mask".into(), &js_sys::Array::from(&key)).unwrap();
            }
            let built = wscope_wasm::build_frame(spec.into(), text.as_bytes()).unwrap();
            assert_eq!(bytes(&get(&built, "bytes")), wire, "{name}");
        }
    }
}

#[wasm_bindgen_test]
fn violations_carry_code_and_section() {
    // A client's unmasked ping with a 126-byte payload, FIN clear.
    let mut wire = vec![0x09, 0x7e, 0x00, 0x7e];
    wire.extend([0u8; 126]);
    let options = js_sys::Object::new();
    Reflect::set(&options, &"sender".into(), &"client".into()).unwrap();
    let report = wscope_wasm::inspect(&wire, options.into()).unwrap();
    let violations = get(&report, "frames.0.violations");
    let messages: Vec<String> = (0..get(&violations, "length").as_f64().unwrap() as u32)
        .map(|i| get(&violations, &format!("{i}.message")).as_string().unwrap())
        .collect();
    assert_eq!(
        messages,
        [
            "client frame is not masked",
            "control frame (Ping (0x9)) is fragmented (FIN = 0)",
            "control frame payload > 125 bytes (126)",
        ]
    );
    assert_eq!(get(&violations, "2.code").as_f64(), Some(1002.0));
    assert_eq!(get(&violations, "2.section").as_string().as_deref(), Some("5.5"));
}

/// The message of a refused call.
fn refusal<T: std::fmt::Debug, E: Into<JsValue>>(r: Result<T, E>) -> String {
    let e: JsValue = r.map_err(Into::into).expect_err("the call must be refused");
    Reflect::get(&e, &"message".into()).unwrap().as_string().unwrap()
}

#[wasm_bindgen_test]
fn bad_specs_and_options_are_refused_with_what_is_wrong() {
    let spec = |fields: &[(&str, JsValue)]| {
        let o = js_sys::Object::new();
        for (k, v) in fields {
            Reflect::set(&o, &(*k).into(), v).unwrap();
        }
        JsValue::from(o)
    };
    let key = |bytes: &[f64]| JsValue::from(bytes.iter().map(|b| JsValue::from(*b)).collect::<js_sys::Array>());
    let msg = refusal(wscope_wasm::build_frame(spec(&[("opcode", 1.into())]), b"x"));
    assert_eq!(msg, "fin is missing");
    let msg = refusal(wscope_wasm::build_frame(spec(&[("fin", true.into()), ("opcode", 16.into())]), b"x"));
    assert_eq!(msg, "opcode must be a whole number 0-15");
    let msg = refusal(wscope_wasm::build_frame(spec(&[("fin", true.into()), ("opcode", 1.5.into())]), b"x"));
    assert_eq!(msg, "opcode must be a whole number 0-15");
    let msg = refusal(wscope_wasm::build_frame(
        spec(&[("fin", true.into()), ("opcode", 1.into()), ("mask", key(&[1.0, 2.0, 3.0]))]),
        b"x",
    ));
    assert_eq!(msg, "a masking key is exactly 4 bytes (8 hex digits)");
    let msg = refusal(wscope_wasm::build_frame(
        spec(&[("fin", true.into()), ("opcode", 1.into()), ("mask", key(&[1.0, 2.0, 3.0, 256.0]))]),
        b"x",
    ));
    assert_eq!(msg, "mask must be an array of bytes (whole numbers 0-255)");
    let msg = refusal(wscope_wasm::build_frame(
        spec(&[("fin", true.into()), ("opcode", 1.into()), ("rsv", key(&[1.0]))]),
        b"x",
    ));
    assert_eq!(msg, "rsv must be an array of 3 booleans");
    let msg = refusal(wscope_wasm::inspect(b"", spec(&[("max_frames", "many".into())])));
    assert_eq!(msg, "max_frames must be a number");
    let msg = refusal(wscope_wasm::inspect(b"", "client".into()));
    assert_eq!(msg, "the options must be an object");
    // A well-formed spec still builds: FIN, text, "x".
    let built = wscope_wasm::build_frame(spec(&[("fin", true.into()), ("opcode", 1.into())]), b"x").unwrap();
    assert_eq!(bytes(&get(&built, "bytes")), [0x81, 0x01, b'x']);
}

#[wasm_bindgen_test]
fn builder_compresses_as_permessage_deflate() {
    // The page compresses with the second module, then builds and judges.
    let compress = |payload: &[u8], bits: f64| wscope_wasm_compress::compress_message(payload, bits, None);
    let spec = |window_bits: f64, masked: bool| {
        let o = js_sys::Object::new();
        Reflect::set(&o, &"fin".into(), &true.into()).unwrap();
        Reflect::set(&o, &"opcode".into(), &1.into()).unwrap();
        let c = js_sys::Object::new();
        Reflect::set(&c, &"window_bits".into(), &window_bits.into()).unwrap();
        Reflect::set(&o, &"compressed".into(), &c).unwrap();
        if masked {
            let key: js_sys::Array = [0x37, 0xfa, 0x21, 0x3d].iter().map(|b| JsValue::from(*b)).collect();
            Reflect::set(&o, &"mask".into(), &key).unwrap();
        }
        JsValue::from(o)
    };
    // RFC 7692 section 7.2.3.1: "Hello" compressed in one unmasked frame.
    let hello = compress(b"Hello", 15.0).unwrap();
    let built = wscope_wasm::build_frame(spec(15.0, false), &hello).unwrap();
    assert_eq!(bytes(&get(&built, "bytes")), [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
    assert_eq!(get(&built, "header.rsv.0").as_bool(), Some(true));
    assert_eq!(get(&built, "violations.length").as_f64(), Some(0.0), "judged with the extension agreed");
    assert_eq!(get(&built, "compressed.window_bits").as_f64(), Some(15.0));
    assert_eq!(get(&built, "compressed.deflate.server_max_window_bits").as_f64(), Some(15.0));
    // A client's frame with a 10-bit window: the inspector, given the
    // parameters the builder reports, inflates it back.
    let text = "permessage-deflate ".repeat(20);
    let built = wscope_wasm::build_frame(spec(10.0, true), &compress(text.as_bytes(), 10.0).unwrap()).unwrap();
    let wire = bytes(&get(&built, "bytes"));
    assert!(wire.len() < text.len() / 2, "repeated text compresses: {} bytes", wire.len());
    assert_eq!(get(&built, "compressed.deflate.client_max_window_bits").as_f64(), Some(10.0));
    let options = js_sys::Object::new();
    Reflect::set(&options, &"sender".into(), &"client".into()).unwrap();
    Reflect::set(&options, &"deflate".into(), &get(&built, "compressed.deflate")).unwrap();
    let report = wscope_wasm::inspect(&wire, options.into()).unwrap();
    assert_eq!(get(&report, "violation_count").as_f64(), Some(0.0));
    assert_eq!(get(&report, "messages.0.compressed").as_bool(), Some(true));
    assert_eq!(get(&report, "messages.0.text").as_string().as_deref(), Some(text.as_str()));
    // Without the extension the same bytes break the RSV1 rule.
    let options = js_sys::Object::new();
    Reflect::set(&options, &"sender".into(), &"client".into()).unwrap();
    let report = wscope_wasm::inspect(&wire, options.into()).unwrap();
    assert_eq!(get(&report, "frames.0.violations.0.code").as_f64(), Some(1002.0));
    // Bytes that are not DEFLATE, built as compressed: the judge inflates
    // them and says so.
    let built = wscope_wasm::build_frame(spec(15.0, false), &[0xff, 0xff, 0xff]).unwrap();
    assert_eq!(get(&built, "violations.0.code").as_f64(), Some(1007.0), "{:?}", get(&built, "violations.0.message"));
    // The browser build's compressor (miniz_oxide) looks back 32 KiB: a
    // smaller window is kept only for payloads that fit in it.
    assert_eq!(
        refusal(compress(&[b'a'; 513], 9.0)),
        "this build compresses with a 512-byte window only payloads of at most 512 bytes"
    );
    // A bad window or level is refused with what is wrong, by either module.
    assert_eq!(refusal(compress(b"x", 7.0)), "window_bits must be a whole number 8-15");
    assert_eq!(refusal(compress(b"x", 9.5)), "window_bits must be a whole number 8-15");
    assert_eq!(
        refusal(wscope_wasm_compress::compress_message(b"x", 15.0, Some(10.0))),
        "level must be a whole number 0-9"
    );
    assert_eq!(
        refusal(wscope_wasm::build_frame(spec(7.0, false), b"x")),
        "compressed.window_bits must be a whole number 8-15"
    );
}

/// Pasted bytes: how they were read, and an error that points at the
/// character at fault.
#[wasm_bindgen_test]
fn pasted_bytes_say_how_they_were_read() {
    let read = wscope_wasm::read_bytes("0x81, 0x05", "auto").unwrap();
    assert_eq!(bytes(&get(&read, "bytes")), [0x81, 0x05]);
    assert_eq!(get(&read, "read_as").as_string().as_deref(), Some("hex"));
    let e = wscope_wasm::read_bytes("81 zz", "hex").unwrap_err();
    assert_eq!(get(&e, "at").as_f64(), Some(3.0));
    assert!(get(&e, "message").as_string().unwrap().starts_with("“z” at character 4 is not a hex digit"));
    let e = wscope_wasm::read_bytes("81 05 4", "base64").unwrap_err();
    assert!(get(&e, "message").as_string().unwrap().contains("cannot be whole bytes"));
}

/// The builder's refusals name the field at fault; a declared length is
/// exact as a string and refused past 2^64 - 1; a close payload from a code
/// and a reason.
#[wasm_bindgen_test]
fn builder_refusals_name_their_field() {
    let spec = |declared: &str| {
        let o = js_sys::Object::new();
        Reflect::set(&o, &"fin".into(), &true.into()).unwrap();
        Reflect::set(&o, &"opcode".into(), &2.into()).unwrap();
        Reflect::set(&o, &"declared_len".into(), &declared.into()).unwrap();
        JsValue::from(o)
    };
    let built = wscope_wasm::build_frame(spec("18446744073709551615"), b"").unwrap();
    assert_eq!(get(&built, "header.payload_len").as_string().as_deref(), Some("18446744073709551615"));
    let e = wscope_wasm::build_frame(spec("18446744073709551616"), b"").unwrap_err();
    assert_eq!(get(&e, "field").as_string().as_deref(), Some("declared_len"));
    assert!(get(&e, "message").as_string().unwrap().contains("at most 18446744073709551615"));
    let o = spec("70000");
    Reflect::set(&o, &"length_form".into(), &"16-bit".into()).unwrap();
    let e = wscope_wasm::build_frame(o, b"").unwrap_err();
    assert_eq!(get(&e, "field").as_string().as_deref(), Some("length_form"));
    assert_eq!(
        get(&e, "message").as_string().as_deref(),
        Some("a payload length of 70000 does not fit the 16-bit length form")
    );
    // A 32 MiB frame judged with a 16 MiB limit: 1009, naming the limit.
    let o = spec("33554432");
    Reflect::set(&o, &"max_frame_size".into(), &16_777_216.into()).unwrap();
    let built = wscope_wasm::build_frame(o, b"").unwrap();
    assert_eq!(get(&built, "violations.0.code").as_f64(), Some(1009.0));
    assert_eq!(wscope_wasm::close_payload(Some(1000), "bye"), [0x03, 0xe8, b'b', b'y', b'e']);
    let info = wscope_wasm::close_code_info(1001).unwrap();
    assert_eq!(get(&info, "sendable").as_bool(), Some(true));
    assert_eq!(get(&info, "browser_may_close").as_bool(), Some(false));
}

/// A key that is not base64 is explained in the page's words, pointing at
/// the character (not the library's "Invalid symbol 46, offset 18").
#[wasm_bindgen_test]
fn key_report_says_why_a_key_is_not_base64() {
    let report = wscope_wasm::key_report("dGhlIHNhbXBsZSBub25jZQ=.").unwrap();
    assert_eq!(get(&report, "valid").as_bool(), Some(false));
    assert_eq!(
        get(&report, "decode_error").as_string().as_deref(),
        Some("the “=” at character 23 is padding, which may only end the text")
    );
    let report = wscope_wasm::key_report("dGhlIHNhbXBsZSBub25jZQ.").unwrap();
    assert_eq!(
        get(&report, "decode_error").as_string().as_deref(),
        Some("“.” at character 23 is not a base64 character (A-Z, a-z, 0-9, + and /)")
    );
}
