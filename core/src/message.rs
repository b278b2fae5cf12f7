//! One data message being received: its kind, its text's UTF-8 state and,
//! when it is compressed, its inflater. The strict connection and the
//! collecting judges drive the same assembler, so they find the same
//! violations in the same order.
//!
//! The order is the one a reader fed the smallest pieces would see: what a
//! piece inflates to is checked as UTF-8 before an inflate error in the same
//! piece is reported, and the end of a message (the sync flush's trailer put
//! back, an unfinished character) is judged after its last piece.

use crate::deflate::{InflateError, MessageInflater, SenderParams};
use crate::mask::apply_mask;
use crate::rules::DataKind;
use crate::utf8::Utf8Validator;
use crate::violation::Violation;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

/// Scratch buffers keep their room between messages, up to a point: one
/// large message must not pin its size for the connection's life.
pub(crate) const SCRATCH_KEEP: usize = 64 * 1024;

/// `buf` emptied, and freed if one large message grew it.
pub(crate) fn keep_small(buf: &mut Vec<u8>) {
    buf.clear();
    if buf.capacity() > SCRATCH_KEEP {
        *buf = Vec::new();
    }
}

/// `payload` as the text of a whole message (section 8.1).
pub fn text_from_utf8(payload: Vec<u8>) -> Result<String, Violation> {
    String::from_utf8(payload).map_err(|e| Violation::InvalidUtf8 { offset: e.utf8_error().valid_up_to() as u64 })
}

/// `payload` borrowed as the text of a whole message (section 8.1).
pub fn text_in_place(payload: &[u8]) -> Result<&str, Violation> {
    simdutf8::compat::from_utf8(payload).map_err(|e| Violation::InvalidUtf8 { offset: e.valid_up_to() as u64 })
}

/// A masked piece of payload: the key and how many bytes of the frame's
/// payload came before it (the mask's phase).
pub type Masked = Option<([u8; 4], usize)>;

/// The message layer's receiving half for one direction: checks and joins
/// the pieces of one data message after another.
pub struct MessageAssembler {
    /// The sender's permessage-deflate parameters, if agreed.
    deflate: Option<SenderParams>,
    /// Most bytes a compressed message may inflate to.
    max_size: u64,
    kind: DataKind,
    compressed: bool,
    utf8: Utf8Validator,
    /// The text already failed: later pieces are joined, not judged again.
    utf8_failed: bool,
    /// The compressed stream already failed: later pieces are skipped.
    inflate_failed: bool,
    /// Made on the first compressed message: an inflater holds tens of
    /// KiB. Freed after each message where the sender has no context
    /// takeover (nothing is kept between its messages).
    inflater: Option<Box<MessageInflater>>,
    /// Unmasked compressed bytes on their way to the inflater.
    scratch: Vec<u8>,
    /// Bytes the message has inflated to so far, wherever the caller keeps
    /// them (the limit is on this, not on what the caller holds).
    inflated: u64,
    /// The inflater keeps its history, so it can be parked.
    parkable: bool,
}

impl core::fmt::Debug for MessageAssembler {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MessageAssembler")
            .field("kind", &self.kind)
            .field("compressed", &self.compressed)
            .finish_non_exhaustive()
    }
}

/// An inflater for a sender with these parameters: its history as long as
/// the window it agreed to.
fn new_inflater(deflate: Option<SenderParams>, parkable: bool) -> Box<MessageInflater> {
    let (bits, nct) =
        deflate.map_or((crate::deflate::MAX_WINDOW_BITS, false), |d| (d.max_window_bits, d.no_context_takeover));
    let inflater = MessageInflater::with_window(bits, nct);
    Box::new(if parkable { inflater.parkable() } else { inflater })
}

impl MessageAssembler {
    /// An assembler for messages from a sender with these permessage-deflate
    /// parameters (none: not agreed), inflating each to at most `max_size`.
    pub fn new(deflate: Option<SenderParams>, max_size: u64) -> Self {
        MessageAssembler {
            deflate,
            max_size,
            kind: DataKind::Binary,
            compressed: false,
            utf8: Utf8Validator::new(),
            utf8_failed: false,
            inflate_failed: false,
            inflater: None,
            scratch: Vec::new(),
            inflated: 0,
            parkable: false,
        }
    }

    /// Whether its inflater keeps the last window of text, so that
    /// [`MessageAssembler::park`] can free the library's state with context
    /// takeover ([`MessageInflater::parkable`]).
    pub fn parkable(mut self, parkable: bool) -> Self {
        self.parkable = parkable;
        self
    }

