//! permessage-deflate's message codec (RFC 7692 section 7.2): each message
//! compressed with a sync flush and its trailing `00 00 ff ff` removed, and
//! inflated piece by piece with a limit on what it inflates to.

use super::MAX_WINDOW_BITS;
use super::history::History;
use alloc::vec::Vec;

/// The compression level used unless one is chosen (zlib's default).
pub const DEFAULT_LEVEL: u32 = 6;

/// The four bytes a sync flush ends with, which section 7.2.1 removes from
/// every compressed message and section 7.2.2 appends before inflating.
pub const TRAILER: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Compression failed (the library refused; not expected with valid
/// settings).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeflateError {
    /// The library refused.
    #[error("deflate failed")]
    Failed,
    /// The browser build (miniz_oxide) cannot keep to a window smaller than
    /// 32 KiB for a payload longer than that window.
    #[error("this build compresses with a {window}-byte window only payloads of at most {window} bytes")]
    WindowTooSmall {
        /// The window asked for, in bytes.
        window: usize,
    },
}

/// Why a compressed message could not be inflated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InflateError {
    /// Not a valid DEFLATE stream.
    #[error("the compressed data is not valid DEFLATE")]
    Invalid,
    /// Inflating would pass the limit: stopped there, before inflating the
    /// rest.
    #[error("the message inflates to more than {max} bytes")]
    TooLarge {
        /// The limit.
        max: u64,
    },
}

/// A raw DEFLATE compressor keeping to a `bits` window.
#[cfg(not(target_arch = "wasm32"))]
fn new_compress(level: u32, bits: u8) -> flate2::Compress {
    flate2::Compress::new_with_window_bits(flate2::Compression::new(level), false, bits)
}

/// In the browser build (miniz_oxide) the window is always 32 KiB; see
/// [`compress_message`].
#[cfg(target_arch = "wasm32")]
fn new_compress(level: u32, _bits: u8) -> flate2::Compress {
    flate2::Compress::new(flate2::Compression::new(level), false)
}

/// A raw DEFLATE decompressor with the largest window (reads any smaller).
#[cfg(not(target_arch = "wasm32"))]
fn new_decompress() -> flate2::Decompress {
    flate2::Decompress::new_with_window_bits(false, MAX_WINDOW_BITS)
}

#[cfg(target_arch = "wasm32")]
fn new_decompress() -> flate2::Decompress {
    flate2::Decompress::new(false)
}

/// Whether this build can park: prime a fresh compressor or decompressor
/// with a history (zlib-rs can; the browser build's miniz_oxide cannot).
const CAN_PARK: bool = cfg!(not(target_arch = "wasm32"));

#[cfg(not(target_arch = "wasm32"))]
fn prime_compress(c: &mut flate2::Compress, history: &[u8]) -> bool {
    history.is_empty() || c.set_dictionary(history).is_ok()
}

#[cfg(target_arch = "wasm32")]
fn prime_compress(_c: &mut flate2::Compress, history: &[u8]) -> bool {
    history.is_empty()
}

#[cfg(not(target_arch = "wasm32"))]
fn prime_decompress(d: &mut flate2::Decompress, history: &[u8]) -> bool {
    history.is_empty() || d.set_dictionary(history).is_ok()
}

#[cfg(target_arch = "wasm32")]
fn prime_decompress(_d: &mut flate2::Decompress, history: &[u8]) -> bool {
    history.is_empty()
}

/// Compresses the messages one endpoint sends (section 7.2.1).
///
/// With context takeover it can be parked between messages
/// ([`MessageDeflater::park`]): the compressor (over 128 KiB with zlib-rs,
/// whose hash table alone is 128 KiB) is freed and only the last
/// 2^window_bits bytes sent are kept; the next message makes a compressor
/// again, primed with them as its dictionary, so it may refer back exactly
/// as far as before.
pub struct MessageDeflater {
    /// The compressor; none while parked (or not yet needed).
    live: Option<flate2::Compress>,
    /// What was sent, when [`MessageDeflater::parkable`] with context
    /// takeover.
    history: Option<History>,
    bits: u8,
    level: u32,
    no_context_takeover: bool,
}

