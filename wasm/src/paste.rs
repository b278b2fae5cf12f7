//! Bytes as people paste them: hex in the usual spellings (`81 05 48`,
//! `0x81,0x05`, `\x81\x05`, `8105:48`), hex dumps with an offset column and
//! a text column (Wireshark's "Copy as Hex Dump", `hexdump -C`, `xxd`), or
//! base64. Errors say what is wrong in the page's words and where.
//!
//! Written as plain loops over bytes: the iterator-adapter version of this
//! module cost the explorer's wasm module 18 KB.

/// How the text was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReadAs {
    Hex,
    /// Hex dump lines: their offsets and text columns were left out.
    HexDump,
    Base64,
}

impl ReadAs {
    pub(crate) const fn name(self) -> &'static str {
        match self {
            ReadAs::Hex => "hex",
            ReadAs::HexDump => "hex dump",
            ReadAs::Base64 => "base64",
        }
    }
}

/// What the text may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Hex,
    Base64,
    /// Hex when it reads as hex; base64 only when that is unambiguous.
    Auto,
}

/// Why the text is not bytes: a message, and the character at fault (its
/// index in the text, counted in characters), when there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PasteError {
    pub(crate) message: String,
    pub(crate) at: Option<usize>,
}

/// Shortest text `Auto` reads as base64: shorter junk ("test", "zz zz") is
/// more likely a mistake than base64.
const MIN_AUTO_BASE64: usize = 8;

pub(crate) fn read(text: &str, format: Format) -> Result<(Vec<u8>, ReadAs), PasteError> {
    if format == Format::Base64 {
        return read_base64(text).map(|b| (b, ReadAs::Base64));
    }
    let hex_error = match read_hex(text) {
        Ok(r) => return Ok(r),
        Err(e) if format == Format::Hex => return Err(e),
        Err(e) => e,
    };
    let message = match read_base64(text) {
        Ok(b) if text.chars().filter(|c| !c.is_whitespace()).count() >= MIN_AUTO_BASE64 => {
            return Ok((b, ReadAs::Base64));
        }
        Ok(b) => format!(
            "{} As base64 it would be {} ({}): choose base64 if that is what you meant",
            hex_error.message,
            plural(b.len(), "byte"),
            hex_preview(&b)
        ),
        Err(_) => format!("{} (and it is not base64 either)", hex_error.message),
    };
    Err(PasteError { message, at: hex_error.at })
}

fn plural(n: usize, one: &str) -> String {
    if n == 1 { format!("1 {one}") } else { format!("{n} {one}s") }
}

fn hex_preview(bytes: &[u8]) -> String {
    let mut s = String::new();
    for (i, b) in bytes.iter().enumerate() {
        if i == 8 {
            s.push_str(" …");
            break;
        }
        if i > 0 {
            s.push(' ');
        }
        push_hex(&mut s, *b);
    }
    s
}

fn push_hex(s: &mut String, b: u8) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for nibble in [b >> 4, b & 0x0f] {
        s.push(char::from(DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0')));
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b.wrapping_sub(b'0')),
        b'a'..=b'f' => Some(b.wrapping_sub(b'a').wrapping_add(10)),
        b'A'..=b'F' => Some(b.wrapping_sub(b'A').wrapping_add(10)),
        _ => None,
    }
}

/// The index, in characters, of the character at byte `pos` of `text`.
fn char_index(text: &str, pos: usize) -> usize {
    text.char_indices().take_while(|(i, _)| *i < pos).count()
}

fn place(at: usize) -> String {
    format!("character {}", at.saturating_add(1))
}

fn read_hex(text: &str) -> Result<(Vec<u8>, ReadAs), PasteError> {
    let mut out = Vec::new();
    let mut dump = false;
    let mut start = 0usize;
    for line in text.split('\n') {
        if dump_line(line, &mut out) {
            dump = true;
        } else {
            plain_hex(text, start, line, &mut out)?;
        }
        start = start.saturating_add(line.len()).saturating_add(1);
    }
    Ok((out, if dump { ReadAs::HexDump } else { ReadAs::Hex }))
}

