//! The grammar of the header values the opening handshake reads and
//! writes: token lists (`Upgrade`, `Connection`, `Sec-WebSocket-Protocol`),
//! the `Sec-WebSocket-Extensions` list of RFC 6455 section 9.1, and what
//! may stand in a field value at all (RFC 7230 section 3.2).

use alloc::string::String;
use alloc::vec::Vec;

/// One parameter of an extension offer: `name` or `name=value`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ExtensionParam {
    /// Parameter name.
    pub name: String,
    /// Value, unquoted.
    pub value: Option<String>,
}

/// One extension from `Sec-WebSocket-Extensions` (section 9.1).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Extension {
    /// Extension token, e.g. `permessage-deflate`.
    pub name: String,
    /// Its parameters in order.
    pub params: Vec<ExtensionParam>,
}

/// Whether `v` can stand in a header field value: visible ASCII, spaces
/// and tabs (RFC 7230 section 3.2), so no CR or LF can split the head.
pub(crate) fn is_field_value(v: &str) -> bool {
    v.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
}

/// `v` without the spaces and tabs around it (RFC 7230 `OWS`).
pub(crate) fn trim(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// Header bytes as text, lossily.
pub(crate) fn text(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

/// RFC 7230 `tchar`.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

pub(crate) fn is_token(v: &[u8]) -> bool {
    !v.is_empty() && v.iter().all(|b| is_tchar(*b))
}

/// `1#token`: comma-separated tokens, empty elements allowed and skipped.
pub(crate) fn parse_token_list(value: &[u8]) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for t in value.split(|b| *b == b',').map(trim) {
        if t.is_empty() {
            continue;
        }
        if !is_token(t) {
            return None;
        }
        out.push(text(t));
    }
    (!out.is_empty()).then_some(out)
}

/// The `Sec-WebSocket-Extensions` grammar of section 9.1:
/// `extension *( "," extension )`, `extension = token *( ";" param )`,
/// `param = token [ "=" ( token | quoted-string ) ]`.
pub fn parse_extensions(value: &[u8]) -> Option<Vec<Extension>> {
    let mut out = Vec::new();
    let mut rest = value;
    loop {
        // RFC 7230 section 7: empty list elements are ignored.
        rest = skip_ws(rest);
        if let [b',', after @ ..] = rest {
            rest = after;
            continue;
        }
        if rest.is_empty() {
            return (!out.is_empty()).then_some(out);
        }
        let (name, after) = take_token(rest)?;
        let mut ext = Extension { name, params: Vec::new() };
        rest = skip_ws(after);
        while let [b';', after @ ..] = rest {
            let (name, after) = take_token(skip_ws(after))?;
            rest = skip_ws(after);
            let mut value = None;
            if let [b'=', after @ ..] = rest {
                let after = skip_ws(after);
                let (v, after) =
                    if let [b'"', quoted @ ..] = after { take_quoted(quoted)? } else { take_token(after)? };
                // Section 9.1: a quoted value must itself be a token.
                if !is_token(v.as_bytes()) {
                    return None;
                }
                value = Some(v);
                rest = skip_ws(after);
            }
            ext.params.push(ExtensionParam { name, value });
        }
        out.push(ext);
        match rest {
            [] => return Some(out),
            [b',', after @ ..] => rest = after,
            _ => return None,
        }
    }
}

fn skip_ws(v: &[u8]) -> &[u8] {
    let n = v.iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
    v.get(n..).unwrap_or_default()
}

fn take_token(v: &[u8]) -> Option<(String, &[u8])> {
    let n = v.iter().take_while(|b| is_tchar(**b)).count();
    let (t, rest) = v.split_at(n);
    (n > 0).then(|| (text(t), rest))
}

/// A quoted-string after its opening quote, with backslash escapes.
fn take_quoted(v: &[u8]) -> Option<(String, &[u8])> {
    let mut out = Vec::new();
    let mut it = v.iter().enumerate();
    while let Some((i, b)) = it.next() {
        match b {
            b'"' => return Some((text(&out), v.get(i.saturating_add(1)..).unwrap_or_default())),
            b'\\' => out.push(*it.next()?.1),
            b => out.push(*b),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_grammar() {
        let exts = parse_extensions(b"permessage-deflate; client_max_window_bits,, x; y=\"1\" ,").unwrap();
        let names: Vec<_> = exts.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["permessage-deflate", "x"]);
        assert_eq!(exts[1].params[0].value.as_deref(), Some("1"));
        for bad in [&b""[..], b",", b"a;", b"a; b=", b"a b", b"a; b=\"c d\"", b"a; b=\"unterminated"] {
            assert_eq!(parse_extensions(bad), None, "{:?}", core::str::from_utf8(bad));
        }
    }
}
