//! The collecting judge, incremental: one direction of a connection decoded
//! as its bytes arrive, each frame and each message reported once, when it
//! is complete, with every rule it breaks (where the live
//! [`crate::connection`] stops at the first). Nothing is decoded twice, so
//! a long stream costs time in proportion to its length.
//!
//! What is kept of a payload for showing is bounded
//! ([`StreamOptions::keep_payload`]); everything is judged.
//! [`crate::inspect`] is this decoder run over one buffer.

use crate::Decoded;
use crate::close::CloseCode;
use crate::deflate::DeflateParams;
use crate::frame::{FrameHeader, MAX_HEADER_LEN};
use crate::mask::apply_mask;
use crate::message::{MessageAssembler, keep_small};
use crate::rules::{DataKind, FramePlace, FrameRules, Role, Sequencer, parse_close_payload};
use crate::violation::Violation;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// What the decoder assumes about the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamOptions {
    /// Who sent the bytes (decides the masking rule); `None`: unknown,
    /// masking is not judged.
    pub sender: Option<Role>,
    /// Frame size limit to judge against, if any.
    pub max_frame_size: Option<u64>,
    /// Message size limit to judge against, if any.
    pub max_message_size: Option<u64>,
    /// permessage-deflate as negotiated for the stream: RSV1 marks
    /// compressed messages, which are inflated (keeping the context across
    /// messages unless the sender's no_context_takeover is set).
    pub deflate: Option<DeflateParams>,
    /// Most payload bytes kept per frame and per message for showing; the
    /// rest is judged and counted, not kept. Default: all.
    pub keep_payload: usize,
}

/// Most bytes a compressed message is inflated to when no message limit is
/// given (a deflate bomb stops here).
pub const INFLATE_CAP: u64 = 16 << 20;

/// A control payload is kept whole whatever the keep limit (125 bytes when
/// valid, section 5.5), so a close frame can always be read.
const KEEP_CONTROL: usize = 125;

/// Most frame indexes a message keeps (a message of a million tiny frames
/// counts them all, lists the first this many).
pub const MAX_LISTED_FRAMES: usize = 10_000;

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            sender: None,
            max_frame_size: None,
            max_message_size: None,
            deflate: None,
            keep_payload: usize::MAX,
        }
    }
}

/// One frame as found in the bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InspectedFrame {
    /// Its index among the stream's frames.
    pub index: usize,
    /// Offset of the frame's first byte in the stream.
    pub offset: u64,
    /// The header.
    pub header: FrameHeader,
    /// The header's length in bytes.
    pub header_len: usize,
    /// The payload bytes present, unmasked (up to the keep limit).
    pub payload: Vec<u8>,
    /// Payload bytes received, kept or not.
    pub payload_seen: u64,
    /// Whether the whole payload is present.
    pub complete: bool,
    /// Where it falls in the message stream.
    pub place: FramePlace,
    /// The data message it belongs to (an index into the messages).
    pub message: Option<usize>,
    /// It carries part of a compressed message (DEFLATE bytes).
    pub compressed: bool,
    /// Every rule this frame breaks.
    pub violations: Vec<Violation>,
    /// For a complete, valid close frame: its code and reason.
    pub close: Option<(Option<CloseCode>, String)>,
}

impl InspectedFrame {
    /// The kept payload as it was on the wire (masked again with the
    /// frame's key, if it has one).
    pub fn wire_payload(&self) -> Vec<u8> {
        let mut wire = self.payload.clone();
        if let Some(key) = self.header.mask {
            apply_mask(&mut wire, key, 0);
        }
        wire
    }
}

/// A data message assembled from frames.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InspectedMessage {
    /// Its index among the stream's messages.
    pub index: usize,
    /// Text or binary.
    pub kind: DataKind,
    /// Indexes of the frames it was built from (the first
    /// [`MAX_LISTED_FRAMES`]).
    pub frames: Vec<usize>,
    /// How many frames it was built from.
    pub frame_count: usize,
    /// The payload, unmasked and joined (inflated if `compressed`; the
    /// frames hold the compressed bytes), up to the keep limit.
    pub payload: Vec<u8>,
    /// Its whole length (inflated, if compressed), kept or not.
    pub len: u64,
    /// The payload bytes its frames carried (compressed, if it was).
    pub wire_len: u64,
    /// Whether it was sent compressed (RSV1 on its first frame).
    pub compressed: bool,
    /// Whether its final frame was seen.
    pub complete: bool,
}

