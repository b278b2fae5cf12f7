//! The frame stream coming in: headers collected from any piece of the
//! stream, each judged by [`FrameRules`](crate::rules::FrameRules) and the
//! [`Sequencer`](crate::rules::Sequencer) before its payload is read;
//! payloads unmasked and judged as they arrive (section 8.1: "as soon as").
//!
//! The common case takes one step: an unfragmented, uncompressed data frame
//! whose bytes are all at hand becomes its message at once, judged by the
//! same rules, copied once (or not at all, in place). Every entry point
//! decodes a header once and hands it on.

use super::{Connection, Event, EventRef, State};
use crate::Decoded;
use crate::frame::{FrameHeader, MAX_HEADER_LEN, OpCode};
use crate::mask::apply_mask;
use crate::message::{text_from_utf8, text_in_place};
use crate::rules::{DataKind, FramePlace, parse_close_payload};
use crate::violation::{ProtocolError, Violation};
use alloc::string::ToString;
use alloc::vec::Vec;

/// Where the receiver is inside the frame stream.
#[derive(Clone, Copy, Debug)]
pub(super) enum Rx {
    /// Collecting a header that arrived in pieces (`have` bytes so far).
    Header { buf: [u8; MAX_HEADER_LEN], have: usize },
    /// Reading the payload of `header`.
    Payload {
        header: FrameHeader,
        place: FramePlace,
        remaining: u64,
        /// Payload bytes read so far (their count mod 4 is the mask phase).
        read: u64,
        /// Offset of the frame in the stream.
        start: u64,
    },
    /// After the peer's close or a failure: input is ignored.
    Done,
}

impl Rx {
    pub(super) const fn start() -> Rx {
        Rx::Header { buf: [0; MAX_HEADER_LEN], have: 0 }
    }
}

/// A whole unfragmented, uncompressed data frame at the front of the input,
/// already judged and counted as received.
struct WholeFrame {
    kind: DataKind,
    mask: Option<[u8; 4]>,
    /// Where its payload starts and ends in the input.
    payload_at: usize,
    end: usize,
    /// Its offset in the stream.
    start: u64,
}

/// What the front of the input held.
enum Front {
    /// The one-step case.
    Whole(WholeFrame),
    /// A header, judged and taken (`n` bytes); its payload follows.
    Started(usize),
    /// The header broke a rule: the connection failed.
    Failed,
    /// Not at a frame boundary, events waiting, or no whole header.
    Other,
}

fn err(violation: Violation, offset: u64) -> ProtocolError {
    ProtocolError { violation, offset }
}

impl Connection {
    /// Feeds bytes received from the peer, in any pieces. Events queue up
    /// for [`Connection::next_event`]; after the peer's close or a violation
    /// further bytes are ignored. (The page and most callers read this way.)
    pub fn receive_data(&mut self, data: &[u8]) {
        let _ = self.receive(data, false);
    }

    /// Feeds bytes until the next event and returns the bytes it took and
    /// the event (as [`Connection::next_event`] would give it, automatic
    /// replies included); call it again with the rest. `None` with
    /// everything taken means more input is needed. One message is decoded
    /// at a time, so each can be handled and freed before the next: the
    /// form for a caller that owns no buffer it may unmask in (the codec
    /// benchmark compares it with tungstenite's reader).
    pub fn read_event(&mut self, data: &[u8]) -> (usize, Option<Event>) {
        let taken = match self.front(data) {
            Front::Whole(w) => {
                return match owned(&w, data) {
                    Ok(event) => (w.end, Some(event)),
                    Err(v) => {
                        self.fail(err(v, w.start));
                        (data.len(), self.next_event())
                    }
                };
            }
            Front::Failed => return (data.len(), self.next_event()),
            Front::Started(n) => n,
            Front::Other => 0,
        };
        let used = taken.saturating_add(self.receive(data.get(taken..).unwrap_or_default(), true));
        (used, self.next_event())
    }

