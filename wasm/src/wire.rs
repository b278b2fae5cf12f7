//! One connection's wire for the page's live and inject panels: the
//! server's tap records in, what they completed out ([`WireDecoder`]),
//! each chunk decoded once, however long the connection lives.

use crate::input::role_name;
use crate::js::{DeflateJs, FrameJs, MessageJs, PartialJs, to_js};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wscope_core::handshake::{HandshakeLimits, RequestHead};
use wscope_core::pingpong::PingTracker;
use wscope_core::wire::{WireDecoder, WireItem, WireOptions};
use wscope_core::{Decoded, Role};

/// One thing the wire showed, for the page.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ItemJs {
    /// An HTTP head, whole.
    Head {
        from: &'static str,
        /// Its text (lossily decoded), its first line, its length.
        text: String,
        first_line: String,
        len: usize,
        status: Option<u16>,
        /// A request's `User-Agent`: which browser (or client) this is.
        agent: Option<String>,
    },
    /// What the server's 101 agreed to about permessage-deflate.
    Deflate {
        params: Option<DeflateJs>,
        error: Option<String>,
    },
    /// Bytes that are not frames.
    Raw {
        from: &'static str,
        #[serde(with = "crate::js::bytes")]
        bytes: Vec<u8>,
    },
    Frame {
        from: &'static str,
        frame: Box<FrameJs>,
        /// For a pong that answers the other side's ping: `{ ping, micros }`,
        /// the ping's frame index and the time between the two.
        answers: Option<AnswersJs>,
    },
    Message {
        from: &'static str,
        message: MessageJs,
    },
}

/// The ping a pong answers (the core's `PingTracker`).
#[derive(Serialize)]
struct AnswersJs {
    ping: usize,
    micros: f64,
}

impl From<&WireItem> for ItemJs {
    fn from(item: &WireItem) -> Self {
        match item {
            WireItem::Head { from, bytes, status } => {
                let text = String::from_utf8_lossy(bytes).into_owned();
                let first_line = text.split("\r\n").next().unwrap_or_default().to_owned();
                let agent = match from {
                    Role::Client => match RequestHead::parse(bytes, &HandshakeLimits::default()) {
                        Ok(Decoded::Complete { value, .. }) => {
                            value.header("user-agent").map(|a| String::from_utf8_lossy(a).into_owned())
                        }
                        _ => None,
                    },
                    Role::Server => None,
                };
                ItemJs::Head { from: role_name(*from), first_line, text, len: bytes.len(), status: *status, agent }
            }
            WireItem::Deflate(Ok(params)) => {
                ItemJs::Deflate { params: params.as_ref().map(DeflateJs::from), error: None }
            }
            WireItem::Deflate(Err(e)) => ItemJs::Deflate { params: None, error: Some(e.to_string()) },
            WireItem::Raw { from, bytes } => ItemJs::Raw { from: role_name(*from), bytes: bytes.clone() },
            WireItem::Frame { from, frame } => {
                ItemJs::Frame { from: role_name(*from), frame: Box::new(FrameJs::from(frame)), answers: None }
            }
            WireItem::Message { from, message } => {
                ItemJs::Message { from: role_name(*from), message: MessageJs::from(message) }
            }
        }
    }
}

/// What one tap record held.
#[derive(Serialize)]
struct RecordJs {
    from: &'static str,
    /// Microseconds since the server accepted the connection (exact below
    /// 2^53, about 285 years).
    micros: f64,
    /// The chunk's length.
    len: usize,
    items: Vec<ItemJs>,
}

/// Bytes 1-8 of a tap record: microseconds since the connection was
/// accepted, big-endian (the server's `tap` module writes them).
const RECORD_HEADER: usize = 9;

/// One connection's wire, decoded as it arrives.
#[wasm_bindgen]
#[derive(Debug)]
pub struct WireView {
    decoder: WireDecoder,
    pings: PingTracker,
}

impl Default for WireView {
    fn default() -> Self {
        WireView { decoder: WireDecoder::new(WireOptions::default()), pings: PingTracker::new() }
    }
}

#[wasm_bindgen]
impl WireView {
    /// A view of a connection from its first byte each way.
    #[wasm_bindgen(constructor)]
    pub fn new() -> WireView {
        WireView::default()
    }

    /// Takes one binary message of the server's tap (or inject) stream:
    /// byte 0 the direction (`0` client → server, `1` server → client),
    /// bytes 1-8 the microseconds since the connection was accepted (u64,
    /// big-endian), the rest the bytes exactly. Returns `{ from, micros,
    /// len, items }`, the items being what the chunk completed.
    pub fn push_record(&mut self, record: &[u8]) -> Result<JsValue, JsError> {
        let (Some(&dir), Some(micros), Some(data)) =
            (record.first(), record.get(1..RECORD_HEADER), record.get(RECORD_HEADER..))
        else {
            return Err(JsError::new(&format!("a tap record has at least {RECORD_HEADER} bytes")));
        };
        let from = match dir {
            0 => Role::Client,
            1 => Role::Server,
            other => return Err(JsError::new(&format!("unknown tap direction {other}"))),
        };
        let micros = micros.try_into().map(u64::from_be_bytes).unwrap_or(0);
        let mut items = Vec::new();
        self.decoder.push(from, data, &mut items);
        let items = items
            .iter()
            .map(|item| {
                let mut js = ItemJs::from(item);
                if let (WireItem::Frame { from, frame }, ItemJs::Frame { answers, .. }) = (item, &mut js) {
                    #[allow(clippy::cast_precision_loss)]
                    let found = self
                        .pings
                        .frame(*from, frame, micros)
                        .map(|a| AnswersJs { ping: a.ping, micros: a.round_trip as f64 });
                    *answers = found;
                }
                js
            })
            .collect();
        #[allow(clippy::cast_precision_loss)]
        let micros = micros as f64;
        to_js(&RecordJs { from: role_name(from), micros, len: data.len(), items })
    }

    /// A frame header `from` one side cut short at the end of what
    /// arrived: `{ offset, have, needed }`, or `null`.
    pub fn partial_header(&self, from: &str) -> Result<JsValue, JsError> {
        let from = crate::input::role(from).ok_or_else(|| JsError::new("from must be \"client\" or \"server\""))?;
        match self.decoder.partial_header(from) {
            Some(p) => to_js(&PartialJs::from(p)),
            None => Ok(JsValue::NULL),
        }
    }

    /// The frame `from` one side still arriving, as far as it has, or
    /// `null`.
    pub fn partial_frame(&self, from: &str) -> Result<JsValue, JsError> {
        let from = crate::input::role(from).ok_or_else(|| JsError::new("from must be \"client\" or \"server\""))?;
        match self.decoder.partial_frame(from) {
            Some(f) => to_js(&FrameJs::from(f)),
            None => Ok(JsValue::NULL),
        }
    }
}
