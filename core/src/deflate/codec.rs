//! permessage-deflate's message codec (RFC 7692 section 7.2): each message
//! compressed with a sync flush and its trailing `00 00 ff ff` removed, and
//! inflated piece by piece with a limit on what it inflates to.

use super::MAX_WINDOW_BITS;
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

/// Compresses the messages one endpoint sends (section 7.2.1).
pub struct MessageDeflater {
    inner: flate2::Compress,
    no_context_takeover: bool,
}

impl core::fmt::Debug for MessageDeflater {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MessageDeflater").field("no_context_takeover", &self.no_context_takeover).finish()
    }
}

impl MessageDeflater {
    /// A compressor keeping to `window_bits` (9-15; 8 is written as 9, the
    /// smallest window the library has) at compression `level` (0-9).
    pub fn new(window_bits: u8, no_context_takeover: bool, level: u32) -> Self {
        let bits = window_bits.clamp(9, MAX_WINDOW_BITS);
        MessageDeflater { inner: new_compress(level.min(9), bits), no_context_takeover }
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
        let start = out.len();
        let in_before = self.inner.total_in();
        loop {
            let taken = usize::try_from(self.inner.total_in().saturating_sub(in_before)).unwrap_or(usize::MAX);
            let rest = payload.get(taken..).unwrap_or_default();
            out.reserve(rest.len().saturating_div(2).saturating_add(64));
            self.inner.compress_vec(rest, out, flate2::FlushCompress::Sync).map_err(|_| DeflateError::Failed)?;
            let all_in = self.inner.total_in().saturating_sub(in_before) >= payload.len() as u64;
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
            self.inner.reset();
        }
        Ok(())
    }
}

/// Inflates the messages one endpoint receives (section 7.2.2), piece by
/// piece, with a limit on the inflated size.
pub struct MessageInflater {
    inner: flate2::Decompress,
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
        MessageInflater { inner: new_decompress(), no_context_takeover, ended: false }
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
            self.inner.reset(false);
            self.ended = false;
        }
        Ok(())
    }

    fn run(&mut self, input: &[u8], out: &mut Vec<u8>, max: u64) -> Result<(), InflateError> {
        let in_before = self.inner.total_in();
        let mut step = [0u8; INFLATE_STEP];
        loop {
            let taken = usize::try_from(self.inner.total_in().saturating_sub(in_before)).unwrap_or(usize::MAX);
            let rest = input.get(taken..).unwrap_or_default();
            if self.ended {
                // After a final block the stream is over; what follows in
                // this message is ignored, as zlib's inflate does (the
                // example of section 7.2.3.4 has a byte there).
                return Ok(());
            }
            let out_before = self.inner.total_out();
            let status = self.inner.decompress(rest, &mut step, flate2::FlushDecompress::Sync);
            let made = usize::try_from(self.inner.total_out().saturating_sub(out_before)).unwrap_or(usize::MAX);
            let used = self.inner.total_in().saturating_sub(in_before) != taken as u64;
            // What was made before a failure is kept, and exactly up to the
            // limit, so the output before an error does not depend on how
            // the input was split into pieces.
            let room = usize::try_from(max.saturating_sub(out.len() as u64)).unwrap_or(usize::MAX);
            out.extend_from_slice(step.get(..made.min(room)).unwrap_or_default());
            if made > room {
                return Err(InflateError::TooLarge { max });
            }
            let status = status.map_err(|_| InflateError::Invalid)?;
            if status == flate2::Status::StreamEnd {
                self.ended = true;
                continue;
            }
            // Done when all input is taken and the last step had room left.
            let all_in = self.inner.total_in().saturating_sub(in_before) >= input.len() as u64;
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
