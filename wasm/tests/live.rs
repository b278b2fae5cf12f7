//! A real `WebSocket` from Chromium to a running `wscope-server`, checked
//! against the server's wire tap of that very connection, decoded by the
//! core compiled to wasm.
//!
//! The server's address comes in at compile time through
//! `WSCOPE_TEST_SERVER` (e.g. `127.0.0.1:43123`); `cargo xtask test` starts
//! the server and sets it.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use js_sys::{Reflect, Uint8Array};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

wasm_bindgen_test_configure!(run_in_browser);

const SERVER: Option<&str> = option_env!("WSCOPE_TEST_SERVER");

/// What a socket received, in order.
#[derive(Debug, Clone, PartialEq)]
enum Got {
    Open,
    Text(String),
    Binary(Vec<u8>),
    Close { code: u16, reason: String, clean: bool },
    Error,
}

struct Socket {
    ws: WebSocket,
    got: Rc<RefCell<Vec<Got>>>,
    _handlers: Vec<Closure<dyn FnMut(JsValue)>>,
}

impl Socket {
    fn open(url: &str) -> Socket {
        let ws = WebSocket::new(url).unwrap();
        ws.set_binary_type(BinaryType::Arraybuffer);
        let got = Rc::new(RefCell::new(Vec::new()));
        let mut handlers = Vec::new();
        let g = Rc::clone(&got);
        handlers.push(Closure::<dyn FnMut(JsValue)>::new(move |_| g.borrow_mut().push(Got::Open)));
        ws.set_onopen(Some(handlers[0].as_ref().unchecked_ref()));
        let g = Rc::clone(&got);
        handlers.push(Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
            let data = e.unchecked_into::<MessageEvent>().data();
            g.borrow_mut().push(match data.as_string() {
                Some(text) => Got::Text(text),
                None => Got::Binary(Uint8Array::new(&data).to_vec()),
            });
        }));
        ws.set_onmessage(Some(handlers[1].as_ref().unchecked_ref()));
        let g = Rc::clone(&got);
        handlers.push(Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
            let e = e.unchecked_into::<CloseEvent>();
            g.borrow_mut().push(Got::Close { code: e.code(), reason: e.reason(), clean: e.was_clean() });
        }));
        ws.set_onclose(Some(handlers[2].as_ref().unchecked_ref()));
        let g = Rc::clone(&got);
        handlers.push(Closure::<dyn FnMut(JsValue)>::new(move |_| g.borrow_mut().push(Got::Error)));
        ws.set_onerror(Some(handlers[3].as_ref().unchecked_ref()));
        Socket { ws, got, _handlers: handlers }
    }

    /// Waits (at most 20 s, only so a hang becomes a failure) until `done`.
    async fn wait_until(&self, what: &str, done: impl Fn(&[Got]) -> bool) {
        for _ in 0..2000 {
            if done(&self.got.borrow()) {
                return;
            }
            sleep_ms(10).await;
        }
        panic!("timed out waiting for {what}; got {:?}", summary(&self.got.borrow()));
    }

    fn len(&self) -> usize {
        self.got.borrow().len()
    }
}

fn summary(got: &[Got]) -> Vec<String> {
    got.iter()
        .map(|g| match g {
            Got::Text(t) if t.len() > 80 => format!("Text({} bytes)", t.len()),
            Got::Binary(b) => format!("Binary({} bytes)", b.len()),
            other => format!("{other:?}"),
        })
        .collect()
}

async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let window = web_sys::window().unwrap();
        window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms).unwrap();
    });
    JsFuture::from(promise).await.unwrap();
}

fn get(obj: &JsValue, path: &str) -> JsValue {
    path.split('.').fold(obj.clone(), |o, key| {
        let k = key.parse::<u32>().map_or_else(|_| JsValue::from_str(key), JsValue::from);
        Reflect::get(&o, &k).unwrap_or(JsValue::UNDEFINED)
    })
}

/// Whether a text message of the tap is the server's note of `kind` (its
/// JSON `type`).
fn is_note(text: &str, kind: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text).is_ok_and(|v| v["type"] == kind)
}

