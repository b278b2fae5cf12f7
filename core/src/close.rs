//! Close codes and close frame payloads (RFC 6455 sections 5.5.1 and 7.4).

use alloc::string::String;
use alloc::vec::Vec;

/// A close status code (section 7.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CloseCode(pub u16);

#[allow(missing_docs)]
impl CloseCode {
    pub const NORMAL: CloseCode = CloseCode(1000);
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    pub const NO_STATUS_RECEIVED: CloseCode = CloseCode(1005);
    pub const ABNORMAL_CLOSURE: CloseCode = CloseCode(1006);
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    pub const SERVICE_RESTART: CloseCode = CloseCode(1012);
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);
    pub const BAD_GATEWAY: CloseCode = CloseCode(1014);
    pub const TLS_HANDSHAKE: CloseCode = CloseCode(1015);
}

impl CloseCode {
    /// The registered name (section 7.4.1 and the IANA registry).
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            1000 => "Normal Closure",
            1001 => "Going Away",
            1002 => "Protocol Error",
            1003 => "Unsupported Data",
            1005 => "No Status Received",
            1006 => "Abnormal Closure",
            1007 => "Invalid Frame Payload Data",
            1008 => "Policy Violation",
            1009 => "Message Too Big",
            1010 => "Mandatory Extension",
            1011 => "Internal Error",
            1012 => "Service Restart",
            1013 => "Try Again Later",
            1014 => "Bad Gateway",
            1015 => "TLS Handshake",
            _ => return None,
        })
    }

    /// Whether the code may appear in a close frame (sections 7.4.1-7.4.2):
    /// the defined codes that are not reserved for local use (1005, 1006,
    /// 1015), 1012-1014 from the IANA registry, and 3000-4999 for libraries,
    /// frameworks and applications. 0-999, 1004 and 1016-2999 are reserved.
    pub const fn is_sendable(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }

    /// [`Self::browser_may_close`]'s codes, as the explorer says them.
    pub const BROWSER_CLOSE_CODES: &'static str = "1000 or 3000-4999";

    /// Whether a page may pass this code to the browser's `WebSocket.close()`:
    /// 1000, or 3000-4999 (the WHATWG WebSockets standard; any other code
    /// throws `InvalidAccessError` and nothing is sent, 1001-1015 included,
    /// which the browser keeps for itself).
    pub const fn browser_may_close(self) -> bool {
        matches!(self.0, 1000 | 3000..=4999)
    }

    /// Whether the code says the closing endpoint met a failure: every code
    /// but 1000 (normal closure) and 1001 (going away), section 7.4.1.
    pub const fn reports_error(self) -> bool {
        !matches!(self.0, 1000 | 1001)
    }

    /// Which range of section 7.4.2 the code falls in.
    pub const fn range(self) -> &'static str {
        match self.0 {
            0..=999 => "0-999: not used",
            1000..=2999 => "1000-2999: reserved for this protocol and its extensions",
            3000..=3999 => "3000-3999: registered with IANA for libraries and frameworks",
            4000..=4999 => "4000-4999: private use by applications",
            _ => "5000 and above: not defined by RFC 6455",
        }
    }
}

impl core::fmt::Display for CloseCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{} ({name})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

/// The body of a close frame: an optional code, and a reason only with one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CloseFrame {
    /// The status code; `None` for an empty close payload.
    pub code: Option<CloseCode>,
    /// The UTF-8 reason (empty without a code).
    pub reason: String,
}

/// Maximum reason length: a control payload holds 125 bytes, 2 go to the code.
pub const MAX_REASON_LEN: usize = 123;

/// Appends a close payload. `reason` is cut to [`MAX_REASON_LEN`] bytes on a
/// character boundary, and dropped without a code.
pub fn encode_close_payload(code: Option<CloseCode>, reason: &str, out: &mut Vec<u8>) {
    if let Some(code) = code {
        out.extend_from_slice(&code.0.to_be_bytes());
        out.extend_from_slice(truncate_reason(reason).as_bytes());
    }
}

/// `reason` cut to at most [`MAX_REASON_LEN`] bytes on a character boundary.
pub fn truncate_reason(reason: &str) -> &str {
    let mut end = reason.len().min(MAX_REASON_LEN);
    while !reason.is_char_boundary(end) {
        end = end.saturating_sub(1);
    }
    reason.get(..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sendable_codes_match_section_7_4() {
        for code in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999] {
            assert!(CloseCode(code).is_sendable(), "{code}");
        }
        for code in [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535] {
            assert!(!CloseCode(code).is_sendable(), "{code}");
        }
    }

    #[test]
    fn the_browser_closes_with_1000_and_the_application_range_only() {
        for code in [1000, 3000, 3999, 4000, 4999] {
            assert!(CloseCode(code).browser_may_close(), "{code}");
        }
        for code in [0, 999, 1001, 1002, 1005, 1011, 1015, 2999, 5000, 65535] {
            assert!(!CloseCode(code).browser_may_close(), "{code}");
        }
    }

    #[test]
    fn reason_is_cut_on_a_character_boundary() {
        let long = "é".repeat(100);
        let cut = truncate_reason(&long);
        assert_eq!(cut.len(), 122);
        let mut out = Vec::new();
        encode_close_payload(Some(CloseCode::NORMAL), &long, &mut out);
        assert_eq!(out.len(), 124);
        out.clear();
        encode_close_payload(None, "dropped", &mut out);
        assert!(out.is_empty());
    }
}