    /// Starts a message of `kind` whose first frame had RSV1 as given
    /// (compressed only where permessage-deflate was agreed; the frame rules
    /// refuse RSV1 otherwise).
    pub fn start(&mut self, kind: DataKind, rsv1: bool) {
        self.kind = kind;
        self.compressed = rsv1 && self.deflate.is_some();
        self.utf8.reset();
        self.utf8_failed = false;
        self.inflate_failed = false;
        self.inflated = 0;
    }

    /// Whether the message being received is compressed.
    pub const fn is_compressed(&self) -> bool {
        self.compressed
    }

    /// Unmasks the next piece of the message's payload and appends it to
    /// `out` (inflated, if compressed), calling `found` with each violation
    /// in the order a reader would meet them.
    pub fn push(&mut self, piece: &[u8], mask: Masked, out: &mut Vec<u8>, found: &mut impl FnMut(Violation)) {
        if !self.compressed {
            let at = out.len();
            out.extend_from_slice(piece);
            let fresh = out.get_mut(at..).unwrap_or_default();
            if let Some((key, phase)) = mask {
                apply_mask(fresh, key, phase);
            }
            self.check_text(fresh, found);
            return;
        }
        if self.inflate_failed {
            return;
        }
        self.scratch.clear();
        self.scratch.extend_from_slice(piece);
        if let Some((key, phase)) = mask {
            apply_mask(&mut self.scratch, key, phase);
        }
        let (deflate, parkable) = (self.deflate, self.parkable);
        let inflater = self.inflater.get_or_insert_with(|| new_inflater(deflate, parkable));
        let at = out.len();
        let limit = (at as u64).saturating_add(self.max_size.saturating_sub(self.inflated));
        let inflated = inflater.inflate(&self.scratch, out, limit);
        self.inflated = self.inflated.saturating_add(out.len().saturating_sub(at) as u64);
        self.check_text(out.get(at..).unwrap_or_default(), found);
        if let Err(e) = inflated {
            self.inflate_failed(e, found);
        }
    }

    /// Ends the message after its last piece: what the sync flush left
    /// pending is inflated onto `out` (RFC 7692 section 7.2.2), and text
    /// must not end inside a character.
    pub fn finish(&mut self, out: &mut Vec<u8>, found: &mut impl FnMut(Violation)) {
        let mut ended = true;
        if self.compressed && !self.inflate_failed {
            // Finished even after a UTF-8 failure: the end puts the trailer
            // back and resets the window as agreed, so the next message
            // reads right.
            let no_context_takeover = self.deflate.is_some_and(|d| d.no_context_takeover);
            let (deflate, parkable) = (self.deflate, self.parkable);
            let inflater = self.inflater.get_or_insert_with(|| new_inflater(deflate, parkable));
            let at = out.len();
            let limit = (at as u64).saturating_add(self.max_size.saturating_sub(self.inflated));
            let finished = inflater.finish(out, limit);
            self.inflated = self.inflated.saturating_add(out.len().saturating_sub(at) as u64);
            if no_context_takeover {
                self.inflater = None;
            }
            self.check_text(out.get(at..).unwrap_or_default(), found);
            if let Err(e) = finished {
                ended = false;
                self.inflate_failed(e, found);
            }
        }
        keep_small(&mut self.scratch);
        if ended && self.kind == DataKind::Text && !self.utf8_failed {
            if let Err(e) = self.utf8.finish() {
                self.utf8_failed = true;
                found(e.into());
            }
        }
        self.compressed = false;
    }

    fn check_text(&mut self, fresh: &[u8], found: &mut impl FnMut(Violation)) {
        if self.kind == DataKind::Text && !self.utf8_failed {
            if let Err(e) = self.utf8.feed(fresh) {
                self.utf8_failed = true;
                found(e.into());
            }
        }
    }

    /// The one mapping of inflate errors to violations (RFC 7692 section
    /// 7.2.2; the limit is the message's, section 10.4 of RFC 6455).
    fn inflate_failed(&mut self, e: InflateError, found: &mut impl FnMut(Violation)) {
        self.inflate_failed = true;
        // The window is lost with the stream: later messages start afresh.
        self.inflater = None;
        found(match e {
            InflateError::Invalid => Violation::InvalidDeflate,
            InflateError::TooLarge { .. } => Violation::InflatedTooLarge { max: self.max_size },
        });
    }

