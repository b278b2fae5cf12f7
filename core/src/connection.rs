//! The message layer for either role, sans-IO, in the manner of wsproto:
//! [`Connection::receive_data`] takes bytes off the wire,
//! [`Connection::next_event`] hands out what they meant, [`Connection::send`]
//! turns messages into bytes, and [`Connection::pending_output`] holds the
//! bytes to write.
//!
//! Received payloads are unmasked and, for text, validated as they arrive,
//! so a frame that will never be valid fails before it is complete
//! (section 8.1: "as soon as"). The connection stops at the first violation
//! and fails with the close code the rule warrants (section 7.1.7).
//!
//! Automatic replies (the pong to a ping, the close that answers a close,
//! the close that fails the connection) are written when the event that
//! causes them is taken with [`Connection::next_event`], so they follow
//! whatever the application sent in answer to the events before.

use crate::Decoded;
use crate::close::{self, CloseCode, CloseFrame};
use crate::deflate::{DeflateParams, InflateError, MessageDeflater, MessageInflater};
use crate::frame::{FrameHeader, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, OpCode};
use crate::mask::apply_mask;
use crate::rules::{DataKind, FrameRole, FrameRules, ProtocolError, RSV1, Sender, Sequencer, Violation};
use crate::utf8::Utf8Validator;
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// Which end of the connection this is; it decides who masks (section 5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Masks what it sends; rejects masked frames.
    Client,
    /// Sends unmasked; rejects unmasked frames.
    Server,
}

/// Limits and automatic behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Largest accepted frame payload; larger fails with 1009.
    /// Default 16 MiB.
    pub max_frame_size: u64,
    /// Largest accepted message (all its fragments); larger fails with 1009.
    /// Default 64 MiB.
    pub max_message_size: u64,
    /// Answer pings with pongs. Default on.
    pub auto_pong: bool,
    /// Answer a close with a close echoing its code and reason. Default on.
    pub auto_close: bool,
    /// Emit [`Event::Frame`] for every frame header. Default off.
    pub frame_events: bool,
    /// permessage-deflate's parameters, once negotiated in the handshake
    /// ([`crate::deflate::negotiate`]). Default none: RSV1 is refused.
    pub deflate: Option<DeflateParams>,
    /// With deflate on, messages shorter than this go out uncompressed
    /// (each message decides for itself, RFC 7692 section 6). Default 32.
    pub compress_min_size: usize,
    /// With deflate on, the compression level, 0-9. Default 6.
    pub compression_level: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            auto_pong: true,
            auto_close: true,
            frame_events: false,
            deflate: None,
            compress_min_size: 32,
            compression_level: 6,
        }
    }
}

/// Scratch buffers keep their room between messages, up to a point: one
/// large message must not pin its size for the connection's life.
const SCRATCH_KEEP: usize = 64 * 1024;

fn keep_small(buf: &mut Vec<u8>) {
    if buf.capacity() > SCRATCH_KEEP {
        *buf = Vec::new();
    }
}

/// What received bytes meant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A whole text message.
    Text(String),
    /// A whole binary message.
    Binary(Vec<u8>),
    /// A ping with its payload.
    Ping(Vec<u8>),
    /// A pong with its payload.
    Pong(Vec<u8>),
    /// The peer's close frame. Nothing after it is read.
    Close(CloseFrame),
    /// A frame header (only with [`Config::frame_events`]), before the
    /// events its frame leads to.
    Frame {
        /// The header.
        header: FrameHeader,
        /// Offset of the frame's first byte in the received stream.
        offset: u64,
    },
    /// The peer broke a rule; the connection is failed and nothing after
    /// is read. Taking this event writes the close frame.
    Failed(ProtocolError),
}