impl InspectedMessage {
    /// For text: what is kept of it, if it is valid UTF-8 (for an
    /// unfinished or cut message, up to the last whole character).
    pub fn text(&self) -> Option<&str> {
        if self.kind != DataKind::Text {
            return None;
        }
        let whole = self.complete && self.payload.len() as u64 == self.len;
        text_prefix(&self.payload, whole)
    }
}

/// `payload` as text: all of it if valid, or, for a payload that may go on
/// (`whole` false), everything but a character cut at the end.
pub fn text_prefix(payload: &[u8], whole: bool) -> Option<&str> {
    match core::str::from_utf8(payload) {
        Ok(s) => Some(s),
        Err(e) if !whole && e.error_len().is_none() => core::str::from_utf8(payload.get(..e.valid_up_to())?).ok(),
        Err(_) => None,
    }
}

/// What a push completed, in stream order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// A frame whose last byte arrived.
    Frame(InspectedFrame),
    /// A data message whose final frame completed.
    Message(InspectedMessage),
}

/// A header cut short at the end of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartialHeader {
    /// Offset of its first byte.
    pub offset: u64,
    /// Bytes present.
    pub have: usize,
    /// Bytes still needed for the header.
    pub needed: usize,
}

/// Decodes and judges one direction of a stream, piece by piece.
#[derive(Debug)]
pub struct StreamDecoder {
    options: StreamOptions,
    rules: FrameRules,
    seq: Sequencer,
    assembler: MessageAssembler,
    /// Offset of the next byte.
    offset: u64,
    /// A header that arrived in pieces.
    head: Vec<u8>,
    frame: Option<FrameSoFar>,
    message: Option<InspectedMessage>,
    frames: usize,
    messages: usize,
    /// One piece unmasked, before it is kept and handed on.
    scratch: Vec<u8>,
    /// What the assembler made of one piece (inflated, if compressed),
    /// before what fits is kept: one buffer for the stream, not one per piece.
    produced: Vec<u8>,
}

#[derive(Debug)]
struct FrameSoFar {
    frame: InspectedFrame,
    remaining: u64,
}

impl StreamDecoder {
    /// A decoder at the start of a stream (just after the handshake).
    pub fn new(options: StreamOptions) -> Self {
        let deflate = options.deflate.map(|p| p.of(options.sender.unwrap_or(Role::Client)));
        // An unknown sender's context rule is unknown: kept, the default.
        let deflate = deflate.map(|mut d| {
            d.no_context_takeover &= options.sender.is_some();
            d
        });
        StreamDecoder {
            options,
            rules: FrameRules::new(options.sender, options.deflate.is_some(), options.max_frame_size),
            seq: Sequencer::new(options.max_message_size),
            assembler: MessageAssembler::new(deflate, options.max_message_size.unwrap_or(INFLATE_CAP)),
            offset: 0,
            head: Vec::new(),
            frame: None,
            message: None,
            frames: 0,
            messages: 0,
            scratch: Vec::new(),
            produced: Vec::new(),
        }
    }

    /// Bytes taken so far.
    pub const fn offset(&self) -> u64 {
        self.offset
    }

    /// Frames begun so far.
    pub const fn frame_count(&self) -> usize {
        self.frames
    }

    /// Takes the next bytes of the stream and appends what they completed
    /// to `items`.
    pub fn push(&mut self, mut data: &[u8], items: &mut Vec<Item>) {
        while !data.is_empty() {
            let used =
                if self.frame.is_some() { self.payload_piece(data, items) } else { self.header_piece(data, items) };
            data = data.get(used..).unwrap_or_default();
        }
    }

    /// The frame being received, as far as it has arrived.
    pub fn partial_frame(&self) -> Option<&InspectedFrame> {
        self.frame.as_ref().map(|f| &f.frame)
    }

    /// The data message being received, as far as it has arrived.
    pub fn partial_message(&self) -> Option<&InspectedMessage> {
        self.message.as_ref()
    }

    /// A header cut short at the end of what arrived, if any.
    pub fn partial_header(&self) -> Option<PartialHeader> {
        if self.head.is_empty() {
            return None;
        }
        let needed = match FrameHeader::decode(&self.head) {
            Decoded::Incomplete { needed } => needed,
            Decoded::Complete { .. } => 0,
        };
        let offset = self.offset.saturating_sub(self.head.len() as u64);
        Some(PartialHeader { offset, have: self.head.len(), needed })
    }