    /// Frees the inflater's library state between messages, keeping the
    /// history the sender may still refer to ([`MessageInflater::park`]);
    /// nothing while a compressed message is being received.
    pub fn park(&mut self) {
        if !self.compressed {
            if let Some(inflater) = &mut self.inflater {
                inflater.park();
            }
        }
    }

    /// Whether the inflater's library state is held (parking would free it).
    pub fn inflater_live(&self) -> bool {
        self.inflater.as_ref().is_some_and(|i| i.is_live())
    }

    /// Whether an inflater is held (for tests of the memory promise).
    #[cfg(test)]
    pub(crate) fn holds_inflater(&self) -> bool {
        self.inflater.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deflate::MessageDeflater;
    use alloc::vec;

    fn run(a: &mut MessageAssembler, kind: DataKind, rsv1: bool, pieces: &[&[u8]]) -> (Vec<u8>, Vec<Violation>) {
        let mut out = Vec::new();
        let mut found = Vec::new();
        a.start(kind, rsv1);
        for p in pieces {
            a.push(p, None, &mut out, &mut |v| found.push(v));
        }
        a.finish(&mut out, &mut |v| found.push(v));
        (out, found)
    }

    #[test]
    fn text_split_inside_a_character_is_judged_at_its_end() {
        let mut a = MessageAssembler::new(None, 100);
        assert_eq!(run(&mut a, DataKind::Text, false, &[b"\xce", b"\xba"]), (vec![0xce, 0xba], vec![]));
        let (_, found) = run(&mut a, DataKind::Text, false, &[b"ok\xce"]);
        assert_eq!(found, [Violation::InvalidUtf8 { offset: 2 }]);
        let (_, found) = run(&mut a, DataKind::Binary, false, &[b"\xff"]);
        assert!(found.is_empty());
    }

    #[test]
    fn masked_pieces_are_unmasked_at_their_phase() {
        let key = [1, 2, 3, 4];
        let mut wire = b"Hello".to_vec();
        apply_mask(&mut wire, key, 0);
        let mut a = MessageAssembler::new(None, 100);
        a.start(DataKind::Text, false);
        let mut out = Vec::new();
        let mut found = Vec::new();
        a.push(&wire[..3], Some((key, 0)), &mut out, &mut |v| found.push(v));
        a.push(&wire[3..], Some((key, 3)), &mut out, &mut |v| found.push(v));
        assert_eq!((out.as_slice(), found.len()), (&b"Hello"[..], 0));
    }

    #[test]
    fn compressed_text_is_checked_before_the_stream_error_and_the_next_message_reads() {
        let side = SenderParams { max_window_bits: 15, no_context_takeover: false };
        let mut a = MessageAssembler::new(Some(side), 1000);
        // Inflates to `74 f8` (0xF8 is never UTF-8), then the stream breaks.
        let (_, found) = run(&mut a, DataKind::Text, true, &[&[0x2a, 0xf9, 0x81]]);
        assert_eq!(found, [Violation::InvalidUtf8 { offset: 1 }, Violation::InvalidDeflate]);
        let (out, found) = run(&mut a, DataKind::Text, true, &[&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]]);
        assert_eq!((out.as_slice(), found.len()), (&b"Hello"[..], 0));
        // RSV1 without the extension: the payload is taken as it is.
        let mut plain = MessageAssembler::new(None, 1000);
        assert_eq!(run(&mut plain, DataKind::Binary, true, &[b"\xf2"]).0, [0xf2]);
    }

    #[test]
    fn inflaters_are_freed_where_the_sender_keeps_no_context() {
        for nct in [false, true] {
            let side = SenderParams { max_window_bits: 15, no_context_takeover: nct };
            let mut a = MessageAssembler::new(Some(side), 1 << 20);
            let mut z = Vec::new();
            MessageDeflater::new(15, nct, 6).compress(&[b'a'; 5000], &mut z).unwrap();
            let (out, found) = run(&mut a, DataKind::Binary, true, &[&z]);
            assert_eq!((out.len(), found.len()), (5000, 0));
            assert_eq!(a.holds_inflater(), !nct);
        }
        let side = SenderParams { max_window_bits: 15, no_context_takeover: false };
        let mut bomb = Vec::new();
        MessageDeflater::new(15, false, 9).compress(&vec![0u8; 1 << 20], &mut bomb).unwrap();
        let (out, found) = run(&mut MessageAssembler::new(Some(side), 1000), DataKind::Binary, true, &[&bomb]);
        assert_eq!((out.len(), found), (1000, vec![Violation::InflatedTooLarge { max: 1000 }]));
    }
}
