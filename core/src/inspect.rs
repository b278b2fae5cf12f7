//! The explorer's judgement of a byte buffer: decode as far as the bytes go
//! and list every violation, with its close code and RFC section, where the
//! live [`crate::connection`] stops at the first. It is the
//! [`crate::stream`] decoder run over one buffer, with a cap on frames.

use crate::Decoded;
use crate::frame::FrameHeader;
use crate::stream::{InspectedFrame, InspectedMessage, Item, PartialHeader, StreamDecoder, StreamOptions};
use crate::violation::Violation;
use alloc::vec::Vec;

pub use crate::stream::INFLATE_CAP;

/// What the inspector assumes about the bytes: the stream's options, and a
/// cap on the frames decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InspectOptions {
    /// Sender, limits and permessage-deflate, as for a stream.
    pub stream: StreamOptions,
    /// Most frames to decode; the rest of the input is left unread and
    /// [`Inspection::stopped_at`] says where. Default 10 000.
    pub max_frames: usize,
}

impl Default for InspectOptions {
    fn default() -> Self {
        InspectOptions { stream: StreamOptions::default(), max_frames: 10_000 }
    }
}

impl From<StreamOptions> for InspectOptions {
    fn from(stream: StreamOptions) -> Self {
        InspectOptions { stream, ..InspectOptions::default() }
    }
}

/// Everything found in the bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inspection {
    /// The frames, in order (the last may be incomplete).
    pub frames: Vec<InspectedFrame>,
    /// The data messages they form, in order (the last may be unfinished).
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
    let mut decoder = StreamDecoder::new(options.stream);
    let mut items = Vec::new();
    let mut out = Inspection::default();
    let mut rest = bytes;
    // Frame by frame, so the cap is exact: a header at most, then its payload.
    while !rest.is_empty() {
        if decoder.frame_count() >= options.max_frames && decoder.partial_frame().is_none() {
            out.stopped_at = Some(bytes.len().saturating_sub(rest.len()));
            break;
        }
        let step = match decoder.partial_frame() {
            Some(f) => usize::try_from(f.header.payload_len.saturating_sub(f.payload_seen)).unwrap_or(usize::MAX),
            None => match FrameHeader::decode(rest) {
                Decoded::Complete { len, .. } => len,
                Decoded::Incomplete { .. } => rest.len(),
            },
        };
        let (now, later) = rest.split_at(step.max(1).min(rest.len()));
        decoder.push(now, &mut items);
        rest = later;
        for item in items.drain(..) {
            match item {
                Item::Frame(f) => out.frames.push(f),
                Item::Message(m) => out.messages.push(m),
            }
        }
    }
    out.frames.extend(decoder.partial_frame().cloned());
    // Messages come out in order: one is complete (or left unfinished by
    // the next) before the next begins, and the one still open is last.
    out.messages.extend(decoder.partial_message().cloned());
    out.partial_header = decoder.partial_header();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::close::CloseCode;
    use crate::deflate::DeflateParams;
    use crate::frame::{LengthForm, OpCode};
    use crate::rules::Role;
    use crate::stream::StreamOptions;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn rfc_fragments_form_one_message() {
        let bytes = hex("010348656c80026c6f");
        let r = inspect(&bytes, &StreamOptions { sender: Some(Role::Server), ..Default::default() }.into());
        assert_eq!(r.frames.len(), 2);
        assert!(r.violations().next().is_none());
        assert_eq!(r.messages.len(), 1);
        assert_eq!((r.messages[0].text(), r.messages[0].complete), (Some("Hello"), true));
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
        let r = inspect(&bytes, &StreamOptions { sender: Some(Role::Client), ..Default::default() }.into());
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
        let r = inspect(&bytes, &StreamOptions { sender: Some(Role::Client), ..Default::default() }.into());
        assert_eq!(r.frames.len(), 1);
        assert!(!r.frames[0].complete);
        assert_eq!(r.frames[0].payload, b"Hel");
        assert_eq!(r.messages[0].text(), Some("Hel"));
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
        assert_eq!(r.messages[0].text().map(str::len), Some(10_000));
    }

    #[test]
    fn invalid_utf8_and_close_details() {
        let r = inspect(&hex("8103ceba ff".replace(' ', "").as_str()), &InspectOptions::default());
        assert_eq!(r.frames[0].violations, [Violation::InvalidUtf8 { offset: 2 }]);
        assert_eq!(r.messages[0].text(), None);
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
        let r = inspect(
            &data,
            &StreamOptions { sender: Some(Role::Server), deflate: Some(p), ..Default::default() }.into(),
        );
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
            let r = inspect(
                &data,
                &StreamOptions { sender: Some(Role::Server), deflate: Some(p), ..Default::default() }.into(),
            );
            assert_eq!(r.frames[0].violations, [Violation::InvalidUtf8 { offset: 0 }]);
            assert!(r.frames[1].violations.is_empty(), "{:?}", r.frames[1].violations);
            assert_eq!(r.messages[1].text(), Some("Hello"));
        }
    }

    #[test]
    fn compressed_messages_are_inflated_with_their_context() {
        // RFC 7692 7.2.3.1 and 7.2.3.2 from a server: "Hello" twice, the
        // second referring to the first; then RSV1 on a ping.
        let bytes = hex("c107f248cdc9c90700c105f200110000c900");
        let deflate = Some(DeflateParams::default());
        let r = inspect(&bytes, &StreamOptions { sender: Some(Role::Server), deflate, ..Default::default() }.into());
        let texts: Vec<_> = r.messages.iter().map(|m| (m.compressed, m.text())).collect();
        assert_eq!(texts, [(true, Some("Hello")), (true, Some("Hello"))]);
        assert_eq!(r.frames[0].payload, hex("f248cdc9c90700"), "frames keep the compressed bytes");
        let all: Vec<_> = r.violations().map(|(i, v)| (i, *v)).collect();
        assert_eq!(all, [(2, Violation::ReservedBits { bits: 0b100 })]);
        // Without the extension RSV1 is a violation and nothing is inflated.
        let r = inspect(&bytes, &StreamOptions { sender: Some(Role::Server), ..Default::default() }.into());
        assert_eq!(
            r.frames[0].violations,
            [Violation::ReservedBits { bits: 0b100 }, Violation::InvalidUtf8 { offset: 0 }]
        );
        assert!(!r.messages[0].compressed);
        // Garbage, and a bomb past the message limit.
        let r = inspect(&hex("c103ffffff"), &StreamOptions { deflate, ..Default::default() }.into());
        assert_eq!(r.frames[0].violations, [Violation::InvalidDeflate]);
        let mut bomb = Vec::new();
        crate::deflate::MessageDeflater::new(15, false, 9).compress(&[0u8; 100_000], &mut bomb).unwrap();
        assert!(bomb.len() < 126);
        let mut wire = alloc::vec![0xc2, bomb.len() as u8];
        wire.extend_from_slice(&bomb);
        let r = inspect(&wire, &StreamOptions { deflate, max_message_size: Some(1000), ..Default::default() }.into());
        assert_eq!(r.frames[0].violations, [Violation::InflatedTooLarge { max: 1000 }]);
    }
}