/// A hex dump line, its bytes appended to `out`: an offset (4 to 8 hex
/// digits, perhaps with a colon), then bytes in groups of 2 or 4 digits,
/// then perhaps the bytes as text. The bytes are taken only where the text
/// column, if any, is exactly those bytes as a dump prints them (`.` for
/// what is not printable), so a text column that looks like hex is not read
/// as bytes.
fn dump_line(line: &str, out: &mut Vec<u8>) -> bool {
    let mut tokens = line.split_ascii_whitespace();
    let Some(offset) = tokens.next() else { return false };
    let offset = offset.strip_suffix(':').unwrap_or(offset);
    if !(4..=8).contains(&offset.len()) || !offset.bytes().all(|b| hex_value(b).is_some()) {
        return false;
    }
    let rest: Vec<&str> = tokens.collect();
    // The bytes of the leading groups, and where each group ends in them.
    let mut bytes = Vec::new();
    let mut ends = Vec::new();
    for t in &rest {
        let t = t.as_bytes();
        if !(t.len() == 2 || t.len() == 4) || !t.iter().all(|b| hex_value(*b).is_some()) {
            break;
        }
        for pair in t.chunks(2) {
            if let [hi, lo] = pair {
                bytes.push(hex_value(*hi).unwrap_or(0).wrapping_shl(4) | hex_value(*lo).unwrap_or(0));
            }
        }
        ends.push(bytes.len());
    }
    // The most groups whose remainder is their text column (or nothing).
    let mut n = ends.len();
    while n > 0 {
        let taken = ends.get(n.wrapping_sub(1)).copied().unwrap_or(0);
        let mut remainder = String::new();
        for t in rest.iter().skip(n) {
            remainder.push_str(t);
        }
        let remainder = remainder.strip_prefix('|').unwrap_or(&remainder);
        let remainder = remainder.strip_suffix('|').unwrap_or(remainder);
        let mut shown = String::new();
        for b in bytes.iter().take(taken) {
            let c = if (0x21..0x7f).contains(b) {
                char::from(*b)
            } else if *b == b' ' {
                continue;
            } else {
                '.'
            };
            shown.push(c);
        }
        if remainder == shown {
            out.extend_from_slice(bytes.get(..taken).unwrap_or_default());
            return true;
        }
        n = n.wrapping_sub(1);
    }
    false
}

/// Hex digits in any of the usual spellings: separators (whitespace, `,`,
/// `:`, `;`, brackets, quotes) ignored; `0x` and `\x` prefixes each mark one
/// byte (`0x5` is 05); bare digits pair up. `start` is where `line` begins
/// in `text`, for the error's place.
fn plain_hex(text: &str, start: usize, line: &str, out: &mut Vec<u8>) -> Result<(), PasteError> {
    let b = line.as_bytes();
    // A digit waiting for its partner: its value and its byte position.
    let mut pending: Option<(u8, usize)> = None;
    let mut i = 0usize;
    while let Some(&c) = b.get(i) {
        let pos = start.saturating_add(i);
        if c.is_ascii_whitespace() || b",:;[]{}()\"'".contains(&c) {
            i = i.saturating_add(1);
            continue;
        }
        if c >= 0x80 {
            // A character outside ASCII: only whitespace is allowed.
            let ch = line.get(i..).and_then(|s| s.chars().next()).unwrap_or('?');
            if ch.is_whitespace() {
                i = i.saturating_add(ch.len_utf8());
                continue;
            }
            let at = char_index(text, pos);
            return Err(PasteError {
                message: format!("“{ch}” at {} is not a hex digit (0-9, a-f)", place(at)),
                at: Some(at),
            });
        }
        let next = b.get(i.saturating_add(1)).copied();
        if (c == b'0' || c == b'\\') && matches!(next, Some(b'x' | b'X')) {
            if let Some((_, p)) = pending {
                return Err(odd_digits(text, p));
            }
            let mut value = 0u8;
            let mut digits = 0usize;
            while digits < 2 {
                match b.get(i.saturating_add(2).saturating_add(digits)).and_then(|d| hex_value(*d)) {
                    Some(d) => value = value.wrapping_shl(4) | d,
                    None => break,
                }
                digits = digits.saturating_add(1);
            }
            if digits == 0 {
                let at = char_index(text, pos);
                return Err(PasteError {
                    message: format!("“{}x” at {} is not followed by a hex digit", char::from(c), place(at)),
                    at: Some(at),
                });
            }
            out.push(value);
            i = i.saturating_add(2).saturating_add(digits);
            continue;
        }
        let Some(d) = hex_value(c) else {
            let at = char_index(text, pos);
            return Err(PasteError {
                message: format!("“{}” at {} is not a hex digit (0-9, a-f)", char::from(c), place(at)),
                at: Some(at),
            });
        };
        match pending.take() {
            None => pending = Some((d, pos)),
            Some((hi, _)) => out.push(hi.wrapping_shl(4) | d),
        }
        i = i.saturating_add(1);
    }
    match pending {
        Some((_, p)) => Err(odd_digits(text, p)),
        None => Ok(()),
    }
}

