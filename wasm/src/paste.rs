//! Bytes as people paste them: hex in the usual spellings (`81 05 48`,
//! `0x81,0x05`, `\x81\x05`, `8105:48`), hex dumps with an offset column and
//! a text column (Wireshark's "Copy as Hex Dump", `hexdump -C`, `xxd`), or
//! base64. Errors say what is wrong in the page's words and where.

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
    let hex = read_hex(text);
    match (format, hex) {
        (Format::Hex, r) => r,
        (Format::Auto, Ok(r)) => Ok(r),
        (Format::Base64, _) => read_base64(text).map(|b| (b, ReadAs::Base64)),
        (Format::Auto, Err(hex_error)) => {
            let compact: usize = text.chars().filter(|c| !c.is_whitespace()).count();
            match read_base64(text) {
                Ok(b) if compact >= MIN_AUTO_BASE64 => Ok((b, ReadAs::Base64)),
                Ok(b) => Err(PasteError {
                    message: format!(
                        "{} As base64 it would be {} ({}): choose base64 if that is what you meant",
                        hex_error.message,
                        plural(b.len(), "byte"),
                        hex_preview(&b)
                    ),
                    at: hex_error.at,
                }),
                Err(_) => Err(PasteError {
                    message: format!("{} (and it is not base64 either)", hex_error.message),
                    at: hex_error.at,
                }),
            }
        }
    }
}

fn plural(n: usize, one: &str) -> String {
    if n == 1 { format!("1 {one}") } else { format!("{n} {one}s") }
}

fn hex_preview(bytes: &[u8]) -> String {
    let shown: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let more = if bytes.len() > 8 { " …" } else { "" };
    format!("{}{more}", shown.join(" "))
}

/// A character and its index in the whole text.
type Located = (usize, char);

fn read_hex(text: &str) -> Result<(Vec<u8>, ReadAs), PasteError> {
    let mut out = Vec::new();
    let mut dump = false;
    let mut start = 0usize;
    for line in text.split('\n') {
        let chars: Vec<Located> = line.chars().enumerate().map(|(i, c)| (start.saturating_add(i), c)).collect();
        start = start.saturating_add(chars.len()).saturating_add(1);
        if let Some(bytes) = dump_line(&chars) {
            out.extend(bytes);
            dump = true;
        } else {
            plain_hex(&chars, &mut out)?;
        }
    }
    Ok((out, if dump { ReadAs::HexDump } else { ReadAs::Hex }))
}

/// Splits a line into tokens at whitespace, with the index of each
/// token's first character.
fn tokens(chars: &[Located]) -> Vec<&[Located]> {
    chars.split(|(_, c)| c.is_whitespace()).filter(|t| !t.is_empty()).collect()
}

fn text_of(t: &[Located]) -> String {
    t.iter().map(|(_, c)| *c).collect()
}

/// A hex dump line: an offset (4 to 8 hex digits, perhaps with a colon),
/// then bytes in groups of 2 or 4 digits, then perhaps the bytes as text.
/// The bytes are taken only where the text column, if any, is exactly
/// those bytes as a dump prints them (`.` for what is not printable), so
/// a text column that looks like hex is not read as bytes.
fn dump_line(chars: &[Located]) -> Option<Vec<u8>> {
    let toks = tokens(chars);
    let (first, rest) = toks.split_first()?;
    let offset = text_of(first);
    let offset = offset.strip_suffix(':').unwrap_or(&offset);
    if rest.is_empty() || !(4..=8).contains(&offset.len()) || !offset.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    // The longest run of byte groups, then fewer, until the remainder is
    // their text column (or nothing).
    let groups: Vec<Vec<u8>> = rest
        .iter()
        .map(|t| text_of(t))
        .map_while(|t| (t.len() == 2 || t.len() == 4).then(|| decode_hex_digits(&t)).flatten())
        .collect();
    for n in (0..=groups.len()).rev() {
        let bytes: Vec<u8> = groups.iter().take(n).flatten().copied().collect();
        let remainder: String = rest.iter().skip(n).map(|t| text_of(t)).collect();
        let remainder = remainder.trim_matches('|');
        let shown: String = bytes.iter().map(|&b| printable(b)).filter(|c| !c.is_whitespace()).collect();
        if remainder == shown && !bytes.is_empty() {
            return Some(bytes);
        }
    }
    None
}

fn printable(b: u8) -> char {
    if (0x20..0x7f).contains(&b) { char::from(b) } else { '.' }
}

fn decode_hex_digits(t: &str) -> Option<Vec<u8>> {
    if t.len() % 2 != 0 || !t.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let digits: Vec<u8> = t.chars().filter_map(|c| c.to_digit(16)).filter_map(|d| u8::try_from(d).ok()).collect();
    Some(digits.chunks(2).map(|p| p.iter().fold(0u8, |acc, d| acc.wrapping_shl(4) | d)).collect())
}