    /// [`Connection::read_event`] without the copy: a whole unfragmented,
    /// uncompressed data frame at the front of `data` is unmasked where it
    /// lies and handed back borrowed from `data`; everything else is read
    /// as [`Connection::read_event`] reads it. The bytes taken are left
    /// unmasked, so record them (a wire log, a tap) before this call. (The
    /// server's echo reads this way.)
    pub fn read_event_in_place<'a>(&mut self, data: &'a mut [u8]) -> (usize, Option<EventRef<'a>>) {
        let available = data.len();
        let taken = match self.front(data) {
            Front::Whole(w) => {
                let Some(payload) = data.get_mut(w.payload_at..w.end) else { return (0, None) };
                if let Some(key) = w.mask {
                    apply_mask(payload, key, 0);
                }
                let event = match w.kind {
                    DataKind::Binary => EventRef::Binary(payload),
                    DataKind::Text => match text_in_place(payload) {
                        Ok(text) => EventRef::Text(text),
                        Err(v) => {
                            // As `read_event`: a failure takes all the input.
                            self.fail(err(v, w.start));
                            return (available, self.next_event().map(EventRef::Event));
                        }
                    },
                };
                return (w.end, Some(event));
            }
            Front::Failed => return (available, self.next_event().map(EventRef::Event)),
            Front::Started(n) => n,
            Front::Other => 0,
        };
        let used = taken.saturating_add(self.receive(data.get(taken..).unwrap_or_default(), true));
        (used, self.next_event().map(EventRef::Event))
    }

    /// Stops reading and queues the failure.
    fn fail(&mut self, e: ProtocolError) {
        self.rx = Rx::Done;
        self.events.push_back(Event::Failed(e));
    }

    /// At a frame boundary with no event waiting, decodes the header at the
    /// front of `data` and begins its frame.
    fn front(&mut self, data: &[u8]) -> Front {
        if !self.events.is_empty() || !matches!(self.rx, Rx::Header { have: 0, .. }) {
            return Front::Other;
        }
        let Decoded::Complete { value, len } = FrameHeader::decode(data) else { return Front::Other };
        match self.begin_frame(value, len, data.len()) {
            Ok(front) => front,
            Err(e) => {
                self.fail(e);
                Front::Failed
            }
        }
    }

    /// Judges a header whose `header_len` bytes start the `available` at
    /// hand, and either takes the whole frame in one step or gets ready for
    /// its payload.
    fn begin_frame(
        &mut self,
        header: FrameHeader,
        header_len: usize,
        available: usize,
    ) -> Result<Front, ProtocolError> {
        let start = self.received;
        let whole = whole_kind(&header).and_then(|kind| {
            let end = usize::try_from(header.payload_len).ok()?.checked_add(header_len)?;
            (end <= available).then_some((kind, end))
        });
        if let Some((kind, end)) = whole.filter(|_| self.seq.in_message().is_none()) {
            self.rules.check(&header).map_err(|v| err(v, start))?;
            if let (_, Some(v)) = self.seq.next(&header) {
                return Err(err(v, start));
            }
            self.received = self.received.saturating_add(end as u64);
            return Ok(Front::Whole(WholeFrame { kind, mask: header.mask, payload_at: header_len, end, start }));
        }
        self.received = self.received.saturating_add(header_len as u64);
        self.on_header(header, start)?;
        Ok(Front::Started(header_len))
    }

    /// Reads `data` until it is used up or, with `stop_at_event`, until an
    /// event is ready. Returns the bytes taken (all of them after a failure).
    fn receive(&mut self, data: &[u8], stop_at_event: bool) -> usize {
        let mut rest = data;
        while !rest.is_empty() {
            if stop_at_event && !self.events.is_empty() {
                break;
            }
            let step = match self.rx {
                Rx::Done => return data.len(),
                Rx::Header { have: 0, .. } => self.frame_at(rest),
                Rx::Header { buf, have } => self.header_piece(buf, have, rest),
                Rx::Payload { .. } => self.payload_piece(rest),
            };
            match step {
                Ok(n) => rest = rest.get(n..).unwrap_or_default(),
                Err(e) => {
                    self.fail(e);
                    return data.len();
                }
            }
        }
        data.len().saturating_sub(rest.len())
    }

    /// A frame starts at the front of `data`.
    fn frame_at(&mut self, data: &[u8]) -> Result<usize, ProtocolError> {
        match FrameHeader::decode(data) {
            Decoded::Complete { value, len } => match self.begin_frame(value, len, data.len())? {
                Front::Whole(w) => {
                    let event = owned(&w, data).map_err(|v| err(v, w.start))?;
                    self.events.push_back(event);
                    Ok(w.end)
                }
                Front::Started(n) => Ok(n),
                Front::Failed | Front::Other => Ok(0),
            },
            Decoded::Incomplete { .. } => {
                // Shorter than a header, so it fits the buffer.
                let n = data.len().min(MAX_HEADER_LEN);
                let mut buf = [0; MAX_HEADER_LEN];
                if let (Some(dst), Some(src)) = (buf.get_mut(..n), data.get(..n)) {
                    dst.copy_from_slice(src);
                }
                self.rx = Rx::Header { buf, have: n };
                self.received = self.received.saturating_add(n as u64);
                Ok(n)
            }
        }
    }

    /// More bytes of a header that arrived in pieces.
    fn header_piece(
        &mut self,
        mut buf: [u8; MAX_HEADER_LEN],
        have: usize,
        data: &[u8],
    ) -> Result<usize, ProtocolError> {
        let needed = match FrameHeader::decode(buf.get(..have).unwrap_or_default()) {
            Decoded::Incomplete { needed } => needed,
            Decoded::Complete { .. } => 0,
        };
        let take = needed.min(data.len());
        let end = have.saturating_add(take);
        if let (Some(dst), Some(src)) = (buf.get_mut(have..end), data.get(..take)) {
            dst.copy_from_slice(src);
        }
        self.received = self.received.saturating_add(take as u64);
        match FrameHeader::decode(buf.get(..end).unwrap_or_default()) {
            Decoded::Complete { value, len } => {
                let start = self.received.saturating_sub(len as u64);
                self.on_header(value, start)?;
            }
            Decoded::Incomplete { .. } => self.rx = Rx::Header { buf, have: end },
        }
        Ok(take)
    }

    /// Judges a header and gets ready for its payload.
    fn on_header(&mut self, header: FrameHeader, start: u64) -> Result<(), ProtocolError> {
        self.rules.check(&header).map_err(|v| err(v, start))?;
        let (place, violation) = self.seq.next(&header);
        if let Some(v) = violation {
            return Err(err(v, start));
        }
        match place {
            FramePlace::Control(_) => self.control.clear(),
            FramePlace::Data { kind, first: true, .. } => {
                self.message.clear();
                self.assembler.start(kind, header.rsv[0]);
            }
            // Reserved opcodes and misplaced frames were refused above.
            FramePlace::Data { .. } | FramePlace::Ignored => {}
        }
        self.rx = Rx::Payload { header, place, remaining: header.payload_len, read: 0, start };
        if header.payload_len == 0 {
            self.finish_frame(place, start)?;
        }
        Ok(())
    }

    /// The next piece of the current frame's payload.
    fn payload_piece(&mut self, data: &[u8]) -> Result<usize, ProtocolError> {
        let Rx::Payload { header, place, remaining, read, start } = self.rx else { return Ok(0) };
        let n = usize::try_from(remaining).unwrap_or(usize::MAX).min(data.len());
        let chunk = data.get(..n).unwrap_or_default();
        self.received = self.received.saturating_add(n as u64);
        let mask = header.mask.map(|k| (k, (read & 3) as usize));
        match place {
            FramePlace::Data { .. } => {
                let mut first = None;
                self.assembler.push(chunk, mask, &mut self.message, &mut |v| {
                    first.get_or_insert(v);
                });
                if let Some(v) = first {
                    return Err(err(v, start));
                }
            }
            FramePlace::Control(_) => {
                let at = self.control.len();
                self.control.extend_from_slice(chunk);
                if let (Some((key, phase)), Some(fresh)) = (mask, self.control.get_mut(at..)) {
                    apply_mask(fresh, key, phase);
                }
            }
            FramePlace::Ignored => {}
        }
        let remaining = remaining.saturating_sub(n as u64);
        self.rx = Rx::Payload { header, place, remaining, read: read.saturating_add(n as u64), start };
        if remaining == 0 {
            self.finish_frame(place, start)?;
        }
        Ok(n)
    }

    /// A frame's payload is complete: queue what it finished.
    fn finish_frame(&mut self, place: FramePlace, start: u64) -> Result<(), ProtocolError> {
        self.rx = Rx::start();
        match place {
            FramePlace::Control(OpCode::Close) => {
                let (code, reason) = parse_close_payload(&self.control).map_err(|v| err(v, start))?;
                let event = Event::Close(crate::CloseFrame { code, reason: reason.to_string() });
                self.events.push_back(event);
                self.state = match self.state {
                    State::CloseSent => State::Closed,
                    _ => State::CloseReceived,
                };
                self.rx = Rx::Done;
            }
            FramePlace::Control(OpCode::Ping) => self.events.push_back(Event::Ping(core::mem::take(&mut self.control))),
            FramePlace::Control(OpCode::Pong) => self.events.push_back(Event::Pong(core::mem::take(&mut self.control))),
            FramePlace::Data { kind, last: true, .. } => {
                let mut first = None;
                self.assembler.finish(&mut self.message, &mut |v| {
                    first.get_or_insert(v);
                });
                if let Some(v) = first {
                    return Err(err(v, start));
                }
                let payload = core::mem::take(&mut self.message);
                let event = match kind {
                    DataKind::Binary => Event::Binary(payload),
                    DataKind::Text => Event::Text(text_from_utf8(payload).map_err(|v| err(v, start))?),
                };
                self.events.push_back(event);
            }
            _ => {}
        }
        Ok(())
    }
}

/// The kind of a data frame that can be a whole message in one step: FIN
/// set, no RSV1 (a compressed message is inflated piece by piece).
fn whole_kind(header: &FrameHeader) -> Option<DataKind> {
    if !header.fin || header.rsv[0] {
        return None;
    }
    match header.opcode {
        OpCode::Text => Some(DataKind::Text),
        OpCode::Binary => Some(DataKind::Binary),
        _ => None,
    }
}

/// A whole frame's message, copied once into a buffer of its exact size.
fn owned(w: &WholeFrame, data: &[u8]) -> Result<Event, Violation> {
    let payload = data.get(w.payload_at..w.end).unwrap_or_default();
    let mut buf = Vec::with_capacity(payload.len());
    buf.extend_from_slice(payload);
    if let Some(key) = w.mask {
        apply_mask(&mut buf, key, 0);
    }
    Ok(match w.kind {
        DataKind::Binary => Event::Binary(buf),
        DataKind::Text => Event::Text(text_from_utf8(buf)?),
    })
}
