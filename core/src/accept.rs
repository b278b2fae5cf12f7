//! The `Sec-WebSocket-Accept` value (RFC 6455 section 4.2.2, step 5, item 4).

use alloc::string::String;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest as _, Sha1};

/// The GUID every server appends to the client's key (section 1.3).
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `base64(SHA-1(key ‖ GUID))`: what a server answers to `Sec-WebSocket-Key`.
///
/// `key` is the header value exactly as sent (its base64 text, not the
/// decoded nonce); the RFC hashes the text.
pub fn accept_key(key: &[u8]) -> String {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(GUID.as_bytes());
    STANDARD.encode(sha.finalize())
}

/// The `Sec-WebSocket-Key` text for a 16-byte nonce (section 4.1, item 7).
pub fn key_from_nonce(nonce: [u8; 16]) -> String {
    STANDARD.encode(nonce)
}

/// Whether `key` is the base64 encoding of exactly 16 bytes (section 4.2.1,
/// item 5): 24 characters, canonical padding.
pub fn is_valid_key(key: &[u8]) -> bool {
    let mut nonce = [0u8; 18];
    key.len() == 24 && matches!(STANDARD.decode_slice(key, &mut nonce), Ok(16))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_example() {
        assert_eq!(accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn key_validation() {
        assert!(is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(is_valid_key(key_from_nonce([0xff; 16]).as_bytes()));
        // 15 and 17 bytes, missing padding, non-canonical trailing bits, junk.
        assert!(!is_valid_key(&key_from_nonce([0; 16]).as_bytes()[..22]));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ"));
        assert!(!is_valid_key(b"AAAAAAAAAAAAAAAAAAAAAA=="[..20].as_ref()));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZR=="));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25j!Q=="));
        assert!(!is_valid_key(b"AAAAAAAAAAAAAAAAAAAAAAA="));
    }
}
