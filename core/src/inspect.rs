//! The explorer's judgement of a byte stream: decode as far as the bytes go
//! and list every violation, with its close code and RFC section, where the
//! live [`crate::connection`] stops at the first.
//!
//! The rules are the ones in [`crate::rules`], [`crate::close`] and
//! [`crate::utf8`]; this module only keeps going where a connection would
//! have failed.

use crate::Decoded;
use crate::close::{CloseCode, parse_close_payload};
use crate::deflate::{DeflateParams, InflateError, MessageInflater};
use crate::frame::FrameHeader;
use crate::mask::apply_mask;
use crate::rules::{DataKind, FrameRole, FrameRules, RSV1, Sender, Sequencer, Violation};
use crate::utf8::Utf8Validator;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// What the inspector assumes about the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InspectOptions {
    /// Who sent the bytes (decides the masking rule).
    pub sender: Sender,
    /// Frame size limit to judge against, if any.
    pub max_frame_size: Option<u64>,
    /// Message size limit to judge against, if any.
    pub max_message_size: Option<u64>,
    /// Most frames to decode; the rest of the input is left unread and
    /// [`Inspection::stopped_at`] says where. Default 10 000.
    pub max_frames: usize,
    /// permessage-deflate as negotiated for the stream: RSV1 marks
    /// compressed messages, which are inflated (keeping the context across
    /// messages unless the sender's no_context_takeover is set).
    pub deflate: Option<DeflateParams>,
}

/// Most bytes a compressed message is inflated to when no message limit is
/// given (a deflate bomb stops here).
pub const INFLATE_CAP: u64 = 16 << 20;

impl Default for InspectOptions {
    fn default() -> Self {
        InspectOptions {
            sender: Sender::Unknown,
            max_frame_size: None,
            max_message_size: None,
            max_frames: 10_000,
            deflate: None,
        }
    }
}

/// One frame as found in the bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InspectedFrame {
    /// Offset of the frame's first byte in the input.
    pub offset: usize,
    /// The header.
    pub header: FrameHeader,
    /// The header's length in bytes.
    pub header_len: usize,
    /// The payload bytes present, unmasked (all of them if `complete`).
    pub payload: Vec<u8>,
    /// Whether the whole payload is present.
    pub complete: bool,
    /// What the frame is to the message layer.
    pub role: FrameRole,
    /// Every rule this frame breaks.
    pub violations: Vec<Violation>,
    /// For a complete, valid close frame: its code and reason.
    pub close: Option<(Option<CloseCode>, String)>,
}

/// A data message assembled from frames.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InspectedMessage {
    /// Text or binary.
    pub kind: DataKind,
    /// Indexes into [`Inspection::frames`] of the frames it was built from.
    pub frames: Vec<usize>,
    /// The payload, unmasked and joined (inflated if `compressed`; the
    /// frames hold the compressed bytes).
    pub payload: Vec<u8>,
    /// Whether it was sent compressed (RSV1 on its first frame).
    pub compressed: bool,
    /// Whether its final frame was seen.
    pub complete: bool,
    /// For text: the text, if it is valid UTF-8 (up to where it ends).
    pub text: Option<String>,
}

/// A header cut short at the end of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartialHeader {
    /// Offset of its first byte.
    pub offset: usize,
    /// Bytes present.
    pub have: usize,
    /// Bytes still needed for the header.
    pub needed: usize,
}

/// Everything found in the bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inspection {
    /// The frames, in order.
    pub frames: Vec<InspectedFrame>,
    /// The data messages they form.
    pub messages: Vec<InspectedMessage>,
    /// A header cut short at the end, if any.
    pub partial_header: Option<PartialHeader>,
    /// Where decoding stopped at [`InspectOptions::max_frames`], if it did.
    pub stopped_at: Option<usize>,
}

impl Inspection {
    /// Every violation with the index of its frame, in stream order.
    pub fn violations(&self) -> impl Iterator<Item = (usize, &Violation)> {
        self.frames.iter().enumerate().flat_map(|(i, f)| f.violations.iter().map(move |v| (i, v)))
    }
}