/// What [`Connection::read_event_in_place`] found: a whole message left in
/// the caller's buffer (unmasked there, no copy), or any other event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventRef<'a> {
    /// A whole unfragmented text message, in the caller's buffer.
    Text(&'a str),
    /// A whole unfragmented binary message, in the caller's buffer.
    Binary(&'a [u8]),
    /// Anything else, as [`Connection::next_event`] gives it (messages
    /// that arrived in pieces or compressed are assembled and owned).
    Event(Event),
}

/// A message to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message<'a> {
    /// Text, in one frame.
    Text(&'a str),
    /// Binary data, in one frame.
    Binary(&'a [u8]),
    /// A ping (at most 125 bytes).
    Ping(&'a [u8]),
    /// A pong (at most 125 bytes).
    Pong(&'a [u8]),
    /// A close frame: no code (empty payload), or a code and a reason.
    Close(Option<CloseCode>, &'a str),
}

/// Why a send was refused. Nothing was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// A close frame was already sent: no data may follow (section 5.5.1).
    #[error("a close frame was already sent")]
    CloseSent,
    /// Control payloads are limited to 125 bytes (section 5.5).
    #[error("control frame payload of {len} bytes exceeds 125")]
    ControlTooLong {
        /// The payload length.
        len: usize,
    },
    /// The code is reserved and must not be sent (section 7.4).
    #[error("close code {code} must not be sent")]
    InvalidCloseCode {
        /// The code.
        code: u16,
    },
    /// A whole message or a first fragment while a fragmented message is
    /// being sent (section 5.4).
    #[error("a fragmented message is being sent: continue it first")]
    MessageInProgress,
    /// A continuation with no fragmented message being sent.
    #[error("no fragmented message to continue")]
    NoMessageInProgress,
}

/// The closing handshake's progress (section 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Messages flow both ways.
    Open,
    /// We sent a close and wait for the peer's.
    CloseSent,
    /// The peer's close arrived and is not answered yet.
    CloseReceived,
    /// Both closes crossed, or the connection failed: close the TCP
    /// connection once the pending output is written.
    Closed,
}

/// Where the receiver is inside the frame stream.
#[derive(Clone, Copy, Debug)]
enum Rx {
    /// Collecting a header that arrived in pieces.
    Header { buf: [u8; MAX_HEADER_LEN], have: usize },
    /// Reading the payload of `header`.
    Payload {
        header: FrameHeader,
        role: FrameRole,
        remaining: u64,
        /// Payload bytes read so far (their count mod 4 is the mask phase).
        read: u64,
        start: u64,
        /// A text frame that is a whole message and arrived in one piece:
        /// validated once at the end instead of piece by piece.
        deferred_utf8: bool,
    },
    /// After the peer's close or a failure: input is ignored.
    Done,
}

/// Unwritten output past which an unwritten automatic pong is replaced by
/// the next one instead of followed by it.
pub const PONG_COALESCE_AT: usize = 64 * 1024;

/// A source of masking keys for the client role.
pub type MaskKeys = Box<dyn FnMut() -> [u8; 4] + Send>;

/// A WebSocket connection after the handshake, for either role.
pub struct Connection {
    role: Role,
    config: Config,
    state: State,
    rules: FrameRules,
    seq: Sequencer,
    rx: Rx,
    /// Bytes received so far (offsets in errors count from here).
    received: u64,
    message: Vec<u8>,
    utf8: Utf8Validator,
    control: Vec<u8>,
    events: VecDeque<Event>,
    out: Vec<u8>,
    out_pos: usize,
    mask_keys: Option<MaskKeys>,
    sending: Option<DataKind>,
    /// `out[start..end]` is an automatic pong nothing has followed and that
    /// is not written yet. Once [`PONG_COALESCE_AT`] bytes wait unwritten,
    /// a newer ping replaces it (section 5.5.3 allows answering only the
    /// most recent ping), so a peer that pings without reading cannot grow
    /// the output; below that every ping gets its pong.
    unsent_pong: Option<(usize, usize)>,
    /// The message being received is compressed (its first frame had RSV1).
    compressed: bool,
    /// Unmasked compressed bytes on their way to the inflater.
    compressed_in: Vec<u8>,
    /// Made on the first compressed message each way: a compressor holds
    /// a few hundred KiB, so a connection that never compresses holds none.
    /// Where a side has no context takeover there is nothing to keep
    /// between its messages, and each is freed after its message.
    inflater: Option<Box<MessageInflater>>,
    deflater: Option<Box<MessageDeflater>>,
    compressed_out: Vec<u8>,
}

impl core::fmt::Debug for Connection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("state", &self.state)
            .field("received", &self.received)
            .field("events", &self.events.len())
            .field("pending_output", &self.pending_output().len())
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A server-side connection.
    pub fn server(config: Config) -> Self {
        Self::new(Role::Server, config, None)
    }

    /// A client-side connection. Each frame it sends is masked with a fresh
    /// key from `mask_keys`, which must be unpredictable (section 5.3: "from
    /// a strong source of entropy").
    pub fn client(config: Config, mask_keys: MaskKeys) -> Self {
        Self::new(Role::Client, config, Some(mask_keys))
    }

    fn new(role: Role, config: Config, mask_keys: Option<MaskKeys>) -> Self {
        let sender = match role {
            Role::Server => Sender::Client,
            Role::Client => Sender::Server,
        };
        Connection {
            role,
            config,
            state: State::Open,
            // No extension is negotiated yet, so every RSV bit is refused.
            // RSV1 only with permessage-deflate; no other extension exists here.
            rules: FrameRules {
                sender,
                allowed_rsv: if config.deflate.is_some() { RSV1 } else { 0 },
                max_frame_size: Some(config.max_frame_size),
            },
            seq: Sequencer::new(Some(config.max_message_size)),
            rx: Rx::Header { buf: [0; MAX_HEADER_LEN], have: 0 },
            received: 0,
            message: Vec::new(),
            utf8: Utf8Validator::new(),
            control: Vec::new(),
            events: VecDeque::new(),
            out: Vec::new(),
            out_pos: 0,
            mask_keys,
            sending: None,
            unsent_pong: None,
            compressed: false,
            compressed_in: Vec::new(),
            inflater: None,
            deflater: None,
            compressed_out: Vec::new(),
        }
    }

    /// This end's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The closing handshake's progress.
    pub fn state(&self) -> State {
        self.state
    }

    /// The limits and behaviour in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Bytes received so far.
    pub fn bytes_received(&self) -> u64 {
        self.received
    }

    /// Feeds bytes received from the peer, in any pieces. Events queue up
    /// for [`Connection::next_event`]; after the peer's close or a violation
    /// further bytes are ignored.
    pub fn receive_data(&mut self, data: &[u8]) {
        let _ = self.receive_until(data, false);
    }

    /// Feeds bytes received from the peer until an event is ready, and
    /// returns how many bytes it took: take the events with
    /// [`Connection::next_event`], then feed the rest. The same events as
    /// [`Connection::receive_data`], but each message can be handled (and
    /// its buffer freed) before the next is decoded, which keeps the event
    /// queue short and the allocator warm when one read holds many
    /// messages.
    pub fn receive_some(&mut self, data: &[u8]) -> usize {
        self.receive_until(data, true)
    }

    /// Feeds bytes until the next event and returns the bytes it took and
    /// the event (as [`Connection::next_event`] would give it, automatic
    /// replies included): the pull-style form of
    /// [`Connection::receive_some`]. Call it again with the rest; `None`
    /// with everything taken means more input is needed. A whole data
    /// frame at the front of `data` goes straight to the caller without
    /// passing through the event queue.
    pub fn read_event(&mut self, data: &[u8]) -> (usize, Option<Event>) {
        if self.events.is_empty() && matches!(self.rx, Rx::Header { have: 0, .. }) {
            if let Decoded::Complete { value, len } = FrameHeader::decode(data) {
                match self.whole_data_frame(&value, len, data) {
                    Ok(Some((end, event))) => return (end, Some(event)),
                    Ok(None) => {}
                    Err(e) => {
                        self.fail(e);
                        return (data.len(), self.next_event());
                    }
                }
            }
        }
        let used = self.receive_some(data);
        (used, self.next_event())
    }

    /// [`Connection::read_event`] without the copy: a whole unfragmented,
    /// uncompressed data frame at the front of `data` is unmasked where it
    /// lies and handed back borrowed from `data`; everything else is read
    /// as [`Connection::read_event`] reads it. The bytes taken are left
    /// unmasked, so record them (a wire log, a tap) before this call.
    pub fn read_event_in_place<'a>(&mut self, data: &'a mut [u8]) -> (usize, Option<EventRef<'a>>) {
        let available = data.len();
        if self.events.is_empty() && matches!(self.rx, Rx::Header { have: 0, .. }) {
            if let Decoded::Complete { value, len } = FrameHeader::decode(data) {
                match self.judge_whole_data_frame(&value, len, data.len()) {
                    Ok(Some((end, kind))) => {
                        let Some(payload) = data.get_mut(len..end) else { return (0, None) };
                        if let Some(key) = value.mask {
                            apply_mask(payload, key, 0);
                        }
                        let start = self.received.saturating_sub(end as u64);
                        let event = match kind {
                            DataKind::Binary => EventRef::Binary(payload),
                            DataKind::Text => match simdutf8::compat::from_utf8(payload) {
                                Ok(text) => EventRef::Text(text),
                                Err(e) => {
                                    // As `read_event`: a failure takes all the input.
                                    self.fail(err(Violation::InvalidUtf8 { offset: e.valid_up_to() as u64 }, start));
                                    return (available, self.next_event().map(EventRef::Event));
                                }
                            },
                        };
                        return (end, Some(event));
                    }
                    Ok(None) => {}
                    Err(e) => {
                        self.fail(e);
                        return (data.len(), self.next_event().map(EventRef::Event));
                    }
                }
            }
        }
        let used = self.receive_some(data);
        (used, self.next_event().map(EventRef::Event))
    }

    fn receive_until(&mut self, data: &[u8], stop_at_event: bool) -> usize {
        match self.receive(data, stop_at_event) {
            Ok(rest) => data.len().saturating_sub(rest),
            Err(e) => {
                self.fail(e);
                data.len()
            }
        }
    }

    /// Stops reading and queues the failure.
    fn fail(&mut self, e: ProtocolError) {
        self.rx = Rx::Done;
        self.events.push_back(Event::Failed(e));
    }

    /// Returns how many bytes of `data` are left unread (only when
    /// `stop_at_event` stopped it).
    fn receive(&mut self, mut data: &[u8], stop_at_event: bool) -> Result<usize, ProtocolError> {
        while !data.is_empty() {
            if stop_at_event && !self.events.is_empty() {
                return Ok(data.len());
            }
            match self.rx {
                Rx::Done => return Ok(0),
                Rx::Header { mut buf, have } => {
                    let (header, used) = if have == 0 {
                        // Fast path: the whole header is in `data`.
                        match FrameHeader::decode(data) {
                            Decoded::Complete { value, len } => (value, len),
                            Decoded::Incomplete { .. } => {
                                // Shorter than a header, so it fits the buffer.
                                let n = data.len().min(MAX_HEADER_LEN);
                                if let (Some(dst), Some(src)) = (buf.get_mut(..n), data.get(..n)) {
                                    dst.copy_from_slice(src);
                                }
                                self.rx = Rx::Header { buf, have: n };
                                self.received = self.received.saturating_add(n as u64);
                                return Ok(0);
                            }
                        }
                    } else {
                        let needed = match FrameHeader::decode(buf.get(..have).unwrap_or_default()) {
                            Decoded::Incomplete { needed } => needed,
                            Decoded::Complete { .. } => 0,
                        };
                        let take = needed.min(data.len());
                        let end = have.saturating_add(take);
                        if let (Some(dst), Some(src)) = (buf.get_mut(have..end), data.get(..take)) {
                            dst.copy_from_slice(src);
                        }
                        data = data.get(take..).unwrap_or_default();
                        self.received = self.received.saturating_add(take as u64);
                        match FrameHeader::decode(buf.get(..end).unwrap_or_default()) {
                            Decoded::Complete { value, .. } => (value, 0),
                            Decoded::Incomplete { .. } => {
                                self.rx = Rx::Header { buf, have: end };
                                continue;
                            }
                        }
                    };
                    if used != 0 {
                        if let Some((consumed, event)) = self.whole_data_frame(&header, used, data)? {
                            self.events.push_back(event);
                            data = data.get(consumed..).unwrap_or_default();
                            continue;
                        }
                    }
                    let start = self.received.saturating_sub(if used == 0 { header.encoded_len() as u64 } else { 0 });
                    data = data.get(used..).unwrap_or_default();
                    self.received = self.received.saturating_add(used as u64);
                    let whole = data.len() as u64 >= header.payload_len;
                    self.on_header(header, start, whole)?;
                }
                Rx::Payload { header, role, remaining, read, start, deferred_utf8 } => {
                    let n = usize::try_from(remaining).unwrap_or(usize::MAX).min(data.len());
                    let (chunk, rest) = data.split_at(n);
                    data = rest;
                    self.received = self.received.saturating_add(n as u64);
                    let phase = (read & 3) as usize;
                    let key = header.mask.unwrap_or_default();
                    if self.compressed && matches!(role, FrameRole::Data { .. }) {
                        self.inflate_piece(chunk, header.mask.map(|k| (k, phase)), role, start)?;
                        let remaining = remaining.saturating_sub(n as u64);
                        let read = read.saturating_add(n as u64);
                        self.rx = Rx::Payload { header, role, remaining, read, start, deferred_utf8 };
                        if remaining == 0 {
                            self.finish_frame(role, start)?;
                        }
                        continue;
                    }
                    let buf = if matches!(role, FrameRole::Control(_)) { &mut self.control } else { &mut self.message };
                    let at = buf.len();
                    buf.extend_from_slice(chunk);
                    let fresh = buf.get_mut(at..).unwrap_or_default();
                    if header.mask.is_some() {
                        apply_mask(fresh, key, phase);
                    }
                    if let FrameRole::Data { kind: DataKind::Text, .. } = role {
                        if !deferred_utf8 {
                            self.utf8
                                .feed(fresh)
                                .map_err(|e| err(Violation::InvalidUtf8 { offset: e.offset }, start))?;
                        }
                    }
                    let remaining = remaining.saturating_sub(n as u64);
                    let read = read.saturating_add(n as u64);
                    self.rx = Rx::Payload { header, role, remaining, read, start, deferred_utf8 };
                    if remaining == 0 {
                        self.finish_frame(role, start)?;
                    }
                }
            }
        }
        Ok(0)
    }

    /// The common case in one step: an unfragmented data frame, no message
    /// in progress, the whole frame in `data` (which starts with its
    /// `header_len`-byte header), no frame events wanted. Judged by the same
    /// rules and sequencer as every other frame; the payload is copied once
    /// into a buffer of its exact size. Returns the frame's length and its
    /// message; `Ok(None)`: not this case, nothing consumed.
    fn whole_data_frame(
        &mut self,
        header: &FrameHeader,
        header_len: usize,
        data: &[u8],
    ) -> Result<Option<(usize, Event)>, ProtocolError> {
        let Some((end, kind)) = self.judge_whole_data_frame(header, header_len, data.len())? else {
            return Ok(None);
        };
        let start = self.received.saturating_sub(end as u64);
        let payload = data.get(header_len..end).unwrap_or_default();
        let mut buf = Vec::with_capacity(payload.len());
        buf.extend_from_slice(payload);
        if let Some(key) = header.mask {
            apply_mask(&mut buf, key, 0);
        }
        let event = match kind {
            DataKind::Binary => Event::Binary(buf),
            DataKind::Text => Event::Text(
                String::from_utf8(buf)
                    .map_err(|e| err(Violation::InvalidUtf8 { offset: e.utf8_error().valid_up_to() as u64 }, start))?,
            ),
        };
        Ok(Some((end, event)))
    }

    /// Whether the frame `header` starts (its header `header_len` bytes, of
    /// `available` at hand) is the one-step case; if so it is judged by the
    /// same rules and sequencer as every other frame and counted as
    /// received, and its end and kind are returned. `Ok(None)`: not this
    /// case, nothing judged.
    fn judge_whole_data_frame(
        &mut self,
        header: &FrameHeader,
        header_len: usize,
        available: usize,
    ) -> Result<Option<(usize, DataKind)>, ProtocolError> {
        if self.config.frame_events || !header.fin || header.rsv[0] || self.seq.in_message().is_some() {
            return Ok(None);
        }
        let kind = match header.opcode {
            OpCode::Text => DataKind::Text,
            OpCode::Binary => DataKind::Binary,
            _ => return Ok(None),
        };
        let Some(end) = usize::try_from(header.payload_len).ok().and_then(|n| n.checked_add(header_len)) else {
            return Ok(None);
        };
        if end > available {
            return Ok(None);
        }
        let start = self.received;
        self.rules.check(header).map_err(|v| err(v, start))?;
        if let (_, Some(v)) = self.seq.next(header) {
            return Err(err(v, start));
        }
        self.received = self.received.saturating_add(end as u64);
        Ok(Some((end, kind)))
    }

    /// Judges a header and gets ready for its payload. `whole`: the entire
    /// payload is already at hand.
    fn on_header(&mut self, header: FrameHeader, start: u64, whole: bool) -> Result<(), ProtocolError> {
        if self.config.frame_events {
            self.events.push_back(Event::Frame { header, offset: start });
        }
        self.rules.check(&header).map_err(|v| err(v, start))?;
        let (role, violation) = self.seq.next(&header);
        if let Some(v) = violation {
            return Err(err(v, start));
        }
        let mut deferred_utf8 = false;
        match role {
            FrameRole::Control(_) => self.control.clear(),
            FrameRole::Data { kind, first, last } => {
                if first {
                    self.message.clear();
                    self.utf8.reset();
                    // The rules refused RSV1 unless deflate was negotiated.
                    self.compressed = header.rsv[0];
                    deferred_utf8 = kind == DataKind::Text && last && whole && !self.compressed;
                }
            }
            // Reserved opcodes and misplaced frames were refused above.
            FrameRole::Ignored => {}
        }
        self.rx = Rx::Payload { header, role, remaining: header.payload_len, read: 0, start, deferred_utf8 };
        if header.payload_len == 0 {
            self.finish_frame(role, start)?;
        }
        Ok(())
    }

    /// Unmasks a piece of a compressed message's payload and inflates it
    /// onto the message (within the message size limit), validating text as
    /// it comes out.
    fn inflate_piece(
        &mut self,
        chunk: &[u8],
        mask: Option<([u8; 4], usize)>,
        role: FrameRole,
        start: u64,
    ) -> Result<(), ProtocolError> {
        self.compressed_in.clear();
        self.compressed_in.extend_from_slice(chunk);
        if let Some((key, phase)) = mask {
            apply_mask(&mut self.compressed_in, key, phase);
        }
        let no_context_takeover = self.peer_no_context_takeover();
        let inflater = self.inflater.get_or_insert_with(|| Box::new(MessageInflater::new(no_context_takeover)));
        let at = self.message.len();
        let inflated = inflater.inflate(&self.compressed_in, &mut self.message, self.config.max_message_size);
        // What came out before any error is checked first: a reader fed
        // smaller pieces would have seen it before the error.
        if let FrameRole::Data { kind: DataKind::Text, .. } = role {
            let fresh = self.message.get(at..).unwrap_or_default();
            self.utf8.feed(fresh).map_err(|e| err(Violation::InvalidUtf8 { offset: e.offset }, start))?;
        }
        inflated.map_err(|e| inflate_err(e, start))
    }

    /// The end of a compressed message: what the sync flush left pending.
    fn inflate_end(&mut self, kind: DataKind, start: u64) -> Result<(), ProtocolError> {
        self.compressed = false;
        let no_context_takeover = self.peer_no_context_takeover();
        let inflater = self.inflater.get_or_insert_with(|| Box::new(MessageInflater::new(no_context_takeover)));
        let at = self.message.len();
        let finished = inflater.finish(&mut self.message, self.config.max_message_size);
        if no_context_takeover {
            self.inflater = None;
        }
        keep_small(&mut self.compressed_in);
        if kind == DataKind::Text {
            let fresh = self.message.get(at..).unwrap_or_default();
            self.utf8.feed(fresh).map_err(|e| err(Violation::InvalidUtf8 { offset: e.offset }, start))?;
        }
        finished.map_err(|e| inflate_err(e, start))
    }

    /// Whether the peer starts each compressed message afresh.
    fn peer_no_context_takeover(&self) -> bool {
        self.config.deflate.is_some_and(|p| match self.role {
            Role::Server => p.client_no_context_takeover,
            Role::Client => p.server_no_context_takeover,
        })
    }

    fn finish_frame(&mut self, role: FrameRole, start: u64) -> Result<(), ProtocolError> {
        self.rx = Rx::Header { buf: [0; MAX_HEADER_LEN], have: 0 };
        match role {
            FrameRole::Control(OpCode::Close) => {
                let (code, reason) = close::parse_close_payload(&self.control).map_err(|v| err(v, start))?;
                let frame = CloseFrame { code, reason: reason.to_string() };
                self.events.push_back(Event::Close(frame));
                self.state = match self.state {
                    State::CloseSent => State::Closed,
                    _ => State::CloseReceived,
                };
                self.rx = Rx::Done;
            }
            FrameRole::Control(OpCode::Ping) => self.events.push_back(Event::Ping(core::mem::take(&mut self.control))),
            FrameRole::Control(OpCode::Pong) => self.events.push_back(Event::Pong(core::mem::take(&mut self.control))),
            FrameRole::Data { kind, last: true, .. } => {
                if self.compressed {
                    self.inflate_end(kind, start)?;
                }
                let payload = core::mem::take(&mut self.message);
                let event = match kind {
                    DataKind::Binary => Event::Binary(payload),
                    DataKind::Text => {
                        self.utf8.finish().map_err(|e| err(Violation::InvalidUtf8 { offset: e.offset }, start))?;
                        let text = String::from_utf8(payload).map_err(|e| {
                            err(Violation::InvalidUtf8 { offset: e.utf8_error().valid_up_to() as u64 }, start)
                        })?;
                        Event::Text(text)
                    }
                };
                self.events.push_back(event);
            }
            _ => {}
        }
        Ok(())
    }

    /// The next event, if any. Taking a ping writes its pong, taking a close
    /// writes the answering close, taking a failure writes the failing close
    /// (each as configured).
    pub fn next_event(&mut self) -> Option<Event> {
        let event = self.events.pop_front()?;
        match &event {
            Event::Ping(payload) if self.config.auto_pong && self.state != State::Closed => {
                if let Some((start, end)) = self.unsent_pong {
                    let backlog = self.out.len().saturating_sub(self.out_pos);
                    if end == self.out.len() && start >= self.out_pos && backlog >= PONG_COALESCE_AT {
                        self.out.truncate(start);
                    }
                }
                let start = self.out.len();
                self.write_frame(OpCode::Pong, true, payload);
                self.unsent_pong = Some((start, self.out.len()));
            }
            Event::Close(frame) if self.config.auto_close && self.state == State::CloseReceived => {
                // Echo the code (section 5.5.1) and the reason, so the peer
                // sees both were read; an empty close gets an empty one.
                self.write_close(frame.code, &frame.reason);
                self.state = State::Closed;
            }
            Event::Failed(e) => {
                if matches!(self.state, State::Open | State::CloseReceived) {
                    let reason = e.violation.to_string();
                    self.write_close(Some(e.close_code()), &reason);
                }
                self.state = State::Closed;
            }
            _ => {}
        }
        Some(event)
    }

    /// Queues a message. Nothing is written when it is refused.
    pub fn send(&mut self, message: Message<'_>) -> Result<(), SendError> {
        match message {
            Message::Text(text) => self.send_whole(OpCode::Text, text.as_bytes()),
            Message::Binary(data) => self.send_whole(OpCode::Binary, data),
            Message::Ping(payload) => self.send_control(OpCode::Ping, payload),
            Message::Pong(payload) => self.send_control(OpCode::Pong, payload),
            Message::Close(code, reason) => {
                if matches!(self.state, State::CloseSent | State::Closed) {
                    return Err(SendError::CloseSent);
                }
                if let Some(code) = code.filter(|c| !c.is_sendable()) {
                    return Err(SendError::InvalidCloseCode { code: code.0 });
                }
                self.write_close(code, reason);
                self.state = if self.state == State::CloseReceived { State::Closed } else { State::CloseSent };
                Ok(())
            }
        }
    }

    /// Queues one frame of a fragmented message: the first with `kind`,
    /// the rest as continuations, the last with `fin`.
    pub fn send_fragment(&mut self, kind: DataKind, payload: &[u8], fin: bool) -> Result<(), SendError> {
        self.check_data_allowed()?;
        let opcode = match (self.sending, kind) {
            (None, DataKind::Text) => OpCode::Text,
            (None, DataKind::Binary) => OpCode::Binary,
            (Some(k), _) if k == kind => OpCode::Continuation,
            (Some(_), _) => return Err(SendError::MessageInProgress),
        };
        self.write_frame(opcode, fin, payload);
        self.sending = if fin { None } else { Some(kind) };
        Ok(())
    }

    /// Ends a fragmented message being sent with an empty final frame, or
    /// says there is none.
    pub fn finish_fragments(&mut self) -> Result<(), SendError> {
        match self.sending {
            Some(kind) => self.send_fragment(kind, &[], true),
            None => Err(SendError::NoMessageInProgress),
        }
    }

    fn check_data_allowed(&self) -> Result<(), SendError> {
        if matches!(self.state, State::CloseSent | State::Closed) {
            return Err(SendError::CloseSent);
        }
        Ok(())
    }

    fn send_whole(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), SendError> {
        self.check_data_allowed()?;
        if self.sending.is_some() {
            return Err(SendError::MessageInProgress);
        }
        if let Some(params) = self.config.deflate.filter(|_| payload.len() >= self.config.compress_min_size) {
            let (bits, no_context_takeover) = match self.role {
                Role::Server => (params.server_max_window_bits, params.server_no_context_takeover),
                Role::Client => (params.client_max_window_bits, params.client_no_context_takeover),
            };
            let level = self.config.compression_level;
            let deflater =
                self.deflater.get_or_insert_with(|| Box::new(MessageDeflater::new(bits, no_context_takeover, level)));
            let mut compressed = core::mem::take(&mut self.compressed_out);
            compressed.clear();
            let done = deflater.compress(payload, &mut compressed).is_ok();
            if no_context_takeover {
                self.deflater = None;
            }
            // Should the library ever refuse, the message goes out as it is.
            if done {
                self.write_frame_rsv1(opcode, true, true, &compressed);
            }
            keep_small(&mut compressed);
            self.compressed_out = compressed;
            if done {
                return Ok(());
            }
        }
        self.write_frame(opcode, true, payload);
        Ok(())
    }

    fn send_control(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), SendError> {
        if self.state == State::Closed {
            return Err(SendError::CloseSent);
        }
        if payload.len() as u64 > MAX_CONTROL_PAYLOAD {
            return Err(SendError::ControlTooLong { len: payload.len() });
        }
        self.write_frame(opcode, true, payload);
        Ok(())
    }

    fn write_close(&mut self, code: Option<CloseCode>, reason: &str) {
        let mut payload = Vec::with_capacity(reason.len().min(close::MAX_REASON_LEN).saturating_add(2));
        close::encode_close_payload(code, reason, &mut payload);
        self.write_frame(OpCode::Close, true, &payload);
    }

    fn write_frame(&mut self, opcode: OpCode, fin: bool, payload: &[u8]) {
        self.write_frame_rsv1(opcode, fin, false, payload);
    }

    fn write_frame_rsv1(&mut self, opcode: OpCode, fin: bool, rsv1: bool, payload: &[u8]) {
        let mask = self.mask_keys.as_mut().map(|next| next());
        let mut header = FrameHeader::new(fin, opcode, mask, payload.len() as u64);
        if rsv1 {
            crate::deflate::mark_compressed(&mut header);
        }
        let mut head = [0u8; MAX_HEADER_LEN];
        // The minimal length form always holds the length.
        let n = header.encode_to(&mut head).unwrap_or(0);
        self.out.reserve(n.saturating_add(payload.len()));
        self.out.extend_from_slice(head.get(..n).unwrap_or_default());
        let at = self.out.len();
        self.out.extend_from_slice(payload);
        if let Some(key) = mask {
            apply_mask(self.out.get_mut(at..).unwrap_or_default(), key, 0);
        }
    }

    /// Bytes waiting to be written to the peer.
    pub fn pending_output(&self) -> &[u8] {
        self.out.get(self.out_pos..).unwrap_or_default()
    }

    /// Marks the first `n` pending bytes as written.
    pub fn consume_output(&mut self, n: usize) {
        self.out_pos = self.out_pos.saturating_add(n).min(self.out.len());
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
            self.unsent_pong = None;
        }
    }

    /// Takes all pending output.
    pub fn take_output(&mut self) -> Vec<u8> {
        let mut out = core::mem::take(&mut self.out);
        out.drain(..self.out_pos.min(out.len()));
        self.out_pos = 0;
        self.unsent_pong = None;
        out
    }
}

