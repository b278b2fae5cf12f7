//! Reading the page's arguments by hand: serde's deserializer would bring
//! float formatting and its generic machinery into the module (about 15 KB)
//! for a few small objects. Every refusal names the field at fault.

use wasm_bindgen::{JsError, JsValue};
use wscope_core::Role;
use wscope_core::deflate::{DeflateParams, MAX_WINDOW_BITS, MIN_WINDOW_BITS};

/// `obj[name]`, `None` when `obj` or the field is undefined or null.
pub(crate) fn field(obj: &JsValue, name: &str) -> Result<Option<JsValue>, JsError> {
    if obj.is_undefined() || obj.is_null() {
        return Ok(None);
    }
    if !obj.is_object() {
        return Err(JsError::new("the options must be an object"));
    }
    let v = js_sys::Reflect::get(obj, &JsValue::from_str(name))
        .map_err(|_| JsError::new(&format!("cannot read the field {name}")))?;
    Ok((!v.is_undefined() && !v.is_null()).then_some(v))
}

pub(crate) fn number(obj: &JsValue, name: &str) -> Result<Option<f64>, JsError> {
    field(obj, name)?.map(|v| v.as_f64().ok_or_else(|| JsError::new(&format!("{name} must be a number")))).transpose()
}

pub(crate) fn boolean(obj: &JsValue, name: &str) -> Result<Option<bool>, JsError> {
    field(obj, name)?
        .map(|v| v.as_bool().ok_or_else(|| JsError::new(&format!("{name} must be true or false"))))
        .transpose()
}

pub(crate) fn string(obj: &JsValue, name: &str) -> Result<Option<String>, JsError> {
    field(obj, name)?
        .map(|v| v.as_string().ok_or_else(|| JsError::new(&format!("{name} must be a string"))))
        .transpose()
}

/// `n` as a byte, if it is a whole number from 0 to `max`.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub(crate) fn small_whole(n: f64, max: u8) -> Option<u8> {
    (n.fract() == 0.0 && (0.0..=f64::from(max)).contains(&n)).then_some(n as u8)
}

/// An array (or typed array) of whole numbers 0-255.
pub(crate) fn bytes(obj: &JsValue, name: &str) -> Result<Option<Vec<u8>>, JsError> {
    let Some(v) = field(obj, name)? else { return Ok(None) };
    let bad = || JsError::new(&format!("{name} must be an array of bytes (whole numbers 0-255)"));
    if !js_sys::Array::is_array(&v) && !wasm_bindgen::JsCast::is_instance_of::<js_sys::Uint8Array>(&v) {
        return Err(bad());
    }
    js_sys::Array::from(&v)
        .iter()
        .map(|x| x.as_f64().and_then(|n| small_whole(n, 255)).ok_or_else(bad))
        .collect::<Result<Vec<u8>, JsError>>()
        .map(Some)
}

/// An array of exactly `N` booleans.
pub(crate) fn booleans<const N: usize>(obj: &JsValue, name: &str) -> Result<Option<[bool; N]>, JsError> {
    let Some(v) = field(obj, name)? else { return Ok(None) };
    let bad = || JsError::new(&format!("{name} must be an array of {N} booleans"));
    if !js_sys::Array::is_array(&v) {
        return Err(bad());
    }
    let array = js_sys::Array::from(&v);
    if array.length() as usize != N {
        return Err(bad());
    }
    let mut out = [false; N];
    for (slot, x) in out.iter_mut().zip(array.iter()) {
        *slot = x.as_bool().ok_or_else(bad)?;
    }
    Ok(Some(out))
}

/// A JavaScript number as a whole count of bytes: fractions are cut,
/// values past `u64::MAX` saturate; negative or non-finite is no number.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub(crate) fn whole(x: f64) -> Option<u64> {
    (x.is_finite() && x >= 0.0).then_some(x as u64)
}

/// A length in bytes: a whole number, or its decimal digits as a string
/// (exact past 2^53, where JavaScript numbers are not); refused past
/// 2^64 − 1, the largest length a header can state, rather than clamped.
pub(crate) fn byte_count(obj: &JsValue, name: &str, what: &str) -> Result<Option<u64>, JsError> {
    let Some(v) = field(obj, name)? else { return Ok(None) };
    let bad = || JsError::new(&format!("{what} is a whole number of bytes, at most {} (2^64 − 1)", u64::MAX));
    if let Some(s) = v.as_string() {
        let t = s.trim();
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        return t.parse::<u64>().map(Some).map_err(|_| bad());
    }
    let n = v.as_f64().ok_or_else(bad)?;
    // 2^53 - 1: past it a JavaScript number is not exact.
    if n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n <= 9_007_199_254_740_991.0 {
        Ok(whole(n))
    } else {
        Err(bad())
    }
}

/// An optional limit in bytes.
pub(crate) fn limit(obj: &JsValue, name: &str) -> Result<Option<u64>, JsError> {
    Ok(number(obj, name)?.and_then(whole))
}

/// `"client"` or `"server"`; anything else is an unknown sender.
pub(crate) fn role(name: &str) -> Option<Role> {
    match name {
        "client" => Some(Role::Client),
        "server" => Some(Role::Server),
        _ => None,
    }
}

/// The name the page uses for a role.
pub(crate) const fn role_name(role: Role) -> &'static str {
    match role {
        Role::Client => "client",
        Role::Server => "server",
    }
}

/// Window bits as the page gives them: absent, or a whole number in the
/// range the core allows.
fn window_bits(obj: &JsValue, name: &str, what: &str) -> Result<Option<u8>, JsError> {
    match number(obj, name)? {
        None => Ok(None),
        Some(n) => small_whole(n, MAX_WINDOW_BITS)
            .filter(|b| *b >= MIN_WINDOW_BITS)
            .map(Some)
            .ok_or_else(|| JsError::new(&format!("{what} must be a whole number {MIN_WINDOW_BITS}-{MAX_WINDOW_BITS}"))),
    }
}

/// permessage-deflate parameters for the page: `true` for the defaults, or
/// an object with any of the four parameters (booleans and window bits).
pub(crate) fn deflate(options: &JsValue) -> Result<Option<DeflateParams>, JsError> {
    let Some(v) = field(options, "deflate")? else { return Ok(None) };
    if let Some(on) = v.as_bool() {
        return Ok(on.then(DeflateParams::default));
    }
    let d = DeflateParams::default();
    let server_bits = window_bits(&v, "server_max_window_bits", "deflate.server_max_window_bits")?;
    let client_bits = window_bits(&v, "client_max_window_bits", "deflate.client_max_window_bits")?;
    Ok(Some(DeflateParams {
        server_no_context_takeover: boolean(&v, "server_no_context_takeover")?.unwrap_or(false),
        client_no_context_takeover: boolean(&v, "client_no_context_takeover")?.unwrap_or(false),
        server_max_window_bits: server_bits.unwrap_or(d.server_max_window_bits),
        client_max_window_bits: client_bits.unwrap_or(d.client_max_window_bits),
    }))
}

/// The builder's `compressed` field: `true` or `{ window_bits? }`, the
/// window the payload was compressed with; `None` when absent or `false`.
pub(crate) fn compressed(spec: &JsValue) -> Result<Option<u8>, JsError> {
    let Some(v) = field(spec, "compressed")? else { return Ok(None) };
    if let Some(on) = v.as_bool() {
        return Ok(on.then_some(MAX_WINDOW_BITS));
    }
    Ok(Some(window_bits(&v, "window_bits", "compressed.window_bits")?.unwrap_or(MAX_WINDOW_BITS)))
}