    fn header_piece(&mut self, data: &[u8], items: &mut Vec<Item>) -> usize {
        let had = self.head.len();
        let take = if had == 0 {
            match FrameHeader::decode(data) {
                Decoded::Complete { value, len } => {
                    self.offset = self.offset.saturating_add(len as u64);
                    self.begin(value, len, items);
                    return len;
                }
                Decoded::Incomplete { .. } => data.len().min(MAX_HEADER_LEN),
            }
        } else {
            match FrameHeader::decode(&self.head) {
                Decoded::Incomplete { needed } => needed.min(data.len()),
                Decoded::Complete { .. } => 0,
            }
        };
        self.head.extend_from_slice(data.get(..take).unwrap_or_default());
        self.offset = self.offset.saturating_add(take as u64);
        if let Decoded::Complete { value, len } = FrameHeader::decode(&self.head) {
            self.head.clear();
            self.begin(value, len, items);
        }
        take
    }

    /// A header is complete: judge it and place its frame.
    fn begin(&mut self, header: FrameHeader, header_len: usize, items: &mut Vec<Item>) {
        let mut violations = self.rules.violations(&header);
        let (place, order) = self.seq.next(&header);
        violations.extend(order);
        let index = self.frames;
        self.frames = self.frames.saturating_add(1);
        let mut message = None;
        let mut compressed = false;
        if let FramePlace::Data { kind, first, .. } = place {
            if first {
                // A message left unfinished by a new one is reported as it was.
                if let Some(m) = self.message.take() {
                    items.push(Item::Message(m));
                }
                self.assembler.start(kind, header.rsv[0]);
                self.message = Some(InspectedMessage {
                    index: self.messages,
                    kind,
                    frames: Vec::new(),
                    frame_count: 0,
                    payload: Vec::new(),
                    len: 0,
                    wire_len: 0,
                    compressed: self.assembler.is_compressed(),
                    complete: false,
                });
                self.messages = self.messages.saturating_add(1);
            }
            if let Some(m) = self.message.as_mut() {
                if m.frames.len() < MAX_LISTED_FRAMES {
                    m.frames.push(index);
                }
                m.frame_count = m.frame_count.saturating_add(1);
                m.wire_len = m.wire_len.saturating_add(header.payload_len);
                message = Some(m.index);
                compressed = m.compressed;
            }
        }
        let frame = InspectedFrame {
            index,
            offset: self.offset.saturating_sub(header_len as u64),
            header,
            header_len,
            payload: Vec::new(),
            payload_seen: 0,
            complete: false,
            place,
            message,
            compressed,
            violations,
            close: None,
        };
        self.frame = Some(FrameSoFar { frame, remaining: header.payload_len });
        if header.payload_len == 0 {
            self.end_frame(items);
        }
    }

    fn payload_piece(&mut self, data: &[u8], items: &mut Vec<Item>) -> usize {
        let Some(f) = self.frame.as_mut() else { return 0 };
        let keep = match f.frame.place {
            // A control payload (125 bytes when valid) is always kept whole.
            FramePlace::Control(_) => self.options.keep_payload.max(KEEP_CONTROL),
            _ => self.options.keep_payload,
        };
        let n = usize::try_from(f.remaining).unwrap_or(usize::MAX).min(data.len());
        let piece = data.get(..n).unwrap_or_default();
        let phase = (f.frame.payload_seen & 3) as usize;
        // Unmasked once, kept up to the limit, handed on whole.
        self.scratch.clear();
        self.scratch.extend_from_slice(piece);
        if let Some(key) = f.frame.header.mask {
            apply_mask(&mut self.scratch, key, phase);
        }
        let room = keep.saturating_sub(f.frame.payload.len()).min(n);
        f.frame.payload.extend_from_slice(self.scratch.get(..room).unwrap_or_default());
        f.frame.payload_seen = f.frame.payload_seen.saturating_add(n as u64);
        f.remaining = f.remaining.saturating_sub(n as u64);
        self.offset = self.offset.saturating_add(n as u64);
        if let (FramePlace::Data { .. }, Some(m)) = (f.frame.place, self.message.as_mut()) {
            self.produced.clear();
            let violations = &mut f.frame.violations;
            self.assembler.push(&self.scratch, None, &mut self.produced, &mut |v| violations.push(v));
            keep_part(m, &self.produced, keep);
            keep_small(&mut self.produced);
        }
        if f.remaining == 0 {
            self.end_frame(items);
        }
        n
    }

