//! The last bytes of one direction's uncompressed stream: what its next
//! message may refer back to with context takeover (RFC 7692 section
//! 7.2.1). A parked compressor or decompressor keeps only this, and the
//! one made for the next message is primed with it.

use alloc::vec::Vec;

/// At most `window` bytes, the newest last, in a ring that grows only as
/// far as the stream has gone (a connection that sent 1 KiB keeps 1 KiB).
#[derive(Clone, Debug)]
pub(crate) struct History {
    ring: Vec<u8>,
    /// Where the oldest byte is once the ring is full.
    start: usize,
    window: usize,
}

impl History {
    /// Keeps the last `window` bytes.
    pub(crate) const fn new(window: usize) -> Self {
        History { ring: Vec::new(), start: 0, window }
    }

    /// Adds bytes that just passed, dropping what falls out of the window.
    pub(crate) fn push(&mut self, data: &[u8]) {
        let data = data.get(data.len().saturating_sub(self.window)..).unwrap_or_default();
        let room = self.window.saturating_sub(self.ring.len());
        if room > 0 {
            let (fill, rest) = data.split_at(room.min(data.len()));
            if self.ring.capacity().saturating_sub(self.ring.len()) < fill.len() {
                // Doubling, but never past the window.
                let want = self.ring.len().saturating_add(fill.len()).max(self.ring.capacity().saturating_mul(2));
                self.ring.reserve_exact(want.min(self.window).saturating_sub(self.ring.len()));
            }
            self.ring.extend_from_slice(fill);
            self.overwrite(rest);
            return;
        }
        self.overwrite(data);
    }

    /// Writes over the oldest bytes of a full ring.
    fn overwrite(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let first = self.window.saturating_sub(self.start).min(data.len());
        let (a, b) = data.split_at(first);
        if let Some(dst) = self.ring.get_mut(self.start..self.start.saturating_add(a.len())) {
            dst.copy_from_slice(a);
        }
        if let Some(dst) = self.ring.get_mut(..b.len()) {
            dst.copy_from_slice(b);
        }
        self.start = self.start.saturating_add(data.len()).checked_rem(self.window).unwrap_or(0);
    }

    /// The bytes in order, oldest first.
    pub(crate) fn contiguous(&mut self) -> &[u8] {
        if self.start != 0 {
            self.ring.rotate_left(self.start);
            self.start = 0;
        }
        &self.ring
    }

    /// Forgets everything (a new stream starts).
    pub(crate) fn clear(&mut self) {
        self.ring = Vec::new();
        self.start = 0;
    }

    /// Bytes held.
    pub(crate) fn len(&self) -> usize {
        self.ring.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn keeps_the_newest_window_in_order_whatever_the_pieces() {
        let stream: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        for window in [1usize, 7, 64, 100, 999, 1000, 4096] {
            for piece in [1usize, 3, 50, 64, 333, 1000] {
                let mut h = History::new(window);
                for chunk in stream.chunks(piece) {
                    h.push(chunk);
                    assert!(h.ring.capacity() <= window, "capacity past the window");
                }
                let want = &stream[stream.len().saturating_sub(window)..];
                assert_eq!(h.contiguous(), want, "window {window}, pieces of {piece}");
                // Reading it does not change it.
                h.push(&[]);
                assert_eq!(h.contiguous(), want);
            }
        }
    }

    #[test]
    fn grows_only_as_far_as_the_stream() {
        let mut h = History::new(32 * 1024);
        h.push(&vec![7u8; 1000]);
        assert_eq!(h.len(), 1000);
        assert!(h.ring.capacity() < 2048);
        h.clear();
        assert_eq!(h.len(), 0);
        assert_eq!(h.ring.capacity(), 0);
    }
}
