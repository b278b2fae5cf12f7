//! Group 16, frames Autobahn's client never sends (wscope's own): a frame
//! that is not masked (section 5.1: the server MUST close the connection)
//! and a 64-bit length with its most significant bit set (section 5.2: it
//! MUST be 0).

use super::own_case as case;
use crate::Verdict;
use crate::case::{Action, Case};
use crate::own::Judge;
use wscope_core::frame::{FrameHeader, LengthForm, OpCode};

/// A frame header and payload as given: `mask` or none, `declared` as the
/// length in the 64-bit form when set.
fn raw(opcode: OpCode, mask: Option<[u8; 4]>, payload: &[u8], declared: Option<u64>) -> Vec<u8> {
    let len = declared.unwrap_or(payload.len() as u64);
    let header = FrameHeader {
        fin: true,
        rsv: [false; 3],
        opcode,
        mask,
        payload_len: len,
        length_form: if declared.is_some() { LengthForm::Extended64 } else { LengthForm::minimal(len) },
    };
    let mut out = Vec::new();
    // Every length fits the 64-bit form, and the minimal form fits its own.
    let _ = header.encode_frame(payload, &mut out);
    out
}

/// A binary frame declaring `declared` bytes in the 64-bit form, masked,
/// followed by 16 bytes of its payload.
pub(super) fn huge(declared: u64) -> Action {
    Action::Raw(raw(OpCode::Binary, Some([0x37, 0xfa, 0x21, 0x3d]), &[0x5a; 16], Some(declared)))
}

pub(super) fn cases() -> Vec<Case> {
    let fails = "The server fails the connection with 1002, then closes TCP (another code is NON-STRICT; echoing \
                 the frame or waiting FAILED).";
    vec![
        case(
            "16.1",
            "5.1",
            "Send a text frame \"Hello\" that is not masked.",
            fails,
            vec![Action::Raw(raw(OpCode::Text, None, b"Hello", None))],
            Judge::Fails { codes: &[1002], waiting: Verdict::Failed },
        ),
        case(
            "16.2",
            "5.2",
            "Send a binary frame whose 64-bit length has its most significant bit set (2^63 + 16), then 16 bytes \
             of payload.",
            fails,
            vec![huge((1u64 << 63) | 16)],
            Judge::Fails { codes: &[1002], waiting: Verdict::Failed },
        ),
    ]
}