    /// The frame's payload is complete: finish what it finishes.
    fn end_frame(&mut self, items: &mut Vec<Item>) {
        let Some(FrameSoFar { mut frame, .. }) = self.frame.take() else { return };
        frame.complete = true;
        match frame.place {
            FramePlace::Control(crate::frame::OpCode::Close) => match parse_close_payload(&frame.payload) {
                Ok((code, reason)) => frame.close = Some((code, reason.to_string())),
                Err(v) => frame.violations.push(v),
            },
            FramePlace::Data { last: true, .. } => {
                if let Some(mut m) = self.message.take() {
                    self.produced.clear();
                    let violations = &mut frame.violations;
                    self.assembler.finish(&mut self.produced, &mut |v| violations.push(v));
                    keep_part(&mut m, &self.produced, self.options.keep_payload);
                    keep_small(&mut self.produced);
                    m.complete = true;
                    items.push(Item::Frame(frame));
                    items.push(Item::Message(m));
                    return;
                }
            }
            _ => {}
        }
        items.push(Item::Frame(frame));
    }
}

/// Counts `out` into the message and keeps what fits.
fn keep_part(m: &mut InspectedMessage, out: &[u8], keep: usize) {
    m.len = m.len.saturating_add(out.len() as u64);
    let room = keep.saturating_sub(m.payload.len()).min(out.len());
    m.payload.extend_from_slice(out.get(..room).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::OpCode;

    fn frame(fin: bool, opcode: OpCode, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        FrameHeader::new(fin, opcode, Some([1, 2, 3, 4]), payload.len() as u64)
            .encode_frame(payload, &mut out)
            .unwrap();
        out
    }

    fn decode(options: StreamOptions, pieces: &[&[u8]]) -> Vec<Item> {
        let mut d = StreamDecoder::new(options);
        let mut items = Vec::new();
        for p in pieces {
            d.push(p, &mut items);
        }
        items
    }

    /// Fed a byte at a time or whole, the same items come out, each once.
    #[test]
    fn pieces_do_not_change_what_is_found() {
        let wire = [
            frame(false, OpCode::Text, "Hé".as_bytes()),
            frame(true, OpCode::Ping, b"p"),
            frame(true, OpCode::Continuation, b"llo"),
            frame(true, OpCode::Binary, &[0xff; 300]),
            frame(true, OpCode::Text, b"\xff"),
            frame(true, OpCode::Close, &[0x03, 0xe8]),
        ]
        .concat();
        let options = StreamOptions { sender: Some(Role::Client), ..StreamOptions::default() };
        let whole = decode(options, &[&wire]);
        let bytes: Vec<&[u8]> = wire.chunks(1).collect();
        assert_eq!(decode(options, &bytes), whole);
        let kinds: Vec<_> = whole
            .iter()
            .map(|i| match i {
                Item::Frame(f) => f.header.opcode.bits(),
                Item::Message(_) => 0xff,
            })
            .collect();
        assert_eq!(kinds, [0x1, 0x9, 0x0, 0xff, 0x2, 0xff, 0x1, 0xff, 0x8]);
        let Item::Message(m) = &whole[3] else { panic!("{:?}", whole[3]) };
        assert_eq!((m.text(), m.frames.as_slice(), m.frame_count), (Some("Héllo"), &[0, 2][..], 2));
        let Item::Frame(bad) = &whole[6] else { panic!() };
        assert_eq!(bad.violations, [Violation::InvalidUtf8 { offset: 0 }]);
    }

    /// What is kept of a payload is bounded; it is all judged and counted.
    #[test]
    fn kept_payloads_are_bounded() {
        let mut text = "a".repeat(1000).into_bytes();
        text.push(0xff);
        let wire = frame(true, OpCode::Text, &text);
        let options = StreamOptions { sender: Some(Role::Client), keep_payload: 100, ..StreamOptions::default() };
        let items = decode(options, &[&wire[..500], &wire[500..]]);
        let (Item::Frame(f), Item::Message(m)) = (&items[0], &items[1]) else { panic!("{items:?}") };
        assert_eq!((f.payload.len(), f.payload_seen), (100, 1001));
        assert_eq!(f.violations, [Violation::InvalidUtf8 { offset: 1000 }]);
        assert_eq!((m.payload.len(), m.len, m.text().map(str::len)), (100, 1001, Some(100)));
    }
}