fn odd_digits(text: &str, pos: usize) -> PasteError {
    let at = char_index(text, pos);
    PasteError {
        message: format!("the hex digit at {} has no partner: every byte is two digits (write 05, not 5)", place(at)),
        at: Some(at),
    }
}

fn read_base64(text: &str) -> Result<Vec<u8>, PasteError> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() {
        return Ok(Vec::new());
    }
    let url = compact.contains(['-', '_']);
    let (padded, bare) = if url { (URL_SAFE, URL_SAFE_NO_PAD) } else { (STANDARD, STANDARD_NO_PAD) };
    let result = if compact.ends_with('=') { padded.decode(&compact) } else { bare.decode(&compact) };
    result.map_err(|e| base64_error(&e, text, char::is_whitespace))
}

/// What is wrong with one base64 character.
enum Bad {
    Padding,
    Character,
    Last,
}

/// A base64 error in the page's words: `e` from decoding `text` without
/// the characters `skipped` says were left out (its offsets count bytes of
/// what was decoded; the error's `at` counts characters of `text`).
pub(crate) fn base64_error(e: &base64::DecodeError, text: &str, skipped: impl Fn(char) -> bool) -> PasteError {
    // The character whose bytes hold byte `offset` of what was decoded, and
    // its index in `text`.
    let find = |offset: usize| {
        let mut decoded = 0usize;
        for (i, c) in text.chars().enumerate() {
            if skipped(c) {
                continue;
            }
            decoded = decoded.saturating_add(c.len_utf8());
            if decoded > offset {
                return Some((i, c));
            }
        }
        None
    };
    let described = |offset: usize, byte: u8, what: Bad| {
        let found = find(offset);
        let c = found.map_or(char::from(byte), |(_, c)| c);
        let at = found.map_or_else(|| "the end".to_owned(), |(i, _)| place(i));
        let message = match what {
            Bad::Padding => format!("the “=” at {at} is padding, which may only end the text"),
            Bad::Character => format!("“{c}” at {at} is not a base64 character (A-Z, a-z, 0-9, + and /)"),
            Bad::Last => {
                format!("the last character, “{c}” at {at}, leaves bits over: the text is cut short or mistyped")
            }
        };
        PasteError { message, at: found.map(|(i, _)| i) }
    };
    match *e {
        base64::DecodeError::InvalidByte(offset, b'=') => described(offset, b'=', Bad::Padding),
        base64::DecodeError::InvalidByte(offset, byte) => described(offset, byte, Bad::Character),
        base64::DecodeError::InvalidLength(len) => PasteError {
            message: format!(
                "{} of base64 cannot be whole bytes: one is missing or one too many",
                plural(len, "character")
            ),
            at: None,
        },
        base64::DecodeError::InvalidLastSymbol { offset, symbol, .. } => described(offset, symbol, Bad::Last),
        base64::DecodeError::InvalidPadding => {
            PasteError { message: "the “=” padding at the end is wrong for this length".to_owned(), at: None }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        read(text, Format::Auto).unwrap().0
    }

    #[test]
    fn the_usual_spellings_of_hex() {
        let hello = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        for text in [
            "81 05 48 65 6c 6c 6f",
            "8105 4865 6c6c 6f",
            "0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f",
            "[0x81,0x05,0x48,0x65,0x6C,0x6C,0x6F]",
            "\\x81\\x05\\x48\\x65\\x6c\\x6c\\x6f",
            "81:05:48:65:6c:6c:6f",
            "810548656c6c6f",
        ] {
            assert_eq!(read(text, Format::Auto), Ok((hello.to_vec(), ReadAs::Hex)), "{text}");
        }
        assert_eq!(hex("0x5, 0xa"), [5, 10], "a prefixed byte may have one digit");
    }

    #[test]
    fn hex_dumps_lose_their_offsets_and_text() {
        // Wireshark's "Copy as Hex Dump".
        let wireshark = "0000   81 05 48 65 6c 6c 6f                              ..Hello\n";
        assert_eq!(read(wireshark, Format::Auto), Ok((hex("81 05 48 65 6c 6c 6f"), ReadAs::HexDump)));
        // hexdump -C, two lines, the second starting at 0x10.
        let c = "00000000  81 7e 00 12 61 62 63 64  65 66 67 68 69 6a 6b 6c  |.~..abcdefghijkl|\n\
                 00000010  6d 6e 6f 70 71 72                                |mnopqr|\n";
        let (bytes, how) = read(c, Format::Hex).unwrap();
        assert_eq!(how, ReadAs::HexDump);
        assert_eq!(bytes.len(), 22);
        assert_eq!(bytes.get(4..).unwrap(), b"abcdefghijklmnopqr");
        // xxd: groups of four digits.
        assert_eq!(hex("00000000: 8105 4865 6c6c 6f                        ..Hello"), hex("8105 4865 6c6c 6f"));
        // A text column that looks like hex is still the text column.
        assert_eq!(hex("0000  ab cd  ..\n"), [0xab, 0xcd]);
        assert_eq!(hex("0000  61 62  ab\n"), [0x61, 0x62]);
    }

    #[test]
    fn short_junk_is_an_error_that_says_where() {
        let e = read("test", Format::Auto).unwrap_err();
        assert_eq!(e.at, Some(0));
        assert!(e.message.starts_with("“t” at character 1 is not a hex digit"), "{}", e.message);
        assert!(e.message.contains("As base64 it would be 3 bytes (b5 eb 2d)"), "{}", e.message);
        let e = read("zz zz", Format::Hex).unwrap_err();
        assert_eq!(e.at, Some(0));
        let e = read("81 0", Format::Hex).unwrap_err();
        assert_eq!((e.at, e.message.contains("no partner")), (Some(3), true), "{}", e.message);
        let e = read("81\n05 4g", Format::Hex).unwrap_err();
        assert_eq!(e.at, Some(7), "indices count the whole text");
    }

    #[test]
    fn base64_when_it_is_clearly_base64() {
        assert_eq!(read("gQVIZWxsbw==", Format::Auto), Ok((hex("81 05 48 65 6c 6c 6f"), ReadAs::Base64)));
        assert_eq!(read("gQVIZWxsbw", Format::Base64), Ok((hex("81 05 48 65 6c 6c 6f"), ReadAs::Base64)));
        assert_eq!(read("dGVzdA", Format::Base64).map(|r| r.0), Ok(b"test".to_vec()));
        let e = read("gQVI.WxsbwAA", Format::Base64).unwrap_err();
        assert_eq!(e.at, Some(4));
        assert!(e.message.starts_with("“.” at character 5 is not a base64 character"), "{}", e.message);
        let e = read("gQVIZWxsbz", Format::Base64).unwrap_err();
        assert!(e.message.contains("leaves bits over"), "{}", e.message);
        let e = read("gQVIZ", Format::Base64).unwrap_err();
        assert!(e.message.contains("cannot be whole bytes"), "{}", e.message);
        let e = read("gQ=VIZWxsbw==", Format::Base64).unwrap_err();
        assert_eq!((e.at, e.message.contains("padding")), (Some(2), true), "{}", e.message);
        let e = read("gQVé", Format::Base64).unwrap_err();
        assert_eq!((e.at, e.message.starts_with("“é” at character 4")), (Some(3), true), "{}", e.message);
        assert_eq!(read("  ", Format::Auto), Ok((Vec::new(), ReadAs::Hex)));
    }
}
