//! Incremental UTF-8 validation that fails as soon as a sequence cannot
//! become valid (RFC 6455 sections 5.6 and 8.1).
//!
//! A text message may be split anywhere, even inside a character, across
//! frames and across reads. The validator keeps the at most three bytes of an
//! unfinished character between calls. It reports an error at the first byte
//! that no continuation could make valid: `F4 90` fails at once (beyond
//! U+10FFFF), `ED A0` too (a surrogate), while `F0 9F` waits for more.

/// The position of the first byte of an invalid sequence, counted from the
/// first byte ever fed to the validator (i.e. an offset in the message).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid UTF-8 at byte {offset} of the text")]
pub struct Utf8Error {
    /// Offset of the invalid sequence's first byte.
    pub offset: u64,
}

/// Validates UTF-8 fed in arbitrary pieces.
#[derive(Clone, Debug, Default)]
pub struct Utf8Validator {
    /// Bytes of a character that started in an earlier piece.
    pending: [u8; 4],
    pending_len: usize,
    /// Bytes fed so far, pending ones included.
    fed: u64,
}

/// Length of the character a valid lead byte starts.
fn char_width(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

impl Utf8Validator {
    /// A validator at the start of a text.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the text so far ends inside a character.
    pub fn is_mid_character(&self) -> bool {
        self.pending_len != 0
    }

    /// Validates the next piece of the text.
    pub fn feed(&mut self, input: &[u8]) -> Result<(), Utf8Error> {
        let start = self.fed;
        self.fed = self.fed.saturating_add(input.len() as u64);
        let mut rest = input;
        if self.pending_len != 0 {
            let width = char_width(self.pending[0]);
            let take = width.saturating_sub(self.pending_len).min(rest.len());
            let (head, tail) = rest.split_at(take);
            let end = self.pending_len.saturating_add(take);
            if let Some(slot) = self.pending.get_mut(self.pending_len..end) {
                slot.copy_from_slice(head);
            }
            let char_start = start.saturating_sub(self.pending_len as u64);
            match core::str::from_utf8(self.pending.get(..end).unwrap_or_default()) {
                Ok(_) => self.pending_len = 0,
                Err(e) if e.error_len().is_some() => return Err(Utf8Error { offset: char_start }),
                Err(_) => {
                    // Still unfinished: `take` was all of the input.
                    self.pending_len = end;
                    return Ok(());
                }
            }
            rest = tail;
        }
        match simdutf8::compat::from_utf8(rest) {
            Ok(_) => Ok(()),
            Err(e) => {
                let at = e.valid_up_to();
                let rest_start = start.saturating_add((input.len().saturating_sub(rest.len())) as u64);
                if e.error_len().is_some() {
                    return Err(Utf8Error { offset: rest_start.saturating_add(at as u64) });
                }
                // An unfinished character at the very end (at most 3 bytes).
                let tail = rest.get(at..).unwrap_or_default();
                self.pending_len = tail.len().min(3);
                if let Some(slot) = self.pending.get_mut(..self.pending_len) {
                    slot.copy_from_slice(tail.get(..self.pending_len).unwrap_or_default());
                }
                Ok(())
            }
        }
    }

    /// Ends the text: an unfinished character is an error.
    pub fn finish(&self) -> Result<(), Utf8Error> {
        if self.pending_len == 0 {
            Ok(())
        } else {
            Err(Utf8Error { offset: self.fed.saturating_sub(self.pending_len as u64) })
        }
    }

    /// Forgets everything: ready for the next text.
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(bytes: &[u8]) -> Result<(), Utf8Error> {
        let mut v = Utf8Validator::new();
        v.feed(bytes)?;
        v.finish()
    }

    #[test]
    fn fails_fast_inside_a_character() {
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(b"ab\xF4"), Ok(()));
        assert_eq!(v.feed(b"\x90"), Err(Utf8Error { offset: 2 }));
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(b"\xED\xA0"), Err(Utf8Error { offset: 0 }));
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(b"\xF0\x9F"), Ok(()));
        assert!(v.is_mid_character());
        assert_eq!(v.finish(), Err(Utf8Error { offset: 0 }));
        assert_eq!(v.feed(b"\x98\x80xyz"), Ok(()));
        assert_eq!(v.finish(), Ok(()));
    }

    #[test]
    fn every_split_of_every_sample_agrees_with_std() {
        let samples: &[&[u8]] = &[
            "κόσμε".as_bytes(),
            "\u{10FFFF}\u{FFFF}\u{80}\u{7FF}😀".as_bytes(),
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
            b"\xf4\x90\x80\x80",
            b"\xc0\xaf",
            b"abc\xe0\x80\xaf",
            b"\xf8\x88\x80\x80\x80",
            b"\xe2\x82",
            b"\xe2\x82\xac\xe2",
        ];
        for s in samples {
            let expect = core::str::from_utf8(s).map(|_| ()).map_err(|e| e.valid_up_to() as u64);
            assert_eq!(whole(s).map_err(|e| e.offset), expect, "{s:?}");
            for a in 0..=s.len() {
                for b in a..=s.len() {
                    let mut v = Utf8Validator::new();
                    let got = v
                        .feed(&s[..a])
                        .and_then(|()| v.feed(&s[a..b]))
                        .and_then(|()| v.feed(&s[b..]))
                        .and_then(|()| v.finish());
                    assert_eq!(got.map_err(|e| e.offset), expect, "{s:?} split {a} {b}");
                }
            }
        }
    }
}