fn inflate_err(e: InflateError, offset: u64) -> ProtocolError {
    match e {
        InflateError::Invalid => err(Violation::InvalidDeflate, offset),
        InflateError::TooLarge { max } => err(Violation::InflatedTooLarge { max }, offset),
    }
}

fn err(violation: Violation, offset: u64) -> ProtocolError {
    ProtocolError { violation, offset }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn client_frame(fin: bool, opcode: OpCode, payload: &[u8]) -> Vec<u8> {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let mut out = Vec::new();
        FrameHeader::new(fin, opcode, Some(key), payload.len() as u64).encode(&mut out).unwrap();
        let at = out.len();
        out.extend_from_slice(payload);
        apply_mask(&mut out[at..], key, 0);
        out
    }

    fn events(conn: &mut Connection) -> Vec<Event> {
        core::iter::from_fn(|| conn.next_event()).collect()
    }

    #[test]
    fn server_receives_the_rfc_masked_hello_and_answers_unmasked() {
        let mut c = Connection::server(Config::default());
        c.receive_data(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
        assert_eq!(events(&mut c), [Event::Text("Hello".into())]);
        c.send(Message::Text("Hello")).unwrap();
        assert_eq!(c.take_output(), [0x81, 0x05, b'H', b'e', b'l', b'l', b'o']);
    }

    #[test]
    fn fragments_with_a_ping_between() {
        let mut c = Connection::server(Config::default());
        let mut wire = client_frame(false, OpCode::Text, b"Hel");
        wire.extend(client_frame(true, OpCode::Ping, b"p"));
        wire.extend(client_frame(true, OpCode::Continuation, b"lo"));
        c.receive_data(&wire);
        assert_eq!(events(&mut c), [Event::Ping(b"p".to_vec()), Event::Text("Hello".into())]);
        assert_eq!(c.take_output(), [0x8a, 0x01, b'p']);
    }

    #[test]
    fn unmasked_client_frame_fails_with_1002() {
        let mut c = Connection::server(Config::default());
        c.receive_data(&[0x81, 0x05, b'H', b'e', b'l', b'l', b'o']);
        let ev = events(&mut c);
        assert_eq!(ev, [Event::Failed(ProtocolError { violation: Violation::UnmaskedClientFrame, offset: 0 })]);
        let out = c.take_output();
        assert_eq!(&out[..4], &[0x88, out[1], 0x03, 0xea]);
        assert_eq!(c.state(), State::Closed);
    }

    #[test]
    fn invalid_utf8_fails_before_the_frame_is_complete() {
        let mut c = Connection::server(Config::default());
        let wire = client_frame(true, OpCode::Text, b"ok\xF4\x90\x80\x80 and much more text");
        c.receive_data(&wire[..10]);
        let ev = events(&mut c);
        assert!(
            matches!(ev[..], [Event::Failed(ProtocolError { violation: Violation::InvalidUtf8 { offset: 2 }, .. })]),
            "{ev:?}"
        );
        assert_eq!(c.take_output()[2..4], [0x03, 0xef]);
    }

    #[test]
    fn close_is_echoed_then_closed() {
        let mut c = Connection::server(Config::default());
        c.receive_data(&client_frame(true, OpCode::Close, &[0x0f, 0xa0, b'b', b'y', b'e']));
        c.receive_data(&client_frame(true, OpCode::Ping, b"ignored"));
        assert_eq!(events(&mut c), [Event::Close(CloseFrame { code: Some(CloseCode(4000)), reason: "bye".into() })]);
        assert_eq!(c.take_output(), [0x88, 0x05, 0x0f, 0xa0, b'b', b'y', b'e']);
        assert_eq!(c.state(), State::Closed);
        assert_eq!(c.send(Message::Text("late")), Err(SendError::CloseSent));
    }

    #[test]
    fn client_masks_and_initiates_close() {
        let mut c = Connection::client(Config::default(), Box::new(|| [1, 2, 3, 4]));
        c.send(Message::Binary(&[0, 0, 0, 0])).unwrap();
        c.send(Message::Close(Some(CloseCode::NORMAL), "done")).unwrap();
        assert_eq!(c.state(), State::CloseSent);
        let out = c.take_output();
        assert_eq!(&out[..10], &[0x82, 0x84, 1, 2, 3, 4, 1, 2, 3, 4]);
        // The server's answer completes the handshake.
        c.receive_data(&[0x88, 0x02, 0x03, 0xe8]);
        assert_eq!(events(&mut c), [Event::Close(CloseFrame { code: Some(CloseCode::NORMAL), reason: String::new() })]);
        assert_eq!(c.state(), State::Closed);
        assert!(c.take_output().is_empty());
        // A masked frame from a server is refused.
        let mut c = Connection::client(Config::default(), Box::new(|| [9; 4]));
        c.receive_data(&client_frame(true, OpCode::Text, b"x"));
        assert!(matches!(
            events(&mut c)[..],
            [Event::Failed(ProtocolError { violation: Violation::MaskedServerFrame, .. })]
        ));
    }

    #[test]
    fn limits_fail_with_1009_before_the_payload_arrives() {
        let config = Config { max_frame_size: 10, max_message_size: 15, ..Config::default() };
        let mut c = Connection::server(config);
        c.receive_data(&[0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]);
        assert!(matches!(
            events(&mut c)[..],
            [Event::Failed(ProtocolError { violation: Violation::FrameTooLarge { .. }, .. })]
        ));
        let mut c = Connection::server(config);
        let mut wire = client_frame(false, OpCode::Binary, &[0; 10]);
        wire.extend(client_frame(true, OpCode::Continuation, &[0; 6]));
        c.receive_data(&wire);
        let ev = events(&mut c);
        assert_eq!(
            ev,
            [Event::Failed(ProtocolError { violation: Violation::MessageTooLarge { len: 16, max: 15 }, offset: 16 })]
        );
        assert_eq!(c.take_output()[2..4], [0x03, 0xf1]);
    }

    #[test]
    fn every_ping_gets_a_pong_until_output_piles_up() {
        let mut c = Connection::server(Config::default());
        for i in 0..10u32 {
            c.receive_data(&client_frame(true, OpCode::Ping, &i.to_be_bytes()));
            while c.next_event().is_some() {}
        }
        assert_eq!(c.pending_output().len(), 10 * 6);
        // A peer that pings and never reads: unwritten pongs stop growing.
        let big = vec![b'x'; PONG_COALESCE_AT];
        c.send(Message::Binary(&big)).unwrap();
        for i in 0..100_000u32 {
            c.receive_data(&client_frame(true, OpCode::Ping, &i.to_be_bytes()));
            while c.next_event().is_some() {}
        }
        let out = c.take_output();
        assert_eq!(out.len(), 10 * 6 + 10 + PONG_COALESCE_AT + 6);
        assert_eq!(out[out.len() - 6..], [0x8a, 0x04, 0x00, 0x01, 0x86, 0x9f]);
    }

    #[test]
    fn send_rules() {
        let mut c = Connection::server(Config::default());
        assert_eq!(c.send(Message::Ping(&[0; 126])), Err(SendError::ControlTooLong { len: 126 }));
        assert_eq!(c.send(Message::Close(Some(CloseCode(1005)), "")), Err(SendError::InvalidCloseCode { code: 1005 }));
        assert_eq!(c.finish_fragments(), Err(SendError::NoMessageInProgress));
        c.send_fragment(DataKind::Text, b"a", false).unwrap();
        assert_eq!(c.send(Message::Text("b")), Err(SendError::MessageInProgress));
        assert_eq!(c.send_fragment(DataKind::Binary, b"b", true), Err(SendError::MessageInProgress));
        c.send(Message::Ping(b"")).unwrap();
        c.finish_fragments().unwrap();
        assert_eq!(c.take_output(), vec![0x01, 0x01, b'a', 0x89, 0x00, 0x80, 0x00]);
    }

    // ---- permessage-deflate (RFC 7692) ----

    fn with_deflate() -> Config {
        Config { deflate: Some(DeflateParams::default()), ..Config::default() }
    }

    /// A masked client frame with RSV1 as given.
    fn client_frame_rsv1(fin: bool, opcode: OpCode, rsv1: bool, payload: &[u8]) -> Vec<u8> {
        let mut f = client_frame(fin, opcode, payload);
        if rsv1 {
            f[0] |= 0x40;
        }
        f
    }

    fn hello_compressed() -> Vec<u8> {
        // RFC 7692 section 7.2.3.1.
        vec![0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
    }

    fn failure(conn: &mut Connection) -> (Violation, u16) {
        match events(conn).pop() {
            Some(Event::Failed(e)) => (e.violation, e.close_code().0),
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn compressed_messages_whole_fragmented_and_with_context() {
        let mut c = Connection::server(with_deflate());
        c.receive_data(&client_frame_rsv1(true, OpCode::Text, true, &hello_compressed()));
        // Fragmented: RSV1 on the first frame only (section 6.1), a ping between.
        let z = hello_compressed();
        c.receive_data(&client_frame_rsv1(false, OpCode::Text, true, &z[..3]));
        c.receive_data(&client_frame(true, OpCode::Ping, b"p"));
        c.receive_data(&client_frame(true, OpCode::Continuation, &z[3..]));
        // Section 7.2.3.2: the same message again, referring to the first.
        c.receive_data(&client_frame_rsv1(true, OpCode::Binary, true, &[0xf2, 0x00, 0x11, 0x00, 0x00]));
        // An uncompressed message between compressed ones.
        c.receive_data(&client_frame(true, OpCode::Text, b"plain"));
        assert_eq!(
            events(&mut c),
            [
                Event::Text("Hello".into()),
                Event::Ping(b"p".to_vec()),
                Event::Text("Hello".into()),
                Event::Binary(b"Hello".to_vec()),
                Event::Text("plain".into()),
            ]
        );
    }

    #[test]
    fn rsv1_rules() {
        let cases: [(Config, Vec<u8>, Violation, u16); 4] = [
            (
                Config::default(),
                client_frame_rsv1(true, OpCode::Text, true, &hello_compressed()),
                Violation::ReservedBits { bits: 0b100 },
                1002,
            ),
            (
                with_deflate(),
                client_frame_rsv1(true, OpCode::Ping, true, b""),
                Violation::ReservedBits { bits: 0b100 },
                1002,
            ),
            (
                with_deflate(),
                [
                    client_frame_rsv1(false, OpCode::Text, true, &[0xf2]),
                    client_frame_rsv1(true, OpCode::Continuation, true, &[0x48]),
                ]
                .concat(),
                Violation::CompressedContinuation,
                1002,
            ),
            (
                with_deflate(),
                client_frame_rsv1(true, OpCode::Binary, true, &[0xff, 0xff]),
                Violation::InvalidDeflate,
                1007,
            ),
        ];
        for (config, wire, violation, code) in cases {
            let mut c = Connection::server(config);
            c.receive_data(&wire);
            assert_eq!(failure(&mut c), (violation, code));
        }
    }

    #[test]
    fn compressed_text_is_utf8_checked_after_inflating() {
        let mut d = MessageDeflater::new(15, false, 6);
        let mut z = Vec::new();
        d.compress(b"ok \xff", &mut z).unwrap();
        let mut c = Connection::server(with_deflate());
        c.receive_data(&client_frame_rsv1(true, OpCode::Text, true, &z));
        assert_eq!(failure(&mut c), (Violation::InvalidUtf8 { offset: 3 }, 1007));
    }

    #[test]
    fn a_deflate_bomb_fails_with_1009_before_it_is_inflated() {
        let mut bomb = Vec::new();
        MessageDeflater::new(15, false, 9).compress(&vec![b'a'; 8 << 20], &mut bomb).unwrap();
        assert!(bomb.len() < 20_000);
        let config = Config { max_message_size: 1 << 20, ..with_deflate() };
        let mut c = Connection::server(config);
        c.receive_data(&client_frame_rsv1(true, OpCode::Text, true, &bomb));
        assert_eq!(failure(&mut c), (Violation::InflatedTooLarge { max: 1 << 20 }, 1009));
    }

    #[test]
    fn a_broken_compressed_stream_fails_the_same_however_it_is_split() {
        // Found by the connection fuzz target: whole, the inflate error came
        // first; split, the invalid UTF-8 inflated before it.
        let data = [65u8, 43, 154, 133, 150, 0, 0, 0, 3, 71, 136, 2, 0, 128, 0, 71];
        let config = Config {
            max_frame_size: 64,
            max_message_size: 100,
            deflate: Some(DeflateParams::default()),
            ..Config::default()
        };
        for client in [false, true] {
            let make = || {
                if client {
                    Connection::client(config, Box::new(|| [0x11, 0x22, 0x33, 0x44]))
                } else {
                    Connection::server(config)
                }
            };
            let mut whole = make();
            whole.receive_data(&data);
            let whole = events(&mut whole);
            for split in 1..data.len() {
                let mut c = make();
                c.receive_data(&data[..split]);
                c.receive_data(&data[split..]);
                assert_eq!(events(&mut c), whole, "client {client}, split at {split}");
            }
        }
    }

    #[test]
    fn both_roles_compress_what_they_send_and_read_each_other() {
        for params in [
            DeflateParams::default(),
            DeflateParams {
                server_no_context_takeover: true,
                client_no_context_takeover: true,
                server_max_window_bits: 9,
                client_max_window_bits: 10,
            },
        ] {
            let config = Config { deflate: Some(params), ..Config::default() };
            let mut server = Connection::server(config);
            let mut n = 0u8;
            let mut client = Connection::client(
                config,
                Box::new(move || {
                    n = n.wrapping_add(1);
                    [n, 2, 3, 4]
                }),
            );
            let long = "a message long enough to be compressed, a message long enough".repeat(20);
            for text in [long.as_str(), "short", long.as_str()] {
                client.send(Message::Text(text)).unwrap();
                let wire = client.take_output();
                assert_eq!(wire[0] & 0x40 != 0, text.len() >= 32, "RSV1 on {text:?}");
                server.receive_data(&wire);
                assert_eq!(events(&mut server), [Event::Text(text.into())]);
                server.send(Message::Binary(text.as_bytes())).unwrap();
                let wire = server.take_output();
                if text.len() >= 32 {
                    assert!(wire.len() < text.len() / 4, "{} -> {}", text.len(), wire.len());
                }
                client.receive_data(&wire);
                assert_eq!(events(&mut client), [Event::Binary(text.as_bytes().to_vec())]);
                // Without context takeover nothing is kept between messages:
                // the compressors are freed after each (a few hundred KiB).
                if params.server_no_context_takeover {
                    assert!(server.deflater.is_none() && server.inflater.is_none());
                    assert!(client.deflater.is_none() && client.inflater.is_none());
                } else if text.len() >= 32 {
                    assert!(server.deflater.is_some() && server.inflater.is_some());
                }
            }
        }
    }
}