impl core::fmt::Debug for MessageDeflater {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MessageDeflater")
            .field("no_context_takeover", &self.no_context_takeover)
            .field("parked", &self.live.is_none())
            .finish()
    }
}

impl MessageDeflater {
    /// A compressor keeping to `window_bits` (9-15; 8 is written as 9, the
    /// smallest window the library has) at compression `level` (0-9). The
    /// library's state is made when the first message is compressed.
    pub fn new(window_bits: u8, no_context_takeover: bool, level: u32) -> Self {
        let bits = window_bits.clamp(9, MAX_WINDOW_BITS);
        MessageDeflater { live: None, history: None, bits, level: level.min(9), no_context_takeover }
    }

    /// Keeps the last 2^window_bits bytes sent (a copy of each message), so
    /// that [`MessageDeflater::park`] can free the compressor with context
    /// takeover. Not in the browser build, which cannot prime a compressor.
    pub fn parkable(mut self) -> Self {
        if CAN_PARK && !self.no_context_takeover {
            self.history = Some(History::new(1usize << self.bits));
        }
        self
    }

    /// Frees the compressor where nothing is lost: without context takeover,
    /// or keeping the history when [`MessageDeflater::parkable`]; otherwise
    /// does nothing.
    pub fn park(&mut self) {
        if self.no_context_takeover || self.history.is_some() {
            self.live = None;
        }
    }

    /// Whether the compressor is held (not parked).
    pub fn is_live(&self) -> bool {
        self.live.is_some()
    }

    /// Bytes of history kept for the next message.
    pub fn history_len(&self) -> usize {
        self.history.as_ref().map_or(0, History::len)
    }

    /// Appends the compressed form of one whole message to `out`: DEFLATE
    /// blocks ending in a sync flush, whose trailing `00 00 ff ff` is
    /// removed. With no context takeover the next message starts afresh.
    pub fn compress(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), DeflateError> {
        // An empty message is one empty stored block, `00` once the trailer
        // is removed (section 7.2.3.6): zlib writes nothing for a second
        // flush with no input, and the window is unchanged either way.
        if payload.is_empty() {
            out.push(0x00);
            return Ok(());
        }
        let inner = match &mut self.live {
            Some(c) => c,
            None => {
                let mut c = new_compress(self.level, self.bits);
                let history = self.history.as_mut().map(History::contiguous).unwrap_or_default();
                if !prime_compress(&mut c, history) {
                    return Err(DeflateError::Failed);
                }
                self.live.insert(c)
            }
        };
        let start = out.len();
        let in_before = inner.total_in();
        loop {
            let taken = usize::try_from(inner.total_in().saturating_sub(in_before)).unwrap_or(usize::MAX);
            let rest = payload.get(taken..).unwrap_or_default();
            out.reserve(rest.len().saturating_div(2).saturating_add(64));
            inner.compress_vec(rest, out, flate2::FlushCompress::Sync).map_err(|_| DeflateError::Failed)?;
            let all_in = inner.total_in().saturating_sub(in_before) >= payload.len() as u64;
            // zlib: a flush is complete once a call leaves output space unused.
            if all_in && out.len() < out.capacity() {
                break;
            }
        }
        match out.get(start..) {
            Some(written) if written.ends_with(&TRAILER) => out.truncate(out.len().saturating_sub(TRAILER.len())),
            _ => return Err(DeflateError::Failed),
        }
        if self.no_context_takeover {
            inner.reset();
        }
        if let Some(history) = &mut self.history {
            history.push(payload);
        }
        Ok(())
    }
}

/// Inflates the messages one endpoint receives (section 7.2.2), piece by
/// piece, with a limit on the inflated size.
///
/// Between messages it can be parked ([`MessageInflater::park`]), as
/// [`MessageDeflater`] can: the decompressor (its state and a window of up
/// to 32 KiB) is freed, the last bytes inflated are kept.
pub struct MessageInflater {
    /// The decompressor; none while parked (or not yet needed).
    live: Option<flate2::Decompress>,
    /// What was inflated, when [`MessageInflater::parkable`] with context
    /// takeover.
    history: Option<History>,
    /// The window the sender keeps to, as bits (at least 9).
    bits: u8,
    no_context_takeover: bool,
    /// The stream ended (a block with BFINAL set, section 7.2.3.4): the
    /// next message starts a new one.
    ended: bool,
}

