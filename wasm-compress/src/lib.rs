//! The builder's compressor, as a wasm module of its own.
//!
//! Compressing is the one thing of permessage-deflate only the builder
//! does (the inspector and the live view inflate); miniz_oxide's
//! compressor is about 15 KB of wasm, a fifth of the explorer's module. So
//! it lives here, and the page loads this module the first time someone
//! ticks "Compress". The explorer's module then builds the frame from the
//! compressed bytes and judges it (`build_frame`'s `compressed` field).

use wasm_bindgen::prelude::*;
use wscope_core::deflate::{DEFAULT_LEVEL, MAX_WINDOW_BITS, MIN_WINDOW_BITS};

/// A whole message compressed as permessage-deflate sends it in one
/// message (RFC 7692 section 7.2.1: a fresh window of `window_bits`, the
/// final empty block's trailer removed). `level`: 0-9, default 6.
#[wasm_bindgen]
pub fn compress_message(payload: &[u8], window_bits: f64, level: Option<f64>) -> Result<Vec<u8>, JsError> {
    let whole = |n: f64, lo: u8, hi: u8| {
        (n.fract() == 0.0 && n >= f64::from(lo) && n <= f64::from(hi)).then(|| {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let n = n as u8;
            n
        })
    };
    let bits = whole(window_bits, MIN_WINDOW_BITS, MAX_WINDOW_BITS).ok_or_else(|| {
        JsError::new(&format!("window_bits must be a whole number {MIN_WINDOW_BITS}-{MAX_WINDOW_BITS}"))
    })?;
    let level = match level {
        None => DEFAULT_LEVEL,
        Some(n) => u32::from(whole(n, 0, 9).ok_or_else(|| JsError::new("level must be a whole number 0-9"))?),
    };
    wscope_core::deflate::compress_message(payload, bits, level).map_err(|e| JsError::new(&e.to_string()))
}

// Talc, as in the explorer's module: smaller than dlmalloc.
#[cfg(all(feature = "allocator", target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