/// Decodes every frame in `bytes` and judges each against every rule.
pub fn inspect(bytes: &[u8], options: &InspectOptions) -> Inspection {
    let allowed_rsv = if options.deflate.is_some() { RSV1 } else { 0 };
    let rules = FrameRules { sender: options.sender, allowed_rsv, max_frame_size: options.max_frame_size };
    let no_context_takeover = options.deflate.is_some_and(|p| match options.sender {
        Sender::Client => p.client_no_context_takeover,
        Sender::Server => p.server_no_context_takeover,
        Sender::Unknown => false,
    });
    let inflate_cap = options.max_message_size.unwrap_or(INFLATE_CAP);
    let mut inflater: Option<MessageInflater> = None;
    let mut inflate_failed = false;
    let mut seq = Sequencer::new(options.max_message_size);
    let mut utf8 = Utf8Validator::new();
    let mut utf8_failed = false;
    let mut out = Inspection::default();
    let mut current: Option<usize> = None;
    let mut offset = 0usize;
    while offset < bytes.len() {
        if out.frames.len() >= options.max_frames {
            out.stopped_at = Some(offset);
            break;
        }
        let rest = bytes.get(offset..).unwrap_or_default();
        let (header, header_len) = match FrameHeader::decode(rest) {
            Decoded::Complete { value, len } => (value, len),
            Decoded::Incomplete { needed } => {
                out.partial_header = Some(PartialHeader { offset, have: rest.len(), needed });
                break;
            }
        };
        let mut violations = rules.violations(&header);
        let (role, order) = seq.next(&header);
        violations.extend(order);
        let body = rest.get(header_len..).unwrap_or_default();
        let present = usize::try_from(header.payload_len).unwrap_or(usize::MAX).min(body.len());
        let mut payload = body.get(..present).unwrap_or_default().to_vec();
        if let Some(key) = header.mask {
            apply_mask(&mut payload, key, 0);
        }
        let complete = present as u64 == header.payload_len;
        let index = out.frames.len();
        let mut close = None;
        match role {
            FrameRole::Data { kind, first, last } => {
                if first {
                    current = Some(out.messages.len());
                    out.messages.push(InspectedMessage {
                        kind,
                        frames: Vec::new(),
                        payload: Vec::new(),
                        compressed: options.deflate.is_some() && header.rsv[0],
                        complete: false,
                        text: None,
                    });
                    utf8.reset();
                    utf8_failed = false;
                    inflate_failed = false;
                }
                if let Some(m) = current.and_then(|i| out.messages.get_mut(i)) {
                    m.frames.push(index);
                    let text = kind == DataKind::Text;
                    let end = last && complete;
                    // Text is checked as it comes out, in the order a
                    // connection finds things: this frame's bytes (inflated
                    // if compressed), then what the end of the message adds.
                    let mut check_utf8 = |from: usize, payload: &[u8], at_end: bool| {
                        if text && !utf8_failed {
                            let mut check = utf8.feed(payload.get(from..).unwrap_or_default());
                            if check.is_ok() && at_end {
                                check = utf8.finish();
                            }
                            if let Err(e) = check {
                                utf8_failed = true;
                                violations.push(Violation::InvalidUtf8 { offset: e.offset });
                            }
                        }
                        !utf8_failed
                    };
                    let at = m.payload.len();
                    if !m.compressed {
                        m.payload.extend_from_slice(&payload);
                        check_utf8(at, &m.payload, end);
                    } else if !inflate_failed {
                        let inf = inflater.get_or_insert_with(|| MessageInflater::new(no_context_takeover));
                        // What came out before an inflate error is checked
                        // first, as a reader fed smaller pieces would.
                        let mut r = inf.inflate(&payload, &mut m.payload, inflate_cap);
                        check_utf8(at, &m.payload, false);
                        // Finished even after a UTF-8 failure: the end puts the
                        // trailer back and resets the window as agreed, so the
                        // next message is read right.
                        if r.is_ok() && end {
                            let tail = m.payload.len();
                            r = inf.finish(&mut m.payload, inflate_cap);
                            check_utf8(tail, &m.payload, r.is_ok());
                        }
                        if let Err(e) = r {
                            inflate_failed = true;
                            // The context is lost: later messages start afresh.
                            inflater = None;
                            violations.push(match e {
                                InflateError::Invalid => Violation::InvalidDeflate,
                                InflateError::TooLarge { max } => Violation::InflatedTooLarge { max },
                            });
                        }
                    }
                    m.complete = last && complete;
                }
                if last {
                    current = None;
                }
            }
            FrameRole::Control(crate::frame::OpCode::Close) if complete => match parse_close_payload(&payload) {
                Ok((code, reason)) => close = Some((code, reason.to_string())),
                Err(v) => violations.push(v),
            },
            _ => {}
        }
        out.frames.push(InspectedFrame { offset, header, header_len, payload, complete, role, violations, close });
        if !complete {
            break;
        }
        offset = offset.saturating_add(header_len).saturating_add(present);
    }
    // Once per message, not per frame: a message of many tiny frames stays linear.
    for m in &mut out.messages {
        if m.kind == DataKind::Text {
            m.text = valid_prefix_text(&m.payload, m.complete);
        }
    }
    out
}