fn token() -> String {
    let mut bytes = [0u8; 16];
    web_sys::window().unwrap().crypto().unwrap().get_random_values_with_u8_array(&mut bytes).unwrap();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const SIZES: [usize; 5] = [0, 125, 126, 65535, 65536];

#[wasm_bindgen_test]
async fn live_connection_matches_its_wire_tap() {
    live(false).await;
}

/// The same with permessage-deflate, which Chromium offers and the server
/// accepts: the browser's frames carry RSV1 and inflate to what was sent;
/// the server compresses echoes of 32 bytes or more.
#[wasm_bindgen_test]
async fn compressed_live_connection_matches_its_wire_tap() {
    live(true).await;
}

async fn live(deflate: bool) {
    let server = SERVER.expect("WSCOPE_TEST_SERVER was not set at build time: run this through `cargo xtask test`");
    let token = token();

    // Subscribe first, so the whole connection is seen as it happens.
    let tap = Socket::open(&format!("ws://{server}/tap?token={token}"));
    tap.wait_until("the tap's hello", |g| g.iter().any(|m| matches!(m, Got::Text(t) if is_note(t, "hello")))).await;

    let plain = if deflate { "" } else { "&deflate=off" };
    let ws = Socket::open(&format!("ws://{server}/echo?tap={token}{plain}"));
    ws.wait_until("onopen", |g| g.contains(&Got::Open)).await;
    let mut sent: Vec<Got> = Vec::new();
    for size in SIZES {
        let text: String = "wscope!".chars().cycle().take(size).collect();
        ws.ws.send_with_str(&text).unwrap();
        sent.push(Got::Text(text));
        let binary: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
        ws.ws.send_with_u8_array(&binary).unwrap();
        sent.push(Got::Binary(binary));
    }
    ws.wait_until("every echo", |g| g.len() > sent.len()).await;
    assert_eq!(ws.got.borrow()[1..=sent.len()], sent[..], "the echoes equal what was sent");
    ws.ws.close_with_code_and_reason(4000, "done here").unwrap();
    ws.wait_until("onclose", |g| g.iter().any(|m| matches!(m, Got::Close { .. }))).await;
    let close = ws.got.borrow().last().cloned().unwrap();
    assert_eq!(close, Got::Close { code: 4000, reason: "done here".into(), clean: true });
    assert_eq!(ws.len(), sent.len() + 2, "open, the echoes, close; no error");

    tap.wait_until("the tap's end", |g| g.iter().any(|m| matches!(m, Got::Text(t) if is_note(t, "end")))).await;
    let (mut up, mut down) = (Vec::new(), Vec::new());
    for m in tap.got.borrow().iter() {
        if let Got::Binary(record) = m {
            assert!(record.len() > 9, "a record is direction, time and at least one byte");
            match record[0] {
                0 => up.extend_from_slice(&record[9..]),
                1 => down.extend_from_slice(&record[9..]),
                d => panic!("unknown direction {d}"),
            }
        }
    }
    assert!(!tap.got.borrow().iter().any(|m| matches!(m, Got::Text(t) if is_note(t, "dropped"))));

    // The handshake: the server's accept is the one the browser's key calls for.
    // Where each direction's HTTP head ends, and what the 101 agreed to, as
    // the page's wire view finds them (each direction as one tap record).
    let mut view = wscope_wasm::WireView::new();
    let mut record = |dir: u8, bytes: &[u8]| {
        let mut r = vec![dir, 0, 0, 0, 0, 0, 0, 0, 0];
        r.extend_from_slice(bytes);
        view.push_record(&r).unwrap()
    };
    let (up_record, down_record) = (record(0, &up), record(1, &down));
    let head_len = |rec: &JsValue| {
        assert_eq!(
            get(rec, "items.0.type").as_string().as_deref(),
            Some("head"),
            "a direction starts with an HTTP head"
        );
        get(rec, "items.0.len").as_f64().unwrap() as usize
    };
    let (up_head, down_head) = (head_len(&up_record), head_len(&down_record));
    let request = wscope_wasm::inspect_request(&up[..up_head]).unwrap();
    assert_eq!(get(&request, "problems.length").as_f64(), Some(0.0));
    let response = String::from_utf8(down[..down_head].to_vec()).unwrap();
    let expected = get(&request, "accept").as_string().unwrap();
    assert!(response.contains(&format!("\r\nSec-WebSocket-Accept: {expected}\r\n")), "{response}");
    assert_eq!(
        get(&down_record, "items.1.type").as_string().as_deref(),
        Some("deflate"),
        "the 101 is followed by what it agreed"
    );
    let agreed = get(&down_record, "items.1.params");
    assert_eq!(agreed.is_null(), !deflate, "permessage-deflate agreed: {response}");
    if deflate {
        assert!(response.contains("\r\nSec-WebSocket-Extensions: permessage-deflate\r\n"), "{response}");
        assert_eq!(get(&agreed, "server_max_window_bits").as_f64(), Some(15.0));
    }

    // The browser's frames: all masked, valid, and unmasking (inflating) to
    // what was sent.
    let opts = |sender: &str| {
        let o = js_sys::Object::new();
        Reflect::set(&o, &"sender".into(), &sender.into()).unwrap();
        Reflect::set(&o, &"deflate".into(), &agreed).unwrap();
        JsValue::from(o)
    };
    let client = wscope_wasm::inspect(&up[up_head..], opts("client")).unwrap();
    assert_eq!(get(&client, "violation_count").as_f64(), Some(0.0));
    let frames = get(&client, "frames");
    let n = get(&frames, "length").as_f64().unwrap() as u32;
    assert_eq!(n as usize, sent.len() + 1, "one frame per message, then the close");
    for i in 0..n {
        assert_eq!(get(&frames, &format!("{i}.header.masked")).as_bool(), Some(true), "client frame {i} is masked");
    }
    let messages = get(&client, "messages");
    let mut compressed = 0;
    for (i, expect) in sent.iter().enumerate() {
        let payload = Uint8Array::new(&get(&messages, &format!("{i}.payload"))).to_vec();
        match expect {
            Got::Text(t) => assert_eq!(payload, t.as_bytes()),
            Got::Binary(b) => assert_eq!(&payload, b),
            _ => unreachable!(),
        }
        let rsv1 = get(&frames, &format!("{i}.header.rsv.0")).as_bool() == Some(true);
        assert_eq!(get(&messages, &format!("{i}.compressed")).as_bool(), Some(rsv1));
        compressed += usize::from(rsv1);
    }
    if deflate {
        assert!(compressed > 0, "Chromium compressed none of its messages");
    } else {
        assert_eq!(compressed, 0);
    }
    let last = format!("{}", n - 1);
    assert_eq!(get(&frames, &format!("{last}.close.code")).as_f64(), Some(4000.0));
    assert_eq!(get(&frames, &format!("{last}.close.reason")).as_string().as_deref(), Some("done here"));

    // The server's frames: unmasked, minimal lengths (no violation at all).
    let server_side = wscope_wasm::inspect(&down[down_head..], opts("server")).unwrap();
    assert_eq!(get(&server_side, "violation_count").as_f64(), Some(0.0));
    let frames = get(&server_side, "frames");
    let m = get(&frames, "length").as_f64().unwrap() as u32;
    assert_eq!(m, n);
    let server_messages = get(&server_side, "messages");
    for (i, expect) in sent.iter().enumerate() {
        let len = match expect {
            Got::Text(t) => t.len(),
            Got::Binary(b) => b.len(),
            _ => unreachable!(),
        };
        let rsv1 = get(&frames, &format!("{i}.header.rsv.0")).as_bool() == Some(true);
        assert_eq!(rsv1, deflate && len >= 32, "server frame {i} ({len} bytes) compressed?");
        let payload = Uint8Array::new(&get(&server_messages, &format!("{i}.payload"))).to_vec();
        assert_eq!(payload.len(), len, "server message {i} inflates to its length");
    }
    for i in 0..m {
        assert_eq!(get(&frames, &format!("{i}.header.masked")).as_bool(), Some(false), "server frame {i}");
        let len: u64 = get(&frames, &format!("{i}.header.payload_len")).as_string().unwrap().parse().unwrap();
        let form = get(&frames, &format!("{i}.header.length_form")).as_string().unwrap();
        let minimal = if len <= 125 {
            "7-bit"
        } else if len <= 65535 {
            "16-bit"
        } else {
            "64-bit"
        };
        assert_eq!(form, minimal, "server frame {i} of {len} bytes");
    }
    // The CloseEvent the page saw is the close frame on the wire.
    let last = format!("{}", m - 1);
    assert_eq!(get(&frames, &format!("{last}.close.code")).as_f64(), Some(4000.0));
    assert_eq!(get(&frames, &format!("{last}.close.reason")).as_string().as_deref(), Some("done here"));
}