impl core::fmt::Debug for MessageInflater {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MessageInflater").field("no_context_takeover", &self.no_context_takeover).finish()
    }
}

/// Bytes inflated per step, so the limit is checked before more is made.
const INFLATE_STEP: usize = 8 * 1024;

impl MessageInflater {
    /// A decompressor for a peer's messages. Every window the peer may keep
    /// to (up to 32 KiB) is read with the largest, which is always safe.
    pub fn new(no_context_takeover: bool) -> Self {
        Self::with_window(MAX_WINDOW_BITS, no_context_takeover)
    }

    /// The same for a peer that keeps to `window_bits` (what it agreed to;
    /// what a [`MessageInflater::parkable`] one keeps).
    pub fn with_window(window_bits: u8, no_context_takeover: bool) -> Self {
        let bits = window_bits.clamp(9, MAX_WINDOW_BITS);
        MessageInflater { live: None, history: None, bits, no_context_takeover, ended: false }
    }

    /// Keeps the last 2^window_bits bytes inflated (at least 512: zlib
    /// writes an agreed 8-bit window as 9 bits), so that
    /// [`MessageInflater::park`] can free the decompressor with context
    /// takeover. Not in the browser build.
    pub fn parkable(mut self) -> Self {
        if CAN_PARK && !self.no_context_takeover {
            self.history = Some(History::new(1usize << self.bits));
        }
        self
    }

    /// Frees the decompressor where nothing is lost (as
    /// [`MessageDeflater::park`]). Only between messages: parked in the
    /// middle of one, the rest of it would not inflate.
    pub fn park(&mut self) {
        if self.no_context_takeover || self.history.is_some() {
            self.live = None;
        }
    }

    /// Whether the decompressor is held (not parked).
    pub fn is_live(&self) -> bool {
        self.live.is_some()
    }

    /// Inflates the next piece of a compressed message's payload, appending
    /// to `out`, which must not grow past `max` bytes.
    pub fn inflate(&mut self, input: &[u8], out: &mut Vec<u8>, max: u64) -> Result<(), InflateError> {
        self.run(input, out, max)
    }

    /// Ends the message: inflates what the sync flush left pending
    /// (section 7.2.2: the removed `00 00 ff ff` is put back first).
    pub fn finish(&mut self, out: &mut Vec<u8>, max: u64) -> Result<(), InflateError> {
        self.run(&TRAILER, out, max)?;
        if self.no_context_takeover || self.ended {
            if let Some(inner) = &mut self.live {
                inner.reset(false);
            }
            if let Some(history) = &mut self.history {
                history.clear();
            }
            self.ended = false;
        }
        Ok(())
    }

    fn run(&mut self, input: &[u8], out: &mut Vec<u8>, max: u64) -> Result<(), InflateError> {
        let inner = match &mut self.live {
            Some(d) => d,
            None => {
                let mut d = new_decompress();
                let history = self.history.as_mut().map(History::contiguous).unwrap_or_default();
                if !prime_decompress(&mut d, history) {
                    return Err(InflateError::Invalid);
                }
                self.live.insert(d)
            }
        };
        let in_before = inner.total_in();
        let mut step = [0u8; INFLATE_STEP];
        loop {
            let taken = usize::try_from(inner.total_in().saturating_sub(in_before)).unwrap_or(usize::MAX);
            let rest = input.get(taken..).unwrap_or_default();
            if self.ended {
                // After a final block the stream is over; what follows in
                // this message is ignored, as zlib's inflate does (the
                // example of section 7.2.3.4 has a byte there).
                return Ok(());
            }
            let out_before = inner.total_out();
            let status = inner.decompress(rest, &mut step, flate2::FlushDecompress::Sync);
            let made = usize::try_from(inner.total_out().saturating_sub(out_before)).unwrap_or(usize::MAX);
            let used = inner.total_in().saturating_sub(in_before) != taken as u64;
            // What was made before a failure is kept, and exactly up to the
            // limit, so the output before an error does not depend on how
            // the input was split into pieces.
            let room = usize::try_from(max.saturating_sub(out.len() as u64)).unwrap_or(usize::MAX);
            let kept = step.get(..made.min(room)).unwrap_or_default();
            out.extend_from_slice(kept);
            if let Some(history) = &mut self.history {
                history.push(kept);
            }
            if made > room {
                return Err(InflateError::TooLarge { max });
            }
            let status = status.map_err(|_| InflateError::Invalid)?;
            if status == flate2::Status::StreamEnd {
                self.ended = true;
                continue;
            }
            // Done when all input is taken and the last step had room left.
            let all_in = inner.total_in().saturating_sub(in_before) >= input.len() as u64;
            if (all_in && made < step.len()) || (!used && made == 0) {
                return Ok(());
            }
        }
    }
}