/// Hex digits in any of the usual spellings: separators (whitespace, `,`,
/// `:`, `;`, brackets) ignored; `0x` and `\x` prefixes each mark one byte
/// (`0x5` is 05); bare digits pair up.
fn plain_hex(chars: &[Located], out: &mut Vec<u8>) -> Result<(), PasteError> {
    let mut pending: Option<Located> = None;
    let mut i = 0usize;
    while let Some(&(at, c)) = chars.get(i) {
        let next = chars.get(i.saturating_add(1)).map(|(_, c)| *c);
        if c.is_whitespace() || matches!(c, ',' | ':' | ';' | '[' | ']' | '{' | '}' | '(' | ')' | '"' | '\'') {
            i = i.saturating_add(1);
            continue;
        }
        let prefixed = (c == '0' && matches!(next, Some('x' | 'X'))) || (c == '\\' && matches!(next, Some('x' | 'X')));
        if prefixed {
            if let Some((at, _)) = pending {
                return Err(odd_digits(at));
            }
            let digits: Vec<Located> = chars
                .iter()
                .skip(i.saturating_add(2))
                .take_while(|(_, c)| c.is_ascii_hexdigit())
                .take(2)
                .copied()
                .collect();
            if digits.is_empty() {
                return Err(PasteError {
                    message: format!("“{c}x” at {} is not followed by a hex digit", place(at)),
                    at: Some(at),
                });
            }
            let value = digits
                .iter()
                .filter_map(|(_, d)| d.to_digit(16))
                .fold(0u32, |acc, d| acc.wrapping_mul(16).wrapping_add(d));
            out.push(u8::try_from(value).unwrap_or(0));
            i = i.saturating_add(2).saturating_add(digits.len());
            continue;
        }
        let Some(d) = c.to_digit(16) else {
            return Err(PasteError {
                message: format!("“{c}” at {} is not a hex digit (0-9, a-f)", place(at)),
                at: Some(at),
            });
        };
        match pending.take() {
            None => pending = Some((at, c)),
            Some((_, high)) => {
                let high = high.to_digit(16).unwrap_or(0);
                out.push(u8::try_from(high.wrapping_mul(16).wrapping_add(d)).unwrap_or(0));
            }
        }
        i = i.saturating_add(1);
    }
    match pending {
        Some((at, _)) => Err(odd_digits(at)),
        None => Ok(()),
    }
}

fn odd_digits(at: usize) -> PasteError {
    PasteError {
        message: format!("the hex digit at {} has no partner: every byte is two digits (write 05, not 5)", place(at)),
        at: Some(at),
    }
}

fn place(at: usize) -> String {
    format!("character {}", at.saturating_add(1))
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

/// A base64 error in the page's words: `e` from decoding `text` without
/// the characters `skipped` says were left out (its offsets count bytes of
/// what was decoded; the error's `at` counts characters of `text`).
pub(crate) fn base64_error(e: &base64::DecodeError, text: &str, skipped: impl Fn(char) -> bool) -> PasteError {
    // Each decoded byte's character, and that character's index in `text`.
    let kept: Vec<Located> = text
        .chars()
        .enumerate()
        .filter(|(_, c)| !skipped(*c))
        .flat_map(|(i, c)| core::iter::repeat_n((i, c), c.len_utf8()))
        .collect();
    let at = |offset: usize| kept.get(offset).copied();
    let where_ = |offset: usize| at(offset).map_or_else(|| "the end".to_owned(), |(i, _)| place(i));
    let shown = |offset: usize, byte: u8| at(offset).map_or(char::from(byte), |(_, c)| c);
    match *e {
        base64::DecodeError::InvalidByte(offset, byte) => PasteError {
            message: if byte == b'=' {
                format!("the “=” at {} is padding, which may only end the text", where_(offset))
            } else {
                format!(
                    "“{}” at {} is not a base64 character (A-Z, a-z, 0-9, + and /)",
                    shown(offset, byte),
                    where_(offset)
                )
            },
            at: at(offset).map(|(i, _)| i),
        },
        base64::DecodeError::InvalidLength(len) => PasteError {
            message: format!(
                "{} of base64 cannot be whole bytes: one is missing or one too many",
                plural(len, "character")
            ),
            at: None,
        },
        base64::DecodeError::InvalidLastSymbol { offset, symbol, .. } => PasteError {
            message: format!(
                "the last character, “{}” at {}, leaves bits over: the text is cut short or mistyped",
                shown(offset, symbol),
                where_(offset)
            ),
            at: at(offset).map(|(i, _)| i),
        },
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