/// The text of a message so far: all of it if valid, or, for an unfinished
/// message, everything but a character cut at the end.
fn valid_prefix_text(payload: &[u8], complete: bool) -> Option<String> {
    match core::str::from_utf8(payload) {
        Ok(s) => Some(s.to_string()),
        Err(e) if !complete && e.error_len().is_none() => {
            core::str::from_utf8(payload.get(..e.valid_up_to()).unwrap_or_default()).ok().map(ToString::to_string)
        }
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::close::CloseCode;
    use crate::frame::{LengthForm, OpCode};

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn rfc_fragments_form_one_message() {
        let bytes = hex("010348656c80026c6f");
        let r = inspect(&bytes, &InspectOptions { sender: Sender::Server, ..Default::default() });
        assert_eq!(r.frames.len(), 2);
        assert!(r.violations().next().is_none());
        assert_eq!(r.messages.len(), 1);
        assert_eq!((r.messages[0].text.as_deref(), r.messages[0].complete), (Some("Hello"), true));
        assert_eq!(r.messages[0].frames, [0, 1]);
    }

    #[test]
    fn lists_every_violation_and_goes_on() {
        let mut bytes = Vec::new();
        // Stray continuation, unmasked text from a client, a 126-byte ping
        // with a non-minimal length, then a close with code 1005.
        bytes.extend(hex("800161"));
        bytes.extend(hex("810162"));
        bytes.extend(hex("897e007e"));
        bytes.extend([0u8; 126]);
        bytes.extend(hex("880203ed"));
        let r = inspect(&bytes, &InspectOptions { sender: Sender::Client, ..Default::default() });
        assert_eq!(r.frames.len(), 4);
        let all: Vec<_> = r.violations().map(|(i, v)| (i, *v)).collect();
        assert_eq!(
            all,
            [
                (0, Violation::UnmaskedClientFrame),
                (0, Violation::UnexpectedContinuation),
                (1, Violation::UnmaskedClientFrame),
                (2, Violation::UnmaskedClientFrame),
                (2, Violation::ControlTooLong { len: 126 }),
                (3, Violation::UnmaskedClientFrame),
                (3, Violation::InvalidCloseCode { code: 1005 }),
            ]
        );
        assert_eq!(r.messages.len(), 1);
        assert_eq!(r.frames[2].header.length_form, LengthForm::Extended16);
    }

    #[test]
    fn partial_input_is_reported_not_refused() {
        let bytes = hex("818537fa213d7f9f4d");
        let r = inspect(&bytes, &InspectOptions { sender: Sender::Client, ..Default::default() });
        assert_eq!(r.frames.len(), 1);
        assert!(!r.frames[0].complete);
        assert_eq!(r.frames[0].payload, b"Hel");
        assert_eq!(r.messages[0].text.as_deref(), Some("Hel"));
        let r = inspect(&hex("827f0000"), &InspectOptions::default());
        assert_eq!(r.partial_header, Some(PartialHeader { offset: 0, have: 4, needed: 6 }));
    }

    #[test]
    fn many_tiny_fragments_stay_linear_and_capped() {
        let mut bytes = hex("010161");
        for _ in 0..200_000 {
            bytes.extend(hex("000161"));
        }
        let r = inspect(&bytes, &InspectOptions::default());
        assert_eq!(r.frames.len(), 10_000);
        assert_eq!(r.stopped_at, Some(30_000));
        assert_eq!(r.messages[0].text.as_deref().map(str::len), Some(10_000));
    }

    #[test]
    fn invalid_utf8_and_close_details() {
        let r = inspect(&hex("8103ceba ff".replace(' ', "").as_str()), &InspectOptions::default());
        assert_eq!(r.frames[0].violations, [Violation::InvalidUtf8 { offset: 2 }]);
        assert_eq!(r.messages[0].text, None);
        let r = inspect(&hex("880503e8686921"), &InspectOptions::default());
        assert_eq!(r.frames[0].close, Some((Some(CloseCode::NORMAL), "hi!".into())));
        assert_eq!(r.frames[0].header.opcode, OpCode::Close);
    }

    #[test]
    fn text_that_inflates_invalid_is_judged_before_the_end_of_the_stream() {
        // Found by the connection fuzz target: the piece inflates to
        // `74 f8` (0xF8 is never UTF-8) and the stream is broken after it;
        // a connection sees the UTF-8 first, and so must the inspector.
        let data = [0xc1u8, 0x03, 0x2a, 0xf9, 0x81];
        let p = DeflateParams { server_no_context_takeover: true, ..DeflateParams::default() };
        let r = inspect(&data, &InspectOptions { sender: Sender::Server, deflate: Some(p), ..Default::default() });
        // The first is what a connection fails on; the broken stream is
        // listed after it.
        assert_eq!(r.frames[0].violations, [Violation::InvalidUtf8 { offset: 1 }, Violation::InvalidDeflate]);
        let mut c = crate::Connection::client(
            crate::Config { deflate: Some(p), ..Default::default() },
            alloc::boxed::Box::new(|| [1, 2, 3, 4]),
        );
        c.receive_data(&data);
        match c.next_event() {
            Some(crate::Event::Failed(e)) => assert_eq!(e.violation, Violation::InvalidUtf8 { offset: 1 }),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_message_after_compressed_invalid_text_is_still_inflated() {
        // From review: `c1 07 00 01 00 fe ff ff 00` inflates to `ff` (not
        // UTF-8); the next message, RFC 7692's "Hello", must still read.
        let data = [
            0xc1u8, 0x07, 0x00, 0x01, 0x00, 0xfe, 0xff, 0xff, 0x00, 0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07,
            0x00,
        ];
        for nct in [false, true] {
            let p = DeflateParams { server_no_context_takeover: nct, ..DeflateParams::default() };
            let r = inspect(&data, &InspectOptions { sender: Sender::Server, deflate: Some(p), ..Default::default() });
            assert_eq!(r.frames[0].violations, [Violation::InvalidUtf8 { offset: 0 }]);
            assert!(r.frames[1].violations.is_empty(), "{:?}", r.frames[1].violations);
            assert_eq!(r.messages[1].text.as_deref(), Some("Hello"));
        }
    }

    #[test]
    fn compressed_messages_are_inflated_with_their_context() {
        // RFC 7692 7.2.3.1 and 7.2.3.2 from a server: "Hello" twice, the
        // second referring to the first; then RSV1 on a ping.
        let bytes = hex("c107f248cdc9c90700c105f200110000c900");
        let deflate = Some(DeflateParams::default());
        let r = inspect(&bytes, &InspectOptions { sender: Sender::Server, deflate, ..Default::default() });
        let texts: Vec<_> = r.messages.iter().map(|m| (m.compressed, m.text.as_deref())).collect();
        assert_eq!(texts, [(true, Some("Hello")), (true, Some("Hello"))]);
        assert_eq!(r.frames[0].payload, hex("f248cdc9c90700"), "frames keep the compressed bytes");
        let all: Vec<_> = r.violations().map(|(i, v)| (i, *v)).collect();
        assert_eq!(all, [(2, Violation::ReservedBits { bits: 0b100 })]);
        // Without the extension RSV1 is a violation and nothing is inflated.
        let r = inspect(&bytes, &InspectOptions { sender: Sender::Server, ..Default::default() });
        assert_eq!(
            r.frames[0].violations,
            [Violation::ReservedBits { bits: 0b100 }, Violation::InvalidUtf8 { offset: 0 }]
        );
        assert!(!r.messages[0].compressed);
        // Garbage, and a bomb past the message limit.
        let r = inspect(&hex("c103ffffff"), &InspectOptions { deflate, ..Default::default() });
        assert_eq!(r.frames[0].violations, [Violation::InvalidDeflate]);
        let mut bomb = Vec::new();
        crate::deflate::MessageDeflater::new(15, false, 9).compress(&[0u8; 100_000], &mut bomb).unwrap();
        assert!(bomb.len() < 126);
        let mut wire = alloc::vec![0xc2, bomb.len() as u8];
        wire.extend_from_slice(&bomb);
        let r = inspect(&wire, &InspectOptions { deflate, max_message_size: Some(1000), ..Default::default() });
        assert_eq!(r.frames[0].violations, [Violation::InflatedTooLarge { max: 1000 }]);
    }
}