/// One whole message compressed as the first (or only) frame of a
/// compressed message carries it, with a fresh window of `window_bits`
/// (section 7.2.1; what the explorer's builder shows). The frame that
/// carries it needs [`mark_compressed`].
pub fn compress_message(payload: &[u8], window_bits: u8, level: u32) -> Result<Vec<u8>, DeflateError> {
    // The browser build's compressor looks back up to 32 KiB: within a
    // smaller window only while the payload is no longer than the window.
    let window = 1usize << window_bits.min(MAX_WINDOW_BITS);
    if cfg!(target_arch = "wasm32") && window_bits < MAX_WINDOW_BITS && payload.len() > window {
        return Err(DeflateError::WindowTooSmall { window });
    }
    let mut out = Vec::with_capacity(payload.len().saturating_div(2).saturating_add(16));
    MessageDeflater::new(window_bits, true, level).compress(payload, &mut out)?;
    Ok(out)
}

/// Sets the Per-Message Compressed bit, RSV1, which marks the first frame
/// of a compressed message (section 6; never on a continuation or control
/// frame, section 6.1).
pub fn mark_compressed(header: &mut crate::FrameHeader) {
    header.rsv[0] = true;
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn empty_messages_compress_after_any_other() {
        // Found by the deflate fuzz target: a second empty message failed.
        let mut d = MessageDeflater::new(10, false, 2);
        let mut inflater = MessageInflater::new(false);
        for payload in [&b""[..], b"", b"abc", b"", b"abc"] {
            let mut z = Vec::new();
            d.compress(payload, &mut z).unwrap();
            let mut out = Vec::new();
            inflater.inflate(&z, &mut out, 10).unwrap();
            inflater.finish(&mut out, 10).unwrap();
            assert_eq!(out, payload);
        }
        assert_eq!(compress_message(b"", 15, 6).unwrap(), [0x00]);
    }

    #[test]
    fn compress_message_gives_the_rfc_hello() {
        // RFC 7692 section 7.2.3.1: "Hello" in one compressed frame.
        assert_eq!(compress_message(b"Hello", 15, 6).unwrap(), [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
        let z = compress_message(&[b'a'; 1000], 9, 9).unwrap();
        assert!(z.len() < 50, "1000 equal bytes compress well: {}", z.len());
        let mut out = Vec::new();
        let mut inflater = MessageInflater::new(true);
        inflater.inflate(&z, &mut out, 1000).unwrap();
        inflater.finish(&mut out, 1000).unwrap();
        assert_eq!(out, [b'a'; 1000]);
        let mut header = crate::FrameHeader::new(true, crate::OpCode::Text, None, 7);
        mark_compressed(&mut header);
        assert_eq!(header.rsv, [true, false, false]);
    }

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace().map(|b| u8::from_str_radix(b, 16).unwrap()).collect()
    }

    fn inflate_all(inf: &mut MessageInflater, compressed: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        inf.inflate(compressed, &mut out, 1 << 20).unwrap();
        inf.finish(&mut out, 1 << 20).unwrap();
        out
    }

    /// RFC 7692 section 7.2.3.1 and 7.2.3.2: "Hello" compressed, and again
    /// with the context kept (the second refers back to the first).
    #[test]
    fn rfc_hello_examples() {
        let mut d = MessageDeflater::new(15, false, 6);
        let mut first = Vec::new();
        d.compress(b"Hello", &mut first).unwrap();
        assert_eq!(first, hex("f2 48 cd c9 c9 07 00"));
        let mut second = Vec::new();
        d.compress(b"Hello", &mut second).unwrap();
        assert_eq!(second, hex("f2 00 11 00 00"));
        let mut inf = MessageInflater::new(false);
        assert_eq!(inflate_all(&mut inf, &first), b"Hello");
        assert_eq!(inflate_all(&mut inf, &second), b"Hello");
        // Without context takeover both messages are the first form.
        let mut d = MessageDeflater::new(15, true, 6);
        for _ in 0..2 {
            let mut m = Vec::new();
            d.compress(b"Hello", &mut m).unwrap();
            assert_eq!(m, hex("f2 48 cd c9 c9 07 00"));
        }
    }

    /// Section 7.2.3.2 split: the payload "Hello" in two fragments.
    #[test]
    fn rfc_fragments_inflate_piece_by_piece() {
        let mut inf = MessageInflater::new(false);
        let mut out = Vec::new();
        inf.inflate(&hex("f2 48 cd"), &mut out, 100).unwrap();
        inf.inflate(&hex("c9 c9 07 00"), &mut out, 100).unwrap();
        inf.finish(&mut out, 100).unwrap();
        assert_eq!(out, b"Hello");
    }

    /// Section 7.2.3.3 (no compression: a stored block), 7.2.3.4 (BFINAL
    /// set), 7.2.3.5 (two blocks), 7.2.3.6 (an empty message).
    #[test]
    fn rfc_other_forms() {
        let stored = hex("00 05 00 fa ff 48 65 6c 6c 6f 00");
        assert_eq!(inflate_all(&mut MessageInflater::new(false), &stored), b"Hello");
        let bfinal = hex("f3 48 cd c9 c9 07 00 00");
        let mut inf = MessageInflater::new(false);
        assert_eq!(inflate_all(&mut inf, &bfinal), b"Hello");
        // After a final block the next message is a new stream.
        assert_eq!(inflate_all(&mut inf, &hex("f2 48 cd c9 c9 07 00")), b"Hello");
        let two_blocks = hex("f2 48 05 00 00 00 ff ff ca c9 c9 07 00");
        assert_eq!(inflate_all(&mut MessageInflater::new(false), &two_blocks), b"Hello");
        let mut empty = Vec::new();
        MessageDeflater::new(15, false, 6).compress(b"", &mut empty).unwrap();
        // Section 7.2.3.6: an empty message is a single 0x00.
        assert_eq!(empty, hex("00"));
        assert_eq!(inflate_all(&mut MessageInflater::new(false), &hex("02 00")), b"");
        assert_eq!(inflate_all(&mut MessageInflater::new(false), &empty), b"");
        assert_eq!(inflate_all(&mut MessageInflater::new(false), &hex("00")), b"");
    }

    #[test]
    fn round_trips_at_every_window_and_both_context_modes() {
        let text: Vec<u8> =
            (0..100_000u32).map(|i| b"abcdefgh hello world "[(i % 21) as usize] ^ (i / 997) as u8).collect();
        for bits in 8..=15 {
            for nct in [false, true] {
                let mut d = MessageDeflater::new(bits, nct, 6);
                let mut inf = MessageInflater::new(nct);
                for part in [&text[..0], &text[..10], &text[..], &text[5000..70_000]] {
                    let mut c = Vec::new();
                    d.compress(part, &mut c).unwrap();
                    assert!(
                        part.len() < 1000 || c.len() < part.len() / 2,
                        "bits {bits}: {} -> {}",
                        part.len(),
                        c.len()
                    );
                    assert_eq!(inflate_all(&mut inf, &c), part, "bits {bits} nct {nct}");
                }
            }
        }
    }

    /// Parking between messages changes nothing a peer can see: a parked
    /// compressor's output reads with a decompressor that never parked
    /// (and the other way round), compresses as well (it refers back into
    /// the same history), and references reach across the whole window.
    #[test]
    fn parking_keeps_the_context_both_ways() {
        // Noise no message can compress by itself, sent again and again:
        // only the context (the message before) makes it small.
        let mut x = 1u32;
        let noise: Vec<u8> = (0..2000)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 16) as u8
            })
            .collect();
        let text: Vec<u8> = noise.iter().copied().cycle().take(30_000).collect();
        for bits in [9u8, 12, 15] {
            let mut steady = MessageDeflater::new(bits, false, 6);
            let mut parked = MessageDeflater::new(bits, false, 6).parkable();
            let mut reader = MessageInflater::with_window(bits, false);
            let mut parked_reader = MessageInflater::with_window(bits, false).parkable();
            let (mut steady_len, mut parked_len) = (0, 0);
            for part in text.chunks(2000) {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                steady.compress(part, &mut a).unwrap();
                parked.park();
                assert!(!parked.is_live());
                parked.compress(part, &mut b).unwrap();
                assert!(parked.history_len() <= 1 << bits);
                steady_len += a.len();
                parked_len += b.len();
                // The parked compressor's messages, read by one that never parks.
                assert_eq!(inflate_all(&mut reader, &b), part, "bits {bits}");
                // The steady compressor's, read by one parked before each.
                parked_reader.park();
                assert_eq!(inflate_all(&mut parked_reader, &a), part, "bits {bits}, parked reader");
            }
            // As small as without parking, give or take the few bytes a
            // restarted block costs; with a window that reaches the message
            // before, a fraction of the text (the context was kept).
            assert!(parked_len <= steady_len + steady_len / 20, "bits {bits}: {parked_len} against {steady_len}");
            if bits >= 12 {
                assert!(parked_len < text.len() / 5, "bits {bits}: {parked_len} of {}", text.len());
            }
        }
        // Without context takeover nothing is kept to park with, and
        // parking frees the compressor all the same.
        let mut d = MessageDeflater::new(15, true, 6).parkable();
        d.compress(&text[..5000], &mut Vec::new()).unwrap();
        assert_eq!(d.history_len(), 0);
        d.park();
        assert!(!d.is_live());
        // Not made parkable, with context takeover: no copy is kept, and
        // parking frees nothing (the context would be lost).
        let mut d = MessageDeflater::new(15, false, 6);
        d.compress(&text[..5000], &mut Vec::new()).unwrap();
        assert_eq!(d.history_len(), 0);
        d.park();
        assert!(d.is_live());
        let mut inf = MessageInflater::new(false);
        let mut z = Vec::new();
        MessageDeflater::new(15, false, 6).compress(&text[..100], &mut z).unwrap();
        inflate_all(&mut inf, &z);
        inf.park();
        assert!(inf.is_live());
    }

    /// A small message that inflates past the limit stops there.
    #[test]
    fn a_deflate_bomb_stops_at_the_limit() {
        let zeros = vec![0u8; 10 << 20];
        let mut bomb = Vec::new();
        MessageDeflater::new(15, false, 9).compress(&zeros, &mut bomb).unwrap();
        assert!(bomb.len() < 20_000, "{}", bomb.len());
        let mut inf = MessageInflater::new(false);
        let mut out = Vec::new();
        let r = inf.inflate(&bomb, &mut out, 1 << 20).and_then(|()| inf.finish(&mut out, 1 << 20));
        assert_eq!(r, Err(InflateError::TooLarge { max: 1 << 20 }));
        assert!(out.len() <= 1 << 20);
        assert!(out.capacity() <= 2 << 20, "grew to {}", out.capacity());
    }

    #[test]
    fn garbage_is_invalid() {
        let mut inf = MessageInflater::new(false);
        let mut out = Vec::new();
        let r = inf.inflate(&[0xff, 0xff, 0xff, 0xff], &mut out, 100).and_then(|()| inf.finish(&mut out, 100));
        assert_eq!(r, Err(InflateError::Invalid));
    }
}
